package connectaction

import (
	"regexp"
	"strings"
)

// A failure class a restart cannot fix. Connect keeps a failed task's
// stack trace in its status; the exception chain names the cause.
type notRetryable struct {
	class string
	re    *regexp.Regexp
}

// Patterns are matched against the whole trace, causes included, because
// Connect wraps the real cause in "Tolerance exceeded in error handler" or
// "Exiting WorkerSinkTask due to unrecoverable exception". A column type
// mismatch is deliberately not here: fixing the table and restarting the
// task is the usual cure, and the restart is what heals it.
var notRetryablePatterns = []notRetryable{
	{"configuration", regexp.MustCompile(`org\.apache\.kafka\.common\.config\.ConfigException|Missing required configuration|Invalid value .* for configuration|Connector configuration is invalid`)},
	// PostgreSQL (42703 undefined_column, 42P01 undefined_table), SQL Server
	// (Invalid column/object name), MySQL, and Debezium's own messages.
	{"missing column", regexp.MustCompile(`(?i)column "?[\w.$]+"?( of relation "?[\w.$]+"?)? does not exist|Invalid column name|Unknown column '|SQLState: 42703|SQL state \[?42703`)},
	{"missing table", regexp.MustCompile(`(?i)relation "?[\w.$]+"? does not exist|Invalid object name|Table '?[\w.$]+'? doesn't exist|table "?[\w.$]+"? does not exist|SQLState: 42P01|SQL state \[?42P01|Could not find table|Unable to find table`)},
	// PostgreSQL 28P01, SQL Server 18456, Kafka SASL and ACLs.
	{"authentication", regexp.MustCompile(`(?i)password authentication failed|Login failed for user|SaslAuthenticationException|AuthenticationException|AuthorizationException|Authentication failed|no pg_hba\.conf entry|SQLState: 28P01|Access denied for user`)},
}

// classifyTrace returns the class of a failure a restart cannot fix, or ""
// when a restart may help (or the trace says nothing).
func classifyTrace(trace string) string {
	if strings.TrimSpace(trace) == "" {
		return ""
	}
	for _, p := range notRetryablePatterns {
		if p.re.MatchString(trace) {
			return p.class
		}
	}
	return ""
}
