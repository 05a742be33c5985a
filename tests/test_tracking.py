"""Tracker: statistics against manual autograd, NaN/Inf localisation, hook hygiene."""

from __future__ import annotations

import gc as pygc
import math
import tracemalloc
import weakref

import pytest
import torch
from _helpers import batch as _batch
from _helpers import hook_count as _hook_count
from torch import nn

import gradcourse as gc
from gradcourse.tracking import Tracker


def _one_step(model, tracker, X, y, opt=None):
    if opt is not None:
        opt.zero_grad()
    loss = nn.functional.cross_entropy(model(X), y)
    loss.backward()
    tracker.before_step()
    if opt is not None:
        opt.step()
    tracker.step(loss)
    return loss


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_statistics_match_manual_autograd(activation):
    X, y = _batch()
    model = gc.MLP(32, 5, depth=3, width=48, activation=activation, init="xavier_normal", seed=1)
    zs, acts = [], []

    def keep(module, args, out):
        out.retain_grad()
        zs.append(out)

    handles = [h.linear.register_forward_hook(keep) for h in model.hidden]
    handles += [h.act.register_forward_hook(lambda m, a, o: acts.append(o.detach()))
                for h in model.hidden]
    with Tracker(model) as tr:
        _one_step(model, tr, X, y)
    for h in handles:
        h.remove()
    for rec, z, a, layer in zip(tr.summary(), zs, acts, model.hidden, strict=True):
        assert rec["grad_std"] == pytest.approx(z.grad.std().item(), rel=1e-5)
        assert rec["act_mean"] == pytest.approx(a.mean().item(), rel=1e-4, abs=1e-7)
        assert rec["act_std"] == pytest.approx(a.std().item(), rel=1e-5)
        gw, w = layer.linear.weight.grad, layer.linear.weight.detach()
        assert rec["weight_grad_norm"] == pytest.approx(gw.norm().item(), rel=1e-5)
        assert rec["grad_data_ratio"] == pytest.approx((gw.std() / w.std()).item(), rel=1e-5)
        if activation == "tanh":
            assert rec["saturated_frac"] * a.numel() == pytest.approx((a.abs() > 0.97).sum().item())
        elif activation == "sigmoid":
            expected = ((a < 0.015) | (a > 0.985)).float().mean().item()
            assert rec["saturated_frac"] == pytest.approx(expected, abs=2 / a.numel())
        else:
            assert rec["dead_frac"] * a.shape[1] == pytest.approx((a.amax(0) <= 0).sum().item())
            assert rec["saturated_frac"] is None


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_update_ratio_matches_manual(optimizer):
    X, y = _batch()
    model = gc.MLP(32, 5, depth=2, width=40, activation="tanh", init="xavier_uniform", seed=2)
    opt = (torch.optim.SGD(model.parameters(), lr=0.05) if optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=1e-3))
    before = [h.linear.weight.detach().clone() for h in model.hidden]
    with Tracker(model, optimizer=opt) as tr:
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()  # the tracker closes the step through the optimizer's hooks
    assert len(tr.history) == 2
    for rec, w0, h in zip(tr.summary(), before, model.hidden, strict=True):
        manual = ((h.linear.weight.detach() - w0).std() / w0.std()).item()
        assert rec["update_ratio"] == pytest.approx(manual, rel=1e-3)


def test_user_loop_with_before_step_and_train_agree():
    data = gc.digits()
    model = gc.MLP(64, 10, depth=3, width=32, seed=0)
    tr = Tracker(model, every=2)
    hist = gc.train(model, data, steps=6, callbacks=[tr], progress=False)
    assert not tr.attached and _hook_count(model) == 0  # train() attached and detached it
    assert [r["step"] for r in tr.history][::3] == [1, 3, 5] and len(hist.step) == 6
    assert all(r["update_ratio"] is not None and r["update_ratio"] > 0 for r in tr.history)
    frame = tr.to_frame()
    assert set(frame["layer"]) == {1, 2, 3} and len(frame) == 9
    # a hand-written loop with a momentum optimizer: before_step() copies the weights
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    with Tracker(model) as tr2:
        for _ in range(3):
            _one_step(model, tr2, data.X_train[:64], data.y_train[:64], opt)
    assert [r["step"] for r in tr2.history] == [1] * 3 + [2] * 3 + [3] * 3
    assert all(0 < r["update_ratio"] < 1 for r in tr2.history)


def test_eval_passes_are_ignored_and_generic_models_work():
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.0),
                          nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
    tr = Tracker(model)
    assert [(layer.name, layer.kind) for layer in tr.layers] == [("0", "relu"), ("4", "tanh")]
    X, y = _batch(32, 8, 3)
    with tr:
        with torch.no_grad():
            model(X)  # evaluation: not recorded
        _one_step(model, tr, X, y)
    assert len(tr.history) == 2 and tr.summary()[1]["saturated_frac"] is not None
    with pytest.raises(ValueError, match="no layer to track"):
        Tracker(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)))


def test_fast_path_of_mlp_layers_matches_the_general_rule():
    """An MLP layer is watched by its activation's hook alone (``direct``); the same
    modules as a plain nn.Sequential go through the general Linear + activation hooks."""
    model = gc.MLP(32, 5, depth=4, width=24, activation="tanh", init="xavier_normal", seed=3)
    seq = nn.Sequential(*[m for h in model.hidden for m in (h.linear, h.act)], model.head)
    X, y = _batch()
    summaries = []
    for net in (model, seq):
        net.zero_grad()
        with Tracker(net) as tr:
            _one_step(net, tr, X, y)
        summaries.append([{k: v for k, v in r.items() if k != "name"} for r in tr.summary()])
    assert [layer.direct for layer in Tracker(model).layers] == [False, True, True, True]
    assert not any(layer.direct for layer in Tracker(seq).layers)
    assert summaries[0] == summaries[1]
    # BatchNorm sits between Linear and activation; after a residual layer (here layer 2,
    # the first one is never residual) the next Linear's input is x + h, not h
    for kwargs, direct in (({"batchnorm": True}, [False] * 3), ({"residual": True},
                                                                [False, True, False])):
        net = gc.MLP(8, 2, depth=3, width=8, seed=0, **kwargs)
        assert [layer.direct for layer in Tracker(net).layers] == direct


@pytest.mark.parametrize("k", [1, 3, 4])
def test_inf_weight_is_localised(k):
    model = gc.MLP(32, 5, depth=4, width=24, activation="tanh", init="xavier_normal", seed=0)
    with torch.no_grad():
        model.layer(k).linear.weight[0, 0] = math.inf
    X, y = _batch()
    with Tracker(model) as tr:
        _one_step(model, tr, X, y)
    nf = tr.nonfinite
    assert (nf.step, nf.phase, nf.layer, nf.source) == (1, "forward", k, "weight")
    assert f"layer {k}" in str(nf) and f"capa {k}" in nf.describe("es")
    assert tr.summary()[k - 1]["nonfinite_forward"]


def test_nan_input_and_backward_localisation():
    model = gc.MLP(32, 5, depth=3, width=24, seed=0)
    X, y = _batch()
    X[3, 5] = math.nan
    with Tracker(model) as tr:
        _one_step(model, tr, X, y)
    assert (tr.nonfinite.phase, tr.nonfinite.layer, tr.nonfinite.source) == ("forward", 1, "input")
    # forward finite, gradient made non-finite on its way back into layer 2's output
    model = gc.MLP(32, 5, depth=3, width=24, seed=0)
    model.layer(3).act.register_full_backward_hook(
        lambda m, gin, gout: (torch.full_like(gin[0], math.nan),))
    X, y = _batch()
    with Tracker(model) as tr:
        _one_step(model, tr, X, y)
    assert (tr.nonfinite.phase, tr.nonfinite.layer, tr.nonfinite.source) == ("backward", 3, "output")


def test_nonfinite_loss_stops_train_and_is_reported():
    data = gc.digits()
    model = gc.MLP(64, 10, depth=2, width=16, seed=0)
    tr = Tracker(model)
    hist = gc.train(model, data, steps=3, callbacks=[tr], progress=False,
                    loss_fn=lambda out, y: out.sum() * math.inf)
    assert hist.stop_step == 1
    assert (tr.nonfinite.phase, tr.nonfinite.layer) == ("loss", None)


def test_no_hook_survives_an_exception():
    model = gc.MLP(32, 5, depth=3, width=16, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(RuntimeError, match="boom"), Tracker(model, optimizer=opt):
        assert _hook_count(model) == 6  # 3 activations, layer 1's Linear, the model (2)
        model(torch.randn(4, 32)).sum().backward()
        raise RuntimeError("boom")
    assert _hook_count(model) == 0
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks


def test_attach_detach_1000_times_leaves_nothing():
    model = gc.MLP(16, 3, depth=4, width=8, seed=0)
    X = torch.randn(4, 16)
    tracker = Tracker(model)
    for _ in range(50):  # warm up allocator caches
        tracker.attach()
        tracker.detach()
    pygc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    for i in range(1000):
        tracker.attach()
        if i % 100 == 0:
            model(X)
        tracker.detach()
    pygc.collect()
    grown = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    assert _hook_count(model) == 0
    assert grown < 50_000, grown
    ref = weakref.ref(tracker)
    del tracker
    pygc.collect()
    assert ref() is None


def test_histograms_on_demand():
    model = gc.MLP(32, 5, depth=3, width=24, activation="tanh", init="xavier_normal", seed=0)
    X, y = _batch()
    with Tracker(model, histograms=20) as tr:
        _one_step(model, tr, X, y)
    assert len(tr.histograms) == 6
    for h in tr.histograms:
        assert len(h["counts"]) == 20 and len(h["edges"]) == 21
        assert sum(h["counts"]) == (64 * 24)



def _float64_reference(model, X, y):
    """Per hidden layer of a gc.MLP: the statistics recomputed in float64 from the tensors."""
    zs, acts = [], []

    def keep(module, args, out):
        out.retain_grad()
        zs.append(out)

    handles = [h.linear.register_forward_hook(keep) for h in model.hidden]
    handles += [h.act.register_forward_hook(lambda m, a, o: acts.append(o.detach().double()))
                for h in model.hidden]
    loss = nn.functional.cross_entropy(model(X), y)
    loss.backward()
    for h in handles:
        h.remove()
    out = []
    for z, a, h in zip(zs, acts, model.hidden, strict=True):
        w, gw = h.linear.weight.detach().double(), h.linear.weight.grad.double()
        rec = {"act_mean": a.mean().item(), "act_std": a.std().item(),
               "grad_std": z.grad.double().std().item(), "weight_grad_norm": gw.norm().item(),
               "grad_data_ratio": (gw.std() / w.std()).item()}
        if model.activation == "sigmoid":
            rec["saturated_frac"] = ((a - 0.5).abs() > 0.485).double().mean().item()
        elif model.activation == "tanh":
            rec["saturated_frac"] = (a.abs() > 0.97).double().mean().item()
        else:
            rec["dead_frac"] = (a.amax(0) <= 0).double().mean().item()
        out.append(rec)
    return loss, out


def test_three_steps_against_a_float64_reference():
    """Every statistic of every step, as float64 recomputed from the tensors, to 1e-10. Layer
    2 is a sigmoid with std ~3e-5 around 0.99, where sum(x**2) - sum(x)**2/n would lose 9
    of float64's 16 digits: the shifted sums keep them."""
    X, y = _batch()
    model = gc.MLP(32, 5, depth=3, width=24, activation="sigmoid", init="xavier_normal", seed=0)
    with torch.no_grad():
        model.layer(2).linear.weight.mul_(0.01)
        model.layer(2).linear.bias.fill_(5.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)  # update: weight copies
    with Tracker(model) as tr:
        for step in range(1, 4):
            opt.zero_grad()
            loss, expected = _float64_reference(model, X, y)
            tr.before_step()
            before = [h.linear.weight.detach().double().clone() for h in model.hidden]
            opt.step()
            tr.step(loss)
            records = tr.summary()
            assert [r["step"] for r in records] == [step] * 3
            for rec, exp, w0, h in zip(records, expected, before, model.hidden, strict=True):
                for key, value in exp.items():
                    assert rec[key] == pytest.approx(value, rel=1e-10, abs=1e-15), (step, key)
                update = (h.linear.weight.detach().double() - w0).std() / w0.std()
                assert rec["update_ratio"] == pytest.approx(update.item(), rel=1e-6)
    assert 1e-5 < tr.history[1]["act_std"] < 1e-4 and tr.history[1]["act_mean"] > 0.99


def test_captured_bytes_every_and_gradient_accumulation():
    """The hooks hold one reference per layer to its activation and dL/dz (and the first
    layer's input): 4 bytes each for float32; nothing on the steps ``every`` skips; one
    pass's worth under gradient accumulation."""
    X, y = _batch(64, 32, 5)
    model = gc.MLP(32, 5, depth=3, width=24, seed=0)
    per_pass = (64 * 32 + 3 * 2 * 64 * 24) * 4  # x of layer 1, then a and dL/dz per layer
    tr = Tracker(model, every=2)
    with tr:
        for step in range(4):
            nn.functional.cross_entropy(model(X), y).backward()
            assert bool(tr._recorder.captures) == (step % 2 == 0)  # every=2 captures nothing
            tr.step()
            if step % 2 == 0:
                assert tr.captured_bytes == per_pass
    with Tracker(model) as tr:
        for xb, yb in zip(X.chunk(4), y.chunk(4), strict=True):  # 4 micro-batches of 16
            nn.functional.cross_entropy(model(xb), yb).backward()
        tr.step()
    assert tr.passes == 4 and tr.captured_bytes == per_pass // 4


def _steps_memory(keep, steps, traced=1000):
    """The tracker after ``steps`` steps and the bytes per step its last ``traced`` added."""
    model = gc.MLP(4, 2, depth=2, width=4, seed=0)
    X, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    tr = Tracker(model, keep=keep, update_ratio=False)
    with tr:
        for step in range(steps):
            if step == steps - 2 * traced:  # trace from here, measure from the next mark:
                tracemalloc.start()  # what was allocated before tracing is not counted
            if step == steps - traced:  # when it is freed
                pygc.collect()
                start = tracemalloc.get_traced_memory()[0]
            nn.functional.cross_entropy(model(X), y).backward()
            tr.step()
            if keep and step % 1000 == 999:  # reading builds the records (dicts)
                assert len(tr.history) == 2 * min(step + 1, keep)
        pygc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
        tracemalloc.stop()
    return tr, grown / traced


def test_keep_caps_the_history_of_5000_steps():
    tr, per_step = _steps_memory(keep=100, steps=5000)
    assert [r["step"] for r in tr.history][::2] == list(range(4901, 5001))
    assert per_step < 20, per_step  # once the cap is reached: no growth, up to the garbage
    # of the last graphs still waiting for the collector (a few kB either way)
    _, unbounded = _steps_memory(keep=None, steps=1000, traced=400)
    assert 200 < unbounded < 1000, unbounded  # unread: 9 rows x 5 floats + a few objects


def test_listeners_get_each_recorded_step_and_pool_is_the_plug_in_point():
    class AllRanksFire(Tracker):  # as if another process saw every unit fire
        def pool(self, sums, peaks):
            assert sums.dtype == torch.float64 and sums.shape[0] == 5
            return sums, [torch.ones_like(p) for p in peaks]

    data = gc.digits()
    model = gc.MLP(64, 10, depth=2, width=32, seed=0)
    with torch.no_grad():
        model.layer(1).linear.bias[:16] = -100.0  # 16 of 32 units dead
    seen = []
    tr = Tracker(model, every=2)
    tr.listeners.append(seen.append)
    gc.train(model, data, steps=4, callbacks=[tr], progress=False)
    assert [[r["step"] for r in records] for records in seen] == [[1, 1], [3, 3]]
    assert seen[-1] == tr.summary() and tr.summary()[0]["dead_frac"] == pytest.approx(0.5)
    pooled = AllRanksFire(model)
    gc.train(model, data, steps=1, callbacks=[pooled], progress=False)
    assert pooled.summary()[0]["dead_frac"] == 0.0
    assert {("a", 0), ("g", 0), ("w", 0), ("gw", 0)} <= set(pooled.plan_columns)


def test_sums_that_start_to_cancel_are_recomputed_or_said():
    """After a well-conditioned first step the float64 sums are taken raw; a layer whose
    activations become nearly constant later is recomputed exactly from its tensors, and a
    weight made constant (changed by the optimizer before the step closed) is None, said."""
    X, y = _batch()
    model = gc.MLP(32, 5, depth=3, width=24, activation="sigmoid", init="xavier_normal", seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lin = model.layer(2).linear
    with Tracker(model) as tr:
        for step in range(1, 5):
            if step == 3:
                with torch.no_grad():
                    lin.weight.mul_(0.001)
                    lin.bias.fill_(5.0)  # sigmoid ~0.993 +- 1e-5: the raw sums would cancel
            if step == 4:
                with torch.no_grad():
                    model.layer(3).linear.weight.fill_(0.0625 + 1e-7)  # nearly constant
            opt.zero_grad()
            loss, expected = _float64_reference(model, X, y)
            tr.before_step()
            if step == 4:
                with pytest.warns(UserWarning, match="nearly constant"):
                    opt.step()
                    tr.step(loss)
            else:
                opt.step()
                tr.step(loss)
            for rec, exp in zip(tr.summary(), expected, strict=True):
                for key, value in exp.items():
                    if step == 4 and rec["layer"] == 3 and key == "grad_data_ratio":
                        assert rec[key] is None  # std(W) was not measured exactly: not at all
                        continue
                    assert rec[key] == pytest.approx(value, rel=1e-10, abs=1e-15), (step, key)
    assert tr.history[3 * 2 + 1]["act_std"] < 1e-4


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_tensors_longer_than_a_block_are_reduced_in_parts(activation):
    """A weight of 512 x 512 and activations of 300 x 512 exceed one block (CHUNK): they
    are reduced in parts through a cache-sized buffer; the numbers stay exact."""
    from gradcourse.tracking.blocks import CHUNK

    X, y = _batch(300, 32, 5)
    model = gc.MLP(32, 5, depth=2, width=512, activation=activation, init="xavier_normal",
                   seed=0)
    assert 300 * 512 > CHUNK and 512 * 512 > CHUNK
    with Tracker(model) as tr:
        for _ in range(2):  # the second step sums raw
            model.zero_grad()
            loss, expected = _float64_reference(model, X, y)
            tr.step(loss)
            for rec, exp in zip(tr.summary(), expected, strict=True):
                for key, value in exp.items():
                    assert rec[key] == pytest.approx(value, rel=1e-10, abs=1e-15), key
