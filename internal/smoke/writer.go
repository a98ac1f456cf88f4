package smoke

import (
	"context"
	"errors"

	"github.com/horizon/reconciler/internal/account"
)

// AccountWriter returns the writer of the account's Horizon-side writes.
// deliver is true when the caller holds the account's lease and delivers
// the writes itself (no daemon runs); otherwise the daemon's write-back
// worker delivers them and the writer waits for the outcome.
func AccountWriter(a *account.Account, deliver bool) Writer { return noWriteback{} }

type noWriteback struct{}

func (noWriteback) Write(context.Context, Write) (Written, error) {
	return Written{}, errors.New("this build has no write-back engine")
}
