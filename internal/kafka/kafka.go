// Package kafka is cdc-sentinel's Kafka client, built from config.Kafka:
// it reads topic end offsets (dead-letter volume) with franz-go's admin
// client.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	promcfg "github.com/prometheus/common/config"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
)

// Client talks to the configured Kafka cluster.
type Client struct {
	kgo *kgo.Client
	adm *kadm.Client
}

// New builds a client; it connects lazily, so a dead cluster fails
// requests, not the start. extra options are appended (tests use them).
func New(cfg config.Kafka, extra ...kgo.Opt) (*Client, error) {
	opts, err := Options(cfg)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return &Client{kgo: cl, adm: kadm.NewClient(cl)}, nil
}

// Options translates the configuration into franz-go options.
func Options(cfg config.Kafka) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID("cdc-sentinel"),
	}
	if cfg.Timeout > 0 {
		opts = append(opts, kgo.DialTimeout(cfg.Timeout), kgo.RetryTimeout(cfg.Timeout))
	}
	if cfg.TLS != nil && cfg.TLS.Enabled {
		pc := cfg.TLS.Prometheus()
		tc, err := promcfg.NewTLSConfig(&pc)
		if err != nil {
			return nil, fmt.Errorf("kafka tls: %w", err)
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if s := cfg.SASL; s != nil {
		m, err := mechanism(s)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func mechanism(s *config.SASL) (sasl.Mechanism, error) {
	password := s.Password.Reveal()
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("kafka sasl: reading password_file: %w", err)
		}
		password = strings.TrimSpace(string(b))
	}
	switch s.Mechanism {
	case "PLAIN":
		return plain.Auth{User: s.Username, Pass: password}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.Username, Pass: password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.Username, Pass: password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka sasl: unsupported mechanism %q", s.Mechanism)
}

// Kgo is the underlying franz-go client, for producing.
func (c *Client) Kgo() *kgo.Client { return c.kgo }

// Close releases the client's connections.
func (c *Client) Close() { c.kgo.Close() }

// TopicEnd is the sum of a topic's partition end offsets: how many
// records were ever written to it. Log compaction and retention do not
// lower it, so it only falls when the topic is deleted and re-created.
type TopicEnd struct {
	Records int64
	// Exists is false when the broker does not know the topic (a DLQ
	// topic is created with the first dead-lettered record).
	Exists bool
	// Err is set when some partition's end offset could not be read; then
	// Records is a partial sum and must not be reported.
	Err error
}

// EndOffsets reads the end offsets of topics in one metadata and one
// ListOffsets round trip per broker.
func (c *Client) EndOffsets(ctx context.Context, topics ...string) (map[string]TopicEnd, error) {
	if len(topics) == 0 {
		return map[string]TopicEnd{}, nil
	}
	listed, err := c.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %s: %w", strings.Join(topics, ", "), err)
	}
	out := make(map[string]TopicEnd, len(topics))
	var errs []error
	for _, t := range topics {
		parts, ok := listed[t]
		if !ok {
			out[t] = TopicEnd{}
			continue
		}
		end := TopicEnd{Exists: true}
		for _, p := range parts {
			switch {
			case errors.Is(p.Err, kerr.UnknownTopicOrPartition) && p.Partition == -1:
				end.Exists = false
			case p.Err != nil:
				end.Err = fmt.Errorf("end offset of %s[%d]: %w", t, p.Partition, p.Err)
				errs = append(errs, end.Err)
			case p.Offset > 0:
				end.Records += p.Offset
			}
		}
		out[t] = end
	}
	return out, errors.Join(errs...)
}

// Ping checks that a broker answers.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.kgo.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: no broker answered: %w", err)
	}
	return nil
}
