package config_test

import (
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

func TestPickCluster(t *testing.T) {
	one := &config.Config{ConnectClusters: []config.ConnectCluster{{Name: "prod", URL: "http://a:8083"}}}
	two := &config.Config{ConnectClusters: []config.ConnectCluster{{Name: "prod", URL: "http://a:8083"}, {Name: "dr", URL: "http://b:8083"}}}
	cases := []struct {
		name    string
		cfg     *config.Config
		flag    string
		want    string
		wantErr string
	}{
		{"the only cluster needs no flag", one, "", "prod", ""},
		{"the only cluster may be named", one, "prod", "prod", ""},
		{"several clusters need the flag", two, "", "", "2 connect clusters are configured (dr, prod): pick one with --connect-cluster"},
		{"the flag picks one of several", two, "dr", "dr", ""},
		{"an unknown name lists the choices", two, "qa", "", `unknown connect cluster "qa" (configured: dr, prod)`},
		{"no clusters at all", &config.Config{}, "", "", "no connect_clusters are configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.PickConnectCluster(tc.flag)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.Name != tc.want {
				t.Fatalf("got %q, %v; want %q", got.Name, err, tc.want)
			}
		})
	}
}
