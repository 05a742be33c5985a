"""The papers' variance arguments, checked on networks built with gradcourse."""

import math

import numpy as np
import pytest
import torch

import gradcourse as gc


def preactivation_var(model: gc.MLP, x: torch.Tensor) -> np.ndarray:
    """Variance of each hidden layer's pre-activation (output of its Linear)."""
    out = []
    with torch.no_grad():
        for layer in model.hidden:
            z = layer.linear(x)  # (B, width)
            out.append(z.var().item())
            x = layer.act(layer.norm(z))
    return np.array(out)


def mean_log_var(init: str, seeds=range(4), depth=30, width=256) -> np.ndarray:
    logs = []
    for seed in seeds:
        model = gc.MLP(width, 10, depth=depth, width=width, activation="relu", init=init, seed=seed)
        x = torch.randn(512, width, generator=torch.Generator().manual_seed(100 + seed))
        logs.append(np.log2(preactivation_var(model, x)))
    return np.mean(logs, axis=0)  # average on a log scale: single networks are noisy


@pytest.mark.slow
def test_he_2015_eq10_keeps_variance_xavier_halves_it():
    # He et al. (2015) eq. 9: Var[y_L] = Var[y_1] prod_l (n_l Var[w_l] / 2).
    he = mean_log_var("he_normal")        # n Var(w) / 2 = 1  -> flat
    xavier = mean_log_var("xavier_normal")  # n Var(w) / 2 = 1/2 -> halves per layer
    layers = np.arange(1, 31)
    assert abs(he[-1] - he[0]) < 2  # same order: within a factor 4 after 29 layers
    slope_he = np.polyfit(layers, he, 1)[0]
    slope_xavier = np.polyfit(layers, xavier, 1)[0]
    assert abs(slope_he) < 0.05
    assert slope_xavier == pytest.approx(-1.0, abs=0.1)  # log2: a factor 2 per layer
    assert xavier[0] - xavier[-1] > 25  # 2**29 smaller at layer 30


@pytest.mark.slow
def test_glorot_2010_eq5_tanh_standard_init_shrinks_by_sqrt3():
    # Glorot & Bengio eq. 5: Var[z^{i+1}] = n_i Var[W^i] Var[z^i]; with U[-1/sqrt(n), 1/sqrt(n)]
    # n Var(W) = 1/3, so near tanh's linear regime the activation std shrinks by 1/sqrt(3).
    width, ratios = 512, []
    for seed in range(3):
        model = gc.MLP(width, 10, depth=12, width=width, activation="tanh", init="glorot_standard", seed=seed)
        x = torch.randn(1000, width, generator=torch.Generator().manual_seed(seed))
        stds = []
        with torch.no_grad():
            for layer in model.hidden:
                x = layer(x)
                stds.append(x.std().item())
        ratios.append(np.array(stds[5:]) / np.array(stds[4:-1]))  # past the first layers: linear regime
    assert np.mean(ratios) == pytest.approx(1 / math.sqrt(3), rel=0.03)


@pytest.mark.parametrize("scheme", ["zeros", "constant"])
def test_constant_init_units_stay_identical(scheme):
    # The symmetry problem (slide "Inicialización de pesos"): same weights in, same gradients out.
    kw = {"val": 0.05} if scheme == "constant" else {}
    model = gc.MLP(64, 10, depth=2, width=16, activation="tanh", init=scheme, init_kwargs=kw, seed=0)
    gc.train(model, gc.digits(), lr=0.1, steps=30, progress=False)
    assert model.head.bias.abs().sum() > 0  # it does train (biases, output layer)...
    for layer in model.hidden:
        w = layer.linear.weight  # (units, inputs)
        assert torch.allclose(w, w[:1].expand_as(w)), "units diverged"  # ...but every unit is the same
        assert torch.allclose(layer.linear.bias, layer.linear.bias[:1].expand_as(layer.linear.bias))
