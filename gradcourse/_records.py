"""Host side of :class:`~gradcourse.tracking.Tracker`: the step's buffer, what each layer
reduced into it, and the tidy per-layer records built from the floats read back.

Every sum is accumulated in float64. For float32, bfloat16 and float16 tensors that
means no overflow (a float32 square is below 1.2e77, far from float64's 1.8e308) and a
variance without visible cancellation (``sq - s**2/n`` keeps about 16 digits, so a
sigmoid layer with std 2e-4 around a mean of 0.5 loses about 7 of them, not all). It
also means that a sum is NaN/Inf exactly when one of the reduced values was: the
non-finite checks read the ``*_sum`` slots, which is the same as asking the tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ._layers import TrackedLayer

__all__ = ["FAMILIES", "KEYS", "LayerCounts", "Step", "StepLog", "Sums", "histogram_records",
           "locate", "make_record", "sample_std"]


@dataclass
class LayerCounts:
    """What one layer reduced in the current step: elements per family (0 = not reduced).

    Attributes:
        x: Input elements checked for NaN/Inf (``x_sum``).
        w: Weight elements (``w_sum``, ``w_sq``).
        a: Activation elements, over every recorded pass (``a_sum``, ``a_sq``).
        sat: Whether the saturated count ``sat`` was reduced (tanh, sigmoid).
        units: Units whose activity was reduced into ``active`` (ReLU family).
        g: Elements of :math:`\\partial L/\\partial z` (``g_sum``, ``g_sq``).
        gw: Weight-gradient elements (``gw_sum``, ``gw_sq``).
        u: Update elements (``u_sum``, ``u_sq``).
        u_scale: Factor of the update std: the learning rate when the update is the
            gradient itself (plain SGD), else 1.
        u_is_gw: The update's sums are the weight gradient's (plain SGD, not clipped
            after :meth:`~gradcourse.tracking.Tracker.before_step`).
        gw_version: The weight gradient's ``_version`` when measured, to notice an
            in-place change (clipping) before the optimizer step.
        passes: Recorded forward passes that reached this layer.
    """

    x: int = 0
    w: int = 0
    a: int = 0
    sat: bool = False
    units: int = 0
    g: int = 0
    gw: int = 0
    u: int = 0
    u_scale: float = 1.0
    u_is_gw: bool = False
    gw_version: int | None = None
    passes: int = 0

    def present(self, family: str) -> bool:
        return bool(getattr(self, family))

    @property
    def examples(self) -> int:
        """Examples per unit behind ``dead_frac`` (the batch size, over all passes)."""
        return self.a // self.units if self.units else 0


@dataclass
class Step:
    """What the current step has gathered so far (reset when it is closed)."""

    recording: bool
    counts: list[LayerCounts]
    hists: list[tuple[int, str, Tensor, Tensor]] = field(default_factory=list)
    peaks: dict[int, Tensor] = field(default_factory=dict)  # per unit, best example so far
    snap: list[Tensor | None] = field(default_factory=list)
    lrs: dict[int, float] = field(default_factory=dict)
    grads_done: bool = False
    passes: int = 0
    trained: bool = False  # a training-mode pass was recorded


#: Family -> its buffer rows. A family is in a step's record when its count is non-zero.
FAMILIES = {"x": ("x_sum",), "w": ("w_sum", "w_sq"), "a": ("a_sum", "a_sq"), "sat": ("sat",),
            "units": ("active",), "g": ("g_sum", "g_sq"), "gw": ("gw_sum", "gw_sq"),
            "u": ("u_sum", "u_sq")}
KEYS = tuple(key for keys in FAMILIES.values() for key in keys)
_ROW = {key: row for row, key in enumerate(KEYS)}


class Sums:
    """One step's float64 accumulators, ``(len(KEYS), layers)`` plus the loss, in place.

    Hooks add their 0-d results into fixed views: no per-step allocation, and
    :meth:`read` turns everything into Python floats with one ``tolist()``, the step's
    only host sync. :meth:`grow` makes room while layers are being discovered.
    """

    def __init__(self, n_layers: int, device: torch.device | str = "cpu") -> None:
        self.n = max(n_layers, 1)
        self.buf = torch.zeros(len(KEYS) * self.n + 1, dtype=torch.float64, device=device)
        self._views()

    def _views(self) -> None:
        grid = self.buf[:-1].view(len(KEYS), self.n)
        self.slot = {key: list(grid[row].unbind()) for key, row in _ROW.items()}
        self.loss = self.buf[-1]

    def grow(self, n_layers: int) -> None:
        if n_layers <= self.n:
            return
        old, n_old = self.buf, self.n
        self.n = max(n_layers, 2 * n_old)
        self.buf = torch.zeros(len(KEYS) * self.n + 1, dtype=torch.float64, device=old.device)
        self.buf[:-1].view(len(KEYS), self.n)[:, :n_old] = old[:-1].view(len(KEYS), n_old)
        self._views()

    def read(self, extra: list[Tensor]) -> tuple[list[float], list[float]]:
        """The buffer and ``extra`` tensors as floats, with one host sync."""
        if not extra:
            return self.buf.tolist(), []
        values = torch.cat([self.buf] + [t.reshape(-1).to(self.buf) for t in extra]).tolist()
        return values[: self.buf.numel()], values[self.buf.numel():]


def sample_std(s: float, sq: float, n: int) -> float:
    """Sample std from the sum and the sum of squares (Bessel-corrected)."""
    if n < 2:
        return math.nan
    var = (sq - s * s / n) / (n - 1)
    return math.sqrt(var) if var > 0 else (0.0 if var == var else math.nan)


def make_record(number: int, layer: TrackedLayer, r: dict[str, float],
                c: LayerCounts) -> dict[str, Any]:
    """One tidy record from the reduced sums ``r`` and the counts ``c`` of a layer."""
    def get(key: str, fn) -> float | None:
        return fn() if key in r else None

    w_std = get("w_sum", lambda: sample_std(r["w_sum"], r["w_sq"], c.w))
    gw_std = get("gw_sum", lambda: sample_std(r["gw_sum"], r["gw_sq"], c.gw))
    u_std = get("u_sum", lambda: c.u_scale * sample_std(r["u_sum"], r["u_sq"], c.u))
    fwd = [r[k] for k in ("x_sum", "w_sum", "a_sum") if k in r]
    bwd = [r[k] for k in ("g_sum", "gw_sum") if k in r]
    return {
        "step": number, "layer": layer.index, "name": layer.name, "act_kind": layer.kind,
        "act_mean": get("a_sum", lambda: r["a_sum"] / c.a),
        "act_std": get("a_sum", lambda: sample_std(r["a_sum"], r["a_sq"], c.a)),
        "saturated_frac": get("sat", lambda: r["sat"] / c.a),
        "dead_frac": get("active", lambda: 1.0 - r["active"] / c.units),
        "grad_std": get("g_sum", lambda: sample_std(r["g_sum"], r["g_sq"], c.g)),
        "weight_grad_norm": get("gw_sq", lambda: math.sqrt(r["gw_sq"])),
        "grad_data_ratio": None if gw_std is None or not w_std else gw_std / w_std,
        "update_ratio": None if u_std is None or not w_std else u_std / w_std,
        "nonfinite_forward": not all(map(math.isfinite, fwd)),
        "nonfinite_backward": not all(map(math.isfinite, bwd)),
    }


class StepLog:
    """Recorded steps, kept as the floats read back from :class:`Sums` plus the counts;
    the tidy per-layer records (:func:`make_record`) are built when first asked for."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.pending: list[tuple[int, list[float], list[LayerCounts]]] = []
        self.steps = 0

    def add(self, number: int, values: list[float], counts: list[LayerCounts]) -> None:
        self.pending.append((number, values, counts))
        self.steps += 1

    @staticmethod
    def raw(values: list[float], counts: list[LayerCounts]) -> list[dict[str, float]]:
        """Per layer, ``{key: value}`` for the families reduced (see :data:`FAMILIES`)."""
        n = (len(values) - 1) // len(KEYS)
        raw = []
        for i, c in enumerate(counts):
            r = {key: values[_ROW[key] * n + i]
                 for family, keys in FAMILIES.items() if c.present(family) for key in keys}
            if c.u_is_gw:  # plain SGD: the update is -lr * the gradient measured
                r["u_sum"], r["u_sq"] = r["gw_sum"], r["gw_sq"]
            raw.append(r)
        return raw

    def build(self, layers: list[TrackedLayer]) -> list[dict[str, Any]]:
        """All records, oldest first."""
        for number, values, counts in self.pending:
            self.records.extend(make_record(number, layer, r, c) for layer, r, c
                                in zip(layers, self.raw(values, counts), counts, strict=True))
        self.pending.clear()
        return self.records


def histogram_records(number: int, hists: list[tuple[int, str, Tensor, Tensor]],
                      values: list[float]) -> list[dict[str, Any]]:
    """Histogram dicts from ``(layer, kind, counts, (min, max))`` read back as ``values``."""
    out, pos = [], 0
    for i, kind, h, _ in hists:
        n = h.numel()
        counts, (lo, hi) = values[pos : pos + n], values[pos + n : pos + n + 2]
        pos += n + 2
        lo, hi = (lo - 1, hi + 1) if lo == hi else (lo, hi)  # as torch.histc does
        edges = [lo + (hi - lo) * b / n for b in range(n + 1)]
        out.append({"step": number, "layer": i + 1, "kind": kind, "counts": counts,
                    "edges": edges})
    return out


def _bad(t: Tensor | None) -> bool:
    return t is not None and not bool(torch.isfinite(t.detach()).all())


def locate(model: nn.Module, layers: list[TrackedLayer], raw: list[dict[str, float]],
           loss: Any) -> tuple[str, int | None, str, str] | None:
    """The first NaN/Inf of a step: forward pass from layer 1, then any other module's
    parameters (an output head), then the backward pass from the last layer, then the
    loss. The weights are asked directly: a step without backward measured no gradient.

    Returns:
        ``(phase, layer, source, name)`` as in :class:`~gradcourse.tracking.NonFinite`,
        or ``None`` if every value was finite.
    """
    def bad(r: dict[str, float], *keys: str) -> bool:
        return any(k in r and not math.isfinite(r[k]) for k in keys)

    for layer, r in zip(layers, raw, strict=True):  # forward: layer 1 first
        weight_bad = _bad(layer.linear.weight) or _bad(getattr(layer.linear, "bias", None))
        if bad(r, "x_sum", "a_sum") or weight_bad:
            source = "input" if bad(r, "x_sum") else "weight" if weight_bad else "output"
            return ("forward", layer.index, source, layer.name)
    tracked = {id(layer.linear) for layer in layers}
    for name, module in model.named_modules():
        if id(module) not in tracked and any(_bad(p) for p in module.parameters(recurse=False)):
            return ("forward", None, "weight", name)
    for layer, r in reversed(list(zip(layers, raw, strict=True))):  # backward: last first
        if bad(r, "g_sum", "gw_sum"):
            source = "output" if bad(r, "g_sum") else "weight"
            return ("backward", layer.index, source, layer.name)
    if loss is not None and not math.isfinite(float(loss)):
        return ("loss", None, "loss")
    return None
