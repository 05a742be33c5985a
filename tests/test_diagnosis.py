"""diagnose(): verdicts on networks with known problems, and none on a healthy one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gradcourse as gc
from gradcourse import diagnosis, theory
from gradcourse.tracking import Tracker


@pytest.fixture(scope="module")
def batch():
    data = gc.digits()
    return data.X_train[:256], data.y_train[:256]


def test_healthy_he_relu_network_has_no_verdict(batch):
    for seed in range(3):
        model = gc.MLP(64, 10, depth=6, width=128, activation="relu", init="he_normal", seed=seed)
        report = gc.diagnose(model, *batch)
        assert report.healthy, str(report)
        assert report.verdicts == [] and "Sin problemas" in str(report)


def test_bias_minus_1000_is_a_dead_layer(batch):
    model = gc.MLP(64, 10, depth=4, width=64, seed=0)
    with torch.no_grad():
        model.layer(2).linear.bias.fill_(-1000.0)
    report = gc.diagnose(model, *batch)
    dead = [v for v in report.verdicts if v.kind == "dead"]
    assert dead[0].layer == 2 and dead[0].evidence == 1.0
    assert dead[0].threshold == diagnosis.DEAD_FRAC and dead[0].section == "ReLU"
    assert report.records[1]["dead_frac"] == 1.0 and report.records[0]["dead_frac"] == 0.0
    assert not report.healthy


def test_inf_weight_gives_nonfinite_verdict_at_that_layer(batch):
    model = gc.MLP(64, 10, depth=4, width=64, seed=0)
    with torch.no_grad():
        model.layer(3).linear.weight[1, 2] = math.inf
    report = gc.diagnose(model, *batch)
    assert report.kinds() == ["nonfinite"] and report.verdicts[0].layer == 3
    assert "pesos" in str(report)


def test_vanishing_exploding_and_saturated(batch):
    deep_sigmoid = gc.MLP(64, 10, depth=10, width=64, activation="sigmoid", init="normal",
                          init_kwargs={"std": 0.01}, seed=0)
    report = gc.diagnose(deep_sigmoid, *batch, lang="en")
    assert report.kinds() == ["vanishing"] and report.verdicts[0].layer is None
    assert report.verdicts[0].evidence < diagnosis.VANISHING_RATIO
    big_tanh = gc.MLP(64, 10, depth=10, width=64, activation="tanh", init="normal",
                      init_kwargs={"std": 1.0}, seed=0)
    report = gc.diagnose(big_tanh, *batch)
    assert "exploding" in report.kinds()
    saturated = [v.layer for v in report.verdicts if v.kind == "saturated"]
    assert saturated == list(range(1, 11))


def test_grads_and_mode_are_restored(batch):
    model = gc.MLP(64, 10, depth=2, width=16, seed=0).eval()
    model.head.weight.grad = torch.ones_like(model.head.weight)
    gc.diagnose(model, *batch)
    assert not model.training and torch.equal(model.head.weight.grad,
                                              torch.ones_like(model.head.weight))
    assert all(p.grad is None for p in model.hidden.parameters())


def test_report_renders_in_both_languages(batch):
    model = gc.MLP(64, 10, depth=3, width=32, seed=0)
    with torch.no_grad():
        model.layer(1).linear.bias.fill_(-1000.0)
    es, en = gc.diagnose(model, *batch), gc.diagnose(model, *batch, lang="en")
    assert "Diagnóstico" in str(es) and "Sección" in es._repr_html_()
    assert "Dead ReLU" in str(en) and "<table>" in en._repr_html_()
    d = es.to_dict()
    assert d["healthy"] is False and {v["kind"] for v in d["verdicts"]} >= {"dead"}
    for v in es.verdicts:
        assert v.kind in {"vanishing", "exploding", "saturated", "dead", "nonfinite"}
        assert diagnosis.PAGES[v.section] == v.docname
    with pytest.raises(ValueError):
        gc.diagnose(model, *batch, lang="fr")


def test_report_from_tracker_and_history(batch):
    model = gc.MLP(64, 10, depth=3, width=32, seed=0)
    tr = Tracker(model)
    gc.train(model, gc.digits(), steps=3, callbacks=[tr], progress=False)
    assert diagnosis.Report.from_tracker(tr).healthy
    assert diagnosis.diagnose_history(tr.history, lang="en").healthy
    with pytest.raises(ValueError):
        diagnosis.diagnose_history([])


def _grad_profile(init: str, seeds=range(4)) -> np.ndarray:
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(256, 256, generator=gen), torch.randint(0, 10, (256,), generator=gen)
    out = []
    for seed in seeds:
        model = gc.MLP(256, 10, depth=5, width=256, activation="tanh", init=init, seed=seed)
        with Tracker(model, update_ratio=False) as tr:
            torch.nn.functional.cross_entropy(model(X), y).backward()
            tr.step()
        g = np.array([r["grad_std"] for r in tr.summary()])
        out.append(g / g[-1])
    return np.mean(out, axis=0)


@pytest.mark.slow
def test_glorot_bengio_fig7_backprop_gradients():
    """Glorot & Bengio (2010) Fig. 7: with the "standard" init the back-propagated
    gradient shrinks toward the input; the normalized (Xavier) init keeps it much flatter.
    Measured with 5 tanh layers of 256 units, averaged over 4 seeds; both profiles
    agree with theory.backward_variance within 10 %."""
    widths = [256] * 6 + [10]
    for init, low, high in [("glorot_standard", 0.05, 0.12), ("xavier_uniform", 0.33, 0.5)]:
        measured = _grad_profile(init)
        predicted = np.sqrt(theory.backward_variance(init, "tanh", widths))
        predicted /= predicted[-1]
        assert low < measured[0] < high, (init, measured)
        assert np.all(np.diff(measured) > 0)  # falls toward the input in both
        np.testing.assert_allclose(measured, predicted, rtol=0.1)


# -- issue 15 -----------------------------------------------------------------------------

def test_case10_diagnose_leaves_buffers_and_rng_alone(batch):
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.BatchNorm1d(32),
                                torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(32, 10))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    gc.diagnose(model, *batch)
    assert torch.equal(torch.get_rng_state(), rng)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert model.training


def test_case11_small_batch_gives_a_warning_not_a_dead_verdict(batch):
    X, y = batch
    for seed in range(4):
        model = gc.MLP(64, 10, depth=3, width=64, activation="relu", seed=seed)
        with pytest.warns(UserWarning, match="too small"):
            report = gc.diagnose(model, X[:1], y[:1])
        assert "dead" not in report.kinds()


def test_case11_all_nan_history_is_not_healthy(batch):
    model = gc.MLP(64, 10, depth=3, width=32, seed=0)
    X = batch[0].clone()
    X[0, 0] = math.nan
    with Tracker(model) as tr:
        torch.nn.functional.cross_entropy(model(X), batch[1]).backward()
        tr.step()
    by_history = diagnosis.diagnose_history(tr.history, lang="en")
    by_tracker = diagnosis.Report.from_tracker(tr, lang="en")
    assert by_history.kinds() == by_tracker.kinds() == ["nonfinite"]
    assert by_history.verdicts[0].layer == by_tracker.verdicts[0].layer == 1


def test_case11_leaky_relu_is_never_dead_by_either_path(batch):
    model = gc.MLP(64, 10, depth=3, width=32, activation="leaky_relu", bias_init=-1000.0, seed=0)
    with Tracker(model) as tr:
        torch.nn.functional.cross_entropy(model(batch[0]), batch[1]).backward()
        tr.step()
    assert tr.summary()[1]["dead_frac"] > 0.5  # inactive, but leaky units still learn
    assert "dead" not in diagnosis.diagnose_history(tr.history).kinds()
    assert "dead" not in diagnosis.Report.from_tracker(tr).kinds()
    assert "dead" not in gc.diagnose(model, *batch).kinds()
