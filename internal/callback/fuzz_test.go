package callback

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/horizon/reconciler/internal/store"
)

// FuzzReceiver throws arbitrary methods, paths, bodies and signatures at
// the handler. Whatever comes in, the answer is one of the documented
// statuses, a 2xx needs a valid signature on a POST, every answered
// request leaves rows in the log (none accepted unless verified), and
// nothing panics.
func FuzzReceiver(f *testing.F) {
	f.Add("POST", "/callbacks/fakepsa", envelope(ticketEvent("d-1", "1")), true)
	f.Add("POST", "/callbacks/fakepsa", []byte(`{"events":[{"id":"x","entity":"notes","action":"created","ticketId":"9"}]}`), true)
	f.Add("POST", "/callbacks/fakepsa", []byte(`{"events":[{}]}`), true)
	f.Add("POST", "/callbacks/fakepsa/tok", []byte(`[`), false)
	f.Add("GET", "/callbacks/fakepsa?token=1", []byte(nil), false)
	f.Add("PATCH", "/x/callbacks/fakepsa", bytes.Repeat([]byte("a"), 300), true)
	h := newHarness(f, func(c *Config) { c.MaxBody = 256 })
	f.Fuzz(func(t *testing.T, method, path string, body []byte, signed bool) {
		req, err := http.NewRequest(method, "http://h.example"+path, bytes.NewReader(body))
		if err != nil || req.URL.Path != path {
			t.Skip()
		}
		if signed {
			req.Header.Set(sigHeader, sign(testSecret, body))
		}
		before := len(h.st.all())
		res := httptest.NewRecorder()
		h.rc.ServeHTTP(res, req)
		rows := h.st.all()[before:]
		switch res.Code {
		case 200:
			if !signed || method != http.MethodPost {
				t.Fatalf("2xx for an unsigned or non-POST delivery (%s)", method)
			}
		case 404:
			if len(rows) != 0 {
				t.Fatalf("unrouted request logged")
			}
			return
		case 400, 401, 405, 413:
		default:
			t.Fatalf("status %d", res.Code)
		}
		if len(rows) == 0 {
			t.Fatalf("status %d with nothing logged", res.Code)
		}
		for _, r := range rows {
			if !r.Verified && r.Result != store.CallbackRejected {
				t.Fatalf("unverified row %s", r.Result)
			}
		}
	})
}
