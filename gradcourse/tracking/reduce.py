r"""The step-end reductions of :class:`~gradcourse.tracking.Tracker`: every statistic of
every layer in a few batched kernels, and one host sync.

The hooks only capture tensors (:mod:`.hooks`). At a step boundary :meth:`Reducer.add`
groups the captured rows (an activation, a :math:`\partial L/\partial z`, a weight,
...) into :class:`~.blocks.Block` s by size, dtype and device; the grouping is compiled
once per set of row shapes, so a recorded step runs kernels only. :meth:`Reducer.close`
concatenates the blocks' sums, the per-unit maxima and the histograms, passes them
through the tracker's ``pool`` (where pooling across processes plugs in), reads
everything back with one ``tolist()`` and recomputes exactly the rare rows whose raw
sums cancelled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from . import blocks
from .blocks import Block, Row, SplitBlock, exact_row, flat, make_layout, row_order
from .records import ON_OFF, Plan

__all__ = ["Reducer"]


class Reducer:
    """Batched reductions of the captured rows; state for the open step only.

    Args:
        bins: Histogram bins per activation and gradient (0: none).
    """

    def __init__(self, bins: int = 0) -> None:
        self.bins = bins
        self._programs: dict[tuple, list[tuple[Block, list[int]]]] = {}
        self._scratch: dict[tuple, Tensor] = {}
        self._plans: dict[tuple, Plan] = {}
        self._step = 0
        self.last_columns: tuple[tuple[str, int], ...] = ()
        self.unmeasured: list[tuple[str, int]] = []
        self.start()

    def start(self) -> None:
        """Forget the open step's partial results (the buffers are kept)."""
        self._step += 1
        self._used: list[Block] = []
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
        for block, rows_of in program:
            block.run([rows[j][2] for j in rows_of], self)
        if self.bins:
            for f, i, t, _, _ in rows:
                if f in ("a", "g"):
                    self._histogram(i, "activation" if f == "a" else "gradient", t)

    def _compile(self, rows: list[Row]) -> list[tuple[Block, list[int]]]:
        """Blocks for ``rows``: grouped by size, dtype and device, at most CHUNK each."""
        groups: dict[tuple, list[int]] = {}
        for j, (_, _, t, _, _) in enumerate(rows):
            if t.numel():
                groups.setdefault((t.numel(), t.dtype, t.device), []).append(j)
        program = []
        for (n, dtype, device), idx in groups.items():
            idx.sort(key=lambda j: row_order(rows[j]))
            parts = blocks.split(n)
            if parts > 1:  # long rows, one at a time through a cache-sized buffer
                for j in idx:
                    f, _, t, kind, _ = rows[j]
                    if f == "a" and kind in ON_OFF:  # its units span the sub-rows: whole
                        lay = make_layout([rows[j]], n)
                        block = Block(lay, dtype, device, [tuple(t.shape)], self._buffer)
                    else:
                        lay = make_layout([rows[j]] * parts, n // parts)
                        block = SplitBlock(lay, dtype, device, parts, self._buffer)
                    program.append((block, [j]))
                continue
            k = max(1, blocks.CHUNK // n)
            for start in range(0, len(idx), k):
                part = idx[start:start + k]
                chunk = [rows[j] for j in part]
                shapes = [tuple(r[2].shape) for r in chunk]
                program.append((Block(make_layout(chunk, n), dtype, device, shapes, self._buffer),
                                part))
        return program

    def _exact(self, values: np.ndarray, C: int, exact: bool = True) -> None:
        """Recompute, in place in ``values``, the rows of raw blocks whose sums cancelled;
        those whose tensor is gone or changed go to :attr:`unmeasured`. Only blocks on
        their first step, or all of them if a raw column cancels, are looked at."""
        c0, redo = 0, []
        self.unmeasured = []
        n, s, q, c = values[0:C], values[C:2 * C], values[2 * C:3 * C], values[4 * C:5 * C]
        if np.isfinite(s).all() and np.isfinite(q).all() and np.abs(s).max(initial=0) < 1e150:
            cancelled = bool(((q > blocks.CANCEL * (q - s * s / n)) & (c == 0)).any())
        else:  # NaN/Inf (or sums near float64's range): compare column by column
            with np.errstate(all="ignore"):
                cancelled = bool(((q > blocks.CANCEL * (q - s * s / n)) & (c == 0)).any())
        for block in self._used:
            rows = block.check(values, C, c0) if cancelled or block.new else []
            block.new = False
            for r in rows:
                t, version = block.held[r] if block.held is not None else (None, None)
                if t is None or t._version != version or not exact:
                    self.unmeasured.append(block.layout.rows[r])
                else:
                    redo.append((c0 + r, t))
            block.held = None
            c0 += len(block.layout.rows)
        if redo:
            exact = torch.stack([exact_row(t).to(self._used[0].acc.device)
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
              extra: Tensor | None = None, exact: bool = True) -> tuple[np.ndarray, Plan, list[float]]:
        """The open step's values, float64 on the host (the one sync), and how to read them.

        ``pool(sums, peaks)`` gets the float64 sums ``(5, C)`` (see :class:`Plan`; their
        columns are :attr:`last_columns` by then) and the per-unit maxima, and returns them
        pooled (identity in one process). ``extra`` (the loss) is read back in the same
        sync, as the third result. ``exact=False`` (pooled sums, whose tensors are on other
        processes too): a raw row whose sums cancelled is unmeasured, not recomputed.
        """
        extras = [] if extra is None else [extra.detach().reshape(-1)]
        if self.empty:
            self.start()
            return np.zeros(0), Plan((), (), ()), [float(v) for t in extras for v in t.tolist()]
        device = self._used[0].acc.device if self._used else self._hists[0][2].device
        sums = (torch.cat([b.acc.to(device) for b in self._used], dim=1) if self._used
                else torch.zeros(5, 0, dtype=torch.float64, device=device))  # (5, C)
        peak_keys = list(self._peaks)
        self.last_columns = tuple(key for b in self._used for key in b.layout.rows)
        try:
            sums, peaks = pool(sums, [self._peaks[k] for k in peak_keys])
        except BaseException:
            self.start()  # a refused step leaves nothing half-open
            raise
        parts = [sums.reshape(-1)] + [(p > 0).sum(1).to(device) for p in peaks]
        parts += [t.reshape(-1).to(device) for _, _, h, mm in self._hists for t in (h, *mm)]
        parts += [t.to(device=device, dtype=torch.float64) for t in extras]
        host = torch.cat(parts).cpu().numpy() if len(parts) > 1 else sums.reshape(-1).cpu().numpy()
        cut = host.size - sum(t.numel() for t in extras)
        values, tail = host[:cut].copy(), host[cut:].tolist()
        self._exact(values, sums.shape[1], exact)
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
