/* The battle map (作战地图): boundaries, a choropleth, the poor households (clustered) with filters, search,
 * popups and locating a household. Data comes from /api/v1/map/; vendored Leaflet + markercluster, no CDN.
 * Works offline with vector layers only; a tile layer is added when the server configures one. */
(function () {
  "use strict";
  var dataEl = document.getElementById("map-data");
  if (!dataEl || !window.L) { return; }
  var D = JSON.parse(dataEl.textContent);
  var T = D.t || {};
  var cfg = D.config;
  var shell = document.getElementById("map-shell");
  var csrf = shell.getAttribute("data-csrf");
  var API = "/api/v1/map/";
  var byCode = {};
  D.tree.forEach(function (n) { byCode[n.code] = n; });

  var state = {
    division: D.division || "",
    color: "status",
    filters: {},          // attribute key -> [codes]
    indicator: "",
    level: "village",
    complete: false,      // the last household answer held every household of the filters
    locating: null        // household being placed by a click
  };

  // ---- map and panes ------------------------------------------------------------------------------------------
  var map = L.map("map", { zoomControl: true, preferCanvas: true, zoomSnap: 0.5, minZoom: 5, maxZoom: 19,
                           attributionControl: true });
  map.attributionControl.setPrefix(false);
  map.createPane("areas").style.zIndex = 350;
  map.createPane("choro").style.zIndex = 360;
  map.createPane("lines").style.zIndex = 380;
  map.createPane("labels").style.zIndex = 560;
  map.createPane("labels").style.pointerEvents = "none";
  var canvas = L.canvas({ padding: 0.3 });
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  if (cfg.tiles && cfg.tiles.url) {
    var tileOpts = { attribution: cfg.tiles.attribution || "", maxZoom: 19 };
    if (cfg.tiles.subdomains) { tileOpts.subdomains = cfg.tiles.subdomains; }
    L.tileLayer(cfg.tiles.url, tileOpts).addTo(map);
    shell.classList.add("with-tiles");
  }
  // open on the area at once (its bounds come with the page), so the first household request asks for this view
  if (D.bounds) { map.fitBounds(D.bounds, { padding: [24, 24] }); } else { map.setView([cfg.center[0], cfg.center[1]], 10); }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function qs(params) {
    return Object.keys(params).filter(function (k) { return params[k] !== "" && params[k] != null; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.detail || r.statusText); }
        return body;
      });
    });
  }
  function scopeCode() { return state.division || (D.home && D.home.code) || ""; }

  // ---- boundaries ---------------------------------------------------------------------------------------------
  var STYLE = {
    county: { pane: "lines", color: "#5b4636", weight: 2.6, fill: false, dashArray: null },
    town: { pane: "lines", color: "#8a6d53", weight: 1.6, fill: false, dashArray: "6 4" },
    village: { pane: "areas", color: "#a99a8a", weight: 0.8, fillColor: "#ffffff", fillOpacity: 0.0 },
    grid: { pane: "lines", color: "#6c8ebf", weight: 0.8, fill: false, dashArray: "2 3" }
  };
  var boundary = {};       // level -> L.GeoJSON
  var features = {};       // code -> feature layer (polygons) for fitting and the choropleth
  var land = null;         // the county filled as land when there are no tiles
  var labels = { town: L.layerGroup(), village: L.layerGroup(), grid: L.layerGroup() };
  var synthetic = false;

  function addLabel(level, feature, layer) {
    var p = feature.properties;
    var at = p.center ? L.latLng(p.center[1], p.center[0]) :
      (layer.getBounds ? layer.getBounds().getCenter() : layer.getLatLng());
    L.marker(at, { pane: "labels", interactive: false, keyboard: false,
                   icon: L.divIcon({ className: "area-label area-label-" + level, html: esc(p.name), iconSize: null }) })
      .addTo(labels[level]);
  }

  function loadBoundaries(level) {
    return getJSON(API + "boundaries?" + qs({ level: level, division: level === "grid" ? scopeCode() : (D.home ? D.home.code : "") }))
      .then(function (fc) {
        if (boundary[level]) { map.removeLayer(boundary[level]); }
        if (labels[level]) { labels[level].clearLayers(); }
        var st = STYLE[level];
        boundary[level] = L.geoJSON(fc, {
          renderer: canvas,
          style: function () { return Object.assign({ renderer: canvas }, st); },
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, { pane: "lines", renderer: canvas, radius: level === "town" ? 6 : 4,
                                            color: st.color, weight: 1, fillColor: "#fff", fillOpacity: 0.9 });
          },
          onEachFeature: function (f, layer) {
            features[f.properties.code] = layer;
            if (f.properties.synthetic) { synthetic = true; }
            if (labels[level]) { addLabel(level, f, layer); }
            if (level === "village" || level === "town") {
              layer.on("click", function (e) {
                if (state.locating) { return; }
                L.DomEvent.stopPropagation(e);
                areaPopup(f.properties, e.latlng);
              });
            }
          }
        });
        if (level === "county" && !(cfg.tiles && cfg.tiles.url)) {
          land = L.geoJSON(fc, { pane: "areas", renderer: canvas, interactive: false,
                                 style: { stroke: false, fillColor: "#f7f3e8", fillOpacity: 1 } }).addTo(map);
          land.bringToBack();
        }
        toggleLayer(level);
        noteSynthetic();
        return boundary[level];
      });
  }

  function toggleLayer(level) {
    var box = document.getElementById("l-" + level);
    var on = box && box.checked;
    if (boundary[level]) { if (on) { boundary[level].addTo(map); } else { map.removeLayer(boundary[level]); } }
    if (level === "county" && land) { if (on) { land.addTo(map); land.bringToBack(); } else { map.removeLayer(land); } }
    updateLabels();
  }

  function updateLabels() {
    var z = map.getZoom();
    var show = { town: z < 12, village: z >= 12 && z < 15.5, grid: z >= 15.5 };
    Object.keys(labels).forEach(function (level) {
      var box = document.getElementById("l-" + level);
      var on = show[level] && box && box.checked && boundary[level];
      if (on) { labels[level].addTo(map); } else { map.removeLayer(labels[level]); }
    });
  }

  function noteSynthetic() {
    var note = document.getElementById("map-note");
    note.textContent = synthetic ? (T.synthetic || "") : "";
    syntheticControl.getContainer().hidden = !synthetic;
  }
  var SyntheticControl = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      var div = L.DomUtil.create("div", "map-badge");
      div.textContent = T.synthetic_short || "";
      div.hidden = true;
      return div;
    }
  });
  var syntheticControl = new SyntheticControl().addTo(map);

  function areaPopup(p, latlng) {
    var link = "/dashboard/?division=" + encodeURIComponent(p.code);
    var value = "";
    if (choro.data && choro.data.values[p.code] != null) {
      value = "<div>" + esc(choro.data.label) + ":<strong>" + esc(fmt(choro.data.values[p.code], choro.data.decimals)) +
        "</strong> " + esc(choro.data.unit) + "</div>";
    }
    L.popup({ className: "area-pop" }).setLatLng(latlng).setContent(
      "<strong>" + esc(p.name) + "</strong>" + (p.poor_village ? " <span class='tag-poor'>" + esc(T.poor_village) + "</span>" : "") +
      value + (p.synthetic ? "<div class='muted small'>" + esc(T.synthetic_short) + "</div>" : "") +
      "<div class='pop-links'><a href='#' data-zoom='" + esc(p.code) + "'>" + esc(T.show_area) + "</a> · <a href='" + link + "'>" +
      esc(T.dashboard) + "</a></div>").openOn(map);
  }
  map.on("popupopen", function (e) {
    var el = e.popup.getElement();
    el.querySelectorAll("[data-zoom]").forEach(function (a) {
      a.addEventListener("click", function (ev) { ev.preventDefault(); map.closePopup(); chooseArea(a.getAttribute("data-zoom")); });
    });
    el.querySelectorAll("[data-locate]").forEach(function (a) {
      a.addEventListener("click", function (ev) { ev.preventDefault(); startLocate(+a.getAttribute("data-id"), a.getAttribute("data-locate"), a.getAttribute("data-name")); });
    });
  });

  // ---- choropleth ---------------------------------------------------------------------------------------------
  var choro = { data: null, layer: L.layerGroup().addTo(map) };
  function fmt(v, d) { return (d ? Number(v).toFixed(d) : Math.round(v).toLocaleString("zh-CN")); }
  function classOf(v, breaks) { var i = 0; while (i < breaks.length && v > breaks[i]) { i++; } return i; }

  function loadChoropleth() {
    choro.layer.clearLayers();
    var legend = document.getElementById("choro-legend");
    legend.innerHTML = "";
    choro.data = null;
    if (!state.indicator) { return Promise.resolve(); }
    return getJSON(API + "choropleth?" + qs({ indicator: state.indicator, level: state.level, division: D.home ? D.home.code : "" }))
      .then(function (c) {
        choro.data = c;
        var src = boundary[state.level === "town" ? "town" : "village"];
        if (src) {
          src.eachLayer(function (layer) {
            var p = layer.feature.properties;
            var v = c.values[p.code];
            if (v == null) { return; }
            var color = c.colors[classOf(v, c.breaks)];
            var shape;
            if (layer.getLatLngs) {
              shape = L.geoJSON(layer.feature, { pane: "choro", renderer: canvas, interactive: false,
                                                 style: { stroke: false, fillColor: color, fillOpacity: 0.62 } });
            } else {
              shape = L.circleMarker(layer.getLatLng(), { pane: "choro", renderer: canvas, interactive: false,
                                                          radius: 16, stroke: false, fillColor: color, fillOpacity: 0.7 });
            }
            shape.addTo(choro.layer);
          });
        }
        var rows = [];
        var lo = null;
        for (var i = 0; i < c.colors.length; i++) {
          var hi = i < c.breaks.length ? c.breaks[i] : null;
          var text = (lo == null ? "≤ " + fmt(hi, c.decimals) : (hi == null ? "> " + fmt(lo, c.decimals) : fmt(lo, c.decimals) + " – " + fmt(hi, c.decimals)));
          if (c.breaks.length === 0) { text = T.all_areas || ""; }
          rows.push("<li><span class='swatch' style='background:" + c.colors[i] + "'></span>" + esc(text) + "</li>");
          lo = hi;
        }
        legend.innerHTML = "<div class='small'>" + esc(c.label) + (c.unit ? "(" + esc(c.unit) + ")" : "") + "</div><ul>" + rows.join("") + "</ul>";
      })
      .catch(function (err) { legend.textContent = err.message; });
  }

  // ---- households ---------------------------------------------------------------------------------------------
  var legendColors = [];
  var highlightOn = false;
  var clusterGroup = L.markerClusterGroup({
    chunkedLoading: true, showCoverageOnHover: false, spiderfyOnMaxZoom: true, maxClusterRadius: 48,
    disableClusteringAtZoom: 17,
    iconCreateFunction: function (cluster) {
      var counts = [];
      var hl = 0;
      cluster.getAllChildMarkers().forEach(function (m) {
        counts[m.options.ci] = (counts[m.options.ci] || 0) + 1;
        if (m.options.flag) { hl++; }
      });
      return donut(cluster.getChildCount(), counts, hl);
    }
  });
  var serverClusters = L.layerGroup();
  var hhLayer = L.layerGroup([clusterGroup, serverClusters]).addTo(map);

  function colorAt(i) { return legendColors[i] || "#9aa0a6"; }

  function donut(n, counts, hl) {
    var total = 0; var stops = []; var acc = 0;
    counts.forEach(function (c) { total += c || 0; });
    counts.forEach(function (c, i) {
      if (!c) { return; }
      var from = acc / total * 360; acc += c; var to = acc / total * 360;
      stops.push(colorAt(i) + " " + from.toFixed(1) + "deg " + to.toFixed(1) + "deg");
    });
    var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 44 : 52;
    var html = "<div class='donut' style='width:" + size + "px;height:" + size + "px;background:conic-gradient(" + stops.join(",") + ")'>" +
      "<span>" + (n >= 10000 ? (n / 1000).toFixed(0) + "k" : n) + "</span>" + (hl ? "<i class='donut-hl' title='" + esc(T.highlighted) + "'>" + hl + "</i>" : "") + "</div>";
    return L.divIcon({ html: html, className: "hh-cluster", iconSize: [size, size] });
  }

  function pointMarker(p) {
    var flag = p[4] & 1;
    var m = L.circleMarker([p[2], p[1]], {
      renderer: canvas, radius: flag ? 8 : 5.5, weight: flag ? 3 : 1.2, color: flag ? "#1f1f1f" : "#ffffff",
      fillColor: colorAt(p[3]), fillOpacity: 0.95, ci: p[3], flag: flag, hid: p[0]
    });
    m.on("click", function () { if (!state.locating) { openHousehold(p[0], m.getLatLng()); } });
    return m;
  }

  var loadSeq = 0;
  function householdParams(withView) {
    var params = { division: state.division, color: state.color };
    Object.keys(state.filters).forEach(function (k) { if (state.filters[k].length) { params[k] = state.filters[k].join(","); } });
    if (withView) {
      var b = map.getBounds().pad(0.25);
      params.bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (x) { return x.toFixed(5); }).join(",");
      params.zoom = Math.round(map.getZoom());
    }
    return params;
  }

  function loadHouseholds(opts) {
    opts = opts || {};
    var seq = ++loadSeq;
    var started = performance.now();
    return getJSON(API + "households?" + qs(householdParams(true))).then(function (res) {
      if (seq !== loadSeq) { return res; }
      legendColors = res.legend.map(function (l) { return l.color; });
      clusterGroup.clearLayers();
      serverClusters.clearLayers();
      state.complete = !!res.complete;
      if (res.mode === "points") {
        clusterGroup.addLayers(res.points.map(pointMarker));
      } else {
        res.clusters.forEach(function (c) {
          var mk = L.marker([c[1], c[0]], { icon: donut(c[2], c[3], c[4]) });
          mk.on("click", function () { map.setView(mk.getLatLng(), Math.min(map.getZoom() + 2, 18)); });
          serverClusters.addLayer(mk);
        });
      }
      renderLegend(res);
      var count = document.getElementById("hh-count");
      count.textContent = (T.shown || "") .replace("%(n)s", res.located.toLocaleString("zh-CN")) +
        (res.unlocated ? " · " + (T.unlocated || "").replace("%(n)s", res.unlocated.toLocaleString("zh-CN")) : "");
      if (opts.fit && res.mode === "points" && res.points.length && !fitArea(state.division || (D.home && D.home.code))) {
        map.fitBounds(L.latLngBounds(res.points.map(function (p) { return [p[2], p[1]]; })).pad(0.1));
      }
      document.documentElement.setAttribute("data-households-ready", String(res.located));
      // ms since the navigation started (the page's budget is 2 s) and of this request alone
      document.documentElement.setAttribute("data-households-at", String(Math.round(performance.now())));
      document.documentElement.setAttribute("data-households-ms", String(Math.round(performance.now() - started)));
      return res;
    }).catch(function (err) {
      document.getElementById("hh-count").textContent = err.message;
    });
  }

  var moveTimer;
  map.on("moveend", function () {
    updateLabels();
    if (state.complete) { return; }
    clearTimeout(moveTimer);
    moveTimer = setTimeout(loadHouseholds, 200);
  });
  map.on("zoomend", updateLabels);

  // ---- legend and filters -------------------------------------------------------------------------------------
  var attrs = {};
  cfg.attributes.forEach(function (a) { attrs[a.key] = a; });

  function renderLegend(res) {
    var box = document.getElementById("f-status");
    var active = state.filters[state.color] || [];
    box.innerHTML = res.legend.map(function (l) {
      var checked = !active.length || active.indexOf(l.code) >= 0;
      var input = l.code == null ? "" : "<input type='checkbox' data-code='" + esc(l.code) + "'" + (checked ? " checked" : "") + ">";
      return "<label class='check legend-row'>" + input + "<span class='dot' style='background:" + l.color + "'></span>" +
        esc(l.label) + "<span class='n'>" + l.n.toLocaleString("zh-CN") + "</span></label>";
    }).join("");
    box.querySelectorAll("input[data-code]").forEach(function (cb) {
      cb.addEventListener("change", function () {
        var codes = [];
        var all = true;
        box.querySelectorAll("input[data-code]").forEach(function (x) { if (x.checked) { codes.push(x.getAttribute("data-code")); } else { all = false; } });
        state.filters[state.color] = all ? [] : (codes.length ? codes : ["__none__"]);
        loadHouseholds();
      });
    });
  }

  function buildFilters() {
    var color = document.getElementById("f-color");
    var more = document.getElementById("f-more");
    cfg.attributes.forEach(function (a) {
      if (!a.color) { return; }
      var o = document.createElement("option");
      o.value = a.key; o.textContent = a.label;
      color.appendChild(o);
    });
    buildFiltersFor(state.color);
    color.value = state.color;
    color.addEventListener("change", function () {
      state.filters[state.color] = [];
      state.color = color.value;
      more.innerHTML = "";
      buildFiltersFor(color.value);
      loadHouseholds();
    });
    var ind = document.getElementById("f-indicator");
    cfg.indicators.forEach(function (i) {
      var o = document.createElement("option");
      o.value = i.key; o.textContent = i.label + (i.unit ? "(" + i.unit + ")" : "");
      ind.appendChild(o);
    });
    ind.addEventListener("change", function () { state.indicator = ind.value; loadChoropleth(); });
    document.querySelectorAll("input[name=f-level]").forEach(function (r) {
      r.addEventListener("change", function () { if (r.checked) { state.level = r.value; loadChoropleth(); } });
    });
  }
  function buildFiltersFor(colorKey) {
    // the colouring attribute is filtered by its legend; every other filterable attribute gets a select
    var more = document.getElementById("f-more");
    cfg.attributes.forEach(function (a) {
      if (!a.filterable || a.highlight != null || a.key === colorKey) { return; }
      var row = document.createElement("label");
      row.className = "map-row";
      row.innerHTML = esc(a.label) + "<select data-attr='" + esc(a.key) + "'><option value=''>" + esc(T.all || "") + "</option>" +
        a.choices.map(function (c) { return "<option value='" + esc(c.code) + "'>" + esc(c.label) + "</option>"; }).join("") + "</select>";
      var sel = row.querySelector("select");
      sel.value = (state.filters[a.key] || [""])[0] || "";
      sel.addEventListener("change", function (e) { state.filters[a.key] = e.target.value ? [e.target.value] : []; loadHouseholds(); });
      more.appendChild(row);
    });
    cfg.attributes.forEach(function (a) {
      if (!a.filterable || a.highlight == null) { return; }
      var lab = document.createElement("label");
      lab.className = "check";
      lab.innerHTML = "<input type='checkbox' data-attr='" + esc(a.key) + "'> " + esc(T.only || "") + esc(a.label);
      var cb = lab.querySelector("input");
      cb.checked = !!(state.filters[a.key] || []).length;
      cb.addEventListener("change", function (e) { state.filters[a.key] = e.target.checked ? [a.highlight] : []; loadHouseholds(); });
      more.appendChild(lab);
    });
  }

  // ---- area choice --------------------------------------------------------------------------------------------
  var selTown = document.getElementById("f-town");
  var selVillage = document.getElementById("f-village");
  var selGrid = document.getElementById("f-grid");

  function fillSelect(sel, parent, levels) {
    var keep = sel.options[0];
    sel.innerHTML = "";
    sel.appendChild(keep);
    D.tree.forEach(function (n) {
      if (n.parent === parent && levels.indexOf(n.level) >= 0) {
        var o = document.createElement("option");
        o.value = n.code; o.textContent = n.name;
        sel.appendChild(o);
      }
    });
    sel.disabled = sel.options.length <= 1;
  }

  function lineage(code) {
    var out = {};
    var n = byCode[code];
    while (n) { out[n.level === "community" ? "village" : n.level] = n.code; n = byCode[n.parent]; }
    return out;
  }

  function syncSelects() {
    var home = D.home ? byCode[D.home.code] : null;
    var line = lineage(state.division || (home ? home.code : ""));
    var homeLevel = home ? home.level : "county";
    var townParent = homeLevel === "county" ? home.code : (line.county || "");
    selTown.parentElement.hidden = false;
    if (homeLevel === "county") { fillSelect(selTown, townParent, ["town"]); } else { selTown.disabled = true; selTown.parentElement.classList.add("fixed"); }
    if (homeLevel !== "county") {
      selTown.innerHTML = "<option value='" + esc(line.town || "") + "'>" + esc((byCode[line.town] || {}).name || "") + "</option>";
    }
    selTown.value = line.town || "";
    if (line.town && (homeLevel === "county" || homeLevel === "town")) { fillSelect(selVillage, line.town, ["village", "community"]); }
    else if (line.village) { selVillage.innerHTML = "<option value='" + esc(line.village) + "'>" + esc(byCode[line.village].name) + "</option>"; selVillage.disabled = true; }
    else { fillSelect(selVillage, "__none__", []); }
    selVillage.value = line.village || "";
    if (line.village && homeLevel !== "grid") { fillSelect(selGrid, line.village, ["grid"]); }
    else if (line.grid) { selGrid.innerHTML = "<option value='" + esc(line.grid) + "'>" + esc(byCode[line.grid].name) + "</option>"; selGrid.disabled = true; }
    else { fillSelect(selGrid, "__none__", []); }
    selGrid.value = line.grid || "";
  }

  function fitArea(code) {
    var layer = code && features[code];
    if (layer && layer.getBounds) {
      map.fitBounds(layer.getBounds(), { padding: [24, 24] });
      return true;
    }
    var n = byCode[code];
    if (n && n.center && n.level !== "county") {
      map.setView([n.center[1], n.center[0]], n.level === "town" ? 12 : n.level === "grid" ? 16 : 14);
      return true;
    }
    return false;
  }

  function highlightArea(code) {
    Object.keys(features).forEach(function (c) {
      var layer = features[c];
      if (!layer.setStyle || !layer.feature) { return; }
      var lvl = layer.feature.properties.level === "community" ? "village" : layer.feature.properties.level;
      var base = STYLE[lvl] || {};
      if (c === code) { layer.setStyle({ color: "#c0392b", weight: 3, dashArray: null }); layer.bringToFront && layer.bringToFront(); }
      else { layer.setStyle({ color: base.color, weight: base.weight, dashArray: base.dashArray || null }); }
    });
  }

  function chooseArea(code) {
    state.division = code || "";
    syncSelects();
    var url = new URL(window.location.href);
    if (state.division) { url.searchParams.set("division", state.division); } else { url.searchParams.delete("division"); }
    window.history.replaceState(null, "", url.toString());
    var dash = document.getElementById("to-dashboard");
    if (dash) { dash.href = "/dashboard/" + (state.division ? "?division=" + state.division : ""); }
    var n = byCode[state.division];
    var gridBox = document.getElementById("l-grid");
    var next = Promise.resolve();
    if (n && (n.level === "village" || n.level === "community" || n.level === "grid") && !gridBox.checked) {
      gridBox.checked = true;
    }
    if (gridBox.checked) { next = loadBoundaries("grid"); }
    return next.then(function () {
      highlightArea(state.division);
      if (!fitArea(state.division || (D.home && D.home.code))) { return loadHouseholds({ fit: true }); }
      return loadHouseholds();
    });
  }

  selTown.addEventListener("change", function () { chooseArea(selTown.value); });
  selVillage.addEventListener("change", function () { chooseArea(selVillage.value || selTown.value); });
  selGrid.addEventListener("change", function () { chooseArea(selGrid.value || selVillage.value); });
  ["county", "town", "village"].forEach(function (lvl) {
    document.getElementById("l-" + lvl).addEventListener("change", function () { toggleLayer(lvl); });
  });
  document.getElementById("l-grid").addEventListener("change", function (e) {
    if (e.target.checked) { loadBoundaries("grid"); } else { toggleLayer("grid"); }
  });
  document.getElementById("l-households").addEventListener("change", function (e) {
    if (e.target.checked) { hhLayer.addTo(map); } else { map.removeLayer(hhLayer); }
  });

  // ---- popup --------------------------------------------------------------------------------------------------
  function popupHtml(h) {
    var rows = [
      [T.household_no, h.poor_code], [T.place, h.place], [T.size, h.size + " " + (T.persons || "")],
      [T.attribute, h.attribute], [T.causes, h.causes.join("、")],
      [T.income, h.per_capita_net_income != null ? h.per_capita_net_income.toLocaleString("zh-CN") + " " + (T.yuan || "") + (h.income_year ? "(" + h.income_year + ")" : "") : ""],
      [T.head_id, h.head_id], [T.phone, h.phone], [T.year_exited, h.year_exited || ""]
    ].filter(function (r) { return r[1] !== "" && r[1] != null; });
    var html = "<div class='hh-pop'>" +
      "<div class='hh-pop-head'><span class='dot' style='background:" + esc(h.status.color) + "'></span><strong>" + esc(h.head) + (T.hh_suffix || "") + "</strong>" +
      "<span class='badge' style='border-color:" + esc(h.status.color) + ";color:" + esc(h.status.color) + "'>" + esc(h.status.label) + "</span></div>" +
      "<dl class='hh-facts'>" + rows.map(function (r) { return "<dt>" + esc(r[0]) + "</dt><dd>" + esc(r[1]) + "</dd>"; }).join("") + "</dl>";
    if (h.members.length) {
      var cols = [["name", T.member_name], ["relationship", T.relationship], ["age", T.age], ["health", T.health],
                  ["labour", T.labour]].filter(function (c) {
        return h.members.some(function (m) { return c[0] === "labour" ? (m.labour || m.schooling) : (m[c[0]] !== "" && m[c[0]] != null); });
      });
      html += "<table class='hh-members'><thead><tr>" + cols.map(function (c) { return "<th>" + esc(c[1]) + "</th>"; }).join("") + "</tr></thead><tbody>" +
        h.members.map(function (m) {
          return "<tr>" + cols.map(function (c) { return "<td>" + esc(c[0] === "labour" ? (m.labour || m.schooling) : (m[c[0]] == null ? "" : m[c[0]])) + "</td>"; }).join("") + "</tr>";
        }).join("") + "</tbody></table>";
    }
    h.sections.forEach(function (s) {
      html += "<div class='hh-section'><div class='hh-section-title'>" + (s.url ? "<a href='" + esc(s.url) + "'>" + esc(s.title) + "</a>" : esc(s.title)) + "</div>" +
        "<dl class='hh-facts'>" + s.rows.map(function (r) { return "<dt>" + esc(r[0]) + "</dt><dd>" + esc(r[1]) + "</dd>"; }).join("") + "</dl></div>";
    });
    var loc = h.location;
    html += "<div class='hh-pop-foot'><a class='btn-link' href='" + esc(h.url) + "'>" + esc(T.open_file) + " →</a>";
    if (cfg.can_locate) {
      html += "<span class='locate-links'>" + esc(T.locate) + ":<a href='#' data-locate='gps' data-id='" + h.id + "' data-name='" + esc(h.head) + "'>" + esc(T.by_gps) + "</a>" +
        "<a href='#' data-locate='map' data-id='" + h.id + "' data-name='" + esc(h.head) + "'>" + esc(T.by_click) + "</a></span>";
    }
    html += "</div>";
    if (loc.lng == null) { html += "<div class='hh-warn'>" + esc(T.not_located) + "</div>"; }
    else if (loc.at) { html += "<div class='muted small'>" + esc(T.located) + ":" + esc(loc.source === "gps" ? T.by_gps : loc.source === "map" ? T.by_click : loc.source) + (loc.by ? " · " + esc(loc.by) : "") + " · " + esc(loc.at) + "</div>"; }
    return html + "</div>";
  }

  function openHousehold(id, latlng) {
    return getJSON(API + "households/" + id).then(function (h) {
      var at = latlng || (h.location.lng != null ? L.latLng(h.location.lat, h.location.lng) :
        (h.village_center ? L.latLng(h.village_center[1], h.village_center[0]) : map.getCenter()));
      L.popup({ maxWidth: 380, minWidth: 300, className: "hh-popup", autoPanPadding: [20, 20] })
        .setLatLng(at).setContent(popupHtml(h)).openOn(map);
      return h;
    }).catch(function (err) { L.popup().setLatLng(latlng || map.getCenter()).setContent(esc(err.message)).openOn(map); });
  }

  // ---- locating a household -----------------------------------------------------------------------------------
  var banner = document.getElementById("locate-banner");
  function startLocate(id, how, name) {
    map.closePopup();
    if (how === "gps") {
      if (!navigator.geolocation) { alert(T.no_gps); return; }
      banner.hidden = false; banner.textContent = T.gps_wait;
      navigator.geolocation.getCurrentPosition(function (pos) {
        banner.hidden = true;
        saveLocation(id, pos.coords.longitude, pos.coords.latitude, "gps");
      }, function (err) { banner.hidden = true; alert((T.gps_failed || "") + err.message); }, { enableHighAccuracy: true, timeout: 20000 });
      return;
    }
    state.locating = { id: id, name: name };
    shell.classList.add("locating");
    banner.hidden = false;
    banner.innerHTML = esc((T.click_to_place || "").replace("%(name)s", name)) + " <button type='button' class='btn btn-quiet' id='locate-cancel'>" + esc(T.cancel) + "</button>";
    document.getElementById("locate-cancel").addEventListener("click", stopLocate);
  }
  function stopLocate() { state.locating = null; shell.classList.remove("locating"); banner.hidden = true; }
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && state.locating) { stopLocate(); } });
  map.on("click", function (e) {
    if (!state.locating) { return; }
    var target = state.locating;
    if (!window.confirm((T.confirm_place || "").replace("%(name)s", target.name) + "\n" + e.latlng.lng.toFixed(6) + ", " + e.latlng.lat.toFixed(6))) { return; }
    stopLocate();
    saveLocation(target.id, e.latlng.lng, e.latlng.lat, "map");
  });
  function saveLocation(id, lng, lat, source) {
    return fetch(API + "households/" + id + "/location", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify({ lng: lng, lat: lat, source: source, crs: "wgs84" })
    }).then(function (r) { return r.json().then(function (b) { if (!r.ok) { throw new Error(b.detail || r.statusText); } return b; }); })
      .then(function (h) {
        return loadHouseholds().then(function () {
          var at = L.latLng(h.location.lat, h.location.lng);
          L.popup({ maxWidth: 380, minWidth: 300, className: "hh-popup" }).setLatLng(at).setContent(popupHtml(h)).openOn(map);
        });
      })
      .catch(function (err) { alert(err.message); });
  }

  // ---- search -------------------------------------------------------------------------------------------------
  var q = document.getElementById("map-q");
  var results = document.getElementById("map-results");
  var searchTimer;
  var searchSeq = 0;
  function showResults(list) {
    if (!list.length) {
      results.innerHTML = "<li class='muted'>" + esc(T.no_results) + "</li>";
    } else {
      results.innerHTML = list.map(function (r, i) {
        return "<li role='option' tabindex='0' data-i='" + i + "'><span class='dot' style='background:" + esc(r.color) + "'></span>" +
          "<strong>" + esc(r.head) + "</strong> <span class='muted small'>" + esc(r.poor_code) + "</span>" +
          (r.matched ? " <span class='small'>(" + esc(T.member) + " " + esc(r.matched) + ")</span>" : "") +
          "<div class='small muted'>" + esc(r.village) + (r.grid ? " · " + esc(r.grid) : "") + " · " + esc(r.status) +
          (r.lng == null ? " · " + esc(T.not_located_short) : "") + "</div></li>";
      }).join("");
    }
    results.hidden = false;
    results.querySelectorAll("li[data-i]").forEach(function (li) {
      var pick = function () { goTo(list[+li.getAttribute("data-i")]); };
      li.addEventListener("click", pick);
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") { pick(); } });
    });
  }
  function within(code, area) {
    var n = byCode[area];
    if (!area || !n) { return true; }
    var width = { county: 6, town: 9, village: 12, community: 12, grid: 15 }[n.level] || area.length;
    return code.slice(0, width) === area.slice(0, width);
  }
  function goTo(r) {
    results.hidden = true;
    if (!within(r.area, state.division)) {
      // the household lies outside the chosen area: show the whole jurisdiction again so its point is drawn
      state.division = "";
      syncSelects();
      highlightArea("");
      var url = new URL(window.location.href);
      url.searchParams.delete("division");
      window.history.replaceState(null, "", url.toString());
      loadHouseholds();
    }
    if (r.lng != null) {
      var at = L.latLng(r.lat, r.lng);
      map.once("moveend", function () { openHousehold(r.id, at); });
      map.flyTo(at, Math.max(map.getZoom(), 15), { duration: 0.8 });
    } else {
      openHousehold(r.id, null);
    }
  }
  q.addEventListener("input", function () {
    clearTimeout(searchTimer);
    var text = q.value.trim();
    if (!text) { results.hidden = true; return; }
    searchTimer = setTimeout(function () {
      var seq = ++searchSeq;
      getJSON(API + "search?" + qs({ q: text })).then(function (res) { if (seq === searchSeq) { showResults(res.results); } })
        .catch(function (err) { results.innerHTML = "<li>" + esc(err.message) + "</li>"; results.hidden = false; });
    }, 220);
  });
  q.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { var first = results.querySelector("li[data-i]"); if (first) { first.click(); } }
    if (e.key === "Escape") { results.hidden = true; }
  });

  // ---- start --------------------------------------------------------------------------------------------------
  buildFilters();
  syncSelects();
  var homeLevel = D.home ? D.home.level : "county";
  var first = [];
  if (homeLevel === "county" || homeLevel === "city") { first.push(loadBoundaries("county")); }
  else { document.getElementById("l-county").closest("label").hidden = true; }
  if (homeLevel === "county" || homeLevel === "city" || homeLevel === "town") { first.push(loadBoundaries("town")); }
  first.push(loadBoundaries("village"));
  var chosenLevel = state.division && byCode[state.division] ? byCode[state.division].level : "";
  if (["village", "community", "grid"].indexOf(homeLevel) >= 0 || ["village", "community", "grid"].indexOf(chosenLevel) >= 0) {
    document.getElementById("l-grid").checked = true;
  }
  // the households are asked for at once, in parallel with the boundaries; the view is fitted when both are in
  var households = loadHouseholds();
  Promise.all(first.map(function (p) { return p.catch(function () {}); })).then(function () {
    if (document.getElementById("l-grid").checked) { return loadBoundaries("grid").catch(function () {}); }
  }).then(function () {
    highlightArea(state.division);
    var fitted = !!D.bounds || fitArea(state.division || (D.home && D.home.code));
    if (!fitted) {
      var all = L.featureGroup(Object.keys(boundary).map(function (k) { return boundary[k]; }));
      if (all.getLayers().length && all.getBounds().isValid()) { map.fitBounds(all.getBounds(), { padding: [16, 16] }); fitted = true; }
    }
    return households.then(function (res) {
      if (!fitted && res && res.mode === "points" && res.points.length) {
        map.fitBounds(L.latLngBounds(res.points.map(function (p) { return [p[2], p[1]]; })).pad(0.1));
      }
    });
  });
})();
