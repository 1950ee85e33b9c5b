/*
  Vigil's coverage map: a state's counties coloured by whether a rollout there would reach every role
  the policy requires, and the whole country of states to choose another. Served by Vigil itself
  (GET /dashboard/assets/map.js) and loaded by index.html before its own script; this file is small,
  and loads the rest only when the map is first shown: d3-array, d3-geo and topojson-client (vendored
  by tools/vendor.py, served from the same assets route) and the geometry, one file per state
  (atlas-<state id>.json) or the states alone (atlas-states.json). The geometry is us-atlas's, already
  projected (Albers USA, 975×610), so d3-geo only fits it to the view and draws the paths; each
  geometry's id is Vigil's jurisdiction id. The coverage table stays the text alternative: the page
  works without this file, and says so.

  window.VigilMap:
    show(container, opts)  draws the map of opts.coverage (a GET /coverage answer) in container.
      opts: { asset(name) → its address (with its fingerprint), onPlace(id) a county chosen,
              onState(id) a state chosen in the country's view, onFail(reason) the map cannot be drawn }
  Counties are one stop of Tab: ← → ↑ ↓ move between them (by name), Home and End to the first and
  last, Enter or Space (or a click) opens the county's coverage. The legend says in words what each
  fill means and names every county with a gap; a county with a gap is hatched and marked ✗ as well as
  red, never told by colour alone. Everything is set with textContent / setAttribute, never as HTML.
*/
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var LIBRARIES = ["d3-array.min.js", "d3-geo.min.js", "topojson-client.min.js"];  // d3-geo needs d3-array first
  var WIDTH = 640, MAX_HEIGHT = 460, PAD = 6;
  var MARKED_UP_TO = 40;   // counties a state may have for each gap to carry a ✗ (Texas's 254 would be a blur)
  var NAMED_UP_TO = 25;    // gaps the legend names one by one; the rest are counted (the table has them all)
  var libraries = null;   // the promise of the libraries, loaded once
  var atlases = {};       // file name -> promise of its topology
  var view = { mode: "state", chosen: null };  // kept across redraws: the view, and the county chosen last

  // ------------------------------------------------------------------ DOM helpers (never innerHTML)

  function el(ns, tag, attrs) {
    var node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) { return; }
        if (name === "on") { Object.keys(value).forEach(function (ev) { node.addEventListener(ev, value[ev]); }); return; }
        node.setAttribute(name, String(value));
      });
    }
    for (var i = 3; i < arguments.length; i++) { append(node, arguments[i]); }
    return node;
  }
  function svg(tag, attrs) { return el.apply(null, [SVG_NS, tag, attrs].concat([].slice.call(arguments, 2))); }
  function html(tag, attrs) { return el.apply(null, [null, tag, attrs].concat([].slice.call(arguments, 2))); }
  function append(node, child) {
    if (child === null || child === undefined || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }

  // ------------------------------------------------------------------ loading

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = html("script", { src: src });
      script.onload = resolve;
      script.onerror = function () { reject(new Error("could not load " + src.split("?")[0])); };
      document.head.appendChild(script);
    });
  }

  function loadLibraries(asset) {
    if (!libraries) {
      libraries = LIBRARIES.reduce(function (done, name) {
        return done.then(function () { return loadScript(asset(name)); });
      }, Promise.resolve()).then(function () {
        if (!window.d3 || !window.d3.geoPath || !window.topojson) { throw new Error("the map's libraries did not start"); }
      });
      libraries.catch(function () { libraries = null; });  // a later showing tries again
    }
    return libraries;
  }

  function loadAtlas(asset, name) {
    if (!atlases[name]) {
      atlases[name] = fetch(asset(name), { credentials: "omit" }).then(function (response) {
        if (!response.ok) { throw new Error("could not load " + name + " (" + response.status + ")"); }
        return response.json();
      });
      atlases[name].catch(function () { delete atlases[name]; });
    }
    return atlases[name];
  }

  // ------------------------------------------------------------------ what each county is

  function rolloutGaps(place) {
    return (place.gaps || []).filter(function (g) { return g.indexOf("rollout:") === 0; })
      .map(function (g) { return g.slice("rollout:".length); });
  }

  // "gap", "covered" or "unknown" (a county us-atlas draws that Vigil's places do not list), with words.
  function statusOf(feature, places) {
    var place = feature.id ? places[feature.id] : null;
    if (!place) {
      return { status: "unknown", words: feature.properties.name + ": not among Vigil's places (FIPS " + feature.properties.fips + ")" };
    }
    var missing = rolloutGaps(place);
    if (missing.length) {
      return { status: "gap", missing: missing,
               words: place.name + ": GAP, a rollout here would reach no " + missing.join(" and no ") };
    }
    return { status: "covered", words: place.name + ": covered, a rollout here reaches every required role" };
  }

  // ------------------------------------------------------------------ drawing

  function fitted(feature) {
    var projection = window.d3.geoIdentity().fitWidth(WIDTH - 2 * PAD, feature);
    var path = window.d3.geoPath(projection);
    var b = path.bounds(feature);
    if (b[1][1] - b[0][1] > MAX_HEIGHT - 2 * PAD) {
      projection = window.d3.geoIdentity().fitHeight(MAX_HEIGHT - 2 * PAD, feature);
      path = window.d3.geoPath(projection);
      b = path.bounds(feature);
    }
    return { path: path, box: [b[0][0] - PAD, b[0][1] - PAD, b[1][0] - b[0][0] + 2 * PAD, b[1][1] - b[0][1] + 2 * PAD] };
  }

  function hatch() {
    return svg("defs", null,
      svg("pattern", { id: "map-gap-hatch", patternUnits: "userSpaceOnUse", width: 6, height: 6, patternTransform: "rotate(45)" },
        svg("rect", { width: 6, height: 6, fill: "#b3261e" }),
        svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#ffffff", "stroke-width": 1.6 })));
  }

  // Arrow keys, Home and End move the one focusable shape among ``shapes`` (roving tabindex).
  function roving(group, shapes, onChoose) {
    function focusAt(i) {
      shapes.forEach(function (s, k) { s.setAttribute("tabindex", k === i ? "0" : "-1"); });
      shapes[i].focus();
    }
    group.addEventListener("keydown", function (event) {
      var i = shapes.indexOf(document.activeElement);
      if (i < 0) { return; }
      var next = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: shapes.length - 1 }[event.key];
      if (next !== undefined) {
        event.preventDefault();
        focusAt(Math.max(0, Math.min(shapes.length - 1, next)));
      } else if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        onChoose(shapes[i]);
      }
    });
    shapes.forEach(function (s) { s.addEventListener("click", function () { focusAt(shapes.indexOf(s)); onChoose(s); }); });
  }

  function drawState(container, topology, coverage, opts) {
    var d3 = window.d3, topojson = window.topojson;
    var places = {};
    coverage.jurisdictions.forEach(function (j) { places[j.id] = j; });
    var outline = topojson.feature(topology, topology.objects.state).features[0];
    var counties = topojson.feature(topology, topology.objects.counties).features;
    var fit = fitted(outline);
    var stateName = coverage.state.name;
    var ordered = counties.map(function (f) { return { feature: f, about: statusOf(f, places) }; })
      .sort(function (a, b) { return a.feature.properties.name.localeCompare(b.feature.properties.name); });
    var shapes = ordered.map(function (c) {
      return svg("path", {
        d: fit.path(c.feature), "class": "county " + c.about.status, tabindex: "-1", role: "button",
        "aria-label": c.about.words, "data-testid": "map-county", "data-status": c.about.status,
        "data-jurisdiction-id": c.feature.id, "data-fips": c.feature.properties.fips,
        "aria-current": c.feature.id && c.feature.id === view.chosen ? "true" : null
      }, svg("title", null, c.about.words));
    });
    var marks = ordered.filter(function (c) { return c.about.status === "gap" && ordered.length <= MARKED_UP_TO; }).map(function (c) {
      var at = fit.path.centroid(c.feature);
      return svg("text", { x: at[0], y: at[1] + 5, "class": "gap-mark", "text-anchor": "middle", "aria-hidden": "true" }, "✗");
    });
    var chosenAt = Math.max(0, ordered.map(function (c) { return c.feature.id; }).indexOf(view.chosen));
    if (shapes.length) { shapes[chosenAt].setAttribute("tabindex", "0"); }
    var group = svg("g", { role: "group", "aria-label": stateName + "'s " + shapes.length +
      " counties: arrow keys move between them, Enter opens one's coverage" }, shapes);
    var root = svg("svg", { viewBox: fit.box.join(" "), "data-testid": "map-svg", "data-view": "state",
      "data-state": coverage.state.id, "class": "coverage-map" },
      hatch(), group,
      svg("path", { d: fit.path(outline), "class": "state-outline", "aria-hidden": "true" }),
      svg("g", { "aria-hidden": "true" }, marks));
    roving(group, shapes, function (shape) {
      var id = shape.getAttribute("data-jurisdiction-id");
      if (!id) { return; }
      view.chosen = id;
      shapes.forEach(function (s) { if (s === shape) { s.setAttribute("aria-current", "true"); } else { s.removeAttribute("aria-current"); } });
      opts.onPlace(id);
    });
    var zoomOut = html("button", { type: "button", "class": "secondary", "data-testid": "map-zoom-out",
      on: { click: function () { view.mode = "country"; show(container, opts); } } }, "Show the whole country");
    return [
      html("div", { "class": "map-toolbar" },
        html("p", { "class": "map-title", "data-testid": "map-title" }, stateName + ": " + shapes.length + " counties"), zoomOut),
      html("figure", { "class": "map" }, root),
      legend(ordered, stateName)
    ];
  }

  function legend(ordered, stateName) {
    var count = { gap: [], covered: [], unknown: [] };
    ordered.forEach(function (c) { count[c.about.status].push(c); });
    var items = [
      html("li", { "data-testid": "map-legend-covered" }, html("span", { "class": "swatch covered" }, "✓ covered"),
        " " + count.covered.length + " of " + ordered.length + ": a rollout there reaches every role the policy requires"),
      html("li", { "data-testid": "map-legend-gap" }, html("span", { "class": "swatch gap hatched" }, "✗ GAP"),
        " " + count.gap.length + " of " + ordered.length + ": a rollout there would reach nobody of some required role" +
        (count.gap.length ? " (" + count.gap.slice(0, NAMED_UP_TO).map(function (c) {
          return c.feature.properties.name + ": no " + c.about.missing.join(", no ");
        }).join("; ") + (count.gap.length > NAMED_UP_TO ? "; and " + (count.gap.length - NAMED_UP_TO) +
          " more, each in the table below" : "") + ")" : ""))
    ];
    if (count.unknown.length) {
      items.push(html("li", { "data-testid": "map-legend-unknown" }, html("span", { "class": "swatch unknown" }, "? not listed"),
        " " + count.unknown.length + ": drawn by the Census map, not among Vigil's places (" +
        count.unknown.map(function (c) { return c.feature.properties.name; }).join(", ") + ")"));
    }
    return html("ul", { "class": "legend map-legend", "aria-label": "Map legend: " + stateName, "data-testid": "map-legend" }, items);
  }

  function drawCountry(container, topology, coverage, opts) {
    var states = window.topojson.feature(topology, topology.objects.states).features
      .sort(function (a, b) { return a.properties.name.localeCompare(b.properties.name); });
    var path = window.d3.geoPath();  // already projected to 975×610
    var shapes = states.map(function (f) {
      var here = f.id === coverage.state.id;
      return svg("path", { d: path(f), "class": "us-state" + (here ? " current" : ""), tabindex: here ? "0" : "-1",
        role: "button", "aria-label": f.properties.name + (here ? " (shown): its counties" : ": show its counties"),
        "data-testid": "map-state", "data-jurisdiction-id": f.id, "aria-current": here ? "true" : null },
        svg("title", null, f.properties.name));
    });
    if (shapes.length && !shapes.some(function (s) { return s.getAttribute("tabindex") === "0"; })) { shapes[0].setAttribute("tabindex", "0"); }
    var group = svg("g", { role: "group", "aria-label": "The states: arrow keys move between them, Enter shows one's counties" }, shapes);
    var root = svg("svg", { viewBox: "0 0 975 610", "data-testid": "map-svg", "data-view": "country", "class": "coverage-map" }, group);
    roving(group, shapes, function (shape) {
      view.mode = "state";
      view.chosen = null;
      opts.onState(shape.getAttribute("data-jurisdiction-id"));
    });
    var back = html("button", { type: "button", "class": "secondary", "data-testid": "map-zoom-in",
      on: { click: function () { view.mode = "state"; show(container, opts); } } }, "Back to " + coverage.state.name);
    return [
      html("div", { "class": "map-toolbar" },
        html("p", { "class": "map-title", "data-testid": "map-title" }, "The states: choose one to see its counties"), back),
      html("figure", { "class": "map" }, root),
      html("p", { "class": "help", "data-testid": "map-country-help" }, coverage.state.name +
        " is shown (filled dark blue, marked as the current one). Choose a state (click it, or Tab to the map, arrow keys, Enter) to see its counties' coverage.")
    ];
  }

  var drawn = 0;  // the latest drawing wins when answers arrive out of order

  function show(container, opts) {
    var coverage = opts.coverage;
    var mine = ++drawn;
    if (container.getAttribute("data-state") !== coverage.state.id) { view.mode = "state"; view.chosen = null; }
    var country = view.mode === "country";
    var file = country ? "atlas-states.json" : "atlas-" + coverage.state.id + ".json";
    var focused = document.activeElement && container.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-jurisdiction-id") || document.activeElement.getAttribute("data-testid") : null;
    return loadLibraries(opts.asset).then(function () { return loadAtlas(opts.asset, file); }).then(function (topology) {
      if (mine !== drawn) { return; }
      var parts = country ? drawCountry(container, topology, coverage, opts) : drawState(container, topology, coverage, opts);
      while (container.firstChild) { container.removeChild(container.firstChild); }
      append(container, parts);
      container.setAttribute("data-state", coverage.state.id);
      container.setAttribute("data-view", view.mode);
      if (focused) {  // a redraw keeps the focus where it was
        var again = container.querySelector('[data-jurisdiction-id="' + focused + '"], [data-testid="' + focused + '"]');
        var target = again || container.querySelector('[tabindex="0"]');
        if (target) {
          if (again && again.getAttribute("tabindex") === "-1") {
            [].forEach.call(container.querySelectorAll('[tabindex="0"]'), function (s) { s.setAttribute("tabindex", "-1"); });
            again.setAttribute("tabindex", "0");
          }
          target.focus();
        }
      }
    }, function (error) {
      if (mine !== drawn) { return; }
      opts.onFail(error && error.message ? error.message : String(error));
    });
  }

  window.VigilMap = {
    show: show,
    // The rollout roles a place would not reach: what the map colours by.
    rolloutGaps: rolloutGaps
  };
})();
