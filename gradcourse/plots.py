"""The course's figures, one function each; every one returns its ``Figure``.

Nothing here calls ``plt.show()``, selects a backend or touches the global
``rcParams``: styles apply inside ``plt.rc_context`` only. Figures get an opaque
white background so they stay readable on a dark page theme, and colours come
from the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies) or, for one curve per layer, the ``cividis`` colormap. Labels are in
Spanish by default; pass ``lang="en"`` for English.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from . import activations

__all__ = [
    "OKABE_ITO", "activation_functions", "grad_profile", "layer_histograms", "loss_curves",
    "stat_heatmap", "theory_vs_measured", "update_ratios",
]

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000"]
_STYLE = {"figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
          "axes.prop_cycle": plt.cycler(color=OKABE_ITO), "axes.grid": True,
          "grid.alpha": 0.3, "font.size": 10}
_L = {
    "es": {"x": "x", "f": "f(x)", "df": "f'(x)", "sat": "saturación", "off": "inactiva",
           "layer": "capa", "density": "densidad", "act": "activación",
           "grad": "gradiente ∂L/∂z", "step": "paso", "loss": "pérdida", "theory": "teoría",
           "measured": "medido", "ratio": "std(ΔW) / std(W)", "rule": "regla 1e-3"},
    "en": {"x": "x", "f": "f(x)", "df": "f'(x)", "sat": "saturation", "off": "inactive",
           "layer": "layer", "density": "density", "act": "activation",
           "grad": "gradient ∂L/∂z", "step": "step", "loss": "loss", "theory": "theory",
           "measured": "measured", "ratio": "std(ΔW) / std(W)", "rule": "1e-3 rule"},
}
_SAT_X = {"tanh": math.atanh(0.97), "sigmoid": 2 * math.atanh(0.97)}  # |x| beyond: f' < 6 % of max


def _labels(lang: str) -> dict[str, str]:
    if lang not in _L:
        raise ValueError(f"lang must be 'es' or 'en', got {lang!r}")
    return _L[lang]


def _layer_colors(n: int) -> list:
    return [plt.get_cmap("cividis")(v) for v in np.linspace(0.0, 0.9, max(n, 1))]


def activation_functions(names: Sequence[str] = ("sigmoid", "tanh", "relu"),
                         xlim: float = 6.0, lang: str = "es") -> Figure:
    """f and f' of each activation side by side, flat (saturated or inactive) zones shaded.

    Returns a figure with one axes per name and two lines (f, f') in each.
    """
    t = _labels(lang)
    x = torch.linspace(-xlim, xlim, 601, dtype=torch.float64)
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.8), squeeze=False)
        for ax, name in zip(axes[0], names, strict=True):
            with torch.no_grad():
                ax.plot(x, activations.get(name)(x), label=t["f"])
            ax.plot(x, activations.derivative(name, x), "--", label=t["df"])
            if name in _SAT_X:
                for lo, hi in ((-xlim, -_SAT_X[name]), (_SAT_X[name], xlim)):
                    ax.axvspan(lo, hi, color=OKABE_ITO[3], alpha=0.12, lw=0)
                ax.text(0.97 * xlim, 0.05, t["sat"], ha="right", fontsize=8, color=OKABE_ITO[3])
            elif name == "relu":
                ax.axvspan(-xlim, 0, color=OKABE_ITO[3], alpha=0.12, lw=0)
                ax.text(-0.97 * xlim, 0.5, t["off"], fontsize=8, color=OKABE_ITO[3])
            ax.set(title=name, xlabel=t["x"], xlim=(-xlim, xlim))
            ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
    return fig


def layer_histograms(histograms: Sequence[Mapping[str, Any]], kind: str = "activation",
                     step: int | None = None, lang: str = "es") -> Figure:
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
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        for h, color in zip(rows, _layer_colors(len(rows)), strict=True):
            edges, counts = np.asarray(h["edges"]), np.asarray(h["counts"], dtype=float)
            width = np.diff(edges)
            density = counts / max(counts.sum(), 1.0) / np.where(width > 0, width, 1.0)
            ax.plot(0.5 * (edges[1:] + edges[:-1]), density, color=color,
                    label=f"{t['layer']} {h['layer']}")
        ax.set(xlabel=t["act"] if kind == "activation" else t["grad"], ylabel=t["density"],
               title=f"{t['step']} {step}")
        ax.legend(fontsize=8)
        fig.tight_layout()
    return fig


def _per_layer(values: Sequence[Any], stat: str) -> list[float]:
    """Per-layer floats from floats or from one step's records."""
    out = [v.get(stat) if isinstance(v, Mapping) else v for v in values]
    return [math.nan if v is None else float(v) for v in out]


def grad_profile(configs: Mapping[str, Sequence[Any]], stat: str = "grad_std",
                 lang: str = "es") -> Figure:
    """A per-layer statistic on a log scale, one line per configuration.

    Args:
        configs: Name -> per-layer values (layer 1 first), or one step's records
            (:meth:`gradcourse.Tracker.summary`), from which ``stat`` is taken.
        stat: Label of the y axis / key in the records.
    """
    t = _labels(lang)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        for name, values in configs.items():
            ys = _per_layer(values, stat)
            ax.plot(range(1, len(ys) + 1), ys, "o-", label=name)
        ax.set(yscale="log", xlabel=t["layer"], ylabel=stat)
        ax.legend(fontsize=8)
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
                 log: bool = True, lang: str = "es") -> Figure:
    """Layer-by-step heatmap of one tracked statistic (axes: the map and its colorbar)."""
    t = _labels(lang)
    steps, grid = _pivot(history, stat)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            grid = np.log10(np.where(grid > 0, grid, np.nan))
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6.0, 3.2))
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="cividis",
                          extent=(steps[0] - 0.5, steps[-1] + 0.5, 0.5, grid.shape[0] + 0.5))
        fig.colorbar(image, ax=ax, label=f"log10 {stat}" if log else stat)
        ax.set(xlabel=t["step"], ylabel=t["layer"])
        ax.grid(False)
        fig.tight_layout()
    return fig


def update_ratios(history: Sequence[Mapping[str, Any]], lang: str = "es") -> Figure:
    """``update_ratio`` per layer over steps (log scale) with the 1e-3 line.

    One line per layer plus the reference line.
    """
    t = _labels(lang)
    steps, grid = _pivot(history, "update_ratio")
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        for k, color in enumerate(_layer_colors(grid.shape[0])):
            ax.plot(steps, grid[k], color=color, label=f"{t['layer']} {k + 1}")
        ax.axhline(1e-3, color="black", ls="--", lw=1, label=t["rule"])
        ax.set(yscale="log", xlabel=t["step"], ylabel=t["ratio"])
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
    return fig


def loss_curves(histories: Mapping[str, Any], lang: str = "es") -> Figure:
    """Training loss of several runs side by side (one axes each, shared y axis).

    Args:
        histories: Name -> :class:`gradcourse.History` (or anything with ``step`` and
            ``loss`` lists).
    """
    t = _labels(lang)
    n = len(histories)
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 2.8), sharey=True, squeeze=False)
        for ax, (name, hist), color in zip(axes[0], histories.items(), OKABE_ITO * 4,
                                           strict=False):
            ax.plot(hist.step, hist.loss, color=color)
            ax.set(title=name, xlabel=t["step"])
        axes[0][0].set_ylabel(t["loss"])
        fig.tight_layout()
    return fig


def theory_vs_measured(theory: Sequence[float], measured: Sequence[Any], stat: str = "grad_std",
                       lang: str = "es", log: bool = True) -> Figure:
    """Per-layer prediction (line) against measurement (markers).

    Args:
        theory: Predicted values per layer, e.g. ``sqrt`` of
            :func:`gradcourse.theory.backward_variance`.
        measured: Measured values per layer, or one step's records (``stat`` is read).
    """
    t = _labels(lang)
    ys = _per_layer(measured, stat)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5.0, 3.2))
        ax.plot(range(1, len(theory) + 1), theory, "-", label=t["theory"])
        ax.plot(range(1, len(ys) + 1), ys, "o", label=t["measured"])
        ax.set(xlabel=t["layer"], ylabel=stat, yscale="log" if log else "linear")
        ax.legend(fontsize=8)
        fig.tight_layout()
    return fig
