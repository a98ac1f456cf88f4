package autotask

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Record queries' metric labels.
const (
	opContactsQuery  = "contacts.query"
	opCompaniesQuery = "companies.query"
	opResourcesQuery = "resources.query"
	opResourcesGet   = "resources.get"
)

// contactWire is a Contacts entity [K].
type contactWire struct {
	ID               flexInt  `json:"id"`
	CompanyID        flexInt  `json:"companyID"`
	FirstName        string   `json:"firstName"`
	LastName         string   `json:"lastName"`
	EmailAddress     string   `json:"emailAddress"`
	Phone            string   `json:"phone"`
	MobilePhone      string   `json:"mobilePhone"`
	IsActive         flexBool `json:"isActive"`
	LastActivityDate atTime   `json:"lastActivityDate"`
}

func decodeContact(raw json.RawMessage) (helpdesk.Contact, int64, error) {
	var w contactWire
	if err := json.Unmarshal(raw, &w); err != nil || !w.ID.Valid {
		return helpdesk.Contact{}, 0, fmt.Errorf("contact: %w", orNoID(err))
	}
	phone := w.Phone
	if phone == "" {
		phone = w.MobilePhone
	}
	return helpdesk.Contact{ExternalID: w.ID.String(), CompanyID: w.CompanyID.String(), FirstName: w.FirstName,
		LastName: w.LastName, Email: w.EmailAddress, Phone: phone, Active: bool(w.IsActive),
		UpdatedAt: w.LastActivityDate.Time, Raw: raw}, w.ID.V, nil
}

// companyWire is a Companies entity [K].
type companyWire struct {
	ID               flexInt  `json:"id"`
	CompanyName      string   `json:"companyName"`
	CompanyNumber    string   `json:"companyNumber"`
	IsActive         flexBool `json:"isActive"`
	LastActivityDate atTime   `json:"lastActivityDate"`
}

func decodeCompany(raw json.RawMessage) (helpdesk.Company, int64, error) {
	var w companyWire
	if err := json.Unmarshal(raw, &w); err != nil || !w.ID.Valid {
		return helpdesk.Company{}, 0, fmt.Errorf("company: %w", orNoID(err))
	}
	return helpdesk.Company{ExternalID: w.ID.String(), Name: w.CompanyName, Identifier: w.CompanyNumber,
		Active: bool(w.IsActive), UpdatedAt: w.LastActivityDate.Time, Raw: raw}, w.ID.V, nil
}

// resourceWire is a Resources entity [K]. defaultServiceDeskRoleID is the
// role sent with an assignment [K].
type resourceWire struct {
	ID                       flexInt  `json:"id"`
	UserName                 string   `json:"userName"`
	FirstName                string   `json:"firstName"`
	LastName                 string   `json:"lastName"`
	Email                    string   `json:"email"`
	IsActive                 flexBool `json:"isActive"`
	DefaultServiceDeskRoleID flexInt  `json:"defaultServiceDeskRoleID"`
}

func decodeMember(raw json.RawMessage) (helpdesk.Member, int64, error) {
	var w resourceWire
	if err := json.Unmarshal(raw, &w); err != nil || !w.ID.Valid {
		return helpdesk.Member{}, 0, fmt.Errorf("resource: %w", orNoID(err))
	}
	return helpdesk.Member{ExternalID: w.ID.String(), Identifier: w.UserName,
		Name: strings.TrimSpace(w.FirstName + " " + w.LastName), Email: w.Email,
		Active: bool(w.IsActive), Raw: raw}, w.ID.V, nil
}

func orNoID(err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("record without id")
}

// Contacts implements helpdesk.Provider: lastActivityDate > q.Since [K].
func (c *Client) Contacts(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Contact, error] {
	body, err := listQuery(since("lastActivityDate", q.Since), q)
	if err != nil {
		return failed[helpdesk.Contact]("Contacts", err)
	}
	return stream(c, ctx, opContactsQuery, "Contacts", body, decodeContact, q.Skip)
}

// Companies implements helpdesk.Provider: lastActivityDate > q.Since [K].
func (c *Client) Companies(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Company, error] {
	body, err := listQuery(since("lastActivityDate", q.Since), q)
	if err != nil {
		return failed[helpdesk.Company]("Companies", err)
	}
	return stream(c, ctx, opCompaniesQuery, "Companies", body, decodeCompany, q.Skip)
}

// Members implements helpdesk.Provider. Resources have no last-updated
// field [K], so q.Since is ignored and every resource is read
// (Capabilities.IncrementalMembers is false).
func (c *Client) Members(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Member, error] {
	body, err := listQuery(matchAll(), q)
	if err != nil {
		return failed[helpdesk.Member]("Resources", err)
	}
	return stream(c, ctx, opResourcesQuery, "Resources", body, decodeMember, q.Skip)
}

// resource reads one resource.
func (c *Client) resource(ctx context.Context, id int64) (resourceWire, error) {
	var w resourceWire
	if err := c.getItem(ctx, opResourcesGet, "Resources/"+idString(id), &w); err != nil {
		return w, fmt.Errorf("resource %d: %w", id, err)
	}
	return w, nil
}

// apiResourceID returns the API user's resource ID: Config.APIResourceID,
// else the resource whose userName or email is the configured username.
// Zero (and no error) when none matches.
func (c *Client) apiResourceID(ctx context.Context) (int64, error) {
	if c.cfg.APIResourceID != 0 {
		return c.cfg.APIResourceID, nil
	}
	return c.cache.apiResource.get(func() (int64, error) {
		user := c.cfg.Username
		filter := []condition{{Op: "or", Items: []condition{
			{Op: "eq", Field: "userName", Value: user}, {Op: "eq", Field: "email", Value: user}}}}
		found, err := collect(c, ctx, opResourcesQuery, "Resources", filter, decodeMember)
		if err != nil || len(found) == 0 {
			return 0, err
		}
		return parseID(found[0].ExternalID)
	})
}

// APIUser implements helpdesk.Provider: the API-only resource the
// credentials act as, Config.APIResourceID or the resource whose userName
// (or email) is the configured username [K]. ErrNotFound when no resource
// matches.
func (c *Client) APIUser(ctx context.Context) (helpdesk.Member, error) {
	id, err := c.apiResourceID(ctx)
	if err != nil {
		return helpdesk.Member{}, fmt.Errorf("autotask: api user: %w", err)
	}
	if id == 0 {
		return helpdesk.Member{}, fmt.Errorf("autotask: api user: %w", &helpdesk.Error{Provider: helpdesk.Autotask,
			Op: opResourcesQuery, Kind: helpdesk.ErrNotFound, Message: "no resource has the API username " + c.cfg.Username})
	}
	var raw json.RawMessage
	if err := c.getItem(ctx, opResourcesGet, "Resources/"+idString(id), &raw); err != nil {
		return helpdesk.Member{}, fmt.Errorf("autotask: api user: resource %d: %w", id, err)
	}
	m, _, err := decodeMember(raw)
	if err != nil {
		return helpdesk.Member{}, fmt.Errorf("autotask: api user: %w", wireError(opResourcesGet, err))
	}
	return m, nil
}
