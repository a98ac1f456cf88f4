package smoke

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/callback"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// connect is plan's check: one cheap call with the file's credentials.
func (r *run) connect(ctx context.Context) outcome {
	if err := r.o.Provider.Ping(ctx); err != nil {
		r.stopped = "the connection check failed"
		return fail(r.cmd("plan"), "connect to %s: %s", r.o.Provider.Name(), r.describe(err))
	}
	return pass("%s answered with the file's credentials", r.o.Provider.Name())
}

// create makes the test ticket in the PSA directly, as an admin would.
func (r *run) create(ctx context.Context) outcome {
	next := "the smoke section of " + r.fileName()
	picks, err := r.o.Provider.Picklists(ctx)
	if err != nil {
		r.stopOn(err)
		r.stopped = or(r.stopped, "no test ticket was created")
		return fail(r.cmd("picklists"), "read the PSA's picklists: %s", r.describe(err))
	}
	r.picks = picks
	nt, err := r.newTicket(ctx)
	if err != nil {
		r.stopOn(err)
		r.stopped = or(r.stopped, "no test ticket was created")
		return fail(next, "%s", r.describe(err))
	}
	if r.resolveUser(ctx) == nil {
		// Made as the mapped member where the PSA lets the API act as
		// someone (Autotask): a change of Horizon's own API user would not
		// call back (echo suppression).
		nt.MemberID = r.member.ExternalID
	}
	since := r.o.Now().Add(-time.Minute)
	t, err := r.o.Provider.CreateTicket(ctx, nt)
	if err != nil {
		// The answer may be lost while the ticket exists: look for the
		// marker so that clean-up can close it.
		if found, ok, ferr := r.o.Provider.FindTicket(ctx, r.marker, since); ferr == nil && ok {
			r.setTicket(found)
			return fail(next, "the PSA made ticket %s but its answer was lost: %s", found.ExternalID, r.describe(err))
		}
		r.stopOn(err)
		r.stopped = or(r.stopped, "no test ticket was created")
		return fail(next, "create a ticket in %s: %s", r.o.Provider.Name(), r.describe(err))
	}
	r.setTicket(t)
	return pass("ticket %s %q in %s", t.ExternalID, t.Summary, r.queueName(t.Queue.ID))
}

func (r *run) setTicket(t helpdesk.Ticket) {
	r.ticket = t
	r.rep.TicketID, r.rep.Summary = t.ExternalID, t.Summary
}

// newTicket fills the test ticket from the smoke section, and what it
// leaves out from a recent ticket of the PSA.
func (r *run) newTicket(ctx context.Context) (helpdesk.NewTicket, error) {
	sm := r.o.Config.Smoke
	nt := helpdesk.NewTicket{
		Summary:     fmt.Sprintf("Horizon smoke test %s %s", r.rep.StartedAt.Format(time.RFC3339), r.marker),
		Description: "Made by reconciler smoke to check that the PSA and Horizon reach each other. It is closed when the test ends.",
		CompanyID:   sm.Company, ContactID: sm.Contact, Marker: r.marker,
	}
	tmpl, err := r.template(ctx)
	if err != nil {
		return nt, err
	}
	if nt.CompanyID == "" {
		nt.CompanyID = tmpl.CompanyID
		if nt.ContactID == "" {
			nt.ContactID = tmpl.ContactID
		}
	}
	if nt.CompanyID == "" {
		return nt, errors.New("no company for the test ticket: set smoke.company in horizon.yaml")
	}
	nt.QueueID = tmpl.Queue.ID
	if sm.Queue != "" {
		v, ok := r.pick(helpdesk.PicklistQueue, "", sm.Queue)
		if !ok {
			v, ok = r.pick(helpdesk.PicklistDepartment, "", sm.Queue)
		}
		if !ok {
			return nt, fmt.Errorf("smoke.queue %q is not a board, queue, department or team of the PSA", sm.Queue)
		}
		nt.QueueID = v.ID
	}
	if st, ok := r.openStatus(nt.QueueID, ""); ok {
		nt.StatusID = st.ID
	}
	nt.PriorityID, nt.TypeID = tmpl.Priority.ID, tmpl.Type.ID
	if nt.QueueID != tmpl.Queue.ID {
		nt.TypeID = "" // types may belong to the template's board
	}
	return nt, nil
}

// template is a recent ticket of the PSA (one page), preferring one with a
// company and contact, whose fields the test ticket borrows.
func (r *run) template(ctx context.Context) (helpdesk.Ticket, error) {
	var best helpdesk.Ticket
	for page, err := range r.o.Provider.Tickets(ctx, helpdesk.Query{Since: r.o.Now().AddDate(0, 0, -90), PageSize: 50}) {
		if err != nil {
			return best, fmt.Errorf("read a recent ticket to copy its company and queue: %w", err)
		}
		for _, t := range page {
			switch {
			case t.Deleted || t.CompanyID == "":
			case best.CompanyID == "" || best.ContactID == "" && t.ContactID != "":
				best = t
			}
		}
		break
	}
	return best, nil
}

// callback watches the ticket land in Horizon's store: by callback within
// smoke.callbackTimeout, or else tells whether polling brings it.
func (r *run) callback(ctx context.Context) outcome {
	id := r.ticket.ExternalID
	start := r.o.Now()
	timeout := r.o.Config.Smoke.CallbackTimeout.Std()
	// A webhook registered after the ticket was made never calls back for
	// its creation (the daemon registers them after its first backfill).
	missing := r.webhooksMissing(ctx)
	if r.o.Config.Callbacks == nil {
		out := fail(r.fileName(), "the file declares no callbacks: Horizon learns of PSA changes only by polling")
		return r.byPolling(ctx, start, out)
	}
	var polledAt time.Duration // when the ticket arrived without a callback
	deadline := start.Add(timeout)
	for {
		cb, cbErr := r.callbackFor(ctx, id, start)
		stored, err := r.inStore(ctx, id)
		if err != nil || cbErr != nil {
			return fail(r.cmd("logs callbacks"), "read Horizon's store: %v", errors.Join(err, cbErr))
		}
		since := r.o.Now().Sub(start)
		if stored && polledAt == 0 && cb == nil {
			polledAt = since
		}
		if cb != nil {
			switch {
			case cb.Result == store.CallbackFailed:
				return r.afterCallback(ctx, fail(r.cmd("logs callbacks"),
					"the PSA's callback arrived after %s but Horizon could not process it: %s", round(since), cb.Reason))
			case stored && polledAt != 0:
				r.stored = true
				return pass("the callback arrived after %s (polling had brought the ticket after %s)", round(since), round(polledAt))
			case stored:
				r.stored = true
				return pass("arrived by callback after %s", round(since))
			case !r.o.Daemon:
				return r.afterCallback(ctx, pass("the callback arrived after %s; no daemon runs, so this command fetched the ticket", round(since)))
			}
		}
		if suppressesOwn[r.o.Scope.Provider] {
			if other, err := r.verifiedSince(ctx, r.rep.StartedAt); err == nil && other != nil {
				return r.afterCallback(ctx, pass("callbacks reach Horizon: a verified callback (%s %s) arrived after %s; %s",
					other.Event, strings.Join(other.ExternalIDs, ","), round(r.o.Now().Sub(start)), r.ownNote()))
			}
		}
		if !r.o.Now().Before(deadline) {
			break
		}
		if err := r.sleep(ctx); err != nil {
			return fail(r.cmd("logs callbacks"), "no callback yet after %s: %v", round(since), err)
		}
	}
	rejected, _ := r.o.Store.Callbacks(ctx, r.o.Scope, store.CallbackFilter{Since: start, FailedOnly: true, Limit: 1})
	msg := fmt.Sprintf("no callback within %s: callbacks are not reaching Horizon (check the webhook in the PSA and %s)",
		round(timeout), r.cmd("plan"))
	if len(rejected) > 0 {
		msg = fmt.Sprintf("callbacks reach Horizon but are refused (%s): the webhook's secret in the PSA no longer matches callbacks.secret; run %s",
			rejected[0].Reason, r.cmd("apply"))
	} else if missing != "" {
		msg = fmt.Sprintf("no callback within %s: when the test ticket was made, the PSA did not hold the webhook the file asks for: %s "+
			"(the daemon registers webhooks on its first reconcile, after the backfill; see %s, or run %s)",
			round(timeout), missing, r.cmd("plan"), r.cmd("apply"))
	}
	if !r.o.Daemon {
		msg = "no daemon runs for this account (reconciler run), so no callback can land; " + msg
	} else if suppressesOwn[r.o.Scope.Provider] && len(rejected) == 0 && missing == "" {
		return r.unverified(ctx, start, polledAt)
	}
	out := fail(r.cmd("logs callbacks"), "%s", msg)
	if polledAt != 0 {
		out.detail += fmt.Sprintf("; polling works: the ticket arrived by polling after %s", round(polledAt))
		r.stored = true
		return out
	}
	return r.byPolling(ctx, start, out)
}

// webhooksMissing names the webhook registrations the file asks for that
// the PSA does not hold as asked, "" when all are there or when that
// cannot be told (no spec, or the PSA did not answer).
func (r *run) webhooksMissing(ctx context.Context) string {
	spec := r.o.Webhooks
	if spec.URL == "" {
		return ""
	}
	observed, err := r.o.Provider.Webhooks(ctx)
	if err != nil {
		r.o.Logger.WarnContext(ctx, "smoke: list the PSA's webhooks", "err", helpdesk.RedactURL(err.Error(), spec.Secret))
		return ""
	}
	var names []string
	for _, ws := range callback.CompareWebhooks(r.o.Provider.DesiredWebhooks(spec), observed, spec.Secret) {
		if ws.State == callback.WebhookMissing || ws.State == callback.WebhookDiffers {
			names = append(names, fmt.Sprintf("%q (%s)", ws.Name, ws.State))
		}
	}
	return strings.Join(names, ", ")
}

// suppressesOwn lists the PSAs that, as Horizon registers its webhooks, do
// not call back for changes Horizon's own API user makes (ConnectWise's
// isSelfSuppressedFlag, Zoho Desk's ignoreSourceId) and cannot make a
// ticket as someone else: the test ticket never calls back there, so the
// evidence is any other verified callback, or changes polling found that
// no callback announced.
var suppressesOwn = map[string]bool{helpdesk.ConnectWise: true, helpdesk.ZohoDesk: true}

func (r *run) ownNote() string {
	return r.o.Provider.Name() + " does not call back for Horizon's own test ticket (echo suppression)"
}

// verifiedSince returns a verified callback received since start, nil
// when none came.
func (r *run) verifiedSince(ctx context.Context, start time.Time) (*store.CallbackRecord, error) {
	recs, err := r.o.Store.Callbacks(ctx, r.o.Scope, store.CallbackFilter{Since: start, Limit: 50})
	if err != nil {
		return nil, err
	}
	for i := range recs {
		if recs[i].Verified && recs[i].Result != store.CallbackRejected {
			return &recs[i], nil
		}
	}
	return nil, nil
}

// unverified ends the callback step where the test ticket cannot call
// back and no other callback came: changes that polling found meanwhile
// prove callbacks lost; without any, callbacks are not verified.
func (r *run) unverified(ctx context.Context, start time.Time, polledAt time.Duration) outcome {
	// Polls since the smoke test began, not since this step began: a poll
	// that started while the test ticket was being created may hold both
	// it and the changes that prove callbacks lost.
	runs, err := r.o.Store.SyncRuns(ctx, r.o.Scope, store.SyncRunFilter{Entity: helpdesk.EntityTickets, Trigger: store.TriggerPoll, Since: r.rep.StartedAt})
	changed := 0
	for _, sr := range runs {
		changed += sr.Created + sr.Updated
	}
	if polledAt != 0 {
		changed-- // the test ticket itself
	}
	var out outcome
	switch {
	case err == nil && changed > 0:
		out = fail(r.cmd("logs callbacks"), "callbacks are not reaching Horizon: polling works and found %d changed ticket(s) within %s that no callback announced (%s)",
			changed, round(r.o.Config.Smoke.CallbackTimeout.Std()), r.ownNote())
	default:
		last := "none logged"
		if st, err := r.o.Store.CallbackStats(ctx, r.o.Scope, time.Time{}); err == nil && !st.LastReceived.IsZero() {
			last = round(r.o.Now().Sub(st.LastReceived)).String() + " ago"
		}
		out = skip("not verified: %s, and nothing else changed within %s (last callback: %s); change a ticket in the PSA by hand and check %s",
			r.ownNote(), round(r.o.Config.Smoke.CallbackTimeout.Std()), last, r.cmd("logs callbacks"))
	}
	if polledAt != 0 {
		r.stored = true
		return out
	}
	return r.afterCallback(ctx, out)
}

// callbackFor returns the callback log's entry about the ticket since
// start, nil when there is none.
func (r *run) callbackFor(ctx context.Context, id string, start time.Time) (*store.CallbackRecord, error) {
	recs, err := r.o.Store.Callbacks(ctx, r.o.Scope, store.CallbackFilter{ExternalID: id, Since: start.Add(-time.Second), Limit: 20})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	// Prefer a processed delivery over a failed or duplicate one.
	for i := range recs {
		if recs[i].Result == store.CallbackProcessed {
			return &recs[i], nil
		}
	}
	for i := range recs {
		if recs[i].Result != store.CallbackRejected && recs[i].Result != store.CallbackDuplicate {
			return &recs[i], nil
		}
	}
	return nil, nil
}

// afterCallback fetches the ticket itself when the callback could not
// store it, so that the write steps can run.
func (r *run) afterCallback(ctx context.Context, out outcome) outcome {
	if _, err := r.o.Syncer.SyncTicket(ctx, r.ticket.ExternalID, store.TriggerManual); err != nil {
		out.detail += fmt.Sprintf("; fetching the ticket failed too: %s", r.describe(err))
		return out
	}
	r.stored = true
	return out
}

// byPolling waits for polling to bring the ticket: the daemon's poll, or
// one incremental sync this command runs when no daemon does. When polling
// does not bring it either, the ticket is fetched alone so that the write
// steps can still run.
func (r *run) byPolling(ctx context.Context, start time.Time, out outcome) outcome {
	id := r.ticket.ExternalID
	if !r.o.Daemon {
		if _, err := r.o.Syncer.SyncEntity(ctx, helpdesk.EntityTickets, store.TriggerPoll, false); err != nil {
			out.detail += fmt.Sprintf("; polling failed too: %s", r.describe(err))
			r.stopOn(err)
			return out
		}
	} else {
		pctx, cancel := context.WithTimeout(ctx, r.o.PollWait)
		for {
			stored, err := r.inStore(pctx, id)
			if stored || err != nil || r.sleep(pctx) != nil {
				break
			}
		}
		cancel()
	}
	if stored, _ := r.inStore(ctx, id); stored {
		r.stored = true
		out.detail += fmt.Sprintf("; polling works: the ticket arrived by polling after %s", round(r.o.Now().Sub(start)))
		return out
	}
	out.detail += "; " + r.notPolled(ctx, start)
	return r.afterCallback(ctx, out)
}

// notPolled says why polling did not bring the ticket since start: a poll
// of tickets that ran and missed it is a fault; no poll within a wait
// shorter than sync.pollInterval says nothing about polling.
func (r *run) notPolled(ctx context.Context, start time.Time) string {
	waited := round(r.o.Now().Sub(start))
	if !r.o.Daemon {
		return fmt.Sprintf("polling did not bring it either (check %s)", r.cmd("logs sync"))
	}
	runs, err := r.o.Store.SyncRuns(ctx, r.o.Scope, store.SyncRunFilter{Entity: helpdesk.EntityTickets, Trigger: store.TriggerPoll, Since: start})
	if err != nil {
		return fmt.Sprintf("not brought by polling within %s either; whether the daemon polled meanwhile is unknown: %v (check %s)", waited, err, r.cmd("logs sync"))
	}
	for _, sr := range runs {
		if !sr.FinishedAt.IsZero() {
			return fmt.Sprintf("polling did not bring it either: the daemon's poll of tickets at %s ran and missed it (check %s)",
				sr.FinishedAt.UTC().Format(time.TimeOnly), r.cmd("logs sync"))
		}
	}
	return fmt.Sprintf("no poll of tickets ran within the %s waited (the daemon polls every %s, sync.pollInterval), so polling was not tested (check %s)",
		waited, r.o.Config.Sync.PollInterval.Std(), r.cmd("logs sync"))
}

func (r *run) inStore(ctx context.Context, id string) (bool, error) {
	_, err := r.o.Store.Ticket(ctx, r.o.Scope, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (r *run) sleep(ctx context.Context) error {
	t := time.NewTimer(r.o.Tick)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ready says why the write steps cannot run, "" when they can.
func (r *run) ready(ctx context.Context) (outcome, bool) {
	if r.ticket.ExternalID == "" {
		return skip("not run: no test ticket"), false
	}
	if !r.stored {
		return fail(r.cmd("logs sync"), "not run: the ticket is not in Horizon's store, so Horizon cannot write to it"), false
	}
	if r.user == "" {
		if err := r.resolveUser(ctx); err != nil {
			r.stopped = "no mapped Horizon user to write as"
			return fail(r.cmd("users"), "%v", err), false
		}
	}
	return outcome{}, true
}

// resolveUser finds the Horizon user to write as and its helpdesk user.
func (r *run) resolveUser(ctx context.Context) error {
	maps, err := r.o.Store.UserMappings(ctx, r.o.Scope)
	if err != nil {
		return fmt.Errorf("read user mappings: %w", err)
	}
	members, err := r.o.Store.Members(ctx, r.o.Scope)
	if err != nil {
		return fmt.Errorf("read helpdesk users: %w", err)
	}
	byID := map[string]helpdesk.Member{}
	for _, m := range members {
		byID[m.ExternalID] = m
	}
	want := strings.TrimSpace(r.o.Config.Smoke.User)
	for _, m := range maps {
		mem, known := byID[m.HelpdeskUserID]
		if want != "" && strings.EqualFold(m.HorizonUser, want) || want == "" && known && mem.Active {
			if !known {
				mem = helpdesk.Member{ExternalID: m.HelpdeskUserID, Name: m.HelpdeskUserID}
			}
			r.user, r.member = m.HorizonUser, mem
			return nil
		}
	}
	if want != "" {
		return fmt.Errorf("smoke.user %s is not mapped to a helpdesk user (userMappings; run %s)", want, r.cmd("apply"))
	}
	return fmt.Errorf("no Horizon user is mapped to an active helpdesk user: map one under userMappings, or set smoke.user")
}

// write asks for w and says why it did not happen, "" when the PSA
// accepted it.
func (r *run) write(ctx context.Context, w Write) (Written, string) {
	w.TicketID, w.Author = r.ticket.ExternalID, r.user
	wctx, cancel := context.WithTimeout(ctx, r.o.WriteTimeout)
	got, err := r.o.Writer.Write(wctx, w)
	cancel()
	switch {
	case err != nil:
		r.stopOn(err)
		return got, err.Error()
	case got.State == store.OutboxPending || got.State == store.OutboxInFlight:
		why := fmt.Sprintf("write %d is still %s after %s: %s", got.ID, got.State, round(r.o.WriteTimeout), or(got.Answer, "no answer from the PSA; is a daemon delivering writes?"))
		// A write retried on a 401 waits forever: say so, and stop.
		if perr := r.o.Provider.Ping(ctx); perr != nil {
			r.stopOn(perr)
			why += "; " + r.describe(perr)
		}
		return got, why
	case !got.Done():
		return got, fmt.Sprintf("write %d %s: %s", got.ID, got.State, or(got.Answer, "no reason given"))
	}
	return got, ""
}

func (r *run) writesNext() string {
	return "reconciler logs writes --ticket " + r.ticket.ExternalID + " -f " + r.fileName()
}

// status changes the ticket's status from Horizon and reads it back.
func (r *run) status(ctx context.Context) outcome {
	if out, ok := r.ready(ctx); !ok {
		return out
	}
	cur, err := r.o.Provider.GetTicket(ctx, r.ticket.ExternalID)
	if err != nil {
		r.stopOn(err)
		return fail(r.cmd("plan"), "read ticket %s: %s", r.ticket.ExternalID, r.describe(err))
	}
	target, ok := r.openStatus(cur.Queue.ID, cur.Status.ID)
	if !ok {
		return fail(r.cmd("picklists"), "the ticket's board has no other open status to change to")
	}
	w, why := r.write(ctx, Write{Op: OpStatus, Status: target.Name})
	if why != "" {
		return fail(r.writesNext(), "change the status to %s from Horizon: %s", target.Name, why)
	}
	got, err := r.o.Provider.GetTicket(ctx, r.ticket.ExternalID)
	if err != nil {
		r.stopOn(err)
		return fail(r.writesNext(), "write %d done, but reading the ticket back failed: %s", w.ID, r.describe(err))
	}
	if got.Status.ID != target.ID && !strings.EqualFold(got.Status.Name, target.Name) {
		return fail(r.writesNext(), "write %d done, but the PSA shows status %s, not %s", w.ID, or(got.Status.Name, got.Status.ID), target.Name)
	}
	from := cur.Status.Name
	if v, ok := r.pick(helpdesk.PicklistStatus, cur.Queue.ID, cur.Status.ID); ok && from == "" {
		from = v.Name
	}
	return pass("%s → %s, read back from the PSA (write %d)", or(from, cur.Status.ID), target.Name, w.ID)
}

// note adds an internal note as the mapped user and reads back its
// attribution.
func (r *run) note(ctx context.Context) outcome {
	if out, ok := r.ready(ctx); !ok {
		return out
	}
	text := "Horizon smoke test note " + r.marker
	w, why := r.write(ctx, Write{Op: OpNote, Text: text})
	if why != "" {
		return fail(r.writesNext(), "add a note as %s: %s", r.user, why)
	}
	notes, err := r.o.Provider.Notes(ctx, r.ticket.ExternalID)
	if err != nil {
		r.stopOn(err)
		return fail(r.writesNext(), "write %d done, but reading the notes back failed: %s", w.ID, r.describe(err))
	}
	i := slices.IndexFunc(notes, func(n helpdesk.Note) bool {
		return w.ResultID != "" && n.ExternalID == w.ResultID || strings.Contains(n.Text, r.marker)
	})
	if i < 0 {
		return fail(r.writesNext(), "write %d done, but the PSA shows no such note on ticket %s", w.ID, r.ticket.ExternalID)
	}
	n := notes[i]
	author := or(w.MemberName, r.member.Name)
	switch {
	case !n.Internal:
		return fail(r.writesNext(), "note %s is public, not internal", n.ExternalID)
	case n.AuthorID != "" && n.AuthorID == or(w.MemberID, r.member.ExternalID):
		return pass("internal note %s by %s (helpdesk user %s), read back", n.ExternalID, author, n.AuthorID)
	case author != "" && strings.Contains(n.Text, author):
		return pass("internal note %s, attributed to %s in its text (the PSA writes notes as the API user), read back", n.ExternalID, author)
	}
	return fail(r.cmd("users"), "note %s is attributed to helpdesk user %s, not to %s mapped to %s", n.ExternalID,
		or(n.AuthorID, "unknown"), author, r.user)
}

// assign assigns the ticket to the mapped user and reads it back.
func (r *run) assign(ctx context.Context) outcome {
	if out, ok := r.ready(ctx); !ok {
		return out
	}
	w, why := r.write(ctx, Write{Op: OpAssign, Assignee: r.user})
	if why != "" {
		return fail(r.writesNext(), "assign to %s: %s", r.user, why)
	}
	got, err := r.o.Provider.GetTicket(ctx, r.ticket.ExternalID)
	if err != nil {
		r.stopOn(err)
		return fail(r.writesNext(), "write %d done, but reading the ticket back failed: %s", w.ID, r.describe(err))
	}
	if got.AssigneeID != r.member.ExternalID {
		return fail(r.writesNext(), "write %d done, but the PSA shows assignee %s, not %s (helpdesk user %s)", w.ID,
			or(got.AssigneeID, "none"), r.member.Name, r.member.ExternalID)
	}
	return pass("assigned to %s (helpdesk user %s), read back (write %d)", r.user, r.member.ExternalID, w.ID)
}

// timeEntry logs a quarter hour as the mapped user when time entries are
// synced, and reads it back.
func (r *run) timeEntry(ctx context.Context) outcome {
	if !slices.Contains(r.o.Config.Sync.Entities, config.EntityTimeEntries) {
		return skip("time entries are not synced (sync.entities)")
	}
	if out, ok := r.ready(ctx); !ok {
		return out
	}
	w, why := r.write(ctx, Write{Op: OpTime, Hours: 0.25, Text: "Horizon smoke test " + r.marker})
	if why != "" {
		return fail(r.writesNext(), "log time as %s: %s", r.user, why)
	}
	e, ok, err := r.o.Provider.FindTimeEntry(ctx, r.ticket.ExternalID, w.Marker)
	if err != nil {
		r.stopOn(err)
		return fail(r.writesNext(), "write %d done, but reading the time entry back failed: %s", w.ID, r.describe(err))
	}
	if !ok {
		return fail(r.writesNext(), "write %d done, but the PSA shows no such time entry on ticket %s", w.ID, r.ticket.ExternalID)
	}
	if e.MemberID != r.member.ExternalID {
		return fail(r.cmd("users"), "time entry %s is logged for helpdesk user %s, not %s", e.ExternalID, e.MemberID, r.member.ExternalID)
	}
	return pass("%.2f h by %s (time entry %s), read back", e.Hours, r.member.Name, e.ExternalID)
}

// cleanup closes the test ticket directly in the PSA (so that it works
// even when write-back does not), unless --keep.
func (r *run) cleanup(ctx context.Context) outcome {
	id := r.ticket.ExternalID
	switch {
	case id == "":
		return skip("no test ticket was created")
	case r.o.Keep:
		r.rep.Left = id
		return skip("ticket %s left open (--keep)", id)
	}
	leave := func(format string, args ...any) outcome {
		r.rep.Left = id
		return fail(r.cmd("smoke")+" (then close ticket "+id+" in the PSA)",
			"ticket %s was left open: %s", id, fmt.Sprintf(format, args...))
	}
	cur, err := r.o.Provider.GetTicket(ctx, id)
	if err != nil {
		return leave("read it: %s", r.describe(err))
	}
	closed, ok := r.closeStatus(cur.Queue.ID)
	if !ok {
		return leave("no closed status on its board: set smoke.closeStatus")
	}
	got, err := r.o.Provider.UpdateTicket(ctx, id, helpdesk.TicketUpdate{StatusID: closed.ID})
	if err != nil {
		return leave("close it with status %s: %s", closed.Name, r.describe(err))
	}
	if got, err = r.o.Provider.GetTicket(ctx, id); err != nil {
		return leave("read it back: %s", r.describe(err))
	}
	if !got.Closed && got.Status.ID != closed.ID {
		return leave("the PSA shows status %s after closing", or(got.Status.Name, got.Status.ID))
	}
	if r.stored {
		// Horizon's copy follows at once, whatever the callbacks do.
		_, _ = r.o.Syncer.SyncTicket(ctx, id, store.TriggerManual)
	}
	return pass("ticket %s closed (%s)", id, closed.Name)
}

func (r *run) fileName() string { return or(r.o.File, "horizon.yaml") }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// round shortens a duration for a report.
func round(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}
