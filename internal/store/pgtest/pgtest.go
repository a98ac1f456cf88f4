// Package pgtest gives tests a PostgreSQL database of their own on the
// server scripts/with-postgres starts (HORIZON_TEST_POSTGRES_URL).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// ServerURL returns HORIZON_TEST_POSTGRES_URL. Without it the test is
// skipped, except in CI, where a skipped PostgreSQL test would prove
// nothing: there it fails.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("HORIZON_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HORIZON_TEST_POSTGRES_URL is not set in CI: run the tests under scripts/with-postgres")
		}
		t.Skip("HORIZON_TEST_POSTGRES_URL not set; run under scripts/with-postgres")
	}
	return u
}

// FreshURL creates an empty schema with a random name, dropped at
// cleanup, and returns a URL whose search_path selects it. A schema is
// far cheaper than a database to create and drop, and running in a
// schema other than public is itself worth testing.
func FreshURL(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	buf := make([]byte, 6)
	rand.Read(buf)
	name := "horizon_test_" + hex.EncodeToString(buf)
	Exec(t, base, "CREATE SCHEMA "+name)
	t.Cleanup(func() { Exec(t, base, "DROP SCHEMA "+name+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse HORIZON_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs one statement on the server at base.
func Exec(t testing.TB, base, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
