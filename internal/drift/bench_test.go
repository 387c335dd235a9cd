package drift

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSample20Tables is the drift cost a scrape pays when every
// table is due: 20 tables of 100,000 rows, 1,000 keys drawn from each
// side, all compared. The goal is at most 500 ms per scrape.
func BenchmarkSample20Tables(b *testing.B) {
	var tables []Table
	for range 20 {
		src, tgt, name := scratch(b, 100000)
		tb := table(src, tgt, name, 1000)
		tb.Drift.MinInterval = time.Nanosecond // every check samples
		tables = append(tables, tb)
	}
	s := NewSampler(tables)
	ctx := context.Background()
	s.Check(ctx) // plans the tables
	b.ResetTimer()
	for b.Loop() {
		for name, st := range s.Check(ctx) {
			if st.Err != nil {
				b.Fatalf("%s: %v", name, st.Err)
			}
		}
	}
}
