package sandbox

import (
	"net/http"
)

// BrokenBody is a broken 200 answer to a list page, for emulators that
// choose the page themselves (their paging differs) rather than through
// Faults.Wrap's PageFault: the same body faults.
type BrokenBody = BodyFault

// WriteBrokenBody answers r with b instead of what next would send. A
// truncated body drops the connection after half the announced page (as
// a failing proxy does); the other faults are those of PageFault.
func WriteBrokenBody(w http.ResponseWriter, r *http.Request, b BrokenBody, next http.HandlerFunc) {
	if b == "" {
		next(w, r)
		return
	}
	rec := &recorder{h: http.Header{}, status: http.StatusOK}
	next(rec, r)
	if b == BodyTruncated && rec.status/100 == 2 {
		WriteTruncated(w, rec.status, rec.h, rec.buf.Bytes())
		return
	}
	writeCorrupted(w, rec, PageFault{Body: b})
}
