// The compare page: every chart overlays the compared runs.
"use strict";

(function () {
  const root = document.getElementById("charts");
  const runIds = root.dataset.runs.split(",").filter(Boolean);
  let charts = [];
  let stop = () => {};
  async function draw(x) {
    window.artCharts.notReady();
    stop();
    for (const c of charts) if (c.plot) c.plot.destroy();
    charts = await window.artCharts.drawAll(root, runIds, {x: x, smoothing: controls.smoothing()});
    stop = window.artCharts.keepPolling(charts);
    window.artCharts.ready();
  }
  const controls = window.artCharts.bindControls(() => charts, draw);
  draw(controls.x());
})();
