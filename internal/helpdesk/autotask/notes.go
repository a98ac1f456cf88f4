package autotask

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// Note operations' metric labels.
const (
	opNotesQuery  = "notes.query"
	opNotesCreate = "notes.create"
	opNotesGet    = "notes.get"
)

// titleMax is the longest note title the client sends.
const titleMax = 250

// noteWire is a TicketNotes entity [K].
type noteWire struct {
	ID                flexInt `json:"id"`
	TicketID          flexInt `json:"ticketID"`
	Title             string  `json:"title"`
	Description       string  `json:"description"`
	NoteType          flexInt `json:"noteType"`
	Publish           flexInt `json:"publish"`
	CreateDateTime    atTime  `json:"createDateTime"`
	CreatorResourceID flexInt `json:"creatorResourceID"`
}

// noteCreate is the POST /Tickets/{id}/Notes body [D][K].
type noteCreate struct {
	TicketID    int64  `json:"ticketID"`
	Title       string `json:"title"`
	Description string `json:"description"`
	NoteType    int64  `json:"noteType"`
	Publish     int64  `json:"publish"`
}

// Notes implements helpdesk.Provider: TicketNotes/query by ticketID [K].
func (c *Client) Notes(ctx context.Context, ticketID string) ([]helpdesk.Note, error) {
	n, err := parseID(ticketID)
	if err != nil {
		return nil, fmt.Errorf("autotask: list notes: %w", notFound(opNotesQuery, err))
	}
	pub, err := c.publishValues(ctx)
	if err != nil {
		return nil, fmt.Errorf("autotask: list notes of ticket %d: %w", n, err)
	}
	decode := func(raw json.RawMessage) (helpdesk.Note, int64, error) { return decodeNote(raw, pub) }
	notes, err := collect(c, ctx, opNotesQuery, "TicketNotes", []condition{eq("ticketID", n)}, decode)
	if err != nil {
		return nil, fmt.Errorf("autotask: list notes of ticket %d: %w", n, err)
	}
	return notes, nil
}

func decodeNote(raw json.RawMessage, pub publish) (helpdesk.Note, int64, error) {
	var w noteWire
	if err := json.Unmarshal(raw, &w); err != nil || !w.ID.Valid {
		return helpdesk.Note{}, 0, fmt.Errorf("ticket note: %w", orNoID(err))
	}
	return helpdesk.Note{ExternalID: w.ID.String(), TicketID: w.TicketID.String(), Text: w.Description,
		Internal: pub.internal(w.Publish), AuthorID: w.CreatorResourceID.String(),
		CreatedAt: w.CreateDateTime.Time, Raw: raw}, w.ID.V, nil
}

// AddNote implements helpdesk.Provider: POST /Tickets/{id}/Notes [D][K],
// then the note is read back. The title is the text's first line. The
// note type is the picklist default; publish is the picklist's internal
// value for an internal note and its default otherwise. MemberID is
// impersonated, so Autotask records that resource as the note's creator
// (creatorResourceID); the marker is the description's last line (the
// API keeps note descriptions as plain text [D]).
func (c *Client) AddNote(ctx context.Context, ticketID string, nn helpdesk.NewNote) (helpdesk.Note, error) {
	n, err := parseID(ticketID)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("autotask: add note: %w", notFound(opNotesCreate, err))
	}
	if err := checkMarker(opNotesCreate, nn.Marker); err != nil {
		return helpdesk.Note{}, fmt.Errorf("autotask: add note to ticket %d: %w", n, err)
	}
	body, pub, err := c.noteBody(ctx, n, nn)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("autotask: add note to ticket %d: %w", n, err)
	}
	wctx, err := actingAs(ctx, opNotesCreate, nn.MemberID)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("autotask: add note to ticket %d: %w", n, err)
	}
	id, err := c.write(transport.Unrepeatable(wctx), opNotesCreate, http.MethodPost, "Tickets/"+idString(n)+"/Notes", body)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("autotask: add note to ticket %d: %w", n, err)
	}
	var raw json.RawMessage
	if err := c.getItem(ctx, opNotesGet, "TicketNotes/"+idString(id), &raw); err != nil {
		return helpdesk.Note{}, fmt.Errorf("autotask: read note %d: %w", id, err)
	}
	note, _, err := decodeNote(raw, pub)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("autotask: read note %d: %w", id, wireError(opNotesGet, err))
	}
	return note, nil
}

func (c *Client) noteBody(ctx context.Context, ticketID int64, nn helpdesk.NewNote) (noteCreate, publish, error) {
	pub, err := c.publishValues(ctx)
	if err != nil {
		return noteCreate{}, pub, err
	}
	b := noteCreate{TicketID: ticketID, Title: noteTitle(nn.Text), Description: helpdesk.MarkText(nn.Text, nn.Marker),
		NoteType: pub.noteType, Publish: pub.external}
	if nn.Internal {
		b.Publish = pub.internalValue
	}
	return b, pub, nil
}

// noteTitle is the first non-empty line of text, cut to titleMax runes.
func noteTitle(text string) string {
	title := "Note"
	for _, line := range strings.Split(text, "\n") {
		if s := strings.TrimSpace(line); s != "" {
			title = s
			break
		}
	}
	if r := []rune(title); len(r) > titleMax {
		title = string(r[:titleMax-1]) + "…"
	}
	return title
}
