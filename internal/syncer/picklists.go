package syncer

import (
	"context"
	"fmt"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// RefreshPicklists replaces the picklist database with the PSA's
// picklists, recorded as a manual sync run of entity picklists whose
// counts are picklist values created, updated and unchanged.
func (s *Syncer) RefreshPicklists(ctx context.Context) (store.SyncRun, error) {
	return s.refreshPicklists(ctx, store.TriggerManual)
}

// RefreshPicklistsAs is RefreshPicklists recorded with trigger (a
// reconcile pass's refresh is store.TriggerReconcile).
func (s *Syncer) RefreshPicklistsAs(ctx context.Context, trigger string) (store.SyncRun, error) {
	return s.refreshPicklists(ctx, trigger)
}

func (s *Syncer) refreshPicklists(ctx context.Context, trigger string) (store.SyncRun, error) {
	unlock, err := s.lock(ctx, helpdesk.EntityPicklists)
	if err != nil {
		return store.SyncRun{}, fmt.Errorf("sync %s: %w", helpdesk.EntityPicklists, err)
	}
	defer unlock()
	s.interrupt(ctx, helpdesk.EntityPicklists)
	r, err := s.startRun(ctx, helpdesk.EntityPicklists, trigger, "")
	if err != nil {
		return r.finish(ctx, err)
	}
	ctx = r.metered(ctx)
	res, err := s.replacePicklists(ctx)
	if err != nil {
		return r.finish(ctx, err)
	}
	r.add(res, 0)
	return r.finish(ctx, nil)
}

func (s *Syncer) replacePicklists(ctx context.Context) (store.UpsertResult, error) {
	fresh, err := s.p.Picklists(ctx)
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("fetch picklists: %w", err)
	}
	old, _, err := s.st.Picklists(ctx, s.o.Scope)
	if err != nil {
		return store.UpsertResult{}, fmt.Errorf("read stored picklists: %w", err)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.WriteTimeout)
	defer cancel()
	if err := s.st.ReplacePicklists(wctx, s.o.Scope, fresh, s.now()); err != nil {
		return store.UpsertResult{}, fmt.Errorf("store picklists: %w", err)
	}
	return diffPicklists(old, fresh), nil
}

// picklistKey identifies a picklist value across refreshes.
type picklistKey struct {
	kind           helpdesk.PicklistKind
	scope, scopeID string
	id             string
}

// diffPicklists counts the values of fresh that are new, changed or the
// same as in old.
func diffPicklists(old, fresh []helpdesk.Picklist) store.UpsertResult {
	prev := map[picklistKey]helpdesk.PicklistValue{}
	for _, p := range old {
		for _, v := range p.Values {
			prev[picklistKey{p.Kind, p.Scope, p.ScopeID, v.ID}] = v
		}
	}
	var res store.UpsertResult
	for _, p := range fresh {
		for _, v := range p.Values {
			o, ok := prev[picklistKey{p.Kind, p.Scope, p.ScopeID, v.ID}]
			switch {
			case !ok:
				res.Created++
			case o != v:
				res.Updated++
			default:
				res.Unchanged++
			}
		}
	}
	return res
}
