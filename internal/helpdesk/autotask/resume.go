package autotask

import "github.com/horizon/reconciler/internal/helpdesk"

// Resumable implements syncer.Resumer. Queries have no orderBy [I]: the
// API answers them in ascending id order and pages them by id, so
// helpdesk.Query.After becomes the filter id gt N and an interrupted
// backfill resumes after its last committed record. Records edited
// during the walk keep their id, so the walk neither skips nor repeats
// them.
func (c *Client) Resumable(e helpdesk.Entity) bool {
	switch e {
	case helpdesk.EntityTickets, helpdesk.EntityContacts, helpdesk.EntityCompanies,
		helpdesk.EntityTimeEntries, helpdesk.EntityMembers:
		return true
	}
	return false
}
