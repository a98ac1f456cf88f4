package sandbox

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// GenOptions sizes a generated World.
type GenOptions struct {
	Tickets int   // number of tickets (default 200)
	Seed    int64 // same seed, same data
	// Now anchors generated timestamps (default: the World's clock).
	Now time.Time
	// Clock is the World's clock after generation (nil: time.Now).
	Clock func() time.Time
	// HistoryDays spreads ticket creation over this many days before Now
	// (default 400), skewed towards recent days as real helpdesks are.
	HistoryDays int
}

// Generated picklists. Every queue gets these statuses and types; the
// priorities are global.
var (
	genStatuses   = []Status{{Name: "New", Default: true}, {Name: "In Progress"}, {Name: "Waiting Customer"}, {Name: "Scheduled"}, {Name: "Completed", Closed: true}, {Name: "Closed", Closed: true}}
	genTypes      = []string{"Incident", "Service Request", "Problem", "Change"}
	genPriorities = []string{"Priority 1 - Critical", "Priority 2 - High", "Priority 3 - Normal", "Priority 4 - Low"}
	genQueues     = []string{"Help Desk", "Projects", "Alerts", "Onboarding"}
	firstNames    = []string{"Dana", "Jane", "Omar", "Priya", "Lukas", "Mei", "Carlos", "Aisha", "Tom", "Sofia", "Ivan", "Grace", "Noah", "Elif", "Ravi", "Zoe"}
	lastNames     = []string{"Smith", "Doe", "Haddad", "Patel", "Becker", "Chen", "Garcia", "Okafor", "Brown", "Rossi", "Petrov", "Kim", "Wilson", "Yilmaz", "Nair", "Martin"}
	companyWords  = []string{"Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Hooli", "Vandelay", "Contoso", "Fabrikam"}
	companyKinds  = []string{"Corp", "Ltd", "Dental", "Legal", "Logistics", "Clinic", "Partners", "Foods"}
	problems      = []string{"Printer offline", "VPN drops every hour", "Outlook keeps asking for password", "New starter laptop", "Backup job failed", "Disk space low on server", "Cannot access shared drive", "Wi-Fi slow in meeting room", "MFA reset request", "Firewall alert", "Teams calls dropping", "Replace toner"}
	places        = []string{"on 2nd floor", "at head office", "for the finance team", "in the warehouse", "for remote users", "since this morning", "after the update", ""}
)

// Generate returns a World with a deterministic dataset: companies,
// contacts, members (one of them the integration's API user, some
// inactive), queues with statuses and types, priorities, and tickets with
// notes and time entries.
func Generate(o GenOptions) *World {
	if o.Tickets == 0 {
		o.Tickets = 200
	}
	if o.HistoryDays == 0 {
		o.HistoryDays = 400
	}
	w := NewWorld(o.Clock)
	if o.Now.IsZero() {
		o.Now = w.Now()
	}
	now := o.Now.UTC().Truncate(time.Millisecond)
	g := &gen{w: w, r: rand.New(rand.NewPCG(uint64(o.Seed), uint64(o.Seed)^0x9e3779b97f4a7c15)), now: now, days: o.HistoryDays}
	g.picklists()
	g.members()
	g.companies(max(5, o.Tickets/50))
	g.tickets(o.Tickets)
	return w
}

type gen struct {
	w    *World
	r    *rand.Rand
	now  time.Time
	days int
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// past returns a time up to days before now, skewed to recent.
func (g *gen) past(days int) time.Time {
	f := -math.Log(1-g.r.Float64()*0.99) / 4.6 // in [0,1), mostly small
	d := time.Duration(f * float64(days) * float64(24*time.Hour))
	return g.now.Add(-d).Truncate(time.Millisecond)
}

func (g *gen) between(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(g.r.Int64N(int64(b.Sub(a))))).Truncate(time.Millisecond)
}

func (g *gen) picklists() {
	w := g.w
	for i, name := range genPriorities {
		w.priorities = append(w.priorities, Value{ID: w.id(), Name: name, Sort: i, Default: i == 2})
	}
	for _, name := range genQueues {
		q := Queue{ID: w.id(), Name: name}
		for i, s := range genStatuses {
			s.ID, s.Sort = w.id(), i
			q.Statuses = append(q.Statuses, s)
		}
		for i, t := range genTypes {
			q.Types = append(q.Types, Value{ID: w.id(), Name: t, Sort: i, Default: i == 0})
		}
		w.queues = append(w.queues, q)
	}
}

func (g *gen) members() {
	w := g.w
	api := Member{ID: w.id(), Identifier: "horizon-api", FirstName: "Horizon", LastName: "API",
		Email: "horizon-api@msp.example", Active: true, APIUser: true}
	api.Created, api.Updated = g.now.Add(-500*24*time.Hour), g.now.Add(-500*24*time.Hour)
	w.members = append(w.members, api)
	for i := range 12 {
		fn, ln := firstNames[i%len(firstNames)], lastNames[(i*7)%len(lastNames)]
		m := Member{ID: w.id(), Identifier: strings.ToLower(fn[:1] + ln), FirstName: fn, LastName: ln,
			Email: strings.ToLower(fn+"."+ln) + "@msp.example", Active: i < 10}
		m.Created = g.past(g.days + 100)
		m.Updated = g.between(m.Created, g.now)
		w.members = append(w.members, m)
	}
}

func (g *gen) companies(n int) {
	w := g.w
	for i := range n {
		name := fmt.Sprintf("%s %s", companyWords[i%len(companyWords)], companyKinds[(i/len(companyWords))%len(companyKinds)])
		if i >= len(companyWords)*len(companyKinds) {
			name = fmt.Sprintf("%s %d", name, i)
		}
		c := Company{ID: w.id(), Name: name, Identifier: strings.ReplaceAll(name, " ", ""), Active: g.r.IntN(20) != 0}
		c.Created = g.past(g.days + 200)
		c.Updated = g.between(c.Created, g.now)
		w.companies = append(w.companies, c)
		for range 1 + g.r.IntN(4) {
			g.contact(c)
		}
	}
}

func (g *gen) contact(c Company) {
	fn, ln := g.pick(firstNames), g.pick(lastNames)
	k := Contact{ID: g.w.id(), CompanyID: c.ID, FirstName: fn, LastName: ln,
		Email:  strings.ToLower(fn+"."+ln) + "@" + strings.ToLower(c.Identifier) + ".example",
		Phone:  fmt.Sprintf("+1 555 %04d", g.r.IntN(10000)),
		Active: g.r.IntN(15) != 0}
	k.Created = g.between(c.Created, g.now)
	k.Updated = g.between(k.Created, g.now)
	g.w.contacts = append(g.w.contacts, k)
}

func (g *gen) tickets(n int) {
	w := g.w
	created := make([]time.Time, n)
	for i := range created {
		created[i] = g.past(g.days)
	}
	// IDs grow with creation time, as in a real PSA.
	slices.SortFunc(created, time.Time.Compare)
	humans := w.members[1:]
	contactOf := map[int64]int64{}
	for _, c := range w.contacts {
		if _, ok := contactOf[c.CompanyID]; !ok {
			contactOf[c.CompanyID] = c.ID
		}
	}
	for i := range n {
		t := g.ticket(created[i], humans)
		t.ContactID = contactOf[t.CompanyID]
		w.ticketIdx[t.ID] = len(w.tickets)
		w.tickets = append(w.tickets, t)
		g.notesAndTime(t, humans)
	}
}

func (g *gen) ticket(created time.Time, humans []Member) Ticket {
	w := g.w
	q := w.queues[g.r.IntN(len(w.queues))]
	co := w.companies[g.r.IntN(len(w.companies))]
	st := q.Statuses[g.r.IntN(len(q.Statuses))]
	t := Ticket{ID: w.id(), Summary: strings.TrimSpace(g.pick(problems) + " " + g.pick(places)),
		Description: "Reported by phone. " + g.pick(problems) + ".",
		QueueID:     q.ID, StatusID: st.ID, TypeID: q.Types[g.r.IntN(len(q.Types))].ID,
		PriorityID: w.priorities[g.r.IntN(len(w.priorities))].ID, CompanyID: co.ID,
		Created: created}
	if g.r.IntN(5) != 0 {
		t.AssigneeID = humans[g.r.IntN(len(humans))].ID
	}
	t.Updated = g.between(created, g.now)
	if t.AssigneeID != 0 {
		t.UpdatedBy = t.AssigneeID
	}
	return t
}

func (g *gen) notesAndTime(t Ticket, humans []Member) {
	w := g.w
	for range g.r.IntN(3) {
		by := humans[g.r.IntN(len(humans))].ID
		at := g.between(t.Created, t.Updated)
		w.notes[t.ID] = append(w.notes[t.ID], Note{ID: w.id(), TicketID: t.ID, Text: "Checked with the user. " + g.pick(problems) + ".",
			Internal: g.r.IntN(2) == 0, AuthorID: by, Created: at, Updated: at})
	}
	for range g.r.IntN(2) {
		by := humans[g.r.IntN(len(humans))].ID
		start := g.between(t.Created, t.Updated)
		te := TimeEntry{ID: w.id(), TicketID: t.ID, MemberID: by, Start: start,
			Hours: float64(1+g.r.IntN(8)) * 0.25, Notes: "Remote session.", Billable: g.r.IntN(4) != 0,
			Created: start, Updated: g.between(start, t.Updated)}
		w.times[t.ID] = append(w.times[t.ID], te)
		w.timeIdx[te.ID] = t.ID
	}
}
