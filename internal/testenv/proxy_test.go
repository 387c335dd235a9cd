package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProxyIsDownForItsClientsOnlyAndComesBackOnTheSameAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "up")
	}))
	defer srv.Close()
	p := NewProxy(t, srv.Listener.Addr().String())
	addr := p.Addr()
	client := &http.Client{Transport: &http.Transport{}}
	get := func(via string) error {
		resp, err := client.Get("http://" + via)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); string(b) != "up" {
			t.Fatalf("through %s got %q", via, b)
		}
		return nil
	}

	if err := get(addr); err != nil {
		t.Fatalf("through the proxy while up: %v", err)
	}
	p.Down()
	if err := get(addr); err == nil {
		t.Fatal("a request went through the proxy while it was down")
	}
	if err := get(srv.Listener.Addr().String()); err != nil {
		t.Fatalf("the server itself stopped answering while only the proxy was down: %v", err)
	}
	p.Up()
	if p.Addr() != addr {
		t.Fatalf("the proxy came back on %s, was %s", p.Addr(), addr)
	}
	if err := get(addr); err != nil {
		t.Fatalf("through the proxy once up again: %v", err)
	}
}
