package sqlite

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// lockPath is the file whose exclusive lock marks the daemon of a
// database: PATH.daemon.lock beside it. The kernel drops the lock when
// the process ends, however it ends, so a stale file never blocks.
func (s *Store) lockPath() string { return s.path + ".daemon.lock" }

// ClaimDaemon takes the database's daemon lock, and records this process
// (pid, host, start) in the lock file for the error another daemon gets.
func (s *Store) ClaimDaemon() error {
	if s.daemonLock != nil {
		return nil
	}
	f, err := os.OpenFile(s.lockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: daemon lock: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("sqlite: daemon lock %s: %w", s.lockPath(), err)
	}
	if !ok {
		owner, _ := os.ReadFile(s.lockPath())
		f.Close()
		return &store.InUseError{Path: s.path, Owner: strings.TrimSpace(string(owner))}
	}
	host, _ := os.Hostname()
	me := fmt.Sprintf("pid %d on %s, since %s", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(me+"\n"), 0) // only informs the error of another daemon
	}
	s.daemonLock = f
	return nil
}

// releaseDaemon gives the daemon lock up (Close).
func (s *Store) releaseDaemon() error {
	if s.daemonLock == nil {
		return nil
	}
	f := s.daemonLock
	s.daemonLock = nil
	_ = f.Truncate(0)
	return f.Close() // closing the descriptor releases the lock
}
