package schemadrift

import "fmt"

// Sink is how a JDBC sink maps a record's fields to column types.
type Sink int

const (
	// SinkDebezium is Debezium's JDBC sink: it knows Debezium's
	// io.debezium.time types and writes them as the engine's temporal
	// types.
	SinkDebezium Sink = iota
	// SinkConfluent is the Confluent (and Aiven) JDBC sink: it knows only
	// Kafka Connect's own logical types, so Debezium's temporal values
	// (epoch units under time.precision.mode=adaptive) land as integers
	// and zoned timestamps as text.
	SinkConfluent
)

// SinkType is the type a sink gives a new target column for a source
// column when it adds one itself (schema.evolution=basic, auto.evolve):
// the type to give it by hand, in the target engine's words ("postgres"
// or "sqlserver"), with Debezium's default source modes
// (time.precision.mode=adaptive, decimal.handling.mode=precise). Strings
// are unbounded: a sink does not know the source's length unless the
// source connector propagates it.
func SinkType(src Column, sink Sink, targetDriver string) string {
	pg := targetDriver != "sqlserver"
	pick := func(postgres, sqlserver string) string {
		if pg {
			return postgres
		}
		return sqlserver
	}
	s := shapeOf(src)
	switch s.fam {
	case famInt:
		switch {
		case s.bits <= 16:
			return "smallint"
		case s.bits <= 32:
			return pick("integer", "int")
		}
		return "bigint"
	case famDecimal:
		if s.digits < 0 {
			return pick("numeric", "decimal(38,10)")
		}
		return fmt.Sprintf("%s(%d,%d)", pick("numeric", "decimal"), s.digits, s.scale)
	case famFloat:
		if s.bits <= 24 {
			return "real"
		}
		return pick("double precision", "float")
	case famBool:
		return pick("boolean", "bit")
	case famText:
		return pick("text", "nvarchar(max)")
	case famBinary:
		return pick("bytea", "varbinary(max)")
	case famUUID:
		// Debezium sends it as a string.
		return pick("text", "nvarchar(36)")
	}
	if sink == SinkConfluent {
		switch s.fam {
		case famTimestampTZ:
			return pick("text", "nvarchar(max)") // ZonedTimestamp: ISO-8601 text
		case famDate:
			return pick("integer", "int") // io.debezium.time.Date: days
		default:
			return "bigint" // epoch ms, µs or ns
		}
	}
	frac := min(s.frac, 6)
	switch s.fam {
	case famDate:
		return "date"
	case famTime:
		return pick(fmt.Sprintf("time(%d)", frac), fmt.Sprintf("time(%d)", s.frac))
	case famTimestamp:
		return pick(fmt.Sprintf("timestamp(%d)", frac), fmt.Sprintf("datetime2(%d)", s.frac))
	case famTimestampTZ:
		return pick(fmt.Sprintf("timestamp(%d) with time zone", frac), fmt.Sprintf("datetimeoffset(%d)", s.frac))
	}
	return pick("text", "nvarchar(max)")
}
