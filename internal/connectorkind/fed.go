package connectorkind

import (
	"context"
	"errors"
	"fmt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/config"
	"github.com/cdc-sentinel/cdc-sentinel/internal/database"
)

// TablesFed are the configured tables whose changes went through what a
// data loss names: a source connector's (topic empty: its source no
// longer keeps changes it had not read), or one topic's (retention
// deleted records a sink had not consumed). Each table's source
// connector is the one source finds for it, as drift and repair find
// it, and its topic is TableTopic, so a loss is repaired on exactly the
// tables it could have touched. A table whose source is not found is
// not fed by anything known; err is set only when no table's source
// could be asked.
func TablesFed(ctx context.Context, tables []config.Table, dbs map[string]*database.DB, source func(context.Context, config.Table) (string, map[string]string, error), connector, topic string) ([]string, error) {
	if connector == "" && topic == "" {
		return nil, errors.New("neither a connector nor a topic names what was lost")
	}
	var fed []string
	var errs []error
	for _, t := range tables {
		name, cfg, err := source(ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("source connector of table %s: %w", t.Name, err))
			continue
		}
		if name == "" {
			continue
		}
		if topic == "" {
			if name == connector {
				fed = append(fed, t.Name)
			}
			continue
		}
		db := dbs[t.Source.Database]
		if db == nil {
			continue
		}
		if New(name, TypeSource, cfg).TableTopic(db, t.Source.Table) == topic {
			fed = append(fed, t.Name)
		}
	}
	if len(fed) == 0 && len(errs) == len(tables) && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return fed, nil
}
