"""Issue 21, outside the Tracker: right or loud on arguments, inputs and models people write.

Each test names what used to happen on main (195cece): a number computed from a bad
argument, or an error that did not say which argument was wrong or how to fix it.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import gradcourse as gc
from gradcourse import initializers as I
from gradcourse import theory


# -- case 10: arguments accepted silently -------------------------------------------------
def test_mlp_bias_init_nan_is_refused_naming_bias_init():
    with pytest.raises(ValueError, match="bias_init must be finite"):  # main: "bias must be"
        gc.MLP(4, 2, depth=1, width=3, bias_init=math.nan)
    model = gc.MLP(4, 2, depth=1, width=3)
    with pytest.raises(ValueError, match="bias_init"):
        model.reset_parameters(bias_init=math.inf)


@pytest.mark.parametrize("seed", [1.5, "1", -1, True])
def test_mlp_seed_must_be_an_int_as_train_requires(seed):
    with pytest.raises((TypeError, ValueError), match="seed must be an int >= 0"):
        gc.MLP(4, 2, depth=1, width=3, seed=seed)  # main: 1.5 ran as seed 1
    with pytest.raises((TypeError, ValueError), match="seed must be an int >= 0"):
        gc.MLP(4, 2, depth=1, width=3).reset_parameters(seed=seed)


def test_mlp_seed_accepts_numpy_ints():
    a = gc.MLP(4, 2, depth=1, width=3, seed=np.int64(3))
    b = gc.MLP(4, 2, depth=1, width=3, seed=3)
    assert torch.equal(a.linears[0].weight, b.linears[0].weight)


@pytest.mark.parametrize("flag", ["batchnorm", "residual"])
def test_mlp_flags_must_be_bools(flag):
    with pytest.raises(TypeError, match=f"{flag} must be True or False"):
        gc.MLP(4, 2, depth=2, width=4, **{flag: "False"})  # main: a truthy string switched it on


@pytest.mark.parametrize("widths", [[10.7, 10, 10], [10, 10.0, 10], [10, "10", 10]])
def test_forward_variance_refuses_fractional_widths(widths):
    with pytest.raises(TypeError, match="widths must hold ints"):  # main: 10.7 read as 10
        theory.forward_variance("he_normal", "relu", widths)
    with pytest.raises(TypeError, match="widths must hold ints"):
        theory.backward_variance("he_normal", "relu", widths)


def test_forward_variance_takes_int_arrays_and_tensors():
    ref = theory.forward_variance("xavier_normal", "tanh", [10, 20, 5])
    assert theory.forward_variance("xavier_normal", "tanh", np.array([10, 20, 5])) == ref
    assert theory.forward_variance("xavier_normal", "tanh", torch.tensor([10, 20, 5])) == ref
    with pytest.raises(TypeError, match="list of layer sizes"):
        theory.forward_variance("xavier_normal", "tanh", 10)


def test_over_seeds_refuses_a_none_result_instead_of_dropping_the_seed():
    runs = gc.over_seeds(lambda s: {"x": None if s == 1 else float(s)}, seeds=3)
    with pytest.raises(ValueError, match="'x' is None for seed 1"):  # main: median 1.0 of 2 seeds
        runs.median("x")
    nan_runs = gc.over_seeds(lambda s: {"x": math.nan if s == 1 else float(s)}, seeds=3)
    assert nan_runs.median("x") == 1.0  # NaN is the documented way to say "no value"


def test_over_seeds_refuses_fractional_and_repeated_seeds():
    with pytest.raises(TypeError, match="seeds must be ints"):  # main: 1.5 ran as seed 1
        gc.over_seeds(lambda s: {"x": s}, seeds=[1.5, 2])
    with pytest.raises(ValueError, match="seeds repeat"):  # main: one run counted twice
        gc.over_seeds(lambda s: {"x": s}, seeds=[0, 0, 1])


def test_he_gain_for_gelu_is_its_own_not_one():
    """torch's kaiming_normal_ raises for "gelu"; here it gets activations.gain("gelu")
    (1/sqrt(E[gelu(z)^2]) = 1.53), as documented, never the gain 1 of "linear"."""
    with pytest.raises(ValueError, match="gelu"):
        nn.init.kaiming_normal_(torch.empty(3, 3), nonlinearity="gelu")
    w = I.he_normal_(torch.empty(2000, 500), nonlinearity="gelu",
                     generator=torch.Generator().manual_seed(0))
    gain = gc.activations.gain("gelu")
    assert gain == pytest.approx(1.5335, abs=1e-4)
    assert w.std().item() * math.sqrt(500) == pytest.approx(gain, rel=0.01)
    assert I.weight_std("he_normal", 500, 2000, activation="gelu") * math.sqrt(500) == gain


# -- unclear errors made clear (outside the Tracker) ---------------------------------------
@pytest.mark.parametrize("call", [
    lambda: I.constant_(torch.empty(2, 2), "0"),
    lambda: I.normal_(torch.empty(2, 2), std="1"),
    lambda: I.weight_std("normal", 4, 4, std="2"),
    lambda: I.initialize_(nn.Linear(2, 2), "normal", std="0.5"),
])
def test_initializers_refuse_numbers_written_as_strings(call):
    with pytest.raises(TypeError, match="got the string"):  # main: float("0") read it as 0
        call()


def test_bools_are_not_numbers():
    with pytest.raises(TypeError, match="sigma_w2 must be a number"):  # main: True read as 1
        theory.chi1("tanh", True)
    with pytest.raises(TypeError, match="val must be a number"):
        I.constant_(torch.empty(2), torch.tensor(True))


def test_bias_init_string_names_bias_init_and_the_fix():
    with pytest.raises(ValueError, match=r"bias_init must be .*bias_init=0\.0"):  # main: "bias"
        gc.MLP(4, 2, depth=1, width=3, bias_init="0")
    assert gc.MLP(4, 2, depth=1, width=3, bias_init="pytorch", seed=0).head.bias.abs().max() > 0


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"input_var": -1}, "input_var"), ({"input_var": math.nan}, "input_var"),
    ({"input_var": math.inf}, "input_var"), ({"output_grad_var": -1}, "output_grad_var"),
])
def test_variances_are_checked_by_name(kwargs, name):
    # main: input_var=-1 reported as an internal "q must be >= 0"; NaN, inf and a
    # negative output_grad_var came back as numbers
    with pytest.raises(ValueError, match=name):
        theory.backward_variance("he_normal", "tanh", [10, 10, 10], **kwargs)
    if name == "input_var":
        with pytest.raises(ValueError, match=name):
            theory.forward_variance("he_normal", "tanh", [10, 10, 10], **kwargs)


def test_sigmas_are_checked_by_name():
    with pytest.raises(ValueError, match="sigma_b2 must be finite"):  # main: "got nan, inf"
        theory.critical_sigma_w2("tanh", math.inf)
    with pytest.raises(TypeError, match="sigma_w2 must be a number"):  # main: '>' not supported
        theory.chi1("tanh", "2")


def test_over_seeds_missing_key_says_which_seed():
    runs = gc.over_seeds(lambda s: {"x": 1.0, "y": 2.0} if s == 0 else {"x": 1.0}, seeds=3)
    with pytest.raises(KeyError, match=r"'y' is missing from the results of seed\(s\) \[1, 2\]"):
        runs["y"]  # main: a bare KeyError: 'y'
    assert runs.keys() == ["x", "y"]


def test_over_seeds_non_numeric_result_and_repr():
    runs = gc.over_seeds(lambda s: {"x": 1.0, "report": object()}, seeds=2)
    with pytest.raises(TypeError, match="'report' holds object, not numbers"):
        runs["report"]
    assert "report: object per seed" in repr(runs)  # main: repr itself raised


def test_every_submodule_is_reachable_after_import_and_plots_stays_lazy():
    code = ("import sys, gradcourse as gc\n"
            "mods = ['activations', 'data', 'diagnosis', 'experiments', 'initializers', 'models',"
            " 'theory', 'tracking', 'training']\n"
            "missing = [m for m in mods if not hasattr(gc, m)]\n"
            "assert not missing, missing\n"
            "assert 'matplotlib' not in sys.modules\n"
            "assert 'plots' in dir(gc)\n")
    subprocess.run([sys.executable, "-c", code], check=True)  # a fresh interpreter


# -- diagnose / layer_stats / train on inputs people pass -----------------------------------
def _token_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Embedding(10, 8), nn.Flatten(), nn.Linear(32, 16), nn.ReLU(),
                         nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


def _tokens(n=32):
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 10, (n, 4), generator=gen), torch.randint(0, 3, (n,), generator=gen)


def test_diagnose_takes_token_ids_as_layer_stats_does():
    model, (ids, y) = _token_model(), _tokens()
    report = gc.diagnose(model, ids, y, lang="en")  # main: "use X.float()", then nn.Embedding fails
    assert [r["layer"] for r in report.records] == [1, 2]
    assert report.records == gc.layer_stats(model, ids, y)
    hist = gc.train(model, (ids, y), steps=2, progress=False)  # train too
    assert len(hist.loss) == 2


def test_token_ids_beyond_the_embedding_are_named():
    model, (ids, y) = _token_model(), _tokens()
    bad = ids.clone()
    bad[7, 2] = 12  # not in the first example: seen before the pass, not inside it
    for call in (lambda: gc.diagnose(model, bad, y), lambda: gc.layer_stats(model, bad, y),
                 lambda: gc.train(model, (bad, y), steps=1, progress=False)):
        with pytest.raises(IndexError, match=r"token ids in \[0, 12\] .* 10 entries"):
            call()  # main: "index out of range in self"


def test_integer_X_for_a_model_without_embedding_says_use_float():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    X, y = torch.randint(0, 5, (16, 4)), torch.randint(0, 3, (16,))
    with pytest.raises(TypeError, match=r"integer X .*X\.float\(\)"):
        gc.diagnose(model, X, y)
    with pytest.raises(TypeError, match=r"floating-point input, .*x\.float\(\)"):
        gc.MLP(4, 3, depth=2, width=8)(X)  # main: torch's "mat1 and mat2 must have the same dtype"


def test_the_meta_device_is_named():
    model = gc.MLP(4, 3, depth=2, width=8).to("meta")
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    for call in (lambda: gc.diagnose(model, X, y), lambda: gc.layer_stats(model, X, y),
                 lambda: gc.train(model, (X, y), steps=1, progress=False)):
        with pytest.raises(ValueError, match=r"meta device .*to_empty"):  # main: RuntimeError
            call()
    with pytest.raises(ValueError, match="X is on the meta device"):
        gc.layer_stats(gc.MLP(4, 3, depth=2, width=8), X.to("meta"), y)


@pytest.mark.parametrize("fn", [gc.diagnose, gc.layer_stats])
def test_a_label_out_of_range_is_explained_as_train_does(fn):
    model = gc.MLP(4, 3, depth=2, width=8, seed=0)
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    y[9] = 5
    with pytest.raises(ValueError, match=r"y must hold class indices in \[0, 3\) .* found 5"):
        fn(model, X, y)  # main: torch's "IndexError: Target 5 is out of bounds"
    with pytest.raises(ValueError, match="found 7"):
        fn(model, X, torch.full((16,), 7), nn.NLLLoss())
    ignored = y.masked_fill(y == 5, -1)  # the loss's own ignore_index is allowed
    assert fn(model, X, ignored, nn.CrossEntropyLoss(ignore_index=-1))


@pytest.mark.parametrize("fn", [gc.diagnose, gc.layer_stats])
def test_reduction_none_is_named(fn):
    model = gc.MLP(4, 3, depth=2, width=8, seed=0)
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    with pytest.raises(ValueError, match=r"scalar tensor, got \(16,\).*reduction='mean'"):
        fn(model, X, y, nn.CrossEntropyLoss(reduction="none"))  # main: "grad can be implicitly..."


def test_numpy_X_in_layer_stats_is_named():
    model = gc.MLP(4, 3, depth=2, width=8, seed=0)
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    with pytest.raises(TypeError, match=r"layer_stats: X and y must be torch tensors.*as_tensor"):
        gc.layer_stats(model, X.numpy(), y)  # main: AttributeError 'numpy.ndarray' has no 'dim'


def test_targets_that_a_loss_would_broadcast_or_misread_are_refused():
    model = gc.MLP(4, 3, depth=2, width=8, seed=0)
    X = torch.randn(16, 4)
    with pytest.raises(ValueError, match="MSELoss would broadcast"):  # main: a number and a warning
        gc.layer_stats(model, X, torch.randn(16, 1), nn.MSELoss())

    class TinyLM(nn.Module):  # (B, T) token ids -> (B, T, V) logits
        def __init__(self):
            super().__init__()
            self.emb, self.fc, self.act = nn.Embedding(20, 16), nn.Linear(16, 32), nn.GELU()
            self.out = nn.Linear(32, 20)

        def forward(self, x):
            return self.out(self.act(self.fc(self.emb(x))))

    tokens, targets = torch.randint(0, 20, (8, 20)), torch.randint(0, 20, (8, 20))
    with pytest.raises(ValueError, match=r"takes \(B, C\) logits.*flatten"):
        gc.diagnose(TinyLM(), tokens, targets)  # T == V: main read T as the classes, silently
    with pytest.raises(ValueError, match=r"classes on dim 1.*flatten"):
        gc.diagnose(TinyLM(), tokens[:, :8], targets[:, :8], nn.CrossEntropyLoss())
    report = gc.diagnose(TinyLM(), tokens, targets,
                         lambda out, t: nn.functional.cross_entropy(out.flatten(0, 1), t.flatten()))
    assert len(report.records) == 1


def test_small_batch_warning_only_where_a_dead_verdict_is_possible():
    X, y = torch.randn(4, 8), torch.randint(0, 3, (4,))
    with pytest.warns(UserWarning, match="too small"):
        gc.diagnose(gc.MLP(8, 3, depth=2, width=8, seed=0), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # main: warned about ReLU units in a tanh network
        gc.diagnose(gc.MLP(8, 3, depth=2, width=8, activation="tanh", seed=0), X, y)


# -- found beyond the list -----------------------------------------------------------------
@pytest.mark.parametrize("fn", [gc.diagnose, gc.layer_stats])
def test_frozen_models_and_inference_mode_are_named(fn):
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    frozen = gc.MLP(4, 3, depth=2, width=8, seed=0).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):  # main: "element 0 of ..."
        fn(frozen, X, y)
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        fn(gc.MLP(4, 3, depth=2, width=8, seed=0), X, y)


def test_a_model_that_returns_a_tuple_is_named():
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    for call in (lambda: gc.diagnose(nn.LSTM(4, 3), X[:, None], y),
                 lambda: gc.train(nn.LSTM(4, 3), (X[:, None], y), steps=1, progress=False)):
        with pytest.raises(TypeError, match="must return a tensor of logits, got tuple"):
            call()  # main: AttributeError 'tuple' object has no attribute ...


def test_train_callbacks_one_alone_or_wrong_objects():
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    model = gc.MLP(4, 3, depth=2, width=8, seed=0)
    tracker = gc.Tracker(model)
    gc.train(model, (X, y), steps=2, callbacks=tracker, progress=False)  # main: not iterable
    assert len(tracker.history) == 2 * 2
    with pytest.raises(TypeError, match=r"callbacks must be Callback objects.*on_train_begin"):
        gc.train(model, (X, y), steps=1, callbacks=[print], progress=False)  # main: AttributeError


def test_numpy_integers_are_integers():
    assert gc.MLP(np.int64(4), 3, depth=np.int64(2), width=8).in_features == 4  # main: TypeError
    assert I.weight_std("he_normal", np.int64(4), 4) == I.weight_std("he_normal", 4, 4)
    assert I.weight_std("orthogonal", shape=(np.int64(4), 6)) == I.weight_std("orthogonal", shape=(4, 6))
    assert gc.digits(seed=np.int64(1)) == gc.digits(seed=1)
    assert len(gc.over_seeds(lambda s: {"x": s}, seeds=np.int64(3))) == 3


def test_over_seeds_says_which_seed_raised():
    if sys.version_info < (3, 11):
        pytest.skip("exception notes need Python 3.11")
    with pytest.raises(ZeroDivisionError) as info:
        gc.over_seeds(lambda s: {"x": 1 / (s - 1)}, seeds=3)
    assert "over_seeds: raised by the experiment with seed 1" in info.value.__notes__


def test_accuracy_needs_class_logits():
    model = nn.Sequential(nn.Linear(4, 1), nn.Flatten(0))
    with pytest.raises(ValueError, match=r"accuracy needs \(B, C\) logits"):  # main: IndexError
        gc.training.accuracy(model, torch.randn(8, 4), torch.zeros(8, dtype=torch.long))
