package dashboards

// Filters every query applies, from the template variables.
const (
	cc    = `connect_cluster=~"$connect_cluster"`
	ccCon = `connect_cluster=~"$connect_cluster",connector=~"$connector"`
	tbl   = `table=~"$table"`
	// remTarget selects remediation decisions by their target; "All"
	// (.*) also matches the decisions that name no connector or table.
	remTarget = ccCon + `,` + tbl
)

// All returns every dashboard, keyed by the file name under dashboards/.
func All() map[string]Dashboard {
	return map[string]Dashboard{
		"cdc-sentinel-overview.json":    overview(),
		"cdc-sentinel-connector.json":   connectorDetail(),
		"cdc-sentinel-tables.json":      tables(),
		"cdc-sentinel-remediation.json": remediation(),
	}
}

// Recording rules (rules/cdc-sentinel.recording.yml) the overview reads:
// already aggregated per cluster and state, or per table, so that a wall
// screen refreshing every 30s does not rescan every connector's series.
const (
	recConnectors = "connect_cluster_state:cdc_connect_connectors:count"
	recTasks      = "connect_cluster_state:cdc_connect_tasks:count"
	recTableLag   = "table:cdc_table_lag_seconds:max"
	recWorstLag   = ":cdc_table_lag_seconds:max"
	recDLQRate    = "connect_cluster_connector_topic:cdc_dlq_records:rate5m"
	recDrift1h    = "table_kind:cdc_drift_rows_mismatched:increase1h"
	recRemRate    = "rule_action_outcome:cdc_remediation_actions:rate5m"
)

// needsHuman are the remediation outcomes CDCRemediationFailing fires on.
const needsHuman = `outcome=~"failure|not_retryable|suppressed_max_attempts|invalid_args"`

// brokenSince lists the CDC alerts pending or firing and how long each has
// been so: ALERTS_FOR_STATE holds the time the rule first saw the
// condition, in the labels that say what is broken.
func brokenSince(filter string) query {
	return q(`time() - max by (alertname, severity, connect_cluster, connector, task, table) (ALERTS_FOR_STATE{alertname=~"CDC.+",`+filter+`})`, "")
}

func overview() Dashboard {
	b := newDashboard("cdc-sentinel-overview", "CDC pipeline overview",
		"Pipeline health at a glance: what is broken and since when, which table lags, dead-letter volume, drift and remediations.",
		clusterVar, connectorVar, tableVar)
	b.row("Health")
	b.stat("Connect clusters down", "Clusters cdc-sentinel cannot list connectors on (cdc_connect_up == 0).", "short", f(1), 3, 4,
		q(`count(max by (connect_cluster) (cdc_connect_up{`+cc+`}) == 0) or vector(0)`, ""))
	b.stat("Failed connectors", "Connector instances in state FAILED (CDCConnectorFailed); their tasks are not reconfigured.", "short", f(1), 3, 4,
		q(`sum(`+recConnectors+`{`+cc+`,state="FAILED"}) or vector(0)`, ""))
	b.stat("Failed tasks", "Tasks in state FAILED (CDCConnectorTaskFailed).", "short", f(1), 3, 4,
		q(`sum(`+recTasks+`{`+cc+`,state="FAILED"}) or vector(0)`, ""))
	b.stat("Unassigned", "Connectors and tasks no worker runs (UNASSIGNED; CDCConnectorUnassigned after 10m).", "short", f(1), 3, 4,
		q(`(sum(`+recConnectors+`{`+cc+`,state="UNASSIGNED"}) or vector(0)) + (sum(`+recTasks+`{`+cc+`,state="UNASSIGNED"}) or vector(0))`, ""))
	b.stat("Paused connectors", "Connectors PAUSED (STOPPED ones are counted on the state graph).", "short", f(1), 3, 4,
		q(`sum(`+recConnectors+`{`+cc+`,state="PAUSED"}) or vector(0)`, ""))
	b.stat("Worst table lag", "The largest table lag among the selected tables.", "s", f(300), 3, 4,
		q(`max(`+recTableLag+`{`+tbl+`})`, ""))
	b.stat("Dead-lettered (1h)", "Records written to dead-letter topics in the last hour.", "short", f(1), 3, 4,
		q(`sum(max by (connect_cluster, connector, topic) (increase(cdc_dlq_records_total{`+ccCon+`}[1h]))) or vector(0)`, ""))
	b.stat("Tables drifting", "Tables whose latest sampled checks found differing rows.", "short", f(1), 3, 4,
		q(`count(max by (table) (cdc_drift_estimated_mismatch_ratio{`+tbl+`}) > 0) or vector(0)`, ""))

	b.row("What is broken, since when")
	b.table("Broken now", "Every CDC alert pending or firing for the selection, and for how long its condition has held (alerts without a connector or table match All).", "s", "since", 24, 7,
		brokenSince(ccCon+`,`+tbl))
	b.stateTimeline("Connectors not RUNNING", "When each connector instance left RUNNING, and for what state.", 12, 7,
		q(`max by (connect_cluster, connector, state) (cdc_connect_connector_state{`+ccCon+`,state!="RUNNING"}) == 1`, "{{connector}} {{state}}"))
	b.stateTimeline("Tasks not RUNNING", "When each task left RUNNING, and for what state.", 12, 7,
		q(`max by (connect_cluster, connector, task, state) (cdc_connect_task_state{`+ccCon+`,state!="RUNNING"}) == 1`, "{{connector}}/{{task}} {{state}}"))
	b.table("Connectors not RUNNING", "Every connector instance whose state is not RUNNING, now.", "none", "", 12, 6,
		q(`max by (connect_cluster, connector, state) (cdc_connect_connector_state{`+ccCon+`,state!="RUNNING"}) == 1`, ""))
	b.table("Tasks not RUNNING", "Every task whose state is not RUNNING, now.", "none", "", 12, 6,
		q(`max by (connect_cluster, connector, task, state) (cdc_connect_task_state{`+ccCon+`,state!="RUNNING"}) == 1`, ""))

	b.row("Connectors and tasks")
	b.timeseries("Connectors by state", "Connectors of the selected clusters per state.", "short", 12, 8,
		q(`sum by (state) (`+recConnectors+`{`+cc+`})`, "{{state}}"))
	b.timeseries("Tasks by state", "Tasks of the selected clusters per state.", "short", 12, 8,
		q(`sum by (state) (`+recTasks+`{`+cc+`})`, "{{state}}"))

	b.row("Lag and dead letters")
	b.table("Tables by lag", "Which table lags: every selected table, worst first.", "s", "lag", 8, 8,
		q(`sort_desc(`+recTableLag+`{`+tbl+`})`, ""))
	b.timeseries("Table lag", "Newest change committed at the source minus newest change applied at the target.", "s", 16, 8,
		q(recTableLag+`{`+tbl+`}`, "{{table}}"))
	b.timeseries("Connector offset lag", "Time of the source's newest change minus that of the change the connector last committed.", "s", 8, 8,
		q(`max by (connect_cluster, connector) (cdc_connector_offset_lag_seconds{`+ccCon+`})`, "{{connector}}"))
	b.timeseries("Dead-lettered records/s", "Records written to each sink's dead-letter topic (5m rate).", "ops", 8, 8,
		q(recDLQRate+`{`+ccCon+`}`, "{{connector}} → {{topic}}"))
	b.timeseries("Sink consumer lag", "Age of the oldest record each sink has not consumed, per topic (CDCSinkConsumerLagHigh).", "s", 12, 8,
		q(`max by (connector, topic) (cdc_sink_consumer_lag_seconds{`+ccCon+`})`, "{{connector}} ← {{topic}}"))
	b.timeseries("Estimated drift", "Share of sampled rows confirmed to differ (last 10 checks).", "percentunit", 12, 8,
		q(`max by (table) (cdc_drift_estimated_mismatch_ratio{`+tbl+`})`, "{{table}}"))

	b.row("Remediation and cdc-sentinel")
	b.timeseries("Remediation decisions/s", "Decisions of the remediator by action and outcome (5m rate, all targets).", "ops", 12, 8,
		q(`sum by (action, outcome) (`+recRemRate+`)`, "{{action}} {{outcome}}"))
	b.timeseries("Collector success", "1 when a collector's last scrape succeeded.", "bool", 6, 8,
		q(`min by (instance, collector) (cdc_scrape_collector_success)`, "{{instance}} {{collector}}"))
	b.timeseries("Collector duration", "Time each collector took per scrape.", "s", 6, 8,
		q(`max by (instance, collector) (cdc_scrape_collector_duration_seconds)`, "{{instance}} {{collector}}"))
	return b.d
}

func connectorDetail() Dashboard {
	b := newDashboard("cdc-sentinel-connector", "CDC connector detail",
		"One or more connectors: what is broken and since when, state history, tasks and their workers, lag, dead letters, and what remediation did to them.",
		clusterVar, connectorVar)
	b.row("State")
	b.table("Broken now", "CDC alerts pending or firing on these connectors, and for how long.", "s", "since", 24, 5,
		brokenSince(ccCon))
	b.stateTimeline("Connector state", "The connector instance's state over time.", 12, 7,
		q(`max by (connector, state) (cdc_connect_connector_state{`+ccCon+`}) == 1`, "{{connector}} {{state}}"))
	b.stateTimeline("Task states", "Each task's state over time.", 12, 7,
		q(`max by (connector, task, state) (cdc_connect_task_state{`+ccCon+`}) == 1`, "{{connector}}/{{task}} {{state}}"))
	b.table("Connectors", "Type and class of each connector.", "none", "", 12, 6,
		q(`max by (connect_cluster, connector, type, class) (cdc_connect_connector_info{`+ccCon+`})`, ""))
	b.table("Tasks and workers", "Which worker runs each task.", "none", "", 12, 6,
		q(`max by (connect_cluster, connector, task, worker) (cdc_connect_task_info{`+ccCon+`})`, ""))
	b.timeseries("Tasks per connector", "Tasks the connector has (tasks.max may be higher).", "short", 12, 6,
		q(`max by (connector) (cdc_connect_connector_tasks{`+ccCon+`})`, "{{connector}}"))
	b.timeseries("Connect REST listing time", "How long the cluster took to answer cdc-sentinel's listing.", "s", 12, 6,
		q(`max by (connect_cluster) (cdc_connect_list_duration_seconds{`+cc+`})`, "{{connect_cluster}}"))

	b.row("Progress")
	b.timeseries("Offset lag", "Source connectors: how far the committed offset is behind the source's newest change.", "s", 12, 8,
		q(`max by (connector) (cdc_connector_offset_lag_seconds{`+ccCon+`})`, "{{connector}}"))
	b.timeseries("Sink consumer lag (records)", "Sinks: records of each topic the consumer group has not consumed (end offset minus committed offset).", "short", 12, 8,
		q(`max by (connector, topic) (cdc_sink_consumer_lag_records{`+ccCon+`})`, "{{connector}} ← {{topic}}"))
	b.timeseries("Sink consumer lag (age)", "Sinks: age of the oldest record of each topic not yet consumed.", "s", 12, 8,
		q(`max by (connector, topic) (cdc_sink_consumer_lag_seconds{`+ccCon+`})`, "{{connector}} ← {{topic}}"))
	b.timeseries("Dead-lettered records/s", "Records the sink wrote to its dead-letter topic.", "ops", 12, 8,
		q(`max by (connector, topic) (rate(cdc_dlq_records_total{`+ccCon+`}[$__rate_interval]))`, "{{connector}} → {{topic}}"))
	b.timeseries("Dead-lettered by reason", "Records dead-lettered per error stage and exception class, from the records' Connect error headers (unknown without errors.deadletterqueue.context.headers.enable=true).", "short", 12, 8,
		q(`sum by (connector, stage, exception) (max by (connector, topic, stage, exception) (increase(cdc_dlq_errors_total{`+ccCon+`}[$__rate_interval])))`, "{{connector}} {{stage}} {{exception}}"))
	b.timeseries("DLQ records not classified", "Dead-lettered records cdc-sentinel skipped reading (more than 500 per partition between two scrapes, or deleted by retention first).", "short", 12, 8,
		q(`max by (connector, topic) (increase(cdc_dlq_errors_skipped_total{`+ccCon+`}[$__rate_interval]))`, "{{connector}} → {{topic}}"))
	b.stat("Dead-lettered in range", "Records dead-lettered over the dashboard's time range.", "short", f(1), 12, 4,
		q(`sum(max by (connector, topic) (increase(cdc_dlq_records_total{`+ccCon+`}[$__range])))`, ""))
	b.stat("Cluster reachable", "1 when cdc-sentinel could list connectors on the cluster.", "bool", nil, 12, 4,
		q(`min(cdc_connect_up{`+cc+`})`, ""))

	b.row("Remediation on these connectors")
	b.stat("Actions succeeded (range)", "Successful remediation actions on these connectors over the dashboard's range.", "short", nil, 6, 4,
		q(`sum(increase(cdc_remediation_actions_total{`+ccCon+`,outcome="success"}[$__range])) or vector(0)`, ""))
	b.stat("Needing a human (range)", "Remediations on these connectors that failed, will not be retried, ran out of attempts or did not fit the alert (CDCRemediationFailing).", "short", f(1), 6, 4,
		q(`sum(increase(cdc_remediation_actions_total{`+ccCon+`,`+needsHuman+`}[$__range])) or vector(0)`, ""))
	b.timeseries("Remediation decisions", "Each decision of the remediator on these connectors, by rule, action and outcome; details in the audit log (link above).", "short", 12, 8,
		q(`sum by (connector, rule, action, outcome) (increase(cdc_remediation_actions_total{`+ccCon+`}[$__rate_interval])) > 0`, "{{connector}}: {{rule}} {{action}} {{outcome}}"))
	return b.d
}

func tables() Dashboard {
	b := newDashboard("cdc-sentinel-tables", "CDC table lag and drift",
		"Per table: replication lag, sampled drift, full reconciles, and the health of the source's capture.",
		tableVar)
	b.row("Lag")
	b.stat("Worst lag, all tables", "The largest lag of any table cdc-sentinel watches, whatever the selection.", "s", f(300), 4, 8,
		q(recWorstLag, ""))
	b.table("Tables by lag", "Which table lags: every selected table, worst first.", "s", "lag", 6, 8,
		q(`sort_desc(`+recTableLag+`{`+tbl+`})`, ""))
	b.timeseries("Table lag", "Newest change committed at the source minus newest change applied at the target; 0 when caught up.", "s", 14, 8,
		q(recTableLag+`{`+tbl+`}`, "{{table}}"))
	b.timeseries("Time since last applied change", "Age of the newest change applied at the target.", "s", 24, 6,
		q(`time() - max by (table) (cdc_table_last_applied_timestamp_seconds{`+tbl+`})`, "{{table}}"))

	b.row("Drift")
	b.timeseries("Estimated mismatch ratio", "Confirmed mismatches over rows checked in the last 10 sampled checks.", "percentunit", 8, 8,
		q(`max by (table) (cdc_drift_estimated_mismatch_ratio{`+tbl+`})`, "{{table}}"))
	b.timeseries("Confirmed mismatches by kind", "Rows found missing, extra or changed at the target (confirmed on recheck).", "short", 8, 8,
		q(`max by (table, kind) (increase(cdc_drift_rows_mismatched_total{`+tbl+`}[$__rate_interval]))`, "{{table}} {{kind}}"))
	b.timeseries("Rows checked/s", "Rows compared by sampled checks.", "ops", 8, 8,
		q(`max by (table) (rate(cdc_drift_rows_checked_total{`+tbl+`}[$__rate_interval]))`, "{{table}}"))
	b.table("Confirmed mismatches (1h)", "Rows confirmed missing, extra or changed in the last hour, per table and kind.", "short", "rows", 8, 6,
		q(recDrift1h+`{`+tbl+`} > 0`, ""))
	b.table("Last drift check", "Time since each table was last sampled.", "s", "age", 8, 6,
		q(`time() - max by (table) (cdc_drift_last_check_timestamp_seconds{`+tbl+`})`, ""))

	b.row("Reconcile")
	b.timeseries("Reconcile runs", "Full reconciles by outcome.", "short", 8, 8,
		q(`max by (table, outcome) (increase(cdc_reconcile_runs_total{`+tbl+`}[$__rate_interval]))`, "{{table}} {{outcome}}"))
	b.table("Rows differing (last reconcile)", "Missing, extra and changed rows found by the last successful reconcile.", "short", "rows", 8, 8,
		q(`max by (table, kind) (cdc_reconcile_rows_differing{`+tbl+`})`, ""))
	b.timeseries("Reconcile duration", "How long the last reconcile took; running reconciles show as 1 on the right axis.", "s", 8, 8,
		q(`max by (table) (cdc_reconcile_duration_seconds{`+tbl+`})`, "{{table}}"),
		q(`max by (table) (cdc_reconcile_running{`+tbl+`})`, "{{table}} running"))
	b.stat("Since last successful reconcile", "Worst age of the last successful reconcile among the selected tables.", "s", nil, 8, 4,
		q(`max(time() - cdc_reconcile_last_success_timestamp_seconds{`+tbl+`})`, ""))

	b.row("Source capture")
	b.timeseries("Replication slot lag", "WAL not yet confirmed by each PostgreSQL slot's consumer.", "bytes", 8, 8,
		q(`max by (database, slot) (cdc_replication_slot_lag_bytes)`, "{{database}}/{{slot}}"))
	b.timeseries("Replication slot active", "1 while a consumer reads the slot.", "bool", 8, 8,
		q(`max by (database, slot) (cdc_replication_slot_active)`, "{{database}}/{{slot}}"))
	b.timeseries("SQL Server capture latency", "sys.dm_cdc_log_scan_sessions latency: capture job behind the log.", "s", 8, 8,
		q(`max by (database) (cdc_sqlserver_capture_latency_seconds)`, "{{database}}"))
	b.timeseries("Databases reachable", "1 when cdc-sentinel's queries against the database succeed.", "bool", 12, 6,
		q(`min by (database) (cdc_db_up)`, "{{database}}"))
	b.timeseries("Replication slot retained WAL", "WAL the server keeps for each slot (from restart_lsn).", "bytes", 12, 6,
		q(`max by (database, slot) (cdc_replication_slot_retained_wal_bytes)`, "{{database}}/{{slot}}"))
	return b.d
}

func remediation() Dashboard {
	b := newDashboard("cdc-sentinel-remediation", "CDC remediation activity",
		"What the remediator received and did: alerts, decisions by rule and outcome, action time, the circuit breaker, and the CDC alerts firing now.",
		clusterVar, connectorVar, tableVar)
	b.row("Now")
	b.stat("Circuit breaker", "1 while the breaker stops all actions (max_actions_per_hour reached).", "bool", f(1), 6, 4,
		q(`max(cdc_remediation_circuit_open)`, ""))
	b.stat("Actions succeeded (range)", "Successful actions on the selected targets over the dashboard's range.", "short", nil, 6, 4,
		q(`sum(increase(cdc_remediation_actions_total{`+remTarget+`,outcome="success"}[$__range])) or vector(0)`, ""))
	b.stat("Needing a human (range)", "failure, not_retryable, suppressed_max_attempts and invalid_args on the selected targets over the range.", "short", f(1), 6, 4,
		q(`sum(increase(cdc_remediation_actions_total{`+remTarget+`,`+needsHuman+`}[$__range])) or vector(0)`, ""))
	b.stat("CDC alerts firing", "CDC alerts firing in this Prometheus for the selected cluster, connector and table (alerts without one of these labels match All).", "short", f(1), 6, 4,
		q(`count(ALERTS{alertname=~"CDC.+",alertstate="firing",`+ccCon+`,`+tbl+`}) or vector(0)`, ""))
	b.table("CDC alerts pending or firing, since", "The CDC alerts now, with the labels the remediator acts on and how long each condition has held.", "s", "since", 24, 7,
		brokenSince(ccCon+`,`+tbl))

	b.row("Decisions")
	b.timeseries("Alerts received/s", "Webhook alerts by status, duplicates included.", "ops", 12, 8,
		q(`sum by (status) (rate(cdc_remediation_alerts_received_total[$__rate_interval]))`, "{{status}}"))
	b.timeseries("Decisions by target and outcome", "Per target (connector or table), rule and action.", "short", 12, 8,
		q(`sum by (connector, table, rule, action, outcome) (increase(cdc_remediation_actions_total{`+remTarget+`}[$__rate_interval])) > 0`, "{{connector}}{{table}}: {{rule}} {{action}} {{outcome}}"))
	b.timeseries("Action time (p50, p95)", "From starting an action to its verified outcome.", "s", 12, 8,
		q(`histogram_quantile(0.5, sum by (le, action) (rate(cdc_remediation_action_duration_seconds_bucket[$__rate_interval])))`, "p50 {{action}}"),
		q(`histogram_quantile(0.95, sum by (le, action) (rate(cdc_remediation_action_duration_seconds_bucket[$__rate_interval])))`, "p95 {{action}}"))
	b.timeseries("Actions per second", "All verified actions, by action.", "ops", 12, 8,
		q(`sum by (action) (rate(cdc_remediation_action_duration_seconds_count[$__rate_interval]))`, "{{action}}"))
	return b.d
}
