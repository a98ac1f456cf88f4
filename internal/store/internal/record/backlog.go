package record

import "github.com/horizon/reconciler/internal/store"

// ScopedBacklog is one row of query.OutboxBacklogs.
type ScopedBacklog struct {
	Scope   store.Scope
	Backlog store.OutboxBacklog
}

// Backlog scans a row of query.OutboxBacklogs.
func (t Times) Backlog(r Row) (ScopedBacklog, error) {
	var b ScopedBacklog
	oldest, due := t.New(), t.New()
	if err := r.Scan(&b.Scope.Account, &b.Scope.Provider, &b.Backlog.Pending, oldest, due); err != nil {
		return b, err
	}
	b.Backlog.Oldest, b.Backlog.Due = oldest.Time(), due.Time()
	return b, nil
}

// BacklogsByScope indexes backlogs by scope.
func BacklogsByScope(bs []ScopedBacklog) map[store.Scope]store.OutboxBacklog {
	out := make(map[store.Scope]store.OutboxBacklog, len(bs))
	for _, b := range bs {
		out[b.Scope] = b.Backlog
	}
	return out
}
