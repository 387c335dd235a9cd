package sqldialect

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// SQLServerVersion is what the generated T-SQL may rely on in one SQL
// Server database: the engine's major version and the database's
// compatibility level, which gates some functions (STRING_SPLIT) on its
// own. It is the one place that decides what a version supports.
type SQLServerVersion struct {
	// Major is SERVERPROPERTY('ProductMajorVersion'): 13 = 2016,
	// 14 = 2017, 15 = 2019, 16 = 2022, 17 = 2025; 0 when unknown.
	Major int
	// Level is SERVERPROPERTY('ProductLevel'): RTM, SP1, SP2…
	Level string
	// Edition is SERVERPROPERTY('EngineEdition'): 5 is Azure SQL
	// Database, 8 Azure SQL Managed Instance.
	Edition int
	// Compat is sys.databases.compatibility_level of the database.
	Compat int
}

// SQLServerVersionQuery reads a SQLServerVersion (SERVERPROPERTY and
// sys.databases exist on every supported version).
const SQLServerVersionQuery = `SELECT CAST(SERVERPROPERTY('ProductMajorVersion') AS int), CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)), CAST(SERVERPROPERTY('EngineEdition') AS int), compatibility_level FROM sys.databases WHERE database_id = DB_ID()`

// Azure is Azure SQL Database or Managed Instance: always the newest
// engine, whatever its major version says.
func (v SQLServerVersion) Azure() bool { return v.Edition == 5 || v.Edition == 8 }

// String names the version as Microsoft does ("SQL Server 2017 (14.x)").
func (v SQLServerVersion) String() string {
	if v.Azure() {
		return "Azure SQL"
	}
	names := map[int]string{11: "2012", 12: "2014", 13: "2016", 14: "2017", 15: "2019", 16: "2022", 17: "2025"}
	n, ok := names[v.Major]
	if !ok {
		return fmt.Sprintf("SQL Server %d.x", v.Major)
	}
	s := fmt.Sprintf("SQL Server %s (%d.x)", n, v.Major)
	if v.Level != "" {
		s += " " + v.Level
	}
	return s
}

func (v SQLServerVersion) atLeast(major int) bool { return v.Azure() || v.Major >= major }

// known is false before the version has been read: nothing is refused
// then, and the newest SQL is generated.
func (v SQLServerVersion) known() bool { return v.Major > 0 || v.Azure() }

// Supported returns an error naming the version when Debezium's SQL
// Server connector does not support it (before 2016 SP1).
func (v SQLServerVersion) Supported() error {
	if !v.known() || v.atLeast(14) || (v.Major == 13 && !strings.EqualFold(v.Level, "RTM")) {
		return nil
	}
	return fmt.Errorf("%s is not supported: Debezium's SQL Server connector needs SQL Server 2016 SP1 or later", v)
}

// HasStringSplit tells whether STRING_SPLIT can be called: it needs
// compatibility level 130 (the 2016 level) or above.
func (v SQLServerVersion) HasStringSplit() bool { return v.Compat == 0 || v.Compat >= 130 }

// HasUTF8Collations tells whether the _UTF8 collations exist (SQL Server
// 2019 and later), which text hashing needs to get the UTF-8 bytes
// PostgreSQL stores.
func (v SQLServerVersion) HasUTF8Collations() bool { return !v.known() || v.atLeast(15) }

// HasCurrentTimeZoneID tells whether CURRENT_TIMEZONE_ID() exists (SQL
// Server 2022 and later, Azure SQL).
func (v SQLServerVersion) HasCurrentTimeZoneID() bool { return v.known() && v.atLeast(16) }

// TextHashingError is the error for comparing text columns on a server
// without UTF-8 collations.
func (v SQLServerVersion) TextHashingError(columns []string) error {
	return fmt.Errorf("%s has no UTF-8 collations (SQL Server 2019 and later), which comparing text columns needs: list %s in ignore_columns or compare on SQL Server 2019 or later", v, strings.Join(columns, ", "))
}

// withVersion reads the version of a SQL Server side and returns the side
// with a dialect that generates SQL that version runs, or an error naming
// a version Debezium does not support. Other sides are returned as they
// are.
func withVersion(ctx context.Context, s Side) (Side, error) {
	d, ok := s.Dialect.(SQLServer)
	if !ok || s.DB == nil {
		return s, nil
	}
	v := &d.Version
	var level sql.NullString
	var major, edition, compat sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, SQLServerVersionQuery).Scan(&major, &level, &edition, &compat); err != nil {
		return s, fmt.Errorf("reading the SQL Server version: %w", err)
	}
	v.Major, v.Level, v.Edition, v.Compat = int(major.Int64), level.String, int(edition.Int64), int(compat.Int64)
	if err := v.Supported(); err != nil {
		return s, err
	}
	s.Dialect = d
	return s, nil
}

// checkVersions refuses a plan comparing text on a SQL Server side that
// cannot produce UTF-8 bytes, naming the version and the columns.
func checkVersions(p *Plan) error {
	for i, s := range []Side{p.Source, p.Target} {
		d, ok := s.Dialect.(SQLServer)
		if !ok || d.Version.HasUTF8Collations() {
			continue
		}
		cols := p.SourceCols
		if i == 1 {
			cols = p.TargetCols
		}
		var text []string
		for _, c := range cols {
			if c.Kind == rowhash.KindText || c.Kind == rowhash.KindChar {
				text = append(text, c.Name)
			}
		}
		if len(text) > 0 {
			return d.Version.TextHashingError(text)
		}
	}
	return nil
}
