// Stock history charts: uPlot (vendored, see vendor/README.md) over the series the page embeds:
// lag per channel and minute, and the drift each reconciliation found per channel.
(function () {
  "use strict";
  var colours = ["#2f5fd0", "#0f7b6c", "#b35c00", "#8a3ffc", "#c62828", "#5a6478"];
  function draw() {
    var source = document.getElementById("stock-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var scales = {x: {time: true, range: function () { return [data.since, data.until]; }}};
    var width = Math.min(1000, document.querySelector("main").clientWidth - 20);
    document.querySelectorAll("time[data-epoch]").forEach(function (el) {
      el.textContent = new Date(Number(el.dataset.epoch) * 1000).toLocaleString();
    });
    document.querySelectorAll(".chart").forEach(function (el) {
      if (el.dataset.chart === "lag") {
        var c = data.lag[Number(el.dataset.channel)];
        new uPlot({
          title: "Lag (ms) and updates told within a second (%)", width: width, height: 220, scales: {
            x: scales.x, pct: {range: [0, 100]},
          },
          series: [{}, {label: "mean lag ms", stroke: "#2f5fd0"}, {label: "max lag ms", stroke: "#5a6478"},
                   {label: "within 1 s %", stroke: "#0f7b6c", scale: "pct"}],
          axes: [{}, {}, {scale: "pct", side: 1, grid: {show: false}}],
        }, [c.minutes, c.mean_lag_ms, c.max_lag_ms, c.on_time_pct], el);
      } else if (el.dataset.chart === "drift") {
        var series = [{}].concat(data.drift.channels.map(function (name, i) {
          return {label: name, stroke: colours[i % colours.length], points: {show: true}};
        }));
        new uPlot({title: "Drift found per reconciliation", width: width, height: 220, scales: scales,
                   series: series}, [data.drift.times].concat(data.drift.drift), el);
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
