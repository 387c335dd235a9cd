package main

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/connectorlist"
	"github.com/cdc-sentinel/cdc-sentinel/internal/dlq"
	"github.com/cdc-sentinel/cdc-sentinel/internal/doctor"
	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
	"github.com/cdc-sentinel/cdc-sentinel/remediate/store"
)

// Every -o json output and API response follows one convention: keys in
// snake_case, and a count or limit is a number, never a string. (scale's
// previous_tasks_max was once "1" beside tasks_max 2; a reconcile job's
// progress once had the keys Phase, Done, Total.)
func TestJSONOutputsFollowOneConvention(t *testing.T) {
	for _, v := range []any{
		checkResult{}, actionResult{}, scaleResult{},
		connectorlist.Listing{}, doctor.Report{}, doctor.FileResult{},
		dlq.Record{}, reconcile.Report{}, reconcile.Job{},
		store.Record{}, store.Job{},
	} {
		checkJSONType(t, reflect.TypeOf(v), reflect.TypeOf(v).String(), map[reflect.Type]bool{})
	}
}

var (
	snakeCase   = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	numericName = regexp.MustCompile(`(_max|_count|_total|_seconds|_bytes|_rows|^rows_.*|_deletes)$`)
	timeType    = reflect.TypeOf(time.Time{})
)

func checkJSONType(t *testing.T, typ reflect.Type, path string, seen map[reflect.Type]bool) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map || typ.Kind() == reflect.Array {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || typ == timeType || seen[typ] {
		return
	}
	if _, custom := reflect.New(typ).Interface().(interface{ MarshalJSON() ([]byte, error) }); custom {
		return // its own encoding
	}
	seen[typ] = true
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			checkJSONType(t, f.Type, path, seen)
			continue
		}
		if name == "" {
			t.Errorf("%s.%s has no json tag: it is written as %q", path, f.Name, f.Name)
			continue
		}
		if !snakeCase.MatchString(name) {
			t.Errorf("%s.%s is written as %q, not snake_case", path, f.Name, name)
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.String && numericName.MatchString(name) {
			t.Errorf("%s.%s (%q) holds a number as a string", path, f.Name, name)
		}
		checkJSONType(t, f.Type, path+"."+name, seen)
	}
}
