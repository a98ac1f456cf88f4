package writeback_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/account"
	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/connectwise"
	_ "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
	zdemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
	"github.com/horizon/reconciler/internal/syncer"
	"github.com/horizon/reconciler/internal/writeback"
)

// psa is one sandbox PSA with an account wired to it: the store synced,
// Jane mapped to the World's first technician and Bob to the second,
// Old Timer to an inactive one.
type psa struct {
	t      testing.TB
	name   string
	world  *sandbox.World
	faults *sandbox.Faults
	acct   *account.Account
	st     store.Store
	head   string // the file up to the helpdesk block
	rate   float64
	jane   sandbox.Member
	bob    sandbox.Member
}

const writebackTail = `
sync:
  entities: [tickets, timeEntries]
  ingestWindow: 1825d
writeback:
  unmappedAuthor: refuse
`

func newPSA(t testing.TB, provider string, rate float64, tail string) *psa {
	t.Helper()
	ctx := t.Context()
	world := sandbox.Generate(sandbox.GenOptions{Tickets: 30, Seed: 5})
	faults := sandbox.NewFaults(5)
	em, err := sandbox.New(provider, sandbox.Options{World: world, Faults: faults})
	must(t, err)
	t.Cleanup(em.Close)
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	for k, v := range em.Env() {
		t.Setenv(k, v)
	}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	p := &psa{t: t, name: provider, world: world, faults: faults, st: st, rate: rate,
		head: "apiVersion: horizon/v1\naccount: {name: wb}\n" + em.ConfigFragment(srv.URL)}
	p.reconfigure(tail)
	if _, err := p.acct.Syncer.Sync(ctx, syncer.SyncOptions{}); err != nil {
		t.Fatalf("sync: %v", err)
	}
	var humans, inactive []sandbox.Member
	for _, m := range world.Members() {
		switch {
		case m.APIUser:
		case m.Active:
			humans = append(humans, m)
		default:
			inactive = append(inactive, m)
		}
	}
	p.jane, p.bob = humans[0], humans[1]
	p.mapUser(p.jane, "jane@horizon.example")
	p.mapUser(p.bob, "bob@horizon.example")
	p.mapUser(inactive[0], "old@horizon.example")
	return p
}

// reconfigure builds the account afresh from the file with tail, on the
// same store and PSA (a reload of horizon.yaml).
func (p *psa) reconfigure(tail string) {
	p.t.Helper()
	cfg, diags := config.Parse("horizon.yaml", []byte(p.head+tail), config.LoadOptions{})
	if cfg == nil {
		p.t.Fatalf("config: %v", diags)
	}
	a, err := account.New(p.t.Context(), cfg, account.Options{Store: p.st, RatePerSecond: p.rate, Logger: slog.New(slog.DiscardHandler)})
	must(p.t, err)
	p.acct = a
}

// mapUser maps a World member, as synced into the store, to a Horizon user.
func (p *psa) mapUser(m sandbox.Member, user string) {
	p.t.Helper()
	ms, err := p.acct.Store.Members(p.t.Context(), p.acct.Scope)
	must(p.t, err)
	for _, sm := range ms {
		if m.Email != "" && strings.EqualFold(sm.Email, m.Email) || sm.Identifier != "" && sm.Identifier == m.Identifier {
			must(p.t, p.acct.Store.SetUserMapping(p.t.Context(), p.acct.Scope, store.UserMapping{HelpdeskUserID: sm.ExternalID, HorizonUser: user}))
			return
		}
	}
	p.t.Fatalf("member %s (%s) not synced", m.Identifier, m.Email)
}

// wire is a World ID as the provider's API writes it.
func (p *psa) wire(id int64) string {
	if p.name == helpdesk.ZohoDesk {
		return zdemu.WireID(id)
	}
	return strconv.FormatInt(id, 10)
}

// openTicket returns an open World ticket the store holds.
func (p *psa) openTicket(skip int) sandbox.Ticket {
	p.t.Helper()
	for tk, err := range p.acct.Store.Tickets(p.t.Context(), p.acct.Scope) {
		must(p.t, err)
		id := zdemu.WorldID(tk.ExternalID)
		if p.name != helpdesk.ZohoDesk {
			id, _ = strconv.ParseInt(tk.ExternalID, 10, 64)
		}
		if wt, ok := p.world.Ticket(id); ok && !tk.Closed && !wt.Deleted {
			if skip == 0 {
				return wt
			}
			skip--
		}
	}
	p.t.Fatal("no open ticket in the store")
	return sandbox.Ticket{}
}

// deliver enqueues r and delivers it, returning the final write.
func (p *psa) deliver(r writeback.Request) store.Write {
	p.t.Helper()
	w, _, err := p.acct.Writeback.Enqueue(p.t.Context(), r)
	if err != nil {
		p.t.Fatalf("enqueue %s: %v", r.Op, err)
	}
	ctx, cancel := context.WithTimeout(p.t.Context(), time.Minute)
	defer cancel()
	w, err = p.acct.Writeback.RunUntil(ctx, w.ID)
	must(p.t, err)
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func requireDone(t *testing.T, w store.Write) {
	t.Helper()
	if w.State != store.WriteDone {
		t.Fatalf("write %s: %s after %d attempt(s): %s", w.Op, w.State, w.Attempts, w.Answer)
	}
}

// TestSandboxWrites runs every operation against each PSA's sandbox, and
// checks what the PSA holds afterwards: attribution to the mapped member
// (Zoho Desk: the token's agent, with the author's name in the text),
// status by name, assignment, the refusals.
func TestSandboxWrites(t *testing.T) {
	for _, provider := range helpdesk.Providers {
		t.Run(provider, func(t *testing.T) {
			p := newPSA(t, provider, -1, writebackTail)
			t.Run("note", func(t *testing.T) {
				tk := p.openTicket(0)
				w := p.deliver(writeback.Request{Op: store.OpAddNote, TicketID: p.wire(tk.ID), Author: "jane@horizon.example",
					Note: &writeback.AddNote{Text: "Called the client", Internal: true}})
				requireDone(t, w)
				notes := p.world.Notes(tk.ID)
				n := notes[len(notes)-1]
				if !strings.Contains(n.Text, "Called the client") {
					t.Fatalf("newest note %q", n.Text)
				}
				if provider == helpdesk.ZohoDesk {
					if !strings.Contains(n.Text, w.MemberName) {
						t.Errorf("Zoho Desk note %q lacks the author's name %q", n.Text, w.MemberName)
					}
				} else if n.AuthorID != p.jane.ID {
					t.Errorf("note author %d, want Jane's member %d", n.AuthorID, p.jane.ID)
				}
				stored, err := p.acct.Store.Notes(t.Context(), p.acct.Scope, p.wire(tk.ID))
				must(t, err)
				if len(stored) == 0 || stored[len(stored)-1].ExternalID != w.ResultID {
					t.Errorf("the store lacks note %s: %+v", w.ResultID, stored)
				}
			})
			t.Run("time entry", func(t *testing.T) {
				tk := p.openTicket(1)
				w := p.deliver(writeback.Request{Op: store.OpAddTime, TicketID: p.wire(tk.ID), Author: "jane@horizon.example",
					Time: &writeback.AddTime{Hours: 1.5, Start: p.world.Now().Add(-2 * time.Hour), Notes: "On site"}})
				requireDone(t, w)
				tes := p.world.TimeEntries(tk.ID)
				te := tes[len(tes)-1]
				if te.Hours != 1.5 || te.MemberID != p.jane.ID {
					t.Errorf("time entry %+v, want 1.5 h for member %d", te, p.jane.ID)
				}
			})
			t.Run("status by name and assignee", func(t *testing.T) {
				tk := p.openTicket(2)
				status := otherStatus(t, p, tk)
				w := p.deliver(writeback.Request{Op: store.OpUpdateTicket, TicketID: p.wire(tk.ID), Author: "jane@horizon.example",
					Update: &writeback.UpdateTicket{Status: status.Name, Assignee: "bob@horizon.example"}})
				requireDone(t, w)
				got, _ := p.world.Ticket(tk.ID)
				if got.AssigneeID != p.bob.ID || got.StatusID == tk.StatusID {
					t.Errorf("ticket after update: status %d (was %d), assignee %d; want status %q and Bob %d",
						got.StatusID, tk.StatusID, got.AssigneeID, status.Name, p.bob.ID)
				}
				st, err := p.acct.Store.Ticket(t.Context(), p.acct.Scope, p.wire(tk.ID))
				must(t, err)
				if st.AssigneeID == "" || st.Status.ID != status.ID {
					t.Errorf("store's ticket %+v: want the PSA's answer at once", st)
				}
			})
			t.Run("create", func(t *testing.T) {
				company, queue := p.companyAndQueue()
				w := p.deliver(writeback.Request{Op: store.OpCreateTicket, Author: "jane@horizon.example",
					Create: &writeback.CreateTicket{Summary: "Printer on fire", Description: "Third floor", Company: company, Queue: queue}})
				requireDone(t, w)
				if _, err := p.acct.Store.Ticket(t.Context(), p.acct.Scope, w.ResultID); err != nil {
					t.Errorf("created ticket %s not stored: %v", w.ResultID, err)
				}
			})
			t.Run("refusals", func(t *testing.T) {
				tk := p.openTicket(3)
				id := p.wire(tk.ID)
				refused := []struct {
					name string
					r    writeback.Request
					want string
				}{
					{"unknown status", writeback.Request{Op: store.OpUpdateTicket, TicketID: id, Author: "jane@horizon.example",
						Update: &writeback.UpdateTicket{Status: "No Such Status"}}, `unknown status "No Such Status"`},
					{"unmapped author", writeback.Request{Op: store.OpAddNote, TicketID: id, Author: "eve@horizon.example",
						Note: &writeback.AddNote{Text: "x"}}, "no helpdesk user is mapped"},
					{"inactive assignee", writeback.Request{Op: store.OpUpdateTicket, TicketID: id, Author: "jane@horizon.example",
						Update: &writeback.UpdateTicket{Assignee: "old@horizon.example"}}, "inactive"},
				}
				for _, c := range refused {
					if _, _, err := p.acct.Writeback.Enqueue(t.Context(), c.r); err == nil || !strings.Contains(err.Error(), c.want) {
						t.Errorf("%s: %v, want %q", c.name, err, c.want)
					}
				}
			})
			t.Run("deleted ticket", func(t *testing.T) {
				tk := p.openTicket(4)
				before := len(p.world.Notes(tk.ID))
				must(t, p.world.DeleteTicket(tk.ID, sandbox.UI(p.bob.ID)))
				w := p.deliver(writeback.Request{Op: store.OpAddNote, TicketID: p.wire(tk.ID), Author: "jane@horizon.example",
					Note: &writeback.AddNote{Text: "Too late"}})
				if w.State != store.WriteFailed || !strings.Contains(w.Answer, "ticket") {
					t.Errorf("note on a deleted ticket: %s: %s", w.State, w.Answer)
				}
				if n := len(p.world.Notes(tk.ID)); n != before {
					t.Errorf("%d notes on the deleted ticket, want %d", n, before)
				}
			})
		})
	}
}

// companyAndQueue returns an active company's external ID and a queue (or
// department) name from the store, for a new ticket.
func (p *psa) companyAndQueue() (company, queue string) {
	p.t.Helper()
	for _, c := range p.world.Companies() {
		if c.Active {
			company = p.wire(c.ID)
			break
		}
	}
	pls, _, err := p.acct.Store.Picklists(p.t.Context(), p.acct.Scope)
	must(p.t, err)
	for _, pl := range pls {
		if (pl.Kind == helpdesk.PicklistQueue || pl.Kind == helpdesk.PicklistDepartment) && len(pl.Values) > 0 {
			return company, pl.Values[0].Name
		}
	}
	return company, ""
}

// otherStatus returns an active status of the ticket's board, from the
// store's picklist database, other than the ticket's own.
func otherStatus(t *testing.T, p *psa, tk sandbox.Ticket) helpdesk.PicklistValue {
	t.Helper()
	st, err := p.acct.Store.Ticket(t.Context(), p.acct.Scope, p.wire(tk.ID))
	must(t, err)
	pls, _, err := p.acct.Store.Picklists(t.Context(), p.acct.Scope)
	must(t, err)
	for _, pl := range pls {
		if pl.Kind != helpdesk.PicklistStatus || pl.Scope != "" && pl.ScopeID != st.Queue.ID && pl.Scope != st.Queue.Name {
			continue
		}
		for _, v := range pl.Values {
			if v.Active && !v.Closed && v.ID != st.Status.ID {
				return v
			}
		}
	}
	t.Fatalf("no other status for ticket %s on board %+v", st.ExternalID, st.Queue)
	return helpdesk.PicklistValue{}
}

// TestSandboxOrderAndSuspend: notes to one ticket reach the PSA in the
// order they were asked for while four workers run; suspend: true holds
// writes (pending, never attempted) until a reload lifts it.
func TestSandboxOrderAndSuspend(t *testing.T) {
	p := newPSA(t, helpdesk.HaloPSA, -1, writebackTail)
	a, b := p.openTicket(0), p.openTicket(1)
	var last store.Write
	for i := range 12 {
		tk := a
		if i%3 == 2 {
			tk = b
		}
		w, _, err := p.acct.Writeback.Enqueue(t.Context(), writeback.Request{Op: store.OpAddNote, TicketID: p.wire(tk.ID),
			Author: "jane@horizon.example", Note: &writeback.AddNote{Text: fmt.Sprintf("step %02d", i)}})
		must(t, err)
		last = w
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	w, err := p.acct.Writeback.RunUntil(ctx, last.ID)
	must(t, err)
	requireDone(t, w)
	for _, tk := range []sandbox.Ticket{a, b} {
		prev := ""
		for _, n := range p.world.Notes(tk.ID) {
			if strings.HasPrefix(n.Text, "step ") {
				if n.Text[:7] <= prev {
					t.Errorf("ticket %d: %q after %q", tk.ID, n.Text[:7], prev)
				}
				prev = n.Text[:7]
			}
		}
	}

	p.reconfigure("suspend: true\n" + writebackTail)
	held, _, err := p.acct.Writeback.Enqueue(t.Context(), writeback.Request{Op: store.OpAddNote, TicketID: p.wire(a.ID),
		Author: "jane@horizon.example", Note: &writeback.AddNote{Text: "held"}})
	must(t, err)
	short, cancelShort := context.WithTimeout(t.Context(), 300*time.Millisecond)
	w, err = p.acct.Writeback.RunUntil(short, held.ID)
	cancelShort()
	if err == nil || w.State != store.WritePending || w.Attempts != 0 {
		t.Fatalf("suspended: %+v (%v), want pending and never attempted", w, err)
	}
	p.reconfigure(writebackTail)
	resumed, cancelResumed := context.WithTimeout(t.Context(), 2*time.Minute) // its own budget: a slow first half must not eat it
	defer cancelResumed()
	w, err = p.acct.Writeback.RunUntil(resumed, held.ID)
	must(t, err)
	requireDone(t, w)
}

// TestSandboxFaults: a 429 or a 5xx before the PSA applied a note, and an
// answer lost after it did, all end with the note delivered exactly once.
func TestSandboxFaults(t *testing.T) {
	faults := []struct {
		name string
		set  sandbox.WriteFaultSettings
	}{
		{"429", sandbox.WriteFaultSettings{RateLimit: 1}},
		{"5xx", sandbox.WriteFaultSettings{ServerError: 1}},
		{"lost answer", sandbox.WriteFaultSettings{LoseAnswer: 1}},
	}
	for _, provider := range helpdesk.Providers {
		t.Run(provider, func(t *testing.T) {
			p := newPSA(t, provider, -1, writebackTail)
			// The account's engine, with retries in milliseconds.
			e, err := writeback.New(writeback.Options{Store: p.st, Scope: p.acct.Scope, Provider: p.acct.Provider,
				Config: p.acct.Config, Backoff: func(int) time.Duration { return 10 * time.Millisecond },
				Logger: slog.New(slog.DiscardHandler)})
			must(t, err)
			for i, f := range faults {
				t.Run(f.name, func(t *testing.T) {
					tk := p.openTicket(i)
					text := fmt.Sprintf("After a %s (%s)", f.name, provider)
					p.faults.SetWrites(f.set)
					w, _, err := e.Enqueue(t.Context(), writeback.Request{Op: store.OpAddNote, TicketID: p.wire(tk.ID),
						Author: "jane@horizon.example", Note: &writeback.AddNote{Text: text}})
					must(t, err)
					ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
					defer cancel()
					w, err = e.RunUntil(ctx, w.ID)
					must(t, err)
					requireDone(t, w)
					n := 0
					for _, note := range p.world.Notes(tk.ID) {
						if strings.Contains(note.Text, text) {
							n++
						}
					}
					if n != 1 {
						t.Errorf("%d notes %q in the PSA, want exactly 1 (write: %d attempts, %s)", n, text, w.Attempts, w.Answer)
					}
				})
			}
		})
	}
}
