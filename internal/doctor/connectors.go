package doctor

import (
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
)

// connector is one connector of one cluster: its configuration, read by
// connectorkind, and its status.
type connector struct {
	*connectorkind.Connector
	cluster string
	status  connect.Status
}

func newConnector(cluster string, c connect.Connector) *connector {
	return &connector{Connector: connectorkind.New(c.Name(), c.Type(), c.Info.Config), cluster: cluster, status: c.Status}
}

func (c *connector) target() string { return connectorTarget(c.cluster, c.Name) }
