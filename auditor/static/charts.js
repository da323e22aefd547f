/* auditor's charts: thin helpers over uPlot (vendored beside this file), shared by the reports and the server.
   Times are shown in UTC, the time the history records, so every reader sees the same dates. */
window.auditorCharts = (function () {
  "use strict";
  var UTC = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
  var COLORS = {score: "#1e7b34", fail: "#b3261e", error: "#9a6700", critical: "#8c1d18", high: "#d9480f",
                medium: "#e8a33d", low: "#5f8dd3", info: "#9aa0a6"};

  function epoch(iso) { return Date.parse(iso) / 1000; }
  var dateFormat = null;
  function runDate(ts) {
    dateFormat = dateFormat || uPlot.fmtDate("{YYYY}-{MM}-{DD} {HH}:{mm} UTC");
    return dateFormat(UTC(ts));
  }
  function latest(values) {
    for (var i = values.length - 1; i >= 0; i--) { if (values[i] != null) return values[i]; }
    return null;
  }

  /* A time series: rows [{started_at, run_id, ...}], series [{key, label, scale: "score"|"count"}]. */
  function trend(el, rows, series, options) {
    options = options || {};
    if (!el || !rows.length || typeof uPlot === "undefined") return null;
    var xs = rows.map(function (r) { return epoch(r.started_at); });
    var data = [xs].concat(series.map(function (s) {
      return rows.map(function (r) { var v = s.get ? s.get(r) : r[s.key]; return v == null ? null : v; });
    }));
    var hasScore = series.some(function (s) { return s.scale === "score"; });
    var hasCount = series.some(function (s) { return s.scale !== "score"; });
    var axes = [{}];
    if (hasScore) axes.push({scale: "score", label: "score", size: 44});
    if (hasCount) axes.push({scale: "count", label: "findings", side: hasScore ? 1 : 3, size: 44,
                             incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
                             grid: {show: !hasScore}});
    var opts = {
      width: Math.max(240, el.clientWidth || 600), height: options.height || 220, tzDate: UTC,
      legend: {show: options.legend !== false},
      cursor: {points: {size: 7}},
      scales: {x: {time: true}, score: {range: [0, 100]},
               count: {range: function (u, lo, hi) { return [0, Math.max(1, hi)]; }}},
      // The legend shows the point under the cursor, and the latest run's values when the cursor is elsewhere
      // (uPlot's own default there is "--" for every series).
      series: [{label: "run", value: function (u, v) {
        return v == null ? (xs.length ? runDate(xs[xs.length - 1]) : "") : runDate(v);
      }}].concat(series.map(function (s, i) {
        return {label: s.label, scale: s.scale || "count", stroke: COLORS[s.key] || s.stroke || "#444", width: 2,
                points: {show: true, size: 5}, spanGaps: true,
                value: function (u, v) { var shown = v == null ? latest(data[i + 1]) : v; return shown == null ? "none" : String(shown); }};
      })),
      axes: axes
    };
    var chart = new uPlot(opts, data, el);
    el.setAttribute("data-runs", String(rows.length));
    el.setAttribute("data-first", rows[0].started_at);
    el.setAttribute("data-last", rows[rows.length - 1].started_at);
    if (window.ResizeObserver) {
      new ResizeObserver(function () { chart.setSize({width: Math.max(240, el.clientWidth), height: opts.height}); })
        .observe(el);
    }
    return chart;
  }

  /* Failures by severity over time, and the score: what a target page and a report show. */
  function targetTrend(el, rows, height) {
    var severities = ["critical", "high", "medium", "low"];
    return trend(el, rows, [{key: "score", label: "score", scale: "score"}].concat(severities.map(function (sev) {
      return {key: sev, label: sev + " failures", scale: "count",
              get: function (r) { return r.fail_by_severity ? (r.fail_by_severity[sev] || 0) : null; }};
    })), {height: height});
  }

  return {trend: trend, targetTrend: targetTrend, colors: COLORS};
})();
