package daemon

import "github.com/horizon/reconciler/internal/api"

// writeTarget is the account the write API writes through: every replica
// accepts writes into the outbox; the leader delivers them.
func (d *Daemon) writeTarget() (api.Target, bool) {
	_, a := d.current()
	if a == nil {
		return api.Target{}, false
	}
	return api.Target{Engine: a.Writeback, Store: a.Store, Scope: a.Scope, Token: a.WriteToken}, true
}
