"""Two processes under DistributedDataParallel (gloo, CPU) against one process on the
concatenated batch: what pooling the Tracker's statistics across ranks must give.

How ∂L/∂z on a rank relates to the single process. Each rank computes the mean loss
over its own ``b`` examples, :math:`L_r = \\frac1b\\sum_{i \\in r} \\ell_i`, so its
backward pass gives :math:`\\partial L_r/\\partial z_i = \\frac1b\\,\\partial\\ell_i/\\partial z_i`.
DDP then *averages* the weight gradients over the ``W`` ranks: the optimizer follows
:math:`\\bar L = \\frac1W\\sum_r L_r`, which for equal ``b`` is the mean loss over the
``W b`` examples of the concatenated batch. Its gradient w.r.t. an example's
pre-activation is :math:`\\partial\\bar L/\\partial z_i = \\frac1W\\,\\partial L_r/\\partial z_i`.
So the ∂L/∂z a rank's hooks see is ``W`` times the single process's (tested to 1e-5 per
element), and the pooled ``grad_std`` must divide the rank's gradient by the world size:
sums by ``W``, sums of squares by ``W**2``. The weight gradients need nothing: after DDP's
backward every rank holds the averaged one, equal to the single process's, so
``weight_grad_norm``, ``grad_data_ratio`` and ``update_ratio`` are the same on every rank
and must not be summed.

Pooling the rest by sums: activations by their sums, sums of squares and counts (no
scaling); ``saturated_frac`` by the saturated counts; ``dead_frac`` by the per-unit peak
(the maximum over examples, a max across ranks): a unit is dead when it is off on every
rank's examples. The data below make units dead on one rank and alive on the other, so
that averaging the ranks' ``dead_frac`` would be wrong (0.6 instead of 0.2).

The first tests check those facts on each rank's own numbers (``pool="local"``); the
later ones check that ``pool="global"`` (the default in a group) gives, on every rank,
the single process's records, and the refusals and the rank of a NaN.
"""

import math
import os
from functools import partial

import pytest
import torch
from _ddp import run
from torch import nn
from torch.nn.parallel import DistributedDataParallel

import gradcourse as gc

WORLD, LOCAL, D = 2, 16, 16  # ranks, examples per rank, input features


class Net(nn.Module):
    """A practitioner's model: ReLU, Tanh, Sigmoid layers and a head."""

    def __init__(self):
        super().__init__()
        self.fc1, self.act1 = nn.Linear(D, 40), nn.ReLU()
        self.fc2, self.act2 = nn.Linear(40, 32), nn.Tanh()
        self.fc3, self.act3 = nn.Linear(32, 32), nn.Sigmoid()
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        return self.head(self.act3(self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))))


def make_model():
    torch.manual_seed(0)
    model = Net()
    with torch.no_grad():  # unit j < 16 sees +x_j, 16 <= j < 32 sees -x_j, 32.. never fires
        eye = torch.eye(D)
        model.fc1.weight.copy_(torch.cat([2 * eye, -2 * eye, torch.zeros(8, D)]))
        model.fc1.bias.copy_(torch.cat([torch.zeros(32), -torch.ones(8)]))
        model.fc2.weight.mul_(4)  # some tanh saturation
    return model


def make_batch():
    """Rank 0's examples are all positive, rank 1's all negative: units 1-16 are dead on
    rank 1 only, units 17-32 on rank 0 only, units 33-40 on both."""
    gen = torch.Generator().manual_seed(1)
    mag = torch.randn(WORLD * LOCAL, D, generator=gen).abs() + 0.1
    sign = torch.cat([torch.ones(LOCAL, 1), -torch.ones(LOCAL, 1)])
    return mag * sign, torch.randint(0, 5, (WORLD * LOCAL,), generator=gen)


class Capture:
    """The raw tensors, taken by hooks of our own: z's gradient and the activation."""

    def __init__(self, model):
        self.acts, self.grads = {}, {}
        for k in (1, 2, 3):
            getattr(model, f"fc{k}").register_forward_hook(partial(self._on_z, k))
            getattr(model, f"act{k}").register_forward_hook(partial(self._on_act, k))

    def _on_z(self, k, module, args, z):
        z.register_hook(partial(self._on_grad, k))

    def _on_grad(self, k, grad):
        self.grads[k] = grad.detach().clone()

    def _on_act(self, k, module, args, out):
        self.acts[k] = out.detach().clone()


def one_step(model, tracked, X, y, steps=1, **kw):
    """``steps`` SGD steps of ``tracked`` (the model or its DDP wrapper) with a Tracker
    (SGD, not Adam: Adam's normalised first steps amplify the float32 differences between
    DDP's averaged gradient and one process's, 3e-6 relative on act_mean at step 2)."""
    capture = Capture(model)
    tracker = sgd_steps(tracked, X, y, steps, **kw)
    wgrads = {k: getattr(model, f"fc{k}").weight.grad.clone() for k in (1, 2, 3)}
    return {"summary": tracker.summary(), "history": tracker.history, "examples": tracker.examples,
            "acts": capture.acts, "grads": capture.grads, "wgrads": wgrads,
            "pool": tracker.pool_mode, "nonfinite": tracker.nonfinite}


def caught(fn, *args, **kw):
    """``fn``'s result, or ``(type name, message)`` of what it raised."""
    try:
        return fn(*args, **kw)
    except Exception as err:  # the test compares the message
        return (type(err).__name__, str(err))


class Deeper(Net):
    def __init__(self):
        super().__init__()
        self.fc4, self.act4 = nn.Linear(32, 32), nn.ReLU()

    def forward(self, x):
        return self.head(self.act4(self.fc4(self.act3(self.fc3(self.act2(self.fc2(
            self.act1(self.fc1(x)))))))))


class ConvNet(nn.Module):
    """Convolutions (a unit is a channel: dead on every position of every rank's images)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1, self.relu = nn.Conv2d(1, 6, 3, padding=1), nn.ReLU()
        self.conv2, self.tanh = nn.Conv2d(6, 8, 3), nn.Tanh()
        self.head = nn.Linear(8 * 4 * 4, 5)
        with torch.no_grad():
            self.conv1.bias[:2] = -50.0  # two channels that never fire

    def forward(self, x):
        return self.head(self.tanh(self.conv2(self.relu(self.conv1(x)))).flatten(1))


def sgd_steps(tracked, X, y, steps=1, as_float=False, **kw):
    """The Tracker of ``steps`` SGD steps; ``as_float``: the loss given as a float (as
    ``gradcourse.train`` does)."""
    opt = torch.optim.SGD(tracked.parameters(), lr=0.1)
    with gc.Tracker(tracked, **kw) as tracker:
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(tracked(X), y)
            loss.backward()
            tracker.before_step()
            opt.step()
            tracker.step(loss.item() if as_float else loss)
    return tracker


def conv_steps(tracked, X, y, steps=2):
    return sgd_steps(tracked, X, y, steps, as_float=True).history


def conv_batch():
    gen = torch.Generator().manual_seed(2)
    return torch.randn(WORLD * LOCAL, 1, 6, 6, generator=gen), torch.randint(0, 5, (WORLD * LOCAL,), generator=gen)


def ddp_rank(rank, world_size, log_dir):
    X, y = make_batch()
    rows = slice(rank * LOCAL, (rank + 1) * LOCAL)
    Xr, yr = X[rows], y[rows]
    out = {}
    for pool in ("local", "global"):
        model = make_model()
        out[pool] = one_step(model, DistributedDataParallel(model), Xr, yr,
                             pool=None if pool == "global" else pool)  # global: the default
    model = make_model()
    out["three"] = one_step(model, DistributedDataParallel(model), Xr, yr, steps=3,
                            tensorboard=os.path.join(log_dir, "global"))
    model = make_model()
    out["local_tb"] = one_step(model, DistributedDataParallel(model), Xr, yr, steps=2,
                               pool="local", tensorboard=os.path.join(log_dir, "local"))
    # refusals: no DDP wrapper here (DDP itself refuses models of different shapes)
    torch.manual_seed(0)
    other = Deeper() if rank == 1 else Net()
    out["layers"] = caught(one_step, other, other, Xr, yr, pool="global")
    k = LOCAL if rank == 0 else LOCAL // 2
    model = make_model()
    out["batches"] = caught(one_step, model, model, Xr[:k], yr[:k], pool="global")
    model = make_model()
    bad = Xr.clone()
    if rank == 1:
        bad[3, 5] = math.nan
    out["nan"] = one_step(model, DistributedDataParallel(model), bad, yr)
    Xc, yc = conv_batch()
    out["conv"] = conv_steps(DistributedDataParallel(ConvNet()), Xc[rows], yc[rows])
    return out


@pytest.fixture(scope="module")
def spawned(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("ddp_tb")
    X, y = make_batch()
    model = make_model()
    ref = one_step(model, model, X, y)
    model = make_model()
    ref3 = one_step(model, model, X, y, steps=3)
    ref3["conv"] = conv_steps(ConvNet(), *conv_batch())
    return ref, ref3, run(ddp_rank, WORLD, args=(str(log_dir),), timeout=180), log_dir


@pytest.fixture(scope="module")
def runs(spawned):
    ref, _, ranks, _ = spawned
    return ref, [r["local"] for r in ranks]


def pooled_std(parts):
    """Sample std from per-part (sum, sum of squares, count): what an all-reduce of the
    sums gives."""
    s, q, n = (math.fsum(p[i] for p in parts) for i in range(3))
    return math.sqrt((q - s * s / n) / (n - 1))


def moments(t, scale=1.0):
    t = t.double() / scale
    return t.sum().item(), t.square().sum().item(), t.numel()


def test_local_tensors_are_the_single_process_rows(runs):
    ref, ranks = runs
    for rank, r in enumerate(ranks):
        rows = slice(rank * LOCAL, (rank + 1) * LOCAL)
        for k in (1, 2, 3):
            torch.testing.assert_close(r["acts"][k], ref["acts"][k][rows], rtol=1e-5, atol=1e-7)
            # the rank's dL/dz is world_size times the single process's
            torch.testing.assert_close(r["grads"][k], WORLD * ref["grads"][k][rows],
                                       rtol=1e-5, atol=1e-9)


def test_weight_statistics_need_no_pooling(runs):
    ref, ranks = runs
    for r in ranks:
        for k in (1, 2, 3):  # DDP averaged the weight gradients
            torch.testing.assert_close(r["wgrads"][k], ref["wgrads"][k], rtol=1e-5, atol=1e-9)
        for mine, theirs in zip(r["summary"], ref["summary"], strict=True):
            for stat in ("weight_grad_norm", "grad_data_ratio", "update_ratio"):
                assert mine[stat] == pytest.approx(theirs[stat], rel=1e-5)


def test_local_records_are_each_ranks_own(runs):
    ref, ranks = runs  # what pool="local" keeps: each rank's own numbers
    for r in ranks:
        assert r["examples"] == LOCAL and ref["examples"] == WORLD * LOCAL
        for record in r["summary"]:
            k = record["layer"]
            assert record["act_std"] == pytest.approx(r["acts"][k].double().std().item(), rel=1e-9)
            assert record["grad_std"] == pytest.approx(r["grads"][k].double().std().item(), rel=1e-9)


def test_pooled_sums_give_the_single_process(runs):
    ref, ranks = runs
    for k, expected in enumerate(ref["summary"], start=1):
        # act_std, from the ranks' tracked mean and std (sums rebuilt from them)
        parts = []
        for r in ranks:
            rec, n = r["summary"][k - 1], r["acts"][k].numel()
            parts.append((rec["act_mean"] * n, rec["act_std"] ** 2 * (n - 1) + n * rec["act_mean"] ** 2, n))
        assert pooled_std(parts) == pytest.approx(expected["act_std"], rel=1e-6)
        # grad_std: the ranks' dL/dz divided by the world size
        scaled = pooled_std([moments(r["grads"][k], WORLD) for r in ranks])
        assert scaled == pytest.approx(expected["grad_std"], rel=1e-6)
        unscaled = pooled_std([moments(r["grads"][k]) for r in ranks])
        assert unscaled == pytest.approx(WORLD * expected["grad_std"], rel=1e-6)


def test_saturated_counts_add_up(runs):
    ref, ranks = runs
    for k in (2, 3):
        counts = [r["summary"][k - 1]["saturated_frac"] * r["acts"][k].numel() for r in ranks]
        total = sum(r["acts"][k].numel() for r in ranks)
        assert sum(counts) / total == pytest.approx(ref["summary"][k - 1]["saturated_frac"], rel=1e-12)
    assert ref["summary"][1]["saturated_frac"] > 0.05  # the tanh layer has some


def test_dead_means_dead_on_every_ranks_examples(runs):
    ref, ranks = runs
    peaks = torch.stack([r["acts"][1].amax(0) for r in ranks])  # (ranks, units)
    dead_everywhere = (peaks <= 0).all(0)
    assert torch.equal(dead_everywhere, ref["acts"][1].amax(0) <= 0)
    units = dead_everywhere.numel()
    assert dead_everywhere.sum().item() == round(ref["summary"][0]["dead_frac"] * units) == 8
    local = [round(r["summary"][0]["dead_frac"] * units) for r in ranks]
    assert local == [24, 24]  # averaging the ranks' dead_frac would say 0.6, not 0.2


STD_STATS = ("act_mean", "act_std", "saturated_frac", "grad_std")
WEIGHT_STATS = ("weight_grad_norm", "grad_data_ratio", "update_ratio")


def assert_single_process(records, expected):
    assert len(records) == len(expected)
    for mine, theirs in zip(records, expected, strict=True):
        assert (mine["step"], mine["layer"]) == (theirs["step"], theirs["layer"])
        for stat in STD_STATS + WEIGHT_STATS:
            if theirs[stat] is None:
                assert mine[stat] is None, stat
            else:
                assert mine[stat] == pytest.approx(theirs[stat], rel=1e-6, abs=1e-12), stat
        assert mine["dead_frac"] == theirs["dead_frac"]  # counts: identical
        assert not mine["nonfinite_forward"] and not mine["nonfinite_backward"]


def test_global_is_the_default_and_gives_the_single_process(spawned):
    ref, _, ranks, _ = spawned
    for r in ranks:
        assert r["global"]["pool"] == "global" and r["local"]["pool"] == "local"
        assert r["global"]["examples"] == WORLD * LOCAL == ref["examples"]
        assert_single_process(r["global"]["summary"], ref["summary"])
    assert ranks[0]["global"]["summary"] == ranks[1]["global"]["summary"]  # the same, exactly
    assert ref["summary"][0]["dead_frac"] == pytest.approx(0.2)  # not the local 0.6
    assert ref["summary"][1]["saturated_frac"] > 0.05


def test_global_over_steps_and_live_tensorboard(spawned):
    """Three steps: after the first, the blocks sum raw (no shift), pooled all the same;
    only rank 0 writes, and the event files equal its history."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    _, ref3, ranks, log_dir = spawned
    for r in ranks:
        assert_single_process(r["three"]["history"], ref3["history"])
    acc = EventAccumulator(str(log_dir / "global"), size_guidance={"tensors": 0})
    acc.Reload()
    scalars = {(t, e.step): tensor_util.make_ndarray(e.tensor_proto).item()
               for t in acc.Tags()["tensors"] if not t.endswith("text_summary")
               for e in acc.Tensors(t)}
    expected = {(f"gradcourse/{stat}/layer_{rec['layer']}", rec["step"]): value
                for rec in ranks[0]["three"]["history"] for stat, value in rec.items()
                if isinstance(value, float)}
    assert scalars == expected
    assert len(list((log_dir / "global").glob("events.out.tfevents.*"))) == 1  # rank 0's only


def test_local_tensorboard_one_folder_per_rank(spawned):
    _, _, ranks, log_dir = spawned
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    for rank, r in enumerate(ranks):
        acc = EventAccumulator(str(log_dir / "local" / f"rank_{rank}"), size_guidance={"tensors": 0})
        acc.Reload()
        (event,) = [e for e in acc.Tensors("gradcourse/grad_std/layer_1") if e.step == 2]
        assert tensor_util.make_ndarray(event.tensor_proto).item() == r["local_tb"]["history"][3]["grad_std"]
    a, b = (r["local_tb"]["summary"][0]["grad_std"] for r in ranks)
    assert a != b  # each rank's own


def test_ranks_that_disagree_are_refused_by_name(spawned):
    _, _, ranks, _ = spawned
    for r in ranks:
        kind, message = r["layers"]
        assert kind == "RuntimeError" and "rank 1 tracks 4 layers and rank 0 tracks 3" in message
        kind, message = r["batches"]
        assert kind == "ValueError" and "local batches differ" in message
        assert "[1664, 832] by rank" in message  # 104 units times 16 and 8 examples


def test_nonfinite_names_the_rank(spawned):
    _, _, ranks, _ = spawned
    for r in ranks:
        event = r["nan"]["nonfinite"]
        assert (event.phase, event.layer, event.source, event.rank) == ("forward", 1, "input", 1)
        assert event.describe().endswith("(rank 1)")
        assert "proceso de rango 1" in event.describe("es")


def test_global_needs_a_process_group():
    with pytest.raises(RuntimeError, match="init_process_group"):
        gc.Tracker(make_model(), pool="global")
    with pytest.raises(ValueError, match="pool must be"):
        gc.Tracker(make_model(), pool="all")
    tracker = gc.Tracker(make_model())
    assert (tracker.pool_mode, tracker.rank, tracker.world_size) == ("local", 0, 1)


def test_global_on_convolutions_with_float_losses(spawned):
    _, ref3, ranks, _ = spawned
    for r in ranks:
        assert_single_process(r["conv"], ref3["conv"])
    assert ref3["conv"][0]["dead_frac"] == pytest.approx(2 / 6)
