"""Weight initializers in the style of ``torch.nn.init``: in place, named ``*_``.

Each scheme samples with ``torch.nn.init`` wherever torch has it; the course
only adds the schemes torch lacks (Glorot & Bengio's "standard" heuristic and
LeCun normal), the registry and :func:`weight_std`, which returns the standard
deviation each formula prescribes so that pages can draw theory beside
measurement.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from . import activations
from ._layers import WEIGHT_LAYERS
from ._registry import canonical, lookup

__all__ = [
    "available",
    "constant_",
    "fans",
    "get",
    "glorot_standard_",
    "he_normal_",
    "he_uniform_",
    "initialize_",
    "lecun_normal_",
    "normal_",
    "orthogonal_",
    "uniform_",
    "weight_std",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def fans(weight: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a Linear ``(out, in)`` or Conv ``(out, in, *k)`` weight."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(weight).__name__}")
    if weight.dim() < 2:
        raise ValueError(
            f"fan_in/fan_out need a weight with at least 2 dims, got shape {tuple(weight.shape)}"
        )
    receptive = math.prod(weight.shape[2:])
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def zeros_(weight: Tensor) -> Tensor:
    """Fill with 0. Every unit of a layer then computes the same thing (symmetry)."""
    return nn.init.zeros_(weight)


def constant_(weight: Tensor, val: float = 0.0) -> Tensor:
    """Fill with ``val``: like :func:`zeros_`, it never breaks the symmetry."""
    return nn.init.constant_(weight, val)


def normal_(weight: Tensor, std: float = 0.01, mean: float = 0.0) -> Tensor:
    r"""Sample :math:`\mathcal{N}(\text{mean}, \text{std}^2)`, blind to the layer's size.

    The "small random numbers" recipe: with ``std=0.01`` deep signals vanish,
    with ``std=1`` they explode.
    """
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    return nn.init.normal_(weight, mean=mean, std=std)


def uniform_(weight: Tensor, a: float = -0.05, b: float = 0.05) -> Tensor:
    r"""Sample :math:`\mathcal{U}[a, b]`, blind to the layer's size."""
    if not a < b:
        raise ValueError(f"uniform_ needs a < b, got a={a}, b={b}")
    return nn.init.uniform_(weight, a=a, b=b)


def glorot_standard_(weight: Tensor) -> Tensor:
    r"""The "standard" heuristic that Glorot & Bengio (2010, eq. 1) criticise.

    .. math::
        W_{ij} \sim \mathcal{U}\left[-\frac{1}{\sqrt{n_{in}}}, \frac{1}{\sqrt{n_{in}}}\right],
        \qquad \operatorname{Var}(W_{ij}) = \frac{1}{3 n_{in}}

    so :math:`n_{in}\operatorname{Var}(W) = 1/3` and, near the linear regime of
    tanh, the activation variance shrinks by 3 per layer (their eq. 5).
    """
    fan_in, _ = fans(weight)
    bound = 1.0 / math.sqrt(fan_in)
    return nn.init.uniform_(weight, -bound, bound)


def xavier_uniform_(weight: Tensor, gain: float = 1.0) -> Tensor:
    r"""Glorot & Bengio (2010, eq. 16), "normalized initialization".

    .. math::
        W_{ij} \sim \mathcal{U}\left[-\text{gain}\sqrt{\frac{6}{n_{in} + n_{out}}},
        \text{gain}\sqrt{\frac{6}{n_{in} + n_{out}}}\right],
        \qquad \operatorname{Var}(W_{ij}) = \text{gain}^2\,\frac{2}{n_{in} + n_{out}}

    A compromise between keeping the forward variance (:math:`n_{in}\operatorname{Var}W=1`)
    and the backward variance (:math:`n_{out}\operatorname{Var}W=1`).
    """
    return nn.init.xavier_uniform_(weight, gain=gain)


def xavier_normal_(weight: Tensor, gain: float = 1.0) -> Tensor:
    r"""Gaussian version of :func:`xavier_uniform_`.

    .. math::
        W_{ij} \sim \mathcal{N}\left(0, \text{gain}^2\,\frac{2}{n_{in} + n_{out}}\right)
    """
    return nn.init.xavier_normal_(weight, gain=gain)


def _he_nonlinearity(activation: str | None, negative_slope: float) -> tuple[str, float]:
    # He et al. derive the gain for ReLU (eq. 10) and for leaky ReLU/PReLU (eq. 15);
    # torch's kaiming_* take exactly those two (plus a few others via calculate_gain).
    key = canonical("activation", activation or "relu", dict.fromkeys(activations.available()))
    if key in {"relu", "leaky_relu"}:
        return key, negative_slope
    return key, 0.0


def he_normal_(
    weight: Tensor, activation: str | None = "relu", negative_slope: float = 0.01
) -> Tensor:
    r"""He et al. (2015, eq. 10 and 15), fan-in mode.

    .. math::
        W_{ij} \sim \mathcal{N}\left(0, \frac{2}{(1 + a^2)\, n_{in}}\right)

    with :math:`a = 0` for ReLU and :math:`a` = ``negative_slope`` for Leaky ReLU.
    For other activations the variance is :math:`\text{gain}^2 / n_{in}` with
    :func:`gradcourse.activations.gain`.
    """
    key, a = _he_nonlinearity(activation, negative_slope)
    if key in {"relu", "leaky_relu"}:
        return nn.init.kaiming_normal_(weight, a=a, mode="fan_in", nonlinearity=key)
    fan_in, _ = fans(weight)
    return nn.init.normal_(weight, 0.0, activations.gain(key) / math.sqrt(fan_in))


def he_uniform_(
    weight: Tensor, activation: str | None = "relu", negative_slope: float = 0.01
) -> Tensor:
    r"""Uniform version of :func:`he_normal_`, with the same variance.

    .. math::
        W_{ij} \sim \mathcal{U}\left[-\sqrt{\frac{6}{(1 + a^2)\, n_{in}}},
        \sqrt{\frac{6}{(1 + a^2)\, n_{in}}}\right]
    """
    key, a = _he_nonlinearity(activation, negative_slope)
    if key in {"relu", "leaky_relu"}:
        return nn.init.kaiming_uniform_(weight, a=a, mode="fan_in", nonlinearity=key)
    fan_in, _ = fans(weight)
    bound = activations.gain(key) * math.sqrt(3.0 / fan_in)
    return nn.init.uniform_(weight, -bound, bound)


def lecun_normal_(weight: Tensor) -> Tensor:
    r"""LeCun et al. (1998): :math:`W_{ij} \sim \mathcal{N}(0, 1/n_{in})`.

    Keeps the forward variance for a linear (or SELU) network.
    """
    return nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="linear")


def orthogonal_(weight: Tensor, gain: float = 1.0) -> Tensor:
    r"""A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013).

    All singular values equal ``gain``, so a deep *linear* network keeps the
    norm of every input direction: the ideal "dynamical isometry".
    """
    return nn.init.orthogonal_(weight, gain=gain)


_SCHEMES: dict[str, Callable[..., Tensor]] = {
    "zeros": zeros_,
    "constant": constant_,
    "normal": normal_,
    "uniform": uniform_,
    "glorot_standard": glorot_standard_,
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "he_uniform": he_uniform_,
    "he_normal": he_normal_,
    "lecun_normal": lecun_normal_,
    "orthogonal": orthogonal_,
}
_TAKES_ACTIVATION = {"he_uniform", "he_normal"}


def available() -> list[str]:
    """Names accepted by :func:`get`, :func:`initialize_` and :func:`weight_std`."""
    return sorted(_SCHEMES)


def get(name: str) -> Callable[..., Tensor]:
    """The in-place initializer called ``name`` (``"he_normal"`` -> :func:`he_normal_`)."""
    return lookup("initializer", name, _SCHEMES)


def _key(name: str) -> str:
    return canonical("initializer", name, _SCHEMES)


def takes_activation(scheme: str | Callable[..., Tensor]) -> bool:
    """Whether ``scheme`` (a name or one of our functions) depends on the activation (He)."""
    if callable(scheme):
        return scheme in (he_normal_, he_uniform_)
    return _key(scheme) in _TAKES_ACTIVATION


def weight_std(
    scheme: str, fan_in: int, fan_out: int, activation: str | None = None, **kwargs
) -> float:
    """The standard deviation of the weights that ``scheme`` prescribes.

    Args:
        scheme: A name from :func:`available`.
        fan_in: Inputs per unit (``in_features`` of a Linear layer).
        fan_out: Outputs per input (``out_features``).
        activation: Used by the He schemes only (default ReLU).
        **kwargs: The scheme's own parameters (``std``, ``a``/``b``, ``gain``,
            ``negative_slope``).

    Example:
        >>> round(weight_std("he_normal", 256, 256), 4)  # sqrt(2 / 256)
        0.0884
    """
    key = _key(scheme)
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"fan_in and fan_out must be >= 1, got {fan_in}, {fan_out}")
    if key in {"zeros", "constant"}:
        return 0.0
    if key == "normal":
        return float(kwargs.get("std", 0.01))
    if key == "uniform":
        return (kwargs.get("b", 0.05) - kwargs.get("a", -0.05)) / math.sqrt(12)
    if key == "glorot_standard":
        return 1.0 / math.sqrt(3 * fan_in)
    if key in {"xavier_uniform", "xavier_normal"}:
        return kwargs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    if key in {"he_uniform", "he_normal"}:
        act, a = _he_nonlinearity(activation, kwargs.get("negative_slope", 0.01))
        g = activations.gain(act, negative_slope=a) if act == "leaky_relu" else activations.gain(act)
        return g / math.sqrt(fan_in)
    if key == "lecun_normal":
        return 1.0 / math.sqrt(fan_in)
    return kwargs.get("gain", 1.0) / math.sqrt(max(fan_in, fan_out))  # orthogonal


def initialize_(
    model: nn.Module,
    scheme: str | Callable[..., Tensor],
    activation: str | None = None,
    bias: float | None = 0.0,
    **kwargs,
) -> nn.Module:
    """Apply ``scheme`` to the weight of every Linear and Conv layer of ``model``.

    Args:
        model: Any module; its ``nn.Linear`` and ``nn.Conv*d`` layers are initialized.
        scheme: A name from :func:`available` or an in-place callable ``f(weight, **kwargs)``.
        activation: For the He schemes, the activation the layers feed (default ReLU).
        bias: Fill value for biases (default 0); ``None`` leaves them as they are.
        **kwargs: Passed to the initializer (``std=0.5`` for ``normal``, ...).

    Returns:
        The same ``model``, for chaining.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"initialize_ expects an nn.Module, got {type(model).__name__}")
    fn = scheme if callable(scheme) else get(scheme)
    if takes_activation(scheme) and activation is not None:
        kwargs = {"activation": activation, **kwargs}
    layers = [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]
    if not layers:
        raise ValueError("initialize_ found no nn.Linear or nn.Conv layer in the model")
    with torch.no_grad():
        for layer in layers:
            fn(layer.weight, **kwargs)
            if bias is not None and layer.bias is not None:
                nn.init.constant_(layer.bias, bias)
    return model
