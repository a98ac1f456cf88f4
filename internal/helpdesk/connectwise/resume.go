package connectwise

import "github.com/horizon/reconciler/internal/helpdesk"

// Resumable implements syncer.Resumer. Every record listing is walked in
// ascending id order (orderBy=id asc, or forward-only paging, which is
// keyset paging on id [D]) and honours helpdesk.Query.After with the
// condition id > N [D], so an interrupted backfill resumes after its last
// committed record. Records edited during the walk keep their id, so
// keyset paging neither skips nor repeats them.
func (c *Client) Resumable(e helpdesk.Entity) bool {
	switch e {
	case helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
		helpdesk.EntityTimeEntries, helpdesk.EntityMembers:
		return true
	}
	return false
}
