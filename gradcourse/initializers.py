"""Weight initializers with ``torch.nn.init``'s names, signatures and defaults.

Every function that ``torch.nn.init`` has takes the same arguments in the same
order with the same defaults, ``generator=`` included, and delegates to torch, so
for the same random state the samples are bit-identical. The course adds what
torch lacks: Glorot & Bengio's "standard" heuristic (:func:`glorot_standard_`, which
is PyTorch's own default ``nn.Linear`` init), LeCun normal, a registry of names for
:class:`gradcourse.MLP` and :func:`weight_std`, the standard deviation each scheme
really samples, so that pages can draw theory beside measurement.

Where the course uses its own names they are accepted besides torch's: He's
``activation`` for ``nonlinearity`` and ``negative_slope`` for ``a``.

Keras differs: its ``*_normal`` initializers (``glorot_normal``, ``he_normal``,
``lecun_normal``) sample a normal *truncated at 2σ* and rescaled to the same
variance. Here, as in torch, they are untruncated; use :func:`trunc_normal_` for a
truncated one.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from . import activations
from ._registry import canonical, lookup
from .tracking.layers import WEIGHT_LAYERS

__all__ = [
    "available",
    "constant_",
    "dirac_",
    "eye_",
    "fans",
    "get",
    "glorot_standard_",
    "he_normal_",
    "he_uniform_",
    "initialize_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "takes_activation",
    "trunc_normal_",
    "uniform_",
    "weight_std",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

# Nonlinearities torch.nn.init.calculate_gain knows; the others come from activations.gain.
_TORCH_NONLINEARITIES = frozenset({
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
})


def _number(name: str, value, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite float, or a ``TypeError``/``ValueError`` that names ``name``.

    Numpy scalars and one-element tensors are numbers; strings are not (``float("0")``
    would read ``"0"`` as 0 where torch's own functions refuse it).
    """
    if isinstance(value, (str, bytes)) or getattr(getattr(value, "dtype", None), "kind", "") in ("U", "S"):
        raise TypeError(f"{name} must be a number, got the string {value!r} (write it without quotes)")
    if isinstance(value, (bool, np.bool_)) or getattr(value, "dtype", None) in (torch.bool, np.bool_):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy scalars, 0-dim tensors
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def fans(weight: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a Linear ``(out, in)`` or Conv ``(out, in, *k)`` weight.

    Example:
        >>> fans(torch.empty(8, 3, 5, 5))  # 3 * 25 inputs per unit, 8 * 25 outputs per input
        (75, 200)
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(weight).__name__}")
    if weight.dim() < 2:
        raise ValueError(
            f"fan_in/fan_out need a weight with at least 2 dims, got shape {tuple(weight.shape)}"
        )
    receptive = math.prod(weight.shape[2:])
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def _empty(tensor: Tensor) -> bool:
    """Warn and return True for a zero-element tensor, as torch's kaiming_* do."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


# -- torch's functions, same signatures ---------------------------------------------------
def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0. Every unit of a layer then computes the same thing (symmetry)."""
    return nn.init.zeros_(tensor)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1: like :func:`zeros_`, it never breaks the symmetry."""
    return nn.init.ones_(tensor)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``: like :func:`zeros_`, it never breaks the symmetry."""
    return nn.init.constant_(tensor, _number("val", val))


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix on a 2-D tensor (as ``torch.nn.init.eye_``): a linear layer that copies."""
    return nn.init.eye_(tensor)


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The Dirac delta on a 3-, 4- or 5-D conv weight (as ``torch.nn.init.dirac_``).

    The convolution then copies its input channels (per group) to its first outputs.
    """
    return nn.init.dirac_(tensor, groups)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: torch.Generator | None = None) -> Tensor:
    r"""Sample :math:`\mathcal{N}(\text{mean}, \text{std}^2)`, blind to the layer's size.

    Same argument order and defaults as ``torch.nn.init.normal_``: write ``normal_(w, std=0.01)``.
    The "small random numbers" recipe: with ``std=0.01`` deep signals vanish, with
    ``std=1`` they explode.

    Example:
        >>> w = normal_(torch.empty(200, 300), std=0.01, generator=torch.Generator().manual_seed(0))
        >>> round(w.std().item(), 3)
        0.01
    """
    mean = _number("mean", mean)
    std = _number("std", std, nonnegative=True)
    return nn.init.normal_(tensor, mean=mean, std=std, generator=generator)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: torch.Generator | None = None) -> Tensor:
    r"""Sample :math:`\mathcal{U}[a, b)`, blind to the layer's size (torch's order and defaults)."""
    a, b = _number("a", a), _number("b", b)
    if a > b:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return nn.init.uniform_(tensor, a=a, b=b, generator=generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: torch.Generator | None = None) -> Tensor:
    r"""Sample :math:`\mathcal{N}(\text{mean}, \text{std}^2)` restricted to :math:`[a, b]`.

    As ``torch.nn.init.trunc_normal_``: ``a`` and ``b`` are absolute bounds, not
    multiples of ``std``, and the samples' std is below ``std`` (0.880 ``std`` for the
    default :math:`\pm 2` with ``std=1``; :func:`weight_std` gives it exactly). Keras'
    normal initializers truncate at :math:`\pm 2\sigma` and divide :math:`\sigma` by
    0.8796 first, so that the truncated samples keep the prescribed variance.
    """
    mean = _number("mean", mean)
    std = _number("std", std, nonnegative=True)
    a, b = _number("a", a), _number("b", b)
    if a >= b:
        raise ValueError(f"trunc_normal_ needs a < b, got a={a}, b={b}")
    return nn.init.trunc_normal_(tensor, mean=mean, std=std, a=a, b=b, generator=generator)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: torch.Generator | None = None) -> Tensor:
    r"""Martens (2010): a 2-D weight with a fraction ``sparsity`` of each column set to 0.

    The other entries are :math:`\mathcal{N}(0, \text{std}^2)` (as ``torch.nn.init.sparse_``).
    """
    sparsity = _number("sparsity", sparsity)
    if not 0 <= sparsity <= 1:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    std = _number("std", std, nonnegative=True)
    return nn.init.sparse_(tensor, sparsity, std=std, generator=generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: torch.Generator | None = None) -> Tensor:
    r"""Glorot & Bengio (2010, eq. 16), "normalized initialization" (Keras' ``glorot_uniform``).

    .. math::
        W_{ij} \sim \mathcal{U}\left[-\text{gain}\sqrt{\frac{6}{n_{in} + n_{out}}},
        \text{gain}\sqrt{\frac{6}{n_{in} + n_{out}}}\right],
        \qquad \operatorname{Var}(W_{ij}) = \text{gain}^2\,\frac{2}{n_{in} + n_{out}}

    A compromise between keeping the forward variance (:math:`n_{in}\operatorname{Var}W=1`)
    and the backward variance (:math:`n_{out}\operatorname{Var}W=1`).
    """
    return nn.init.xavier_uniform_(tensor, gain=_number("gain", gain), generator=generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: torch.Generator | None = None) -> Tensor:
    r"""Gaussian version of :func:`xavier_uniform_`.

    .. math::
        W_{ij} \sim \mathcal{N}\left(0, \text{gain}^2\,\frac{2}{n_{in} + n_{out}}\right)

    Keras' ``glorot_normal`` has the same variance but truncates at :math:`2\sigma`.
    """
    return nn.init.xavier_normal_(tensor, gain=_number("gain", gain), generator=generator)


def _check_mode(mode) -> None:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' (keeps the forward variance) or 'fan_out' "
                         f"(keeps the backward variance), got {mode!r}")


def _he_args(a, nonlinearity, activation, negative_slope) -> tuple[float, str]:
    """Merge the course's names (``activation``, ``negative_slope``) into torch's."""
    if activation is not None:
        if nonlinearity not in ("leaky_relu", None):
            raise TypeError("give nonlinearity (torch's name) or activation, not both")
        nonlinearity = activation
    if negative_slope is not None:
        if a not in (0, None):
            raise TypeError("give a (torch's name) or negative_slope, not both")
        a = negative_slope
    a = _number("a", 0 if a is None else a)
    name = nonlinearity if nonlinearity is not None else "leaky_relu"
    if not isinstance(name, str):
        raise TypeError(f"nonlinearity must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in _TORCH_NONLINEARITIES:
        key = canonical("activation", name, dict.fromkeys(activations.available()))
        key = {"identity": "linear"}.get(key, key)
    return a, key


def _he_std(tensor: Tensor, mode: str, key: str) -> float:
    """He's std for an activation torch's calculate_gain does not know (ELU, GELU)."""
    fan_in, fan_out = fans(tensor)
    return activations.gain(key) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def he_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
    *,
    activation: str | None = None,
    negative_slope: float | None = None,
) -> Tensor:
    r"""He et al. (2015, eq. 10 and 15); ``torch.nn.init.kaiming_normal_`` (same signature).

    .. math::
        W_{ij} \sim \mathcal{N}\left(0, \frac{\text{gain}^2}{n}\right), \qquad
        \text{gain} = \sqrt{\frac{2}{1 + a^2}} \text{ for (leaky) ReLU}

    with :math:`n = n_{in}` (``mode="fan_in"``, keeps the forward variance) or
    :math:`n_{out}` (``"fan_out"``, keeps the backward variance).

    Args:
        tensor: A weight with at least 2 dims.
        a: Negative slope of the Leaky ReLU (0: ReLU). Course name: ``negative_slope``.
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: A name torch's ``calculate_gain`` knows (``"relu"``, ``"tanh"``, ...)
            or any :func:`gradcourse.activations.available` name (``"elu"``, ``"gelu"``:
            gain from :func:`gradcourse.activations.gain`). Course name: ``activation``.
        generator: Random generator, as in torch.
        activation: Alias of ``nonlinearity``.
        negative_slope: Alias of ``a``.

    Keras' ``he_normal`` truncates at :math:`2\sigma`; this one, like torch's, does not.
    """
    a, key = _he_args(a, nonlinearity, activation, negative_slope)
    _check_mode(mode)
    if key in _TORCH_NONLINEARITIES:
        return nn.init.kaiming_normal_(tensor, a=a, mode=mode, nonlinearity=key, generator=generator)
    if _empty(tensor):
        return tensor
    return nn.init.normal_(tensor, 0.0, _he_std(tensor, mode, key), generator=generator)


def he_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
    *,
    activation: str | None = None,
    negative_slope: float | None = None,
) -> Tensor:
    r"""Uniform version of :func:`he_normal_` (``torch.nn.init.kaiming_uniform_``), same variance.

    .. math::
        W_{ij} \sim \mathcal{U}\left[-\text{gain}\sqrt{\frac{3}{n}}, \text{gain}\sqrt{\frac{3}{n}}\right]
    """
    a, key = _he_args(a, nonlinearity, activation, negative_slope)
    _check_mode(mode)
    if key in _TORCH_NONLINEARITIES:
        return nn.init.kaiming_uniform_(tensor, a=a, mode=mode, nonlinearity=key, generator=generator)
    if _empty(tensor):
        return tensor
    bound = math.sqrt(3.0) * _he_std(tensor, mode, key)
    return nn.init.uniform_(tensor, -bound, bound, generator=generator)


kaiming_normal_ = he_normal_
kaiming_uniform_ = he_uniform_


def glorot_standard_(tensor: Tensor, generator: torch.Generator | None = None) -> Tensor:
    r"""The "standard" heuristic that Glorot & Bengio (2010, eq. 1) criticise.

    .. math::
        W_{ij} \sim \mathcal{U}\left[-\frac{1}{\sqrt{n_{in}}}, \frac{1}{\sqrt{n_{in}}}\right],
        \qquad \operatorname{Var}(W_{ij}) = \frac{1}{3 n_{in}}

    so :math:`n_{in}\operatorname{Var}(W) = 1/3` and, near the linear regime of
    tanh, the activation variance shrinks by 3 per layer (their eq. 5).

    It is PyTorch's default ``nn.Linear``/``nn.Conv*d`` weight init,
    ``kaiming_uniform_(w, a=sqrt(5))``, and samples bit-identically to it:

    Example:
        >>> _ = torch.manual_seed(0); layer = nn.Linear(300, 200)
        >>> _ = torch.manual_seed(0); w = glorot_standard_(torch.empty(200, 300))
        >>> torch.equal(w, layer.weight)
        True
    """
    return nn.init.kaiming_uniform_(tensor, a=math.sqrt(5), generator=generator)


def lecun_normal_(tensor: Tensor, generator: torch.Generator | None = None) -> Tensor:
    r"""LeCun et al. (1998): :math:`W_{ij} \sim \mathcal{N}(0, 1/n_{in})`.

    Keeps the forward variance for a linear (or SELU) network. Keras' ``lecun_normal``
    truncates at :math:`2\sigma`.
    """
    return nn.init.kaiming_normal_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    r"""A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013).

    All singular values equal ``gain``, so a deep *linear* network keeps the
    norm of every input direction: the ideal "dynamical isometry". A conv weight
    ``(out, in, *k)`` is flattened to ``(out, in * prod(k))`` first.
    """
    return nn.init.orthogonal_(tensor, gain=_number("gain", gain), generator=generator)


# -- registry -----------------------------------------------------------------------------
_SCHEMES: dict[str, Callable[..., Tensor]] = {
    "zeros": zeros_,
    "ones": ones_,
    "constant": constant_,
    "normal": normal_,
    "uniform": uniform_,
    "trunc_normal": trunc_normal_,
    "glorot_standard": glorot_standard_,
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "glorot_uniform": xavier_uniform_,
    "glorot_normal": xavier_normal_,
    "he_uniform": he_uniform_,
    "he_normal": he_normal_,
    "kaiming_uniform": he_uniform_,
    "kaiming_normal": he_normal_,
    "lecun_normal": lecun_normal_,
    "orthogonal": orthogonal_,
}
_ALIASES = {"glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
            "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal"}
_TAKES_ACTIVATION = {"he_uniform", "he_normal"}
_HE_KWARGS = ("a", "mode", "nonlinearity", "negative_slope")
_KWARGS: dict[str, tuple[str, ...]] = {  # what weight_std reads for each scheme
    "zeros": (), "ones": (), "constant": ("val",), "normal": ("mean", "std"), "uniform": ("a", "b"),
    "trunc_normal": ("mean", "std", "a", "b"), "glorot_standard": (), "xavier_uniform": ("gain",),
    "xavier_normal": ("gain",), "he_uniform": _HE_KWARGS, "he_normal": _HE_KWARGS,
    "lecun_normal": (), "orthogonal": ("gain",),
}


def available() -> list[str]:
    """Names accepted by :func:`get`, :func:`initialize_` and :func:`weight_std` (aliases included)."""
    return sorted(_SCHEMES)


def get(name: str) -> Callable[..., Tensor]:
    """The in-place initializer called ``name`` (``"he_normal"`` -> :func:`he_normal_`)."""
    return lookup("initializer", name, _SCHEMES)


def _key(name: str) -> str:
    key = canonical("initializer", name, _SCHEMES)
    return _ALIASES.get(key, key)


def takes_activation(scheme: str | Callable[..., Tensor]) -> bool:
    """Whether ``scheme`` (a name or one of our functions) depends on the activation (He)."""
    if callable(scheme):
        return scheme in (he_normal_, he_uniform_)
    return _key(scheme) in _TAKES_ACTIVATION


def _trunc_normal_std(mean: float, std: float, a: float, b: float) -> float:
    if std == 0:
        return 0.0
    alpha, beta = (a - mean) / std, (b - mean) / std

    def pdf(x: float) -> float:
        return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) if math.isfinite(x) else 0.0

    def cdf(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    z = cdf(beta) - cdf(alpha)
    xa = alpha * pdf(alpha) if math.isfinite(alpha) else 0.0
    xb = beta * pdf(beta) if math.isfinite(beta) else 0.0
    var = 1 + (xa - xb) / z - ((pdf(alpha) - pdf(beta)) / z) ** 2
    return std * math.sqrt(max(var, 0.0))


def _fan(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"fan_in and fan_out must be ints >= 1, got {name}={value!r}")
    return int(value)


def weight_std(
    scheme: str,
    fan_in: int | None = None,
    fan_out: int | None = None,
    activation: str | None = None,
    *,
    shape: tuple[int, ...] | torch.Size | None = None,
    **kwargs,
) -> float:
    """The standard deviation of the weights that ``scheme`` samples.

    It is the exact std of the distribution the initializer draws from (for
    ``orthogonal``: of the entries of a random semi-orthogonal matrix), with the
    initializer's own defaults, so ``weight_std("normal", 1, 1)`` is 1 as for
    ``normal_``.

    Args:
        scheme: A name from :func:`available`.
        fan_in: Inputs per unit (``in_features`` of a Linear layer, ``in * prod(k)`` of a conv).
        fan_out: Outputs per input (``out_features``, ``out * prod(k)``).
        activation: The He schemes' ``nonlinearity`` (default ReLU); the formulas of
            the other schemes do not depend on it.
        shape: Instead of the fans, the weight's shape; needed for ``orthogonal`` on a
            conv weight, where the fans alone do not say how it is flattened.
        **kwargs: The scheme's own parameters (``std``, ``a``/``b``, ``gain``,
            He's ``a``/``negative_slope``, ``mode``). Any other is a ``TypeError``.

    Example:
        >>> round(weight_std("he_normal", 256, 256), 4)  # sqrt(2 / 256)
        0.0884
        >>> round(weight_std("orthogonal", shape=(256, 3, 3, 3)), 4)  # 1 / sqrt(256)
        0.0625
    """
    key = _key(scheme)
    unknown = sorted(set(kwargs) - set(_KWARGS[key]))
    if unknown:
        takes = ", ".join(_KWARGS[key]) or "no keyword"
        raise TypeError(f"weight_std({scheme!r}) got unexpected keyword(s) {', '.join(unknown)}; "
                        f"{key} takes {takes}")
    rows = None
    if shape is not None:
        if fan_in is not None or fan_out is not None:
            raise TypeError("give fan_in and fan_out, or shape, not both")
        shape = tuple(shape)
        if len(shape) < 2 or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1
                                 for s in shape):
            raise ValueError(f"shape must have at least 2 dims, all ints >= 1, got {shape}")
        shape = tuple(int(s) for s in shape)
        fan_in, fan_out = fans(torch.empty(shape, device="meta"))
        rows = shape[0]
    elif fan_in is None or fan_out is None:
        raise TypeError("weight_std needs fan_in and fan_out (or shape=)")
    fan_in, fan_out = _fan("fan_in", fan_in), _fan("fan_out", fan_out)
    if key in {"zeros", "ones"}:
        return 0.0
    if key == "constant":
        _number("val", kwargs.get("val", 0.0))
        return 0.0
    if key == "normal":
        _number("mean", kwargs.get("mean", 0.0))
        return _number("std", kwargs.get("std", 1.0), nonnegative=True)
    if key == "uniform":
        a, b = _number("a", kwargs.get("a", 0.0)), _number("b", kwargs.get("b", 1.0))
        if a > b:
            raise ValueError(f"uniform needs a <= b, got a={a}, b={b}")
        return (b - a) / math.sqrt(12)
    if key == "trunc_normal":
        mean = _number("mean", kwargs.get("mean", 0.0))
        std = _number("std", kwargs.get("std", 1.0), nonnegative=True)
        a, b = _number("a", kwargs.get("a", -2.0)), _number("b", kwargs.get("b", 2.0))
        if a >= b:
            raise ValueError(f"trunc_normal needs a < b, got a={a}, b={b}")
        return _trunc_normal_std(mean, std, a, b)
    if key == "glorot_standard":
        return 1.0 / math.sqrt(3 * fan_in)
    if key in {"xavier_uniform", "xavier_normal"}:
        return abs(_number("gain", kwargs.get("gain", 1.0))) * math.sqrt(2.0 / (fan_in + fan_out))
    if key in {"he_uniform", "he_normal"}:
        a, name = _he_args(kwargs.get("a", 0), kwargs.get("nonlinearity", "leaky_relu"),
                           activation, kwargs.get("negative_slope"))
        mode = kwargs.get("mode", "fan_in")
        _check_mode(mode)
        if name in _TORCH_NONLINEARITIES:
            g = nn.init.calculate_gain(name, a)
        else:
            g = activations.gain(name)
        return g / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    if key == "lecun_normal":
        return 1.0 / math.sqrt(fan_in)
    # orthogonal: a (rows, cols) matrix with orthonormal rows (rows <= cols) or columns;
    # each unit vector of length max(rows, cols) has entries of variance 1 / max(rows, cols).
    rows = fan_out if rows is None else rows  # a Linear weight unless the shape says otherwise
    cols = fan_in
    return abs(_number("gain", kwargs.get("gain", 1.0))) / math.sqrt(max(rows, cols))


def initialize_(
    model: nn.Module,
    scheme: str | Callable[..., Tensor],
    activation: str | None = None,
    bias: float | str | None = 0.0,
    **kwargs,
) -> nn.Module:
    r"""Apply ``scheme`` to the weight of every Linear and Conv layer of ``model``.

    Args:
        model: Any module; its ``nn.Linear`` and ``nn.Conv*d`` layers are initialized.
        scheme: A name from :func:`available` or an in-place callable ``f(weight, **kwargs)``.
        activation: For the He schemes, the activation the layers feed (default ReLU).
        bias: Fill value for biases (default 0); ``None`` leaves them as they are;
            ``"pytorch"`` draws them as ``nn.Linear``/``nn.Conv*d`` do by default,
            :math:`b_i \sim \mathcal{U}(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})`.
        **kwargs: Passed to the initializer (``std=0.5`` for ``normal``, ``generator=``, ...).

    Returns:
        The same ``model``, for chaining.

    Example:
        >>> model = initialize_(nn.Linear(256, 256), "he_normal", generator=torch.Generator().manual_seed(0))
        >>> round(model.weight.std().item(), 3)  # sqrt(2 / 256) = 0.088
        0.088
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"initialize_ expects an nn.Module, got {type(model).__name__}")
    fn = scheme if callable(scheme) else get(scheme)
    if takes_activation(scheme) and activation is not None and not {"nonlinearity", "activation"} & set(kwargs):
        kwargs = {"nonlinearity": activation, **kwargs}
    if isinstance(bias, str):
        if bias != "pytorch":
            raise ValueError(f'bias must be a number, None or "pytorch", got {bias!r}')
    elif bias is not None:
        bias = _number("bias", bias)
    layers = [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]
    if not layers:
        raise ValueError("initialize_ found no nn.Linear or nn.Conv layer in the model")
    with torch.no_grad():
        for layer in layers:
            fn(layer.weight, **kwargs)
            if layer.bias is None or bias is None:
                continue
            if bias == "pytorch":  # as nn.Linear.reset_parameters: U(+-1/sqrt(fan_in))
                fan_in = fans(layer.weight)[0]
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(layer.bias, -bound, bound, generator=kwargs.get("generator"))
            else:
                nn.init.constant_(layer.bias, bias)
    return model
