"""The Tracker on models people write, against hand-written hooks on the same passes.

Each model lists the Linear/Conv modules the Tracker should pair, in depth order. The
reference hooks keep every Linear/Conv output (with its gradient) and every activation
output in call order; the k-th activation call belongs to the k-th expected layer.
"""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

import gradcourse as gc
from gradcourse.activations import SATURATION, is_activation, kind
from gradcourse.tracking import Tracker


class Residual(nn.Module):
    """A residual block with one ReLU module shared by three calls (torchvision style)."""

    def __init__(self, d=16, width=32, classes=4):
        super().__init__()
        self.inp, self.fc1, self.fc2 = nn.Linear(d, width), nn.Linear(width, width), nn.Linear(width, width)
        self.bn, self.head, self.relu = nn.BatchNorm1d(width), nn.Linear(width, classes), nn.ReLU()

    def forward(self, x):
        x = self.relu(self.inp(x))
        h = self.relu(self.bn(self.fc1(x)))
        return self.head(self.relu(self.fc2(h) + x))


class Tied(nn.Module):
    """An encoder/decoder pair sharing one weight, and one Linear applied twice."""

    def __init__(self, d=16, classes=4):
        super().__init__()
        self.enc, self.dec, self.fc = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.dec.weight = self.enc.weight
        self.act1, self.act2, self.act3, self.act4 = nn.Tanh(), nn.Tanh(), nn.Tanh(), nn.Tanh()
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        x = self.act2(self.dec(self.act1(self.enc(x))))
        x = self.act4(self.fc(self.act3(self.fc(x))))
        return self.head(x)


class SharedReLU(nn.Module):
    def __init__(self, d=16, classes=4):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(d, 32), nn.Linear(32, 24), nn.Linear(24, classes)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(x)))))


class MyReLU(nn.ReLU):
    """A subclass, as people write to add a print or a name."""


class RNNHead(nn.Module):
    """An LSTM whose last output goes through Linear -> Tanh -> head: only that is tracked."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc, self.act, self.head = nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(self.act(self.fc(out[:, -1])))


class Checkpointed(nn.Module):
    """Linear -> Sigmoid blocks under ``checkpoint(use_reentrant=True)`` (``use=False``: plain)."""

    def __init__(self, use=True):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(16, 16), nn.Sigmoid())
                                    for _ in range(3))
        self.head, self.use = nn.Linear(16, 4), use

    def forward(self, x):
        for block in self.blocks:
            x = checkpoint(block, x, use_reentrant=True) if self.use else block(x)
        return self.head(x)


class Downsample(nn.Module):
    """torchvision's BasicBlock with its stride-2 downsample branch and in-place ReLU."""

    def __init__(self, cin=4, cout=8):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False),
                                        nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += self.downsample(x)
        return self.relu(out)


class TokenMLP(nn.Module):
    """(B, T) token ids or (B, T, C) inputs -> Linear -> activation -> Linear, pooled over T."""

    def __init__(self, act, embed=False):
        super().__init__()
        self.emb = nn.Embedding(20, 16) if embed else None
        self.fc, self.act, self.proj = nn.Linear(16, 32), act, nn.Linear(32, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        h = self.emb(x) if self.emb is not None else x  # (B, T, C)
        return self.head((h + self.proj(self.act(self.fc(h)))).mean(1))


def _twin(model, **changes):
    """A copy of ``model`` with attributes of its submodules changed (``inplace``, ``use``)."""
    twin = copy.deepcopy(model)
    for module in twin.modules():
        for attr, value in changes.items():
            if hasattr(module, attr) and not isinstance(getattr(module, attr), nn.Module):
                setattr(module, attr, value)
    return twin


def _zoo(name):
    """``(model, X, y, expected Linear/Conv per layer, passes, tolerance[, twin])``.

    A twin is an eager, copy-free version of the model with the same weights, on which
    the hand-written hooks run (an in-place ReLU or a compiled graph hides dL/dz from them).
    """
    torch.manual_seed(0)
    X, y = torch.randn(32, 16), torch.randint(0, 4, (32,))
    if name == "sequential_norms":
        m = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(32, 32), nn.LayerNorm(32), nn.Tanh(), nn.Dropout(0.3),
                          nn.Linear(32, 4))
        return m, X, y, [m[0], m[4]], 1, 1e-5
    if name == "cnn":
        m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
        return m, torch.randn(16, 1, 8, 8), y[:16], [m[0], m[4]], 1, 1e-5
    if name == "residual":
        m = Residual()
        return m, X, y, [m.inp, m.fc1, m.fc2], 1, 1e-5
    if name == "transformer":
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation=nn.GELU(),
                                           batch_first=True)
        enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        m = nn.Sequential(enc, nn.Flatten(), nn.Linear(5 * 16, 4))
        return (m, torch.randn(8, 5, 16), y[:8], [enc.layers[0].linear1, enc.layers[1].linear1],
                1, 1e-4)
    if name == "tied":
        m = Tied()
        return m, X, y, [m.enc, m.dec, m.fc, m.fc], 1, 1e-5
    if name == "shared_activation":
        m = SharedReLU()
        return m, X, y, [m.fc1, m.fc2], 1, 1e-5
    if name == "float64":
        m = gc.MLP(16, 4, depth=3, width=24, activation="tanh", seed=0).double()
        return m, X.double(), y, [h.linear for h in m.hidden], 1, 1e-9
    if name == "bfloat16":
        m = gc.MLP(16, 4, depth=3, width=24, activation="relu", seed=0).to(torch.bfloat16)
        return m, X.to(torch.bfloat16), y, [h.linear for h in m.hidden], 1, 1e-5
    if name == "micro_batches":
        m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.Sigmoid(),
                          nn.Linear(32, 4))
        return m, X, y, [m[0], m[2]], 2, 1e-5
    if name == "compiled":
        torch._dynamo.reset()
        m = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 4))
        twin = _twin(m)
        return m, X, y, [m[0], m[2]], 1, 1e-6, (torch.compile(m, backend="aot_eager"), twin)
    if name == "inplace_relu":
        m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(inplace=True), nn.Linear(32, 32),
                          nn.ReLU(inplace=True), nn.Linear(32, 4))
        return m, X, y, [m[0], m[2]], 1, 1e-6, (m, _twin(m, inplace=False))
    if name == "lstm":
        m = RNNHead()
        return m, torch.randn(8, 12, 8), y[:8], [m.fc], 1, 1e-5
    if name == "checkpoint_reentrant":
        m = Checkpointed()
        return (m, X.requires_grad_(), y, list(b[0] for b in m.blocks), 1, 1e-9,
                (m, _twin(m, use=False)))
    if name == "resnet_downsample":
        m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(inplace=True), Downsample(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
        return (m, torch.randn(8, 1, 8, 8), y[:8], [m[0], m[2].conv1, m[2].conv2], 1, 1e-5,
                (m, _twin(m, inplace=False)))
    if name == "btc_gelu":
        m = TokenMLP(nn.GELU())
        return m, torch.randn(8, 5, 16), y[:8], [m.fc], 1, 1e-5
    if name == "embedding":
        m = TokenMLP(nn.ReLU(), embed=True)
        return m, torch.randint(0, 20, (8, 5)), y[:8], [m.fc], 1, 1e-5
    if name == "relu_subclass":
        m = nn.Sequential(nn.Linear(16, 32), MyReLU(), nn.Linear(32, 32), MyReLU(),
                          nn.Linear(32, 4))
        return m, X, y, [m[0], m[2]], 1, 1e-5
    raise KeyError(name)


ZOO = ["sequential_norms", "cnn", "residual", "transformer", "tied", "shared_activation",
       "float64", "bfloat16", "micro_batches", "compiled", "inplace_relu", "lstm",
       "checkpoint_reentrant", "resnet_downsample", "btc_gelu", "embedding", "relu_subclass"]


def _expected(zs, acts, expected, kinds):
    """Per layer: the statistics from the hand-kept tensors (float64)."""
    out, seen = [], {}
    for k, lin in enumerate(expected):
        j = seen[lin] = seen.get(lin, -1) + 1  # a Linear applied twice: its j-th call
        calls = zs[lin][j :: expected.count(lin)]
        z = torch.cat([t.detach().reshape(-1) for t in calls]).double()
        g = torch.cat([t.grad.reshape(-1) for t in calls]).double()
        a_calls = acts[k::len(expected)]
        a = torch.cat([t.reshape(-1) for t in a_calls]).double()
        rec = {"act_mean": a.mean().item(), "act_std": a.std().item(), "grad_std": g.std().item(),
               "weight_grad_norm": lin.weight.grad.double().norm().item()}
        if kinds[k] == "tanh":
            rec["saturated_frac"] = (a.abs() > SATURATION).double().mean().item()
        if kinds[k] == "sigmoid":
            rec["saturated_frac"] = ((a - 0.5).abs() > SATURATION / 2).double().mean().item()
        if kinds[k] in ("relu", "relu_like"):  # a unit is a channel: dim 1 of a conv, else last
            ch = 1 if isinstance(lin, nn.modules.conv._ConvNd) else -1
            peak = torch.stack([t.movedim(ch, 0).reshape(t.shape[ch], -1).amax(1)
                                for t in a_calls]).amax(0)
            rec["dead_frac"] = (peak <= 0).double().mean().item()
        assert z.numel() == a.numel()
        out.append(rec)
    return out


def _reference(model, X, y, expected, passes, track=None):
    """Hand-written hooks over ``passes`` micro-batches (``track``: a Tracker run alongside)."""
    zs: dict[nn.Module, list] = {lin: [] for lin in expected}
    acts: list[torch.Tensor] = []
    kinds: list[str] = []

    def keep_z(module, args, out):
        out.retain_grad()
        zs[module].append(out)

    def keep_a(module, args, out):
        acts.append(out.detach())
        kinds.append(kind(module))

    handles = [lin.register_forward_hook(keep_z) for lin in set(expected)]
    handles += [m.register_forward_hook(keep_a) for m in model.modules() if is_activation(m)]
    with track or Tracker(model, update_ratio=False) as tr:
        for xb, yb in zip(X.chunk(passes), y.chunk(passes), strict=True):
            nn.functional.cross_entropy(model(xb), yb).backward()
        tr.step()
    for h in handles:
        h.remove()
    return _expected(zs, acts, expected, kinds[: len(expected)]), tr


@pytest.mark.parametrize("name", ZOO)
def test_zoo_matches_hand_written_hooks(name):
    model, X, y, expected, passes, rel, *twin = _zoo(name)
    model.train()
    if twin:  # the tracker on the model as given, the hand-written hooks on its eager twin
        tracked, eager = twin[0]
        twin_expected = [dict(eager.named_modules())[n] for n in
                         [dict((m, k) for k, m in model.named_modules())[lin] for lin in expected]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dynamo's own warnings
            with Tracker(tracked) as tr:
                for xb, yb in zip(X.chunk(passes), y.chunk(passes), strict=True):
                    nn.functional.cross_entropy(tracked(xb), yb).backward()
        reference, _ = _reference(eager, X.detach().requires_grad_(X.requires_grad), y,
                                  twin_expected, passes)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the LSTM is said untracked
            reference, tr = _reference(model, X, y, expected, passes, Tracker(model))
    assert [layer.linear for layer in tr.layers] == expected
    records = tr.summary()
    assert tr.nonfinite is None
    for rec, exp in zip(records, reference, strict=True):
        for key, value in exp.items():
            assert rec[key] == pytest.approx(value, rel=rel, abs=1e-12), (name, rec["layer"], key)
            assert not (isinstance(value, float) and math.isnan(value))


def test_functional_activations_are_refused_by_name():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 4), nn.Linear(4, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    with pytest.raises(ValueError, match="functional activations"):
        Tracker(Functional())
