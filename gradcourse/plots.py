"""The course's figures, one function each; every one returns its ``Figure``.

The site's figure style lives here too, so that a colour means the same on every
page: :data:`COLORS` fixes one colour per meaning (healthy / vanishing /
exploding), per initialization scheme and per activation, :func:`use_style`
applies the site's sizes (text at least 10 pt on a figure at most :data:`FIG_WIDTH`
wide, so that it shows at 11 CSS px or more on a 390-px phone as well as in the
laptop's column) and sharp 2x images, and :func:`spanish_axes` writes the decimal
comma and integer layer ticks.

Nothing here calls ``plt.show()`` or selects a backend; only :func:`use_style`
changes the global ``rcParams``, when a page or a script asks for it. Figures get
an opaque white background so they stay readable on a dark page theme, and the
colours come from the Okabe-Ito palette (distinguishable with the common
colour-vision deficiencies) or, for one curve per layer, the ``cividis``
colormap. Labels and numbers follow :func:`gradcourse.get_language` (Spanish unless
``GRADCOURSE_LANG`` or :func:`gradcourse.set_language` say English); ``lang="en"`` or
``lang="es"`` chooses for one call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

from . import activations
from ._language import resolve

__all__ = [
    "COLORS", "FIG_WIDTH", "MIN_FONT_PT", "OKABE_ITO", "activation_functions", "band", "color", "grad_profile",
    "layer_axis", "layer_histograms", "loss_curves", "number", "number_range", "spanish_axes", "stat_heatmap", "style",
    "theory_vs_measured", "update_ratios", "use_style",
]

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000"]
#: One colour per meaning, used by every page and example.
COLORS = {
    # what a figure says about the signal
    "healthy": "#009E73", "vanishing": "#0072B2", "exploding": "#D55E00", "dead": "#CC79A7",
    # initialization schemes
    "he": "#E69F00", "xavier": "#56B4E9", "default": "#CC79A7", "normal": "#666666",
    "lecun": "#009E73", "orthogonal": "#0072B2", "zeros": "#000000",
    # activations
    "sigmoid": "#0072B2", "tanh": "#009E73", "relu": "#D55E00", "leaky_relu": "#E69F00",
    "elu": "#CC79A7", "gelu": "#56B4E9", "selu": "#666666",
}
_ALIASES = {"he_normal": "he", "he_uniform": "he", "kaiming_normal": "he", "kaiming_uniform": "he",
            "xavier_normal": "xavier", "xavier_uniform": "xavier", "glorot_normal": "xavier",
            "glorot_uniform": "xavier", "glorot_standard": "default", "pytorch": "default",
            "lecun_normal": "lecun", "constant": "zeros"}
#: Width in inches of a full-width figure. On a 390-px phone the column is 358 CSS px
#: (350 inside the dark mode's frame), so 10-pt text shows at 10/72 * 350 / FIG_WIDTH
#: = 11.0 CSS px; on a laptop the figure keeps its own 440 px (100 dpi), 13,9 px text.
#: A wider figure, or text under 10 pt, is too small to read on a phone.
FIG_WIDTH = 4.4
#: The smallest font size, in points, any text of a figure may have (legends included).
MIN_FONT_PT = 10
_STYLE = {"figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
          "axes.prop_cycle": plt.cycler(color=OKABE_ITO), "axes.grid": True,
          "grid.alpha": 0.3, "font.size": 10, "legend.fontsize": 10, "figure.dpi": 100,
          "savefig.dpi": 100, "figure.figsize": (FIG_WIDTH, 3.0), "axes.titlesize": 11,
          "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.title_fontsize": 10,
          "axes.formatter.use_mathtext": True}
_L = {
    "es": {"x": "x", "f": "f(x)", "df": "f'(x)", "sat": "saturación", "off": "inactiva",
           "layer": "capa", "density": "densidad", "act": "activación",
           "grad": "gradiente ∂L/∂z", "step": "paso", "loss": "pérdida", "theory": "teoría",
           "measured": "medido", "ratio": "std(ΔW) / std(W)", "rule": "regla 1e-3",
           "grad_std": "std de ∂L/∂z", "act_std": "std de la activación",
           "weight_grad_norm": "‖∂L/∂W‖", "dead_frac": "fracción de unidades muertas",
           "sat_frac": "fracción de unidades saturadas", "update_ratio": "std(ΔW) / std(W)"},
    "en": {"x": "x", "f": "f(x)", "df": "f'(x)", "sat": "saturation", "off": "inactive",
           "layer": "layer", "density": "density", "act": "activation",
           "grad": "gradient ∂L/∂z", "step": "step", "loss": "loss", "theory": "theory",
           "measured": "measured", "ratio": "std(ΔW) / std(W)", "rule": "1e-3 rule",
           "grad_std": "std of ∂L/∂z", "act_std": "activation std",
           "weight_grad_norm": "‖∂L/∂W‖", "dead_frac": "dead fraction",
           "sat_frac": "saturated fraction", "update_ratio": "std(ΔW) / std(W)"},
}
# |x| beyond which the tracker counts a unit as saturated (f' < 6 % of its maximum)
_SAT_X = {"tanh": math.atanh(activations.SATURATION), "sigmoid": 2 * math.atanh(activations.SATURATION)}


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


_DECIMAL = {"es": ",", "en": "."}
_THOUSANDS = {"es": "\u202f", "en": ","}


def _check_lang(lang: str | None) -> str:
    return resolve(lang)  # None: gradcourse.get_language()


def number(value: float, spec: str = "", lang: str | None = None) -> str:
    """A number as the course's prose writes it: decimal comma, 1,2 · 10⁻⁹, 12 000.

    ``spec`` is a :func:`format` spec; an exponent becomes a power of ten, zero is "0".
    ``lang="en"`` writes the decimal point and a comma between thousands (12,000).

    >>> number(0.5, ".2f"), number(1.23e-9, ".1e"), number(13800, ".0f"), number(1e-12, ".0e")
    ('0,50', '1,2 · 10⁻⁹', '13\u202f800', '10⁻¹²')
    >>> number(0.5, ".2f", lang="en"), number(13800, ".0f", lang="en")
    ('0.50', '13,800')
    """
    lang = _check_lang(lang)
    text = format(value, spec)
    if value == 0:
        return "0"
    point = _DECIMAL[lang]
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
        return power if mantissa == "1" else f"{mantissa.replace('.', point)} · {power}"
    whole, _, frac = text.partition(".")
    if len(whole.lstrip("-")) > 4:  # 12 000 with a narrow space; 9999 stays whole
        whole = f"{int(whole):,}".replace(",", _THOUSANDS[lang])
    return whole + (point + frac if frac else "")


def number_range(lo: float, hi: float, spec: str = "", unit: str | tuple[str, str] = "",
                 article: bool = False, lang: str | None = None) -> str:
    """"entre 0,77 y 1,17" for a spread over seeds, or the single value when both ends
    print the same ("entre 3 y 3" is never written).

    Args:
        lo, hi: The ends (swapped if given in the wrong order).
        spec: :func:`format` spec of each end, as in :func:`number`.
        unit: Written after each number with a space (``"%"``), or a pair
            ``(singular, plural)`` whose singular is used for the single value 1
            (``("punto", "puntos")``: "1 punto", "entre 1 y 3 puntos").
        article: Put "el" before each number ("entre el 3 % y el 5 %"; "el 3 %").
        lang: ``"es"`` or ``"en"`` ("between 0.77 and 1.17"); ``None`` (default):
            :func:`gradcourse.get_language`.

    >>> number_range(0.771, 1.17, ".2f"), number_range(3, 3, ".0f", "pasos")
    ('entre 0,77 y 1,17', '3 pasos')
    >>> number_range(10, 10, ".0f", "%", article=True), number_range(1, 1, ".0f", ("punto", "puntos"))
    ('el 10 %', '1 punto')
    >>> number_range(1, 3, ".0f", ("punto", "puntos"))
    'entre 1 y 3 puntos'
    >>> number_range(2, 5, ".0f", "%", article=True)
    'entre el 2 % y el 5 %'
    >>> number_range(0.5, 0.25, ".2f", lang="en"), number_range(2, 5, ".0f", "%", lang="en")
    ('between 0.25 and 0.50', 'between 2% and 5%')
    """
    lang = _check_lang(lang)
    lo, hi = min(lo, hi), max(lo, hi)
    a, b = number(lo, spec, lang), number(hi, spec, lang)

    one, many = unit if isinstance(unit, tuple) else (unit, unit)
    if a == b:
        u = one if a == "1" else many
        text = f"{a} {u}" if u else a
        if u and lang == "en" and not any(ch.isalpha() for ch in u):
            text = f"{a}{u}"  # English writes 84%, Spanish 84 %
        return f"el {text}" if article and lang == "es" else text
    # a symbol ("%") follows both ends, a word ("puntos") only the last
    symbol = bool(many) and not any(ch.isalpha() for ch in many)
    gap = "" if symbol and lang == "en" else " "  # 84%, but 84 %
    first = f"{a}{gap}{many}" if symbol else a
    last = f"{b}{gap}{many}" if many else b
    if article and lang == "es":
        first, last = f"el {first}", f"el {last}"
    return f"between {first} and {last}" if lang == "en" else f"entre {first} y {last}"


def style() -> dict[str, Any]:
    """The site's matplotlib ``rcParams`` (use with ``plt.rc_context(style())``)."""
    return dict(_STYLE)


def use_style() -> None:
    """Apply the site's figure style globally, for a page or a script.

    Sets :func:`style`'s ``rcParams`` and, inside Jupyter, 2x ("retina") inline
    images so figures stay sharp on high-density screens.
    """
    plt.rcParams.update(_STYLE)
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def color(name: str) -> str:
    """The site's colour for a meaning, a scheme or an activation (see :data:`COLORS`).

    >>> color("he_normal") == color("kaiming_uniform") == COLORS["he"]
    True
    """
    key = name.lower().replace("-", "_").rstrip("_")
    key = _ALIASES.get(key, key)
    if key not in COLORS:
        raise ValueError(f"no site colour for {name!r}; known: {sorted(COLORS)} "
                         f"and aliases {sorted(_ALIASES)}")
    return COLORS[key]


def _comma(label: str) -> str:
    # Inside mathtext a bare "," is punctuation followed by a space: "{,}" is not.
    return label.replace(".", "{,}" if "$" in label else ",")


class _Comma(Formatter):
    """Wraps an axis's formatter and writes its decimal point as a comma."""

    def __init__(self, inner: Formatter) -> None:
        self.inner = inner

    def set_axis(self, axis) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs) -> None:
        self.locs = locs
        self.inner.set_locs(locs)

    def __call__(self, x, pos=None) -> str:
        return _comma(self.inner(x, pos))

    def format_ticks(self, values) -> list[str]:
        return [_comma(s) for s in self.inner.format_ticks(values)]

    def get_offset(self) -> str:
        return _comma(self.inner.get_offset())


def spanish_axes(fig_or_ax: Figure | Axes, lang: str | None = None) -> Figure | Axes:
    """Decimal comma on every linear axis of a figure (call it last, after the scales are set).

    Log axes keep their powers of ten, which have no decimal point. In English (``lang``,
    or :func:`gradcourse.get_language` when it is ``None``) the axes keep their point.
    """
    if resolve(lang) == "en":
        return fig_or_ax
    axes = fig_or_ax.axes if isinstance(fig_or_ax, Figure) else [fig_or_ax]
    for ax in axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "linear" and not isinstance(axis.get_major_formatter(), _Comma):
                axis.set_major_formatter(_Comma(axis.get_major_formatter()))
    return fig_or_ax


def layer_axis(ax: Axes, axis: str = "x", lang: str | None = None) -> Axes:
    """Integer ticks and the label "capa" on a per-layer axis (no tick at layer 2.5)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(integer=True))
    target.set_label_text(_labels(lang)["layer"])
    return ax


def band(ax: Axes, x: Sequence[float], runs: Any, label: str | None = None,
         color: str | None = None, marker: str | None = None, quantiles: tuple[float, float] = (0.0, 1.0),
         **line_kwargs: Any):
    """Median over seeds as a line and their spread as a shaded band.

    Args:
        ax: Where to draw.
        x: Positions, ``(N,)``.
        runs: ``(S, N)`` values, one row per seed (``Seeds[key]``); a 1-D array draws
            a plain line.
        quantiles: The band's lower and upper quantile over seeds (default min-max).

    Returns:
        The median's line.
    """
    y = np.asarray(runs, dtype=float)
    if y.ndim == 1:
        y = y[None, :]
    if y.shape[-1] != len(x):
        raise ValueError(f"runs has {y.shape[-1]} points per seed but x has {len(x)}")
    mid = np.nanmedian(y, axis=0)
    (line,) = ax.plot(x, mid, label=label, color=color, marker=marker, **line_kwargs)
    if y.shape[0] > 1:
        lo, hi = np.nanquantile(y, quantiles[0], axis=0), np.nanquantile(y, quantiles[1], axis=0)
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    return line


def _labels(lang: str | None) -> dict[str, str]:
    return _L[resolve(lang)]


def _layer_colors(n: int) -> list:
    return [plt.get_cmap("cividis")(v) for v in np.linspace(0.0, 0.9, max(n, 1))]


def activation_functions(names: Sequence[str] = ("sigmoid", "tanh", "relu"),
                         xlim: float = 6.0, lang: str | None = None) -> Figure:
    """f and f' of each activation side by side, flat (saturated or inactive) zones shaded.

    Returns a figure with one axes per name and two lines (f, f') in each.
    """
    t = _labels(lang)
    x = torch.linspace(-xlim, xlim, 601, dtype=torch.float64)
    with plt.rc_context(_STYLE):
        fig, axes = _panels(len(names))
        for ax, name in zip(axes, names, strict=True):
            with torch.no_grad():
                ax.plot(x, activations.get(name)(x), label=t["f"])
            ax.plot(x, activations.derivative(name, x), "--", label=t["df"])
            if name in _SAT_X:
                for lo, hi in ((-xlim, -_SAT_X[name]), (_SAT_X[name], xlim)):
                    ax.axvspan(lo, hi, color=OKABE_ITO[3], alpha=0.12, lw=0)
                ax.text(0.97 * xlim, 0.05, t["sat"], ha="right", color=OKABE_ITO[3])
            elif name == "relu":
                ax.axvspan(-xlim, 0, color=OKABE_ITO[3], alpha=0.12, lw=0)
                ax.text(-0.97 * xlim, 0.5, t["off"], color=OKABE_ITO[3])
            ax.set(title=name, xlabel=t["x"], xlim=(-xlim, xlim))
            ax.legend(loc="upper left")
        spanish_axes(fig)
        fig.tight_layout()
    return fig


def layer_histograms(histograms: Sequence[Mapping[str, Any]], kind: str = "activation",
                     step: int | None = None, lang: str | None = None) -> Figure:
    """One density curve per layer (Glorot & Bengio 2010, Figs. 6-7 style).

    Args:
        histograms: :attr:`gradcourse.Tracker.histograms` (a tracker built with
            ``histograms=True``).
        kind: ``"activation"`` or ``"gradient"``.
        step: Which recorded step (default: the last one).
    """
    t = _labels(lang)
    rows = [h for h in histograms if h["kind"] == kind]
    if not rows:
        raise ValueError(f"no {kind!r} histogram: build the Tracker with histograms=True")
    step = rows[-1]["step"] if step is None else step
    rows = sorted((h for h in rows if h["step"] == step), key=lambda h: h["layer"])
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(FIG_WIDTH, 3.2))
        for h, color in zip(rows, _layer_colors(len(rows)), strict=True):
            edges, counts = np.asarray(h["edges"]), np.asarray(h["counts"], dtype=float)
            width = np.diff(edges)
            density = counts / max(counts.sum(), 1.0) / np.where(width > 0, width, 1.0)
            ax.plot(0.5 * (edges[1:] + edges[:-1]), density, color=color,
                    label=f"{t['layer']} {h['layer']}")
        ax.set(xlabel=t["act"] if kind == "activation" else t["grad"], ylabel=t["density"],
               title=f"{t['step']} {step}")
        ax.legend(ncol=2 if len(rows) > 4 else 1)
        spanish_axes(fig)
        fig.tight_layout()
    return fig


def _per_layer(values: Any, stat: str) -> np.ndarray:
    """Per-layer floats, ``(L,)``, or ``(S, L)`` for several seeds, from floats or records."""
    if isinstance(values, np.ndarray):
        return values.astype(float)
    out = [v.get(stat) if isinstance(v, Mapping) else v for v in values]
    return np.asarray([math.nan if v is None else v for v in out], dtype=float)


def _auto_color(name: str) -> str | None:
    """The site's colour when a legend name is a scheme or activation ("He", "tanh")."""
    try:
        return color(name.split()[0].strip("(),:"))
    except ValueError:
        return None


def _panels(n: int, **kwargs: Any) -> tuple[Figure, list[Axes]]:
    """``n`` axes, two per row at most, in a figure :data:`FIG_WIDTH` wide (so that its
    text stays readable on a phone); a spare cell of the last row is hidden."""
    cols, rows = min(n, 2), math.ceil(n / 2)
    fig, grid = plt.subplots(rows, cols, figsize=(FIG_WIDTH * (0.7 if n == 1 else 1.0), 2.6 * rows),
                             squeeze=False, **kwargs)
    axes = list(grid.flat)
    for spare in axes[n:]:
        spare.set_visible(False)
    return fig, axes[:n]


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=figsize)


def grad_profile(configs: Mapping[str, Any], stat: str = "grad_std", lang: str | None = None,
                 ax: Axes | None = None) -> Figure:
    """A per-layer statistic on a log scale, one line per configuration.

    Args:
        configs: Name -> per-layer values (layer 1 first), one step's records
            (:meth:`gradcourse.Tracker.summary`), from which ``stat`` is taken, or an
            ``(S, L)`` array over seeds, drawn as its median and a band.
        stat: Key in the records; its Spanish name labels the y axis.
        ax: Draw into these axes instead of a new figure.
    """
    t = _labels(lang)
    with plt.rc_context(_STYLE):
        fig, ax = _new_axes(ax, (FIG_WIDTH, 3.0))
        for name, values in configs.items():
            ys = _per_layer(values, stat)
            band(ax, range(1, ys.shape[-1] + 1), ys, label=name, color=_auto_color(name), marker="o")
        ax.set(yscale="log", ylabel=t.get(stat, stat))
        layer_axis(ax, lang=lang)
        ax.legend()
        fig.tight_layout()
    return fig


def _pivot(history: Sequence[Mapping[str, Any]], stat: str) -> tuple[list[int], np.ndarray]:
    steps = sorted({r["step"] for r in history})
    layers = sorted({r["layer"] for r in history})
    grid = np.full((len(layers), len(steps)), np.nan)
    s_idx, l_idx = {s: i for i, s in enumerate(steps)}, {k: i for i, k in enumerate(layers)}
    for r in history:
        if r.get(stat) is not None:
            grid[l_idx[r["layer"]], s_idx[r["step"]]] = r[stat]
    return steps, grid


def stat_heatmap(history: Sequence[Mapping[str, Any]], stat: str = "grad_std",
                 log: bool = True, lang: str | None = None) -> Figure:
    """Layer-by-step heatmap of one tracked statistic (axes: the map and its colorbar)."""
    t = _labels(lang)
    steps, grid = _pivot(history, stat)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            grid = np.log10(np.where(grid > 0, grid, np.nan))
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(FIG_WIDTH, 3.0))
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="cividis",
                          extent=(steps[0] - 0.5, steps[-1] + 0.5, 0.5, grid.shape[0] + 0.5))
        fig.colorbar(image, ax=ax, label=f"log10 {stat}" if log else stat)
        ax.set(xlabel=t["step"])
        layer_axis(ax, axis="y", lang=lang)
        ax.grid(False)
        fig.tight_layout()
    return fig


def update_ratios(history: Sequence[Mapping[str, Any]], lang: str | None = None) -> Figure:
    """``update_ratio`` per layer over steps (log scale) with the 1e-3 line.

    One line per layer plus the reference line.
    """
    t = _labels(lang)
    steps, grid = _pivot(history, "update_ratio")
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(FIG_WIDTH, 3.2))
        for k, color in enumerate(_layer_colors(grid.shape[0])):
            ax.plot(steps, grid[k], color=color, label=f"{t['layer']} {k + 1}")
        ax.axhline(1e-3, color="black", ls="--", lw=1, label=t["rule"])
        ax.set(yscale="log", xlabel=t["step"], ylabel=t["ratio"])
        ax.legend(ncol=2)
        fig.tight_layout()
    return fig


def loss_curves(histories: Mapping[str, Any], lang: str | None = None, ax: Axes | None = None) -> Figure:
    """Training loss of several runs.

    Args:
        histories: Name -> :class:`gradcourse.History` (anything with ``step`` and
            ``loss`` lists), or a list of them (one per seed, drawn as median and band;
            runs that stopped early are cut at the shortest).
        ax: Overlay every run on these axes; without it, one axes per run side by
            side with a shared y axis.
    """
    t = _labels(lang)
    n = len(histories)
    with plt.rc_context(_STYLE):
        if ax is None:
            fig, axes = _panels(n, sharey=True)
        else:
            fig, axes = ax.figure, [ax] * n
        for k, (a, (name, hist)) in enumerate(zip(axes, histories.items(), strict=True)):
            runs = hist if isinstance(hist, (list, tuple)) else [hist]
            m = min(len(h.loss) for h in runs)
            c = _auto_color(name) or OKABE_ITO[k % len(OKABE_ITO)]
            band(a, runs[0].step[:m], [h.loss[:m] for h in runs], label=name, color=c)
            a.set(xlabel=t["step"])
            if ax is None:
                a.set_title(name)
        axes[0].set_ylabel(t["loss"])
        if ax is not None:
            ax.legend()
        spanish_axes(fig)
        fig.tight_layout()
    return fig


def theory_vs_measured(theory: Sequence[float], measured: Any, stat: str = "grad_std",
                       lang: str | None = None, log: bool = True, ax: Axes | None = None) -> Figure:
    """Per-layer prediction (line) against measurement (markers).

    Args:
        theory: Predicted values per layer, e.g. ``sqrt`` of
            :func:`gradcourse.theory.backward_variance`.
        measured: Measured values per layer, one step's records (``stat`` is read), or
            an ``(S, L)`` array over seeds (median markers, band for the spread).
        ax: Draw into these axes instead of a new figure.
    """
    t = _labels(lang)
    ys = _per_layer(measured, stat)
    with plt.rc_context(_STYLE):
        fig, ax = _new_axes(ax, (FIG_WIDTH, 3.0))
        ax.plot(range(1, len(theory) + 1), theory, "-", color="black", label=t["theory"])
        band(ax, range(1, ys.shape[-1] + 1), ys, label=t["measured"], color=OKABE_ITO[1],
             marker="o", ls="none")
        ax.set(ylabel=t.get(stat, stat), yscale="log" if log else "linear")
        layer_axis(ax, lang=lang)
        ax.legend()
        spanish_axes(fig)
        fig.tight_layout()
    return fig
