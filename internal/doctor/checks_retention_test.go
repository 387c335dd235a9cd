package doctor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// fakeRetentions is a Kafka cluster whose topics have fixed retention
// settings; a topic in errs has none.
type fakeRetentions struct {
	of   map[string]retention.TopicRetention
	errs map[string]error
}

func (f fakeRetentions) Topics(context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	for t := range f.of {
		out[t] = true
	}
	for t := range f.errs {
		out[t] = true
	}
	return out, nil
}

func (f fakeRetentions) TopicRetentions(_ context.Context, topics ...string) (map[string]retention.TopicRetention, func(string) error) {
	out := map[string]retention.TopicRetention{}
	for _, t := range topics {
		if r, ok := f.of[t]; ok {
			out[t] = r
		}
	}
	return out, func(t string) error { return f.errs[t] }
}

const day = int64(24 * 3600 * 1000)

func keptFor(ms int64) retention.TopicRetention {
	return retention.TopicRetention{Ms: ms, Bytes: -1, Delete: true}
}

// retentionDoctor is the SQL Server pipeline of mssqlDoctor (cleanup
// retention 4320 minutes, 3 days) with a Kafka cluster whose topics keep
// records as given, the source keeping its schema history in erp-history.
func retentionDoctor(t *testing.T, kafka fakeRetentions) *Doctor {
	t.Helper()
	d, _ := mssqlDoctor(t, mssqlState{dbCDC: true, tracked: true, instances: 1, jobs: []string{"capture", "cleanup"}, agent: "Running"}, "1")
	d.Config.Kafka = &config.Kafka{Brokers: []string{"kafka:9092"}, OutageBudget: retention.DefaultOutageBudget}
	d.Clusters[0].Client.(fakeCluster).conns[0].Info.Config["schema.history.internal.kafka.topic"] = "erp-history"
	d.Kafka = kafka
	return d
}

func TestDoctorRetentionFindings(t *testing.T) {
	const topic, history = "erp.shop.dbo.orders", "erp-history"
	cases := []struct {
		name          string
		kafka         fakeRetentions
		check, target string
		sev           Severity
		msg, fix      string
		quiet         []string // checks that must say nothing
	}{
		{name: "a CDC topic keeping 3 days against a 7-day budget",
			kafka: fakeRetentions{of: map[string]retention.TopicRetention{topic: keptFor(3 * day), history: keptFor(-1)}},
			check: CheckTopicRetention, target: "topic:" + topic, sev: Warning,
			msg: "keeps changes for 3 days (retention.ms=259200000), less than the outage budget of 7 days",
			fix: "--entity-name erp.shop.dbo.orders --add-config retention.ms=604800000",
			// 3 days of cleanup against 3 days of topic: the source is not the weaker.
			quiet: []string{CheckSQLServerCleanupRetention, CheckSchemaHistoryRetention}},
		{name: "SQL Server's cleanup keeps 3 days, Kafka 14",
			kafka: fakeRetentions{of: map[string]retention.TopicRetention{topic: keptFor(14 * day), history: keptFor(-1)}},
			check: CheckSQLServerCleanupRetention, target: "database:shop", sev: Warning,
			msg:   "keeps changes for 3 days (msdb.dbo.cdc_jobs.retention=4320 minutes), less than the 14 days its topics in Kafka keep them",
			fix:   "EXEC sys.sp_cdc_change_job @job_type = N'cleanup', @retention = 20160;",
			quiet: []string{CheckTopicRetention}},
		{name: "Kafka keeps for ever: the cleanup is held to the outage budget",
			kafka: fakeRetentions{of: map[string]retention.TopicRetention{topic: keptFor(-1), history: keptFor(-1)}},
			check: CheckSQLServerCleanupRetention, target: "database:shop", sev: Warning,
			msg: "less than the 7 days", fix: "@retention = 10080;",
			quiet: []string{CheckTopicRetention, CheckSchemaHistoryRetention}},
		{name: "a schema history topic with Kafka's default 7 days",
			kafka: fakeRetentions{of: map[string]retention.TopicRetention{topic: keptFor(7 * day), history: keptFor(7 * day)}},
			check: CheckSchemaHistoryRetention, target: "topic:" + history, sev: Error,
			msg:   "schema history topic of [connector:c/shop-src] is not kept for ever (retention.ms=604800000, retention.bytes=-1)",
			fix:   "--entity-name erp-history --add-config retention.ms=-1,retention.bytes=-1",
			quiet: []string{CheckTopicRetention}},
		{name: "a topic whose configuration cannot be read",
			kafka: fakeRetentions{of: map[string]retention.TopicRetention{history: keptFor(-1)}, errs: map[string]error{topic: errors.New("TOPIC_AUTHORIZATION_FAILED")}},
			check: CheckTopicRetention, target: "topic:" + topic, sev: Info,
			msg: "cannot read the topic's retention: TOPIC_AUTHORIZATION_FAILED", fix: "DescribeConfigs",
			quiet: []string{CheckSQLServerCleanupRetention, CheckSchemaHistoryRetention}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := retentionDoctor(t, c.kafka).Run(context.Background())
			mustFind(t, r, c.check, c.target, c.sev, c.msg, c.fix)
			for _, q := range c.quiet {
				for _, f := range r.Findings {
					if f.Check == q {
						t.Errorf("unexpected %s finding: %+v", q, f)
					}
				}
			}
		})
	}
}

func TestDoctorRetentionAcceptsDebeziumsOwnHistoryTopicAndAShorterBudget(t *testing.T) {
	d := retentionDoctor(t, fakeRetentions{of: map[string]retention.TopicRetention{
		"erp.shop.dbo.orders": keptFor(3 * day),
		"erp-history":         keptFor(9223372036854775807), // Long.MAX_VALUE, as Debezium creates it
	}})
	d.Config.Kafka.OutageBudget = 48 * time.Hour
	r := d.Run(context.Background())
	for _, check := range []string{CheckTopicRetention, CheckSchemaHistoryRetention, CheckSQLServerCleanupRetention} {
		for _, f := range r.Findings {
			if f.Check == check {
				t.Errorf("unexpected %s finding: %+v", check, f)
			}
		}
	}
}
