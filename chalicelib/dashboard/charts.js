/*
  Vigil's dashboard charts: inline SVG drawn by hand, no library. Served by Vigil itself
  (GET /dashboard/assets/charts.js, under the dashboard's Content-Security-Policy: script-src 'self')
  and loaded by index.html before its own script. The page shows every figure in tables whether or not
  this file loads; the charts are an addition, never the only place a figure is.

  window.VigilCharts:
    bars(opts)    horizontal bars, two per row (median and 90th percentile), each figure written beside
                  its bar: {title, rows: [{label, median, p90}], format, width, testid}
    lines(opts)   one line per series over weeks: {title, weeks: [{short, long}], series: [{key, label,
                  color, values}], format, describe, width, testid, key}
    columns(opts) one column per week, values from 0 to 1 (shares): {title, weeks, values, format,
                  describe, width, testid, key}
  Each returns a <figure>. Weekly charts take the keyboard focus: ← and → (Home, End) choose a week,
  whose figures are written on the chart and read out below it (a polite live region); pointing at a
  week does the same. The chosen week is kept across redraws by ``key``.
  Everything is set with textContent / setAttribute, never as HTML.
*/
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var TEXT = "#1a1a1a", MUTED = "#4a4a4a", GRID = "#c4cad3", AXIS = "#5f6b7a";
  var chosen = {};   // chart key -> the week index chosen last, kept across redraws
  var serial = 0;

  function svg(tag, attrs) {
    var el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    for (var i = 2; i < arguments.length; i++) { append(el, arguments[i]); }
    return el;
  }

  function html(tag, attrs) {
    var el = document.createElement(tag);
    setAttrs(el, attrs);
    for (var i = 2; i < arguments.length; i++) { append(el, arguments[i]); }
    return el;
  }

  function setAttrs(el, attrs) {
    if (!attrs) { return; }
    Object.keys(attrs).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      el.setAttribute(name, String(value));
    });
  }

  function append(el, child) {
    if (child === null || child === undefined || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }

  function clampWidth(width) { return Math.max(280, Math.min(900, Math.round(width || 640))); }

  function isNumber(v) { return typeof v === "number" && isFinite(v); }

  // Round steps (1, 2 or 5 times a power of ten) from 0 to at least ``max``, about ``count`` of them.
  function niceTicks(max, count) {
    if (!(max > 0)) { max = 1; }
    var rough = max / count;
    var power = Math.pow(10, Math.floor(Math.log(rough) / Math.LN10));
    var step = [1, 2, 5, 10].map(function (m) { return m * power; }).filter(function (s) { return s >= rough; })[0];
    var ticks = [];
    for (var v = 0; v < max + step / 2; v += step) { ticks.push(Math.round(v * 1e6) / 1e6); }
    if (ticks[ticks.length - 1] < max) { ticks.push(ticks[ticks.length - 1] + step); }
    return ticks;
  }

  // ------------------------------------------------------------------------------------ bars

  function bars(opts) {
    var width = clampWidth(opts.width);
    var rows = opts.rows;
    var labelWidth = Math.min(200, Math.round(width * 0.36));
    var valueWidth = 90, barHeight = 16, gap = 4, groupGap = 14, top = 8;
    var plot = Math.max(60, width - labelWidth - valueWidth - 10);
    var max = 0;
    rows.forEach(function (r) { max = Math.max(max, r.median || 0, r.p90 || 0); });
    if (max <= 0) { max = 1; }
    var height = top + rows.length * (2 * barHeight + gap + groupGap);
    var id = "chart-" + (++serial);
    var root = svg("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-labelledby": id + "-t", focusable: "false", "data-testid": opts.testid || "ack-chart" },
      svg("title", { id: id + "-t" }, opts.title + " (the table below gives the same figures)"));
    rows.forEach(function (r, i) {
      var y = top + i * (2 * barHeight + gap + groupGap);
      var shortLabel = r.label.length > 26 ? r.label.slice(0, 25) + "…" : r.label;
      root.appendChild(svg("text", { x: labelWidth - 8, y: y + barHeight + 4, "text-anchor": "end", "font-size": "13", fill: TEXT }, shortLabel));
      [["median", r.median, "#0b5394"], ["90th percentile", r.p90, "#a04000"]].forEach(function (bar, k) {
        var by = y + k * (barHeight + gap);
        var w = Math.max(2, Math.round(plot * (bar[1] || 0) / max));
        root.appendChild(svg("rect", { x: labelWidth, y: by, width: w, height: barHeight, fill: bar[2], rx: 2,
          "data-testid": "chart-bar", "data-series": k === 0 ? "median" : "p90", "data-value": bar[1] },
          svg("title", null, r.label + ", " + bar[0] + ": " + opts.format(bar[1]))));
        root.appendChild(svg("text", { x: labelWidth + w + 6, y: by + barHeight - 4, "font-size": "12", fill: TEXT },
          (k === 0 ? "med " : "p90 ") + opts.format(bar[1])));
      });
    });
    return html("figure", { "class": "chart" }, root);
  }

  // ------------------------------------------------------------------------------------ weekly charts

  // The frame both weekly charts share: axes, week labels, and choosing a week by key or pointer.
  function weekly(opts, draw) {
    var width = clampWidth(opts.width);
    var height = 240;
    var margin = { left: 64, right: 16, top: 26, bottom: 44 };
    var plotW = width - margin.left - margin.right, plotH = height - margin.top - margin.bottom;
    var n = opts.weeks.length;
    var slot = plotW / n;
    var id = "chart-" + (++serial);
    var frame = {
      n: n, slot: slot, top: margin.top, bottom: margin.top + plotH, plotH: plotH,
      x: function (i) { return margin.left + slot * (i + 0.5); }
    };
    var root = svg("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
      "aria-hidden": "true", focusable: "false" });
    var ticks = niceTicks(opts.max, 4);
    var top = ticks[ticks.length - 1];
    frame.y = function (v) { return margin.top + plotH - plotH * v / top; };
    ticks.forEach(function (t) {
      var y = frame.y(t);
      root.appendChild(svg("line", { x1: margin.left, x2: width - margin.right, y1: y, y2: y, stroke: t === 0 ? AXIS : GRID,
        "stroke-width": 1 }));
      root.appendChild(svg("text", { x: margin.left - 6, y: y + 4, "text-anchor": "end", "font-size": "12", fill: MUTED },
        opts.tick(t)));
    });
    // Every week's label when there is room, else every second or third (the readout names each).
    var every = slot >= 46 ? 1 : slot >= 23 ? 2 : 3;
    opts.weeks.forEach(function (w, i) {
      if ((n - 1 - i) % every !== 0) { return; }
      root.appendChild(svg("text", { x: frame.x(i), y: height - margin.bottom + 18, "text-anchor": "middle", "font-size": "12",
        fill: MUTED }, w.short));
    });
    root.appendChild(svg("text", { x: margin.left, y: height - 6, "font-size": "12", fill: MUTED }, "Week starting (Monday)"));
    var cursor = svg("rect", { y: margin.top, height: plotH, width: slot, fill: "#e8f0fe", "data-testid": "chart-cursor" });
    root.appendChild(cursor);
    var marks = svg("g", { "data-testid": "chart-marks" });
    var labels = svg("g", { "data-testid": "chart-labels" });
    draw(root, frame);
    root.appendChild(marks);
    root.appendChild(labels);

    var readout = html("p", { "class": "chart-readout", id: id + "-readout", "aria-live": "polite", "data-testid": "chart-readout" });
    var plot = html("div", { "class": "chart-plot", tabindex: "0", role: "group", "aria-roledescription": "chart",
      "aria-label": opts.title + ". Left and right arrow keys choose a week; the table gives every figure.",
      "aria-describedby": id + "-readout", "data-focus-key": "chart:" + opts.key }, root);
    var figure = html("figure", { "class": "chart weekly", "data-testid": opts.testid || null, "data-key": opts.key },
      html("figcaption", null, opts.title), plot, readout);

    function choose(i) {
      i = Math.max(0, Math.min(n - 1, i));
      chosen[opts.key] = i;
      cursor.setAttribute("x", String(frame.x(i) - slot / 2));
      while (labels.firstChild) { labels.removeChild(labels.firstChild); }
      while (marks.firstChild) { marks.removeChild(marks.firstChild); }
      frame.mark(i, marks, labels);
      readout.textContent = opts.describe(i);
      figure.setAttribute("data-chosen-week", String(i));
    }
    frame.choose = choose;
    plot.addEventListener("keydown", function (event) {
      var now = chosen[opts.key];
      var next = { ArrowLeft: now - 1, ArrowRight: now + 1, Home: 0, End: n - 1 }[event.key];
      if (next === undefined) { return; }
      event.preventDefault();
      choose(next);
    });
    root.addEventListener("mousemove", function (event) {
      var box = root.getBoundingClientRect();
      var x = (event.clientX - box.left) * width / (box.width || width);
      choose(Math.floor((x - margin.left) / slot));
    });
    var start = chosen[opts.key];
    if (start === undefined || start >= n) { start = opts.latest; }
    choose(start);
    return figure;
  }

  // The last week with a figure, for the week chosen first.
  function latest(columns) {
    for (var i = columns[0].length - 1; i >= 0; i--) {
      for (var k = 0; k < columns.length; k++) { if (isNumber(columns[k][i])) { return i; } }
    }
    return columns[0].length - 1;
  }

  function lines(opts) {
    var max = 0;
    opts.series.forEach(function (s) { s.values.forEach(function (v) { if (isNumber(v)) { max = Math.max(max, v); } }); });
    // Minutes read as hours once the axis passes three hours.
    var hours = max > 180;
    var scale = hours ? 60 : 1;
    var settings = {
      title: opts.title, weeks: opts.weeks, key: opts.key, testid: opts.testid, width: opts.width, describe: opts.describe,
      max: max / scale, latest: latest(opts.series.map(function (s) { return s.values; })),
      tick: function (t) { return t + (hours ? " h" : " min"); }
    };
    return weekly(settings, function (root, frame) {
      opts.series.forEach(function (s) {
        var d = "", drawing = false;
        s.values.forEach(function (v, i) {
          if (!isNumber(v)) { drawing = false; return; }
          d += (drawing ? " L " : " M ") + frame.x(i).toFixed(1) + " " + frame.y(v / scale).toFixed(1);
          drawing = true;
        });
        root.appendChild(svg("path", { d: d.trim(), fill: "none", stroke: s.color, "stroke-width": 2.5,
          "stroke-dasharray": s.dash || null, "stroke-linejoin": "round", "data-series": s.key }));
        s.values.forEach(function (v, i) {
          if (!isNumber(v)) { return; }
          root.appendChild(svg("circle", { cx: frame.x(i), cy: frame.y(v / scale), r: 4, fill: s.color,
            "data-testid": "chart-point", "data-series": s.key, "data-week": i, "data-value": v },
            svg("title", null, opts.weeks[i].long + ", " + s.label + ": " + opts.format(v))));
        });
      });
      frame.mark = function (i, marks, labels) {
        var shown = opts.series.filter(function (s) { return isNumber(s.values[i]); });
        // Labels above their points, the higher value's label above the lower one's.
        shown.sort(function (a, b) { return b.values[i] - a.values[i]; });
        var lastY = -Infinity;
        shown.slice().reverse().forEach(function (s) {
          var v = s.values[i];
          marks.appendChild(svg("circle", { cx: frame.x(i), cy: frame.y(v / scale), r: 6, fill: "#ffffff", stroke: s.color, "stroke-width": 3 }));
          var y = Math.min(frame.y(v / scale) - 10, lastY === -Infinity ? Infinity : lastY - 15);
          lastY = Math.max(frame.top - 10, y);
          var anchor = i > frame.n / 2 ? "end" : "start";
          labels.appendChild(svg("text", { x: frame.x(i) + (anchor === "end" ? -8 : 8), y: lastY, "text-anchor": anchor,
            "font-size": "12", "font-weight": "700", fill: TEXT, stroke: "#ffffff", "stroke-width": 3, "paint-order": "stroke",
            "data-testid": "chart-label", "data-series": s.key }, opts.format(v)));
        });
      };
    });
  }

  function columns(opts) {
    var settings = {
      title: opts.title, weeks: opts.weeks, key: opts.key, testid: opts.testid, width: opts.width, describe: opts.describe,
      max: 1, latest: latest([opts.values]), tick: function (t) { return Math.round(t * 100) + "%"; }
    };
    return weekly(settings, function (root, frame) {
      var barWidth = Math.max(4, Math.min(36, frame.slot * 0.6));
      var labelled = frame.slot >= 34;
      opts.values.forEach(function (v, i) {
        if (!isNumber(v)) {
          root.appendChild(svg("text", { x: frame.x(i), y: frame.bottom - 4, "text-anchor": "middle", "font-size": "12", fill: MUTED,
            "data-testid": "chart-empty", "data-week": i }, "–"));
          return;
        }
        var y = frame.y(v);
        root.appendChild(svg("rect", { x: frame.x(i) - barWidth / 2, y: Math.min(y, frame.bottom - 2), width: barWidth,
          height: Math.max(2, frame.bottom - y), fill: opts.color || "#6a1b9a", rx: 2,
          "data-testid": "chart-bar", "data-week": i, "data-value": v },
          svg("title", null, opts.weeks[i].long + ": " + opts.format(v))));
        if (labelled) {
          root.appendChild(svg("text", { x: frame.x(i), y: y - 6, "text-anchor": "middle", "font-size": "12", fill: TEXT,
            "data-testid": "chart-value", "data-week": i }, opts.format(v)));
        }
      });
      frame.mark = function (i, marks, labels) {
        var v = opts.values[i];
        if (!isNumber(v)) { return; }
        var y = frame.y(v);
        marks.appendChild(svg("rect", { x: frame.x(i) - barWidth / 2 - 3, y: Math.min(y, frame.bottom - 2) - 3, width: barWidth + 6,
          height: Math.max(2, frame.bottom - y) + 3, fill: "none", stroke: TEXT, "stroke-width": 2 }));
        if (!labelled) {
          labels.appendChild(svg("text", { x: frame.x(i), y: Math.max(frame.top - 8, y - 8), "text-anchor": "middle", "font-size": "12",
            "font-weight": "700", fill: TEXT, "data-testid": "chart-label" }, opts.format(v)));
        }
      };
    });
  }

  window.VigilCharts = { bars: bars, lines: lines, columns: columns };
}());
