// The run page: its charts (polled while it runs), its console (searchable, polled while it
// runs) and its media panels (a step slider for images, tables and histograms).
"use strict";

(function () {
  const A = window.artCharts;
  const root = document.getElementById("charts");
  const runId = root.dataset.runs;
  let charts = [];
  let stop = () => {};

  async function drawCharts(x) {
    stop();
    for (const c of charts) if (c.plot) c.plot.destroy();
    charts = await A.drawAll(root, [runId], {x: x, smoothing: controls.smoothing()});
    stop = A.keepPolling(charts);
  }
  const controls = A.bindControls(() => charts, async (x) => {
    A.notReady(); await drawCharts(x); A.ready();
  });

  // While the run runs: a chart for each key it starts logging, and its state in the title.
  const badge = document.getElementById("run-state");
  function showState(state) {
    if (badge.textContent === state) return;
    badge.textContent = state;
    badge.className = "state-" + state;
    root.dataset.state = state;
  }

  function newKeysBox() {
    let box = document.getElementById("new-keys");
    if (box) return box;
    const section = document.createElement("section");
    section.className = "panel chart-group";
    const title = document.createElement("h2");
    title.textContent = "new keys";
    box = document.createElement("div");
    box.className = "charts";
    box.id = "new-keys";
    section.append(title, box);
    root.append(section);
    return box;
  }

  async function watchKeys() {
    const body = await A.getJSON("/api/runs/" + encodeURIComponent(runId) + "/keys");
    showState(body.state);
    const have = new Set(Array.from(root.querySelectorAll(".chart[data-key]"), (el) => el.dataset.key));
    const fresh = body.keys.filter((key) => !have.has(key));
    for (const key of fresh) {
      const box = A.chartBox(key);
      newKeysBox().append(box);
      const chart = new A.Chart(box, key, {x: controls.x(), smoothing: controls.smoothing()});
      await chart.load([runId]).catch((error) => {
        box.querySelector(".plot").textContent = "cannot load: " + error.message;
      });
      charts.push(chart);
    }
    if (fresh.length) { stop(); stop = A.keepPolling(charts); }
    if (body.state === "running") setTimeout(() => watchKeys().catch(() => {}), 2000);
  }
  if (root.dataset.state === "running") setTimeout(() => watchKeys().catch(() => {}), 2000);

  // -- console -----------------------------------------------------------------------------
  const consoleBox = document.getElementById("console");
  const search = document.getElementById("console-search");
  let last = 0, query = "", generation = 0;

  function appendLines(lines) {
    const fragment = document.createDocumentFragment();
    for (const line of lines) {
      const span = document.createElement("span");
      if (line.stream === "stderr") span.className = "stderr";
      if (query) {
        const lower = line.text.toLowerCase(), wanted = query.toLowerCase();
        let at = 0, found;
        while ((found = lower.indexOf(wanted, at)) >= 0) {
          span.append(line.text.slice(at, found));
          const mark = document.createElement("mark");
          mark.textContent = line.text.slice(found, found + wanted.length);
          span.append(mark);
          at = found + wanted.length;
        }
        span.append(line.text.slice(at));
      } else {
        span.textContent = line.text;
      }
      fragment.append(span);
    }
    consoleBox.append(fragment);
  }

  async function readConsole(mine) {
    for (;;) {
      const q = new URLSearchParams({after: String(last)});
      if (query) q.set("q", query);
      const body = await A.getJSON("/api/runs/" + encodeURIComponent(runId) + "/console?" + q);
      if (mine !== generation) return body.state;
      appendLines(body.lines);
      last = body.last_position;
      if (body.lines.length < 1000) return body.state;
    }
  }

  async function followConsole() {
    const mine = ++generation;
    const state = await readConsole(mine);
    if (state === "running") {
      const tick = async () => {
        if (mine !== generation) return;
        const now = await readConsole(mine).catch(() => "running");
        if (now === "running") setTimeout(tick, 2000);
      };
      setTimeout(tick, 2000);
    }
  }

  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      query = search.value.trim();
      last = 0;
      consoleBox.textContent = "";
      followConsole();
    }, 250);
  });

  // -- media -------------------------------------------------------------------------------
  function showTable(view, item) {
    A.getJSON(item.url).then((table) => {
      const t = document.createElement("table");
      t.className = "grid";
      const head = t.createTHead().insertRow();
      for (const c of table.columns || []) {
        const th = document.createElement("th"); th.textContent = String(c); head.append(th);
      }
      const body = t.createTBody();
      for (const row of (table.data || []).slice(0, 200)) {
        const tr = body.insertRow();
        for (const v of row) tr.insertCell().textContent = typeof v === "object" ? JSON.stringify(v) : String(v);
      }
      view.textContent = "";
      view.append(t);
    }).catch((error) => { view.textContent = "cannot show this table: " + error.message; });
  }

  function showHistogram(view, item) {
    const h = item.histogram;
    const bins = h.bins || [], values = h.values || [];
    const xs = bins.slice(0, values.length);
    view.textContent = "";
    const plot = document.createElement("div");
    view.append(plot);
    new uPlot({
      width: Math.max(200, view.clientWidth || 400), height: 160, legend: {show: false},
      scales: {x: {time: false}},
      series: [{}, {stroke: "#0969da", fill: "rgba(9,105,218,0.3)", paths: uPlot.paths.bars({size: [1, Infinity]}), points: {show: false}}],
    }, [xs, values], plot);
  }

  function showItem(view, item) {
    view.textContent = "";
    if (item.type === "image") {
      const img = document.createElement("img");
      img.src = item.url;
      img.alt = item.caption || ("step " + item.step);
      view.append(img);
      if (item.caption) { const p = document.createElement("p"); p.textContent = item.caption; view.append(p); }
    } else if (item.type === "histogram") {
      showHistogram(view, item);
    } else if (item.type === "table") {
      showTable(view, item);
    } else if (item.type === "audio" || item.type === "video") {
      const el = document.createElement(item.type);
      el.controls = true;
      el.src = item.url;
      view.append(el);
    } else {
      const a = document.createElement("a");
      a.href = item.url;
      a.textContent = "download " + item.type + " (step " + item.step + ")";
      view.append(a);
    }
  }

  async function loadMedia(panel) {
    const key = panel.dataset.key;
    const body = await A.getJSON("/api/runs/" + encodeURIComponent(runId) + "/media?key=" + encodeURIComponent(key));
    const steps = [];
    for (const item of body.items) {
      if (!steps.length || steps[steps.length - 1][0].step !== item.step) steps.push([item]);
      else steps[steps.length - 1].push(item);
    }
    const view = panel.querySelector(".media-view");
    const slider = panel.querySelector(".media-step");
    const label = panel.querySelector(".media-label");
    function show(i) {
      const group = steps[i];
      view.textContent = "";
      for (const item of group) {
        const cell = document.createElement("div");
        cell.className = "media-item";
        view.append(cell);
        showItem(cell, item);
      }
      label.textContent = "step " + group[0].step;
    }
    slider.max = String(steps.length - 1);
    slider.value = String(steps.length - 1);
    if (steps.length > 1) slider.parentElement.classList.remove("hidden");
    slider.addEventListener("input", () => show(Number(slider.value)));
    show(steps.length - 1);
    const images = Array.from(view.querySelectorAll("img"));
    await Promise.all(images.map((img) => img.complete ? null :
      new Promise((resolve) => { img.addEventListener("load", resolve); img.addEventListener("error", resolve); })));
  }

  const media = Array.from(document.querySelectorAll(".media[data-key]"));
  Promise.all([
    drawCharts(controls.x()),
    followConsole(),
    ...media.map((panel) => loadMedia(panel).catch((error) => {
      panel.querySelector(".media-view").textContent = "cannot load: " + error.message;
    })),
  ]).finally(A.ready);
})();
