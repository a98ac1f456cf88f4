package daemon

import (
	"net/http"

	"github.com/horizon/reconciler/internal/api"
)

// api returns the account's write API (built once).
func (d *runner) api() http.Handler {
	d.apiOnce.Do(func() { d.apiHandler = api.New(api.Options{Current: d.writeTarget, Logger: d.log}) })
	return d.apiHandler
}

// writeTarget is the account the write API writes through: every replica
// accepts writes into the outbox; the leader delivers them.
func (d *runner) writeTarget() (api.Target, bool) {
	_, a := d.current()
	if a == nil {
		return api.Target{}, false
	}
	return api.Target{Engine: a.Writeback, Store: a.Store, Scope: a.Scope, Token: a.WriteToken}, true
}
