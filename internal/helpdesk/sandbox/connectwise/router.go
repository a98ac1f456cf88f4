package connectwise

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// handlerFunc serves one route; ids are the numeric path segments.
type handlerFunc func(e *Emulator, w http.ResponseWriter, r *http.Request, ids []int64)

type route struct {
	method  string
	pattern string // segments after apis/3.0, "{id}" for a number
	h       handlerFunc
}

// routes are the endpoints the emulator serves, relative to apis/3.0.
var routes = []route{
	{http.MethodGet, "system/info", (*Emulator).systemInfo},
	{http.MethodGet, "service/tickets", (*Emulator).listTickets},
	{http.MethodGet, "service/tickets/count", (*Emulator).countTickets},
	{http.MethodPost, "service/tickets", (*Emulator).createTicket},
	{http.MethodGet, "service/tickets/{id}", (*Emulator).getTicket},
	{http.MethodPatch, "service/tickets/{id}", (*Emulator).patchTicket},
	{http.MethodDelete, "service/tickets/{id}", (*Emulator).deleteTicket},
	{http.MethodGet, "service/tickets/{id}/notes", (*Emulator).listNotes},
	{http.MethodPost, "service/tickets/{id}/notes", (*Emulator).createNote},
	{http.MethodGet, "service/tickets/{id}/notes/{id}", (*Emulator).getNote},
	{http.MethodGet, "time/entries", (*Emulator).listTimeEntries},
	{http.MethodPost, "time/entries", (*Emulator).createTimeEntry},
	{http.MethodGet, "time/entries/{id}", (*Emulator).getTimeEntry},
	{http.MethodGet, "company/contacts", (*Emulator).listContacts},
	{http.MethodGet, "company/contacts/{id}", (*Emulator).getContact},
	{http.MethodGet, "company/companies", (*Emulator).listCompanies},
	{http.MethodGet, "company/companies/{id}", (*Emulator).getCompany},
	{http.MethodGet, "system/members", (*Emulator).listMembers},
	{http.MethodGet, "system/members/{id}", (*Emulator).getMember},
	{http.MethodGet, "system/myMembers", (*Emulator).myMember},
	{http.MethodGet, "service/boards", (*Emulator).listBoards},
	{http.MethodGet, "service/boards/{id}", (*Emulator).getBoard},
	{http.MethodGet, "service/boards/{id}/statuses", (*Emulator).listStatuses},
	{http.MethodPost, "service/boards/{id}/statuses", (*Emulator).createStatus},
	{http.MethodGet, "service/boards/{id}/types", (*Emulator).listTypes},
	{http.MethodGet, "service/priorities", (*Emulator).listPriorities},
	{http.MethodGet, "system/callbacks", (*Emulator).listCallbacks},
	{http.MethodGet, "system/callbacks/count", (*Emulator).countCallbacks},
	{http.MethodPost, "system/callbacks", (*Emulator).createCallback},
	{http.MethodGet, "system/callbacks/{id}", (*Emulator).getCallback},
	{http.MethodPatch, "system/callbacks/{id}", (*Emulator).patchCallback},
	{http.MethodPut, "system/callbacks/{id}", (*Emulator).putCallback},
	{http.MethodDelete, "system/callbacks/{id}", (*Emulator).deleteCallback},
}

// keyPath is where the callback signing key is served, after the
// codebase.
const keyPath = "system/callbackkey/index.rails"

// isUnmetered reports requests that bypass fault injection: codebase
// discovery and the signing key, which are not API calls.
func isUnmetered(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/login/") || strings.HasSuffix(r.URL.Path, "/"+keyPath)
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request) {
	e.learnBase(r)
	if rest, ok := strings.CutPrefix(r.URL.Path, "/login/companyinfo/"); ok {
		e.companyInfo(w, r, rest)
		return
	}
	s := e.Settings()
	cb, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if cb+"/" != s.Codebase && (s.NoAlias || cb+"/" != aliasCodebase) {
		writeError(w, http.StatusNotFound, "NotFound", "The requested resource was not found.")
		return
	}
	rest = strings.TrimLeft(rest, "/")
	if rest == keyPath {
		e.callbackKey(w, r, s)
		return
	}
	api, ok := strings.CutPrefix(rest, "apis/3.0/")
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "The requested resource was not found.")
		return
	}
	if !e.authorized(w, r, s) {
		return
	}
	for _, p := range s.DenyPaths {
		if strings.HasPrefix("/"+api, p) {
			writeError(w, http.StatusForbidden, "Forbidden", "You do not have access to this resource: check the member's security role.")
			return
		}
	}
	e.route(w, r, strings.TrimSuffix(api, "/"))
}

// authorized checks Basic companyId+publicKey:privateKey and the clientId
// header, answering 401 in CW's error format when they fail.
func (e *Emulator) authorized(w http.ResponseWriter, r *http.Request, s Settings) bool {
	user, pass, ok := r.BasicAuth()
	co, pub, _ := strings.Cut(user, "+")
	if !ok || !strings.EqualFold(co, s.CompanyID) || pub != s.PublicKey || pass != s.PrivateKey {
		writeUnauthorized(w)
		return false
	}
	if !s.NoClientID && r.Header.Get("clientId") == "" {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "A clientId header is required. Register an integration at developer.connectwise.com.")
		return false
	}
	return true
}

func (e *Emulator) route(w http.ResponseWriter, r *http.Request, api string) {
	segs := strings.Split(api, "/")
	methodMismatch := false
	for _, rt := range routes {
		ids, ok := matchRoute(rt.pattern, segs)
		if !ok {
			continue
		}
		if rt.method != r.Method {
			methodMismatch = true
			continue
		}
		rt.h(e, w, r, ids)
		return
	}
	if methodMismatch {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("The requested resource does not support http method '%s'.", r.Method))
		return
	}
	writeError(w, http.StatusNotFound, "NotFound", "The requested resource was not found.")
}

// matchRoute matches path segments against a pattern; the resource names
// are case-insensitive as in CW.
func matchRoute(pattern string, segs []string) ([]int64, bool) {
	ps := strings.Split(pattern, "/")
	if len(ps) != len(segs) {
		return nil, false
	}
	var ids []int64
	for i, p := range ps {
		if p == "{id}" {
			n, err := strconv.ParseInt(segs[i], 10, 32)
			if err != nil || n <= 0 {
				return nil, false
			}
			ids = append(ids, n)
			continue
		}
		if !strings.EqualFold(p, segs[i]) {
			return nil, false
		}
	}
	return ids, true
}

// companyInfo serves GET /login/companyinfo/{companyId} without auth.
func (e *Emulator) companyInfo(w http.ResponseWriter, r *http.Request, company string) {
	s := e.Settings()
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Only GET is supported.")
		return
	}
	if !strings.EqualFold(strings.Trim(company, "/"), s.CompanyID) {
		writeError(w, http.StatusNotFound, "NotFound", "Company not found.")
		return
	}
	version := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(s.Codebase, "v"), "/"), "_", ".")
	writeJSON(w, http.StatusOK, map[string]any{
		"CompanyName": "Horizon Sandbox MSP", "Codebase": s.Codebase, "VersionCode": "v" + version,
		"VersionNumber": "v4.6.99999", "CompanyID": s.CompanyID, "IsCloud": "True", "SiteUrl": r.Host,
	})
}

func (e *Emulator) systemInfo(w http.ResponseWriter, r *http.Request, _ []int64) {
	s := e.Settings()
	version := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(s.Codebase, "v"), "/"), "_", ".")
	writeJSON(w, http.StatusOK, map[string]any{"version": "v" + version, "isCloud": true,
		"serverTimeZone": "Eastern Standard Time", "licenseBits": []any{}, "cloudRegion": "NA",
		"maxWorkFlowRecordsAllowed": 1000})
}

// fieldError is one entry of an error body's errors array.
type fieldError struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Resource string `json:"resource"`
	Field    string `json:"field"`
}

// errorBody is CW's error body; errors is null when there are none.
type errorBody struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, errs ...fieldError) {
	writeJSON(w, status, errorBody{Code: code, Message: msg, Errors: errs})
}

// writeInvalid answers 400 InvalidObject for one field of a resource.
func writeInvalid(w http.ResponseWriter, resource, field, code, msg string) {
	writeError(w, http.StatusBadRequest, "InvalidObject", resource+" object is invalid",
		fieldError{Code: code, Message: msg, Resource: resource, Field: field})
}

func writeRateLimited(w http.ResponseWriter, _ time.Duration) {
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "ConnectWiseAPI",
		"message": "Too many requests. Please try again in 30 seconds."})
}

func writeServerError(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, "UnexpectedError", "An unexpected error has occurred.")
}

func writeUnauthorized(w http.ResponseWriter) {
	writeError(w, http.StatusUnauthorized, "Unauthorized", "The supplied authentication is incorrect.")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"UnexpectedError","message":"encode","errors":null}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
