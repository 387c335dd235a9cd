// A small Grafana dashboard builder: panels are laid out left to right on
// Grafana's 24-column grid, wrapping to a new line when one does not fit;
// a row starts a new line. Every panel reads the ${datasource} variable.
local ds = { type: 'prometheus', uid: '${datasource}' };

local targets(qs, instant) = [
  {
    refId: std.char(65 + i),
    datasource: ds,
    expr: qs[i].expr,
    range: !instant,
  }
  + (if qs[i].legend != '' then { legendFormat: qs[i].legend } else {})
  + (if instant then { instant: true, format: 'table' } else {})
  for i in std.range(0, std.length(qs) - 1)
];

local panel(type, title, description, w, h, fields) = {
  kind: 'panel',
  w: w,
  h: h,
  panel: { type: type, title: title, datasource: ds }
         + (if description != '' then { description: description } else {})
         + fields,
};

{
  q(expr, legend=''):: { expr: expr, legend: legend },

  row(title):: { kind: 'row', title: title },

  // timeseries is a graph; unit is a Grafana unit id (s, bytes,
  // percentunit, ops, short, bool, …).
  timeseries(title, description, unit, w, h, qs):: panel('timeseries', title, description, w, h, {
    targets: targets(qs, false),
    fieldConfig: {
      defaults: {
        unit: unit,
        min: 0,
        mappings: [],
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  }),

  // stat is a single number, red from the threshold up (null: no colouring).
  stat(title, description, unit, red, w, h, qs):: panel('stat', title, description, w, h, {
    targets: targets(qs, false),
    fieldConfig: {
      defaults: {
        unit: unit,
        mappings: [],
        thresholds: {
          mode: 'absolute',
          steps: [{ color: 'green', value: null }] + (if red != null then [{ color: 'red', value: red }] else []),
        },
        color: { mode: 'thresholds' },
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background',
      graphMode: 'none',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
  }),

  // table lists an instant query's series, one row each, with the labels
  // that say what and the value in unit. A table whose value is only a
  // state set's 1 passes valueName '': the column is hidden.
  table(title, description, unit, valueName, w, h, qs):: panel('table', title, description, w, h, {
    targets: targets(qs, true),
    fieldConfig: { defaults: { unit: unit, mappings: [] }, overrides: [] },
    options: { showHeader: true, cellHeight: 'sm' },
    transformations: [{
      id: 'organize',
      options: {
        excludeByName: { Time: true, __name__: true, job: true, instance: true }
                       + (if valueName == '' then { Value: true } else {}),
        renameByName: if valueName == '' then {} else { Value: valueName },
      },
    }],
  }),

  // stateTimeline shows a state set (one series per state, value 0/1) as
  // coloured bands; the value is the set's 1 and the legend names the state.
  stateTimeline(title, description, w, h, qs):: panel('state-timeline', title, description, w, h, {
    targets: targets(qs, false),
    fieldConfig: { defaults: { unit: 'none', mappings: [], color: { mode: 'palette-classic' } }, overrides: [] },
    options: {
      mergeValues: true,
      showValue: 'never',
      rowHeight: 0.9,
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
    },
  }),

  // layout turns rows and panels into Grafana panels with ids and grid
  // positions.
  layout(items)::
    local step(st, it) =
      local wrapRow = it.kind == 'row' && st.x > 0;
      local s0 = if wrapRow then st { x: 0, y: st.y + st.rowH, rowH: 0 } else st;
      local w = if it.kind == 'row' then 24 else it.w;
      local h = if it.kind == 'row' then 1 else it.h;
      local s1 = if s0.x + w > 24 then s0 { x: 0, y: s0.y + s0.rowH, rowH: 0 } else s0;
      local p = if it.kind == 'row'
      then { type: 'row', title: it.title, collapsed: false, panels: [] }
      else it.panel;
      s1 {
        x: s1.x + w,
        rowH: std.max(s1.rowH, h),
        id: s1.id + 1,
        panels: s1.panels + [p { id: s1.id, gridPos: { h: h, w: w, x: s1.x, y: s1.y } }],
      };
    std.foldl(step, items, { x: 0, y: 0, rowH: 0, id: 1, panels: [] }).panels,

  datasourceVar:: { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', refresh: 0, includeAll: false, multi: false, sort: 0, hide: 0, current: {}, options: [] },

  // labelVar is a multi-value variable over a label's values, narrowed by
  // the variables before it (the selector says how).
  labelVar(name, label, selector)::
    local q = 'label_values(%s, %s)' % [selector, name];
    {
      name: name,
      label: label,
      type: 'query',
      datasource: ds,
      query: { query: q, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
      definition: q,
      refresh: 2,
      includeAll: true,
      multi: true,
      allValue: '.*',
      sort: 1,
      hide: 0,
      current: {},
      options: [],
    },

  // textVar is a free-text variable with a default.
  textVar(name, label, default):: { name: name, label: label, type: 'textbox', query: default, refresh: 0, includeAll: false, multi: false, sort: 0, hide: 0, current: {}, options: [] },

  // auditFilter is appended to the audit link's query: the dashboard's
  // variables as the audit API's filters (Grafana's csv format; its All,
  // the variables' allValue '.*', means no filter there too).
  dashboard(cfg, uid, title, description, vars, items, auditFilter=''):: {
    uid: uid,
    title: title,
    description: description,
    tags: cfg.dashboardTags,
    editable: true,
    graphTooltip: 1,
    refresh: cfg.dashboardRefresh,
    schemaVersion: 39,
    version: 1,
    time: { from: cfg.dashboardTimeFrom, to: 'now' },
    timezone: cfg.dashboardTimezone,
    templating: { list: [$.datasourceVar] + vars + [$.textVar('sentinel_url', 'cdc-sentinel URL', cfg.sentinelURL)] },
    annotations: { list: [] },
    links: [
      { title: 'cdc-sentinel', type: 'dashboards', tags: cfg.dashboardTags, asDropdown: true, includeVars: true, keepTime: true },
      // Grafana cannot know where cdc-sentinel answers: the sentinel_url
      // variable says, and the link opens the decisions taken since the
      // start of the dashboard's range (narrowed by auditFilter).
      {
        title: 'Remediation audit log',
        type: 'link',
        tags: [],
        url: '${sentinel_url}/api/v1/remediations?since=${__from:date:iso}' + auditFilter,
        tooltip: "cdc-sentinel's /api/v1/remediations: every decision, its target, outcome and error",
        targetBlank: true,
        asDropdown: false,
        includeVars: false,
        keepTime: false,
      },
    ],
    panels: $.layout(items),
  },
}
