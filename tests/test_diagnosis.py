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


# -- issue 21: a verdict never rests on a statistic that was not measured ------------------

def _records(**columns):
    """Hand-built records of one step, one per layer: ``grad_std=[...]`` etc."""
    n = len(next(iter(columns.values())))
    base = {"act_mean": 0.1, "act_std": 1.0, "saturated_frac": None, "dead_frac": 0.0,
            "grad_std": 1e-3, "weight_grad_norm": 0.1, "act_kind": "relu",
            "nonfinite_forward": False, "nonfinite_backward": False}
    return [{**base, "step": 1, "layer": k + 1, "name": f"l{k + 1}",
             **{key: values[k] for key, values in columns.items()}} for k in range(n)]


def test_unmeasured_grad_std_is_never_healthy():
    records = _records(grad_std=[None, None, None])
    for lang, start in (("en", "Not measured: grad_std at layers 1–3"),
                        ("es", "No medido: grad_std en las capas 1–3")):
        report = diagnosis.Report.from_records(records, lang=lang)
        assert not report.healthy  # main: "Healthy: no threshold was crossed"
        assert report.kinds() == ["unmeasured"]
        assert report.verdicts[0].message.startswith(start), report.verdicts[0].message
        assert "vanishing/exploding" in str(report) or "desaparición/explosión" in str(report)
    middle = diagnosis.Report.from_records(_records(grad_std=[1e-3, None, 1e-3]), lang="en")
    assert middle.kinds() == ["unmeasured"] and "NaN/Inf" in middle.verdicts[0].message
    assert middle.verdicts[0].measure == "grad_std[2]" and middle.verdicts[0].layer == 2


def test_a_nan_std_without_a_flag_is_not_measured():
    report = diagnosis.Report.from_records(_records(grad_std=[math.nan, 1e-3]), lang="en")
    assert report.kinds() == ["unmeasured"]  # main: NaN < 0.01 is False, so "healthy"


def test_a_partial_gradient_norm_proves_an_explosion_never_a_vanishing():
    tiny = _records(grad_std=[None, None], weight_grad_norm=[1e-9, None])
    assert "vanishing" not in diagnosis.Report.from_records(tiny).kinds()  # main: "vanishing"
    huge = _records(grad_std=[None, None], weight_grad_norm=[1e4, None])
    assert "exploding" in diagnosis.Report.from_records(huge).kinds()


def test_unmeasured_saturation_and_dead_fractions():
    sat = _records(act_kind=["tanh", "tanh"], saturated_frac=[0.1, None], dead_frac=[None, None])
    report = diagnosis.Report.from_records(sat, lang="en")
    assert [v.measure for v in report.verdicts] == ["saturated_frac[2]"]
    dead = diagnosis.Report.from_records(_records(dead_frac=[0.0, None, None]), lang="en")
    assert [v.measure for v in dead.verdicts] == ["dead_frac[2, 3]"]
    silent = _records(act_mean=[0.1, None], act_std=[1.0, None], grad_std=[1e-3, None],
                      weight_grad_norm=[0.1, None], dead_frac=[0.0, None])
    report = diagnosis.Report.from_records(silent, lang="en")
    assert report.kinds() == ["unmeasured"] and "layer 2 (l2), which recorded nothing" in str(report)


def _checkpointed_sigmoid(reentrant, needs_grad=False):
    from torch.utils.checkpoint import checkpoint

    torch.manual_seed(0)
    blocks = torch.nn.ModuleList(torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Sigmoid())
                                 for _ in range(8))
    for block in blocks:
        torch.nn.init.normal_(block[0].weight, std=0.01)  # vanishes: 1e-12 over 8 layers

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks, self.head = blocks, torch.nn.Linear(64, 10)

        def forward(self, x):
            x = x.detach().requires_grad_() if needs_grad else x
            for block in self.blocks:
                x = checkpoint(block, x, use_reentrant=reentrant)
            return self.head(x)

    return Net()


@pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad")
def test_reentrant_checkpoint_without_gradient_is_not_measured_not_healthy(batch):
    # no input of the reentrant checkpoints requires grad: backward never reaches its blocks
    report = gc.diagnose(_checkpointed_sigmoid(True), *batch, lang="en")
    assert [r["grad_std"] for r in report.records] == [None] * 8
    assert not report.healthy, str(report)  # was: "Healthy: no threshold was crossed"
    assert report.verdicts[0].kind == "unmeasured" and "use_reentrant=False" in report.verdicts[0].remedy


def test_reentrant_checkpoint_is_followed_into_its_recomputation(batch):
    # the input requires grad: the Tracker measures the blocks in their recomputation
    report = gc.diagnose(_checkpointed_sigmoid(True, needs_grad=True), *batch, lang="en")
    control = gc.diagnose(_checkpointed_sigmoid(False), *batch, lang="en")
    assert control.kinds() == ["vanishing"] and report.kinds() == ["vanishing"]
    for r, c in zip(report.records, control.records, strict=True):
        assert r["grad_std"] == pytest.approx(c["grad_std"], rel=1e-5)


class _LSTMNet(torch.nn.Module):
    def __init__(self, head_layers=1):
        super().__init__()
        torch.manual_seed(0)
        self.lstm = torch.nn.LSTM(8, 32, batch_first=True)
        self.head = torch.nn.Sequential(*[m for _ in range(head_layers)
                                          for m in (torch.nn.Linear(32, 32), torch.nn.Tanh())])
        self.out = torch.nn.Linear(32, 3)

    def forward(self, x):
        h, _ = self.lstm(x)  # (B, T, 32)
        return self.out(self.head(h[:, -1]))


@pytest.mark.parametrize("head_layers", [1, 2])
def test_an_lstm_is_said_not_tracked_and_not_healthy(head_layers):
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(16, 50, 8, generator=gen), torch.randint(0, 3, (16,), generator=gen)
    report = gc.diagnose(_LSTMNet(head_layers), X, y, lang="en")
    assert not report.healthy, str(report)  # main: "Healthy: no threshold was crossed"
    recurrent = [v for v in report.verdicts if v.measure == "lstm (LSTM)"]
    assert recurrent and "recurrent module" in recurrent[0].message
    assert "lstm" in report.untracked and "not tracked: lstm" in report.covers()
    assert ("ratio" in str(report)) == (head_layers == 1)  # one tracked layer: no ratio
    es = gc.diagnose(_LSTMNet(head_layers), X, y)
    assert "un módulo recurrente que el Tracker no sigue" in str(es) and "sin seguir: lstm" in str(es)


def test_a_small_batch_is_not_judged_for_dead_units(batch):
    X, y = batch
    with pytest.warns(UserWarning, match="too small"):
        report = gc.diagnose(gc.MLP(64, 10, depth=3, width=64, seed=0), X[:4], y[:4], lang="en")
    assert report.kinds() == ["unmeasured"] and report.verdicts[0].measure == "batch = 4"


def test_the_report_says_what_it_covers_in_both_languages(batch):
    model = gc.MLP(64, 10, depth=3, width=32, seed=0)
    es, en = gc.diagnose(model, *batch), gc.diagnose(model, *batch, lang="en")
    assert es.healthy and "Cubre las capas 1–3 (hidden.0, hidden.1, hidden.2); sin seguir: head." in str(es)
    assert "Covers layers 1–3 (hidden.0, hidden.1, hidden.2); not tracked: head." in str(en)
    assert "Cubre las capas 1–3" in es._repr_html_()
    deep = gc.diagnose(gc.MLP(64, 10, depth=8, width=16, seed=0), *batch, lang="en")
    assert "(hidden.0, hidden.1, hidden.2, …, hidden.6, hidden.7)" in deep.covers()


def test_the_trackers_untracked_modules_are_listed(batch):
    model = gc.MLP(64, 10, depth=2, width=16, seed=0)
    with Tracker(model) as tr:
        torch.nn.functional.cross_entropy(model(batch[0]), batch[1]).backward()
        tr.step()
    assert tr.untracked == {"head": "no activation after it"}
    report = diagnosis.Report.from_tracker(tr, lang="en")
    assert report.healthy and report.untracked == tr.untracked
    assert report.covers() == "Covers layers 1–2 (hidden.0, hidden.1); not tracked: head."
    assert report.to_dict()["untracked"] == tr.untracked
    history = diagnosis.diagnose_history(tr.history, lang="es", untracked=tr.untracked)
    assert "sin seguir: head" in str(history)


def test_one_tracked_layer_gives_no_ratio_verdict_either_way(batch):
    report = gc.diagnose(gc.MLP(64, 10, depth=1, width=32, seed=0), *batch, lang="en")
    assert report.kinds() == ["unmeasured"] and "at least two tracked layers" in str(report)


def test_every_unmeasured_verdict_says_so_in_both_languages():
    cases = [_records(grad_std=[None, 1e-3]), _records(weight_grad_norm=[None, 0.1]),
             _records(dead_frac=[None, 0.0]), _records(grad_std=[1e-3]), []]
    for records in cases:
        for lang, start in (("en", "Not measured: "), ("es", "No medido: ")):
            report = diagnosis.Report.from_records(records, lang=lang, batch_size=2)
            assert not report.healthy
            for v in report.verdicts:
                assert v.kind == "unmeasured" and v.message.startswith(start), v
                assert v.remedy and diagnosis.PAGES[v.section] == v.docname
                assert math.isnan(v.evidence) and math.isnan(v.threshold) and v.message in str(report)
