package dashboards

import "fmt"

// builder lays panels out left to right on Grafana's 24-column grid,
// wrapping to a new line when a panel does not fit.
type builder struct {
	d      Dashboard
	nextID int
	x, y   int
	rowH   int
}

const tag = "cdc-sentinel"

func newDashboard(uid, title, description string, vars ...Variable) *builder {
	b := &builder{nextID: 1}
	b.d = Dashboard{
		UID: uid, Title: title, Description: description,
		Tags: []string{tag}, Editable: true, GraphTooltip: 1, Refresh: "30s",
		SchemaVersion: 39, Version: 1,
		Time:        TimeRange{From: "now-6h", To: "now"},
		Templating:  Templating{List: append([]Variable{datasourceVar()}, vars...)},
		Annotations: Annotations{List: []any{}},
		Links: []Link{{Title: "cdc-sentinel", Type: "dashboards", Tags: []string{tag},
			AsDropdown: true, IncludeVars: true, KeepTime: true},
			// Grafana cannot know where cdc-sentinel answers: the
			// sentinel_url variable says, and the link opens the decisions
			// taken since the start of the dashboard's range.
			{Title: "Remediation audit log", Type: "link", Tags: []string{},
				URL:     "${sentinel_url}/api/v1/remediations?since=${__from:date:iso}",
				Tooltip: "cdc-sentinel's /api/v1/remediations: every decision, its target, outcome and error", TargetBlank: true}},
	}
	b.d.Templating.List = append(b.d.Templating.List, sentinelURLVar)
	return b
}

// sentinelURLVar is where cdc-sentinel's HTTP API answers, for the audit
// link; a text box, so each Grafana can set its own.
var sentinelURLVar = Variable{Name: "sentinel_url", Label: "cdc-sentinel URL", Type: "textbox",
	Query: "http://cdc-sentinel:19641", Options: []any{}}

func datasourceVar() Variable {
	return Variable{Name: "datasource", Label: "Data source", Type: "datasource", Query: "prometheus", Options: []any{}}
}

// labelVar is a multi-value variable over a label's values, narrowed by
// the variables before it (the selector says how).
func labelVar(name, label, selector string) Variable {
	q := fmt.Sprintf("label_values(%s, %s)", selector, name)
	return Variable{
		Name: name, Label: label, Type: "query", Datasource: promDS,
		Query: map[string]any{"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery"}, Definition: q,
		Refresh: 2, IncludeAll: true, Multi: true, AllValue: ".*", Sort: 1, Options: []any{},
	}
}

var (
	clusterVar   = labelVar("connect_cluster", "Connect cluster", "cdc_connect_up")
	connectorVar = labelVar("connector", "Connector", `cdc_connect_connector_state{connect_cluster=~"$connect_cluster"}`)
	tableVar     = labelVar("table", "Table", "cdc_table_lag_seconds")
)

func (b *builder) place(w, h int) GridPos {
	if b.x+w > 24 {
		b.x, b.y = 0, b.y+b.rowH
		b.rowH = 0
	}
	p := GridPos{X: b.x, Y: b.y, W: w, H: h}
	b.x += w
	if h > b.rowH {
		b.rowH = h
	}
	return p
}

func (b *builder) add(p Panel, w, h int) {
	p.ID = b.nextID
	b.nextID++
	p.GridPos = b.place(w, h)
	if p.Type != "row" {
		p.Datasource = promDS
	}
	b.d.Panels = append(b.d.Panels, p)
}

// row starts a new full-width row of panels.
func (b *builder) row(title string) {
	if b.x > 0 {
		b.x, b.y, b.rowH = 0, b.y+b.rowH, 0
	}
	collapsed := false
	b.add(Panel{Type: "row", Title: title, Collapsed: &collapsed, Panels: []Panel{}}, 24, 1)
}

type query struct {
	expr, legend string
}

func q(expr, legend string) query { return query{expr, legend} }

func targets(qs []query, instant bool) []Target {
	out := make([]Target, len(qs))
	for i, x := range qs {
		out[i] = Target{RefID: string(rune('A' + i)), Datasource: promDS, Expr: x.expr,
			LegendFormat: x.legend, Instant: instant, Range: !instant}
		if instant {
			out[i].Format = "table"
		}
	}
	return out
}

func f(v float64) *float64 { return &v }

// timeseries is a graph; unit is a Grafana unit id (s, bytes, percentunit,
// ops, short, …).
func (b *builder) timeseries(title, description, unit string, w, h int, qs ...query) {
	b.add(Panel{
		Type: "timeseries", Title: title, Description: description, Targets: targets(qs, false),
		FieldConfig: &FieldCfg{Defaults: FieldDefaults{Unit: unit, Min: f(0), Mappings: []any{},
			Custom: map[string]any{"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": false}},
			Overrides: []any{}},
		Options: map[string]any{
			"legend":  map[string]any{"displayMode": "table", "placement": "bottom", "showLegend": true, "calcs": []string{"lastNotNull", "max"}},
			"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
		},
	}, w, h)
}

// stat is a single number, red from the threshold up (nil: no colouring).
func (b *builder) stat(title, description, unit string, red *float64, w, h int, qs ...query) {
	steps := []Step{{Color: "green", Value: nil}}
	if red != nil {
		steps = append(steps, Step{Color: "red", Value: red})
	}
	b.add(Panel{
		Type: "stat", Title: title, Description: description, Targets: targets(qs, false),
		FieldConfig: &FieldCfg{Defaults: FieldDefaults{Unit: unit, Mappings: []any{},
			Thresholds: &Thresholds{Mode: "absolute", Steps: steps}, Color: map[string]any{"mode": "thresholds"}},
			Overrides: []any{}},
		Options: map[string]any{
			"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
			"colorMode":     "background", "graphMode": "none", "textMode": "auto", "justifyMode": "auto", "orientation": "auto",
		},
	}, w, h)
}

// table lists an instant query's series, one row each, with the labels
// that say what and the value in unit. A table whose value is only a
// state set's 1 passes valueName "": the column is hidden.
func (b *builder) table(title, description, unit, valueName string, w, h int, qs ...query) {
	rename := map[string]any{}
	exclude := map[string]any{"Time": true, "__name__": true, "job": true, "instance": true}
	if valueName == "" {
		exclude["Value"] = true
	} else {
		rename["Value"] = valueName
	}
	b.add(Panel{
		Type: "table", Title: title, Description: description, Targets: targets(qs, true),
		FieldConfig: &FieldCfg{Defaults: FieldDefaults{Unit: unit, Mappings: []any{}}, Overrides: []any{}},
		Options:     map[string]any{"showHeader": true, "cellHeight": "sm"},
		Transformations: []any{map[string]any{"id": "organize", "options": map[string]any{
			"excludeByName": exclude, "renameByName": rename}}},
	}, w, h)
}

// stateTimeline shows a state set (one series per state, value 0/1) as
// coloured bands.
func (b *builder) stateTimeline(title, description string, w, h int, qs ...query) {
	b.add(Panel{
		Type: "state-timeline", Title: title, Description: description, Targets: targets(qs, false),
		// The value is a state set's 1: the legend names the state.
		FieldConfig: &FieldCfg{Defaults: FieldDefaults{Unit: "none", Mappings: []any{},
			Color: map[string]any{"mode": "palette-classic"}}, Overrides: []any{}},
		Options: map[string]any{"mergeValues": true, "showValue": "never", "rowHeight": 0.9,
			"legend": map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true}},
	}, w, h)
}
