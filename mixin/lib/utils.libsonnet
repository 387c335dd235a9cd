// Helpers shared by the mixin's alerts, rules and dashboards.
{
  // selector writes metric{matchers}, leaving out empty matchers (and the
  // braces when none is left), so the default output reads as written by
  // hand.
  selector(metric, matchers=[]):
    local ms = std.filter(function(m) m != '', matchers);
    if std.length(ms) == 0 then metric else metric + '{' + std.join(',', ms) + '}',

  // runbook is an alert's runbook_url.
  runbook(base, alert): base + std.asciiLower(alert),

  // group is a rule group, with an evaluation interval when one is set.
  group(name, rules, interval=''):
    { name: name } + (if interval != '' then { interval: interval } else {}) + { rules: rules },

  // bytes writes a byte count in the largest binary unit that divides it.
  bytes(n)::
    local units = [['TiB', 1099511627776], ['GiB', 1073741824], ['MiB', 1048576], ['KiB', 1024]];
    local fit = std.filter(function(u) n % u[1] == 0, units);
    if std.length(fit) == 0 then '%dB' % n else '%d%s' % [n / fit[0][1], fit[0][0]],

  // duration writes seconds as Prometheus would: 1m, 90s, 2h.
  duration(s)::
    if s % 3600 == 0 then '%dh' % (s / 3600)
    else if s % 60 == 0 then '%dm' % (s / 60)
    else '%ds' % s,

  // increase is increase(sel[range]) counting a series born within the
  // range too. increase() needs two samples of a series, so the first
  // increment of a new label set (a counter that appears at 1, as a
  // remediation outcome does on its first action) is never seen, and two
  // actions read as one or none. A series with no sample range ago is
  // counted whole, from the 0 it implicitly started at; one that had
  // samples then is left to increase().
  increase(sel, range)::
    'increase(%(s)s[%(r)s]) and %(s)s offset %(r)s or %(s)s unless %(s)s offset %(r)s' % { s: sel, r: range },

  // forClause is an alert's for:, left out when it is 0s (fire at once).
  forClause(d): if d == '0s' || d == '' then {} else { 'for': d },
}
