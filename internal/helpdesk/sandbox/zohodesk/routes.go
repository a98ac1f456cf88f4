package zohodesk

import (
	"net/http"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// routes builds the handler: the token endpoint, then /api/v1 behind
// fault injection and authentication.
func (e *Emulator) routes() http.Handler {
	api := e.faults.Wrap(http.HandlerFunc(e.serveAPI), e.faultWriters(), nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/oauth/v2/token":
			e.handleToken(w, r)
		case strings.HasPrefix(r.URL.Path, "/api/v1/"):
			api.ServeHTTP(w, r)
		default:
			writeAPIError(w, notFound())
		}
	})
}

func (e *Emulator) faultWriters() sandbox.ErrorWriters {
	return sandbox.ErrorWriters{
		RateLimited: func(w http.ResponseWriter, _ time.Duration) {
			writeError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS",
				"The maximum number of Concurrent API Calls that can be made has been exceeded.")
		},
		ServerError: func(w http.ResponseWriter) {
			writeError(w, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "An internal server error occurred.")
		},
		Unauthorized: func(w http.ResponseWriter) {
			writeError(w, http.StatusUnauthorized, "INVALID_OAUTH", "The OAuth Token you provided is invalid.")
		},
	}
}

// serveAPI routes /api/v1/... after authentication.
func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/"), "/")
	if !e.authenticate(w, r, parts[0] != "organizations") {
		return
	}
	if !e.charge(w, r) {
		return
	}
	if fault := e.bodies.next(r); fault != "" {
		sandbox.WriteBrokenBody(w, r, fault, func(w http.ResponseWriter, r *http.Request) { e.dispatch(w, r, parts) })
		return
	}
	e.dispatch(w, r, parts)
}

// dispatch routes an authenticated /api/v1 request.
func (e *Emulator) dispatch(w http.ResponseWriter, r *http.Request, parts []string) {
	w.Header().Set("X-Rate-Limit-Request-Weight-v3", "1")
	if r.Method == http.MethodGet && len(parts) == 1 || len(parts) == 2 && parts[1] == "search" {
		w.Header().Set("X-Rate-Limit-Request-Weight-v3", "3")
	}
	if len(parts) == 1 || (len(parts) == 2 && parts[1] == "search") {
		e.serveCollection(w, r, parts)
		return
	}
	id, ok := parseWireID(parts[1])
	if !ok {
		writeAPIError(w, notFound())
		return
	}
	e.serveRecord(w, r, parts[0], id, parts[2:])
}

func (e *Emulator) serveCollection(w http.ResponseWriter, r *http.Request, parts []string) {
	get := r.Method == http.MethodGet
	switch strings.Join(parts, "/") {
	case "organizations":
		e.only(w, r, get, e.handleOrganizations)
	case "tickets/search":
		e.only(w, r, get, e.handleTicketSearch)
	case "tickets":
		if get {
			e.handleTicketList(w, r)
			return
		}
		e.only(w, r, r.Method == http.MethodPost, e.handleCreateTicket)
	case "contacts/search":
		e.only(w, r, get, func(w http.ResponseWriter, r *http.Request) { e.handleDatedSearch(w, r, e.contactRecords()) })
	case "accounts/search":
		e.only(w, r, get, func(w http.ResponseWriter, r *http.Request) { e.handleDatedSearch(w, r, e.accountRecords()) })
	case "agents":
		e.only(w, r, get, e.handleAgents)
	case "myinfo":
		e.only(w, r, get, e.handleMyInfo)
	case "departments":
		e.only(w, r, get, e.handleDepartments)
	case "organizationFields":
		e.only(w, r, get, e.handleOrganizationFields)
	case "webhooks":
		e.handleWebhooks(w, r)
	default:
		writeAPIError(w, notFound())
	}
}

func (e *Emulator) only(w http.ResponseWriter, r *http.Request, ok bool, h http.HandlerFunc) {
	if !ok {
		methodNotAllowed(w)
		return
	}
	h(w, r)
}

func (e *Emulator) serveRecord(w http.ResponseWriter, r *http.Request, kind string, id int64, rest []string) {
	switch {
	case kind == "tickets" && len(rest) == 0:
		e.handleTicket(w, r, id)
	case kind == "tickets" && len(rest) == 1 && rest[0] == "comments":
		e.handleComments(w, r, id)
	case kind == "tickets" && len(rest) == 1 && rest[0] == "timeEntry":
		e.handleTimeEntries(w, r, id)
	case kind == "webhooks" && len(rest) == 0:
		e.handleWebhook(w, r, id)
	default:
		writeAPIError(w, notFound())
	}
}
