package norm

import (
	"errors"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// Write checks a write to enqueue and sets what a new write starts with:
// pending, no attempts, created (and due) now unless set.
func Write(w store.Write, now func() time.Time) (store.Write, error) {
	switch {
	case w.Op == "":
		return w, errors.New("write has no op")
	case w.IdempotencyKey == "":
		return w, errors.New("write has no idempotency key")
	case w.Marker == "":
		return w, errors.New("write has no marker")
	}
	w.CreatedAt = store.NormalizeTime(Or(w.CreatedAt, now))
	if w.NextAttempt.IsZero() {
		w.NextAttempt = w.CreatedAt
	}
	w.State, w.Attempts, w.Answer, w.ResultID, w.Uncertain = store.WritePending, 0, "", "", false
	w.ClaimedUntil, w.FinishedAt, w.LastDuration = time.Time{}, time.Time{}, 0
	w.UpdatedAt = w.CreatedAt
	return w, nil
}

// Outcome checks an attempt's outcome.
func Outcome(o store.WriteOutcome, now func() time.Time) (store.WriteOutcome, error) {
	switch o.State {
	case store.WritePending, store.WriteDone, store.WriteFailed, store.WriteDead, store.WriteUnknown:
	default:
		return o, errors.New("write outcome has no valid state: " + o.State)
	}
	o.At = Or(o.At, now)
	return o, nil
}
