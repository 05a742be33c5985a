"""Figures a reader can read: on a phone, and with a colour-vision deficiency.

- The site's palette: every two colours that can share a figure (one meaning each,
  one per initialization scheme, one per activation, the Okabe-Ito cycle) stay
  apart (CIEDE2000 >= MIN_DELTA_E) with normal vision and under simulated
  deuteranopia and protanopia (Machado, Oliveira & Fernandes 2009, severity 1).
- gradcourse.plots' figures: no text under MIN_FONT_PT and no figure wider than
  FIG_WIDTH (wider, or smaller text, shows under 11 CSS px on a 390-px phone).
- The pages and gallery scripts: no explicit font size under MIN_FONT_PT and no
  literal figure width over FIG_WIDTH (the browser test measures the shown size
  assuming the style's smallest font; a smaller one set by hand would fool it).
"""

from __future__ import annotations

import itertools
import json
import math
import re

import matplotlib.pyplot as plt  # the Agg backend: tests/conftest.py
import numpy as np
import pytest
from matplotlib.text import Text

from gradcourse import plots

from .conftest import REPO

MIN_DELTA_E = 10.0  # CIEDE2000: below ~10 two thin lines are hard to tell apart
# Machado et al. (2009), severity 1.0, applied to linear RGB.
SIMULATIONS = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
GROUPS = {
    "meaning": ["healthy", "vanishing", "exploding", "dead"],
    "scheme": ["he", "xavier", "default", "normal", "lecun", "orthogonal", "zeros"],
    "activation": ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "selu"],
}


def _linear(hex_color: str) -> np.ndarray:
    c = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> tuple[float, float, float]:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ np.clip(linear_rgb, 0, 1)
    t = xyz / np.array([0.95047, 1.0, 1.08883])  # D65 white
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def delta_e2000(lab1, lab2) -> float:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360
    h2p = math.degrees(math.atan2(b2, a2p)) % 360
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    d_big_h = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6)) - 0.20 * math.cos(math.radians(4 * h_bar - 63)))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = (-2 * math.sqrt(cp_bar**7 / (cp_bar**7 + 25**7))
           * math.sin(math.radians(60 * math.exp(-(((h_bar - 275) / 25) ** 2)))))
    dl, dc = (l2 - l1) / s_l, (c2p - c1p) / s_c
    dhh = d_big_h / s_h
    return math.sqrt(dl**2 + dc**2 + dhh**2 + r_t * dc * dhh)


def test_delta_e2000_matches_the_published_test_data():
    """Pairs 1, 7 and 17 of Sharma, Wu & Dalal's table (2005)."""
    assert delta_e2000((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert delta_e2000((50, 0, 0), (50, -1, 2)) == pytest.approx(2.3669, abs=1e-4)
    assert delta_e2000((50, 2.5, 0), (73, 25, -18)) == pytest.approx(27.1492, abs=1e-4)


def _palettes() -> dict[str, dict[str, str]]:
    out = {name: {k: plots.COLORS[k] for k in keys} for name, keys in GROUPS.items()}
    out["Okabe-Ito cycle"] = {c: c for c in plots.OKABE_ITO}
    return out


def test_every_colour_key_is_in_a_checked_group():
    assert set(plots.COLORS) == set(itertools.chain(*GROUPS.values()))


@pytest.mark.parametrize("simulation", SIMULATIONS)
def test_palette_stays_distinguishable_with_colour_blindness(simulation):
    matrix = SIMULATIONS[simulation]
    close, worst = [], {}
    for group, colours in _palettes().items():
        for (n1, c1), (n2, c2) in itertools.combinations(colours.items(), 2):
            d = delta_e2000(_lab(matrix @ _linear(c1)), _lab(matrix @ _linear(c2)))
            worst[group] = min(worst.get(group, math.inf), d)
            if d < MIN_DELTA_E:
                close.append(f"{group}: {n1} {c1} / {n2} {c2}: ΔE2000 = {d:.1f}")
    print(simulation, json.dumps({g: round(d, 1) for g, d in worst.items()}, ensure_ascii=False))
    assert not close, f"colours that look alike ({simulation}):\n" + "\n".join(close)


# --- gradcourse.plots' own figures ----------------------------------------------------------

def min_font_pt(fig) -> float:
    """The smallest font size, in points, of the text a figure draws."""
    fig.canvas.draw()
    return min(t.get_fontsize() for t in fig.findobj(Text)
               if t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible()))


def _figures():
    import torch

    history = [{"step": s, "layer": k, "grad_std": 10.0 ** -k, "update_ratio": 1e-3 * (k + 1)}
               for s in range(3) for k in range(1, 5)]
    hist = [{"kind": "activation", "step": 0, "layer": k, "edges": [-1.0, 0.0, 1.0], "counts": [3, 5]}
            for k in range(1, 7)]

    class H:
        step, loss = [1, 2, 3], [2.3, 2.0, 1.5]

    torch.manual_seed(0)
    yield "activation_functions", plots.activation_functions(("sigmoid", "tanh", "relu"))
    yield "activation_functions (one)", plots.activation_functions(("relu",))
    yield "layer_histograms", plots.layer_histograms(hist)
    yield "grad_profile", plots.grad_profile({"He": [1.0, 0.5, 0.2], "Xavier": [1.0, 0.3, 0.1]})
    yield "stat_heatmap", plots.stat_heatmap(history)
    yield "update_ratios", plots.update_ratios(history)
    yield "loss_curves", plots.loss_curves({"ReLU": H(), "tanh": H(), "sigmoid": [H(), H()]})
    yield "theory_vs_measured", plots.theory_vs_measured([1.0, 0.5, 0.25], [1.1, 0.4, 0.3])


def test_gradcourse_figures_are_readable_on_a_phone():
    small = []
    for name, fig in _figures():
        width, pt = fig.get_figwidth(), min_font_pt(fig)
        plt.close(fig)
        if pt < plots.MIN_FONT_PT or width > plots.FIG_WIDTH + 1e-9:
            small.append(f"{name}: {width:.1f} in wide, smallest text {pt:.1f} pt")
    assert not small, "\n".join(small)


def test_style_keeps_every_font_at_the_minimum():
    style = plots.style()
    sizes = {k: v for k, v in style.items() if k.endswith(("size", "fontsize")) and not k.startswith("figure.")}
    assert sizes and all(v >= plots.MIN_FONT_PT for v in sizes.values()), sizes
    assert style["figure.figsize"][0] <= plots.FIG_WIDTH
    # 10 pt on FIG_WIDTH shown in a phone's column (358 CSS px, 350 in dark mode's frame)
    assert plots.MIN_FONT_PT / 72 * 350 / plots.FIG_WIDTH >= 11.0


# --- Pages and gallery scripts ----------------------------------------------------------------

_FONTSIZE = re.compile(r"\b(?:fontsize|labelsize|size|titlesize)\s*=\s*(?:(\d+(?:\.\d+)?)|[\"']"
                       r"(xx-small|x-small|small|smaller)[\"'])")
_FIGSIZE = re.compile(r"figsize\s*=\s*\(\s*(\d+(?:\.\d+)?)\s*,")


def _sources():
    for path in sorted([*(REPO / "docs").rglob("*.md"), *(REPO / "docs").rglob("*.ipynb"),
                        *(REPO / "gallery").rglob("*.py")]):
        if "_build" in path.parts or "auto_examples" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        yield path


def test_pages_and_examples_set_no_small_text_or_wide_figure():
    found = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "code")
        for n, line in enumerate(text.splitlines(), 1):
            code = line.split("#", 1)[0]
            for m in _FONTSIZE.finditer(code):
                if m.group(2) or float(m.group(1)) < plots.MIN_FONT_PT:
                    found.append(f"{path.relative_to(REPO)}:{n}: {m.group(0)} (at least {plots.MIN_FONT_PT} pt)")
            for m in _FIGSIZE.finditer(code):
                if float(m.group(1)) > plots.FIG_WIDTH:
                    found.append(f"{path.relative_to(REPO)}:{n}: {m.group(0)} (at most gc.plots.FIG_WIDTH"
                                 f" = {plots.FIG_WIDTH} in)")
    assert not found, (f"{len(found)} figures with text too small for a 390-px phone:\n" + "\n".join(found))
