package testenv

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ConnCountingServer starts an httptest server that counts the
// connections open to it, for tests that prove a client lets go of its
// keep-alive connections.
func ConnCountingServer(t testing.TB, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &open
}

// Eventually polls cond until it holds or the generous deadline passes,
// then fails the test with what() describing the state. Closing is
// asynchronous on both ends of a connection, so leak tests wait for the
// count to settle instead of sleeping a fixed time.
func Eventually(t testing.TB, deadline time.Duration, cond func() bool, what func() string) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatal(what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreeAddr reserves a loopback port and gives it back for a process the
// test starts to listen on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// HungListener accepts connections and never answers, as a server whose
// host froze does; drop closes it and resets the connections it holds
// (also done at cleanup). addr is host:port.
func HungListener(t testing.TB) (addr string, drop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	var once sync.Once
	drop = func() {
		once.Do(func() {
			l.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
	}
	t.Cleanup(drop)
	return l.Addr().String(), drop
}
