// The explorer's controls: swap the Bokeh sources to the chosen configuration's data.
// The data are real runs embedded in the page (docs/_ext/explorer_data.py); Bokeh draws.
// The sentences follow the page's language (<html lang>): Spanish, or English in the
// English edition, where the verdicts' texts are the data's *_en ones.
(function () {
  "use strict";
  const root = document.getElementById("gc-explorer");
  const data = JSON.parse(document.getElementById("gc-explorer-data").textContent);
  const meta = data.meta;
  const EN = document.documentElement.lang === "en";
  const T = EN ? {
    healthy: (seed) => "<strong>Diagnosis (seed " + seed + "):</strong> healthy, no threshold of " +
      "<code>gc.diagnose</code> is crossed at initialization.",
    network: "whole network", layer: "layer ", see: " See ",
    decimal: ".", percent: "%", notFinite: "not finite", notFiniteF: "not finite",
    seeds: (n) => "median of " + n + " seeds",
    byLayer: (what, seeds, first, last, depth) => what + " per layer at initialization (" + seeds + "): " + first +
      " at layer 1 and " + last + " at layer " + depth,
    theory: (v, depth) => "; the theory predicts " + v + " at layer " + depth,
    act: "Standard deviation of the activation",
    grad: "Standard deviation of the gradient ∂L/∂z",
    frac: (saturating, seeds, lo, hi) => "Fraction of " + (saturating ? "saturated" : "dead") +
      " units per layer at initialization (" + seeds + "): between " + lo + " and " + hi + ".",
    loss: (seeds, first, rest) => "Training loss (" + seeds + "): " + first + " at step 1 and " + rest + ".",
    lossEnd: (v, step) => v + " at step " + step,
    lossStops: (step) => "it is no longer finite after step " + step,
    accAt: (v, step) => v + " at step " + step,
    acc: (seeds, list) => "Accuracy on the test set (" + seeds + "): " + list + ".",
    depth: (d) => d + " layers",
    fracTitle: (saturating) => (saturating ? "Saturated units at initialization" : "Dead units at initialization"),
    noTheory: "The mean field theory of <code>gradcourse.theory</code> describes the network without " +
      "BatchNorm or residual connections: only the measurement is shown here.",
  } : {
    healthy: (seed) => "<strong>Diagnóstico (semilla " + seed + "):</strong> sano, " +
      "ningún umbral de <code>gc.diagnose</code> se supera al inicializar.",
    network: "toda la red", layer: "capa ", see: " Véase ",
    decimal: ",", percent: " %", notFinite: "no finito", notFiniteF: "no finita",
    seeds: (n) => "mediana de " + n + " semillas",
    byLayer: (what, seeds, first, last, depth) => what + " por capa (" + seeds + "): " + first +
      " en la capa 1 y " + last + " en la capa " + depth,
    theory: (v, depth) => "; la teoría predice " + v + " en la capa " + depth,
    act: "Desviación típica de la activación al inicializar",
    grad: "Desviación típica del gradiente ∂L/∂z al inicializar",
    frac: (saturating, seeds, lo, hi) => "Fracción de unidades " + (saturating ? "saturadas" : "muertas") +
      " por capa al inicializar (" + seeds + "): entre el " + lo + " y el " + hi + ".",
    loss: (seeds, first, rest) => "Pérdida de entrenamiento (" + seeds + "): " + first + " en el paso 1 y " +
      rest + ".",
    lossEnd: (v, step) => v + " en el paso " + step,
    lossStops: (step) => "deja de ser finita después del paso " + step,
    accAt: (v, step) => v + " en el paso " + step,
    acc: (seeds, list) => "Exactitud en el conjunto de prueba (" + seeds + "): " + list + ".",
    depth: (d) => d + " capas",
    fracTitle: (saturating) => (saturating ? "Unidades saturadas al inicializar" : "Unidades muertas al inicializar"),
    noTheory: "La teoría de campo medio de <code>gradcourse.theory</code> describe la red sin " +
      "BatchNorm ni conexiones residuales: aquí solo se muestra la medida.",
  };
  // A verdict's texts in the page's language (the data hold both; Spanish without *_en).
  const texts = (t) => (EN ? { message: t.message_en || t.message, remedy: t.remedy_en || t.remedy,
    section: t.section_en || t.section, docname: t.docname } : t);
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
      return '<p class="gc-ok">' + T.healthy(meta.seeds[0]) + "</p>";
    }
    return run.verdicts.map((verdict) => {
      const v = Object.assign({}, texts(data.verdict_texts[verdict.text]), verdict);  // texts are shared
      const where = v.layer === null ? T.network : T.layer + v.layer;
      const evidence = EN && v.evidence_en !== undefined ? v.evidence_en : v.evidence;  // a NaN/Inf one is a sentence
      return '<p class="gc-bad gc-' + esc(v.kind) + '"><strong>' + esc(v.message) + "</strong> (" + esc(where) +
        "; " + esc(evidence) + ").<br>" + esc(v.remedy) + T.see + '<a href="' + rootPath + esc(v.docname) +
        '.html">' + esc(v.section) + "</a>.</p>";
    }).join("");
  }

  // Numbers as the course writes them: 0,25; 3,1·10⁻⁴ (0.25; 3.1·10⁻⁴ in English).
  function fmt(v) {
    if (v === null || !isFinite(v)) return T.notFinite;
    if (v === 0) return "0";
    const e = Math.floor(Math.log10(Math.abs(v)));
    if (e >= -2 && e <= 3) return String(+v.toPrecision(2)).replace(".", T.decimal);
    const sup = String(e).replace(/-/g, "⁻").replace(/[0-9]/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[+d]);
    return String(+(v / 10 ** e).toPrecision(2)).replace(".", T.decimal) + "·10" + sup;
  }
  const pct = (v) => (v === null || !isFinite(v) ? T.notFiniteF : Math.round(100 * v) + T.percent);

  // Each figure's text alternative: what it shows for the chosen configuration.
  function describe(run, depth) {
    const seeds = T.seeds(meta.seeds.length);
    const byLayer = (name, what) => {
      const m = run[name].mid;
      let text = T.byLayer(what, seeds, fmt(m[0]), fmt(m[m.length - 1]), depth);
      if (run.theory) text += T.theory(fmt(run.theory[name][depth - 1]), depth);
      return text + ".";
    };
    const frac = run.frac.mid;
    const loss = run.loss.mid;
    const lastLoss = loss.findLastIndex((v) => v !== null);
    const acc = run.acc.mid.map((v, i) => T.accAt(pct(v), meta.eval_every * (i + 1)));
    const act = controls.act.value;
    return {
      act: byLayer("act", T.act),
      grad: byLayer("grad", T.grad),
      frac: T.frac(act === "sigmoid" || act === "tanh", seeds, pct(Math.min(...frac.map((v) => v ?? 0))),
        pct(Math.max(...frac.map((v) => v ?? 0)))),
      loss: T.loss(seeds, fmt(loss[0]), lastLoss === loss.length - 1 ? T.lossEnd(fmt(loss[lastLoss]), loss.length)
        : T.lossStops(lastLoss + 1)),
      acc: T.acc(seeds, acc.join(", ")),
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
    controls.depth.setAttribute("aria-valuetext", T.depth(depth));
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
    doc.get_model_by_name("fig_frac").title.text = T.fracTitle(act === "sigmoid" || act === "tanh");
    const text = describe(run, depth);
    for (const name of Object.keys(text)) $("gc-fig-" + name).setAttribute("aria-label", text[name]);
    $("gc-verdict").innerHTML = verdictHtml(run) + (run.theory ? "" : '<p class="gc-note">' + T.noTheory + "</p>");
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
