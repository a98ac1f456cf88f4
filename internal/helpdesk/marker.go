package helpdesk

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MarkerMaxLen is the longest write marker the clients accept: it must
// fit the shortest field a PSA offers for it (Autotask's externalID holds
// 50 characters; the rest of the room is left to the PSA's own use).
const MarkerMaxLen = 40

// FindSkew is how far below FindTicket's since a provider that selects by
// time looks: the caller's clock and the PSA's may disagree by this much.
const FindSkew = 5 * time.Minute

// ErrNoMarker is returned by the Find methods when called without a
// marker: an empty marker can match nothing, and "absent" would be a lie.
var ErrNoMarker = errors.New("empty write marker")

// CheckMarker reports whether m can be stored and found again: 1 to
// MarkerMaxLen characters of A-Z, a-z, 0-9, '-', '_', '.' and ':' (so that
// it survives HTML escaping, search tokenising and every PSA's text
// fields unchanged).
func CheckMarker(m string) error {
	if m == "" {
		return ErrNoMarker
	}
	if len(m) > MarkerMaxLen {
		return fmt.Errorf("write marker %q is longer than %d characters", m, MarkerMaxLen)
	}
	for _, r := range m {
		if !markerRune(r) {
			return fmt.Errorf("write marker %q: character %q not allowed (A-Z, a-z, 0-9, - _ . :)", m, r)
		}
	}
	return nil
}

func markerRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '_' || r == '.' || r == ':'
}

// MarkerLine is the line a client appends to a text field to carry a
// marker: short, readable to a technician, and exact to find.
func MarkerLine(m string) string { return "[ref: " + m + "]" }

// MarkText returns text with the marker line appended after a blank
// line; an empty marker leaves text as it is.
func MarkText(text, marker string) string {
	if marker == "" {
		return text
	}
	if strings.TrimSpace(text) == "" {
		return MarkerLine(marker)
	}
	return strings.TrimRight(text, " \t\r\n") + "\n\n" + MarkerLine(marker)
}

// HasMarker reports whether text carries marker as a whole token: the
// PSA may have turned the marker line into HTML (a <div>, <br>, &nbsp;),
// so only the marker and its closing bracket are matched, and the
// character before it must not be part of a longer marker.
func HasMarker(text, marker string) bool {
	if marker == "" {
		return false
	}
	needle := marker + "]"
	for i := 0; ; {
		j := strings.Index(text[i:], needle)
		if j < 0 {
			return false
		}
		at := i + j
		if at == 0 || !markerRune(rune(text[at-1])) {
			return true
		}
		i = at + 1
	}
}

// MarkerError checks a write's marker for provider's op: nil when it is
// fine, else an ErrInvalid *Error saying what is wrong. An empty marker is
// fine for a create (no marker is stored) and wrong for a look-up
// (required): it can match nothing.
func MarkerError(provider, op, marker string, required bool) error {
	if marker == "" && !required {
		return nil
	}
	if err := CheckMarker(marker); err != nil {
		return &Error{Provider: provider, Op: op, Kind: ErrInvalid, Message: err.Error(), Err: err}
	}
	return nil
}
