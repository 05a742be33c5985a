"""Issue 15: the Tracker and diagnose on a practitioner's own model, case by case.

Each test names the case of the issue it covers; each fails on the code before the fix
(81fa45c): wrong numbers, a silent wrong pairing, or a crash.
"""

from __future__ import annotations

import math

import pytest
import torch
from _helpers import batch as _batch
from _helpers import hook_count as _hook_count
from torch import nn

import gradcourse as gc
from gradcourse.tracking import Tracker


def _one_step(model, tracker, X, y):
    loss = nn.functional.cross_entropy(model(X), y)
    loss.backward()
    tracker.before_step()
    tracker.step(loss)
    return loss


class SharedReLU(nn.Module):
    """One activation module, declared after the Linears and called after each."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(16, 32), nn.Linear(32, 24), nn.Linear(24, 4)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(x)))))


def _reference(model, linears, act_fns, X, y, passes=1):
    """Hand-written hooks: z of each Linear (with its gradient) and f(z), over ``passes``."""
    zs = {lin: [] for lin in linears}

    def keep(module, args, out):
        out.retain_grad()
        zs[module].append(out)

    handles = [lin.register_forward_hook(keep) for lin in linears]
    chunks = X.chunk(passes), y.chunk(passes)
    for xb, yb in zip(*chunks, strict=True):
        nn.functional.cross_entropy(model(xb), yb).backward()
    for h in handles:
        h.remove()
    out = []
    for lin, f in zip(linears, act_fns, strict=True):
        z = torch.cat([t.detach().reshape(-1) for t in zs[lin]]).double()
        g = torch.cat([t.grad.reshape(-1) for t in zs[lin]]).double()
        a = f(z)
        out.append({"act_mean": a.mean().item(), "act_std": a.std().item(),
                    "grad_std": g.std().item(), "weight_grad_norm": lin.weight.grad.norm().item()})
    return out


def _tracked(model, X, y, passes=1, **kw):
    model.zero_grad()
    with Tracker(model, **kw) as tr:
        for xb, yb in zip(X.chunk(passes), y.chunk(passes), strict=True):
            nn.functional.cross_entropy(model(xb), yb).backward()
        tr.step()
    return tr


def _assert_match(records, expected, rel=1e-5):
    assert len(records) == len(expected)
    for rec, exp in zip(records, expected, strict=True):
        for key, value in exp.items():
            assert rec[key] == pytest.approx(value, rel=rel, abs=1e-9), (rec["layer"], key)


@pytest.mark.parametrize("build", ["module", "sequential"])
def test_case1_shared_activation_pairs_each_call(build):
    torch.manual_seed(0)
    if build == "module":
        model = SharedReLU()
        linears = [model.fc1, model.fc2]
    else:
        act = nn.Tanh()
        linears = [nn.Linear(16, 32), nn.Linear(32, 24)]
        model = nn.Sequential(linears[0], act, linears[1], act, nn.Linear(24, 4))
    f = torch.relu if build == "module" else torch.tanh
    X, y = _batch(64, 16, 4)
    tr = _tracked(model, X, y)
    assert [layer.linear for layer in tr.layers] == linears
    model.zero_grad()
    _assert_match(tr.summary(), _reference(model, linears, [f, f], X, y))


def test_case2_transformer_gelu_pairs_linear1():
    torch.manual_seed(0)
    model = nn.Sequential(nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation=nn.GELU(),
                                                     batch_first=True),
                          nn.Flatten(), nn.Linear(5 * 16, 3))
    X, y = torch.randn(8, 5, 16), torch.randint(0, 3, (8,))
    tr = _tracked(model, X, y)
    assert [layer.name for layer in tr.layers] == ["0.linear1"]
    model.zero_grad()
    ref = _reference(model, [model[0].linear1], [nn.functional.gelu], X, y)
    _assert_match(tr.summary(), ref, rel=1e-4)


def _scaled_mlp(factor, depth=6, activation="relu"):
    model = gc.MLP(64, 5, depth=depth, width=64, activation=activation, seed=0)
    with torch.no_grad():
        for lin in model.linears[:-1]:
            lin.weight.mul_(factor / 1.4)  # He keeps ~1 per layer: now ~factor per layer
    return model


def test_case3_huge_but_finite_is_exploding_not_nonfinite():
    model = _scaled_mlp(1e4, depth=5)
    X, y = _batch(64, 64, 5)
    tr = _tracked(model, X, y)
    assert tr.nonfinite is None
    top = tr.summary()[-1]
    assert 1e17 < top["act_std"] < 1e21 and not top["nonfinite_forward"]
    report = gc.diagnose(model, X, y, lang="en")
    assert "nonfinite" not in report.kinds() and "exploding" in report.kinds()


def test_case3_divergence_names_the_layer_of_the_first_inf():
    model = _scaled_mlp(1e7)  # ~1e7 per layer: float32 overflows at layer 6 (1e42)
    X, y = _batch(64, 64, 5)
    tr = _tracked(model, X, y)
    nf = tr.nonfinite
    assert (nf.phase, nf.layer, nf.source) == ("forward", 6, "output"), nf


def test_case4_near_saturated_sigmoid_has_its_small_std():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 64), nn.Sigmoid(), nn.Linear(64, 3))
    with torch.no_grad():
        model[0].weight.normal_(0, 0.03 / 4)  # z ~ 5 +- 0.03: sigma'(5) 0.0066, std ~2e-4
        model[0].bias.fill_(5.0)
    X, y = _batch(64, 16, 3)
    tr = _tracked(model, X, y)
    model.zero_grad()
    ref = _reference(model, [model[0]], [torch.sigmoid], X, y)
    assert 1e-4 < ref[0]["act_std"] < 5e-4
    assert tr.summary()[0]["act_std"] == pytest.approx(ref[0]["act_std"], rel=1e-4)


def test_case5_every_pass_of_a_step_is_measured():
    model = gc.MLP(32, 5, depth=3, width=24, activation="tanh", init="xavier_normal", seed=0)
    X, y = _batch()
    tr = _tracked(model, X, y, passes=2)  # gradient accumulation over two micro-batches
    assert tr.passes == 2
    model.zero_grad()
    ref = _reference(model, [h.linear for h in model.hidden], [torch.tanh] * 3, X, y, passes=2)
    _assert_match(tr.summary(), ref)
    # a validation forward in eval mode, with gradients, between backward and step
    model.zero_grad()
    with Tracker(model) as tr2:
        nn.functional.cross_entropy(model(X), y).backward()
        model.eval()
        model(X[:7] * 3)
        model.train()
        tr2.step()
    assert tr2.passes == 1
    model.zero_grad()
    _assert_match(tr2.summary(), _reference(model, [h.linear for h in model.hidden],
                                            [torch.tanh] * 3, X, y))


def test_case6_leaving_the_block_closes_the_step():
    model = gc.MLP(32, 5, depth=2, width=16, seed=0)
    X, y = _batch()
    with Tracker(model) as tr:
        nn.functional.cross_entropy(model(X), y).backward()
    assert len(tr.summary()) == 2 and tr.summary()[0]["grad_std"] > 0
    assert tr.steps_done == 1 and not tr.attached


def test_case7_copies_and_pickles_of_a_tracked_model_are_inert():
    import copy
    import io
    import pickle

    model = gc.MLP(32, 5, depth=3, width=16, seed=0)
    X, y = _batch()
    expected = _tracked(copy.deepcopy(model), X, y).summary()
    model.zero_grad()
    with Tracker(model) as tr:
        twin = copy.deepcopy(model)
        nn.functional.cross_entropy(twin(X * 5), y).backward()  # must not reach tr
        nn.functional.cross_entropy(model(X), y).backward()
        tr.step()
        blob = pickle.dumps(model)
        torch.save(model, io.BytesIO())
    assert tr.summary() == expected
    nn.functional.cross_entropy(twin(X), y).backward()  # after detach: no IndexError
    gc.diagnose(twin, X, y)
    gc.train(twin, (X, y), steps=2, progress=False)
    restored = pickle.loads(blob)
    assert torch.equal(restored(X), model(X))
    assert gc.diagnose(restored, X, y).records


def test_case8_train_is_exception_safe():
    data = gc.digits()
    model = gc.MLP(64, 10, depth=2, width=16, seed=0)

    class Boom(gc.Callback):
        def __init__(self, exc):
            self.exc, self.seen = exc, []

        def on_step_end(self, step, loss, model, optimizer):
            if step == 3:
                raise self.exc

        def on_exception(self, exc, history):
            self.seen.append((type(exc).__name__, len(history.step)))

    tr, boom = Tracker(model), Boom(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom") as info:
        gc.train(model, data, steps=6, callbacks=[tr, boom], progress=False)
    assert _hook_count(model) == 0 and not tr.attached
    assert info.value.history.step == [1, 2, 3] and info.value.history.stop_reason == \
        "exception: RuntimeError"
    assert boom.seen == [("RuntimeError", 3)] and tr.steps_done == 3
    boom = Boom(KeyboardInterrupt())
    with pytest.warns(UserWarning, match="interrupted"):
        hist = gc.train(model, data, steps=6, callbacks=[tr, boom], progress=False)
    assert hist.stop_reason == "interrupted" and hist.step == [1, 2, 3] and not hist.diverged
    assert _hook_count(model) == 0


def test_case9_one_tracker_over_two_runs_keeps_counting():
    data = gc.digits()
    model = gc.MLP(64, 10, depth=2, width=16, seed=0)
    tr = Tracker(model)
    gc.train(model, data, steps=3, callbacks=[tr], progress=False)
    gc.train(model, data, steps=3, callbacks=[tr], progress=False)
    assert [r["step"] for r in tr.history] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    with pytest.raises(ValueError, match="increase"):
        tr.step(step=6)


def test_case11_nonfinite_sources_and_the_output_layer():
    X, y = _batch(64, 32, 5)
    for k in (1, 3):  # inf weight: the loss is inf, diagnose runs no backward
        model = gc.MLP(32, 5, depth=3, width=16, seed=0)
        with torch.no_grad():
            model.layer(k).linear.weight[0, 0] = math.inf
        report = gc.diagnose(model, X, y, lang="en")
        assert report.kinds() == ["nonfinite"] and report.verdicts[0].layer == k
        assert "weight" in report.verdicts[0].message or "weight" in report.verdicts[0].measure
    model = gc.MLP(32, 5, depth=3, width=16, seed=0)
    with torch.no_grad():
        model.head.weight[0, 0] = math.inf
    with Tracker(model) as tr:
        _one_step(model, tr, X, y)
    nf = tr.nonfinite
    assert (nf.phase, nf.layer, nf.source, nf.name) == ("forward", None, "weight", "head")
    assert "head" in str(nf) and "head" in nf.describe("es")


def test_case12_one_clipping_semantics_and_the_sgd_shortcut(monkeypatch):
    data = gc.digits()
    model = gc.MLP(64, 10, depth=3, width=32, seed=0)
    tr = Tracker(model)
    gc.train(model, data, steps=2, lr=0.1, clip_norm=1e-3, callbacks=[tr], progress=False)
    for r in tr.history:  # both measured on the clipped gradient: update = lr * gradient
        assert r["weight_grad_norm"] <= 1e-3 * (1 + 1e-6)
        assert r["update_ratio"] == pytest.approx(0.1 * r["grad_data_ratio"], rel=1e-4)
    # without clipping nothing touches the gradients, so plain SGD copies no weights
    def refuse(*a, **k):
        raise AssertionError("clipping ran although clip_norm is None")

    monkeypatch.setattr(nn.utils, "clip_grad_norm_", refuse)
    monkeypatch.setattr(nn.utils, "clip_grads_with_norm_", refuse)
    tr = Tracker(model)
    gc.train(model, data, steps=2, lr=0.1, callbacks=[tr], progress=False)
    metas = [entry[-1] for entry in tr._log._pending]  # the update is lr * the gradient
    assert len(metas) == 2 and all(meta.update == ((0, "gw", 0.1), (1, "gw", 0.1), (2, "gw", 0.1))
                                   for meta in metas)


def test_case3_train_measures_a_huge_finite_gradient_norm():
    model = _scaled_mlp(1e4, depth=5)
    X, y = _batch(64, 64, 5)
    tr = Tracker(model)
    hist = gc.train(model, (X, y), steps=1, lr=1e-30, callbacks=[tr], progress=False)
    assert not hist.diverged and hist.step == [1]
    assert 1e19 < hist.grad_norm[0] < 1e30 and tr.nonfinite is None
