package connectwise

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// FuzzParseCallback feeds the callback parser arbitrary bodies, seeded
// with the fixtures in testdata. It must never panic, and every event it
// returns must name an entity, an action and a record.
func FuzzParseCallback(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "callback_*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Action":"added","Type":"ticket","ID":"12","Entity":"{\"id\":12,\"_info\":{\"lastUpdated\":\"bad\"}}"}`))
	f.Add([]byte(`{"Action":"updated","Type":"time","ID":1,"Entity":{"chargeToId":"x"}}`))
	f.Add([]byte(`null`))
	c := &Client{}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := c.ParseCallback(nil, body)
		if err != nil {
			if _, ok := err.(*helpdesk.CallbackError); !ok {
				t.Fatalf("error %v is not a CallbackError", err)
			}
			return
		}
		for _, ev := range evs {
			if ev.Entity == "" || ev.Action == "" || ev.ExternalID == "" || ev.DeliveryID == "" ||
				strings.HasPrefix(ev.ExternalID, "-") {
				t.Fatalf("incomplete event %+v", ev)
			}
		}
	})
}
