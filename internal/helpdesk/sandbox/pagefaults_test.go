package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPageFaults(t *testing.T) {
	page := `[{"id":1,"summary":"a"},{"id":2,"summary":"b"}]`
	tests := []struct {
		fault string
		want  []string // bodies of requests 1..n to the path
	}{
		{"path=/service/tickets,page=2,body=null,times=1", []string{page, "null", page}},
		{"path=/service/tickets,page=2,body=empty", []string{page, "", ""}},
		{"path=/service/tickets,body=html,times=1", []string{"<html>", page}},
		{"path=/service/tickets,body=truncated,times=1", []string{page[:len(page)/2], page}},
		{"path=/service/tickets,body=oversized,size=10,times=1", []string{"[          {", page}},
		{"path=/service/tickets,body=wrongtype,record=1,times=1", []string{`{"id":"2","summary":"b"}`}},
		{"path=/service/tickets,body=bigfield,size=5,times=1", []string{`{"id":1,"summary":"xxxxx"}`}},
		{"path=/Tickets/query*,body=null", []string{"null"}},
	}
	for _, tt := range tests {
		pf, err := ParsePageFault(tt.fault)
		if err != nil {
			t.Fatal(err)
		}
		f := NewFaults(1)
		f.Set(FaultSettings{Pages: []PageFault{pf}})
		path := "/v2025_1/apis/3.0/service/tickets"
		if strings.Contains(tt.fault, "query") {
			path = "/atservicesrest/v1.0/tickets/query/next"
		}
		srv := httptest.NewServer(f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/notes") {
				io.WriteString(w, "[]")
				return
			}
			w.Header().Set("Link", `<x>; rel="next"`)
			io.WriteString(w, page)
		}), ErrorWriters{}, nil))
		for i, want := range tt.want {
			// Other paths pass untouched and are not counted.
			if res, err := http.Get(srv.URL + "/v2025_1/apis/3.0/service/tickets/5/notes"); err == nil {
				b, _ := io.ReadAll(res.Body)
				if string(b) != "[]" {
					t.Errorf("%s: notes answered %q", tt.fault, b)
				}
			}
			res, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || !strings.Contains(string(b), want) || (want == "" && len(b) != 0) {
				t.Errorf("%s: answer %d = %d %q, want %q", tt.fault, i+1, res.StatusCode, b, want)
			}
			if res.Header.Get("Link") == "" {
				t.Errorf("%s: the emulator's headers were lost", tt.fault)
			}
		}
		srv.Close()
	}
	for _, bad := range []string{"page=2,body=null", "path=/x,body=gone", "path=/x,body=oversized", "path=/x,page=0,body=null", "path=/x,pg=1"} {
		if _, err := ParsePageFault(bad); err == nil {
			t.Errorf("ParsePageFault(%q) accepted", bad)
		}
	}
}
