// Package ops performs day-to-day Kafka Connect operations for the
// `cdc-sentinel connectors` command: listing, pausing, resuming,
// restarting, stopping and scaling connectors. Every change is verified by
// reading the status back until the wanted state holds, because Connect
// accepts pause, resume and restart asynchronously and a 202 says nothing
// about whether the connector got there.
package ops

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// PickCluster chooses the Connect cluster a command acts on. With a single
// cluster configured the name may be empty; with several it is required,
// so that an operator never pauses connectors on the wrong cluster by
// forgetting a flag.
func PickCluster(cfg *config.Config, name string) (config.ConnectCluster, error) {
	names := make([]string, 0, len(cfg.ConnectClusters))
	for _, cc := range cfg.ConnectClusters {
		names = append(names, cc.Name)
	}
	sort.Strings(names)
	switch {
	case len(names) == 0:
		return config.ConnectCluster{}, fmt.Errorf("no connect_clusters are configured")
	case name == "" && len(names) == 1:
		return cfg.ConnectClusters[0], nil
	case name == "":
		return config.ConnectCluster{}, fmt.Errorf("%d connect clusters are configured (%s): pick one with --connect-cluster", len(names), strings.Join(names, ", "))
	}
	if cc := cfg.ConnectCluster(name); cc != nil {
		return *cc, nil
	}
	return config.ConnectCluster{}, fmt.Errorf("unknown connect cluster %q (configured: %s)", name, strings.Join(names, ", "))
}
