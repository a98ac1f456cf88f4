package store

import (
	"context"
	"fmt"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// AttributedNote is a stored note with its author as Horizon shows it.
type AttributedNote struct {
	helpdesk.Note
	// HorizonUser is the Horizon user mapped to the author, when mapped.
	HorizonUser string `json:"horizonUser,omitempty"`
	// AuthorName is the helpdesk member's name, when the store knows it.
	AuthorName string `json:"authorName,omitempty"`
}

// Author names the note's author: the mapped Horizon user, else the
// helpdesk member's name and ID, else "unknown".
func (n AttributedNote) Author() string {
	switch {
	case n.HorizonUser != "":
		return n.HorizonUser
	case n.AuthorName != "" && n.AuthorID != "":
		return fmt.Sprintf("%s (member %s, not mapped)", n.AuthorName, n.AuthorID)
	case n.AuthorID != "":
		return fmt.Sprintf("member %s (not mapped)", n.AuthorID)
	}
	return "unknown"
}

// TicketNotes returns a ticket's stored notes, oldest first, each with its
// author resolved through the user mapping and the stored members.
func TicketNotes(ctx context.Context, st Store, s Scope, ticketID string) ([]AttributedNote, error) {
	ns, err := st.Notes(ctx, s, ticketID)
	if err != nil || len(ns) == 0 {
		return nil, err
	}
	maps, err := st.UserMappings(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("user mappings: %w", err)
	}
	members, err := st.Members(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	users := make(map[string]string, len(maps))
	for _, m := range maps {
		users[m.HelpdeskUserID] = m.HorizonUser
	}
	names := make(map[string]string, len(members))
	for _, m := range members {
		names[m.ExternalID] = m.Name
	}
	out := make([]AttributedNote, len(ns))
	for i, n := range ns {
		n.Raw = nil
		out[i] = AttributedNote{Note: n, HorizonUser: users[n.AuthorID], AuthorName: names[n.AuthorID]}
	}
	return out, nil
}
