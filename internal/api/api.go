// Package api is the write API the Horizon application calls on the main
// listener (/api/v1/...): create and update tickets, add notes, log time,
// and read a write's outcome. Every request carries a bearer token
// (writeback.apiToken), the acting Horizon user (X-Horizon-User) and, for
// writes, an Idempotency-Key: a repeated key returns the first write. A
// write is answered 202 once it is durably in the outbox; the account's
// leader delivers it. docs/api/openapi.yaml describes the API; a test
// keeps the two in step.
//
// Status contract: 202 accepted (or the first write of a repeated key),
// 200 a write's state, 400 malformed request, 401 bad or missing token,
// 403 write-back disabled or the acting user may not write, 404 unknown
// ticket, write or route, 409 an idempotency key reused for another
// request, 413 body too large, 422 a field Horizon or the picklist
// database refuses, 503 not started yet, 500 the store failed.
package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/writeback"
)

// Headers the API reads.
const (
	HeaderUser           = "X-Horizon-User"
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderReplayed       = "Idempotent-Replayed"
)

// MaxBody bounds a request body.
const MaxBody = 1 << 20

// Target is what the API writes through: the current account's engine
// and the token its file names.
type Target struct {
	Engine *writeback.Engine
	Store  store.Store
	Scope  store.Scope
	Token  helpdesk.Secret
}

// Options configure the API.
type Options struct {
	// Current returns the account in force; false while none is loaded.
	Current func() (Target, bool)
	Logger  *slog.Logger
}

// New returns the API's handler, to mount at /api/v1/.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &server{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/tickets", s.write(store.OpCreateTicket))
	mux.HandleFunc("PATCH /api/v1/tickets/{id}", s.write(store.OpUpdateTicket))
	mux.HandleFunc("POST /api/v1/tickets/{id}/notes", s.write(store.OpAddNote))
	mux.HandleFunc("POST /api/v1/tickets/{id}/time-entries", s.write(store.OpAddTime))
	mux.HandleFunc("GET /api/v1/writes/{writeId}", s.authed(s.getWrite))
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusNotFound, errorBody("not_found", "", "no such API path: "+r.Method+" "+r.URL.Path))
	})
	return mux
}

type server struct{ o Options }

// errorBody is the JSON of every error answer.
type errorResponse struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field (JSON name or header) at fault.
	Field string `json:"field,omitempty"`
}

func errorBody(code, field, msg string) errorResponse {
	return errorResponse{apiError{Code: code, Field: field, Message: msg}}
}

// writeResponse is the answer to a write and to GET /writes/{id}.
type writeResponse struct {
	WriteID    int64     `json:"writeId"`
	State      string    `json:"state"`
	Op         string    `json:"op"`
	TicketID   string    `json:"ticketId,omitempty"`
	Author     string    `json:"author"`
	MemberID   string    `json:"memberId,omitempty"`
	Attempts   int       `json:"attempts"`
	Answer     string    `json:"answer,omitempty"`
	ResultID   string    `json:"resultId,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Location   string    `json:"location"`
}

func view(w store.Write) writeResponse {
	return writeResponse{WriteID: w.ID, State: w.State, Op: w.Op, TicketID: w.TicketID, Author: w.Author,
		MemberID: w.MemberID, Attempts: w.Attempts, Answer: w.Answer, ResultID: w.ResultID,
		CreatedAt: w.CreatedAt, FinishedAt: w.FinishedAt, Location: "/api/v1/writes/" + strconv.FormatInt(w.ID, 10)}
}

// authed checks the target and the bearer token before h runs.
func (s *server) authed(h func(http.ResponseWriter, *http.Request, Target)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := s.o.Current()
		if !ok {
			answer(w, http.StatusServiceUnavailable, errorBody("starting", "", "the daemon has not loaded horizon.yaml yet"))
			return
		}
		if t.Token == "" {
			answer(w, http.StatusUnauthorized, errorBody("unauthorized", "Authorization",
				"the write API is off: horizon.yaml sets no writeback.apiToken"))
			return
		}
		got, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found || subtle.ConstantTimeCompare([]byte(got), []byte(t.Token.Reveal())) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="horizon"`)
			answer(w, http.StatusUnauthorized, errorBody("unauthorized", "Authorization", "missing or wrong bearer token"))
			return
		}
		h(w, r, t)
	}
}

// write handles one write operation: read and check the request, enqueue
// it, answer 202 with the write.
func (s *server) write(op string) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, t Target) {
		req := writeback.Request{Op: op, TicketID: r.PathValue("id"), Author: r.Header.Get(HeaderUser),
			IdempotencyKey: r.Header.Get(HeaderIdempotencyKey)}
		if strings.TrimSpace(req.Author) == "" {
			answer(w, http.StatusBadRequest, errorBody("missing_header", HeaderUser, "the acting Horizon user is missing"))
			return
		}
		if strings.TrimSpace(req.IdempotencyKey) == "" {
			answer(w, http.StatusBadRequest, errorBody("missing_header", HeaderIdempotencyKey, "every write needs an Idempotency-Key"))
			return
		}
		if code, body := decodeInto(r, &req); code != 0 {
			answer(w, code, body)
			return
		}
		wr, created, err := t.Engine.Enqueue(r.Context(), req)
		if err != nil {
			code, body := s.refusal(err)
			answer(w, code, body)
			return
		}
		if !created {
			w.Header().Set(HeaderReplayed, "true")
		}
		w.Header().Set("Location", view(wr).Location)
		answer(w, http.StatusAccepted, view(wr))
	})
}

// Bodies, as the API reads them (strict: unknown fields are errors).
type (
	createBody struct {
		Summary     *string `json:"summary"`
		Description string  `json:"description"`
		Company     string  `json:"company"`
		Contact     string  `json:"contact"`
		Queue       string  `json:"queue"`
		Type        string  `json:"type"`
		Priority    string  `json:"priority"`
		Status      string  `json:"status"`
	}
	noteBody struct {
		Text     *string `json:"text"`
		Internal *bool   `json:"internal"`
	}
	timeBody struct {
		Hours    *float64  `json:"hours"`
		Start    time.Time `json:"start"`
		Notes    string    `json:"notes"`
		Billable bool      `json:"billable"`
	}
)

// decodeInto reads the body for req.Op; a non-zero code is the error
// answer.
func decodeInto(r *http.Request, req *writeback.Request) (int, errorResponse) {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return http.StatusBadRequest, errorBody("bad_body", "", "could not read the body")
	}
	if len(data) > MaxBody {
		return http.StatusRequestEntityTooLarge, errorBody("too_large", "", fmt.Sprintf("the body is larger than %d bytes", MaxBody))
	}
	var missing string
	switch req.Op {
	case store.OpCreateTicket:
		var b createBody
		if err = strict(data, &b); err == nil {
			if b.Summary == nil {
				missing = "summary"
			} else {
				req.Create = &writeback.CreateTicket{Summary: *b.Summary, Description: b.Description, Company: b.Company,
					Contact: b.Contact, Queue: b.Queue, Type: b.Type, Priority: b.Priority, Status: b.Status}
			}
		}
	case store.OpUpdateTicket:
		var b writeback.UpdateTicket
		if err = strict(data, &b); err == nil {
			req.Update = &b
		}
	case store.OpAddNote:
		var b noteBody
		if err = strict(data, &b); err == nil {
			if b.Text == nil {
				missing = "text"
			} else {
				req.Note = &writeback.AddNote{Text: *b.Text, Internal: b.Internal == nil || *b.Internal}
			}
		}
	case store.OpAddTime:
		var b timeBody
		if err = strict(data, &b); err == nil {
			if b.Hours == nil {
				missing = "hours"
			} else {
				req.Time = &writeback.AddTime{Hours: *b.Hours, Start: b.Start, Notes: b.Notes, Billable: b.Billable}
			}
		}
	}
	if err != nil {
		return http.StatusBadRequest, errorBody("bad_json", fieldOf(err), "the body is not the JSON this operation takes: "+err.Error())
	}
	if missing != "" {
		return http.StatusUnprocessableEntity, errorBody("missing_field", missing, missing+" is required")
	}
	return 0, errorResponse{}
}

func strict(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// fieldOf names the field a JSON error is about, where it says.
func fieldOf(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	if _, f, ok := strings.Cut(err.Error(), "unknown field "); ok {
		return strings.Trim(f, `"`)
	}
	return ""
}

// refusal maps an Enqueue error to an answer.
func (s *server) refusal(err error) (int, errorResponse) {
	var inv *writeback.InvalidError
	var unm *writeback.UnmappedError
	switch {
	case errors.Is(err, writeback.ErrDisabled):
		return http.StatusForbidden, errorBody("disabled", "", err.Error())
	case errors.As(err, &unm) && unm.Field == "author":
		return http.StatusForbidden, errorBody("unmapped_user", HeaderUser, err.Error())
	case errors.As(err, &unm):
		return http.StatusUnprocessableEntity, errorBody("unmapped_user", unm.Field, err.Error())
	case errors.As(err, &inv) && inv.Field == "author":
		return http.StatusForbidden, errorBody("author_refused", HeaderUser, err.Error())
	case errors.As(err, &inv) && inv.Field == "Idempotency-Key":
		return http.StatusBadRequest, errorBody("bad_header", inv.Field, err.Error())
	case errors.As(err, &inv):
		return http.StatusUnprocessableEntity, errorBody("invalid_field", inv.Field, err.Error())
	case errors.Is(err, writeback.ErrUnknownTicket):
		return http.StatusNotFound, errorBody("unknown_ticket", "id", err.Error())
	case errors.Is(err, store.ErrIdempotencyConflict):
		return http.StatusConflict, errorBody("idempotency_conflict", HeaderIdempotencyKey, "this Idempotency-Key was used for a different request")
	}
	s.o.Logger.Error("write api: enqueue", "err", err)
	return http.StatusInternalServerError, errorBody("internal", "", "the write could not be stored; try again")
}

func (s *server) getWrite(w http.ResponseWriter, r *http.Request, t Target) {
	id, err := strconv.ParseInt(r.PathValue("writeId"), 10, 64)
	if err != nil || id <= 0 {
		answer(w, http.StatusBadRequest, errorBody("bad_path", "writeId", "writeId must be a positive integer"))
		return
	}
	wr, err := t.Store.Write(r.Context(), t.Scope, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		answer(w, http.StatusNotFound, errorBody("unknown_write", "writeId", fmt.Sprintf("no write %d", id)))
	case err != nil:
		s.o.Logger.Error("write api: read write", "err", err)
		answer(w, http.StatusInternalServerError, errorBody("internal", "", "the write could not be read"))
	default:
		answer(w, http.StatusOK, view(wr))
	}
}

func answer(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

// NotFound answers 404 in the API's error shape (code not_found), for
// paths the mounting server rejects before the API sees them, such as an
// account it does not run.
func NotFound(w http.ResponseWriter, msg string) {
	answer(w, http.StatusNotFound, errorBody("not_found", "", msg))
}
