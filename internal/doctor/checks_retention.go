package doctor

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// TopicRetentionReader reads topics' deletion settings (KafkaTopics does,
// through kafka.Client.TopicRetentions): errOf says why a topic has none.
type TopicRetentionReader interface {
	TopicRetentions(ctx context.Context, topics ...string) (map[string]retention.TopicRetention, func(topic string) error)
}

// checkTopicRetention reads the retention of the configured tables' CDC
// topics and of the sources' schema history topics once, and judges
// them with internal/retention: a CDC topic must keep what a sink has
// not consumed for the outage budget (kafka.outage_budget), a schema
// history topic for ever. The retentions are kept for the SQL Server
// cleanup check.
func (r *run) checkTopicRetention(ctx context.Context) {
	reader, ok := r.d.Kafka.(TopicRetentionReader)
	if !ok || r.d.Config.Kafka == nil {
		return
	}
	cdc, history := r.retentionTopics()
	topics := slices.Clone(cdc)
	for t := range history {
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return
	}
	slices.Sort(topics)
	got, errOf := reader.TopicRetentions(ctx, topics...)
	r.topicRetention = got
	for _, t := range topics {
		if err := errOf(t); err != nil {
			r.add(Finding{Check: CheckTopicRetention, Severity: Info, Target: topicTarget(t), Message: "cannot read the topic's retention: " + err.Error(),
				Fix: "grant cdc-sentinel's Kafka principal DescribeConfigs on the topic"})
		}
	}
	r.checkCDCTopicRetention(cdc, got)
	r.checkHistoryTopicRetention(history, got)
}

// retentionTopics are the existing CDC topics of the configured tables,
// and the existing schema history topics with the connectors writing
// each.
func (r *run) retentionTopics() (cdc []string, history map[string][]*connector) {
	for i := range r.d.Config.Tables {
		for _, t := range r.topicsOf(&r.d.Config.Tables[i]) {
			if !slices.Contains(cdc, t) && r.topicExists(t) {
				cdc = append(cdc, t)
			}
		}
	}
	history = map[string][]*connector{}
	for _, c := range r.connectors {
		if t := c.SchemaHistoryTopic(); t != "" && r.topicExists(t) {
			history[t] = append(history[t], c)
		}
	}
	return cdc, history
}

// checkCDCTopicRetention warns of CDC topics keeping changes for less
// than the outage budget.
func (r *run) checkCDCTopicRetention(cdc []string, got map[string]retention.TopicRetention) {
	budget := r.d.Config.Kafka.OutageBudget
	for _, t := range cdc {
		tr, ok := got[t]
		if !ok || !tr.ShortOf(budget) {
			continue
		}
		r.add(Finding{Check: CheckTopicRetention, Severity: Warning, Target: topicTarget(t),
			Message: fmt.Sprintf("the topic keeps changes for %s (retention.ms=%d), less than the outage budget of %s (kafka.outage_budget): a sink down for longer loses the changes retention deletes meanwhile%s",
				days(tr.Seconds()), tr.Ms, days(budget.Seconds()), sizeNote(tr)),
			Fix: fmt.Sprintf("kafka-configs.sh --bootstrap-server BROKER --alter --entity-type topics --entity-name %s --add-config retention.ms=%d (or lower kafka.outage_budget to the outage the pipeline must survive)",
				t, budget.Milliseconds())})
	}
}

// checkHistoryTopicRetention reports schema history topics not kept for
// ever.
func (r *run) checkHistoryTopicRetention(history map[string][]*connector, got map[string]retention.TopicRetention) {
	for t, owners := range history {
		tr, ok := got[t]
		if !ok || tr.KeepsForever() {
			continue
		}
		names := make([]string, len(owners))
		for i, c := range owners {
			names[i] = c.target()
		}
		r.add(Finding{Check: CheckSchemaHistoryRetention, Severity: Error, Target: topicTarget(t),
			Message: fmt.Sprintf("the Debezium schema history topic of %v is not kept for ever (retention.ms=%d, retention.bytes=%d): once retention deletes its oldest records, the connector cannot rebuild its table schemas and fails at its next restart",
				names, tr.Ms, tr.Bytes),
			Fix: fmt.Sprintf("kafka-configs.sh --bootstrap-server BROKER --alter --entity-type topics --entity-name %s --add-config retention.ms=-1,retention.bytes=-1", t)})
	}
}

// checkCleanupRetention compares a SQL Server source database's CDC
// cleanup retention with what its tables' topics keep: a source
// connector stopped for longer than the cleanup retention loses changes
// the rest of the pipeline could still have carried.
func (r *run) checkCleanupRetention(name string, cleanup time.Duration) {
	if r.topicRetention == nil || r.d.Config.Kafka == nil {
		return
	}
	var topics []retention.TopicRetention
	for i := range r.d.Config.Tables {
		t := &r.d.Config.Tables[i]
		if t.Source.Database != name {
			continue
		}
		for _, topic := range r.topicsOf(t) {
			if tr, ok := r.topicRetention[topic]; ok {
				topics = append(topics, tr)
			}
		}
	}
	need, ok := retention.SourceNeeds(topics, r.d.Config.Kafka.OutageBudget)
	if !ok || cleanup >= need {
		return
	}
	r.add(Finding{Check: CheckSQLServerCleanupRetention, Severity: Warning, Target: databaseTarget(name),
		Message: fmt.Sprintf("the CDC cleanup job keeps changes for %s (msdb.dbo.cdc_jobs.retention=%d minutes), less than the %s its topics in Kafka keep them (or the outage budget, when they keep them for ever): a source connector stopped for longer loses changes the rest of the pipeline could have carried",
			days(cleanup.Seconds()), int64(cleanup/time.Minute), days(need.Seconds())),
		Fix: fmt.Sprintf("EXEC sys.sp_cdc_change_job @job_type = N'cleanup', @retention = %d; (in the database, as db_owner; retention is in minutes)", int64((need+time.Minute-1)/time.Minute))})
}

func (r *run) topicExists(t string) bool { return r.topics == nil || r.topics[t] }

func topicTarget(name string) string { return "topic:" + name }

// days writes a duration in seconds as days, hours or minutes.
func days(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%.1f hours", d.Hours())
	default:
		return d.String()
	}
}

func sizeNote(tr retention.TopicRetention) string {
	if !tr.SizeLimited() {
		return ""
	}
	return fmt.Sprintf("; it also deletes by size (retention.bytes=%d per partition), which can come sooner", tr.Bytes)
}
