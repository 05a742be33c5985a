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
