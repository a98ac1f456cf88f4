package zohodesk

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Credit accounting [C-off R13 / 3P R8]: every API call costs credits of
// the org's daily allowance (a single GET 1, a list or search 3 or more),
// and each answer says what it cost (X-Rate-Limit-Request-Weight-v3) and
// what is left (X-Rate-Limit-Remaining-v3). Past the allowance calls are
// refused with 429 THRESHOLD_EXCEEDED until the day's reset (ResetCredits).
// Writes cost 1 [INF].

const (
	listWeight = 3
	oneWeight  = 1
	// creditsRetryAfter is the Retry-After of THRESHOLD_EXCEEDED: "can be
	// hours away" [3P R7]; the emulator says one hour [INF].
	creditsRetryAfter = 3600
)

var numericSegment = regexp.MustCompile(`^[0-9]+$`)

// weight is what a call costs: a GET of one record (its path ends in an
// id, or /myinfo) 1, any other GET (a list or search) 3, a write 1.
func weight(r *http.Request) int {
	if r.Method != http.MethodGet {
		return oneWeight
	}
	path := strings.TrimRight(r.URL.Path, "/")
	last := path[strings.LastIndex(path, "/")+1:]
	if numericSegment.MatchString(last) || last == "myinfo" {
		return oneWeight
	}
	return listWeight
}

// charge takes a call's credits and sets the credit headers; false means
// the allowance is spent and the call was answered 429.
func (e *Emulator) charge(w http.ResponseWriter, r *http.Request) bool {
	n := weight(r)
	e.mu.Lock()
	if e.opt.Credits <= 0 {
		e.mu.Unlock()
		return true
	}
	left := e.opt.Credits - e.creditsUsed
	ok := left >= n
	if ok {
		e.creditsUsed += n
		left -= n
	}
	e.mu.Unlock()
	w.Header().Set("X-Rate-Limit-Request-Weight-v3", strconv.Itoa(n))
	w.Header().Set("X-Rate-Limit-Remaining-v3", strconv.Itoa(left))
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(creditsRetryAfter))
		writeError(w, http.StatusTooManyRequests, "THRESHOLD_EXCEEDED",
			"The API credits allotted for the day have been used up.")
	}
	return ok
}

// CreditsLeft returns what is left of the day's credits (Options.Credits
// minus what calls took); 0 when credits are not accounted.
func (e *Emulator) CreditsLeft() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opt.Credits <= 0 {
		return 0
	}
	return e.opt.Credits - e.creditsUsed
}

// SetCreditsUsed sets the credits already spent today (other
// integrations, the day so far); ResetCredits is the daily reset.
func (e *Emulator) SetCreditsUsed(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.creditsUsed = n
}

// SetDailyCredits turns credit accounting on with allowance n (0: off),
// for emulators built through the sandbox registry.
func (e *Emulator) SetDailyCredits(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opt.Credits = n
}

// ResetCredits gives the org its whole daily allowance back.
func (e *Emulator) ResetCredits() { e.SetCreditsUsed(0) }
