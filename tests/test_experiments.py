"""gc.over_seeds / gc.Seeds and the one-shot probe gc.layer_stats."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import gradcourse as gc


def test_over_seeds_collects_and_reduces():
    runs = gc.over_seeds(lambda s: {"x": float(s), "profile": [s, 2 * s, 10]}, seeds=[3, 1, 2, 7, 5])
    assert runs.seeds == [3, 1, 2, 7, 5]
    assert runs["x"].shape == (5,) and runs["profile"].shape == (5, 3)
    assert runs.median("x") == 3.0
    assert runs.range("x") == (1.0, 7.0)
    assert runs.quantile("x", 0.25) == 2.0
    np.testing.assert_array_equal(runs.median("profile"), [3.0, 6.0, 10.0])
    assert runs.fraction("x", lambda v: v > 2) == 0.6
    assert list(runs.to_frame().index) == [3, 1, 2, 7, 5]
    assert "median 3" in repr(runs) and "shape (3,)" in repr(runs)


def test_over_seeds_count_and_nan_aware_median():
    runs = gc.over_seeds(lambda s: {"v": math.nan if s == 0 else s}, seeds=4)
    assert runs.seeds == [0, 1, 2, 3]
    assert runs.median("v") == 2.0


@pytest.mark.parametrize(("seeds", "exc", "match"), [
    (0, ValueError, "empty"), ([], ValueError, "empty"), (True, TypeError, "seeds"), ("3", TypeError, "seeds"),
])
def test_over_seeds_rejects_bad_seeds(seeds, exc, match):
    with pytest.raises(exc, match=match):
        gc.over_seeds(lambda s: {"x": s}, seeds=seeds)


def test_over_seeds_errors_name_the_fix():
    with pytest.raises(TypeError, match="mapping"):
        gc.over_seeds(lambda s: s, seeds=2)
    runs = gc.over_seeds(lambda s: {"curve": list(range(s + 1))}, seeds=2)
    with pytest.raises(ValueError, match="different length"):
        runs["curve"]
    with pytest.raises(KeyError, match="curve"):
        runs["loss"]


def _bn_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))


def test_layer_stats_matches_a_hand_computed_pass_and_leaves_the_model_alone():
    model = _bn_model()
    X, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    model[0].weight.grad = torch.full_like(model[0].weight, 7.0)  # a user's pending gradient
    state = {k: v.clone() for k, v in model.state_dict().items()}

    records = gc.layer_stats(model, X, y)

    for k, v in model.state_dict().items():  # BatchNorm's running stats and counter too
        assert torch.equal(v, state[k]), k
    assert torch.equal(model[0].weight.grad, torch.full_like(model[0].weight, 7.0))
    assert model[3].weight.grad is None

    probe = _bn_model()
    probe.load_state_dict(state)
    out = {}
    probe[2].register_forward_hook(lambda m, i, o: out.setdefault("h", o))
    nn.functional.cross_entropy(probe(X), y).backward()
    first = records[0]
    assert first["act_std"] == pytest.approx(out["h"].std().item(), rel=1e-5)
    assert first["weight_grad_norm"] == pytest.approx(probe[0].weight.grad.norm().item(), rel=1e-5)


def test_layer_stats_on_an_mlp_gives_one_record_per_hidden_layer():
    data = gc.digits()
    model = gc.MLP(64, 10, depth=4, width=16, activation="relu", seed=0)
    records = gc.layer_stats(model, data.X_train[:200], data.y_train[:200])
    assert [r["layer"] for r in records][:4] == [1, 2, 3, 4]
    assert all(r["grad_std"] > 0 for r in records)


def test_layer_stats_leaves_the_random_state_alone():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    X, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    before = torch.get_rng_state()
    gc.layer_stats(model, X, y)  # Dropout draws from the global generator
    assert torch.equal(torch.get_rng_state(), before)
