// Package dashboards generates cdc-sentinel's Grafana dashboards
// (dashboards/*.json). Writing them in Go keeps the shared parts — the
// datasource variable, the connect_cluster/connector/table variables, the
// layout — identical across dashboards; the JSON is committed so users
// import it as it is, and a test fails when it is stale.
package dashboards

import (
	"bytes"
	"encoding/json"
)

// Dashboard is the part of Grafana's dashboard JSON model we use.
type Dashboard struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	Description   string      `json:"description"`
	Tags          []string    `json:"tags"`
	Editable      bool        `json:"editable"`
	GraphTooltip  int         `json:"graphTooltip"`
	Refresh       string      `json:"refresh"`
	SchemaVersion int         `json:"schemaVersion"`
	Version       int         `json:"version"`
	Time          TimeRange   `json:"time"`
	Timezone      string      `json:"timezone"`
	Templating    Templating  `json:"templating"`
	Annotations   Annotations `json:"annotations"`
	Links         []Link      `json:"links"`
	Panels        []Panel     `json:"panels"`
}

type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type Templating struct {
	List []Variable `json:"list"`
}

type Annotations struct {
	List []any `json:"list"`
}

// Link is a dashboard link: the other cdc-sentinel dashboards, by tag,
// or a URL (cdc-sentinel's audit API).
type Link struct {
	Title       string   `json:"title"`
	Type        string   `json:"type"`
	Tags        []string `json:"tags"`
	URL         string   `json:"url,omitempty"`
	Tooltip     string   `json:"tooltip,omitempty"`
	TargetBlank bool     `json:"targetBlank,omitempty"`
	AsDropdown  bool     `json:"asDropdown"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
}

// Variable is a template variable: the datasource, or a label's values.
type Variable struct {
	Name       string      `json:"name"`
	Label      string      `json:"label"`
	Type       string      `json:"type"`
	Query      any         `json:"query"`
	Definition string      `json:"definition,omitempty"`
	Datasource *Datasource `json:"datasource,omitempty"`
	Refresh    int         `json:"refresh"`
	IncludeAll bool        `json:"includeAll"`
	Multi      bool        `json:"multi"`
	AllValue   string      `json:"allValue,omitempty"`
	Sort       int         `json:"sort"`
	Hide       int         `json:"hide"`
	Current    struct{}    `json:"current"`
	Options    []any       `json:"options"`
}

// Datasource refers to the dashboard's datasource variable.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

var promDS = &Datasource{Type: "prometheus", UID: "${datasource}"}

type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Panel is a row, a time series, a stat or a table panel.
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	GridPos     GridPos     `json:"gridPos"`
	Datasource  *Datasource `json:"datasource,omitempty"`
	Targets     []Target    `json:"targets,omitempty"`
	FieldConfig *FieldCfg   `json:"fieldConfig,omitempty"`
	Options     any         `json:"options,omitempty"`
	Collapsed   *bool       `json:"collapsed,omitempty"`
	// Transformations shape a table: the labels to show, in order.
	Transformations []any   `json:"transformations,omitempty"`
	Panels          []Panel `json:"panels,omitempty"`
}

type Target struct {
	RefID        string      `json:"refId"`
	Datasource   *Datasource `json:"datasource"`
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat,omitempty"`
	Instant      bool        `json:"instant,omitempty"`
	Range        bool        `json:"range"`
	Format       string      `json:"format,omitempty"`
}

type FieldCfg struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []any         `json:"overrides"`
}

type FieldDefaults struct {
	Unit       string      `json:"unit,omitempty"`
	Min        *float64    `json:"min,omitempty"`
	Decimals   *int        `json:"decimals,omitempty"`
	Thresholds *Thresholds `json:"thresholds,omitempty"`
	Mappings   []any       `json:"mappings"`
	Color      any         `json:"color,omitempty"`
	Custom     any         `json:"custom,omitempty"`
}

type Thresholds struct {
	Mode  string `json:"mode"`
	Steps []Step `json:"steps"`
}

type Step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

// JSON renders a dashboard as committed: indented, with a final newline.
func (d Dashboard) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
