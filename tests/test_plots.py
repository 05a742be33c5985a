"""plots: each function returns a Figure with the expected axes and lines, no global state."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

import gradcourse as gc
from gradcourse import plots


@pytest.fixture(scope="module")
def tracked():
    model = gc.MLP(64, 10, depth=3, width=24, activation="tanh", init="xavier_normal", seed=0)
    tracker = gc.Tracker(model, histograms=True)
    history = gc.train(model, gc.digits(), steps=4, callbacks=[tracker], progress=False)
    return tracker, history


@pytest.fixture(autouse=True)
def _close():
    rc = dict(mpl.rcParams)
    yield
    assert dict(mpl.rcParams) == rc  # no function changes the global style
    plt.close("all")


def test_activation_functions():
    fig = plots.activation_functions(("sigmoid", "tanh", "relu", "leaky_relu"), lang="en")
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert [len(ax.lines) for ax in fig.axes] == [2, 2, 2, 2]
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)


def test_histograms_profile_heatmap(tracked):
    tracker, _ = tracked
    for kind in ("activation", "gradient"):
        fig = plots.layer_histograms(tracker.histograms, kind)
        assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 3
    fig = plots.grad_profile({"a": tracker.summary(), "b": [1e-3, 1e-2, 1e-1]})
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_yscale() == "log"
    fig = plots.stat_heatmap(tracker.history, "grad_std")
    assert len(fig.axes) == 2  # map + colorbar
    assert fig.axes[0].images[0].get_array().shape == (3, 4)
    with pytest.raises(ValueError):
        plots.layer_histograms([], "activation")


def test_update_loss_theory(tracked):
    tracker, history = tracked
    fig = plots.update_ratios(tracker.history, lang="en")
    assert len(fig.axes[0].lines) == 4  # 3 layers + the 1e-3 line
    fig = plots.loss_curves({"uno": history, "dos": history})
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == "pérdida"
    fig = plots.theory_vs_measured([1.0, 2.0, 3.0], tracker.summary())
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError):
        plots.update_ratios(tracker.history, lang="fr")


def test_site_colours_are_fixed_per_meaning():
    assert plots.color("He_Normal") == plots.color("kaiming_uniform") == plots.COLORS["he"]
    assert plots.color("glorot_standard") == plots.COLORS["default"]
    assert len({plots.COLORS[k] for k in ("healthy", "vanishing", "exploding")}) == 3
    with pytest.raises(ValueError, match="known"):
        plots.color("magenta")


def test_band_draws_median_and_spread_and_checks_lengths():
    _fig, ax = plt.subplots()
    runs = [[1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [2.0, 9.0, 4.0]]
    line = plots.band(ax, [1, 2, 3], runs, label="x")
    assert list(line.get_ydata()) == [2.0, 4.0, 4.0]  # the median over seeds
    (poly,) = ax.collections
    ys = poly.get_paths()[0].vertices[:, 1]
    assert ys.min() == 1.0 and ys.max() == 9.0  # min-max band
    with pytest.raises(ValueError, match="points per seed"):
        plots.band(ax, [1, 2], runs)


def test_ax_argument_overlays_runs_on_one_axes(tracked):
    _tracker, history = tracked
    fig, (a, b) = plt.subplots(1, 2)
    assert plots.grad_profile({"He": [[1e-3, 1e-2, 1e-1]] * 2}, ax=a) is fig
    assert a.lines[0].get_color() == plots.COLORS["he"]
    plots.loss_curves({"uno": [history, history], "dos": history}, ax=b)
    assert len(b.lines) == 2 and len(b.collections) == 1  # one band: the run with two seeds


def test_layer_ticks_are_integers_and_decimals_use_a_comma():
    fig = plots.grad_profile({"a": [1e-3, 1e-2, 1e-1, 1.0, 2.0, 3.0, 4.0, 5.0]})
    ax = fig.axes[0]
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_xticks())
    assert ax.get_xlabel() == "capa"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.25, 0.75])
    plots.spanish_axes(fig)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any("," in t for t in labels) and not any("." in t for t in labels), labels
    assert not any(", " in t for t in labels), labels  # mathtext must not space the comma


def test_use_style_sets_the_site_rcparams():
    rc = dict(mpl.rcParams)
    try:
        plots.use_style()
        assert tuple(mpl.rcParams["figure.figsize"]) == (plots.FIG_WIDTH, 3.0)
        assert 10 / 72 * 350 / plots.FIG_WIDTH >= 11  # 10-pt text >= 11 px in a 390-px phone's column
    finally:
        mpl.rcParams.update(rc)


def test_gc_plots_is_available_after_import_gradcourse():
    assert gc.plots is plots
    with pytest.raises(AttributeError, match="no attribute 'plot'"):
        gc.plot  # noqa: B018


@pytest.mark.parametrize(("value", "spec", "text"), [
    (0.5, ".2f", "0,50"), (2.302585, ".2f", "2,30"), (1.23e-9, ".1e", "1,2 · 10⁻⁹"),
    (3e4, ".0e", "3 · 10⁴"), (1e-12, ".0e", "10⁻¹²"), (13800, ".0f", "13\u202f800"),
    (9999, ".0f", "9999"), (-0.25, ".2f", "-0,25"), (0.0, ".3f", "0"), (7, "", "7"),
])
def test_number_writes_the_prose_style(value, spec, text):
    assert plots.number(value, spec) == text
