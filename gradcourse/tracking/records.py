"""The statistics, each defined once, and the log of recorded steps.

:data:`STATS` is the one table: for every statistic, what is captured, how it is reduced
(by :mod:`.reduce`) and how the record's value is computed from the reduction. A
statistic that was not measured (a family not captured on that step, a tensor changed in
place before it was read, a layer another pass did not reach) is ``None``, never 0 and
never a value left over from another step.

:class:`StepLog` keeps, per recorded step, the float64 values read back and the
:class:`Plan` to read them (shared between steps when unchanged) and builds the
tidy per-layer records only when they are asked for. ``keep=N`` keeps the ``N`` most
recent steps.
"""

from __future__ import annotations

import functools
import math
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import SATURATION
from .layers import TrackedLayer

__all__ = ["ON_OFF", "STATS", "ZONES", "Meta", "Plan", "Stat", "StepLog", "Values", "examples",
           "histogram_records", "make_records", "moments", "sample_std", "unpack"]

#: (centre, half-width) of the linear zone of the bounded kinds; beyond it a value is saturated
ZONES = {"tanh": (0.0, SATURATION), "sigmoid": (0.5, SATURATION / 2)}
ON_OFF = ("relu", "relu_like")  # kinds whose units can be off on the whole batch


@dataclass(frozen=True)
class Plan:
    """How to read one step's float64 values back.

    The values are, in order: the sums ``(5, C)`` row-major (rows: count ``n``, sum
    ``S``, sum of squares ``Q`` about the shift, saturated count, shift ``c``; one column
    per row of a block, ``columns`` gives its ``(family, layer)``), then the active units
    of each per-unit-maximum group (``peaks``: its layers and units), then the histograms.
    """

    columns: tuple[tuple[str, int], ...]
    peaks: tuple[tuple[tuple[int, ...], int], ...]  # (layers, units)
    hists: tuple[tuple[int, str, int], ...]  # (layer, "activation"/"gradient", bins)

    @property
    def units(self) -> dict[int, int]:
        """``{layer: units}`` of the ReLU-family layers."""
        return {i: u for layers, u in self.peaks for i in layers}

    @functools.cached_property
    def unit_columns(self) -> tuple[tuple[int, int], ...]:
        """``(column, layer)`` of the activation columns of ReLU-family layers."""
        units = self.units
        return tuple((col, i) for col, (family, i) in enumerate(self.columns)
                     if family == "a" and i in units)




def sample_std(m2: float, n: int) -> float:
    """Sample std from the sum of squared deviations (Bessel-corrected)."""
    if n < 2:
        return math.nan
    var = m2 / (n - 1)
    return math.sqrt(var) if var > 0 else (0.0 if var == var else math.nan)


@dataclass(frozen=True)
class Moments:
    """What one family of one layer reduced to over a step."""

    n: int
    mean: float
    m2: float
    sumsq: float
    finite: bool

    @property
    def std(self) -> float:
        return sample_std(self.m2, self.n)


@dataclass
class Values:
    """One layer's reductions on one step; a family absent from the step is ``None``."""

    x: Moments | None = None  # the layer's input (checked for NaN/Inf)
    a: Moments | None = None  # activation
    g: Moments | None = None  # dL/dz
    w: Moments | None = None  # weight
    gw: Moments | None = None  # weight gradient
    u: Moments | None = None  # update (or the gradient it is a multiple of)
    u_scale: float = 1.0  # std(update) = u_scale * std(u): the lr of plain SGD, else 1
    sat: float | None = None  # saturated values (tanh, sigmoid)
    active: float | None = None  # units on for some example (ReLU family)
    units: int = 0


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else num / den


@dataclass(frozen=True)
class Stat:
    """A statistic: ``captured`` families, ``reduced`` how, ``report`` from :class:`Values`."""

    name: str
    captured: tuple[str, ...]
    reduced: str
    report: Callable[[Values], Any]


def _std(m: Moments | None) -> float | None:
    return None if m is None else m.std


#: Every statistic of a record, in record order.
STATS: tuple[Stat, ...] = (
    Stat("act_mean", ("a",), "float64 sum", lambda v: v.a and v.a.mean),
    Stat("act_std", ("a",), "float64 sum of squares about the mean", lambda v: _std(v.a)),
    Stat("saturated_frac", ("a",), "count of |a - centre| > threshold (tanh, sigmoid)",
         lambda v: None if v.sat is None or v.a is None else v.sat / v.a.n),
    Stat("dead_frac", ("a",), "per-unit maximum over examples and positions (ReLU family)",
         lambda v: None if v.active is None or not v.units else 1.0 - v.active / v.units),
    Stat("grad_std", ("g",), "float64 sum of squares about the mean", lambda v: _std(v.g)),
    Stat("weight_grad_norm", ("gw",), "float64 sum of squares",
         lambda v: None if v.gw is None else math.sqrt(v.gw.sumsq)),
    Stat("grad_data_ratio", ("gw", "w"), "std(dL/dW) / std(W)",
         lambda v: _ratio(_std(v.gw), _std(v.w))),
    Stat("update_ratio", ("u", "w"), "std(update) / std(W)",
         lambda v: _ratio(None if v.u is None else v.u_scale * v.u.std, _std(v.w))),
    Stat("nonfinite_forward", ("x", "w", "a"), "any NaN/Inf (the float64 sums)",
         lambda v: any(m is not None and not m.finite for m in (v.x, v.w, v.a))),
    Stat("nonfinite_backward", ("g", "gw"), "any NaN/Inf (the float64 sums)",
         lambda v: any(m is not None and not m.finite for m in (v.g, v.gw))),
)


@dataclass(frozen=True)
class Meta:
    """What the tracker adds to a step's :class:`Plan`.

    Attributes:
        update: ``{layer: (family, scale)}``: where the update's std comes from (``"u"``:
            the weight difference; ``"gw"``: plain SGD, ``lr`` times the gradient measured).
        stale: ``(family, layer)`` pairs dropped because the tensor changed in place
            before it was read.
    """

    update: tuple[tuple[int, str, float], ...] = ()
    stale: frozenset = field(default_factory=frozenset)


def layer_values(values: list[float], plan: Plan, meta: Meta,
                 layers: list[TrackedLayer]) -> list[Values]:
    """Per layer (0-based), the :class:`Values` of one step."""
    parts, active, _ = unpack(values, plan)
    out = [Values() for _ in layers]
    for (family, i), ps in parts.items():
        if i >= len(layers) or (family, i) in meta.stale:
            continue
        n, mean, m2, sumsq = moments(ps)
        finite = all(math.isfinite(s) and math.isfinite(q) for _, s, q, _, _ in ps)
        setattr(out[i], family, Moments(n, mean, m2, sumsq, finite))
        if family == "a" and layers[i].kind in ZONES:
            out[i].sat = sum(sat for *_, sat in ps)
    for i, (on, units) in active.items():
        if i < len(layers) and ("a", i) not in meta.stale:
            out[i].active, out[i].units = on, units
    for i, family, scale in meta.update:
        if i < len(layers):
            out[i].u, out[i].u_scale = (out[i].gw if family == "gw" else out[i].u), scale
    return out


def make_records(number: int, layers: list[TrackedLayer], values: list[float], plan: Plan,
                 meta: Meta) -> list[dict[str, Any]]:
    """The tidy records of one step, one dict per layer (layer 1 first)."""
    out = []
    for layer, v in zip(layers, layer_values(values, plan, meta, layers), strict=True):
        rec = {"step": number, "layer": layer.index, "name": layer.name,
               "act_kind": layer.kind}
        rec.update((s.name, s.report(v)) for s in STATS)
        out.append(rec)
    return out


def moments(parts: list[tuple[int, float, float, float, float]]
            ) -> tuple[int, float, float, float]:
    """``(n, mean, m2, sumsq)`` from ``(n, S, Q, c)`` parts (sums about shifts ``c``).

    Parts about different shifts (the same layer in two blocks) are re-centred on the
    first one exactly: :math:`\\sum (x - c_0)^2 = Q + 2 (c - c_0) (S - n c) + n (c - c_0)^2`.
    """
    n_tot = sum(p[0] for p in parts)
    c0 = parts[0][3]
    s_tot = q0 = 0.0
    for n, s, q, c, _ in parts:
        sc, dc = s - n * c, c - c0
        s_tot += s
        q0 += q + 2 * dc * sc + n * dc * dc
    sc0 = s_tot - n_tot * c0
    m2 = q0 - sc0 * sc0 / n_tot
    sumsq = q0 + 2 * c0 * sc0 + n_tot * c0 * c0
    return n_tot, s_tot / n_tot, m2, sumsq


def unpack(values: list[float], plan: Plan) -> tuple[dict, dict, list[dict[str, Any]]]:
    """``{(family, layer): [(n, S, Q, c, sat), ...]}`` (one entry per block that held the
    row), ``{layer: (active units, units)}`` and the histograms (``layer``, ``kind``,
    ``counts``, ``lo``, ``hi``) from one step's values."""
    if isinstance(values, np.ndarray):
        values = values.tolist()  # Python floats: NaN/Inf arithmetic without warnings
    parts: dict[tuple[str, int], list] = {}
    C = len(plan.columns)
    for col, key in enumerate(plan.columns):
        n, s, q, sat, c = (values[k * C + col] for k in range(5))
        parts.setdefault(key, []).append((n, s, q, c, sat))
    pos = 5 * C
    active: dict[int, tuple[float, int]] = {}
    for layers, units in plan.peaks:
        for r, i in enumerate(layers):
            active[i] = (values[pos + r], units)
        pos += len(layers)
    hists = []
    for i, what, bins in plan.hists:
        counts = [float(v) for v in values[pos:pos + bins]]
        lo, hi = float(values[pos + bins]), float(values[pos + bins + 1])
        hists.append({"layer": i, "kind": what, "counts": counts, "lo": lo, "hi": hi})
        pos += bins + 2
    return parts, active, hists


def examples(values: list[float], plan: Plan) -> int | None:
    """Examples per unit behind ``dead_frac`` (the least over ReLU-family layers)."""
    n: dict[int, float] = {}
    for col, i in plan.unit_columns:
        n[i] = n.get(i, 0.0) + values[col]
    units = plan.units
    return min(int(v) // units[i] for i, v in n.items()) if n else None



def histogram_records(number: int, values: list[float], plan: Plan) -> list[dict[str, Any]]:
    """The histogram dicts of one step (``step``, ``layer``, ``kind``, ``counts``, ``edges``)."""
    out = []
    for h in unpack(values, plan)[2]:
        n, lo, hi = len(h["counts"]), h["lo"], h["hi"]
        lo, hi = (lo - 1, hi + 1) if lo == hi else (lo, hi)  # as torch.histc does
        out.append({"step": number, "layer": h["layer"] + 1, "kind": h["kind"],
                    "counts": h["counts"], "edges": [lo + (hi - lo) * b / n for b in range(n + 1)]})
    return out


class StepLog:
    """Recorded steps, kept as the floats read back plus their plan; records on demand.

    Args:
        keep: Keep only the ``keep`` most recent steps (``None``: all).
    """

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self.steps = 0  # recorded so far, including those no longer kept
        self._pending: deque = deque()
        self._records: list[dict[str, Any]] = []
        self._sizes: deque[int] = deque()
        self._last: tuple | None = None

    def add(self, number: int, layers: list[TrackedLayer], values: np.ndarray, plan: Plan,
            meta: Meta) -> None:
        last = self._last
        if last is not None:  # share what did not change (the usual case)
            plan = last[0] if plan is last[0] or plan == last[0] else plan
            meta = last[1] if meta is last[1] or meta == last[1] else meta
            layers = last[2] if layers is last[2] or layers == last[2] else list(layers)
        else:
            layers = list(layers)
        self._last = (plan, meta, layers)
        self._pending.append((number, layers, array("d", values.tobytes()), plan, meta))
        self.steps += 1
        self._trim()

    def _trim(self) -> None:
        if self.keep is None:
            return
        while len(self._sizes) + len(self._pending) > self.keep:
            if self._sizes:
                del self._records[: self._sizes.popleft()]
            else:
                self._pending.popleft()

    def records(self) -> list[dict[str, Any]]:
        """All kept records, oldest first."""
        while self._pending:
            number, layers, values, plan, meta = self._pending.popleft()
            recs = make_records(number, layers, values, plan, meta)
            self._records.extend(recs)
            self._sizes.append(len(recs))
        return self._records

    def last(self) -> list[dict[str, Any]]:
        """The records of the latest step (empty if none is kept)."""
        records = self.records()
        return records[len(records) - self._sizes[-1]:] if self._sizes else []
