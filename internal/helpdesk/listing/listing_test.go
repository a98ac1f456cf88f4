package listing

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
)

func TestArrayRefusesWhatIsNotAList(t *testing.T) {
	tests := []struct {
		body, what string
		n          int
	}{
		{"", "an empty body", -1},
		{"  \n", "an empty body", -1},
		{"null", "null", -1},
		{"<html><body>Bad gateway</body></html>", "HTML", -1},
		{`{"items":[]}`, `JSON starting with "{\"items\":[]}"`, -1},
		{`[{"id":1},{"id":2}`, "JSON that does not parse", -1},
		{"[]", "", 0},
		{`[{"id":1},{"id":2}]`, "", 2},
	}
	for _, tt := range tests {
		raws, err := Array([]byte(tt.body))
		var na *NotAListError
		if tt.n < 0 {
			if !errors.As(err, &na) || na.What != tt.what {
				t.Errorf("Array(%q) = %v, want %q", tt.body, err, tt.what)
			}
			continue
		}
		if err != nil || len(raws) != tt.n {
			t.Errorf("Array(%q) = %d, %v", tt.body, len(raws), err)
		}
	}
}

type rec struct {
	ID      int64  `json:"id"`
	Summary string `json:"summary"`
}

func TestRecordsSkipsBadRecordsWithTheirID(t *testing.T) {
	body := fmt.Sprintf(`[{"id":1,"summary":"a"},{"id":"2","summary":"wrong type"},{"id":3,"summary":"%s"},{"summary":"no id","id":{}},{"id":5,"summary":"e"}]`,
		strings.Repeat("x", 300))
	raws, err := Array([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var skipped []helpdesk.Skipped
	got := Records(raws, helpdesk.EntityTickets, 256, func(raw json.RawMessage) (rec, error) {
		var r rec
		return r, json.Unmarshal(raw, &r)
	}, func(s helpdesk.Skipped) { skipped = append(skipped, s) })
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []int64{1, 5}) {
		t.Errorf("kept %v, want [1 5]", ids)
	}
	var sids []string
	for _, s := range skipped {
		sids = append(sids, s.ID)
		if s.Entity != helpdesk.EntityTickets || s.Reason == "" {
			t.Errorf("skipped %+v", s)
		}
	}
	if !slices.Equal(sids, []string{"2", "3", "{}"}) {
		t.Errorf("skipped ids %v", sids)
	}
	if !strings.Contains(skipped[1].Reason, `field summary is 302 bytes, over the limit of 256 bytes`) {
		t.Errorf("oversized reason %q", skipped[1].Reason)
	}
}
