r"""One batched kernel set of the :class:`~.reduce.Reducer`: a block of captured rows.

A block holds up to :data:`CHUNK` elements of rows of one size, dtype and device, copied
and converted to float64 in one ``torch._foreach_copy_``. Its kernels reduce every row
at once:

* the per-unit maximum over examples (``amax``, for ``dead_frac``) and the count of
  saturated values (``hardshrink`` keeps exactly the values beyond the threshold, taken
  as the tensors' dtype holds it, so the count is the one that dtype's comparison gives);
* the moments: the float64 sum and norm. A float32 value is exact in float64 and ``N``
  of them sum without overflow. On a block's first step the rows are shifted by their
  mean before the norm (two passes, exact to about 1e-15); where that step shows
  :math:`\sum x^2 < 10^4 \sum (x - \bar x)^2` (:data:`CANCEL`) the following steps sum
  raw, one pass fewer and exact to about 1e-12. A raw row that starts to cancel (a sigmoid
  layer with std 2e-4 around 0.99, where ``sum(x**2) - sum(x)**2/N`` keeps only 9 of 16
  digits) is recomputed exactly from its tensor (:meth:`Block.check`), and its block is
  shifted from then on. Float32 accumulation was measured too (about 1e-7 relative, 1e-5
  for a norm over 10**6 values; ``tests/bench_tracker.py`` runs it side by side) and
  rejected.

The results stay on the device in ``acc`` ``(5, R)``: per row the count ``n``, the sum
``S``, the sum of squares ``Q`` about the shift, the saturated count and the shift ``c``.
A second pass of the same step (gradient accumulation) adds in about the same shift.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .layers import unit_view
from .records import ON_OFF, ZONES

__all__ = ["CANCEL", "CHUNK", "ORDER", "Block", "Layout", "Row", "SplitBlock", "exact_row", "flat",
           "make_layout", "row_order", "split"]

#: Elements per batched float64 block (1 MiB of scratch): small enough to stay in cache
#: between its passes, large enough that small layers share one kernel launch (measured
#: from 2**15 to 2**18: 2**18 costs a quarter more at 256/128, all alike at 64/32).
CHUNK = 1 << 17
#: A row's sums cancel when :math:`\sum x^2 > 10^4 \sum (x - \bar x)^2`: the variance
#: from the raw sums would lose 4 of float64's 16 digits. Such a block is shifted by its
#: row means (one more pass); the others are summed raw, exact to about 1e-12.
CANCEL = 1e4
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


def make_layout(rows: list[Row], n: int) -> Layout:
    """The :class:`Layout` of ``rows`` (sorted by :func:`row_order`), ``n`` elements each."""
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


def row_order(row: Row) -> tuple:
    """Sort key: bounded activations, then per-unit-maximum ones, then the rest."""
    family, i, t, kind, conv = row
    if family != "a":
        return (1, ORDER[family], i)
    if kind in ZONES:
        return (0, 0, kind, i)
    if kind in ON_OFF:
        return (0, 1, unit_view(tuple(t.shape), conv), i)
    return (0, 2, i)


class Block:
    """One layout's kernels and its device buffer ``acc`` ``(5, R)``: n, S, Q, sat, c.

    Everything that does not change from step to step (views into ``acc``, scratch
    buffers, the row order) is prepared once: a recorded step runs the kernels only.
    """

    def __init__(self, layout: Layout, dtype: torch.dtype, device: torch.device,
                 shapes: list[tuple[int, ...]], scratch: Callable[..., Tensor],
                 rows: int | None = None) -> None:
        R, n = len(layout.rows), layout.n
        held = R if rows is None else rows  # rows of the float64 buffer
        self.layout, self.step = layout, -1
        self.shifted, self.grown, self.held = True, False, None  # first step: exact two-pass
        self.new = True  # its first step's rows are checked to decide raw or shifted
        self.acc = torch.zeros(5, R, dtype=torch.float64, device=device)
        self.acc[0].fill_(n)
        self.N, self.S, self.Q, self.C = self.acc[0], self.acc[1], self.acc[2], self.acc[4]
        self.C_col = self.C.unsqueeze(1)
        self.q = torch.empty(R, dtype=torch.float64, device=device)
        self.d = scratch((held, n), torch.float64, device)
        self.dst = [row.view(shape) for row, shape in zip(self.d.unbind(), shapes, strict=True)]

        def cast(v: float) -> float:  # a threshold as the tensors' dtype holds it
            return torch.tensor(v, dtype=dtype).item()

        self.sat = [(r0, r1, cast(centre), cast(half),
                     scratch((min(r1 - r0, held), n), torch.float64, device, "sat"),
                     self.acc[3, r0:r1]) for r0, r1, centre, half in layout.sat]
        self.peaks = [(r0, r1, (r1 - r0, *view), tuple(i for _, i in layout.rows[r0:r1]),
                       view[1]) for r0, r1, view in layout.peaks]

    def run(self, tensors: list[Tensor], reducer: Any) -> None:
        """Reduce ``tensors`` (this layout's rows) into ``acc`` for ``reducer``'s open step."""
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


class SplitBlock(Block):
    """One tensor longer than :data:`CHUNK`, reduced as ``k`` sub-rows through one
    sub-row's float64 buffer, so that the passes over each stay in cache (a third faster
    than one pass over the whole at 10**6 elements). Its columns are parts of one row."""

    def __init__(self, layout: Layout, dtype: torch.dtype, device: torch.device, k: int,
                 scratch: Callable[..., Tensor]) -> None:
        super().__init__(layout, dtype, device, [(layout.n,)], scratch, rows=1)
        self.k = k
        self.cols = [tuple(self.acc[r, s:s + 1] for r in (1, 2, 3, 4)) for s in range(k)]
        self.zone = self.sat[0][2:5] if self.sat else None  # (centre, half, tmp)

    def run(self, tensors: list[Tensor], reducer: Any) -> None:
        first = self.step != reducer._step
        if first:
            self.step = reducer._step
            reducer._used.append(self)
        src, d, q, m = tensors[0].reshape(self.k, -1), self.d, self.q[:1], self.layout.n
        for s, (S, Q, sat, C) in enumerate(self.cols):
            d.copy_(src[s:s + 1])
            if self.zone is not None:
                centre, half, tmp = self.zone
                v = torch.sub(d, centre, out=tmp) if centre else d
                torch.ops.aten.hardshrink.out(v, half, out=tmp)
                count = tmp.abs_().ceil_().sum(1)
                sat.copy_(count) if first else sat.add_(count)
            torch.sum(d, 1, out=S) if first else S.add_(d.sum(1))
            if self.shifted:
                if first:
                    torch.div(S, m, out=C)
                d.sub_(C)
            torch.linalg.vector_norm(d, dim=1, out=q)
            torch.mul(q, q, out=Q) if first else Q.addcmul_(q, q)
        if first:
            if self.grown:
                self.N.fill_(m)
                self.grown = False
            self.held = ([(src[s], tensors[0]._version) for s in range(self.k)]
                         if not self.shifted else None)
        else:
            self.N.add_(m)
            self.grown, self.held = True, None


def split(n: int) -> int:
    """Sub-rows for a row of ``n`` elements: 1, or the least ``k <= 64`` dividing ``n`` with
    ``n / k <= CHUNK``."""
    if n <= CHUNK:
        return 1
    return next((k for k in range(-(-n // CHUNK), 65) if n % k == 0), 1)


def exact_row(t: Tensor) -> Tensor:
    """``(S, Q, c)`` of one tensor by the exact two-pass float64 formula."""
    d = t.detach().reshape(-1).double()
    s = d.sum()
    c = s / d.numel()
    return torch.stack([s, (d - c).square().sum(), c])
