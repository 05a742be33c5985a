r"""The step-end kernels of :class:`~gradcourse.tracking.Tracker`: every statistic of every
layer in a few batched operations, and one host sync.

The hooks only capture tensors (:mod:`.hooks`). At a step boundary the captured rows
(an activation, a :math:`\partial L/\partial z`, a weight, ...) are grouped by size,
dtype and device and copied, converted to float64, into ``(R, N)`` blocks of at most
:data:`CHUNK` elements (one ``torch._foreach_copy_``), which are reduced together:

* the per-unit maximum over examples (``amax``, for ``dead_frac``) and the count of
  saturated values (``hardshrink`` keeps exactly the values beyond the threshold, taken
  as the tensors' dtype holds it, so the count is the one that dtype's comparison gives);
* the moments in float64: the sum and the norm. A float32 value is exact in float64 and
  ``N`` of them sum without overflow. On a block's first step the rows are shifted by
  their mean before the norm (two passes, exact to about 1e-15); where that step shows
  :math:`\sum x^2 < 10^4 \sum (x - \bar x)^2` (:data:`CANCEL`) the following steps sum
  raw, one pass fewer and exact to about 1e-12. A raw row that starts to cancel (a sigmoid
  layer with std 2e-4 around 0.99, where ``sum(x**2) - sum(x)**2/N`` keeps only 9 of 16
  digits) is recomputed exactly from its tensor, and its block is shifted from then on.
  Float32 accumulation was measured too (about 1e-7 relative, 1e-5 for a norm over
  10**6 values) and rejected.

Each block leaves five float64 numbers per row in a buffer that stays on the device:
the count ``n``, ``S`` (sum), ``Q`` (sum of squares about the shift), ``sat`` (saturated
count) and the shift ``c``. A second pass of the same step (gradient accumulation) adds into the same
buffer about the same shift. :meth:`Reducer.close` concatenates the buffers, the
per-unit maxima and the histograms, passes them through the tracker's ``pool`` (where
pooling across processes plugs in) and reads everything back with one ``tolist()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..activations import SATURATION
from .layers import unit_view

__all__ = ["CHUNK", "ORDER", "Layout", "Plan", "Reducer", "Row", "examples", "flat", "moments",
           "unpack"]

#: Elements per batched float64 block (512 KiB of scratch): small enough to stay in cache
#: between its passes, large enough that small layers share one kernel launch (measured
#: from 2**15 to 2**18: 2**18 costs a quarter more at 256/128, all alike at 64/32).
CHUNK = 1 << 16
#: A row's sums cancel when :math:`\sum x^2 > 10^4 \sum (x - \bar x)^2`: the variance
#: from the raw sums would lose 4 of float64's 16 digits. Such a block is shifted by its
#: row means (one more pass); the others are summed raw, exact to about 1e-12.
CANCEL = 1e4
#: (centre, half-width) of the linear zone of the bounded kinds; beyond it a value is saturated
ZONES = {"tanh": (0.0, SATURATION), "sigmoid": (0.5, SATURATION / 2)}
ON_OFF = ("relu", "relu_like")  # kinds whose units can be off on the whole batch
#: Row order inside a block: saturation rows, then per-unit-maximum rows, then the rest.
ORDER = {"a": 0, "x": 1, "g": 2, "w": 3, "gw": 4, "u": 5}

#: One captured row: (family, layer index, tensor, kind, conv). ``family`` is ``"x"``
#: (layer input), ``"a"`` (activation), ``"g"`` (dL/dz), ``"w"``, ``"gw"`` or ``"u"``.
Row = tuple[str, int, Tensor, str, bool]


def flat(t: Tensor) -> Tensor:
    """A 1-D view of ``t`` without copying when possible (order is irrelevant to sums)."""
    t = t.detach()
    if not t.is_contiguous() and t.dim() == 2 and t.t().is_contiguous():
        t = t.t()  # e.g. the weight gradient of nn.Linear, produced transposed
    return t.reshape(-1)


@dataclass(frozen=True)
class Layout:
    """What one block holds: its rows and which of them get which extra reduction.

    Attributes:
        rows: ``(family, layer)`` per row.
        n: Elements per row.
        sat: ``(start, stop, centre, half)`` row ranges of tanh/sigmoid activations.
        peaks: ``(start, stop, (before, units, after))`` row ranges of ReLU-family
            activations with the same unit view (:func:`~.layers.unit_view`).
    """

    rows: tuple[tuple[str, int], ...]
    n: int
    sat: tuple[tuple[int, int, float, float], ...]
    peaks: tuple[tuple[int, int, tuple[int, int, int]], ...]


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


def _layout(rows: list[Row], n: int) -> Layout:
    keys, sat, peaks = [], [], []
    for r, (family, i, t, kind, conv) in enumerate(rows):
        keys.append((family, i))
        if family != "a":
            continue
        if kind in ZONES:
            centre, half = ZONES[kind]
            if sat and sat[-1][1] == r and sat[-1][2:] == (centre, half):
                sat[-1] = (sat[-1][0], r + 1, centre, half)
            else:
                sat.append((r, r + 1, centre, half))
        elif kind in ON_OFF:
            view = unit_view(tuple(t.shape), conv)
            if peaks and peaks[-1][1] == r and peaks[-1][2] == view:
                peaks[-1] = (peaks[-1][0], r + 1, view)
            else:
                peaks.append((r, r + 1, view))
    return Layout(tuple(keys), n, tuple(sat), tuple(peaks))


def _order(row: Row) -> tuple:
    family, i, t, kind, conv = row
    if family != "a":
        return (1, ORDER[family], i)
    if kind in ZONES:
        return (0, 0, kind, i)
    if kind in ON_OFF:
        return (0, 1, unit_view(tuple(t.shape), conv), i)
    return (0, 2, i)


class _Block:
    """One layout's kernels and its device buffer ``acc`` ``(5, R)``: n, S, Q, sat, c.

    Everything that does not change from step to step (views into ``acc``, scratch
    buffers, the row order) is prepared once: a recorded step runs the kernels only.
    """

    def __init__(self, layout: Layout, dtype: torch.dtype, device: torch.device,
                 shapes: list[tuple[int, ...]], scratch: Callable[..., Tensor]) -> None:
        R, n = len(layout.rows), layout.n
        self.layout, self.step = layout, -1
        self.shifted, self.grown, self.held = True, False, None  # first step: exact two-pass
        self.acc = torch.zeros(5, R, dtype=torch.float64, device=device)
        self.acc[0].fill_(n)
        self.N, self.S, self.Q, self.C = self.acc[0], self.acc[1], self.acc[2], self.acc[4]
        self.C_col = self.C.unsqueeze(1)
        self.q = torch.empty(R, dtype=torch.float64, device=device)
        self.d = scratch((R, n), torch.float64, device)
        self.dst = [row.view(shape) for row, shape in zip(self.d.unbind(), shapes, strict=True)]

        def cast(v: float) -> float:  # a threshold as the tensors' dtype holds it
            return torch.tensor(v, dtype=dtype).item()

        self.sat = [(r0, r1, cast(centre), cast(half),
                     scratch((r1 - r0, n), torch.float64, device, "sat"), self.acc[3, r0:r1])
                    for r0, r1, centre, half in layout.sat]
        self.peaks = [(r0, r1, (r1 - r0, *view), tuple(i for _, i in layout.rows[r0:r1]),
                       view[1]) for r0, r1, view in layout.peaks]

    def run(self, tensors: list[Tensor], reducer: Reducer) -> None:
        first = self.step != reducer._step
        if first:
            self.step = reducer._step
            reducer._used.append(self)
        d = self.d
        torch._foreach_copy_(self.dst, tensors)  # (R, n) float64: stack and convert in one
        for r0, r1, centre, half, tmp, count in self.sat:  # exact: kept where |a - c| > h
            v = torch.sub(d[r0:r1], centre, out=tmp) if centre else d[r0:r1]
            torch.ops.aten.hardshrink.out(v, half, out=tmp)
            tmp.abs_().ceil_()  # 1 per saturated value, 0 elsewhere (|a - c| <= 1)
            torch.sum(tmp, 1, out=count) if first else count.add_(tmp.sum(1))
        for r0, r1, shape, layers, units in self.peaks:  # each unit's best example
            reducer._peak(layers, units, d[r0:r1].view(shape).amax(dim=(1, 3)))
        if first:
            torch.sum(d, 1, out=self.S)
            if self.grown:
                self.N.fill_(self.layout.n)
                self.grown = False
            self.held = [(t, t._version) for t in tensors] if not self.shifted else None
        else:
            self.S.add_(d.sum(1))
            self.N.add_(self.layout.n)
            self.grown, self.held = True, None  # a second pass: the first one's data is gone
        if self.shifted:
            if first:
                torch.div(self.S, self.layout.n, out=self.C)  # this pass's row mean
            d.sub_(self.C_col)
        torch.linalg.vector_norm(d, dim=1, out=self.q)
        torch.mul(self.q, self.q, out=self.Q) if first else self.Q.addcmul_(self.q, self.q)

    def check(self, values: list[float], C: int, c0: int) -> list[int]:
        """After the step's sync: the rows whose sums cancelled (see :data:`CANCEL`).

        A shifted block whose rows all turned out well conditioned goes raw from the next
        step on; a raw block with a cancelling row goes shifted. Returns the cancelling
        rows of a raw block (their values need an exact recomputation).
        """
        bad, worst = [], 0.0
        for r in range(len(self.layout.rows)):
            n, s, q, c = (values[k * C + c0 + r] for k in (0, 1, 2, 4))
            if not (n and math.isfinite(s) and math.isfinite(q)):
                continue
            sc = s - n * c
            m2, sumsq = q - sc * sc / n, q + 2 * c * sc + n * c * c
            if sumsq > CANCEL * max(m2, 0.0):
                bad.append(r)
            worst = max(worst, sumsq / m2 if m2 > 0 else (math.inf if sumsq else 0.0))
        if self.shifted and worst < CANCEL:
            self.shifted = False
            self.C.zero_()
        elif not self.shifted and bad:
            self.shifted = True
            return bad
        return []


class Reducer:
    """Batched reductions of the captured rows; state for the open step only.

    Args:
        bins: Histogram bins per activation and gradient (0: none).
    """

    def __init__(self, bins: int = 0) -> None:
        self.bins = bins
        self._programs: dict[tuple, list[tuple[_Block, list[int]]]] = {}
        self._scratch: dict[tuple, Tensor] = {}
        self._plans: dict[tuple, Plan] = {}
        self._step = 0
        self.last_columns: tuple[tuple[str, int], ...] = ()
        self.unmeasured: list[tuple[str, int]] = []
        self.start()

    def start(self) -> None:
        """Forget the open step's partial results (the buffers are kept)."""
        self._step += 1
        self._used: list[_Block] = []
        self._peaks: dict[tuple, Tensor] = {}
        self._hists: list[tuple[int, str, Tensor, Tensor]] = []

    @property
    def empty(self) -> bool:
        return not self._used and not self._hists

    @torch.no_grad()
    def add(self, rows: list[Row]) -> None:
        """Reduce ``rows`` into the open step (they may be dropped afterwards)."""
        if not rows:
            return
        key = tuple((f, i, t.shape, t.dtype, t.device) for f, i, t, _, _ in rows)
        program = self._programs.get(key)
        if program is None:
            if len(self._programs) > 64:  # shapes keep changing: do not grow without bound
                self._programs.clear()
            program = self._programs[key] = self._compile(rows)
        for block, order in program:
            block.run([rows[j][2] for j in order], self)
        if self.bins:
            for f, i, t, _, _ in rows:
                if f in ("a", "g"):
                    self._histogram(i, "activation" if f == "a" else "gradient", t)

    def _compile(self, rows: list[Row]) -> list[tuple[_Block, list[int]]]:
        """Blocks for ``rows``: grouped by size, dtype and device, at most CHUNK each."""
        groups: dict[tuple, list[int]] = {}
        for j, (_, _, t, _, _) in enumerate(rows):
            if t.numel():
                groups.setdefault((t.numel(), t.dtype, t.device), []).append(j)
        program = []
        for (n, dtype, device), idx in groups.items():
            idx.sort(key=lambda j: _order(rows[j]))
            k = max(1, CHUNK // n)
            for start in range(0, len(idx), k):
                part = idx[start:start + k]
                chunk = [rows[j] for j in part]
                shapes = [tuple(r[2].shape) for r in chunk]
                program.append((_Block(_layout(chunk, n), dtype, device, shapes, self._buffer),
                                part))
        return program

    def _exact(self, values: list[float]) -> None:
        """Recompute, in place in ``values``, the rows of raw blocks whose sums cancelled;
        those whose tensor is gone or changed go to :attr:`unmeasured`."""
        C, c0, redo = sum(len(b.layout.rows) for b in self._used), 0, []
        self.unmeasured = []
        for block in self._used:
            for r in block.check(values, C, c0):
                t, version = block.held[r] if block.held is not None else (None, None)
                if t is None or t._version != version:
                    self.unmeasured.append(block.layout.rows[r])
                else:
                    redo.append((c0 + r, t))
            block.held = None
            c0 += len(block.layout.rows)
        if redo:
            exact = torch.stack([_exact_row(t).to(self._used[0].acc.device)
                                 for _, t in redo]).tolist()  # a second sync, rarely
            for (col, _), (s, q, c) in zip(redo, exact, strict=True):
                values[C + col], values[2 * C + col], values[4 * C + col] = s, q, c

    def _buffer(self, shape: tuple[int, int], dtype: torch.dtype, device,
                use: str = "") -> Tensor:
        key = (shape, dtype, device, use)
        b = self._scratch.get(key)
        if b is None:
            b = self._scratch[key] = torch.empty(shape, dtype=dtype, device=device)
        return b

    def _peak(self, layers: tuple[int, ...], units: int, peak: Tensor) -> None:
        """Keep the maximum per unit over the step's passes, one tensor per group of
        layers; a layer met in two different groups is split out into its own."""
        key = (layers, units)
        old = self._peaks.get(key)
        if old is not None:
            torch.maximum(old, peak, out=old)
            return
        overlap = [k for k in self._peaks if set(k[0]) & set(layers)]
        if not overlap:
            self._peaks[key] = peak
            return
        pieces = [(k[0], self._peaks.pop(k)) for k in overlap] + [(layers, peak)]
        for group, tensor in pieces:
            for r, i in enumerate(group):
                self._peak((i,), units, tensor[r:r + 1].clone())

    def _histogram(self, i: int, what: str, t: Tensor) -> None:
        v = torch.nan_to_num(flat(t).float(), nan=0.0, posinf=0.0, neginf=0.0)
        self._hists.append((i, what, torch.histc(v, self.bins), torch.aminmax(v)))

    @torch.no_grad()
    def close(self, pool: Callable[[Tensor, list[Tensor]], tuple[Tensor, list[Tensor]]],
              extra: Tensor | None = None) -> tuple[list[float], Plan, list[float]]:
        """The open step's values as floats (the one host sync) and how to read them.

        ``pool(sums, peaks)`` gets the float64 sums ``(5, C)`` (see :class:`Plan`) and the
        per-unit maxima, and returns them pooled (identity in one process). ``extra``
        (the loss) is read back in the same sync, as the third result.
        """
        extras = [] if extra is None else [extra.detach().reshape(-1)]
        if self.empty:
            self.start()
            return [], Plan((), (), ()), [float(v) for t in extras for v in t.tolist()]
        device = self._used[0].acc.device if self._used else self._hists[0][2].device
        sums = (torch.cat([b.acc.to(device) for b in self._used], dim=1) if self._used
                else torch.zeros(5, 0, dtype=torch.float64, device=device))  # (5, C)
        peak_keys = list(self._peaks)
        sums, peaks = pool(sums, [self._peaks[k] for k in peak_keys])
        parts = [sums.reshape(-1)] + [(p > 0).sum(1).to(device) for p in peaks]
        parts += [t.reshape(-1).to(device) for _, _, h, mm in self._hists for t in (h, *mm)]
        parts += [t.to(device=device, dtype=torch.float64) for t in extras]
        values = torch.cat(parts).tolist()
        cut = len(values) - sum(t.numel() for t in extras)
        values, tail = values[:cut], values[cut:]
        self._exact(values)
        plan_key = (tuple(id(b) for b in self._used), tuple(peak_keys),
                    tuple((i, what, h.numel()) for i, what, h, _ in self._hists))
        plan = self._plans.get(plan_key)
        if plan is None:
            if len(self._plans) > 64:
                self._plans.clear()
            columns = tuple(key for b in self._used for key in b.layout.rows)
            plan = self._plans[plan_key] = Plan(columns, *plan_key[1:])
        self.last_columns = plan.columns
        self.start()
        return values, plan, tail


def _exact_row(t: Tensor) -> Tensor:
    """``(S, Q, c)`` of one tensor by the exact two-pass float64 formula."""
    d = t.detach().reshape(-1).double()
    s = d.sum()
    c = s / d.numel()
    return torch.stack([s, (d - c).square().sum(), c])


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
        counts, (lo, hi) = values[pos:pos + bins], values[pos + bins:pos + bins + 2]
        hists.append({"layer": i, "kind": what, "counts": counts, "lo": lo, "hi": hi})
        pos += bins + 2
    return parts, active, hists


def examples(values: list[float], plan: Plan) -> int | None:
    """Examples per unit behind ``dead_frac`` (the least over ReLU-family layers)."""
    units = {i: u for layers, u in plan.peaks for i in layers}
    n: dict[int, float] = {}
    for col, (family, i) in enumerate(plan.columns):
        if family == "a" and i in units:
            n[i] = n.get(i, 0.0) + values[col]
    return min(int(v) // units[i] for i, v in n.items()) if n else None
