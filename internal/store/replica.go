package store

import "errors"

// SingleReplica is implemented by backends that serve one daemon only
// (SQLite: one file, one writer, leases that cannot fence another host).
type SingleReplica interface {
	// ClaimDaemon makes this process the one daemon of the database until
	// the store is closed or the process ends (kill -9 included). It
	// fails with an *InUseError when another daemon holds it.
	ClaimDaemon() error
}

// ClaimDaemon claims st for this daemon where its backend serves one
// daemon only; other backends (PostgreSQL) take any number of replicas.
func ClaimDaemon(st Store) error {
	if sr, ok := st.(SingleReplica); ok {
		return sr.ClaimDaemon()
	}
	return nil
}

// ErrInUse matches an *InUseError.
var ErrInUse = errors.New("database in use by another daemon")

// InUseError says which daemon already uses a single-replica database.
type InUseError struct {
	Path  string // the database file
	Owner string // pid, host and start of the other daemon, as it recorded them
}

func (e *InUseError) Error() string {
	owner := e.Owner
	if owner == "" {
		owner = "an unknown process"
	}
	return "store: " + e.Path + " is in use by another reconciler daemon (" + owner + "): SQLite serves one " +
		"replica; stop the other daemon, give this one its own HORIZON_DATABASE_URL, or use PostgreSQL " +
		"(HORIZON_DATABASE_URL=postgres://…) for several replicas"
}

// Is makes errors.Is(err, ErrInUse) hold.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }
