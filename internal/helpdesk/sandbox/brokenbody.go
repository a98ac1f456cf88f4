package sandbox

import (
	"net/http"
	"strconv"
)

// BrokenBody is a broken 200 answer to a list page: what a proxy, a load
// balancer or an overloaded PSA has been seen to send in the middle of a
// listing. Emulators choose which page gets one (their paging differs).
type BrokenBody string

// Broken bodies.
const (
	// BodyEmpty is a 200 with no body at all.
	BodyEmpty BrokenBody = "empty"
	// BodyNull is a 200 whose body is the JSON literal null.
	BodyNull BrokenBody = "null"
	// BodyTruncated announces the whole page, sends half and drops the
	// connection.
	BodyTruncated BrokenBody = "truncated"
	// BodyHTML is a 200 with an HTML error page (a proxy's).
	BodyHTML BrokenBody = "html"
)

// WriteBrokenBody answers r with b instead of what next would send (next
// renders the page that BodyTruncated cuts).
func WriteBrokenBody(w http.ResponseWriter, r *http.Request, b BrokenBody, next http.HandlerFunc) {
	switch b {
	case BodyEmpty:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
	case BodyNull:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("null"))
	case BodyHTML:
		page := "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(page))
	case BodyTruncated:
		rec := &recorder{h: http.Header{}, status: http.StatusOK}
		next(rec, r)
		WriteTruncated(w, rec.status, rec.h, rec.buf.Bytes())
	default:
		next(w, r)
	}
}
