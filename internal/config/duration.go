package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours; the file format has no notion of calendar days.
const Day = 24 * time.Hour

// Duration is a duration written as digits and units, largest unit first:
// 30s, 5m, 1h30m, 30d, 1d12h. Units are d (24h), h, m and s.
type Duration time.Duration

// durationRE matches the same strings as the schema's duration pattern.
var durationRE = regexp.MustCompile(`^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$`)

var durationUnits = []time.Duration{Day, time.Hour, time.Minute, time.Second}

// ErrDurationSyntax is returned for strings that are not durations.
var ErrDurationSyntax = errors.New("must be a duration such as 30s, 5m, 1h30m or 30d (units d, h, m, s, largest first)")

// ErrDurationRange is returned for durations too large to represent.
var ErrDurationRange = errors.New("duration is too large")

// ParseDuration parses a duration in the file's syntax.
func ParseDuration(s string) (Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if s == "" || m == nil {
		return 0, fmt.Errorf("parse duration %q: %w", s, ErrDurationSyntax)
	}
	var total time.Duration
	for i, unit := range durationUnits {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("parse duration %q: %w", s, ErrDurationRange)
		}
		total += time.Duration(n) * unit
	}
	return Duration(total), nil
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d in the file's syntax, such as 1d12h or 1h30m. Durations
// with a fraction of a second, or negative ones, use time.Duration's format.
func (d Duration) String() string {
	td := time.Duration(d)
	if td == 0 {
		return "0s"
	}
	if td < 0 || td%time.Second != 0 {
		return td.String()
	}
	var b strings.Builder
	for i, unit := range durationUnits {
		if n := td / unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte("dhms"[i])
			td -= n * unit
		}
	}
	return b.String()
}

// MarshalText writes the canonical form.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText parses the file's syntax.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
