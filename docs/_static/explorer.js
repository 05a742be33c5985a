// The explorer's controls: swap the Bokeh sources to the chosen configuration's data.
// The data are real runs embedded in the page (docs/_ext/explorer_data.py); Bokeh draws.
(function () {
  "use strict";
  const root = document.getElementById("gc-explorer");
  const data = JSON.parse(document.getElementById("gc-explorer-data").textContent);
  const meta = data.meta;
  const $ = (id) => document.getElementById(id);
  const controls = { act: $("gc-act"), init: $("gc-init"), depth: $("gc-depth"), arch: $("gc-arch") };
  const num = (a) => a.map((v) => (v === null ? NaN : v));
  const range = (n, start, step) => Array.from({ length: n }, (_, i) => start + i * step);
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  let doc = null;

  function key() {
    return [controls.act.value, controls.init.value, meta.depths[+controls.depth.value], controls.arch.value].join("|");
  }

  function setBand(name, x, stats) {
    doc.get_model_by_name("src_" + name).data = { x: x, mid: num(stats.mid), lo: num(stats.lo), hi: num(stats.hi) };
  }

  function verdictHtml(run) {
    const rootPath = root.dataset.root || "";
    if (!run.verdicts.length) {
      return '<p class="gc-ok"><strong>Diagnóstico (semilla ' + meta.seeds[0] + '):</strong> sano, ' +
        "ningún umbral de <code>gc.diagnose</code> se supera al inicializar.</p>";
    }
    return run.verdicts.map((v) => {
      const where = v.layer === null ? "toda la red" : "capa " + v.layer;
      return '<p class="gc-bad gc-' + esc(v.kind) + '"><strong>' + esc(v.message) + "</strong> (" + esc(where) +
        "; " + esc(v.evidence) + ").<br>" + esc(v.remedy) + ' Véase <a href="' + rootPath + esc(v.docname) +
        '.html">' + esc(v.section) + "</a>.</p>";
    }).join("");
  }

  function update() {
    const t0 = performance.now();
    const k = key();
    const run = data.runs[k];
    const depth = meta.depths[+controls.depth.value];
    $("gc-depth-out").textContent = depth;
    controls.depth.setAttribute("aria-valuetext", depth + " capas");
    const layers = range(depth, 1, 1);
    setBand("act", layers, run.act);
    setBand("grad", layers, run.grad);
    setBand("frac", layers, run.frac);
    setBand("loss", range(run.loss.mid.length, 1, 1), run.loss);
    setBand("acc", range(run.acc.mid.length, meta.eval_every, meta.eval_every), run.acc);
    for (const name of ["act", "grad"]) {
      const t = run.theory ? num(run.theory[name]) : [];
      doc.get_model_by_name("src_theory_" + name).data = { x: run.theory ? layers : [], y: t };
    }
    const act = controls.act.value;
    doc.get_model_by_name("fig_frac").title.text =
      act === "sigmoid" || act === "tanh" ? "Unidades saturadas al inicializar" : "Unidades muertas al inicializar";
    $("gc-verdict").innerHTML = verdictHtml(run) + (run.theory ? "" :
      '<p class="gc-note">La teoría de campo medio de <code>gradcourse.theory</code> describe la red sin ' +
      "BatchNorm ni conexiones residuales: aquí solo se muestra la medida.</p>");
    window.gcExplorer = { key: k, run: run, ms: performance.now() - t0 };
    requestAnimationFrame(() => requestAnimationFrame(() => {
      window.gcExplorer.renderedMs = performance.now() - t0;
    }));
  }

  function start() {
    if (!window.Bokeh || !Bokeh.documents.length || !Bokeh.documents[0].get_model_by_name("src_act")) {
      setTimeout(start, 30);
      return;
    }
    doc = Bokeh.documents[0];
    for (const c of Object.values(controls)) c.addEventListener("input", update);
    update();
    root.classList.add("gc-ready");
  }
  start();
})();
