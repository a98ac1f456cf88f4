package autotask

import (
	"context"
	"net/http"
	"strconv"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// headerImpersonation makes a write show as another resource's [K]
// (official Postman collection; django-autotask sends it on writes only).
// The API user's security level must allow impersonation, and the
// resource must be active; Autotask refuses the write otherwise.
const headerImpersonation = "ImpersonationResourceId"

type impersonationKey struct{}

// actingAs returns ctx carrying the resource writes are made as; an empty
// memberID leaves ctx as it is (the API user writes).
func actingAs(ctx context.Context, op, memberID string) (context.Context, error) {
	if memberID == "" {
		return ctx, nil
	}
	id, err := requiredID(op, "memberId", memberID)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, impersonationKey{}, id), nil
}

// impersonate sets the impersonation header on a write made under
// actingAs. Reads never carry it.
func impersonate(ctx context.Context, method string, h http.Header) {
	if id, ok := ctx.Value(impersonationKey{}).(int64); ok && method != http.MethodGet {
		h.Set(headerImpersonation, strconv.FormatInt(id, 10))
	}
}

// checkMarker refuses a marker that could not be stored and found again.
func checkMarker(op, marker string) error {
	return helpdesk.MarkerError(helpdesk.Autotask, op, marker, false)
}
