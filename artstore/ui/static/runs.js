// The project page: the runs table's selection drives the charts below it (one chart per
// key the selected runs logged, one series per run). The selection is kept in the URL
// (?select=ID,ID) so a reload or a shared link shows the same charts.
"use strict";

(function () {
  const A = window.artCharts;
  const charts = document.getElementById("charts");
  const count = document.getElementById("selected-count");
  const compare = document.getElementById("compare-link");
  let drawn = [];
  let stop = () => {};
  let generation = 0;

  function selectedFromUrl() {
    const raw = new URLSearchParams(window.location.search).get("select") || "";
    return raw.split(",").filter(Boolean);
  }
  let selected = selectedFromUrl();

  function remember() {
    const url = new URL(window.location.href);
    if (selected.length) url.searchParams.set("select", selected.join(","));
    else url.searchParams.delete("select");
    window.history.replaceState(window.history.state, "", url);
  }

  function bindTable() {
    const boxes = Array.from(document.querySelectorAll("#runs input.select-run"));
    for (const box of boxes) {
      box.checked = selected.includes(box.value);
      box.addEventListener("change", () => {
        if (box.checked && !selected.includes(box.value)) selected.push(box.value);
        if (!box.checked) selected = selected.filter((id) => id !== box.value);
        update();
      });
    }
    const all = document.getElementById("select-all");
    if (all) all.addEventListener("change", () => {
      for (const box of boxes) {
        box.checked = all.checked;
        if (all.checked && !selected.includes(box.value)) selected.push(box.value);
        if (!all.checked) selected = selected.filter((id) => id !== box.value);
      }
      update();
    });
  }

  async function draw(x) {
    const mine = ++generation;
    stop();
    for (const c of drawn) if (c.plot) c.plot.destroy();
    drawn = [];
    charts.textContent = "";
    if (!selected.length) return;
    const body = await A.getJSON("/api/keys?runs=" + encodeURIComponent(selected.join(",")));
    if (mine !== generation) return;
    for (const key of body.keys) charts.append(A.chartBox(key));
    const made = await A.drawAll(charts, selected, {x: x, smoothing: controls.smoothing()});
    if (mine !== generation) { for (const c of made) if (c.plot) c.plot.destroy(); return; }
    drawn = made;
    stop = A.keepPolling(drawn);
    setTimeout(() => watchKeys(mine).catch(() => {}), 2000);
  }

  // While a selected run runs: a chart for each key it starts logging.
  async function watchKeys(mine) {
    if (mine !== generation || !drawn.some((c) => c.runs.some((s) => s.state === "running"))) return;
    const body = await A.getJSON("/api/keys?runs=" + encodeURIComponent(selected.join(",")));
    const have = new Set(drawn.map((c) => c.key));
    const fresh = body.keys.filter((key) => !have.has(key));
    for (const key of fresh) {
      if (mine !== generation) return;
      const box = A.chartBox(key);
      charts.append(box);
      const chart = new A.Chart(box, key, {x: controls.x(), smoothing: controls.smoothing()});
      await chart.load(selected).catch((error) => {
        box.querySelector(".plot").textContent = "cannot load: " + error.message;
      });
      drawn.push(chart);
    }
    if (mine !== generation) return;
    if (fresh.length) { stop(); stop = A.keepPolling(drawn); }
    setTimeout(() => watchKeys(mine).catch(() => {}), 2000);
  }

  async function update() {
    A.notReady();
    remember();
    count.textContent = selected.length ? selected.length + " runs selected" : "Select runs to chart them.";
    compare.classList.toggle("hidden", selected.length < 1);
    compare.href = "/compare?runs=" + encodeURIComponent(selected.join(","));
    try { await draw(controls.x()); } finally { A.ready(); }
  }

  const controls = A.bindControls(() => drawn, () => update());
  // The filter form sends the table's current sort (a header link may have changed it).
  function keepSort() {
    const table = document.getElementById("runs");
    const form = document.getElementById("runs-filter");
    if (!table || !form) return;
    form.elements.namedItem("sort").value = table.dataset.sort;
    form.elements.namedItem("order").value = table.dataset.order;
  }
  // htmx swaps the table on sort, filter and page: bind the new rows, keep the selection.
  document.body.addEventListener("htmx:afterSwap", () => { bindTable(); keepSort(); remember(); });
  bindTable();
  update();
})();
