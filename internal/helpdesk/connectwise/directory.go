package connectwise

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Members implements helpdesk.Provider: GET /system/members, active and
// inactive, updated after q.Since.
func (c *Client) Members(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Member, error] {
	s := listSpec{op: "list members", path: "/system/members", since: q.Since, after: q.After, size: q.PageSize,
		entity: helpdesk.EntityMembers, skip: q.Skip}
	return stream(ctx, c, s, toMember)
}

// Contacts implements helpdesk.Provider: GET /company/contacts.
func (c *Client) Contacts(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Contact, error] {
	s := listSpec{op: "list contacts", path: "/company/contacts", since: q.Since, after: q.After, size: q.PageSize,
		entity: helpdesk.EntityContacts, skip: q.Skip}
	return stream(ctx, c, s, toContact)
}

// Companies implements helpdesk.Provider: GET /company/companies.
func (c *Client) Companies(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Company, error] {
	s := listSpec{op: "list companies", path: "/company/companies", since: q.Since, after: q.After, size: q.PageSize,
		entity: helpdesk.EntityCompanies, skip: q.Skip}
	return stream(ctx, c, s, toCompany)
}

func toMember(raw json.RawMessage) (helpdesk.Member, error) {
	w, err := decode[memberWire](raw)
	if err != nil {
		return helpdesk.Member{}, fmt.Errorf("decode member: %w", err)
	}
	email := w.PrimaryEmail
	if email == "" {
		email = w.OfficeEmail
	}
	return helpdesk.Member{
		ExternalID: idString(w.ID), Identifier: w.Identifier,
		Name:  strings.TrimSpace(w.FirstName + " " + w.LastName),
		Email: email, Active: !w.InactiveFlag, UpdatedAt: w.Info.LastUpdated.Time,
		Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

func toContact(raw json.RawMessage) (helpdesk.Contact, error) {
	w, err := decode[contactWire](raw)
	if err != nil {
		return helpdesk.Contact{}, fmt.Errorf("decode contact: %w", err)
	}
	return helpdesk.Contact{
		ExternalID: idString(w.ID), CompanyID: refID(w.Company), FirstName: w.FirstName, LastName: w.LastName,
		Email: w.communication("Email"), Phone: firstNonEmpty(w.communication("Phone"), w.DefaultPhoneNbr),
		Active: !w.InactiveFlag, UpdatedAt: w.Info.LastUpdated.Time, Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

// communication returns the default communication item of a type (the
// first one when none is default).
func (w contactWire) communication(kind string) string {
	first := ""
	for _, it := range w.CommunicationItems {
		if !strings.EqualFold(it.CommunicationType, kind) {
			continue
		}
		if it.DefaultFlag {
			return it.Value
		}
		if first == "" {
			first = it.Value
		}
	}
	return first
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func toCompany(raw json.RawMessage) (helpdesk.Company, error) {
	w, err := decode[companyWire](raw)
	if err != nil {
		return helpdesk.Company{}, fmt.Errorf("decode company: %w", err)
	}
	return helpdesk.Company{
		ExternalID: idString(w.ID), Name: w.Name, Identifier: w.Identifier, Active: w.active(),
		UpdatedAt: w.Info.LastUpdated.Time, Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

// active reads a company as active unless deleted or in a status named
// Inactive (company statuses are tenant-defined; "Inactive" is the
// shipped one).
func (w companyWire) active() bool {
	return !w.DeletedFlag && (w.Status == nil || !strings.Contains(strings.ToLower(w.Status.Name), "inactive"))
}
