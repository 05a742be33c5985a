r"""What theory predicts for the variance of signals and gradients, layer by layer.

Two views of the same recursion, for a network with weights of variance
:math:`\operatorname{Var}(W_k)` (from :func:`gradcourse.initializers.weight_std`) and
pre-activations :math:`z_k = W_k f(z_{k-1}) + b_k`:

* **Forward/backward variance** (Glorot & Bengio 2010, eq. 5-6; He et al. 2015,
  eq. 9 and 14). With Gaussian pre-activations of variance :math:`q_k`,

  .. math::
      q_{k+1} = n_k \operatorname{Var}(W_{k+1})\, \mathbb{E}[f(z)^2]_{z \sim \mathcal{N}(0, q_k)},
      \qquad
      \operatorname{Var}(\delta_k) = \mathbb{E}[f'(z)^2]\, n_{k+1}\operatorname{Var}(W_{k+1})
      \operatorname{Var}(\delta_{k+1})

  where :math:`\delta_k = \partial L / \partial z_k`. For ReLU,
  :math:`\mathbb{E}[f(z)^2] = q/2` and :math:`\mathbb{E}[f'(z)^2] = 1/2`: He's eq. 9 and 14.
  ``method="linear"`` replaces :math:`f` by its tangent at 0, Glorot's linear regime
  (:math:`\operatorname{Var}(z_{k+1}) = n_k \operatorname{Var}(W)\operatorname{Var}(z_k)`).
* **Mean-field length map** (Poole et al. 2016; Schoenholz et al. 2017) for
  :math:`W_{ij} \sim \mathcal{N}(0, \sigma_w^2/n)`, :math:`b_i \sim \mathcal{N}(0, \sigma_b^2)`:

  .. math::
      q^{*} = \sigma_w^2\, \mathbb{E}[f(\sqrt{q^{*}} z)^2] + \sigma_b^2, \qquad
      \chi_1 = \sigma_w^2\, \mathbb{E}[f'(\sqrt{q^{*}} z)^2], \qquad
      \xi = -1/\ln \chi_1

  Gradients shrink by :math:`\chi_1` per layer (vanish if :math:`\chi_1 < 1`, explode
  if :math:`\chi_1 > 1`); the *critical* :math:`\sigma_w^2` is where :math:`\chi_1 = 1`.

All Gaussian expectations use :func:`gradcourse.activations.gaussian_mean` (Gauss-Hermite
quadrature with 100 nodes, none on the kink of ReLU at 0).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import torch
from torch import Tensor

from . import activations, initializers
from ._registry import canonical
from .activations import gaussian_mean

__all__ = [
    "backward_variance",
    "chi1",
    "critical_sigma_w2",
    "depth_scale",
    "fixed_point",
    "forward_variance",
    "gaussian_mean",
]

def _f2(activation: str, q: float, **kw) -> float:
    return activations.second_moment(activation, q, **kw)


def _df2(activation: str, q: float, **kw) -> float:
    return gaussian_mean(lambda z: activations.derivative(activation, z, **kw) ** 2, q)


def _relu_slope(activation: str, **kw) -> float | None:
    r"""Negative-side slope ``a`` of a piecewise-linear ``f(z) = max(z, a z)`` (ReLU: 0,
    identity: 1), else ``None``. For them :math:`\mathbb{E}[f'(z)^2] = (1 + a^2)/2` and
    :math:`\mathbb{E}[f(z)^2] = q (1 + a^2)/2` at every variance: closed forms."""
    key = canonical("activation", activation, dict.fromkeys(activations.available()))
    if key in ("relu", "identity"):
        return 0.0 if key == "relu" else 1.0
    if key == "leaky_relu":
        return float(kw.get("negative_slope", 0.01))
    return None


def _slopes_at_zero(activation: str, **kw) -> tuple[float, float]:
    """``(f'(0-), f'(0+))``: they differ at a kink (SELU, Leaky ReLU)."""
    x = torch.tensor([-1e-30, 1e-30], dtype=torch.float64)
    left, right = activations.derivative(activation, x, **kw).tolist()
    return left, right


def _check_widths(widths) -> list[int]:
    """The layer sizes as ints; 10.7 is refused, not read as 10."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Iterable):
        raise TypeError(f"widths must be a list of layer sizes [n_in, n_1, ..., n_out], got {widths!r}")
    widths = list(widths)
    for k, n in enumerate(widths):
        if isinstance(n, Tensor) and n.numel() == 1 and not n.is_floating_point():
            n = widths[k] = n.item()
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"widths must hold ints (layer sizes), got {n!r} at position {k}")
    widths = [int(n) for n in widths]
    if len(widths) < 3 or min(widths) < 1:
        raise ValueError("widths must list input, hidden and output sizes (at least 3, all >= 1), "
                         f"got {widths}")
    return widths


def _variance(name: str, value) -> float:
    """A variance argument: a finite number >= 0 that names ``name`` when it is not."""
    return initializers._number(name, value, nonnegative=True)


def _weight_var(scheme: str, fan_in: int, fan_out: int, activation: str, **kw) -> float:
    return initializers.weight_std(scheme, fan_in, fan_out, activation=activation, **kw) ** 2


def _check(method: str, of: str = "preactivation") -> None:
    if method not in ("gaussian", "linear"):
        raise ValueError(f"method must be 'gaussian' or 'linear', got {method!r}")
    if of not in ("preactivation", "activation"):
        raise ValueError(f"of must be 'preactivation' or 'activation', got {of!r}")


def _init_kwargs(scheme: str, init_kwargs: dict, act_kwargs: dict) -> dict:
    """He's gain needs Leaky ReLU's slope (He et al. 2015, eq. 15); no other scheme takes it."""
    if "negative_slope" in act_kwargs and initializers.takes_activation(scheme):
        return {"negative_slope": act_kwargs["negative_slope"], **init_kwargs}
    return init_kwargs


def forward_variance(scheme: str, activation: str, widths, input_var: float = 1.0,
                     method: str = "gaussian", of: str = "preactivation",
                     act_kwargs: dict | None = None, **init_kwargs) -> list[float]:
    r"""Predicted variance of the forward signal at each hidden layer (layer 1 first).

    Args:
        scheme: An initializer name, e.g. ``"xavier_uniform"``.
        activation: An activation name, e.g. ``"tanh"``.
        widths: ``[n_in, n_1, ..., n_L, n_out]``: input, hidden and output sizes.
        input_var: Second moment of each input feature.
        method: ``"gaussian"`` (quadrature) or ``"linear"`` (Glorot's linear regime).
        of: ``"preactivation"`` (:math:`z_k`) or ``"activation"`` (:math:`f(z_k)`).
        act_kwargs: Parameters of the activation (``{"negative_slope": 0.1}``); a
            ``negative_slope`` also reaches the He schemes.
        **init_kwargs: Parameters of the scheme (``std=...``, ``gain=...``).

    Returns:
        One variance per hidden layer (``len(widths) - 2`` values).

    Raises:
        ValueError: For bad ``widths``, an unknown ``method``/``of`` or activation.
    """
    widths = _check_widths(widths)
    input_var = _variance("input_var", input_var)
    _check(method, of)
    akw = dict(act_kwargs or {})
    ikw = _init_kwargs(scheme, init_kwargs, akw)
    slope2 = float(activations.derivative(activation, torch.zeros(1, dtype=torch.float64),
                                          **akw)) ** 2
    out, second = [], input_var
    for k in range(1, len(widths) - 1):
        q = widths[k - 1] * _weight_var(scheme, widths[k - 1], widths[k], activation, **ikw) * second
        if method == "linear":
            second = slope2 * q
            out.append(q if of == "preactivation" else second)
            continue
        second = _f2(activation, q, **akw)
        if of == "preactivation":
            out.append(q)
        else:
            mean = gaussian_mean(activations.get(activation, **akw), q)
            out.append(second - mean**2)
    return out


def backward_variance(scheme: str, activation: str, widths, input_var: float = 1.0,
                      output_grad_var: float = 1.0, method: str = "gaussian",
                      act_kwargs: dict | None = None, **init_kwargs) -> list[float]:
    r"""Predicted variance of :math:`\partial L/\partial z_k` at each hidden layer (layer 1 first).

    Starts from ``output_grad_var`` at the output (logits) and walks down, using the
    forward variances of :func:`forward_variance` for :math:`\mathbb{E}[f'(z)^2]`.
    Arguments as in :func:`forward_variance`.
    """
    widths = _check_widths(widths)
    input_var = _variance("input_var", input_var)
    output_grad_var = _variance("output_grad_var", output_grad_var)
    _check(method)
    akw = dict(act_kwargs or {})
    q = forward_variance(scheme, activation, widths, input_var, method, act_kwargs=akw,
                         **init_kwargs)
    ikw = _init_kwargs(scheme, init_kwargs, akw)
    slope2 = float(activations.derivative(activation, torch.zeros(1, dtype=torch.float64),
                                          **akw)) ** 2
    var, out = output_grad_var, []
    for k in range(len(widths) - 2, 0, -1):  # hidden layer k, fed back by layer k + 1
        fan_out = widths[k + 1]
        w_var = _weight_var(scheme, widths[k], fan_out, activation, **ikw)
        d2 = slope2 if method == "linear" else _df2(activation, q[k - 1], **akw)
        var = d2 * fan_out * w_var * var
        out.append(var)
    return out[::-1]


def _bisect(fn, lo: float, hi: float, iters: int = 60) -> float:
    f_lo = fn(lo)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        f_mid = fn(mid)
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _check_sigmas(sigma_w2: float, sigma_b2: float) -> tuple[float, float]:
    """``(sigma_w2, sigma_b2)`` as floats: finite, ``sigma_w2 > 0``, ``sigma_b2 >= 0``."""
    return (initializers._number("sigma_w2", sigma_w2, positive=True),
            initializers._number("sigma_b2", sigma_b2, nonnegative=True))


def fixed_point(activation: str, sigma_w2: float, sigma_b2: float = 0.0, **act_kwargs) -> float:
    r"""The stable fixed point :math:`q^*` of the length map (``inf`` if it diverges).

    For ReLU, Leaky ReLU (slope :math:`a`) and the identity the map is linear,
    :math:`q \mapsto \sigma_w^2 q (1 + a^2)/2 + \sigma_b^2`, and :math:`q^*` is closed-form.
    ``**act_kwargs`` are the activation's parameters (``negative_slope``, ``alpha``).
    """
    sigma_w2, sigma_b2 = _check_sigmas(sigma_w2, sigma_b2)
    a = _relu_slope(activation, **act_kwargs)
    if a is not None:
        r = sigma_w2 * (1 + a * a) / 2
        if sigma_b2 == 0.0:
            return 0.0 if r <= 1 else math.inf
        return sigma_b2 / (1 - r) if r < 1 else math.inf

    def g(q: float) -> float:
        return sigma_w2 * _f2(activation, q, **act_kwargs) + sigma_b2 - q

    lo = 0.0
    if sigma_b2 == 0.0:
        if g(1e-8) <= 0:  # the map contracts near 0: q* = 0
            return 0.0
        lo = 1e-8
    hi = 1.0
    while g(hi) > 0:
        hi *= 2
        if hi > 1e8:
            return math.inf
    return _bisect(g, lo, hi)


def chi1(activation: str, sigma_w2: float, sigma_b2: float = 0.0, **act_kwargs) -> float:
    r""":math:`\chi_1 = \sigma_w^2 \mathbb{E}[f'(\sqrt{q^*} z)^2]`, the per-layer gradient factor.

    For ReLU, Leaky ReLU and the identity :math:`\mathbb{E}[f'^2] = (1 + a^2)/2` whatever
    :math:`q^*`, so :math:`\chi_1 = \sigma_w^2 (1 + a^2)/2` even where :math:`q^*` diverges.
    """
    sigma_w2, sigma_b2 = _check_sigmas(sigma_w2, sigma_b2)
    a = _relu_slope(activation, **act_kwargs)
    if a is not None:
        return sigma_w2 * (1 + a * a) / 2
    q = fixed_point(activation, sigma_w2, sigma_b2, **act_kwargs)
    if math.isinf(q):
        return math.inf
    return sigma_w2 * _df2(activation, max(q, 1e-12), **act_kwargs)  # q* = 0: limit q -> 0+


def critical_sigma_w2(activation: str, sigma_b2: float = 0.0, **act_kwargs) -> float:
    r"""The :math:`\sigma_w^2` where :math:`\chi_1 = 1` (the edge of chaos).

    * ReLU family: :math:`2/(1 + a^2)` (2 for ReLU, He's gain squared).
    * :math:`f(0) = 0`, :math:`\sigma_b^2 = 0`: :math:`q^* = 0` is critical and
      :math:`\chi_1 \to \sigma_w^2 (f'(0^-)^2 + f'(0^+)^2)/2` there, half from each side of
      a kink, so :math:`\sigma_w^2 = 2/(f'(0^-)^2 + f'(0^+)^2)` (SELU: 0.477, tanh: 1).
    * Otherwise it is parametrised by the fixed point: a given :math:`q^* > \sigma_b^2`
      needs :math:`\sigma_w^2 = (q^* - \sigma_b^2)/\mathbb{E}[f(\sqrt{q^*}z)^2]`, so
      :math:`\chi_1(q^*) = 1` is a one-dimensional bisection in :math:`q^*`.

    Raises:
        ValueError: If ``sigma_b2 < 0`` or no critical point is found.
    """
    sigma_b2 = initializers._number("sigma_b2", sigma_b2, nonnegative=True)
    a = _relu_slope(activation, **act_kwargs)
    if a is not None:
        return 2.0 / (1 + a * a)
    if sigma_b2 == 0.0:
        f0 = float(activations.get(activation, **act_kwargs)(torch.zeros(1, dtype=torch.float64)))
        left, right = _slopes_at_zero(activation, **act_kwargs)
        if f0 == 0.0 and left * left + right * right > 0:
            return _verified(activation, 2.0 / (left * left + right * right), sigma_b2, act_kwargs)

    def sw2(q: float) -> float:
        return (q - sigma_b2) / _f2(activation, q, **act_kwargs)

    def excess(q: float) -> float:
        return sw2(q) * _df2(activation, q, **act_kwargs) - 1.0

    lo, hi = sigma_b2 * (1 + 1e-9) + 1e-12, max(1.0, 2 * sigma_b2)
    while excess(hi) < 0:  # chi1 grows with q* along the critical path
        hi *= 2
        if hi > 1e6:
            raise ValueError(f"no critical point found for {activation!r}, sigma_b2={sigma_b2}")
    return _verified(activation, sw2(_bisect(excess, lo, hi)), sigma_b2, act_kwargs)


def _verified(activation: str, sigma_w2: float, sigma_b2: float, act_kwargs: dict) -> float:
    """``sigma_w2`` if :func:`chi1` (at the stable fixed point) is 1 there. Not so for GELU
    at small ``sigma_b2``: its ReLU-like tail makes :math:`q^*` run away at that point."""
    c = chi1(activation, sigma_w2, sigma_b2, **act_kwargs)
    if not abs(c - 1.0) < 1e-4:
        raise ValueError(f"{activation!r} has no critical point with sigma_b2={sigma_b2}: where "
                         f"chi1 would reach 1 (sigma_w2={sigma_w2:.4g}) the fixed point q* is "
                         f"not stable (chi1 = {c:.4g} there)")
    return sigma_w2


def depth_scale(activation: str, sigma_w2: float, sigma_b2: float = 0.0, **act_kwargs) -> float:
    r""":math:`\xi = 1/|\ln\chi_1|`: layers over which gradients change by a factor :math:`e`.

    Schoenholz et al. (2017): positive on both sides of the edge of chaos (gradients
    shrink by :math:`e` every :math:`\xi` layers where :math:`\chi_1 < 1`, grow where
    :math:`\chi_1 > 1`); infinite at :math:`\chi_1 = 1`.
    """
    c = chi1(activation, sigma_w2, sigma_b2, **act_kwargs)
    return math.inf if c == 1.0 else 1.0 / abs(math.log(c))
