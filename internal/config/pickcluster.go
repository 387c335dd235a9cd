package config

import (
	"fmt"
	"sort"
	"strings"
)

// PickConnectCluster chooses the Connect cluster a command acts on. With a single
// cluster configured the name may be empty; with several it is required,
// so that an operator never pauses connectors on the wrong cluster by
// forgetting a flag.
func (cfg *Config) PickConnectCluster(name string) (ConnectCluster, error) {
	names := make([]string, 0, len(cfg.ConnectClusters))
	for _, cc := range cfg.ConnectClusters {
		names = append(names, cc.Name)
	}
	sort.Strings(names)
	switch {
	case len(names) == 0:
		return ConnectCluster{}, fmt.Errorf("no connect_clusters are configured")
	case name == "" && len(names) == 1:
		return cfg.ConnectClusters[0], nil
	case name == "":
		return ConnectCluster{}, fmt.Errorf("%d connect clusters are configured (%s): pick one with --connect-cluster", len(names), strings.Join(names, ", "))
	}
	if cc := cfg.ConnectCluster(name); cc != nil {
		return *cc, nil
	}
	return ConnectCluster{}, fmt.Errorf("unknown connect cluster %q (configured: %s)", name, strings.Join(names, ", "))
}
