package remediate

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amcommoncfg "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/notify/webhook"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/crypto/bcrypt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// With --web.config.file requiring basic auth (exporter-toolkit, as
// cdc-sentinel serves every endpoint), Alertmanager without credentials or
// with wrong ones gets 401 and nothing is recorded; with them, 200.
func TestWebConfigBasicAuthGuardsTheWebhook(t *testing.T) {
	fc := newFakeConnect()
	fc.set("sink", connect.StateRunning, failedTask("boom"))
	h := newHarness(t, restartTaskRule, fc)

	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webCfg, []byte("basic_auth_users:\n  alertmanager: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h.eng.handler(), ReadHeaderTimeout: 5 * time.Second}
	systemd := false
	go func() {
		_ = web.Serve(ln, srv, &web.FlagConfig{WebConfigFile: &webCfg, WebSystemdSocket: &systemd}, promslog.NewNopLogger())
	}()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/alerts"

	start := h.clock.Now().Add(-time.Minute)
	a := firing(start, taskAlert(start)...)
	send := func(auth *commoncfg.BasicAuth) error {
		n, err := webhook.New(&webhook.WebhookConfig{
			URL:        amcommoncfg.SecretTemplateURL(url),
			HTTPConfig: &commoncfg.HTTPClientConfig{BasicAuth: auth},
		}, amTemplate(t), promslog.NewNopLogger())
		if err != nil {
			t.Fatal(err)
		}
		ctx := notify.WithGroupKey(context.Background(), "{}:{}")
		ctx = notify.WithReceiverName(ctx, "cdc-sentinel")
		ctx = notify.WithGroupLabels(ctx, model.LabelSet{})
		return n.Notify(ctx, a).Err()
	}
	for name, auth := range map[string]*commoncfg.BasicAuth{
		"no credentials": nil,
		"wrong password": {Username: "alertmanager", Password: "guess"},
		"unknown user":   {Username: "mallory", Password: "s3cret"},
	} {
		if err := send(auth); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("%s: %v, want a 401", name, err)
		}
	}
	h.settle()
	if recs, _ := h.store.Audit(context.Background(), store.AuditQuery{Limit: 10}); len(recs) != 0 {
		t.Fatalf("unauthenticated notifications were recorded: %v", outcomes(recs))
	}
	if err := send(&commoncfg.BasicAuth{Username: "alertmanager", Password: "s3cret"}); err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	if rec := h.waitAudit(1)[0]; rec.Outcome != OutcomeSuccess {
		t.Fatalf("record: %+v", rec)
	}
}
