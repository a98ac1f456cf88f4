package autotask

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// headerImpersonation names the resource a write is made as [K]: the
// record shows that resource as its creator or last editor instead of the
// API user.
const headerImpersonation = "ImpersonationResourceId"

// actor is who makes a write: the resource named by the impersonation
// header, or the API user. An impersonated resource must exist and be
// active; Autotask refuses the write otherwise (as a business rule, 500;
// the exact message is [I]).
func (e *Emulator) actor(r *http.Request) (sandbox.Actor, error) {
	v := strings.TrimSpace(r.Header.Get(headerImpersonation))
	if v == "" {
		return sandbox.API(e.apiUser.ID, ""), nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return sandbox.Actor{}, badf("ImpersonationResourceId '%s' is not a resource id.", v)
	}
	if !e.refs().active[id] {
		return sandbox.Actor{}, rulef("Impersonation failed: resource %d does not exist or is inactive.", id)
	}
	return sandbox.API(id, ""), nil
}
