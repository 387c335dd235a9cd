package connect

import (
	"encoding/pem"
	"net/http/httptest"
	"os"
	"testing"
)

func writeCert(t *testing.T, path string, srv *httptest.Server) {
	t.Helper()
	der := srv.Certificate().Raw
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
