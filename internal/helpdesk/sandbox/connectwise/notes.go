package connectwise

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

type noteView struct {
	n sandbox.Note
	s *snapshot
}

var noteFields = fieldSet[noteView]{
	"id":                    {kNumber, func(v noteView) val { return num(v.n.ID) }},
	"ticketid":              {kNumber, func(v noteView) val { return num(v.n.TicketID) }},
	"text":                  {kString, func(v noteView) val { return str(v.n.Text) }},
	"detaildescriptionflag": {kBool, func(v noteView) val { return boolean(!v.n.Internal) }},
	"internalanalysisflag":  {kBool, func(v noteView) val { return boolean(v.n.Internal) }},
	"internalflag":          {kBool, func(v noteView) val { return boolean(v.n.Internal) }},
	"member/id":             {kNumber, func(v noteView) val { return refNum(v.n.AuthorID) }},
	"datecreated":           {kTime, func(v noteView) val { return tm(v.n.Created) }},
	"lastupdated":           {kTime, func(v noteView) val { return tm(v.n.Updated) }},
	"_info/lastupdated":     {kTime, func(v noteView) val { return tm(v.n.Updated) }},
}

var noteLister = lister[noteView]{fields: noteFields, id: func(v noteView) int64 { return v.n.ID },
	render: func(v noteView) any { return v.s.note(v.n) }}

func (e *Emulator) listNotes(w http.ResponseWriter, r *http.Request, ids []int64) {
	if _, ok := e.liveTicket(w, ids[0]); !ok {
		return
	}
	s := e.snap()
	var views []noteView
	for _, n := range e.world.Notes(ids[0]) {
		views = append(views, noteView{n, s})
	}
	serveList(e, w, r, views, noteLister)
}

func (e *Emulator) getNote(w http.ResponseWriter, r *http.Request, ids []int64) {
	if _, ok := e.liveTicket(w, ids[0]); !ok {
		return
	}
	for _, n := range e.world.Notes(ids[0]) {
		if n.ID == ids[1] {
			writeJSON(w, http.StatusOK, e.snap().note(n))
			return
		}
	}
	writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Note with id %d was not found.", ids[1]))
}

var noteCreateFields = setOf("ticketId", "text", "detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag",
	"member", "internalFlag", "externalFlag", "processNotifications")

// createNote adds a note. One of detailDescriptionFlag,
// internalAnalysisFlag and resolutionFlag must be true ([I]).
func (e *Emulator) createNote(w http.ResponseWriter, r *http.Request, ids []int64) {
	if _, ok := e.liveTicket(w, ids[0]); !ok {
		return
	}
	m, berr := e.readObject(r, noteCreateFields)
	var n sandbox.Note
	if berr == nil {
		n, berr = e.newNote(ids[0], m)
	}
	if berr != nil {
		berr.write(w, "serviceNote")
		return
	}
	n, err := e.world.AddNote(n, e.actor(""))
	if err != nil {
		writeError(w, http.StatusNotFound, "NotFound", err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, e.snap().note(n))
}

func (e *Emulator) newNote(ticketID int64, m map[string]json.RawMessage) (sandbox.Note, *bodyError) {
	n := sandbox.Note{TicketID: ticketID}
	var berr *bodyError
	if n.Text, berr = stringField(m, "text"); berr != nil {
		return n, berr
	}
	if strings.TrimSpace(n.Text) == "" {
		return n, &bodyError{status: 400, code: "NullValue", msg: "text is required", field: "text"}
	}
	if tid, ok, _ := numberField(m, "ticketId"); ok && int64(tid) != ticketID {
		return n, invalidField("ticketId", "ticketId does not match the ticket in the URL")
	}
	flags := map[string]bool{}
	for _, f := range []string{"detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag", "internalFlag"} {
		if flags[f], berr = boolField(m, f); berr != nil {
			return n, berr
		}
	}
	if !flags["detailDescriptionFlag"] && !flags["internalAnalysisFlag"] && !flags["resolutionFlag"] {
		return n, invalidField("detailDescriptionFlag", "one of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true")
	}
	n.Internal = flags["internalAnalysisFlag"] || flags["internalFlag"]
	if raw, ok := m["member"]; ok && !isNull(raw) {
		ref, berr := parseRef("member", raw)
		if berr != nil {
			return n, berr
		}
		id, ok := e.snap().findMember(ref)
		if !ok {
			return n, invalidField("member", "member reference does not match an active member")
		}
		n.AuthorID = id
	}
	return n, nil
}

// timeView is a time entry with the lookups its fields need.
type timeView struct {
	te      sandbox.TimeEntry
	company int64
	s       *snapshot
}

var timeFields = fieldSet[timeView]{
	"id":                {kNumber, func(v timeView) val { return num(v.te.ID) }},
	"chargetoid":        {kNumber, func(v timeView) val { return num(v.te.TicketID) }},
	"chargetotype":      {kString, func(v timeView) val { return str("ServiceTicket") }},
	"member/id":         {kNumber, func(v timeView) val { return refNum(v.te.MemberID) }},
	"member/identifier": {kString, func(v timeView) val { m, ok := v.s.members[v.te.MemberID]; return refStr(ok, m.Identifier) }},
	"company/id":        {kNumber, func(v timeView) val { return refNum(v.company) }},
	"billableoption":    {kString, func(v timeView) val { return str(billableOption(v.te.Billable)) }},
	"timestart":         {kTime, func(v timeView) val { return tm(v.te.Start) }},
	"lastupdated":       {kTime, func(v timeView) val { return tm(v.te.Updated) }},
	"_info/lastupdated": {kTime, func(v timeView) val { return tm(v.te.Updated) }},
	"dateentered":       {kTime, func(v timeView) val { return tm(v.te.Created) }},
}

func billableOption(b bool) string {
	if b {
		return "Billable"
	}
	return "DoNotBill"
}

var timeLister = lister[timeView]{fields: timeFields, id: func(v timeView) int64 { return v.te.ID },
	render: func(v timeView) any { return v.s.timeEntry(v.te, v.company) }}

func (e *Emulator) listTimeEntries(w http.ResponseWriter, r *http.Request, _ []int64) {
	s := e.snap()
	all, _ := e.world.AllTimeEntries(nil, 0, 0, 0)
	views := make([]timeView, len(all))
	for i, te := range all {
		views[i] = timeView{te, e.ticketCompany(te.TicketID), s}
	}
	serveList(e, w, r, views, timeLister)
}

func (e *Emulator) ticketCompany(id int64) int64 {
	t, _ := e.world.Ticket(id)
	return t.CompanyID
}

func (e *Emulator) getTimeEntry(w http.ResponseWriter, r *http.Request, ids []int64) {
	te, ok := e.world.TimeEntry(ids[0])
	if t, live := e.world.Ticket(te.TicketID); !ok || !live || t.Deleted {
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Time entry with id %d was not found.", ids[0]))
		return
	}
	writeJSON(w, http.StatusOK, e.snap().timeEntry(te, e.ticketCompany(te.TicketID)))
}

var timeCreateFields = setOf("chargeToId", "chargeToType", "member", "timeStart", "timeEnd", "actualHours",
	"hoursDeduct", "notes", "internalNotes", "billableOption", "addToDetailDescriptionFlag",
	"addToInternalAnalysisFlag", "addToResolutionFlag", "emailResourceFlag", "emailContactFlag")

func (e *Emulator) createTimeEntry(w http.ResponseWriter, r *http.Request, _ []int64) {
	m, berr := e.readObject(r, timeCreateFields)
	var te sandbox.TimeEntry
	if berr == nil {
		te, berr = e.newTimeEntry(m)
	}
	if berr != nil {
		berr.write(w, "timeEntry")
		return
	}
	te, err := e.world.AddTimeEntry(te, e.actor(""))
	if err != nil {
		writeInvalid(w, "timeEntry", "chargeToId", "InvalidField", "chargeToId does not match a ticket")
		return
	}
	writeJSON(w, http.StatusCreated, e.snap().timeEntry(te, e.ticketCompany(te.TicketID)))
}

// newTimeEntry validates a create body: chargeToId, chargeToType
// (ServiceTicket only in the sandbox) and timeStart are required; hours
// come from actualHours or timeEnd and must be in (0, 24].
func (e *Emulator) newTimeEntry(m map[string]json.RawMessage) (sandbox.TimeEntry, *bodyError) {
	var te sandbox.TimeEntry
	id, ok, berr := numberField(m, "chargeToId")
	if berr != nil || !ok || id <= 0 {
		return te, firstErr(berr, &bodyError{status: 400, code: "NullValue", msg: "chargeToId is required", field: "chargeToId"})
	}
	te.TicketID = int64(id)
	if t, live := e.world.Ticket(te.TicketID); !live || t.Deleted {
		return te, invalidField("chargeToId", "chargeToId %d does not match a service ticket", te.TicketID)
	}
	if ct, _ := stringField(m, "chargeToType"); ct != "ServiceTicket" {
		return te, invalidField("chargeToType", "chargeToType %q: the sandbox supports ServiceTicket", ct)
	}
	if berr = e.timeSpan(m, &te); berr != nil {
		return te, berr
	}
	if te.Notes, berr = stringField(m, "notes"); berr != nil {
		return te, berr
	}
	return te, e.timeMemberBilling(m, &te)
}

func (e *Emulator) timeSpan(m map[string]json.RawMessage, te *sandbox.TimeEntry) *bodyError {
	start, berr := timeField(m, "timeStart")
	if berr != nil || start.IsZero() {
		return firstErr(berr, &bodyError{status: 400, code: "NullValue", msg: "timeStart is required", field: "timeStart"})
	}
	end, berr := timeField(m, "timeEnd")
	if berr != nil {
		return berr
	}
	hours, given, berr := numberField(m, "actualHours")
	if berr != nil {
		return berr
	}
	if !given && !end.IsZero() {
		hours = end.Sub(start).Hours()
	}
	if hours <= 0 || hours > 24 || (!end.IsZero() && end.Before(start)) {
		return invalidField("timeEnd", "time entry must last more than 0 and at most 24 hours")
	}
	te.Start, te.Hours = start, float64(time.Duration(hours*float64(time.Hour)).Round(time.Second))/float64(time.Hour)
	return nil
}

func (e *Emulator) timeMemberBilling(m map[string]json.RawMessage, te *sandbox.TimeEntry) *bodyError {
	opt, berr := stringField(m, "billableOption")
	if berr != nil {
		return berr
	}
	switch opt {
	case "", "Billable", "DoNotBill", "NoCharge", "NoDefault":
		te.Billable = opt == "Billable"
	default:
		return invalidField("billableOption", "billableOption %q: want Billable, DoNotBill, NoCharge or NoDefault", opt)
	}
	if raw, ok := m["member"]; ok && !isNull(raw) {
		ref, berr := parseRef("member", raw)
		if berr != nil {
			return berr
		}
		id, ok := e.snap().findMember(ref)
		if !ok {
			return invalidField("member", "member reference does not match an active member")
		}
		te.MemberID = id
	}
	return nil
}

func firstErr(a, b *bodyError) *bodyError {
	if a != nil {
		return a
	}
	return b
}
