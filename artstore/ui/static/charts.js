// Line charts of metrics with uPlot: one chart per key, one series per run, points fetched
// from /api/series (downsampled on the server, each bucket keeping its min and max point).
// Each chart container (.chart[data-key]) reports data-series and data-points once drawn
// (the readiness contract of docs/ui.md). Used by the project, compare and run pages.
"use strict";

(function () {
  const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#0598bc",
    "#e16f24", "#6e7781", "#d63384", "#116329"];
  const POLL_MS = 2000;
  const MARKERS_BELOW = 50;  // a series this short shows its points (one point draws no line)
  const COMPACT = new Intl.NumberFormat("en", {notation: "compact", maximumSignificantDigits: 4});

  function axisLabel(x) {
    return x === "wall" ? "wall time" : (x === "time" ? "seconds since start" : "step");
  }

  // Exponential moving average, debiased as W&B's and TensorBoard's smoothing is.
  function smooth(ys, weight) {
    if (!weight) return ys;
    const out = new Array(ys.length);
    let last = 0, debias = 0;
    for (let i = 0; i < ys.length; i++) {
      const y = ys[i];
      if (y === null || !Number.isFinite(y)) { out[i] = y; continue; }
      last = last * weight + (1 - weight) * y;
      debias = debias * weight + (1 - weight);
      out[i] = last / debias;
    }
    return out;
  }

  function seriesUrl(runs, key, x, points, after) {
    const q = new URLSearchParams({runs: runs.join(","), key: key, x: x, points: String(points)});
    if (after !== undefined && after !== null) q.set("after", String(after));
    return "/api/series?" + q.toString();
  }

  async function getJSON(url) {
    const response = await fetch(url, {headers: {"Accept": "application/json"}});
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  // One chart: holds each run's points and redraws them when they change.
  class Chart {
    constructor(container, key, options) {
      this.container = container;
      this.key = key;
      this.x = options.x || "step";
      this.smoothing = options.smoothing || 0;
      this.runs = [];   // {run, name, state, x: [], y: [], last_step, downsampled}
      this.plot = null;
    }

    async load(runIds) {
      const width = Math.max(200, this.container.clientWidth - 16);
      const points = Math.min(4000, Math.max(200, Math.round(width * 2)));
      this.points = points;
      const body = await getJSON(seriesUrl(runIds, this.key, this.x, points));
      this.runs = body.series.map((s) => ({run: s.run, name: s.name, state: s.state,
        x: s.x, y: s.y, last_step: s.last_step, downsampled: s.downsampled,
        non_finite: s.non_finite || 0}));
      this.draw();
    }

    // New points of running runs, after the last step each one has.
    async poll() {
      let grew = false;
      for (const s of this.runs) {
        if (s.state !== "running") continue;
        const body = await getJSON(seriesUrl([s.run], this.key, this.x, this.points, s.last_step));
        const fresh = body.series[0];
        s.state = fresh.state;
        if (fresh.x.length) {
          // A downsampled part keeps the note: its counts add to what was there.
          if (fresh.downsampled || s.downsampled) {
            const was = s.downsampled || {points: s.y.length, buckets: 0};
            const now = fresh.downsampled || {points: fresh.y.length, buckets: 0};
            s.downsampled = {points: was.points + now.points, buckets: was.buckets + now.buckets};
          }
          s.x = s.x.concat(fresh.x);
          s.y = s.y.concat(fresh.y);
          s.non_finite += fresh.non_finite || 0;
          s.last_step = fresh.last_step;
          grew = true;
        }
      }
      if (grew) this.draw();
      return this.runs.some((s) => s.state === "running");
    }

    draw() {
      const drawn = this.runs.filter((s) => s.x.length > 0);
      const plotBox = this.container.querySelector(".plot");
      const note = this.container.querySelector(".note");
      // Points drawn: an infinite value comes as null (a gap) and is not drawn.
      const total = drawn.reduce((n, s) => n + s.y.filter((y) => y !== null).length, 0);
      this.container.dataset.series = String(drawn.length);
      this.container.dataset.points = String(total);
      const notes = drawn.filter((s) => s.downsampled).map((s) =>
        (drawn.length > 1 ? s.name + ": " : "") + "min and max of each of " +
        s.downsampled.buckets + " buckets of " + s.downsampled.points + " points");
      const skipped = drawn.reduce((n, s) => n + s.non_finite, 0);
      if (skipped) notes.push(skipped + " non-finite value" + (skipped === 1 ? "" : "s") + " not drawn");
      note.textContent = notes.join("; ");
      if (this.plot) { this.plot.destroy(); this.plot = null; }
      plotBox.textContent = "";
      if (!drawn.length) { plotBox.textContent = "no points"; return; }
      const data = uPlot.join(drawn.map((s) => [s.x, smooth(s.y, this.smoothing)]));
      const opts = {
        width: Math.max(200, this.container.clientWidth - 16),
        height: 220,
        scales: {x: {time: this.x === "wall"}},
        axes: [this.x === "wall" ? {} : {values: (u, splits) => splits.map((v) => COMPACT.format(v))}, {}],
        legend: {show: true, live: true},
        cursor: {drag: {x: true, y: false}},
        series: [{label: axisLabel(this.x)}].concat(drawn.map((s, i) => ({
          label: s.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true,
          points: {show: s.y.length < MARKERS_BELOW, size: 5},
        }))),
      };
      this.plot = new uPlot(opts, data, plotBox);
    }

    setSmoothing(weight) { this.smoothing = weight; this.draw(); }
  }

  // Charts for every .chart[data-key] inside root, of the runs given; resolves once drawn.
  async function drawAll(root, runIds, options) {
    const charts = Array.from(root.querySelectorAll(".chart[data-key]")).map(
      (el) => new Chart(el, el.dataset.key, options));
    await Promise.all(charts.map((c) => c.load(runIds).catch((error) => {
      c.container.querySelector(".plot").textContent = "cannot load: " + error.message;
    })));
    return charts;
  }

  // Poll running runs every 2 s until none of them runs any more.
  function keepPolling(charts) {
    let stopped = false;
    async function tick() {
      if (stopped) return;
      const states = await Promise.all(charts.map((c) => c.poll().catch(() => false)));
      if (states.some(Boolean)) setTimeout(tick, POLL_MS);
    }
    if (charts.some((c) => c.runs.some((s) => s.state === "running"))) setTimeout(tick, POLL_MS);
    return () => { stopped = true; };
  }

  // The x-axis and smoothing controls of a page.
  function bindControls(getCharts, redraw) {
    const x = document.getElementById("x-axis");
    const smoothing = document.getElementById("smoothing");
    if (x) x.addEventListener("change", () => redraw(x.value));
    if (smoothing) smoothing.addEventListener("input", () => {
      for (const c of getCharts()) c.setSmoothing(Number(smoothing.value));
    });
    return {
      x: () => (x ? x.value : "step"),
      smoothing: () => (smoothing ? Number(smoothing.value) : 0),
    };
  }

  function chartBox(key) {
    const box = document.createElement("div");
    box.className = "chart";
    box.dataset.key = key;
    box.dataset.series = "0";
    box.dataset.points = "0";
    const title = document.createElement("h3");
    title.textContent = key;
    const plot = document.createElement("div");
    plot.className = "plot";
    const note = document.createElement("p");
    note.className = "note";
    box.append(title, plot, note);
    return box;
  }

  function ready() { document.documentElement.dataset.ready = "1"; }
  function notReady() { delete document.documentElement.dataset.ready; }

  window.artCharts = {Chart, drawAll, keepPolling, bindControls, chartBox, getJSON, ready,
    notReady, smooth};
})();
