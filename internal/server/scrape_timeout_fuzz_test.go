package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// X-Prometheus-Scrape-Timeout-Seconds comes from whoever scrapes. Any
// value is either refused (400) or gives the scrape a deadline in the
// future that ends before the connection's write deadline: never an
// already-expired one (an empty scrape) and never none at all.
func FuzzScrapeTimeoutHeader(f *testing.F) {
	s := New(Options{ScrapeTimeoutOffset: 500 * time.Millisecond})
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", header)
		start := time.Now()
		ctx, cancel, err := s.scrapeContext(r)
		if err != nil {
			return
		}
		defer cancel()
		dl, ok := ctx.Deadline()
		if !ok {
			t.Fatalf("%q: no deadline", header)
		}
		if dl.Before(start) {
			t.Fatalf("%q: the deadline %v is already past", header, dl.Sub(start))
		}
		if limit := s.opts.Timeouts.Write; dl.Sub(start) > limit {
			t.Fatalf("%q: deadline %v beyond the write timeout %v", header, dl.Sub(start), limit)
		}
	})
}
