"""Activation functions: a registry of torch modules, their derivatives and gains.

Every activation is one of torch's own ``nn`` modules, so what the course plots
is exactly what trains. :func:`derivative` gives the closed form of :math:`f'(x)`, which
the tests check against autograd, and :func:`gain` the factor that keeps the
second moment of the signal through ``f`` (the ``gain`` of ``torch.nn.init``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from ._registry import canonical, lookup

__all__ = ["KINDS", "SATURATION", "available", "derivative", "gain", "gaussian_mean", "get",
           "is_activation", "kind", "register_kind", "second_moment"]

_MODULES: dict[str, Callable[..., nn.Module]] = {
    "identity": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "selu": nn.SELU,
}

#: Activation class -> kind, for every module the Tracker recognises (a superset of
#: :func:`available`; subclasses inherit their base's kind, and :func:`register_kind` adds
#: your own). ``"tanh"``/``"sigmoid"`` are bounded (saturation is measured);
#: ``"relu"`` has a zero gradient when inactive (a unit can die); ``"relu_like"`` is
#: inactive but not dead on the negative side; ``"other"``: neither.
KINDS: dict[type[nn.Module], str] = {
    nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.ReLU: "relu", nn.ReLU6: "relu",
    nn.LeakyReLU: "relu_like", nn.PReLU: "relu_like", nn.ELU: "relu_like",
    nn.SELU: "relu_like", nn.CELU: "relu_like", nn.GELU: "relu_like", nn.SiLU: "relu_like",
    nn.Mish: "relu_like", nn.Softplus: "other", nn.Softsign: "other", nn.Hardtanh: "other",
}

#: Saturation threshold, the one the Tracker and the plots share: a tanh unit is
#: saturated when :math:`|a| > 0.97`, where :math:`\tanh'(z) = 1 - a^2 < 0.059`, below
#: 6 % of its maximum (Karpathy's *makemore*); a sigmoid unit when
#: :math:`|a - 1/2| > 0.97/2`, the same region since :math:`\sigma(z) = (1 + \tanh(z/2))/2`.
#: In pre-activation terms: :math:`|z| > \operatorname{atanh}(0.97)` for tanh and twice
#: that for sigmoid.
SATURATION = 0.97


_KIND_NAMES = ("tanh", "sigmoid", "relu", "relu_like", "other")


def _registered(cls: type) -> str | None:
    """The kind of ``cls`` or of its nearest registered base class (``MyReLU(nn.ReLU)``)."""
    for base in cls.__mro__:
        if base in KINDS:
            return KINDS[base]
    return None


def is_activation(module: nn.Module) -> bool:
    """Whether the Tracker pairs ``module`` as an activation (its class or a base is in
    :data:`KINDS`)."""
    return _registered(type(module)) is not None


def kind(module: nn.Module) -> str:
    """``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"relu_like"``, ``"identity"`` or ``"other"``."""
    if isinstance(module, nn.Identity):
        return "identity"
    return _registered(type(module)) or "other"


def register_kind(cls: type[nn.Module], kind: str) -> None:
    """Make the Tracker pair modules of class ``cls`` (and its subclasses) as activations.

    For an activation module torch does not ship, e.g. Hugging Face's ``NewGELU``.

    Args:
        cls: An ``nn.Module`` subclass.
        kind: ``"tanh"`` or ``"sigmoid"`` (bounded: saturation is measured there, with the
            thresholds of :data:`SATURATION`, so only for functions with those tails),
            ``"relu"`` (zero gradient when off: ``dead_frac``), ``"relu_like"`` (off on the
            negative side but not dead: ``dead_frac`` is measured, no "dead" verdict) or
            ``"other"``.

    Raises:
        TypeError: If ``cls`` is not an ``nn.Module`` subclass.
        ValueError: If ``kind`` is not one of the names above.

    Example:
        >>> class NewGELU(nn.Module):
        ...     def forward(self, x):
        ...         return 0.5 * x * (1 + torch.tanh(0.7978845608 * (x + 0.044715 * x**3)))
        >>> register_kind(NewGELU, "relu_like")
        >>> kind(NewGELU())
        'relu_like'
    """
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise TypeError(f"register_kind needs an nn.Module subclass, got {cls!r}")
    if kind not in _KIND_NAMES:
        raise ValueError(f"kind must be one of {', '.join(map(repr, _KIND_NAMES))}, got {kind!r}")
    KINDS[cls] = kind


# torch.nn.SELU's fixed constants (Klambauer et al. 2017).
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def available() -> list[str]:
    """Names accepted by :func:`get`, :func:`derivative` and :func:`gain`."""
    return sorted(_MODULES)


def get(name: str, **kwargs) -> nn.Module:
    """Build the activation module called ``name``.

    Args:
        name: One of :func:`available`, e.g. ``"relu"`` or ``"leaky_relu"``.
        **kwargs: Passed to the torch module, e.g. ``negative_slope=0.1`` for
            ``leaky_relu`` or ``alpha=0.5`` for ``elu``.

    Example:
        >>> get("leaky_relu", negative_slope=0.2)
        LeakyReLU(negative_slope=0.2)
    """
    cls = lookup("activation", name, _MODULES)
    if cls is nn.Identity:
        return nn.Identity()
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise TypeError(f"bad keyword for activation {name!r}: {err}") from None


def derivative(name: str, x: Tensor, **kwargs) -> Tensor:
    r"""Closed-form derivative :math:`f'(x)` of an activation, element-wise.

    At the kink of ReLU-like functions (:math:`x = 0`) it returns the value
    autograd uses: 0 for ReLU, the slope for Leaky ReLU, :math:`\alpha` for ELU.

    Args:
        name: An activation from :func:`available`.
        x: Input tensor.
        **kwargs: The same parameters :func:`get` takes (``negative_slope``, ``alpha``).
    """
    key = canonical("activation", name, _MODULES)
    x = torch.as_tensor(x)
    if key == "identity":
        return torch.ones_like(x)
    if key == "sigmoid":
        s = torch.sigmoid(x)
        return s * (1 - s)
    if key == "tanh":
        return 1 - torch.tanh(x) ** 2
    if key == "relu":
        return (x > 0).to(x.dtype)
    if key == "leaky_relu":
        slope = kwargs.get("negative_slope", 0.01)
        return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, slope))
    if key == "elu":
        alpha = kwargs.get("alpha", 1.0)
        return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x))
    if key == "selu":
        return _SELU_SCALE * torch.where(x > 0, torch.ones_like(x), _SELU_ALPHA * torch.exp(x))
    # gelu (exact form): d/dx [x Phi(x)] = Phi(x) + x phi(x)
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    pdf = torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    return cdf + x * pdf


# Gauss-Hermite nodes for E[g(z)], z ~ N(0, 1); an even count puts no node on the
# kink of ReLU-like functions at z = 0, where the derivative jumps.
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(100)  # weight exp(-z^2/2)
_WEIGHTS = _WEIGHTS / math.sqrt(2 * math.pi)


def gaussian_mean(fn: Callable[[Tensor], Tensor], q: float = 1.0) -> float:
    r""":math:`\mathbb{E}[g(z)]` for :math:`z \sim \mathcal{N}(0, q)` by Gauss-Hermite quadrature.

    Args:
        fn: Maps a float64 tensor of nodes to :math:`g` at those nodes.
        q: Variance of the Gaussian (>= 0).
    """
    if q < 0:
        raise ValueError(f"q must be >= 0, got {q}")
    z = torch.as_tensor(_NODES * math.sqrt(q), dtype=torch.float64)
    return float(np.sum(_WEIGHTS * fn(z).numpy()))


def second_moment(name: str, q: float = 1.0, **kwargs) -> float:
    r""":math:`\mathbb{E}[f(z)^2]` for :math:`z \sim \mathcal{N}(0, q)`, by Gauss-Hermite quadrature.

    This is the quantity He et al. (2015) compute for ReLU (:math:`q/2`) and the
    building block of the mean-field length map (Poole et al. 2016).
    """
    f = get(name, **kwargs)
    return gaussian_mean(lambda z: f(z) ** 2, q)


def gain(name: str, **kwargs) -> float:
    r"""Recommended gain for an activation, as in ``torch.nn.init.calculate_gain``.

    Where torch defines one (identity, sigmoid, tanh, relu, leaky_relu, selu) the
    value is torch's. For the others (elu, gelu) it is the gain that preserves
    the second moment of a unit Gaussian, the rule He et al. (2015) used to derive
    :math:`\sqrt{2}` for ReLU:

    .. math::
        \text{gain} = 1 / \sqrt{\mathbb{E}_{z \sim \mathcal{N}(0,1)}[f(z)^2]}

    For ELU the expectation has a closed form (:math:`\Phi` the normal CDF),

    .. math::
        \mathbb{E}[\operatorname{elu}(z)^2] = \tfrac{1}{2}
        + \alpha^2\left(e^{2}\,\Phi(-2) - 2 e^{1/2}\,\Phi(-1) + \tfrac{1}{2}\right),

    so its gain is exact; GELU's is computed by Gauss-Hermite quadrature (it is smooth).

    Args:
        name: An activation from :func:`available`.
        **kwargs: ``negative_slope`` for ``leaky_relu``, ``alpha`` for ``elu``.

    Example:
        >>> round(gain("elu"), 6)
        1.245198
    """
    key = canonical("activation", name, _MODULES)
    torch_name = {"identity": "linear"}.get(key, key)
    if key in {"identity", "sigmoid", "tanh", "relu", "selu"}:
        return float(nn.init.calculate_gain(torch_name))
    if key == "leaky_relu":
        return float(nn.init.calculate_gain("leaky_relu", kwargs.get("negative_slope", 0.01)))
    if key == "elu":
        alpha = float(kwargs.get("alpha", 1.0))

        def phi(x: float) -> float:  # standard normal CDF
            return 0.5 * math.erfc(-x / math.sqrt(2))

        negative = math.exp(2) * phi(-2) - 2 * math.exp(0.5) * phi(-1) + 0.5  # E[(e^z - 1)^2; z < 0]
        return 1.0 / math.sqrt(0.5 + alpha**2 * negative)
    return 1.0 / math.sqrt(second_moment(key, 1.0, **kwargs))
