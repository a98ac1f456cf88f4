package callback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Rotation is the callback secret in force under scheduled rotation
// (callbacks.rotateEvery): each period has its own secret, derived from
// the configured one, so that every replica and every CLI command agrees
// on it without sharing state, and a restart changes nothing.
type Rotation struct {
	Current  helpdesk.Secret // this period's secret: the one to register
	Previous helpdesk.Secret // last period's, accepted for a grace period
	Since    time.Time       // start of this period
	Next     time.Time       // start of the next period
}

// Rotate returns the rotation at now of base, for account, every period.
// Periods are counted from the Unix epoch, so they start at the same
// instants everywhere. Each secret is base64url(HMAC-SHA256(base,
// account|period)): 43 URL-safe characters, which every PSA's webhook
// settings accept (Autotask's SecretKey takes 64), and from which the
// configured secret cannot be recovered.
func Rotate(base helpdesk.Secret, account string, every time.Duration, now time.Time) Rotation {
	n := now.UnixNano() / int64(every)
	return Rotation{Current: periodSecret(base, account, n), Previous: periodSecret(base, account, n-1),
		Since: time.Unix(0, n*int64(every)).UTC(), Next: time.Unix(0, (n+1)*int64(every)).UTC()}
}

func periodSecret(base helpdesk.Secret, account string, period int64) helpdesk.Secret {
	m := hmac.New(sha256.New, []byte(base.Reveal()))
	m.Write([]byte("horizon callback secret|" + account + "|" + strconv.FormatInt(period, 10)))
	return helpdesk.Secret(base64.RawURLEncoding.EncodeToString(m.Sum(nil)))
}
