"""Device side of :class:`~gradcourse.tracking.Tracker`: hook handles that survive
``copy.deepcopy`` and ``pickle`` of the model, and the reductions the hooks run.

Each reduction adds a 0-d result into a float64 slot of
:class:`~gradcourse._records.Sums` on the tensor's device; nothing is read back here.
Float32/bfloat16/float16 tensors are first copied into one reused float64 scratch
vector: the copy costs about as much as a second float32 pass, and it buys sums that
neither overflow nor cancel (see :mod:`gradcourse._records`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

__all__ = ["Hook", "Inert", "Scratch", "add_moments", "add_sum", "flat"]


class Inert:
    """What a :class:`Hook` becomes in a copied or unpickled model: a no-op."""

    def __call__(self, *args: Any) -> None:
        return None


class Hook:
    """A hook that runs ``fn(*args)`` only for the object it was registered on.

    ``copy.deepcopy(model)`` copies the model's hook dicts: the copy gets an
    :class:`Inert` instead of this hook, so its forwards never write into the tracker.
    Pickling (``torch.save`` of the whole module) stores an :class:`Inert` too, where a
    closure would fail to pickle. The owner is held weakly: a hook keeps nothing alive.
    """

    def __init__(self, fn: Callable[..., Any], owner: object) -> None:
        self.fn = fn
        self.owner = weakref.ref(owner)

    def __call__(self, obj: object, *args: Any) -> Any:
        if obj is self.owner():
            return self.fn(obj, *args)
        return None

    def __deepcopy__(self, memo: dict) -> Inert:
        return Inert()

    def __reduce__(self) -> tuple:
        return (Inert, ())


class Scratch:
    """Reused float64 work vectors, one per size: the conversion allocates nothing per call
    (the hidden layers of an MLP share one)."""

    def __init__(self) -> None:
        self.bufs: dict[tuple[int, torch.device], Tensor] = {}

    def float64(self, v: Tensor, device: torch.device) -> Tensor:
        """``v`` (1-D) as float64 on ``device``: itself if it already is."""
        if v.dtype == torch.float64 and v.device == device:
            return v
        key = (v.numel(), device)
        b = self.bufs.get(key)
        if b is None:
            b = self.bufs[key] = torch.empty(v.numel(), dtype=torch.float64, device=device)
        return b.copy_(v)


def flat(t: Tensor) -> Tensor:
    """A 1-D view of ``t`` without copying when possible (order is irrelevant to sums)."""
    t = t.detach()
    if not t.is_contiguous() and t.dim() == 2 and t.t().is_contiguous():
        t = t.t()  # e.g. the weight gradient of nn.Linear, produced transposed
    return t.reshape(-1)


def add_sum(v: Tensor, out: Tensor, scratch: Scratch, first: bool) -> None:
    """``out (+)= sum(v)`` in float64 (``first``: overwrite): NaN/Inf exactly when ``v``
    holds one."""
    d = scratch.float64(v, out.device)
    if first:
        torch.sum(d, 0, out=out)
    else:
        out.add_(d.sum())


def add_moments(v: Tensor, sum_out: Tensor, sq_out: Tensor, scratch: Scratch,
                first: bool) -> None:
    """``sum_out (+)= sum(v)`` and ``sq_out (+)= sum(v * v)`` in float64, for a 1-D ``v``.

    ``first`` writes the results in place (``out=``) instead of adding them: one kernel
    fewer each, for the first pass of a step, the common case.
    """
    d = scratch.float64(v, sum_out.device)
    if first:
        torch.sum(d, 0, out=sum_out)
        torch.dot(d, d, out=sq_out)  # the second pass finds d still in cache
    else:
        sum_out.add_(d.sum())
        sq_out.add_(torch.dot(d, d))
