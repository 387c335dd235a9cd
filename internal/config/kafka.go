package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/retention"
)

// Kafka is the cluster the pipeline's topics live in; cdc-sentinel reads
// dead-letter topic end offsets and writes repair signals there.
type Kafka struct {
	Brokers []string      `yaml:"brokers" want:"a list of host:port"`
	TLS     *KafkaTLS     `yaml:"tls,omitempty"`
	SASL    *SASL         `yaml:"sasl,omitempty"`
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// SchemaRegistry is where the converters keep value schemas; without
	// it, schema checks read the newest record's inline schema.
	SchemaRegistry *SchemaRegistry `yaml:"schema_registry,omitempty"`
	// OutageBudget is how long a sink may be down before its topics must
	// still hold what it has not consumed (doctor compares the CDC
	// topics' retention, and SQL Server's CDC cleanup retention, with it).
	OutageBudget time.Duration `yaml:"outage_budget,omitempty"`
}

// KafkaTLS turns on TLS to the brokers.
type KafkaTLS struct {
	Enabled   bool `yaml:"enabled"`
	TLSConfig `yaml:",inline"`
}

// SASL authenticates to the brokers.
type SASL struct {
	Mechanism    string `yaml:"mechanism"`
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
}

func (k *Kafka) applyDefaults() {
	if k.Timeout == 0 {
		k.Timeout = 10 * time.Second
	}
	if k.OutageBudget == 0 {
		k.OutageBudget = retention.DefaultOutageBudget
	}
}

func (k *Kafka) validate(v *validator, p string) {
	if k.OutageBudget < 0 {
		v.fail(p+".outage_budget", "%s is negative", k.OutageBudget)
	}
	if len(k.Brokers) == 0 {
		v.fail(p+".brokers", "at least one broker is required")
	}
	for i, b := range k.Brokers {
		if !strings.Contains(b, ":") {
			v.fail(p+".brokers["+strconv.Itoa(i)+"]", "%q is not host:port", b)
		}
	}
	if k.TLS != nil {
		k.TLS.validate(v, p+".tls")
	}
	if k.SchemaRegistry != nil {
		k.SchemaRegistry.validate(v, p+".schema_registry")
	}
	if s := k.SASL; s != nil {
		switch s.Mechanism {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			v.fail(p+".sasl.mechanism", "%q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", s.Mechanism)
		}
		if s.Username == "" {
			v.fail(p+".sasl.username", "required")
		}
		if s.Password != "" && s.PasswordFile != "" {
			v.fail(p+".sasl.password_file", "password and password_file are mutually exclusive")
		}
	}
}
