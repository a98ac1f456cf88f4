package zohodesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// wireTime is the wire layout of Zoho Desk times: ISO-8601 UTC with
// milliseconds.
const wireTime = "2006-01-02T15:04:05.000Z"

// formatTime renders t the way Zoho Desk expects it in bodies and ranges.
func formatTime(t time.Time) string { return t.UTC().Format(wireTime) }

// flexID reads an ID sent as a JSON string (the rule) or number (the
// organisation id, some OAS examples).
type flexID string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*f = flexID(n.String())
	}
	return nil
}

// flexTime reads a time sent as an ISO-8601 string (the rule) or as epoch
// milliseconds, as a number or a numeric string (time entries, legacy and
// custom date fields, webhook eventTime).
type flexTime struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) || len(b) == 0 {
		f.Time = time.Time{}
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	f.Time = t
	return nil
}

// parseTime parses an ISO-8601 time or epoch milliseconds; "" is the zero
// time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

// flexInt reads a number sent as a JSON number or a numeric string
// (hoursSpent, threadCount, ...).
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("number: %w", err)
	}
	*f = flexInt(n)
	return nil
}

// flexBool reads a boolean sent as JSON true/false or as "true"/"false"
// (isTrashed in the time entry OAS examples).
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	*f = flexBool(strings.EqualFold(s, "true"))
	return nil
}

// listEnvelope is the body of every list and search answer:
// {"data":[...]} (search adds "count", which paging never relies on).
type listEnvelope struct {
	Data []json.RawMessage `json:"data"`
}

// errNoList is a 200 whose body holds no list where one is due.
var errNoList = errors.New("the answer holds no data list")

// UnmarshalJSON implements json.Unmarshaler. A body of null, or an object
// without a data array, is an error, not an empty page: Zoho says "no
// more" with 204, so reading either as the end would silently drop the
// rest of a listing.
func (l *listEnvelope) UnmarshalJSON(b []byte) error {
	var env struct {
		Data *[]json.RawMessage `json:"data"`
	}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return errNoList
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return err
	}
	if env.Data == nil {
		return errNoList
	}
	l.Data = *env.Data
	return nil
}

// recordHead is what paging needs of any record.
type recordHead struct {
	ID           flexID   `json:"id"`
	ModifiedTime flexTime `json:"modifiedTime"`
}

// wireTicket is a ticket as GET /tickets/{id}, search and webhooks send it.
type wireTicket struct {
	ID             flexID   `json:"id"`
	TicketNumber   flexID   `json:"ticketNumber"`
	Subject        string   `json:"subject"`
	Description    *string  `json:"description"`
	Status         string   `json:"status"`
	StatusType     string   `json:"statusType"`
	Priority       *string  `json:"priority"`
	Classification *string  `json:"classification"`
	DepartmentID   flexID   `json:"departmentId"`
	ContactID      flexID   `json:"contactId"`
	AccountID      flexID   `json:"accountId"`
	AssigneeID     flexID   `json:"assigneeId"`
	CreatedTime    flexTime `json:"createdTime"`
	ModifiedTime   flexTime `json:"modifiedTime"`
	IsTrashed      flexBool `json:"isTrashed"`
	Department     *struct {
		Name string `json:"name"`
	} `json:"department"`
}

// wireContact is a contact.
type wireContact struct {
	ID           flexID   `json:"id"`
	FirstName    *string  `json:"firstName"`
	LastName     *string  `json:"lastName"`
	Email        *string  `json:"email"`
	Phone        *string  `json:"phone"`
	AccountID    flexID   `json:"accountId"`
	ModifiedTime flexTime `json:"modifiedTime"`
	IsDeleted    flexBool `json:"isDeleted"`
	IsTrashed    flexBool `json:"isTrashed"`
}

// wireAccount is an account (a customer company).
type wireAccount struct {
	ID           flexID   `json:"id"`
	AccountName  string   `json:"accountName"`
	ModifiedTime flexTime `json:"modifiedTime"`
	IsDeleted    flexBool `json:"isDeleted"`
	IsTrashed    flexBool `json:"isTrashed"`
}

// wireAgent is an agent (a helpdesk member). Agents carry emailId, not
// email, and no modifiedTime.
type wireAgent struct {
	ID        flexID  `json:"id"`
	FirstName *string `json:"firstName"`
	LastName  *string `json:"lastName"`
	Name      *string `json:"name"`
	EmailID   *string `json:"emailId"`
	Status    string  `json:"status"`
}

// wireComment is a ticket comment (Horizon's note). Comments have
// commentedTime and no createdTime.
type wireComment struct {
	ID            flexID   `json:"id"`
	TicketID      flexID   `json:"ticketId"`
	Content       string   `json:"content"`
	IsPublic      bool     `json:"isPublic"`
	CommenterID   flexID   `json:"commenterId"`
	CommentedTime flexTime `json:"commentedTime"`
}

// wireTimeEntry is a ticket time entry. The OAS schema says ISO strings
// but its examples send epoch milliseconds and string counters; both read.
type wireTimeEntry struct {
	ID           flexID   `json:"id"`
	OwnerID      flexID   `json:"ownerId"`
	ExecutedTime flexTime `json:"executedTime"`
	CreatedTime  flexTime `json:"createdTime"`
	ModifiedTime flexTime `json:"modifiedTime"`
	HoursSpent   flexInt  `json:"hoursSpent"`
	MinutesSpent flexInt  `json:"minutesSpent"`
	SecondsSpent flexInt  `json:"secondsSpent"`
	IsBillable   flexBool `json:"isBillable"`
	Description  *string  `json:"description"`
	Parent       *struct {
		ID flexID `json:"id"`
	} `json:"parent"`
}

// wireDepartment is a department (Horizon's queue).
type wireDepartment struct {
	ID        flexID   `json:"id"`
	Name      string   `json:"name"`
	IsEnabled flexBool `json:"isEnabled"`
}

// wireField is one entry of GET /organizationFields.
type wireField struct {
	APIName       string `json:"apiName"`
	AllowedValues []struct {
		Value      string `json:"value"`
		StatusType string `json:"statusType"`
	} `json:"allowedValues"`
}

// wireWebhook is a webhook registration as GET/POST /webhooks answer it.
type wireWebhook struct {
	ID            flexID                     `json:"id"`
	Name          string                     `json:"name"`
	URL           string                     `json:"url"`
	Description   string                     `json:"description"`
	Subscriptions map[string]json.RawMessage `json:"subscriptions"`
	IsEnabled     *bool                      `json:"isEnabled"`
}

// wireError is Zoho Desk's error body.
type wireError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
	Errors    []struct {
		FieldName    string `json:"fieldName"`
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"errors"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func decodeDepartment(raw json.RawMessage) (helpdesk.PicklistValue, error) {
	var d wireDepartment
	if err := json.Unmarshal(raw, &d); err != nil {
		return helpdesk.PicklistValue{}, fmt.Errorf("decode department: %w", err)
	}
	return helpdesk.PicklistValue{ID: string(d.ID), Name: d.Name, Active: bool(d.IsEnabled)}, nil
}
