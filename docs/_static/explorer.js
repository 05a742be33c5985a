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
    return run.verdicts.map((verdict) => {
      const v = Object.assign({}, data.verdict_texts[verdict.text], verdict);  // texts are shared
      const where = v.layer === null ? "toda la red" : "capa " + v.layer;
      return '<p class="gc-bad gc-' + esc(v.kind) + '"><strong>' + esc(v.message) + "</strong> (" + esc(where) +
        "; " + esc(v.evidence) + ").<br>" + esc(v.remedy) + ' Véase <a href="' + rootPath + esc(v.docname) +
        '.html">' + esc(v.section) + "</a>.</p>";
    }).join("");
  }

  // Numbers as the course writes them: 0,25; 3,1·10⁻⁴.
  function fmt(v) {
    if (v === null || !isFinite(v)) return "no finito";
    if (v === 0) return "0";
    const e = Math.floor(Math.log10(Math.abs(v)));
    if (e >= -2 && e <= 3) return String(+v.toPrecision(2)).replace(".", ",");
    const sup = String(e).replace(/-/g, "⁻").replace(/[0-9]/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[+d]);
    return String(+(v / 10 ** e).toPrecision(2)).replace(".", ",") + "·10" + sup;
  }
  const pct = (v) => (v === null || !isFinite(v) ? "no finita" : Math.round(100 * v) + " %");

  // Each figure's text alternative: what it shows for the chosen configuration.
  function describe(run, depth) {
    const seeds = "mediana de " + meta.seeds.length + " semillas";
    const byLayer = (name, what) => {
      const m = run[name].mid;
      let text = what + " por capa (" + seeds + "): " + fmt(m[0]) + " en la capa 1 y " + fmt(m[m.length - 1]) +
        " en la capa " + depth;
      if (run.theory) text += "; la teoría predice " + fmt(run.theory[name][depth - 1]) + " en la capa " + depth;
      return text + ".";
    };
    const frac = run.frac.mid;
    const loss = run.loss.mid;
    const lastLoss = loss.findLastIndex((v) => v !== null);
    const acc = run.acc.mid.map((v, i) => pct(v) + " en el paso " + meta.eval_every * (i + 1));
    const act = controls.act.value;
    return {
      act: byLayer("act", "Desviación típica de la activación al inicializar"),
      grad: byLayer("grad", "Desviación típica del gradiente ∂L/∂z al inicializar"),
      frac: "Fracción de unidades " + (act === "sigmoid" || act === "tanh" ? "saturadas" : "muertas") +
        " por capa al inicializar (" + seeds + "): entre el " + pct(Math.min(...frac.map((v) => v ?? 0))) +
        " y el " + pct(Math.max(...frac.map((v) => v ?? 0))) + ".",
      loss: "Pérdida de entrenamiento (" + seeds + "): " + fmt(loss[0]) + " en el paso 1 y " +
        (lastLoss === loss.length - 1 ? fmt(loss[lastLoss]) + " en el paso " + loss.length
          : "deja de ser finita después del paso " + (lastLoss + 1)) + ".",
      acc: "Exactitud en el conjunto de prueba (" + seeds + "): " + acc.join(", ") + ".",
    };
  }

  // Dark mode: the figures follow the page (the theme sets <html data-theme>).
  const THEMES = {
    light: { bg: "#ffffff", text: "#222222", axis: "#444444", grid: "#e5e5e5", theory: "#000000" },
    dark: { bg: "#14181e", text: "#e6e6e6", axis: "#b0b0b0", grid: "#3a3f46", theory: "#e6e6e6" },
  };
  function applyTheme() {
    const t = THEMES[document.documentElement.dataset.theme === "dark" ? "dark" : "light"];
    for (const name of ["act", "grad", "frac", "loss", "acc"]) {
      const fig = doc.get_model_by_name("fig_" + name);
      fig.background_fill_color = t.bg;
      fig.border_fill_color = t.bg;
      fig.outline_line_color = t.grid;
      fig.title.text_color = t.text;
      for (const axis of [...fig.left, ...fig.below]) {
        axis.axis_label_text_color = t.text;
        axis.major_label_text_color = t.text;
        axis.axis_line_color = t.axis;
        axis.major_tick_line_color = t.axis;
        axis.minor_tick_line_color = t.axis;
      }
      for (const grid of fig.center) if ("grid_line_color" in grid) grid.grid_line_color = t.grid;
      const theory = doc.get_model_by_name("theory_" + name);
      if (theory) theory.glyph.line_color = t.theory;
    }
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
    const text = describe(run, depth);
    for (const name of Object.keys(text)) $("gc-fig-" + name).setAttribute("aria-label", text[name]);
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
    applyTheme();
    new MutationObserver(applyTheme).observe(document.documentElement, { attributeFilter: ["data-theme"] });
    update();
    root.classList.add("gc-ready");
  }
  start();
})();
