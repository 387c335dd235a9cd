package testenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

// TempDatabase creates a database of its own on the local pipeline's
// target PostgreSQL and returns its DSN; it is dropped after the test.
// Tests that need an empty database (a store's tables, say) use it so
// that runs never see each other's rows.
func TempDatabase(t testing.TB, prefix string) string {
	t.Helper()
	p := Need(t)
	// Closed after the drop below: cleanups run last-first.
	admin := p.TargetDB(t)
	db := fmt.Sprintf("%s_%06d", prefix, rand.IntN(1_000_000))
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+db); err != nil {
		t.Fatalf("creating database %s: %v", db, err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
	})
	u, err := url.Parse(p.TargetDSN)
	if err != nil {
		t.Fatalf("target DSN: %v", err)
	}
	u.Path = "/" + db
	return u.String()
}
