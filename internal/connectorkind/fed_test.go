package connectorkind

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

func TestTablesFedAreTheTablesBehindATopicOrASourceConnector(t *testing.T) {
	dbs := map[string]*database.DB{
		"mssql": openDB(t, "mssql", "sqlserver", "sqlserver://u:p@h:1433?database=inventory"),
		"pg":    openDB(t, "pg", "postgres", "postgres://u:p@h:5432/app"),
	}
	tables := []config.Table{
		{Name: "orders", Source: config.TableRef{Database: "mssql", Table: "dbo.orders"}},
		{Name: "customers", Source: config.TableRef{Database: "mssql", Table: "dbo.customers"}},
		{Name: "events", Source: config.TableRef{Database: "pg", Table: "public.events"}},
		{Name: "orphan", Source: config.TableRef{Database: "pg", Table: "public.orphan"}},
	}
	mssqlSrc := map[string]string{KeyClass: ClassSQLServer, "topic.prefix": "inv"}
	pgSrc := map[string]string{KeyClass: ClassPostgres, "topic.prefix": "app"}
	source := func(_ context.Context, tb config.Table) (string, map[string]string, error) {
		switch tb.Source.Database {
		case "mssql":
			return "mssql-source", mssqlSrc, nil
		}
		if tb.Name == "orphan" {
			return "", nil, nil // no source connector captures it
		}
		return "pg-source", pgSrc, nil
	}
	for _, c := range []struct {
		name, connector, topic string
		want                   []string
	}{
		{"a sink's topic is one table", "orders-sink", "inv.inventory.dbo.orders", []string{"orders"}},
		{"a source connector feeds all its tables", "mssql-source", "", []string{"orders", "customers"}},
		{"another source", "pg-source", "", []string{"events"}},
		{"a topic no configured table goes to", "s", "inv.inventory.dbo.other", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := TablesFed(context.Background(), tables, dbs, source, c.connector, c.topic)
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("TablesFed = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestTablesFedSaysWhyWhenNoSourceCouldBeAsked(t *testing.T) {
	tables := []config.Table{{Name: "orders", Source: config.TableRef{Database: "mssql", Table: "dbo.orders"}}}
	down := func(context.Context, config.Table) (string, map[string]string, error) {
		return "", nil, errors.New("connect cluster prod: connection refused")
	}
	_, err := TablesFed(context.Background(), tables, nil, down, "s", "t")
	if err == nil || !strings.Contains(err.Error(), "table orders") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error %v, want one naming the table and the cause", err)
	}
	if _, err := TablesFed(context.Background(), tables, nil, down, "", ""); err == nil {
		t.Fatal("an alert naming neither connector nor topic must be refused")
	}
}
