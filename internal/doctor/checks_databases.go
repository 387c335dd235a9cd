package doctor

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// checkSlots: an inactive logical slot keeps every WAL segment from its
// restart_lsn on, until the disk fills; "unreserved" means the slot is
// past max_slot_wal_keep_size and its WAL is about to be removed; "lost"
// means it was, and the slot can never stream again.
func (r *run) checkSlots(ctx context.Context) {
	for _, name := range sortedKeys(r.alive) {
		db := r.alive[name]
		if db.Driver() != config.DriverPostgres {
			continue
		}
		slots, err := db.ReplicationSlots(ctx)
		if err != nil {
			r.add(Finding{Check: CheckReplicationSlot, Severity: Info, Target: databaseTarget(name), Message: "cannot read replication slots: " + err.Error(),
				Fix: "grant the login pg_monitor (or pg_read_all_stats)"})
			continue
		}
		for _, s := range slots {
			owner := r.slotOwner(db, s.Name)
			target := dbObjectTarget(name, s.Name)
			switch s.WALStatus {
			case "lost":
				r.add(Finding{Check: CheckReplicationSlot, Severity: Error, Target: target,
					Message: fmt.Sprintf("replication slot %s has lost required WAL (wal_status=lost): it can never stream again and changes since were missed%s", s.Name, ownedBy(owner)),
					Fix:     fmt.Sprintf("SELECT pg_drop_replication_slot(%s); then restart %s so it recreates the slot, and re-snapshot the affected tables (an incremental snapshot signal, or snapshot.mode=when_needed)", db.Dialect().Literal(s.Name), firstNonEmpty(ownerName(owner), "its connector"))})
				continue
			case "unreserved":
				r.add(Finding{Check: CheckReplicationSlot, Severity: Error, Target: target,
					Message: fmt.Sprintf("replication slot %s is past max_slot_wal_keep_size (wal_status=unreserved): its WAL will be removed at the next checkpoint and the slot lost%s", s.Name, ownedBy(owner)),
					Fix:     fmt.Sprintf("get %s consuming now (resume or restart it), or raise max_slot_wal_keep_size: ALTER SYSTEM SET max_slot_wal_keep_size = '<larger>'; SELECT pg_reload_conf();", firstNonEmpty(ownerName(owner), "the slot's consumer"))})
			}
			if !s.Active {
				fix := fmt.Sprintf("if nothing consumes it any more, drop it: SELECT pg_drop_replication_slot(%s);", db.Dialect().Literal(s.Name))
				if owner != nil {
					fix = fmt.Sprintf("get %s running (its task holds the slot when it streams); if the connector was removed, drop the slot: SELECT pg_drop_replication_slot(%s);", owner.Name, db.Dialect().Literal(s.Name))
				}
				retained := ""
				if s.RetainedBytes != nil {
					retained = fmt.Sprintf(" (%s retained now)", bytesString(*s.RetainedBytes))
				}
				r.add(Finding{Check: CheckReplicationSlot, Severity: Warning, Target: target,
					Message: fmt.Sprintf("replication slot %s is inactive: nothing streams from it and PostgreSQL keeps all WAL from its restart_lsn%s%s", s.Name, retained, ownedBy(owner)),
					Fix:     fix})
			}
		}
	}
}

// slotOwner is the PostgreSQL source whose slot.name is slot on db.
func (r *run) slotOwner(db *database.DB, slot string) *connector {
	for _, c := range r.connectors {
		if c.Driver() != config.DriverPostgres || c.SlotName() != slot {
			continue
		}
		if c.ReadsFrom(db) {
			return c
		}
		for _, n := range c.DatabaseNames() {
			if n == db.Endpoint().Database {
				return c
			}
		}
	}
	return nil
}

func ownedBy(c *connector) string {
	if c == nil {
		return "; no connector names it as its slot.name"
	}
	return "; it is the slot of connector " + c.Name
}

func ownerName(c *connector) string {
	if c == nil {
		return ""
	}
	return c.Name
}

func bytesString(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// checkSQLServerJobs: the capture job reads the log into the change
// tables (without it Debezium sees nothing new); the cleanup job trims
// them (without it they grow without bound). Both run under SQL Server
// Agent.
func (r *run) checkSQLServerJobs(ctx context.Context) {
	for _, name := range sortedKeys(r.alive) {
		db := r.alive[name]
		if db.Driver() != config.DriverSQLServer || !r.isSource(name) {
			continue
		}
		var enabled bool
		err := query(ctx, db, "reading sys.databases.is_cdc_enabled", func(pool *sql.DB, ctx context.Context) error {
			return pool.QueryRowContext(ctx, database.CDCEnabledQuery).Scan(&enabled)
		})
		if err != nil || !enabled {
			continue // reported by the capture check
		}
		jobs, err := db.CDCJobs(ctx)
		if err != nil {
			r.add(Finding{Check: CheckCDCJobs, Severity: Info, Target: databaseTarget(name), Message: "cannot read msdb.dbo.cdc_jobs: " + err.Error(),
				Fix: "grant the login SELECT on msdb.dbo.cdc_jobs (Azure SQL Database has no such table: its CDC scheduler needs no jobs)"})
			continue
		}
		if _, ok := jobs["capture"]; !ok {
			r.add(Finding{Check: CheckCDCJobs, Severity: Error, Target: databaseTarget(name),
				Message: "the CDC capture job is missing: changes are not copied from the log into the change tables, so Debezium sees none",
				Fix:     "EXEC sys.sp_cdc_add_job @job_type = N'capture'; (in the database, as db_owner)"})
		}
		if cleanup, ok := jobs["cleanup"]; ok {
			r.checkCleanupRetention(name, time.Duration(cleanup.RetentionMinutes)*time.Minute)
		} else {
			r.add(Finding{Check: CheckCDCJobs, Severity: Warning, Target: databaseTarget(name),
				Message: "the CDC cleanup job is missing: change tables are never trimmed and grow without bound",
				Fix:     "EXEC sys.sp_cdc_add_job @job_type = N'cleanup', @retention = 4320; (in the database, as db_owner)"})
		}
		var status string
		err = query(ctx, db, "reading the SQL Server Agent state", func(pool *sql.DB, ctx context.Context) error {
			return pool.QueryRowContext(ctx, SQLServerAgentQuery).Scan(&status)
		})
		if err == nil && !strings.EqualFold(status, "Running") {
			r.add(Finding{Check: CheckCDCJobs, Severity: Error, Target: databaseTarget(name),
				Message: fmt.Sprintf("SQL Server Agent is %s: the capture and cleanup jobs do not run", status),
				Fix:     "start the SQL Server Agent service and set it to start automatically"})
		}
		// A failed read (no permission; no row where there is no Agent)
		// says nothing either way.
	}
}

// isSource reports whether the database is the source of a configured
// table or is read by a Debezium source.
func (r *run) isSource(name string) bool {
	for _, t := range r.d.Config.Tables {
		if t.Source.Database == name {
			return true
		}
	}
	return len(r.sourcesOf(name)) > 0
}

// checkSQLServerVersion: Debezium supports SQL Server 2016 SP1 and later;
// comparing text needs UTF-8 collations (2019); STRING_SPLIT needs
// compatibility level 130. What each version supports is decided by
// sqldialect.SQLServerVersion; this says it before a scrape or a reconcile
// would.
func (r *run) checkSQLServerVersion(ctx context.Context) {
	for _, name := range sortedKeys(r.alive) {
		db := r.alive[name]
		if db.Driver() != config.DriverSQLServer {
			continue
		}
		in, err := db.SQLServerInfo(ctx)
		if err != nil {
			r.add(Finding{Check: CheckSQLServerVersion, Severity: Info, Target: databaseTarget(name), Message: "cannot read the server version: " + err.Error(),
				Fix: "check that the login can read SERVERPROPERTY and sys.databases"})
			continue
		}
		v := in.Version
		if err := v.Supported(); err != nil {
			r.add(Finding{Check: CheckSQLServerVersion, Severity: Error, Target: databaseTarget(name), Message: err.Error(),
				Fix: "upgrade to SQL Server 2016 SP1 or later"})
			continue
		}
		if !v.HasUTF8Collations() {
			r.add(Finding{Check: CheckSQLServerVersion, Severity: Warning, Target: databaseTarget(name),
				Message: fmt.Sprintf("%s has no UTF-8 collations (SQL Server 2019 and later): drift sampling and reconcile refuse tables that compare text columns; lag and capture metrics work", v),
				Fix:     "list the text columns of this database's tables in ignore_columns, or upgrade to SQL Server 2019 or later"})
		}
		if !v.HasStringSplit() {
			r.add(Finding{Check: CheckSQLServerVersion, Severity: Info, Target: databaseTarget(name),
				Message: fmt.Sprintf("database compatibility level %d has no STRING_SPLIT (level 130 and above): drift sampling splits its key lists as XML instead, which costs more per sample", v.Compat),
				Fix:     fmt.Sprintf("if the applications allow it: ALTER DATABASE %s SET COMPATIBILITY_LEVEL = 130;", db.QuoteIdent(db.Endpoint().Database))})
		}
	}
}
