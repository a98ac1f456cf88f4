package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWriteFaults(t *testing.T) {
	var applied atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsWrite(r) {
			applied.Add(1)
		}
		w.Write([]byte(`{"ok":true}`))
	})
	f := NewFaults(1)
	ew := ErrorWriters{
		RateLimited:  func(w http.ResponseWriter, _ time.Duration) { w.WriteHeader(429) },
		ServerError:  func(w http.ResponseWriter) { w.WriteHeader(503) },
		Unauthorized: func(w http.ResponseWriter) { w.WriteHeader(401) },
	}
	srv := httptest.NewServer(f.Wrap(h, ew, nil))
	defer srv.Close()
	send := func(method, path string) (int, error) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
		res, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		_, err = io.ReadAll(res.Body)
		return res.StatusCode, err
	}
	f.SetWrites(WriteFaultSettings{RateLimit: 1, ServerError: 1, LoseAnswer: 1})
	// Reads pass untouched, POST queries included.
	for _, r := range [][2]string{{"GET", "/tickets"}, {"POST", "/V1.0/Tickets/query"}, {"POST", "/service/tickets/search"}} {
		if code, err := send(r[0], r[1]); code != 200 || err != nil {
			t.Fatalf("%s %s = %d, %v; want 200", r[0], r[1], code, err)
		}
	}
	if code, _ := send("POST", "/tickets"); code != 429 {
		t.Errorf("first write = %d, want 429", code)
	}
	if code, _ := send("PATCH", "/tickets/1"); code != 503 {
		t.Errorf("second write = %d, want 503", code)
	}
	if applied.Load() != 0 {
		t.Fatalf("refused writes were applied (%d)", applied.Load())
	}
	if _, err := send("POST", "/tickets"); err == nil {
		t.Error("lost answer: got an answer")
	}
	if applied.Load() != 1 {
		t.Errorf("lost answer: applied %d writes, want 1", applied.Load())
	}
	if code, err := send("POST", "/tickets"); code != 200 || err != nil || applied.Load() != 2 {
		t.Errorf("after the faults ran out: %d, %v, applied %d", code, err, applied.Load())
	}
	if w := f.Writes(); w != (WriteFaultSettings{}) {
		t.Errorf("counts left = %+v", w)
	}
}
