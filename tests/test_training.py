import functools
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import gradcourse as gc
from gradcourse.training import Callback

DIGITS = gc.digits()


def small_model(**kw):
    return gc.MLP(64, 10, depth=2, width=64, seed=0, **kw)


@pytest.mark.slow
def test_healthy_model_learns_digits():
    hist = gc.train(small_model(), DIGITS, lr=0.1, epochs=3, progress=False)
    assert hist.stop_step is None and len(hist.loss) == 3 * (1347 // 64)
    assert hist.loss[-1] < 0.5 * hist.loss[0]
    assert hist.test_acc[-1] > 0.85  # chance is 0.1; 0.90-0.93 over the split's seeds 0-3
    assert hist.eval_step[-1] == hist.step[-1]


def test_same_seeds_same_history():
    a = gc.train(small_model(), DIGITS, steps=15, seed=1, progress=False)
    b = gc.train(small_model(), DIGITS, steps=15, seed=1, progress=False)
    c = gc.train(small_model(), DIGITS, steps=15, seed=2, progress=False)
    assert a.loss == b.loss and a.loss != c.loss


def test_nonfinite_loss_stops_cleanly():
    model = gc.MLP(64, 10, depth=3, width=64, init="normal", init_kwargs={"std": 5.0}, seed=0)
    hist = gc.train(model, DIGITS, lr=1.0, steps=50, progress=False)
    assert hist.diverged and hist.stop_reason in {"non-finite loss", "non-finite gradient norm"}
    assert hist.stop_step == len(hist.step) + 1
    values = hist.loss + hist.grad_norm + hist.train_acc + hist.test_acc
    assert all(math.isfinite(v) for v in values)
    assert "stopped at step" in repr(hist)


def test_clip_norm_clips_and_history_keeps_the_raw_norm():
    seen = []

    class AfterClip(Callback):
        def on_step_end(self, step, loss, model, optimizer):
            grads = [p.grad for p in model.parameters()]
            seen.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())

    model = gc.MLP(64, 10, depth=3, width=64, init="normal", init_kwargs={"std": 0.3}, seed=0)
    hist = gc.train(model, DIGITS, lr=0.01, steps=10, clip_norm=0.5, callbacks=[AfterClip()], progress=False)
    assert max(seen) <= 0.5 + 1e-4
    assert max(hist.grad_norm) > 0.5  # the raw (pre-clip) norm is what is recorded


def test_callback_order():
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, model, optimizer):
            calls.append("begin")

        def on_after_backward(self, step, model, optimizer):
            assert all(p.grad is not None for p in model.parameters())
            calls.append(f"backward{step}")

        def on_step_end(self, step, loss, model, optimizer):
            calls.append(f"end{step}")

        def on_train_end(self, history):
            calls.append("finish")

    gc.train(small_model(), DIGITS, steps=2, callbacks=[Recorder()], progress=False)
    assert calls == ["begin", "backward1", "end1", "backward2", "end2", "finish"]


def test_optimizers_and_tuple_data():
    X, y = DIGITS.X_train[:256], DIGITS.y_train[:256]
    for opt in ("sgd", "momentum", "adam", "SGD"):  # names are looked up in any case
        hist = gc.train(small_model(), (X, y), lr=0.01, optimizer=opt, steps=5, progress=False)
        assert len(hist.loss) == 5 and hist.test_acc == []


def test_progress_bar_only_when_asked(capsys):
    gc.train(small_model(), DIGITS, steps=3, progress=True)
    assert "train" in capsys.readouterr().err
    gc.train(small_model(), DIGITS, steps=3, progress=False)
    assert capsys.readouterr().err == ""


X, Y = DIGITS.X_train[:100], DIGITS.y_train[:100]


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [((X, Y), {"clip_norm": 0}, ValueError, "clip_norm must be a finite number > 0"),
     ((X, Y), {"clip_norm": -1.0}, ValueError, "clip_norm must be a finite number > 0"),
     ((X, Y), {"lr": 0}, ValueError, "lr must be a finite number > 0"),
     ((X, Y), {"batch_size": 0}, ValueError, "batch_size"),
     ((X, Y), {"steps": 3, "epochs": 1}, ValueError, "not both"),
     ((X, Y), {"steps": 0}, ValueError, "steps must be an int >= 1"),
     ((X, Y), {"optimizer": "adm"}, ValueError, "Did you mean 'adam'"),
     ((X.long(), Y), {}, TypeError, "floating-point"),
     ((X, Y.float()), {}, TypeError, "int64 class indices"),
     ((X, Y[:-1]), {}, ValueError, "100 rows but y has 99"),
     ((X, Y[:, None]), {}, ValueError, r"must be \(N, D\)"),
     ((X[:0], Y[:0]), {}, ValueError, "no examples"),
     ((torch.where(X > 2, torch.nan, X), Y), {}, ValueError, "NaN or Inf"),
     ((X.numpy(), Y), {}, TypeError, "torch tensors"),
     ("digits", {}, TypeError, "Dataset or a tuple")],
)
def test_bad_input(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        gc.train(small_model(), data, progress=False, **kwargs)


def test_bad_model():
    with pytest.raises(TypeError, match=r"nn\.Module"):
        gc.train(lambda x: x, DIGITS)


def test_import_changes_no_global_state():
    code = (
        "import torch, matplotlib as mpl, random\n"
        "torch.set_num_threads(2); torch.manual_seed(5); random.seed(5)\n"
        "rc = dict(mpl.rcParams); s = torch.random.get_rng_state(); r = random.getstate()\n"
        "import gradcourse\n"
        "assert torch.get_num_threads() == 2, 'threads changed'\n"
        "assert torch.equal(torch.random.get_rng_state(), s), 'torch RNG changed'\n"
        "assert random.getstate() == r, 'python RNG changed'\n"
        "assert dict(mpl.rcParams) == rc, 'rcParams changed'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_history_as_dict():
    hist = gc.train(small_model(), DIGITS, steps=2, progress=False)
    d = hist.as_dict()
    assert d["step"] == [1, 2] and d["stop_reason"] is None
    assert d["loss"] == hist.loss and len(d["grad_norm"]) == 2


class OptimizerSpy(Callback):
    def on_train_begin(self, model, optimizer):
        self.optimizer = optimizer


def run(data=(X, Y), model=None, **kw):
    spy = OptimizerSpy()
    hist = gc.train(model or small_model(), data, steps=kw.pop("steps", 4), callbacks=[spy], progress=False, **kw)
    return hist, spy.optimizer


@pytest.mark.parametrize(
    ("kwargs", "cls", "group"),
    [({}, torch.optim.SGD, {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0}),
     ({"optimizer": "momentum"}, torch.optim.SGD, {"momentum": 0.9}),
     ({"optimizer": "momentum", "momentum": 0.5}, torch.optim.SGD, {"momentum": 0.5}),
     ({"optimizer": "sgd", "momentum": 0.9}, torch.optim.SGD, {"momentum": 0.9}),
     ({"optimizer": "adam", "lr": 0.01}, torch.optim.Adam, {"lr": 0.01}),
     ({"optimizer": "sgd", "weight_decay": 0.1}, torch.optim.SGD, {"weight_decay": 0.1}),
     ({"optimizer": "adam", "weight_decay": 0.1}, torch.optim.Adam, {"weight_decay": 0.1}),
     ({"optimizer": torch.optim.AdamW, "lr": 0.003}, torch.optim.AdamW, {"lr": 0.003}),
     ({"optimizer": torch.optim.RMSprop, "momentum": 0.3}, torch.optim.RMSprop, {"momentum": 0.3}),
     ({"optimizer": functools.partial(torch.optim.SGD, lr=0.05, nesterov=True, momentum=0.8)},
      torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
     ({"lr": np.float32(0.25)}, torch.optim.SGD, {"lr": 0.25})],
)
def test_optimizer_is_built_as_asked(kwargs, cls, group):
    _, opt = run(**kwargs)
    assert type(opt) is cls
    assert {k: opt.param_groups[0][k] for k in group} == pytest.approx(group)


def test_optimizer_settings_change_the_run():
    base, _ = run(lr=0.05, steps=8)
    for kw in ({"optimizer": "momentum"}, {"momentum": 0.9}, {"optimizer": "adam"},
               {"weight_decay": 0.5}, {"optimizer": torch.optim.Adagrad}):
        other, _ = run(lr=0.05, steps=8, **kw)
        assert other.loss[1:] != base.loss[1:], kw
    same, _ = run(lr=0.05, steps=8, optimizer="sgd", momentum=0.9)
    assert same.loss == run(lr=0.05, steps=8, optimizer="momentum")[0].loss


def test_eval_every_is_honoured():
    hist, _ = run(steps=10, eval_every=3)
    assert hist.eval_step == [3, 6, 9, 10]
    hist, _ = run(steps=10)  # default: about 10 evaluations
    assert hist.eval_step == list(range(1, 11))


@pytest.mark.parametrize("mode", [True, False])
def test_model_mode_is_restored(mode):
    model = gc.MLP(64, 10, depth=2, width=16, batchnorm=True, seed=0).train(mode)
    run(model=model)
    assert model.training is mode
    gc.training.accuracy(model, X, Y)
    assert model.training is mode
    assert all(m.training is mode for m in model.modules())


def test_accuracy_counts_and_restores_mode():
    model = small_model()
    expected = (model.eval()(X).argmax(1) == Y).float().mean().item()
    model.train()
    assert gc.training.accuracy(model, X, Y, batch_size=7) == pytest.approx(expected)
    assert model.training


def test_data_follow_the_model_dtype_when_they_match():
    model = small_model().double()
    hist, _ = run(data=(X.double(), Y), model=model)
    assert len(hist.loss) == 4 and model.linears[0].weight.dtype == torch.float64


def test_regression_loss():
    Xr = torch.randn(128, 3, generator=torch.Generator().manual_seed(0))
    yr = Xr @ torch.tensor([[1.0], [-2.0], [0.5]])  # (N, 1)
    model = gc.MLP(3, 1, depth=1, width=16, activation="identity", seed=0)
    hist = gc.train(model, (Xr, yr), loss_fn=nn.MSELoss(), lr=0.05, steps=60, batch_size=32, progress=False)
    assert hist.loss[-1] < 0.1 * hist.loss[0]
    assert hist.train_acc == [] and hist.eval_step == []
    with pytest.raises(ValueError, match=r"reshape y \(e\.g\. y\[:, None\]\)"):
        gc.train(model, (Xr, yr[:, 0]), loss_fn=nn.MSELoss(), steps=1, progress=False)


def test_progress_env(monkeypatch, capsys):
    for off in ("0", "False", "false", "no", "OFF", ""):
        monkeypatch.setenv("GRADCOURSE_PROGRESS", off)
        gc.train(small_model(), (X, Y), steps=2)
        assert capsys.readouterr().err == "", off
    monkeypatch.setenv("GRADCOURSE_PROGRESS", "True")
    gc.train(small_model(), (X, Y), steps=2)
    assert "train" in capsys.readouterr().err
    monkeypatch.setenv("GRADCOURSE_PROGRESS", "maybe")
    with pytest.raises(ValueError, match="GRADCOURSE_PROGRESS must be"):
        gc.train(small_model(), (X, Y), steps=2)


def factory_without_optimizer(params):
    return list(params)


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [((X.double(), Y), {}, TypeError, r"X is torch.float64 but the model's parameters are torch.float32"),
     ((X, Y + 5), {}, ValueError, r"class indices in \[0, 10\).*found 1[0-4]"),
     ((X, torch.where(Y == 3, -100, Y)), {}, ValueError, "-100, cross-entropy's ignore_index"),
     ((X, Y, X[:5], Y[:5] - 10), {}, ValueError, "y_test must hold class indices"),
     ((X, Y), {"loss_fn": nn.CrossEntropyLoss(reduction="none")}, ValueError, "reduction='mean'"),
     ((X, Y), {"loss_fn": "mse"}, TypeError, "loss_fn must be callable"),
     ((X, Y.float()), {"loss_fn": nn.MSELoss()}, ValueError, "reshape y"),
     ((X, Y), {"seed": None}, TypeError, "seed must be an int"),
     ((X, Y), {"seed": -1}, ValueError, "seed must be an int >= 0"),
     ((X, Y), {"lr": "0.1"}, TypeError, "lr must be a real number"),
     ((X, Y), {"lr": math.inf}, ValueError, "lr must be a finite number"),
     ((X, Y), {"eval_every": -1}, ValueError, "eval_every must be an int >= 1"),
     ((X, Y), {"eval_every": 2.5}, TypeError, "eval_every must be an int"),
     ((X, Y), {"steps": 2.0}, TypeError, "steps must be an int"),
     ((X, Y), {"momentum": -0.1}, ValueError, "momentum must be"),
     ((X, Y), {"weight_decay": -1}, ValueError, "weight_decay must be"),
     ((X, Y), {"optimizer": "adam", "momentum": 0.9}, ValueError, "momentum has no effect with optimizer='adam'"),
     ((X, Y), {"optimizer": torch.optim.Adam, "momentum": 0.9}, TypeError, "Adam does not take"),
     ((X, Y), {"optimizer": functools.partial(torch.optim.SGD, lr=0.1), "lr": 0.2}, ValueError,
      "factory.*do not also pass lr"),
     ((X, Y), {"optimizer": factory_without_optimizer}, TypeError, "must return a torch.optim.Optimizer"),
     ((X, Y), {"optimizer": 3}, TypeError, "optimizer must be a name"),
     ((X, Y), {"progress": "yes"}, TypeError, "progress must be True, False or None")],
)
def test_bad_input_gets_a_clear_error(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        gc.train(small_model(), data, **{"steps": 1, "progress": False, **kwargs})


def test_frozen_model_is_refused():
    model = small_model().requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        gc.train(model, (X, Y), steps=1, progress=False)


def test_tracker_and_diagnose_check_their_arguments():
    with pytest.raises(ValueError, match="histograms must be"):
        gc.Tracker(small_model(), histograms=-3)
    with pytest.raises(ValueError, match="diagnose: no examples"):
        gc.diagnose(small_model(), X[:0], Y[:0])
    with pytest.raises(TypeError, match="diagnose: y must hold int64"):
        gc.diagnose(small_model(), X, Y.float())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_data_go_to_the_models_device():
    model = small_model().cuda()
    hist = gc.train(model, DIGITS, steps=5, progress=False)  # the data are on the CPU
    assert len(hist.loss) == 5 and 0 <= hist.test_acc[-1] <= 1
    assert gc.training.accuracy(model, X, Y) == gc.training.accuracy(model, X.cuda(), Y.cuda())
