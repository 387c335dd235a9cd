package doctor

import (
	"fmt"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connect"
	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorkind"
	"github.com/cdc-sentinel/cdc-sentinel/internal/sqldialect"
)

// checkConnector runs the checks that need only the connector's own
// configuration and status.
func (r *run) checkConnector(c *connector) {
	r.checkState(c)
	r.checkConfiguration(c)
}

// checkConfiguration runs the checks that read only the configuration.
func (r *run) checkConfiguration(c *connector) {
	if c.IsSink() {
		r.checkSinkErrors(c)
		r.checkJDBCSink(c)
	}
	if c.IsDebeziumSource() {
		r.checkHeartbeat(c)
		r.checkSourceSignal(c)
		r.checkNotifications(c)
	}
	r.checkTasksMax(c)
	r.checkConverters(c)
}

// StaticFindings are the findings about one connector configuration that
// need neither the worker nor the databases: the checks `connectors
// validate` adds to the worker's own validation.
func StaticFindings(name string, cfg map[string]string) []Finding {
	r := &run{d: &Doctor{Config: &config.Config{}}}
	r.checkConfiguration(&connector{Connector: connectorkind.New(name, "", cfg), cluster: "file"})
	return newReport(r.findings, 1, 0, 0).Findings
}

func (r *run) checkState(c *connector) {
	restart := "fix the root cause, then restart the failed parts: " + r.command("restart", c, "--only-failed")
	switch c.status.Connector.State {
	case connect.StateFailed:
		r.add(Finding{Check: CheckConnectorFailed, Severity: Error, Target: c.target(),
			Message: "connector is FAILED" + traceLine(c.status.Connector.Trace), Fix: restart, Trace: c.status.Connector.Trace})
	case connect.StateUnassigned:
		r.add(unassigned(c.target(), "connector"))
	case connect.StatePaused, connect.StateStopped:
		r.add(Finding{Check: CheckConnectorFailed, Severity: Info, Target: c.target(),
			Message: "connector is " + c.status.Connector.State + ": it moves no data until resumed",
			Fix:     "when intended, nothing; otherwise " + r.command("resume", c)})
	}
	for _, t := range c.status.Tasks {
		if t.State == connect.StateFailed {
			r.add(Finding{Check: CheckConnectorFailed, Severity: Error, Target: taskTarget(c.cluster, c.Name, t.ID),
				Message: "task is FAILED" + traceLine(t.Trace), Fix: restart, Trace: t.Trace})
		}
		if t.State == connect.StateUnassigned {
			r.add(unassigned(taskTarget(c.cluster, c.Name, t.ID), "task"))
		}
	}
}

// unassigned: no worker runs the connector or task. That is normal for
// moments during a rebalance, and for up to the worker's
// scheduled.rebalance.max.delay.ms (default 5 minutes) after a worker
// leaves, while Connect waits for it to come back; one check cannot tell
// which, so it is a warning (CDCConnectorUnassigned fires when it lasts).
func unassigned(target, what string) Finding {
	return Finding{Check: CheckConnectorUnassigned, Severity: Warning, Target: target,
		Message: what + " is UNASSIGNED: no worker runs it, so it moves no data; this is normal only during a rebalance or for up to scheduled.rebalance.max.delay.ms (default 5m) after a worker left",
		Fix:     "if it stays UNASSIGNED, check that every worker of the cluster is up and has joined the group (the workers' logs, GET / on each); Connect reassigns a departed worker's work once scheduled.rebalance.max.delay.ms has passed"}
}

// command is this tool's own command line for an action on c, naming the
// cluster when the configuration has several.
func (r *run) command(action string, c *connector, flags ...string) string {
	parts := []string{"cdc-sentinel connectors", action, shellQuote(c.Name)}
	if r.d.Config != nil && len(r.d.Config.ConnectClusters) > 1 {
		parts = append(parts, "--connect-cluster="+shellQuote(c.cluster))
	}
	return strings.Join(append(parts, flags...), " ")
}

// shellQuote leaves plain names as they are and single-quotes the rest.
func shellQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+=:,@/", r)) {
			plain = false
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// traceLine is the root cause of a failure, as the trace's innermost
// "Caused by:" names it: what to fix, not the wrapper it surfaced in.
func traceLine(trace string) string {
	if strings.TrimSpace(trace) == "" {
		return ""
	}
	return ": " + connect.RootCause(trace)
}

// checkSinkErrors: with errors.tolerance=none (Connect's default) one bad
// record fails the task and stops the whole sink; with all and no
// dead-letter topic, bad records are skipped and only logged, which is
// silent data loss. Connect writes to a dead-letter topic only for sinks
// and only with tolerance all.
func (r *run) checkSinkErrors(c *connector) {
	tolerance := c.ErrorsTolerance()
	dlq := c.DLQTopic()
	suggested := c.Name + "-dlq"
	if tolerance == "none" {
		msg := "errors.tolerance is none (the default): one record that fails conversion or a transform fails the task and stops the sink for every table"
		if dlq != "" {
			msg += fmt.Sprintf("; the dead-letter topic %s is never written with tolerance none", dlq)
		}
		fix := "set errors.tolerance=all"
		if dlq == "" {
			fix += fmt.Sprintf(" together with errors.deadletterqueue.topic.name=%s and errors.deadletterqueue.context.headers.enable=true", suggested)
		}
		r.add(Finding{Check: CheckSinkErrorsTolerance, Severity: Warning, Target: c.target(), Message: msg, Fix: fix})
	}
	if dlq != "" && tolerance == "all" && !strings.EqualFold(c.Get(connectorkind.KeyDLQHeaders, "false"), "true") {
		// Without context headers a dead-lettered record does not say
		// where it came from or why it failed.
		r.add(Finding{Check: CheckSinkDLQHeaders, Severity: Warning, Target: c.target(),
			Message: fmt.Sprintf("the dead-letter topic %s gets no context headers: its records do not say their original topic, partition and offset or the error, so cdc_dlq_errors_total counts them as unknown and dlq replay cannot send them back", dlq),
			Fix:     "set errors.deadletterqueue.context.headers.enable=true"})
	}
	if dlq == "" {
		sev, msg := Warning, "no dead-letter queue (errors.deadletterqueue.topic.name unset): records that fail are not kept anywhere to inspect or replay"
		if tolerance == "all" {
			sev, msg = Error, "errors.tolerance=all without a dead-letter queue: records that fail are skipped and only logged, so rows go missing in the target silently"
		}
		r.add(Finding{Check: CheckSinkDLQ, Severity: sev, Target: c.target(), Message: msg,
			Fix: fmt.Sprintf("set errors.deadletterqueue.topic.name=%s, errors.deadletterqueue.context.headers.enable=true and errors.deadletterqueue.topic.replication.factor to at most the number of brokers (default 3)", suggested)})
	}
}

// checkDLQTopics: Connect creates a sink's dead-letter topic when a task
// starts; a missing one means no task has started since it was set, or
// creation failed (a replication factor above the broker count is the
// usual cause), and dead-letter volume cannot be watched.
func (r *run) checkDLQTopics() {
	if r.topics == nil {
		return
	}
	for _, c := range r.connectors {
		dlq := c.DLQTopic()
		if dlq == "" || r.topics[dlq] {
			continue
		}
		rf := c.DLQReplicationFactor()
		r.add(Finding{Check: CheckDLQTopicMissing, Severity: Warning, Target: c.target(),
			Message: fmt.Sprintf("dead-letter topic %s does not exist in Kafka: Connect creates it when a task starts, so the sink has not started since it was set or the creation failed (replication factor %s)", dlq, rf),
			Fix:     fmt.Sprintf("check the task log for the creation error, make errors.deadletterqueue.topic.replication.factor at most the broker count, or create it: kafka-topics.sh --bootstrap-server <broker> --create --topic %s --partitions 1 --replication-factor %s", dlq, rf)})
	}
}

// checkHeartbeat: without heartbeats a Debezium source emits nothing while
// its tables are idle, so its offsets (and the lag read from them) stand
// still, and a PostgreSQL slot holds WAL that other databases write.
func (r *run) checkHeartbeat(c *connector) {
	if c.HeartbeatMillis() > 0 {
		return
	}
	fix := "set heartbeat.interval.ms=10000"
	if c.Driver() == config.DriverPostgres {
		fix += "; on a database where the captured tables can be idle, also set heartbeat.action.query (for example an upsert into a one-row heartbeat table that is in the publication) so the slot keeps advancing"
	}
	r.add(Finding{Check: CheckSourceHeartbeat, Severity: Warning, Target: c.target(),
		Message: "no heartbeat (heartbeat.interval.ms unset or 0): while the captured tables are idle the connector commits no offsets, so lag cannot be told apart from a stall",
		Fix:     fix})
}

// checkTasksMax: tasks.max above what the connector can run starts no
// extra task (the SQL Server source runs at most one per database, the
// other Debezium sources one) and suggests the intent was different.
func (r *run) checkTasksMax(c *connector) {
	tasks := c.TasksMax()
	if c.CheckTasks(tasks) == "" {
		return
	}
	limit, why := c.TaskLimit()
	r.add(Finding{Check: CheckSourceTasksMax, Severity: Warning, Target: c.target(),
		Message: fmt.Sprintf("tasks.max is %d but %s, so the extra tasks never start or only idle", tasks, why),
		Fix:     fmt.Sprintf("set tasks.max=%d", limit)})
}

// checkSourceSignal: incremental snapshots, which repairs use to re-send
// rows, need the signal table even when signals arrive through Kafka (the
// snapshot's watermarks are written to it).
func (r *run) checkSourceSignal(c *connector) {
	if st := c.SignalTable(); st != "" {
		if _, _, _, ok := c.Kind().ParseDataCollection(st); !ok && c.Kind() != connectorkind.Unknown {
			r.add(Finding{Check: CheckSignal, Severity: Error, Target: c.target(),
				Message: fmt.Sprintf("signal.data.collection=%s is not named the way the %s names tables (%s): it never finds its signal table, so incremental snapshots and repairs do not run", st, c.Kind(), c.Kind().DataCollectionFormat()),
				Fix:     fmt.Sprintf("set signal.data.collection=%s", c.Kind().DataCollection(firstNonEmpty(firstOf(c.DatabaseNames()), "<database>"), st))})
		}
		return
	}
	r.add(Finding{Check: CheckSignal, Severity: Warning, Target: c.target(),
		Message: "no signal table (signal.data.collection unset): incremental snapshots cannot run, so repair cannot re-send rows through this connector",
		Fix:     "create a signal table and set signal.data.collection=<schema>.debezium_signal and signal.enabled.channels=source:\n" + signalTableDDL(c.Driver(), "<schema>.debezium_signal")})
}

// checkNotifications: a repair re-sends rows through an incremental
// snapshot; only with the sink notification channel does the connector
// say when that snapshot started, how far it got and whether it
// finished, so cdc-sentinel can show a repair's progress and report one
// that never completes.
func (r *run) checkNotifications(c *connector) {
	topic := firstNonEmpty(c.TopicPrefix(), "<topic.prefix>") + ".notifications"
	if !c.NotificationChannels()[connectorkind.NotificationChannelSink] {
		r.add(Finding{Check: CheckNotification, Severity: Info, Target: c.target(),
			Message: "the sink notification channel is off (notification.enabled.channels has no sink): a repair's incremental snapshot cannot be followed, so the reconcile API cannot show its progress or report one that never completes",
			Fix:     fmt.Sprintf("set notification.enabled.channels=sink and notification.sink.topic.name=%s, and tables[].signal.notification_topic to the same topic", topic)})
		return
	}
	if c.NotificationTopic() == "" {
		r.add(Finding{Check: CheckNotification, Severity: Error, Target: c.target(),
			Message: "notification.enabled.channels has sink but notification.sink.topic.name is unset: Debezium refuses this configuration",
			Fix:     "set notification.sink.topic.name=" + topic})
	}
}

// signalTableDDL is Debezium's documented signal table layout.
func signalTableDDL(driver, table string) string {
	ddl := "CREATE TABLE " + table + " (id VARCHAR(42) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL);"
	if driver == config.DriverSQLServer {
		schema, name := connectorkind.SplitTable(driver, table)
		d := sqldialect.SQLServer{}
		ddl += fmt.Sprintf("\nEXEC sys.sp_cdc_enable_table @source_schema = %s, @source_name = %s, @role_name = NULL;", d.Literal(schema), d.Literal(name))
	}
	return ddl
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
