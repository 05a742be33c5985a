import math
import subprocess
import sys

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
    assert hist.test_acc[-1] > 0.9
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
    [((X, Y), {"clip_norm": 0}, ValueError, "clip_norm must be > 0"),
     ((X, Y), {"clip_norm": -1.0}, ValueError, "clip_norm must be > 0"),
     ((X, Y), {"lr": 0}, ValueError, "lr must be a positive"),
     ((X, Y), {"batch_size": 0}, ValueError, "batch_size"),
     ((X, Y), {"steps": 3, "epochs": 1}, ValueError, "not both"),
     ((X, Y), {"steps": 0}, ValueError, "steps and epochs"),
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
    assert isinstance(nn.Module, type)
