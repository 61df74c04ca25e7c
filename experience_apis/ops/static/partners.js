// Partner health charts: uPlot (vendored, see vendor/README.md) over the series the page embeds.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("partner-data");
    if (!source) return;
    var report = JSON.parse(source.textContent);
    var partners = report.partners;
    // The whole window on the x axis (one bucket alone would otherwise span years).
    var scales = {x: {time: true, range: function () { return [report.since, report.until]; }}};
    var width = Math.min(1000, document.querySelector("main").clientWidth - 20);
    document.querySelectorAll(".chart").forEach(function (el) {
      var p = partners[Number(el.dataset.partner)];
      var opts, data;
      if (el.dataset.chart === "calls") {
        opts = {
          title: "Calls per bucket", width: width, height: 220, scales: scales,
          series: [{}, {label: "calls", stroke: "#2f5fd0"}, {label: "5xx", stroke: "#c62828"},
                   {label: "other 4xx", stroke: "#b35c00"}, {label: "429", stroke: "#8a3ffc"}],
        };
        data = [p.starts, p.calls, p.server_errors, p.refused, p.throttled];
      } else {
        opts = {
          title: "Latency (ms)", width: width, height: 220, scales: scales,
          series: [{}, {label: "mean", stroke: "#0f7b6c"}, {label: "max", stroke: "#5a6478"}],
        };
        data = [p.starts, p.mean_latency_ms, p.max_latency_ms];
      }
      new uPlot(opts, data, el);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
