package syncer

import (
	"encoding/json"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Resumer is implemented by providers that list an entity in ascending
// record ID (keyset paging) and honour helpdesk.Query.After. A backfill of
// such an entity stores its position with every page it commits
// (store.Watermark.Cursor, in the page's transaction), and a backfill
// interrupted by a crash continues after the last committed record
// instead of starting again from page 1.
type Resumer interface {
	Resumable(e helpdesk.Entity) bool
}

// cursor is a backfill's resume point, stored as Watermark.Cursor.
type cursor struct {
	// After is the ID of the last record of the last committed page.
	After string `json:"after"`
	// Since is the backfill's window start, so that the resumed listing
	// selects the same records.
	Since time.Time `json:"since"`
	// Start is the PSA's time when the backfill first started: the
	// watermark it stores at its end must not pass it, since records of
	// pages committed before the crash may have changed since.
	Start time.Time `json:"start"`
	// Seen is the largest last-updated time of the committed pages, so
	// that the resumed backfill stores the watermark an uninterrupted one
	// would (absent in cursors of older versions: a lower watermark,
	// which only re-reads more).
	Seen time.Time `json:"seen,omitzero"`
}

func (c cursor) String() string {
	b, _ := json.Marshal(c) // strings and times always marshal
	return string(b)
}

// resumeFrom returns the stored cursor of an interrupted backfill of e,
// when the provider can resume e.
func (s *Syncer) resumeFrom(e helpdesk.Entity, wm store.Watermark) (cursor, bool) {
	r, ok := s.p.(Resumer)
	if wm.Cursor == "" || !ok || !r.Resumable(e) {
		return cursor{}, false
	}
	var c cursor
	if err := json.Unmarshal([]byte(wm.Cursor), &c); err != nil || c.After == "" {
		s.log.Warn("sync: unreadable backfill cursor, backfilling from the start", "entity", e, "err", err)
		return cursor{}, false
	}
	return c, true
}

// resumable reports whether a backfill of e commits its position.
func (s *Syncer) resumable(e helpdesk.Entity) bool {
	r, ok := s.p.(Resumer)
	return ok && r.Resumable(e)
}
