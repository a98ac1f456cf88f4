package sqlite

import (
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
	"github.com/horizon/reconciler/internal/store/internal/query"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// timeLayout is fixed width, so text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// ts encodes a time for a NOT NULL column.
func ts(t time.Time) string { return store.NormalizeTime(t).Format(timeLayout) }

// tsScan scans a time column; NULL scans as the zero time.
type tsScan struct{ t time.Time }

// Time returns the scanned time, UTC.
func (s *tsScan) Time() time.Time { return s.t }

// Scan implements sql.Scanner.
func (s *tsScan) Scan(v any) error {
	var text string
	switch v := v.(type) {
	case nil:
		s.t = time.Time{}
		return nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	t, err := time.Parse(timeLayout, text)
	if err != nil {
		return fmt.Errorf("scan time: %w", err)
	}
	s.t = t
	return nil
}

// times binds and scans times for the shared row mappings.
var times = record.Times{
	Bind: func(t time.Time) any { return ts(t) },
	New:  newTime,
}

func newTime() entity.TimeScanner { return new(tsScan) }

// dialect is SQLite's for the shared list queries.
var dialect = query.Dialect{Placeholder: query.Question, Time: times.Bind}

// bindValue maps an entity row value to what the driver stores: times as
// text, JSON as text.
func bindValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return ts(v)
	case []byte:
		return string(v)
	}
	return v
}
