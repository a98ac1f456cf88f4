package connectwise

import (
	"fmt"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// cwTime renders a datetime as CW does: UTC, Z, no fractional seconds.
func cwTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// refJSON is CW's reference sub-object.
type refJSON struct {
	ID         int64             `json:"id"`
	Identifier string            `json:"identifier,omitempty"`
	Name       string            `json:"name,omitempty"`
	Sort       *int              `json:"sort,omitempty"`
	Level      string            `json:"level,omitempty"`
	Info       map[string]string `json:"_info,omitempty"`
}

// statusAt locates a status and its board.
type statusAt struct {
	sandbox.Status
	board int64
}

// snapshot is a consistent view of the World's lookups for one request.
type snapshot struct {
	base      string // href prefix: base/codebase/apis/3.0
	queues    map[int64]sandbox.Queue
	statuses  map[int64]statusAt
	types     map[int64]sandbox.Value
	prios     map[int64]sandbox.Value
	members   map[int64]sandbox.Member
	companies map[int64]sandbox.Company
	contacts  map[int64]sandbox.Contact
}

func (e *Emulator) snap() *snapshot {
	w := e.world
	s := &snapshot{base: e.baseURL() + "/" + e.Settings().Codebase + "apis/3.0",
		queues: map[int64]sandbox.Queue{}, statuses: map[int64]statusAt{}, types: map[int64]sandbox.Value{},
		prios: map[int64]sandbox.Value{}, members: map[int64]sandbox.Member{},
		companies: map[int64]sandbox.Company{}, contacts: map[int64]sandbox.Contact{}}
	for _, q := range w.Queues() {
		s.queues[q.ID] = q
		for _, st := range q.Statuses {
			s.statuses[st.ID] = statusAt{st, q.ID}
		}
		for _, t := range q.Types {
			s.types[t.ID] = t
		}
	}
	for _, p := range w.Priorities() {
		s.prios[p.ID] = p
	}
	for _, m := range w.Members() {
		s.members[m.ID] = m
	}
	for _, c := range w.Companies() {
		s.companies[c.ID] = c
	}
	for _, c := range w.Contacts() {
		s.contacts[c.ID] = c
	}
	return s
}

func (s *snapshot) href(kind, path string) map[string]string {
	return map[string]string{kind + "_href": s.base + path}
}

func (s *snapshot) boardRef(id int64) *refJSON {
	q, ok := s.queues[id]
	if !ok {
		return nil
	}
	return &refJSON{ID: id, Name: q.Name, Info: s.href("board", fmt.Sprintf("/service/boards/%d", id))}
}

func (s *snapshot) statusRef(id int64) *refJSON {
	st, ok := s.statuses[id]
	if !ok {
		return nil
	}
	sort := st.Sort
	return &refJSON{ID: id, Name: st.Name, Sort: &sort,
		Info: s.href("status", fmt.Sprintf("/service/boards/%d/statuses/%d", st.board, id))}
}

func (s *snapshot) memberRef(id int64) *refJSON {
	m, ok := s.members[id]
	if !ok {
		return nil
	}
	return &refJSON{ID: id, Identifier: m.Identifier, Name: m.FirstName + " " + m.LastName,
		Info: s.href("member", fmt.Sprintf("/system/members/%d", id))}
}

func (s *snapshot) companyRef(id int64) *refJSON {
	c, ok := s.companies[id]
	if !ok {
		return nil
	}
	return &refJSON{ID: id, Identifier: c.Identifier, Name: c.Name,
		Info: s.href("company", fmt.Sprintf("/company/companies/%d", id))}
}

func (s *snapshot) contactRef(id int64) *refJSON {
	c, ok := s.contacts[id]
	if !ok {
		return nil
	}
	return &refJSON{ID: id, Name: c.FirstName + " " + c.LastName,
		Info: s.href("contact", fmt.Sprintf("/company/contacts/%d", id))}
}

func (s *snapshot) priorityRef(id int64) *refJSON {
	p, ok := s.prios[id]
	if !ok {
		return nil
	}
	sort := p.Sort
	return &refJSON{ID: id, Name: p.Name, Sort: &sort, Level: fmt.Sprintf("Priority %d", p.Sort+1),
		Info: s.href("priority", fmt.Sprintf("/service/priorities/%d", id))}
}

func (s *snapshot) typeRef(id int64) *refJSON {
	t, ok := s.types[id]
	if !ok {
		return nil
	}
	return &refJSON{ID: id, Name: t.Name}
}

// identifier returns a member's login name, or the API member's when the
// change came from the PSA itself.
func (s *snapshot) identifier(id int64) string {
	if m, ok := s.members[id]; ok {
		return m.Identifier
	}
	return "PSA"
}

func (s *snapshot) info(updated, created time.Time, by int64) map[string]string {
	return map[string]string{"lastUpdated": cwTime(updated), "updatedBy": s.identifier(by),
		"dateEntered": cwTime(created), "enteredBy": s.identifier(by)}
}

// ticketJSON is a service ticket as GET /service/tickets/{id} returns it.
type ticketJSON struct {
	ID                 int64             `json:"id"`
	Summary            string            `json:"summary"`
	RecordType         string            `json:"recordType"`
	Board              *refJSON          `json:"board"`
	Status             *refJSON          `json:"status"`
	Company            *refJSON          `json:"company"`
	Contact            *refJSON          `json:"contact,omitempty"`
	ContactName        string            `json:"contactName,omitempty"`
	ContactEmail       string            `json:"contactEmailAddress,omitempty"`
	Type               *refJSON          `json:"type,omitempty"`
	Priority           *refJSON          `json:"priority"`
	Owner              *refJSON          `json:"owner,omitempty"`
	Severity           string            `json:"severity"`
	Impact             string            `json:"impact"`
	InitialDescription string            `json:"initialDescription,omitempty"`
	ExternalXRef       string            `json:"externalXRef,omitempty"`
	ClosedFlag         bool              `json:"closedFlag"`
	CustomFields       []any             `json:"customFields"`
	Info               map[string]string `json:"_info"`
}

func (s *snapshot) ticket(t sandbox.Ticket) ticketJSON {
	j := ticketJSON{ID: t.ID, Summary: t.Summary, RecordType: "ServiceTicket", Board: s.boardRef(t.QueueID),
		Status: s.statusRef(t.StatusID), Company: s.companyRef(t.CompanyID), Contact: s.contactRef(t.ContactID),
		Type: s.typeRef(t.TypeID), Priority: s.priorityRef(t.PriorityID), Owner: s.memberRef(t.AssigneeID),
		Severity: "Medium", Impact: "Medium", InitialDescription: t.Description, CustomFields: []any{},
		ExternalXRef: t.ExternalRef,
		ClosedFlag:   s.statuses[t.StatusID].Closed, Info: s.info(t.Updated, t.Created, t.UpdatedBy)}
	if c, ok := s.contacts[t.ContactID]; ok {
		j.ContactName, j.ContactEmail = c.FirstName+" "+c.LastName, c.Email
	}
	j.Info["notes_href"] = s.base + fmt.Sprintf("/service/tickets/%d/notes", t.ID)
	return j
}

// noteJSON is a ServiceNote.
type noteJSON struct {
	ID                    int64             `json:"id"`
	TicketID              int64             `json:"ticketId"`
	Text                  string            `json:"text"`
	DetailDescriptionFlag bool              `json:"detailDescriptionFlag"`
	InternalAnalysisFlag  bool              `json:"internalAnalysisFlag"`
	ResolutionFlag        bool              `json:"resolutionFlag"`
	IssueFlag             bool              `json:"issueFlag"`
	Member                *refJSON          `json:"member,omitempty"`
	CustomerUpdatedFlag   bool              `json:"customerUpdatedFlag"`
	ProcessNotifications  bool              `json:"processNotifications"`
	DateCreated           string            `json:"dateCreated"`
	CreatedBy             string            `json:"createdBy"`
	InternalFlag          bool              `json:"internalFlag"`
	ExternalFlag          bool              `json:"externalFlag"`
	Info                  map[string]string `json:"_info"`
}

func (s *snapshot) note(n sandbox.Note) noteJSON {
	return noteJSON{ID: n.ID, TicketID: n.TicketID, Text: n.Text, DetailDescriptionFlag: !n.Internal,
		InternalAnalysisFlag: n.Internal, Member: s.memberRef(n.AuthorID), DateCreated: cwTime(n.Created),
		CreatedBy: s.identifier(n.AuthorID), InternalFlag: n.Internal, ExternalFlag: !n.Internal,
		Info: map[string]string{"lastUpdated": cwTime(n.Updated), "updatedBy": s.identifier(n.AuthorID)}}
}

// timeJSON is a time entry.
type timeJSON struct {
	ID             int64             `json:"id"`
	Company        *refJSON          `json:"company,omitempty"`
	ChargeToID     int64             `json:"chargeToId"`
	ChargeToType   string            `json:"chargeToType"`
	Member         *refJSON          `json:"member,omitempty"`
	TimeStart      string            `json:"timeStart"`
	TimeEnd        string            `json:"timeEnd"`
	HoursDeduct    float64           `json:"hoursDeduct"`
	ActualHours    float64           `json:"actualHours"`
	BillableOption string            `json:"billableOption"`
	Notes          string            `json:"notes"`
	Ticket         *refJSON          `json:"ticket,omitempty"`
	Status         string            `json:"status"`
	DateEntered    string            `json:"dateEntered"`
	Info           map[string]string `json:"_info"`
}

func (s *snapshot) timeEntry(te sandbox.TimeEntry, companyID int64) timeJSON {
	billable := "DoNotBill"
	if te.Billable {
		billable = "Billable"
	}
	end := te.Start.Add(time.Duration(te.Hours * float64(time.Hour)))
	return timeJSON{ID: te.ID, Company: s.companyRef(companyID), ChargeToID: te.TicketID, ChargeToType: "ServiceTicket",
		Member: s.memberRef(te.MemberID), TimeStart: cwTime(te.Start), TimeEnd: cwTime(end), ActualHours: te.Hours,
		BillableOption: billable, Notes: te.Notes, Status: "Open", DateEntered: cwTime(te.Created),
		Ticket: &refJSON{ID: te.TicketID, Info: s.href("ticket", fmt.Sprintf("/service/tickets/%d", te.TicketID))},
		Info:   s.info(te.Updated, te.Created, te.MemberID)}
}

// contactJSON is a company contact.
type contactJSON struct {
	ID                 int64             `json:"id"`
	FirstName          string            `json:"firstName"`
	LastName           string            `json:"lastName"`
	Company            *refJSON          `json:"company,omitempty"`
	InactiveFlag       bool              `json:"inactiveFlag"`
	DefaultPhoneNbr    string            `json:"defaultPhoneNbr,omitempty"`
	CommunicationItems []commJSON        `json:"communicationItems"`
	Types              []any             `json:"types"`
	CustomFields       []any             `json:"customFields"`
	Info               map[string]string `json:"_info"`
}

// commJSON is a contact's communication item.
type commJSON struct {
	ID                int64   `json:"id"`
	Type              refJSON `json:"type"`
	Value             string  `json:"value"`
	DefaultFlag       bool    `json:"defaultFlag"`
	CommunicationType string  `json:"communicationType"`
}

func (s *snapshot) contact(c sandbox.Contact) contactJSON {
	j := contactJSON{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Company: s.companyRef(c.CompanyID),
		InactiveFlag: !c.Active, DefaultPhoneNbr: digits(c.Phone), CommunicationItems: []commJSON{},
		Types: []any{}, CustomFields: []any{}, Info: s.info(c.Updated, c.Created, 0)}
	if c.Email != "" {
		j.CommunicationItems = append(j.CommunicationItems, commJSON{ID: 1, Type: refJSON{ID: 1, Name: "Email"},
			Value: c.Email, DefaultFlag: true, CommunicationType: "Email"})
	}
	if c.Phone != "" {
		j.CommunicationItems = append(j.CommunicationItems, commJSON{ID: 2, Type: refJSON{ID: 2, Name: "Direct"},
			Value: c.Phone, DefaultFlag: true, CommunicationType: "Phone"})
	}
	return j
}

// companyJSON is a customer company.
type companyJSON struct {
	ID          int64             `json:"id"`
	Identifier  string            `json:"identifier"`
	Name        string            `json:"name"`
	Status      refJSON           `json:"status"`
	Types       []any             `json:"types"`
	DeletedFlag bool              `json:"deletedFlag"`
	Info        map[string]string `json:"_info"`
}

func (s *snapshot) company(c sandbox.Company) companyJSON {
	st := refJSON{ID: 1, Name: "Active"}
	if !c.Active {
		st = refJSON{ID: 2, Name: "Inactive"}
	}
	return companyJSON{ID: c.ID, Identifier: c.Identifier, Name: c.Name, Status: st, Types: []any{},
		Info: s.info(c.Updated, c.Created, 0)}
}

// memberJSON is a system member.
type memberJSON struct {
	ID           int64             `json:"id"`
	Identifier   string            `json:"identifier"`
	FirstName    string            `json:"firstName"`
	LastName     string            `json:"lastName"`
	PrimaryEmail string            `json:"primaryEmail"`
	DefaultEmail string            `json:"defaultEmail"`
	InactiveFlag bool              `json:"inactiveFlag"`
	LicenseClass string            `json:"licenseClass"`
	Info         map[string]string `json:"_info"`
}

func (s *snapshot) member(m sandbox.Member) memberJSON {
	class := "F"
	if m.APIUser {
		class = "A"
	}
	return memberJSON{ID: m.ID, Identifier: m.Identifier, FirstName: m.FirstName, LastName: m.LastName,
		PrimaryEmail: m.Email, DefaultEmail: "Office", InactiveFlag: !m.Active, LicenseClass: class,
		Info: s.info(m.Updated, m.Created, 0)}
}

// digits keeps the digits of a phone number, as defaultPhoneNbr holds it.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
