r"""Pooling a :class:`~gradcourse.tracking.Tracker`'s step sums across the ranks of a
``torch.distributed`` group (a model under ``DistributedDataParallel``).

``Tracker(model, pool="global")`` (the default when a group of more than one process is
initialised) makes every rank's :meth:`~gradcourse.tracking.Tracker.summary` what one
process gets on the concatenated batch. Per recorded step, two collectives and never one
per layer: an ``all_gather`` of a fixed-size header (layer and column counts, a checksum
of what was captured, the :math:`\partial L/\partial z` count, whether the loss was
finite), so that ranks whose models disagree are refused by name instead of hanging,
then an ``all_gather`` of the float64 sums and per-unit peaks. Each rank then pools them
the same way, in float64, in rank order, so that every rank holds the same numbers:

* the data families (``"x"`` layer input, ``"a"`` activation, ``"g"``
  :math:`\partial L/\partial z`) are each rank's own examples: every rank's columns are
  re-centred exactly on rank 0's shift :math:`c_0`,
  :math:`Q' = Q + 2 (c - c_0)(S - n c) + n (c - c_0)^2`, and the counts, sums, sums of
  squares and saturated counts are added;
* ``"g"`` is first divided by the world size ``W``: each rank's loss is the mean over
  its own ``b`` examples, and DDP averages the weight gradients, so the optimizer follows
  the mean loss over the ``W b`` examples, whose :math:`\partial L/\partial z` is the
  rank's divided by ``W``;
* the per-unit peaks (``dead_frac``) take the maximum over ranks: a unit is dead when it
  is off on every rank's examples;
* the weight families (``"w"``, ``"gw"``, ``"u"``) are the same on every rank after
  DDP's averaging and are kept as they are.

Assumption, checked: the loss is mean-reduced over the local batch and every rank's
local batch has the same size (``DistributedSampler`` pads the last batch to make it so).
With unequal :math:`\partial L/\partial z` counts the division by ``W`` would be wrong, so
the step raises ``ValueError`` on every rank (use ``pool="local"``, or equal batches). A
loss summed instead of averaged cannot be detected: its ``grad_std`` is then ``b`` times
the concatenated batch's mean-loss one, as in one process. The histograms are not pooled
(each rank keeps its own), and a rare raw row whose sums cancelled is reported unmeasured
on that step rather than recomputed from one rank's tensor.
"""

from __future__ import annotations

import zlib

import torch
from torch import Tensor

__all__ = ["POOLS", "GlobalPool", "dist_info", "resolve_pool"]

#: The values of ``Tracker(pool=...)``: ``None`` picks ``"global"`` in a group of several
#: processes, ``"local"`` otherwise.
POOLS = ("global", "local")
DATA = ("x", "a", "g")


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` without one."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def resolve_pool(pool: str | None) -> str:
    """``"global"`` or ``"local"`` for ``Tracker(pool=...)``.

    Raises:
        ValueError: For another value.
        RuntimeError: If ``"global"`` is asked and no process group is initialised.
    """
    if pool is not None and pool not in POOLS:
        raise ValueError(f"pool must be None, 'global' or 'local', got {pool!r}")
    dist = torch.distributed
    initialised = dist.is_available() and dist.is_initialized()
    if pool == "global" and not initialised:
        raise RuntimeError(
            "Tracker(pool='global') needs an initialised torch.distributed process group: call "
            "torch.distributed.init_process_group(...) before building the Tracker (torchrun "
            "sets its environment), or use pool='local' for this process's own statistics")
    if pool is None:
        return "global" if initialised and dist.get_world_size() > 1 else "local"
    return pool


def _checksum(columns: tuple[tuple[str, int], ...], peaks: list[Tensor]) -> int:
    text = repr((columns, [tuple(p.shape) for p in peaks]))
    return zlib.crc32(text.encode())


class GlobalPool:
    """The ``pool(sums, peaks)`` of a Tracker under ``pool="global"`` (module docstring).

    After each call, :attr:`bad` holds, per column, the ranks whose sums were NaN/Inf
    there, and :attr:`bad_loss` the ranks whose loss was, for naming the rank of a
    :class:`~gradcourse.tracking.NonFinite`.
    """

    def __init__(self) -> None:
        self.rank, self.world = dist_info()
        self.bad: dict[tuple[str, int], list[int]] = {}
        self.bad_loss: list[int] = []

    def __call__(self, sums: Tensor, peaks: list[Tensor], columns: tuple[tuple[str, int], ...],
                 layers: int, loss: Tensor | None, step: int) -> tuple[Tensor, list[Tensor]]:
        dist, W, device = torch.distributed, self.world, sums.device
        C = sums.shape[1]
        is_g = torch.tensor([f == "g" for f, _ in columns], dtype=torch.bool, device=device)
        data = torch.tensor([f in DATA for f, _ in columns], dtype=torch.bool, device=device)
        loss_ok = (torch.ones((), dtype=torch.bool, device=device) if loss is None
                   else torch.isfinite(loss.detach()).all().to(device))
        head = torch.cat([
            torch.tensor([layers, C, sum(p.numel() for p in peaks), _checksum(columns, peaks)],
                         dtype=torch.int64, device=device),
            sums[0][is_g].sum().reshape(1).to(torch.int64), loss_ok.reshape(1).to(torch.int64)])
        heads = [torch.empty_like(head) for _ in range(W)]
        dist.all_gather(heads, head)
        heads = [h.tolist() for h in heads]
        self._check(heads, step)
        self.bad_loss = [r for r, h in enumerate(heads) if not h[5]]
        flat = torch.cat([sums.reshape(-1)] + [p.reshape(-1).to(torch.float64) for p in peaks])
        gathered = [torch.empty_like(flat) for _ in range(W)]
        dist.all_gather(gathered, flat)
        every = torch.stack(gathered)  # (W, 5 C + P)
        s = every[:, :5 * C].reshape(W, 5, C).clone()  # n, S, Q, sat, c per rank
        scale = torch.where(is_g, float(W), 1.0).to(s.dtype)  # (C,)
        s[:, 1] /= scale
        s[:, 2] /= scale * scale
        s[:, 4] /= scale
        n, S, Q, c = s[:, 0], s[:, 1], s[:, 2], s[:, 4]
        c0 = c[0]
        dc = c - c0
        Qc = Q + 2 * dc * (S - n * c) + n * dc * dc  # about rank 0's shift
        pooled = sums.clone()
        pooled[0:2, data] = s[:, 0:2].sum(0)[:, data]
        pooled[2, data] = Qc.sum(0)[data]
        pooled[3, data] = s[:, 3].sum(0)[data]
        pooled[4, data] = c0[data]
        finite = torch.isfinite(S) & torch.isfinite(Q)  # (W, C)
        self.bad = {}
        if not bool(finite.all()):
            for r, col in (~finite).nonzero().tolist():
                self.bad.setdefault(columns[col], []).append(r)
        out, pos = [], 5 * C
        for p in peaks:
            out.append(every[:, pos:pos + p.numel()].amax(0).view(p.shape).to(p.dtype))
            pos += p.numel()
        return pooled, out

    def rank_of(self, phase: str, layer: int | None, source: str) -> int | None:
        """The lowest rank whose data held the NaN/Inf :func:`~.nonfinite.locate` found
        (``None`` for the weights, the same on every rank)."""
        if phase == "loss":
            return self.bad_loss[0] if self.bad_loss else None
        family = {("forward", "input"): "x", ("forward", "output"): "a",
                  ("backward", "output"): "g"}.get((phase, source))
        ranks = self.bad.get((family, layer - 1)) if family and layer else None
        return ranks[0] if ranks else None

    def _check(self, heads: list[list[int]], step: int) -> None:
        """Refuse (on every rank alike) ranks that captured different things."""
        ref = heads[0]
        for r, h in enumerate(heads[1:], start=1):
            if h[0] != ref[0]:
                raise RuntimeError(
                    f"Tracker(pool='global'), step {step}: rank {r} tracks {h[0]} layers and rank "
                    f"0 tracks {ref[0]}: the ranks' models disagree (every rank must wrap the "
                    "same architecture in DistributedDataParallel)")
            if h[4] != ref[4]:
                raise ValueError(
                    f"Tracker(pool='global'), step {step}: the ranks' local batches differ in size "
                    f"(dL/dz counts {[h[4] for h in heads]} by rank); pooling divides each rank's "
                    "dL/dz by the world size, which is right only for equal local batches of a "
                    "mean-reduced loss. Use equal batches (DistributedSampler pads the last one) "
                    "or Tracker(pool='local')")
            if h[1:4] != ref[1:4]:
                raise RuntimeError(
                    f"Tracker(pool='global'), step {step}: rank {r} captured other statistics "
                    f"than rank 0 ({h[1]} columns and {h[2]} unit peaks against {ref[1]} and "
                    f"{ref[2]}): the ranks must run the same forward and backward passes "
                    "(same model, same every=, weights= and update_ratio=)")
