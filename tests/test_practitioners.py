"""Issue 21: the Tracker on the models practitioners run, case by case.

Each test names its case; each fails on the code before the fix (195cece): a wrong
number, a wrong blame, a silent pairing error or a crash.
"""

from __future__ import annotations

import copy
import gc as pygc
import math
import warnings

import pytest
import torch
from _helpers import batch as _batch
from _helpers import hook_count as _hook_count
from torch import nn
from torch.utils.checkpoint import checkpoint

import gradcourse as gc
from gradcourse.tracking import Tracker


def _grads_of(model, linears, X, y):
    """dL/dz of each Linear/Conv in ``linears`` (its first call), by hand-written hooks."""
    zs = {}

    def keep(module, args, out):
        out.retain_grad()
        zs.setdefault(module, out)

    handles = [lin.register_forward_hook(keep) for lin in linears]
    model.zero_grad()
    nn.functional.cross_entropy(model(X), y).backward()
    for h in handles:
        h.remove()
    model.zero_grad()
    return [zs[lin].grad.double().std().item() for lin in linears]


def _tracked(model, X, y, **kw):
    model.zero_grad()
    with Tracker(model, **kw) as tr:
        nn.functional.cross_entropy(model(X), y).backward()
    return tr


# -- case 1: in-place ReLU -------------------------------------------------------------------
@pytest.mark.parametrize("build", ["sequential", "mlp"])
def test_case1_inplace_relu_measures_dl_dz(build):
    X, y = _batch(64, 16, 5)
    if build == "sequential":
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(inplace=True), nn.Linear(32, 32),
                              nn.ReLU(inplace=True), nn.Linear(32, 5))
        twin = copy.deepcopy(model)
        twin[1].inplace = twin[3].inplace = False
        linears = [twin[0], twin[2]]
    else:
        model = gc.MLP(16, 5, depth=3, width=32, seed=0, act_kwargs={"inplace": True})
        twin = gc.MLP(16, 5, depth=3, width=32, seed=0)
        linears = [h.linear for h in twin.hidden]
    expected = _grads_of(twin, linears, X, y)
    got = [r["grad_std"] for r in _tracked(model, X, y).summary()]
    assert got == pytest.approx(expected, rel=1e-6)
    for a, b in zip(_tracked(twin, X, y).summary(), _tracked(model, X, y).summary(), strict=True):
        assert a.keys() == b.keys()
        for key, value in a.items():
            assert b[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float)
                              else value), key


# -- case 2: torch.compile --------------------------------------------------------------------
def _tanh_net(scale=1.0):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 4))
    with torch.no_grad():
        model[0].weight.mul_(scale)
        model[2].weight.mul_(scale)
    return model


@pytest.mark.parametrize("where", ["wrapper", "inner"])
def test_case2_compiled_model_gives_the_eager_numbers(where):
    torch._dynamo.reset()
    X, y = _batch(64, 16, 4)
    eager = _tracked(_tanh_net(), X, y).summary()
    model = _tanh_net()
    compiled = torch.compile(model, backend="aot_eager")
    tr = Tracker(compiled if where == "wrapper" else model)
    with tr:
        nn.functional.cross_entropy(compiled(X), y).backward()
    assert [layer.name for layer in tr.layers] == ["0", "2"]
    for got, exp in zip(tr.summary(), eager, strict=True):
        for key in ("act_mean", "act_std", "saturated_frac", "grad_std", "weight_grad_norm"):
            assert got[key] == pytest.approx(exp[key], rel=1e-6, abs=1e-12), key
        assert got["act_std"] > 0.1


def test_case2_compiled_saturated_net_and_nan_input():
    torch._dynamo.reset()
    X, y = _batch(64, 16, 4)
    compiled = torch.compile(_tanh_net(scale=30.0), backend="aot_eager")
    report = gc.diagnose(compiled, X, y, lang="en")
    assert "saturated" in report.kinds() and not report.healthy
    X[3, 5] = math.nan
    with Tracker(compiled) as tr:
        nn.functional.cross_entropy(compiled(X), y).backward()
    nf = tr.nonfinite
    assert (nf.phase, nf.layer, nf.source) == ("forward", 1, "input"), nf


def test_case2_hooks_added_after_compiling_are_said_not_silent():
    torch._dynamo.reset()
    X, y = _batch(64, 16, 4)
    model = _tanh_net()
    compiled = torch.compile(model, backend="aot_eager")
    compiled(X)  # compiled without hooks: later hooks are not seen by the compiled code
    with pytest.warns(UserWarning, match="no recorded forward pass"), Tracker(model) as tr:
        nn.functional.cross_entropy(compiled(X), y).backward()
        tr.step()
    assert all(r["act_std"] is None and r["grad_std"] is None for r in tr.summary())


# -- case 3: a NaN loss in your own loop -----------------------------------------------------
def test_case3_nan_loss_backpropagated_is_blamed_on_the_loss():
    model = gc.MLP(32, 5, depth=3, width=24, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    X, y = _batch()
    with Tracker(model) as tr:
        loss = nn.functional.cross_entropy(model(X), y) * math.nan
        loss.backward()  # every gradient is NaN now
        opt.step()  # and so is every weight
        tr.step(loss)
    nf = tr.nonfinite
    assert (nf.phase, nf.layer, nf.source) == ("loss", None, "loss"), nf
    assert "loss" in str(nf)


def test_case3_overflowing_logits_are_blamed_on_the_head():
    model = gc.MLP(32, 5, depth=3, width=24, activation="tanh", seed=0)
    with torch.no_grad():
        model.head.weight.fill_(3e38)  # finite, but the logits overflow to Inf
    X, y = _batch()
    with Tracker(model) as tr:
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        tr.step(loss)
    nf = tr.nonfinite
    assert (nf.phase, nf.layer, nf.source, nf.name) == ("forward", None, "output", "head"), nf


# -- case 4: what a unit is -------------------------------------------------------------------
def test_case4_a_conv_unit_is_a_channel():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 12 * 12, 3))
    with torch.no_grad():
        model[0].weight.abs_()
        model[0].bias.fill_(-0.05)  # zero background: off there, on the strokes
    X = torch.zeros(16, 1, 12, 12)
    X[:, :, 4:8, 4:8] = torch.rand(16, 1, 4, 4) + 0.5
    y = torch.randint(0, 3, (16,))
    tr = _tracked(model, X, y)
    a = model[1](model[0](X)).detach()
    assert (a.amax(dim=(0, 2, 3)) > 0).all()  # every filter fires somewhere
    assert tr.summary()[0]["dead_frac"] == 0.0
    assert tr.examples == 16 * 12 * 12
    report = gc.diagnose(model, X, y, lang="en")
    # one tracked layer: only the first-to-last gradient ratio is left unjudged
    assert report.kinds() == ["unmeasured"], str(report)
    assert report.verdicts[0].measure == "grad_std[1] / grad_std[L]"


def test_case4_a_sequence_unit_is_a_channel_and_examples_count_positions():
    torch.manual_seed(0)
    lin = nn.Linear(8, 16)
    model = nn.Sequential(lin, nn.ReLU(), nn.Flatten(), nn.Linear(5 * 16, 3))
    with torch.no_grad():
        lin.bias[:4] = -50.0  # 4 of 16 channels never fire
    X, y = torch.randn(4, 5, 8), torch.randint(0, 3, (4,))  # (B, T, C), batch 4
    tr = _tracked(model, X, y)
    assert tr.summary()[0]["dead_frac"] == pytest.approx(4 / 16)
    assert tr.examples == 4 * 5
    report = gc.diagnosis.Report.from_tracker(tr, lang="en")
    # 25 % dead is below the threshold, and it was judged (one layer: no ratio to judge)
    assert [v.measure for v in report.verdicts] == ["grad_std[1] / grad_std[L]"]
    with torch.no_grad():
        lin.bias[:12] = -50.0
    report = gc.diagnosis.Report.from_tracker(_tracked(model, X, y), lang="en")
    assert "dead" in report.kinds()  # batch 4, but 20 positions per unit: judged


# -- case 5: RNNs --------------------------------------------------------------------------
class RNNNet(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(8, 16, batch_first=True)
        self.fc, self.act, self.head = nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(self.act(self.fc(out[:, -1])))


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
def test_case5_recurrent_module_is_said_untracked(cell):
    torch.manual_seed(0)
    model = RNNNet(cell)
    X, y = torch.randn(8, 20, 8), torch.randint(0, 3, (8,))
    with pytest.warns(UserWarning, match="recurrent module"):
        tr = _tracked(model, X, y)
    assert [layer.name for layer in tr.layers] == ["fc"]
    assert tr.untracked == {"rnn": f"recurrent module (nn.{cell.__name__}): not tracked",
                            "head": "no activation after it"}


# -- case 6: checkpoint(use_reentrant=True) -----------------------------------------------------
class Checkpointed(nn.Module):
    def __init__(self, reentrant, use=True):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(16, 16), nn.Sigmoid())
                                    for _ in range(4))
        self.head, self.reentrant, self.use = nn.Linear(16, 3), reentrant, use

    def forward(self, x):
        for block in self.blocks:
            x = checkpoint(block, x, use_reentrant=self.reentrant) if self.use else block(x)
        return self.head(x)


@pytest.mark.parametrize("reentrant", [True, False])
def test_case6_checkpointed_layers_have_their_gradient(reentrant):
    torch.manual_seed(0)
    model = Checkpointed(reentrant)
    twin = copy.deepcopy(model)
    twin.use = False
    X, y = torch.randn(32, 16, requires_grad=reentrant), torch.randint(0, 3, (32,))
    expected = _tracked(twin, X, y).summary()
    got = _tracked(model, X, y).summary()
    assert [r["grad_std"] for r in got] == pytest.approx([r["grad_std"] for r in expected],
                                                         rel=1e-9)
    assert [r["act_std"] for r in got] == pytest.approx([r["act_std"] for r in expected],
                                                        rel=1e-9)
    report = gc.diagnose(model, X.detach().requires_grad_(reentrant), y, lang="en")
    assert report.records[0]["grad_std"] is not None


# -- case 7: resnet18's downsample blocks ---------------------------------------------------
class BasicBlock(nn.Module):
    """torchvision's BasicBlock (stride 2, with a downsample branch)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False),
                                        nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x)
        out += identity
        return self.relu(out)


def test_case7_downsample_block_pairs_by_the_data_path():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), BasicBlock(8, 16),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 3))
    X, y = torch.randn(4, 3, 16, 16), torch.randint(0, 3, (4,))
    tr = _tracked(model, X, y)
    assert [layer.name for layer in tr.layers] == ["0", "2.conv1", "2.conv2"]
    assert tr.untracked == {"2.downsample.0": "no activation after it",
                            "5": "no activation after it"}
    twin = copy.deepcopy(model)
    twin[2].relu.inplace = False
    expected = _grads_of(twin, [twin[0], twin[2].conv1, twin[2].conv2], X, y)
    assert [r["grad_std"] for r in tr.summary()] == pytest.approx(expected, rel=1e-6)


# -- case 8: activation subclasses and your own kind -----------------------------------------
class MyReLU(nn.ReLU):
    pass


class NewGELU(nn.Module):  # Hugging Face / nanoGPT style
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def test_case8_activation_subclass_and_registered_kind():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), MyReLU(), nn.Linear(32, 32), NewGELU(),
                          nn.Linear(32, 3))
    X, y = _batch(64, 16, 3)
    with pytest.warns(UserWarning, match=r"'3' \(NewGELU\).*register_kind"):
        tr = _tracked(model, X, y)
    assert [(layer.name, layer.kind) for layer in tr.layers] == [("0", "relu")]
    with pytest.raises(ValueError, match=r"register_kind\(NewGELU"):
        Tracker(nn.Sequential(nn.Linear(4, 4), NewGELU(), nn.Linear(4, 2)))
    gc.activations.register_kind(NewGELU, "relu_like")
    try:
        tr = _tracked(model, X, y)
        assert [(layer.name, layer.kind) for layer in tr.layers] == [("0", "relu"),
                                                                     ("2", "relu_like")]
        assert tr.summary()[1]["dead_frac"] is not None
    finally:
        del gc.activations.KINDS[NewGELU]


# -- case 9: lifecycle ---------------------------------------------------------------------
def test_case9_a_dropped_tracker_removes_its_hooks():
    model = gc.MLP(16, 3, depth=4, width=8, seed=0)
    tr = Tracker(model).attach()
    assert _hook_count(model) > 0
    del tr  # a re-run notebook cell drops the old tracker
    pygc.collect()
    assert _hook_count(model) == 0
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    tr = Tracker(model, optimizer=opt).attach()
    del tr
    pygc.collect()
    assert _hook_count(model) == 0 and not opt._optimizer_step_pre_hooks


def test_case9_a_second_attached_tracker_warns():
    model = gc.MLP(16, 3, depth=2, width=8, seed=0)
    first = Tracker(model).attach()
    with pytest.warns(UserWarning, match="already has an attached Tracker"):
        second = Tracker(model).attach()
    first.remove()
    second.remove()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Tracker(model).attach().remove()


def test_case9_nested_with_keeps_recording():
    model = gc.MLP(32, 5, depth=2, width=16, seed=0)
    X, y = _batch()
    tr = Tracker(model)
    with tr:
        with tr:
            nn.functional.cross_entropy(model(X), y).backward()
            tr.step()
        assert tr.attached
        nn.functional.cross_entropy(model(X), y).backward()
        tr.step()
    assert not tr.attached
    assert [r["step"] for r in tr.history] == [1, 1, 2, 2]
    assert all(r["grad_std"] is not None and r["act_std"] is not None for r in tr.history)


def test_case9_torch_func_grad_works_and_is_said():
    from torch.func import functional_call, grad

    model = gc.MLP(32, 5, depth=2, width=16, seed=0)
    X, y = _batch()
    params = dict(model.named_parameters())

    def loss(p):
        return nn.functional.cross_entropy(functional_call(model, p, (X,)), y)

    expected = grad(loss)(params)
    with pytest.warns(UserWarning, match="torch.func"), Tracker(model) as tr:
        got = grad(loss)(params)
        tr.step()
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    assert all(r["act_std"] is None for r in tr.summary())


# -- unclear errors made clear -----------------------------------------------------------------
def test_step_before_attach_optimizer_string_and_meta_device():
    model = gc.MLP(8, 2, depth=2, width=4, seed=0)
    with pytest.raises(RuntimeError, match=r"not attached.*attach"):
        Tracker(model).step()
    with pytest.raises(RuntimeError, match="not attached"):
        Tracker(model).before_step()
    with pytest.raises(TypeError, match=r"torch.optim.Optimizer.*'sgd'"):
        Tracker(model, optimizer="sgd")
    with torch.device("meta"):
        meta = gc.MLP(8, 2, depth=2, width=4)
    with pytest.raises(ValueError, match=r"meta device.*to_empty"):
        Tracker(meta)
