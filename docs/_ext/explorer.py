"""Sphinx extension: the ``{explorer}`` directive, an interactive page drawn by Bokeh.

Before the pages are read, if one of them uses the directive, the data are computed
with gradcourse (``explorer_data``) or read from the build cache; a site without the
page computes nothing. The directive embeds them as JSON in the page, with native
HTML controls and Bokeh figures; a small script swaps the figures' data sources when
a control changes (Bokeh draws). BokehJS is served once from the site's
``_static/bokeh/``: nothing is fetched from another host.

The page speaks the build's language (``language``: "es", or "en" in the English
edition): the directive writes its labels and Bokeh's in it, and the script picks the
data's texts and writes its sentences in the page's ``<html lang>``. Both editions
embed the same data, which hold the words in both languages.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import explorer_data as ed
from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)
_DATA: dict = {}
LOG_Y = {"act": True, "grad": True, "frac": False, "loss": False, "acc": False}  # the figures, in order
#: What the directive writes, per language. The script's sentences are in explorer.js.
TEXT = {
    "es": {
        "figures": {  # name -> (title, y label)
            "act": ("Activaciones al inicializar", "std de la activación"),
            "grad": ("Gradiente al inicializar", "std de ∂L/∂z"),
            "frac": ("Unidades muertas o saturadas", "fracción de unidades"),
            "loss": ("Entrenamiento: pérdida", "pérdida"),
            "acc": ("Entrenamiento: exactitud", "exactitud (conjunto de prueba)"),
        },
        "layer": "capa", "step": "paso",
        "act": "Activación", "init": "Inicialización", "arch": "Arquitectura",
        "depth": ("Profundidad: ", " capas"),  # around the number of layers
        "median": "mediana de {n} semillas", "range": "mínimo–máximo", "theory": "teoría\n(campo medio)",
    },
    "en": {
        "figures": {
            "act": ("Activations at initialization", "std of the activation"),
            "grad": ("Gradient at initialization", "std of ∂L/∂z"),
            "frac": ("Dead or saturated units", "fraction of units"),
            "loss": ("Training: loss", "loss"),
            "acc": ("Training: accuracy", "accuracy (test set)"),
        },
        "layer": "layer", "step": "step",
        "act": "Activation", "init": "Initialization", "arch": "Architecture",
        "depth": ("Depth: ", " layers"),
        "median": "median of {n} seeds", "range": "min–max", "theory": "theory\n(mean field)",
    },
}


def language(config) -> str:
    """The build's language as the explorer writes it: "en" in the English edition, else "es"."""
    return "en" if (config.language or "").startswith("en") else "es"


# Tick labels in the course's style: decimal comma (a point in English), and 7·10⁻⁴
# rather than 7.000e-4.
_TICKS = """
if (tick === 0) return "0";
const e = Math.floor(Math.log10(Math.abs(tick)));
if (e >= -2 && e <= 3) return String(+tick.toPrecision(3)).replace(".", ",");
const m = +(tick / 10 ** e).toPrecision(2);
const sup = String(e).replace(/-/g, "⁻").replace(/[0-9]/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[+d]);
return (m === 1 ? "" : String(m).replace(".", ",") + "·") + "10" + sup;
"""
_COMMA = '.replace(".", ",")'
_TICKS_EN = _TICKS.replace(_COMMA, "")
assert _TICKS.count(_COMMA) == 2 and _COMMA not in _TICKS_EN


def _bokeh_js() -> Path:
    import bokeh

    return Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh.min.js"


def _script_name() -> str:
    import bokeh

    return f"bokeh/bokeh-{bokeh.__version__}.min.js"


def _figures(lang: str = "es") -> tuple[str, dict[str, str]]:
    """Bokeh figures with empty, named sources, labelled in ``lang``; returns (script, {name: div})."""
    from bokeh.embed import components
    from bokeh.models import ColumnDataSource, CustomJSTickFormatter, NumeralTickFormatter
    from bokeh.plotting import figure

    from gradcourse import plots

    text = TEXT[lang]
    figs = {}
    for name, log in LOG_Y.items():
        title, ylabel = text["figures"][name]
        x_label = text["layer"] if name in ("act", "grad", "frac") else text["step"]
        fig = figure(title=title, height=260, sizing_mode="stretch_width", y_axis_type="log" if log else "linear",
                     x_axis_label=x_label, y_axis_label=ylabel, toolbar_location=None, name=f"fig_{name}",
                     background_fill_color="white", border_fill_color="white")
        src = ColumnDataSource({"x": [], "mid": [], "lo": [], "hi": []}, name=f"src_{name}")
        color = plots.COLORS["healthy"]
        fig.varea(x="x", y1="lo", y2="hi", source=src, fill_color=color, fill_alpha=0.25,
                  name=f"band_{name}")
        fig.line(x="x", y="mid", source=src, line_color=color, line_width=2.5, name=f"line_{name}")
        if name in ("act", "grad", "frac", "acc"):
            fig.scatter(x="x", y="mid", source=src, color=color, size=6, name=f"dots_{name}")
        if name in ("act", "grad"):
            theory = ColumnDataSource({"x": [], "y": []}, name=f"src_theory_{name}")
            fig.line(x="x", y="y", source=theory, line_color="black", line_dash="dashed",
                     line_width=1.5, name=f"theory_{name}")
        if name in ("frac", "acc"):
            fig.y_range.start, fig.y_range.end = 0, 1
            fig.yaxis.formatter = NumeralTickFormatter(format="0%")
        else:
            fig.yaxis.formatter = CustomJSTickFormatter(code=_TICKS if lang == "es" else _TICKS_EN)
            fig.yaxis.ticker.desired_num_ticks = 5
            if log:
                fig.yaxis.ticker.mantissas = [1, 2, 5]
        fig.xaxis.ticker.desired_num_ticks = 6
        fig.title.text_font_size = "14px"
        for axis in (fig.xaxis, fig.yaxis):
            axis.axis_label_text_font_size = "13px"
            axis.axis_label_text_font_style = "normal"
            axis.major_label_text_font_size = "12px"
        figs[name] = fig
    return components(figs)


def _select(name: str, label: str, options: dict[str, str], value: str) -> str:
    opts = "".join(f'<option value="{k}"{" selected" if k == value else ""}>{v}</option>'
                   for k, v in options.items())
    return (f'<label class="gc-control">{label}<select id="gc-{name}" name="{name}">{opts}'
            "</select></label>")


class ExplorerDirective(SphinxDirective):
    """``{explorer}``: the controls, the figures and the embedded data."""

    def run(self) -> list[nodes.Node]:
        lang = language(self.config)
        data = _data(self.env.srcdir)
        if lang == "en":
            data = self._english_sections(data)
        html = _html(data, lang, "../" * self.env.docname.count("/"))
        return [nodes.raw("", html, format="html")]

    def _english_sections(self, data: dict) -> dict:
        """The data with each verdict's ``section_en``, the title of the page it links to,
        as the English edition shows it (that page's catalogue); the report gives the
        Spanish one. The explorer page is read again when one of those catalogues changes."""
        from babel.messages.pofile import read_po
        from sphinx.util.i18n import docname_to_domain

        titles = {}
        for text in data["verdict_texts"]:
            docname = text["docname"]
            if docname in titles:
                continue
            titles[docname] = None
            domain = docname_to_domain(docname, self.config.gettext_compact)
            # The catalogues kept in locale/ (the build itself reads compiled copies).
            for folder in ("locale", *self.config.locale_dirs):
                po = Path(self.env.srcdir) / folder / self.config.language / "LC_MESSAGES" / f"{domain}.po"
                if po.exists():
                    self.env.note_dependency(str(po))
                    with po.open("rb") as f:
                        message = read_po(f).get(text["section"])
                    if message is not None and message.string and not message.fuzzy:
                        titles[docname] = message.string
                        break
        for docname, title in titles.items():
            if title is None:
                logger.warning(f"explorer: no English title for {docname} in locale/{self.config.language}: "
                               "its verdicts link to it with the Spanish one", location=self.get_location())
        return {**data, "verdict_texts": [{**t, "section_en": titles[t["docname"]] or t["section_en"]}
                                          for t in data["verdict_texts"]]}


def _html(data: dict, lang: str, rel: str) -> str:
    """The controls, the figures and the embedded data, in ``lang``; ``rel`` leads to the site's root."""
    text = TEXT[lang]
    meta = data["meta"]
    labels = meta if lang == "es" else meta["labels_en"]
    script, divs = _figures(lang)
    depths = meta["depths"]
    before, after = text["depth"]
    controls = (
        _select("act", text["act"], labels["activations"], "relu")
        + _select("init", text["init"], labels["inits"], "xavier")
        + f'<label class="gc-control"><span>{before}'
        f'<output id="gc-depth-out">{depths[2]}</output>{after}</span>'
        f'<input id="gc-depth" type="range" min="0" max="{len(depths) - 1}" step="1" value="2" '
        f'aria-valuetext="{depths[2]}{after}"></label>'
        + _select("arch", text["arch"], labels["archs"], "plain")
    )
    # role="img": each figure is a picture whose name (explorer.js) says what it shows now
    figures = "".join(f'<div class="gc-figure" id="gc-fig-{n}" role="img" '
                      f'aria-label="{text["figures"][n][0]}">{d}</div>' for n, d in divs.items())
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f"""
<div id="gc-explorer" class="gc-explorer" data-root="{rel}">
<form id="gc-explorer-controls" class="gc-controls" onsubmit="return false">{controls}</form>
<div id="gc-verdict" class="gc-verdict" role="status" aria-live="polite"></div>
<p class="gc-legend"><span class="gc-key gc-key-line"></span> {text["median"].format(n=len(meta["seeds"]))}
<span class="gc-key gc-key-band"></span> {text["range"]} <span class="gc-key gc-key-theory"></span> {text["theory"]}</p>
<div class="gc-figures">{figures}</div>
</div>
<script type="application/json" id="gc-explorer-data">{payload}</script>
<script src="{rel}_static/{_script_name()}"></script>
{script}
<script src="{rel}_static/explorer.js"></script>
"""


def _data(srcdir) -> dict:
    """The explorer's data, computed (or read from the cache) once per build."""
    if not _DATA:
        _DATA.update(ed.load_or_compute(Path(srcdir) / "_build" / ".explorer", log=logger.info))
    return _DATA


def _precompute(app, env, docnames) -> None:
    """Compute the data before the pages are read, in the main process with every core.

    Then no page waits on them inside a cell (whose time limit a loaded machine can
    exceed), parallel readers inherit them, and the page's own code reads the cache."""
    for docname in docnames:
        path = Path(env.doc2path(docname))
        if path.suffix == ".md" and "```{explorer}" in path.read_text(encoding="utf-8"):
            _data(app.srcdir)
            return


def _fingerprint(app) -> None:
    app.env.gc_explorer_fp = ed.fingerprint()


def _outdated(app, env, added, changed, removed) -> list[str]:
    """Re-render the pages using the directive when the data changed."""
    if getattr(env, "gc_explorer_seen", None) != env.gc_explorer_fp:
        env.gc_explorer_seen = env.gc_explorer_fp
        return [d for d in getattr(env, "gc_explorer_pages", set()) if d in env.found_docs]
    return []


def _note_page(app, doctree) -> None:
    if any("gc-explorer-data" in n.astext() for n in doctree.findall(nodes.raw)):
        app.env.gc_explorer_pages = getattr(app.env, "gc_explorer_pages", set()) | {app.env.docname}


def _merge(app, env, docnames, other) -> None:
    """Parallel read: bring the pages a worker saw using the directive into the main env."""
    env.gc_explorer_pages = getattr(env, "gc_explorer_pages", set()) | getattr(other, "gc_explorer_pages", set())


def _page_css(app, pagename, templatename, context, doctree) -> None:
    """The explorer's stylesheet, on the pages that show it only."""
    if pagename in getattr(app.env, "gc_explorer_pages", ()):
        app.add_css_file("explorer.css")


def _copy_bokeh(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / _script_name()
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_bokeh_js(), target)


def setup(app):
    app.add_directive("explorer", ExplorerDirective)
    app.connect("builder-inited", _fingerprint)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-before-read-docs", _precompute)
    app.connect("doctree-read", _note_page)
    app.connect("env-merge-info", _merge)
    app.connect("html-page-context", _page_css)
    app.connect("build-finished", _copy_bokeh)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
