package connectorkind

import (
	"fmt"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// The operating ranges of tasks.max that the pipeline's own scaling
// scripts allowed: the SQL Server source up to 8 tasks, the JDBC sink
// into PostgreSQL up to 32 (a sink's tasks share the topics' partitions,
// so more only add idle consumers and database connections).
const (
	MaxTasksSQLServerSource = 8
	MaxTasksPostgresSink    = 32
)

// TaskLimit is the most tasks.max the connector can use, with the
// reason; 0 means no known limit.
//
// The Debezium SQL Server source gives each task whole databases of
// database.names (a task reads one database's change tables), so it runs
// at most one task per database, and at most 8 in any case. The
// PostgreSQL, MySQL, Oracle and Db2 sources read one replication stream,
// binlog or log and always run a single task.
func (c *Connector) TaskLimit() (int, string) {
	k := c.Kind()
	switch {
	case k == DebeziumSQLServer:
		dbs := c.DatabaseNames()
		if len(dbs) > 0 && len(dbs) < MaxTasksSQLServerSource {
			return len(dbs), fmt.Sprintf("the %s runs at most one task per database, and database.names lists %d (%s)", k, len(dbs), strings.Join(dbs, ", "))
		}
		return MaxTasksSQLServerSource, fmt.Sprintf("the %s runs at most one task per database, and at most %d", k, MaxTasksSQLServerSource)
	case k.IsSource() && kinds[k].maxTasks > 0:
		return kinds[k].maxTasks, fmt.Sprintf("the %s always runs a single task", k)
	case k.IsJDBCSink():
		if _, driver, ok := c.SinkEndpoint(); ok && driver == config.DriverPostgres {
			return MaxTasksPostgresSink, fmt.Sprintf("a JDBC sink into PostgreSQL is run with at most %d tasks: its tasks share the topics' partitions, and each holds its own database connections", MaxTasksPostgresSink)
		}
	}
	return 0, ""
}

// CheckTasks says why tasks.max=n is more than the connector can use, or
// "" when it is within the limit.
func (c *Connector) CheckTasks(n int) string {
	limit, why := c.TaskLimit()
	if limit == 0 || n <= limit {
		return ""
	}
	return fmt.Sprintf("tasks.max=%d is above %d: %s", n, limit, why)
}
