/* Dashboards: draws the charts of the figures embedded in the page (#dash-specs) with the vendored ECharts.
 * Every bar, slice and point links to the households behind it: a click opens the list. */
(function () {
  "use strict";
  var PALETTE = ["#c0392b", "#2f4b7c", "#e67e22", "#16a085", "#8e44ad", "#2c82c9", "#d35400", "#7f8c8d",
                 "#27ae60", "#f1c40f", "#34495e", "#e84393", "#00a8a8", "#a0522d"];
  var specEl = document.getElementById("dash-specs");
  if (!specEl || !window.echarts) { return; }
  var specs = JSON.parse(specEl.textContent);
  var charts = [];
  var font = '"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif';

  function colorOf(item, i) { return item.color || PALETTE[i % PALETTE.length]; }
  function fmt(v) { return (Math.round(v * 100) / 100).toLocaleString("zh-CN"); }

  function optionFor(spec) {
    var items = spec.items || [];
    var counts = items.every(function (it) { return Math.round(it.value) === it.value; });
    var names = items.map(function (it) { return it.label; });
    var data = items.map(function (it, i) {
      return { value: it.value, url: it.url, itemStyle: { color: colorOf(it, i) } };
    });
    var base = { textStyle: { fontFamily: font }, animationDuration: 300,
                 tooltip: { confine: true, valueFormatter: function (v) { return fmt(v) + " " + (spec.unit || ""); } } };
    if (spec.chart === "pie") {
      return Object.assign(base, {
        tooltip: { trigger: "item", formatter: function (p) { return p.name + ":" + fmt(p.value) + " " + (spec.unit || "") + "(" + p.percent + "%)"; } },
        legend: { bottom: 0, type: "scroll", itemWidth: 10, itemHeight: 10 },
        series: [{ type: "pie", radius: ["42%", "68%"], center: ["50%", "45%"], avoidLabelOverlap: true,
                   label: { formatter: "{b}\n{c}", fontSize: 11 },
                   data: items.map(function (it, i) { return { name: it.label, value: it.value, url: it.url, itemStyle: { color: colorOf(it, i) } }; }) }]
      });
    }
    if (spec.chart === "hbar") {
      var order = items.map(function (_, i) { return i; }).sort(function (a, b) { return items[a].value - items[b].value; });
      return Object.assign(base, {
        tooltip: Object.assign(base.tooltip, { trigger: "axis", axisPointer: { type: "shadow" } }),
        grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", minInterval: counts ? 1 : 0, splitLine: { lineStyle: { color: "#eee" } } },
        yAxis: { type: "category", data: order.map(function (i) { return names[i]; }), axisTick: { show: false } },
        series: [{ type: "bar", barMaxWidth: 18, data: order.map(function (i) { return data[i]; }),
                   label: { show: true, position: "right", fontSize: 11 } }]
      });
    }
    var isLine = spec.chart === "line";
    return Object.assign(base, {
      tooltip: Object.assign(base.tooltip, { trigger: "axis", axisPointer: { type: isLine ? "line" : "shadow" } }),
      grid: { left: 8, right: 12, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: names, axisTick: { show: false },
               axisLabel: { interval: 0, hideOverlap: true, rotate: names.length > 6 ? 30 : 0, fontSize: 11 } },
      yAxis: { type: "value", minInterval: counts ? 1 : 0, splitLine: { lineStyle: { color: "#eee" } } },
      series: [{ type: isLine ? "line" : "bar", barMaxWidth: 36, data: data, smooth: isLine,
                 label: { show: true, position: "top", fontSize: 11 } }]
    });
  }

  function mount(el, option) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    chart.on("click", function (p) {
      var url = (p.data && p.data.url) || (option._urls && option._urls[p.dataIndex]);
      if (url) { window.location.href = url; }
    });
    charts.push(chart);
    return chart;
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = specs.figures[el.getAttribute("data-chart")];
    if (spec && spec.items && spec.items.length) {
      mount(el, optionFor(spec));
    } else {
      el.classList.add("chart-empty");
    }
  });

  var kids = specs.children;
  var kidsEl = document.getElementById("children-chart");
  if (kids && kidsEl && kids.names.length) {
    var opt = {
      textStyle: { fontFamily: font }, animationDuration: 300,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
      legend: { top: 0, itemWidth: 10, itemHeight: 10 },
      grid: { left: 8, right: 12, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: kids.names, axisTick: { show: false },
               axisLabel: { interval: 0, rotate: kids.names.length > 10 ? 35 : 0, fontSize: 11 },
               triggerEvent: true },
      yAxis: { type: "value", name: kids.unit || "", minInterval: 1, splitLine: { lineStyle: { color: "#eee" } } },
      series: kids.series.map(function (s, i) {
        return { name: s.name, type: "bar", stack: "status", barMaxWidth: 42, itemStyle: { color: s.color || PALETTE[i] },
                 emphasis: { focus: "series" }, data: s.values };
      }),
      _urls: kids.urls
    };
    var chart = mount(kidsEl, opt);
    chart.on("click", "xAxis", function (p) {
      var i = kids.names.indexOf(p.value);
      if (i >= 0 && kids.urls[i]) { window.location.href = kids.urls[i]; }
    });
  } else if (kidsEl) {
    kidsEl.remove();
  }

  var pending;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 120);
  });
  window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });
  document.documentElement.setAttribute("data-dashboard-ready", String(charts.length));
})();
