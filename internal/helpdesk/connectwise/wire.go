package connectwise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ref is ConnectWise's reference sub-object: {"id":N,"name":"...",
// "identifier":"...","_info":{...}}.
type ref struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
}

// idRef is the body of a reference replaced in a PATCH or set on a POST.
type idRef struct {
	ID int64 `json:"id"`
}

// refID returns r's id as a string, "" when r is nil or zero.
func refID(r *ref) string {
	if r == nil {
		return ""
	}
	return idString(r.ID)
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// parseID reads a Horizon external ID as a ConnectWise int id.
func parseID(kind, s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s id %q is not a ConnectWise record id", kind, s)
	}
	return id, nil
}

// info is the _info block every record carries.
type info struct {
	LastUpdated cwTimestamp `json:"lastUpdated"`
	DateEntered cwTimestamp `json:"dateEntered"`
	UpdatedBy   string      `json:"updatedBy"`
	EnteredBy   string      `json:"enteredBy"`
}

// cwTimestamp reads ConnectWise datetimes loosely: RFC 3339 with or
// without fractional seconds, or without a zone (read as UTC); null and ""
// are zero.
type cwTimestamp struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *cwTimestamp) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("datetime: %w", err)
	}
	v, err := parseTime(s)
	t.Time = v
	return err
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"}

// parseTime parses a ConnectWise datetime into UTC; "" is zero.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("datetime %q not understood", s)
}

// ticketWire is the part of a service ticket Horizon reads.
type ticketWire struct {
	ID                 int64       `json:"id"`
	Summary            string      `json:"summary"`
	InitialDescription string      `json:"initialDescription"`
	Board              *ref        `json:"board"`
	Status             *ref        `json:"status"`
	Company            *ref        `json:"company"`
	Contact            *ref        `json:"contact"`
	Type               *ref        `json:"type"`
	Priority           *ref        `json:"priority"`
	Owner              *ref        `json:"owner"`
	ClosedFlag         bool        `json:"closedFlag"`
	DateEntered        cwTimestamp `json:"dateEntered"`
	Info               info        `json:"_info"`
}

// noteWire is a ServiceNote.
type noteWire struct {
	ID                    int64       `json:"id"`
	TicketID              int64       `json:"ticketId"`
	Text                  string      `json:"text"`
	DetailDescriptionFlag bool        `json:"detailDescriptionFlag"`
	InternalAnalysisFlag  bool        `json:"internalAnalysisFlag"`
	ResolutionFlag        bool        `json:"resolutionFlag"`
	InternalFlag          bool        `json:"internalFlag"`
	Member                *ref        `json:"member"`
	DateCreated           cwTimestamp `json:"dateCreated"`
	Info                  info        `json:"_info"`
}

// timeWire is a time entry.
type timeWire struct {
	ID             int64       `json:"id"`
	ChargeToID     int64       `json:"chargeToId"`
	ChargeToType   string      `json:"chargeToType"`
	Member         *ref        `json:"member"`
	TimeStart      cwTimestamp `json:"timeStart"`
	TimeEnd        cwTimestamp `json:"timeEnd"`
	ActualHours    float64     `json:"actualHours"`
	Notes          string      `json:"notes"`
	BillableOption string      `json:"billableOption"`
	Info           info        `json:"_info"`
}

// memberWire is a system member.
type memberWire struct {
	ID           int64  `json:"id"`
	Identifier   string `json:"identifier"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
	PrimaryEmail string `json:"primaryEmail"`
	OfficeEmail  string `json:"officeEmail"`
	InactiveFlag bool   `json:"inactiveFlag"`
	Info         info   `json:"_info"`
}

// contactWire is a company contact.
type contactWire struct {
	ID                 int64  `json:"id"`
	FirstName          string `json:"firstName"`
	LastName           string `json:"lastName"`
	Company            *ref   `json:"company"`
	InactiveFlag       bool   `json:"inactiveFlag"`
	DefaultPhoneNbr    string `json:"defaultPhoneNbr"`
	CommunicationItems []struct {
		Value             string `json:"value"`
		DefaultFlag       bool   `json:"defaultFlag"`
		CommunicationType string `json:"communicationType"`
	} `json:"communicationItems"`
	Info info `json:"_info"`
}

// companyWire is a customer company.
type companyWire struct {
	ID          int64  `json:"id"`
	Identifier  string `json:"identifier"`
	Name        string `json:"name"`
	Status      *ref   `json:"status"`
	DeletedFlag bool   `json:"deletedFlag"`
	Info        info   `json:"_info"`
}

// boardWire is a service board.
type boardWire struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	InactiveFlag bool   `json:"inactiveFlag"`
	ProjectFlag  bool   `json:"projectFlag"`
}

// boardStatusWire is a BoardStatus.
type boardStatusWire struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	SortOrder    int    `json:"sortOrder"`
	Inactive     bool   `json:"inactive"`
	ClosedStatus bool   `json:"closedStatus"`
	DefaultFlag  bool   `json:"defaultFlag"`
}

// boardTypeWire is a BoardType.
type boardTypeWire struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	InactiveFlag bool   `json:"inactiveFlag"`
	DefaultFlag  bool   `json:"defaultFlag"`
}

// priorityWire is a global priority.
type priorityWire struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	SortOrder   int    `json:"sortOrder"`
	DefaultFlag bool   `json:"defaultFlag"`
}

// callbackWire is a CallbackEntry (/system/callbacks).
type callbackWire struct {
	ID                   int64  `json:"id,omitempty"`
	Description          string `json:"description"`
	URL                  string `json:"url"`
	ObjectID             int64  `json:"objectId"`
	Type                 string `json:"type"`
	Level                string `json:"level"`
	InactiveFlag         bool   `json:"inactiveFlag"`
	IsSelfSuppressedFlag bool   `json:"isSelfSuppressedFlag"`
}

// errNoID is a record answered without its id.
var errNoID = errors.New("record without an id")

// decode unmarshals raw into a fresh T.
func decode[T any](raw json.RawMessage) (T, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}
