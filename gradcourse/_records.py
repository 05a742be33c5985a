"""Records of :class:`~gradcourse.tracking.Tracker`: from reduced sums to tidy dicts.

Private helpers: the :class:`Sums` buffer the hooks reduce into, the :class:`NonFinite`
event, the per-layer record and the rule that finds where a NaN/Inf first appeared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ._layers import TrackedLayer

__all__ = ["FAMILIES", "KEYS", "NonFinite", "StepLog", "Sums", "flat", "histogram_records",
           "locate", "make_record", "moments", "sample_std", "squares"]


@dataclass(frozen=True)
class NonFinite:
    """Where a NaN/Inf first appeared.

    Attributes:
        step: Step number (1-based).
        phase: The pass: ``"forward"``, ``"backward"`` or ``"loss"`` (only the loss).
        layer: Layer index (1 = nearest the input), ``None`` for the loss.
        source: ``"input"``, ``"weight"`` (weight or bias) or ``"output"`` of that layer
            (in the backward pass, ``"output"`` is the gradient arriving at the layer's
            output and ``"weight"`` its weight gradient); ``"loss"`` for the loss.
        name: Module name of the layer's Linear/Conv.
    """

    step: int
    phase: str
    layer: int | None
    source: str
    name: str = ""

    def describe(self, lang: str = "en") -> str:
        """A one-line message in English (``"en"``) or Spanish (``"es"``)."""
        if lang == "es":
            if self.layer is None:
                return f"paso {self.step}: la pérdida no es finita (todas las capas lo eran)"
            phase = {"forward": "hacia delante", "backward": "hacia atrás"}[self.phase]
            source = {"input": "la entrada", "weight": "los pesos",
                      "output": "la salida"}[self.source]
            return (f"paso {self.step}: primer valor no finito de la pasada {phase} en la capa "
                    f"{self.layer} ({self.name}), originado en {source}")
        if self.layer is None:
            return f"step {self.step}: the loss is non-finite (every tracked layer was finite)"
        return (f"step {self.step}: first non-finite value in the {self.phase} pass at layer "
                f"{self.layer} ({self.name}), coming from its {self.source}")

    def __str__(self) -> str:
        return self.describe("en")


#: What a layer's hooks reduce, by family. A family is present in a step when its name
#: is a key of the layer's counts dict (its value: the number of elements reduced; the
#: dict also carries flags such as ``u_scale``, ``u_is_gw`` and ``gw_version``).
FAMILIES = {"x": ("x",), "w": ("w_sum", "w_sq"), "a": ("a_sum", "a_sq"), "sat": ("sat",),
            "units": ("active",), "g": ("g_sum", "g_sq"), "gw": ("gw_sum", "gw_sq"),
            "u": ("u_sum", "u_sq")}
KEYS = tuple(key for keys in FAMILIES.values() for key in keys)
_ROW = {key: row for row, key in enumerate(KEYS)}


class Sums:
    """One step's reductions, written in place into one preallocated tensor.

    Each hook writes its 0-d results with ``out=`` into fixed slots: no per-step
    allocation and no ``torch.stack`` of hundreds of scalars. :meth:`read` turns the whole
    buffer into Python floats with one ``tolist()``, the step's only host sync.
    """

    def __init__(self, n_layers: int, like: Tensor) -> None:
        dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
        self.buf = torch.zeros(len(KEYS) * n_layers + 1, dtype=dtype, device=like.device)
        self.slot = {key: [self.buf[row * n_layers + i] for i in range(n_layers)]
                     for key, row in _ROW.items()}  # 0-d views, made once
        self.loss = self.buf[-1]

    def read(self, extra: list[Tensor]) -> tuple[list[float], list[float]]:
        """The buffer and ``extra`` tensors as floats, with one host sync."""
        if not extra:
            return self.buf.tolist(), []
        values = torch.cat([self.buf] + [t.reshape(-1).to(self.buf) for t in extra]).tolist()
        return values[: self.buf.numel()], values[self.buf.numel():]


def moments(v: Tensor, sum_out: Tensor, sq_out: Tensor) -> None:
    """``sum_out <- v.sum()`` and ``sq_out <- (v * v).sum()`` for a 1-D ``v``, in place.

    The second pass finds ``v`` still in cache. Another dtype (half, bfloat16) or device
    is first converted to the buffer's.
    """
    if v.dtype != sum_out.dtype or v.device != sum_out.device:
        v = v.to(sum_out)
    torch.sum(v, 0, out=sum_out)
    squares(v, sq_out)


def squares(v: Tensor, out: Tensor) -> None:
    """``out <- (v * v).sum()`` for a 1-D ``v``, in place (a count when ``v`` is 0/1/-1)."""
    if v.dtype != out.dtype or v.device != out.device:
        v = v.to(out)
    torch.dot(v, v, out=out)


def flat(t: Tensor) -> Tensor:
    """A 1-D view of ``t`` without copying when possible (order is irrelevant to sums)."""
    t = t.detach()
    if not t.is_contiguous() and t.dim() == 2 and t.t().is_contiguous():
        t = t.t()  # e.g. the weight gradient of nn.Linear, produced transposed
    return t.reshape(-1)


def sample_std(s: float, sq: float, n: int) -> float:
    """Sample std from the sum and the sum of squares (Bessel-corrected)."""
    if n < 2:
        return math.nan
    var = (sq - s * s / n) / (n - 1)
    return math.sqrt(var) if var > 0 else (0.0 if var == var else math.nan)


def make_record(number: int, layer: TrackedLayer, r: dict[str, float], c: dict) -> dict[str, Any]:
    """One tidy record from the reduced sums ``r`` and element counts ``c`` of a layer."""
    def get(key: str, fn) -> float | None:
        return fn() if key in r else None

    w_std = get("w_sum", lambda: sample_std(r["w_sum"], r["w_sq"], c["w"]))
    gw_std = get("gw_sum", lambda: sample_std(r["gw_sum"], r["gw_sq"], c["gw"]))
    u_std = get("u_sum", lambda: c["u_scale"] * sample_std(r["u_sum"], r["u_sq"], c["u"]))
    fwd = [r[k] for k in ("x", "w_sum", "w_sq", "a_sum", "a_sq") if k in r]
    bwd = [r[k] for k in ("g_sum", "g_sq", "gw_sum", "gw_sq") if k in r]
    return {
        "step": number, "layer": layer.index, "name": layer.name,
        "act_mean": get("a_sum", lambda: r["a_sum"] / c["a"]),
        "act_std": get("a_sum", lambda: sample_std(r["a_sum"], r["a_sq"], c["a"])),
        "saturated_frac": get("sat", lambda: r["sat"] / c["a"]),
        "dead_frac": get("active", lambda: 1.0 - r["active"] / c["units"]),
        "grad_std": get("g_sum", lambda: sample_std(r["g_sum"], r["g_sq"], c["g"])),
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
        self.pending: list[tuple[int, list[float], list[dict[str, Any]]]] = []
        self.steps = 0

    def add(self, number: int, values: list[float], counts: list[dict[str, Any]]) -> None:
        self.pending.append((number, values, counts))
        self.steps += 1

    @staticmethod
    def raw(values: list[float], counts: list[dict[str, Any]]) -> list[dict[str, float]]:
        """Per layer, ``{key: value}`` for the families reduced (see :data:`FAMILIES`)."""
        n, raw = len(counts), []
        for i, c in enumerate(counts):
            r = {key: values[_ROW[key] * n + i]
                 for family, keys in FAMILIES.items() if family in c for key in keys}
            if c.get("u_is_gw"):  # plain SGD: the update is -lr * the gradient measured
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


def locate(layers: list[TrackedLayer], number: int, raw: list[dict[str, float]],
           loss: Any) -> NonFinite | None:
    """The first NaN/Inf of a step: forward pass from layer 1, then backward from the last."""
    def bad(r: dict[str, float], *keys: str) -> bool:
        return any(k in r and not math.isfinite(r[k]) for k in keys)

    for layer, r in zip(layers, raw, strict=True):  # forward: layer 1 first
        if bad(r, "x", "w_sq", "a_sum", "a_sq"):
            bias = getattr(layer.linear, "bias", None)
            weight_bad = bad(r, "w_sq") or (
                bias is not None and not bool(torch.isfinite(bias.detach()).all()))
            source = "input" if bad(r, "x") else "weight" if weight_bad else "output"
            return NonFinite(number, "forward", layer.index, source, layer.name)
    for layer, r in reversed(list(zip(layers, raw, strict=True))):  # backward: last layer first
        if bad(r, "g_sum", "g_sq", "gw_sum", "gw_sq"):
            source = "output" if bad(r, "g_sum", "g_sq") else "weight"
            return NonFinite(number, "backward", layer.index, source, layer.name)
    if loss is not None and not math.isfinite(float(loss)):
        return NonFinite(number, "loss", None, "loss")
    return None
