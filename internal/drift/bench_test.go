package drift

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkSample20Tables is the drift cost a scrape pays when every
// table is due: 20 tables of 100,000 rows, 1,000 keys drawn from each
// side, all compared. The goal is at most 500 ms per scrape.
func BenchmarkSample20Tables(b *testing.B) {
	var tables []Table
	for i := range 20 {
		src, tgt, name := scratch(b, 100000)
		tb := table(src, tgt, name, 1000)
		tb.Name = fmt.Sprintf("t%d", i)        // results are keyed by name
		tb.Drift.MinInterval = time.Nanosecond // every check samples
		tables = append(tables, tb)
	}
	s := NewSampler(tables, nil)
	ctx := context.Background()
	s.Check(ctx)                    // plans the tables
	before := checked(s.Check(ctx)) // a first sample
	b.ResetTimer()
	var after float64
	for b.Loop() {
		stats := s.Check(ctx)
		for name, st := range stats {
			if st.Err != nil {
				b.Fatalf("%s: %v", name, st.Err)
			}
		}
		after = checked(stats)
	}
	// Rows compared per table per check: the sample really is ~1,000.
	b.ReportMetric((after-before)/float64(b.N)/float64(len(tables)), "rows/table")
}

func checked(stats map[string]Stats) float64 {
	var n float64
	for _, st := range stats {
		n += st.Checked
	}
	return n
}
