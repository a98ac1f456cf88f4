package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmts keeps the statements run on one pool prepared, by SQL text, so
// that SQLite parses and plans a statement once per connection instead of
// on every call. database/sql prepares a *sql.Stmt again on each
// connection of the pool it runs on and keeps it there. Statements are
// prepared after migrations (Open runs them first); should another
// process change the schema, SQLite prepares an outdated statement again
// on its own.
//
// Its methods mirror those of *sql.DB, so a call site changes only its
// receiver. A SQL text must not embed values: each distinct text stays
// prepared until Close.
type stmts struct {
	db *sql.DB

	mu sync.Mutex
	m  map[string]*sql.Stmt
	// want are texts a transaction ran before they were prepared on the
	// pool; fill prepares them once the transaction ended.
	want map[string]bool
	// off runs every statement unprepared (benchmarks compare).
	off bool
	// gate, when set (the writer), is held while a statement runs.
	gate *gate
}

func newStmts(db *sql.DB) *stmts {
	return &stmts{db: db, m: map[string]*sql.Stmt{}, want: map[string]bool{}}
}

// stmt returns q prepared on the pool, preparing it on first use. The
// caller must hold no connection of the pool: preparing takes one, and
// the writer has only one.
func (c *stmts) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	st := c.m[q]
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	old := c.m[q]
	if old == nil {
		c.m[q] = st
	}
	c.mu.Unlock()
	if old != nil { // prepared meanwhile by another caller
		st.Close()
		return old, nil
	}
	return st, nil
}

// turn waits for the pool's gate, if any, and returns its release.
func (c *stmts) turn(ctx context.Context) (func(), error) {
	if c.gate == nil {
		return func() {}, nil
	}
	if err := c.gate.acquire(ctx, false); err != nil {
		return nil, err
	}
	return c.gate.release, nil
}

// QueryContext runs q prepared.
func (c *stmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	done, err := c.turn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if c.off {
		return c.db.QueryContext(ctx, q, args...)
	}
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs q prepared. Should preparing fail, q runs
// unprepared, which reports the error through the row as before.
func (c *stmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	done, err := c.turn(ctx)
	if err != nil {
		return c.db.QueryRowContext(ctx, q, args...) // ctx ended: the row reports it
	}
	defer done()
	if c.off {
		return c.db.QueryRowContext(ctx, q, args...)
	}
	st, err := c.stmt(ctx, q)
	if err != nil {
		return c.db.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// ExecContext runs q prepared.
func (c *stmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	done, err := c.turn(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	if c.off {
		return c.db.ExecContext(ctx, q, args...)
	}
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// in returns tx running the pool's prepared statements.
func (c *stmts) in(tx *sql.Tx) preparedTx { return preparedTx{c: c, tx: tx} }

// fill prepares on the pool the statements transactions ran before they
// were; one the context's end stopped is left for the next time.
func (c *stmts) fill(ctx context.Context) {
	c.mu.Lock()
	if len(c.want) == 0 {
		c.mu.Unlock()
		return
	}
	qs := make([]string, 0, len(c.want))
	for q := range c.want {
		qs = append(qs, q)
	}
	clear(c.want)
	c.mu.Unlock()
	for _, q := range qs {
		if _, err := c.stmt(ctx, q); err != nil && ctx.Err() != nil {
			c.mu.Lock()
			c.want[q] = true
			c.mu.Unlock()
		}
	}
}

// close closes every prepared statement.
func (c *stmts) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}

// preparedTx is a transaction on a pool that runs the pool's prepared
// statements. Its methods mirror those of *sql.Tx.
type preparedTx struct {
	c  *stmts
	tx *sql.Tx
}

// Stmt returns q prepared, for use in the transaction. Before q is
// prepared on the pool it is prepared for this transaction alone (the
// transaction holds the writer's only connection) and on the pool once
// the transaction ended (see Store.inTx).
func (p preparedTx) Stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if p.c.off {
		return p.tx.PrepareContext(ctx, q)
	}
	p.c.mu.Lock()
	st := p.c.m[q]
	p.c.mu.Unlock()
	if st != nil {
		return p.tx.StmtContext(ctx, st), nil
	}
	st, err := p.tx.PrepareContext(ctx, q)
	if err == nil {
		p.c.mu.Lock()
		p.c.want[q] = true
		p.c.mu.Unlock()
	}
	return st, err
}

// QueryContext runs q prepared in the transaction.
func (p preparedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if p.c.off {
		return p.tx.QueryContext(ctx, q, args...)
	}
	st, err := p.Stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs q prepared in the transaction. Should preparing
// fail, q runs unprepared, which reports the error through the row.
func (p preparedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if p.c.off {
		return p.tx.QueryRowContext(ctx, q, args...)
	}
	st, err := p.Stmt(ctx, q)
	if err != nil {
		return p.tx.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// ExecContext runs q prepared in the transaction.
func (p preparedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if p.c.off {
		return p.tx.ExecContext(ctx, q, args...)
	}
	st, err := p.Stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}
