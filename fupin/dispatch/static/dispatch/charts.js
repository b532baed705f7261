/* Charts of the dispatch pages (figures: orders per month; 民情 analysis: reports per category). Data comes from
   json_script blocks, labels from data- attributes: no inline script (Content-Security-Policy). */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  if (!window.echarts) return;
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var monthly = document.getElementById("chart-monthly");
  var rows = data("monthly-data");
  if (monthly && rows) {
    echarts.init(monthly).setOption({
      grid: {left: 40, right: 20, top: 20, bottom: 40}, tooltip: {trigger: "axis"}, legend: {bottom: 0},
      xAxis: {type: "category", data: rows.map(function (r) { return r[0]; })}, yAxis: {type: "value"},
      series: [{type: "bar", name: monthly.dataset.labelPushed, data: rows.map(function (r) { return r[1]; }),
                itemStyle: {color: "#2c6fbb"}},
               {type: "line", name: monthly.dataset.labelResolved, data: rows.map(function (r) { return r[2]; }),
                itemStyle: {color: "#2e8b57"}}]
    });
  }
  var category = document.getElementById("chart-category");
  var cats = data("category-data");
  if (category && cats) {
    echarts.init(category).setOption({
      grid: {left: 120, right: 20, top: 10, bottom: 50},
      xAxis: {type: "value"},
      yAxis: {type: "category", inverse: true, data: cats.map(function (r) { return r.label; })},
      series: [{type: "bar", name: category.dataset.labelReports, data: cats.map(function (r) { return r.count; }),
                itemStyle: {color: "#2c6fbb"}},
               {type: "bar", name: category.dataset.labelAnswered, data: cats.map(function (r) { return r.answered; }),
                itemStyle: {color: "#2e8b57"}}],
      tooltip: {trigger: "axis"}, legend: {bottom: 0}
    });
  }
});
