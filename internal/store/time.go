package store

import "time"

// TimePrecision is the resolution both backends store times at. PostgreSQL
// timestamptz keeps microseconds, so SQLite is held to the same: every time
// written is converted to UTC and truncated (not rounded) to a microsecond,
// and every time read comes back in UTC. A value that is already UTC and
// whole microseconds therefore round-trips exactly on both backends.
const TimePrecision = time.Microsecond

// NormalizeTime returns t as the store keeps it: UTC, truncated to
// TimePrecision, without a monotonic clock reading.
func NormalizeTime(t time.Time) time.Time {
	return t.UTC().Truncate(TimePrecision)
}
