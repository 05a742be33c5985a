import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch import nn

from gradcourse import activations as A

# Points on both sides of every kink, the kink itself, and the saturated tails.
X = torch.cat([torch.linspace(-8, 8, 401, dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)])


def autograd_derivative(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(module(x).sum(), x)
    return grad


@pytest.mark.parametrize("name", A.available())
def test_derivative_matches_autograd(name):
    expected = autograd_derivative(A.get(name), X)
    torch.testing.assert_close(A.derivative(name, X), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("name", "kw"), [("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.5})])
def test_derivative_with_parameters_matches_autograd(name, kw):
    expected = autograd_derivative(A.get(name, **kw), X)
    torch.testing.assert_close(A.derivative(name, X, **kw), expected, rtol=1e-10, atol=1e-12)


def test_derivative_values_from_the_course():
    # sigmoid'(0) = 1/4 is the best case: ten layers multiply to 0.25**10.
    assert A.derivative("sigmoid", torch.tensor(0.0)).item() == pytest.approx(0.25)
    assert A.derivative("tanh", torch.tensor(0.0)).item() == pytest.approx(1.0)
    assert A.derivative("relu", torch.tensor([-1.0, 2.0])).tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    ("name", "torch_name", "param"),
    [("identity", "linear", None), ("sigmoid", "sigmoid", None), ("tanh", "tanh", None),
     ("relu", "relu", None), ("selu", "selu", None), ("leaky_relu", "leaky_relu", 0.01)],
)
def test_gain_equals_torch(name, torch_name, param):
    assert A.gain(name) == pytest.approx(nn.init.calculate_gain(torch_name, param))


def test_leaky_gain_uses_slope():
    assert A.gain("leaky_relu", negative_slope=0.2) == pytest.approx(math.sqrt(2 / (1 + 0.2**2)))


@pytest.mark.parametrize(("name", "kw"), [("elu", {}), ("elu", {"alpha": 0.5}), ("gelu", {})])
def test_gain_without_torch_definition_preserves_second_moment(name, kw):
    # The rule that gives sqrt(2) for ReLU: gain^2 * E[f(z)^2] = 1, with E[f(z)^2] computed
    # independently by adaptive quadrature on each side of the kink at 0.
    f = A.get(name, **kw)

    def integrand(z):
        return f(torch.tensor(z, dtype=torch.float64)).item() ** 2 * stats.norm.pdf(z)

    moment = integrate.quad(integrand, -np.inf, 0, epsabs=1e-14, epsrel=1e-13)[0]
    moment += integrate.quad(integrand, 0, np.inf, epsabs=1e-14, epsrel=1e-13)[0]
    assert A.gain(name, **kw) == pytest.approx(moment**-0.5, rel=1e-9)


def test_relu_second_moment_and_elu_by_sampling():
    assert A.second_moment("relu") == pytest.approx(0.5, rel=1e-6)
    z = torch.randn(2_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert (A.get("elu")(z) ** 2).mean().item() == pytest.approx(A.gain("elu") ** -2, rel=5e-3)


def test_get_builds_torch_modules_with_kwargs():
    m = A.get("leaky_relu", negative_slope=0.3)
    assert isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.3
    assert isinstance(A.get("ReLU"), nn.ReLU)  # case-insensitive
    assert set(A.available()) >= {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu"}


def test_unknown_activation_suggests_closest():
    with pytest.raises(ValueError, match=r"Did you mean 'leaky_relu'.*Available: elu"):
        A.get("leaky_rleu")
    with pytest.raises(ValueError, match="Unknown activation"):
        A.derivative("softsign2", torch.zeros(1))
    with pytest.raises(TypeError, match="must be a string"):
        A.get(3)
    with pytest.raises(TypeError, match="bad keyword"):
        A.get("relu", negative_slope=0.1)
