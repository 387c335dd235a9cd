package connectorkind

import "testing"

func TestConsumerGroupIsConnectNameUnlessOverridden(t *testing.T) {
	for _, c := range []struct {
		conn *Connector
		want string
	}{
		{New("orders-sink", TypeSink, map[string]string{KeyClass: "io.confluent.connect.jdbc.JdbcSinkConnector"}), "connect-orders-sink"},
		{New("orders-sink", TypeSink, map[string]string{KeyConsumerGroupOverride: "custom"}), "custom"},
		{New("orders-sink", TypeSink, map[string]string{KeyConsumerGroupOverride: "  "}), "connect-orders-sink"},
		{New("src", TypeSource, map[string]string{KeyClass: "io.debezium.connector.sqlserver.SqlServerConnector"}), ""},
	} {
		if got := c.conn.ConsumerGroup(); got != c.want {
			t.Errorf("%s %v: group %q, want %q", c.conn.Name, c.conn.Config, got, c.want)
		}
	}
}
