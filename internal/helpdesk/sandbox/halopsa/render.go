package halopsa

import (
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// view renders World records as Halo JSON objects, with the lookups the
// denormalised fields (client_name, user_name, who) need.
type view struct {
	s         *Server
	cat       *catalog
	companies map[int64]sandbox.Company
	contacts  map[int64]sandbox.Contact
	members   map[int64]sandbox.Member
}

func (s *Server) view() *view {
	v := &view{s: s, cat: s.catalog(), companies: map[int64]sandbox.Company{},
		contacts: map[int64]sandbox.Contact{}, members: map[int64]sandbox.Member{}}
	for _, c := range s.world.Companies() {
		v.companies[c.ID] = c
	}
	for _, c := range s.world.Contacts() {
		v.contacts[c.ID] = c
	}
	for _, m := range s.world.Members() {
		v.members[m.ID] = m
	}
	return v
}

type haloTicket struct {
	ID             int64    `json:"id"`
	Summary        string   `json:"summary"`
	Details        *string  `json:"details,omitempty"`
	ClientID       int64    `json:"client_id"`
	ClientName     string   `json:"client_name"`
	SiteID         int64    `json:"site_id"`
	SiteName       string   `json:"site_name"`
	UserID         int64    `json:"user_id"`
	UserName       string   `json:"user_name"`
	UserEmail      string   `json:"user_email"`
	TicketTypeID   int64    `json:"tickettype_id"`
	StatusID       int64    `json:"status_id"`
	PriorityID     int64    `json:"priority_id"`
	SLAID          int64    `json:"sla_id"`
	Team           string   `json:"team"`
	TeamID         int64    `json:"team_id"`
	AgentID        int64    `json:"agent_id"`
	DateOccurred   string   `json:"dateoccurred"`
	LastUpdate     string   `json:"last_update"`
	LastActionDate string   `json:"lastactiondate"`
	HasBeenClosed  bool     `json:"hasbeenclosed"`
	OnHold         bool     `json:"onhold"`
	CustomFields   []string `json:"customfields"`
}

func (v *view) ticket(t sandbox.Ticket, details bool) haloTicket {
	q, _ := v.cat.queue(t.QueueID, "")
	co, ct := v.companies[t.CompanyID], v.contacts[t.ContactID]
	out := haloTicket{ID: t.ID, Summary: t.Summary, ClientID: t.CompanyID, ClientName: co.Name,
		UserID: t.ContactID, UserName: strings.TrimSpace(ct.FirstName + " " + ct.LastName), UserEmail: ct.Email,
		TicketTypeID: v.cat.typeIDs[t.TypeID], StatusID: v.cat.statusIDs[t.StatusID], PriorityID: t.PriorityID,
		SLAID: 1, Team: q.Name, TeamID: t.QueueID, AgentID: t.AssigneeID,
		DateOccurred: v.s.timeText(t.Created), LastUpdate: v.s.timeText(t.Updated),
		LastActionDate: v.s.timeText(t.Updated), HasBeenClosed: v.cat.closed(t.StatusID), CustomFields: []string{}}
	if t.CompanyID != 0 {
		out.SiteID, out.SiteName = t.CompanyID, "Main"
	}
	if details {
		d := t.Description
		out.Details = &d
	}
	return out
}

type haloAction struct {
	ID             int64   `json:"id"`
	TicketID       int64   `json:"ticket_id"`
	Outcome        string  `json:"outcome"`
	OutcomeID      int64   `json:"outcome_id"`
	Who            string  `json:"who"`
	WhoType        int     `json:"who_type"`
	WhoAgentID     int64   `json:"who_agentid"`
	DateTime       string  `json:"datetime"`
	DateCreated    string  `json:"actiondatecreated"`
	Note           string  `json:"note"`
	NoteHTML       string  `json:"note_html"`
	TimeTaken      float64 `json:"timetaken"`
	ChargeHours    float64 `json:"actionchargehours"`
	NonChargeHours float64 `json:"actionnonchargehours"`
	HiddenFromUser bool    `json:"hiddenfromuser"`
	Important      bool    `json:"important"`
	ArrivalDate    string  `json:"actionarrivaldate,omitempty"`
	CompletionDate string  `json:"actioncompletiondate,omitempty"`
}

// outcome is an action type.
type outcome struct {
	ID   int64
	Name string
}

// Outcomes the emulated tenant has configured (GET /Outcome).
var outcomes = []outcome{{1, "Private Note"}, {2, "Public Note"}, {3, "Email User"}, {4, "Phone Call"}, {5, "Remote Session"}}

func outcomeID(name string) int64 {
	for _, o := range outcomes {
		if strings.EqualFold(o.Name, name) {
			return o.ID
		}
	}
	return 0
}

func (v *view) who(id int64) string {
	m := v.members[id]
	return strings.TrimSpace(m.FirstName + " " + m.LastName)
}

func (v *view) note(n sandbox.Note) haloAction {
	outcome := "Public Note"
	if n.Internal {
		outcome = "Private Note"
	}
	return haloAction{ID: n.ID, TicketID: n.TicketID, Outcome: outcome, OutcomeID: outcomeID(outcome),
		Who: v.who(n.AuthorID), WhoType: 1, WhoAgentID: n.AuthorID, DateTime: v.s.timeText(n.Created),
		DateCreated: v.s.timeText(n.Created), Note: n.Text, NoteHTML: "<p>" + n.Text + "</p>",
		HiddenFromUser: n.Internal}
}

func (v *view) timeEntry(te sandbox.TimeEntry) haloAction {
	a := haloAction{ID: te.ID, TicketID: te.TicketID, Outcome: "Private Note", OutcomeID: 1,
		Who: v.who(te.MemberID), WhoType: 1, WhoAgentID: te.MemberID, DateTime: v.s.timeText(te.Created),
		DateCreated: v.s.timeText(te.Created), Note: te.Notes, NoteHTML: "<p>" + te.Notes + "</p>",
		TimeTaken: te.Hours, HiddenFromUser: true,
		ArrivalDate:    v.s.timeText(te.Start),
		CompletionDate: v.s.timeText(te.Start.Add(time.Duration(te.Hours * float64(time.Hour))))}
	if te.Billable {
		a.ChargeHours = te.Hours
	} else {
		a.NonChargeHours = te.Hours
	}
	return a
}

type haloClient struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	TopLevelID int64  `json:"toplevel_id"`
	Inactive   bool   `json:"inactive"`
}

func (v *view) client(c sandbox.Company) haloClient {
	return haloClient{ID: c.ID, Name: c.Name, TopLevelID: 1, Inactive: !c.Active}
}

type haloUser struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	FirstName   string `json:"firstname"`
	Surname     string `json:"surname"`
	Email       string `json:"emailaddress"`
	Phone       string `json:"phonenumber"`
	SiteID      int64  `json:"site_id"`
	SiteName    string `json:"site_name"`
	ClientID    int64  `json:"client_id"`
	ClientName  string `json:"client_name"`
	Inactive    bool   `json:"inactive"`
	DateCreated string `json:"datecreated"`
}

func (v *view) user(c sandbox.Contact) haloUser {
	return haloUser{ID: c.ID, Name: strings.TrimSpace(c.FirstName + " " + c.LastName), FirstName: c.FirstName,
		Surname: c.LastName, Email: c.Email, Phone: c.Phone, SiteID: c.CompanyID, SiteName: "Main",
		ClientID: c.CompanyID, ClientName: v.companies[c.CompanyID].Name, Inactive: !c.Active,
		DateCreated: v.s.timeText(c.Created)}
}

type haloAgent struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Email       string   `json:"email"`
	Team        string   `json:"team"`
	IsDisabled  bool     `json:"isdisabled"`
	IsAgent     bool     `json:"is_agent"`
	Teams       []string `json:"teams"`
	Departments []string `json:"departments"`
}

func (v *view) agent(m sandbox.Member) haloAgent {
	team := ""
	if len(v.cat.queues) > 0 {
		team = v.cat.queues[0].Name
	}
	return haloAgent{ID: m.ID, Name: strings.TrimSpace(m.FirstName + " " + m.LastName), Email: m.Email,
		Team: team, IsDisabled: !m.Active, IsAgent: true, Teams: []string{}, Departments: []string{}}
}
