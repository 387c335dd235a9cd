package testenv

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TargetDB opens the pipeline's target PostgreSQL. It is closed when the
// test ends, after the cleanups registered later (cleanups run
// last-first), which may still use it.
func (p *Pipeline) TargetDB(t testing.TB) *sql.DB { return p.openDB(t, p.TargetDSN) }

// SourceDB opens the pipeline's source PostgreSQL, closed like TargetDB.
func (p *Pipeline) SourceDB(t testing.TB) *sql.DB { return p.openDB(t, p.SourceDSN) }

func (p *Pipeline) openDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// KafkaClient is a client of the pipeline's Kafka with opts, closed when
// the test ends, after the cleanups registered later.
func (p *Pipeline) KafkaClient(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	kc, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(p.KafkaBrokers, ",")...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	return kc
}
