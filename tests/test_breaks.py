"""Tests that fail when the Tracker or the plots are quietly broken.

Each test recomputes, independently and through the public API only, a number
the Tracker or a plot reports: histogram edges and counts, the dead fraction of
Leaky ReLU layers, the absence of weight statistics with ``weights=False`` and the
curves of :func:`gradcourse.plots.update_ratios`.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gradcourse as gc
from gradcourse import plots

DIGITS = gc.digits()
X, Y = DIGITS.X_train[:256], DIGITS.y_train[:256]


def one_step(model, **tracker_kw):
    """One recorded forward/backward pass; no optimizer step, so the weights stay."""
    with gc.Tracker(model, **tracker_kw) as tracker:
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        tracker.step(loss)
    return tracker


def layer_values(model):
    """Activation and dL/dz of every hidden layer, by autograd, without the Tracker."""
    model.zero_grad()
    h, zs, acts = X, [], []
    for layer in model.hidden:
        z = layer.linear(h)
        z.retain_grad()
        h = layer.act(layer.norm(z))
        zs.append(z)
        acts.append(h)
    F.cross_entropy(model.head(h), Y).backward()
    return [a.detach() for a in acts], [z.grad for z in zs]


@pytest.mark.parametrize("bins", [7, 30])
def test_histogram_edges_and_counts(bins):
    model = gc.MLP(64, 10, depth=3, width=32, activation="tanh", seed=0)
    tracker = one_step(model, histograms=bins)
    acts, grads = layer_values(model)
    for h in tracker.histograms:
        values = (acts if h["kind"] == "activation" else grads)[h["layer"] - 1].double().numpy().ravel()
        edges, counts = np.asarray(h["edges"]), np.asarray(h["counts"])
        assert len(edges) == bins + 1 and len(counts) == bins
        assert edges[0] == pytest.approx(values.min(), rel=1e-5, abs=1e-12)
        assert edges[-1] == pytest.approx(values.max(), rel=1e-5, abs=1e-12)
        np.testing.assert_allclose(np.diff(edges), (edges[-1] - edges[0]) / bins, rtol=1e-6)
        assert counts.sum() == values.size
        expected, _ = np.histogram(values, bins=edges)
        assert np.abs(counts - expected).sum() <= 2  # a value on an edge may fall either side
    assert {(h["layer"], h["kind"]) for h in tracker.histograms} == {
        (k, kind) for k in (1, 2, 3) for kind in ("activation", "gradient")}


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu"])
def test_dead_fraction_counts_units_off_on_every_example(activation):
    model = gc.MLP(64, 10, depth=2, width=32, activation=activation, seed=0)
    with torch.no_grad():  # 8 of 32 units of layer 1 never fire, the others always do
        model.layer(1).linear.weight.zero_()
        model.layer(1).linear.bias[:8] = -5.0
        model.layer(1).linear.bias[8:] = 5.0
    record = one_step(model).summary()[0]
    assert record["dead_frac"] == pytest.approx(8 / 32)
    healthy = one_step(gc.MLP(64, 10, depth=2, width=32, activation=activation, seed=0)).summary()
    assert all(r["dead_frac"] < 0.1 for r in healthy)


def test_weights_false_measures_no_weight_statistics():
    weight_stats = ("weight_grad_norm", "grad_data_ratio", "update_ratio")
    model = gc.MLP(64, 10, depth=2, width=32, seed=0)
    on = gc.Tracker(model)
    gc.train(model, DIGITS, steps=2, callbacks=[on], progress=False)
    assert all(isinstance(r[k], float) for r in on.history for k in weight_stats)
    off = gc.Tracker(model, weights=False)
    gc.train(model, DIGITS, steps=2, callbacks=[off], progress=False)
    assert all(r[k] is None for r in off.history for k in weight_stats)
    assert all(isinstance(r["grad_std"], float) for r in off.history)  # the rest is still measured


def test_update_ratios_plots_update_ratio():
    model = gc.MLP(64, 10, depth=3, width=32, seed=0)
    tracker = gc.Tracker(model)
    gc.train(model, DIGITS, steps=5, lr=0.1, callbacks=[tracker], progress=False)
    fig = plots.update_ratios(tracker.history)
    lines = fig.axes[0].get_lines()
    for k in (1, 2, 3):
        expected = [r["update_ratio"] for r in tracker.history if r["layer"] == k]
        assert expected != [r["grad_std"] for r in tracker.history if r["layer"] == k]
        np.testing.assert_allclose(lines[k - 1].get_ydata(), expected)
        np.testing.assert_array_equal(lines[k - 1].get_xdata(), [1, 2, 3, 4, 5])
    # and it is the step actually taken: std(W_after - W_before) / std(W_before) for plain SGD
    w = model.layer(1).linear.weight.detach().clone()
    step = gc.Tracker(model)
    gc.train(model, (X, Y), steps=1, lr=0.1, batch_size=256, callbacks=[step], progress=False)
    delta = model.layer(1).linear.weight.detach() - w
    assert step.history[0]["update_ratio"] == pytest.approx((delta.std() / w.std()).item(), rel=1e-4)
