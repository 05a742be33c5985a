"""The weight-level rows of a step: each tracked layer's weight and gradient as the
optimizer will apply them, and the update it takes.

:meth:`WeightRows.before` runs at :meth:`~gradcourse.tracking.Tracker.before_step` (after
any gradient clipping): the weight and its gradient are captured as rows like the hooks'
ones. For ``update_ratio`` the update of plain SGD (no momentum, no weight decay) is
``lr`` times the gradient just captured, so nothing is copied, unless the gradient
changes in place before the step closes (``_version``), when it is captured again; for any
other optimizer the weight is copied here and :meth:`WeightRows.after` takes the
difference once the optimizer has stepped.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .layers import TrackedLayer

__all__ = ["WeightRows", "sgd_lrs"]


def sgd_lrs(optimizer: torch.optim.Optimizer | None) -> dict[int, float]:
    """``id(param) -> lr`` for the parameters plain SGD updates by ``-lr * grad``."""
    if type(optimizer) is not torch.optim.SGD:
        return {}
    return {id(p): float(g["lr"]) for g in optimizer.param_groups for p in g["params"]
            if g.get("momentum", 0) == 0 and g.get("weight_decay", 0) == 0
            and not g.get("maximize", False)}


class WeightRows:
    """The weight, gradient and update rows of the open step."""

    def __init__(self) -> None:
        self.sgd: dict[int, tuple[float, int]] = {}  # layer -> (lr, gradient _version)
        self.copies: list[tuple[int, Tensor]] = []  # layer -> weight before the step

    def before(self, layers: list[TrackedLayer], optimizer: torch.optim.Optimizer | None,
               update: bool, copy: bool) -> list[tuple[str, int, Tensor]]:
        """The ``"w"`` and ``"gw"`` rows now; what ``update_ratio`` needs kept for later."""
        rows: list[tuple[str, int, Tensor]] = []
        lrs = sgd_lrs(optimizer) if update else {}
        for i, layer in enumerate(layers):
            w = layer.linear.weight
            rows.append(("w", i, w))
            if w.grad is not None:
                rows.append(("gw", i, w.grad))
            if update and id(w) in lrs and w.grad is not None:
                self.sgd[i] = (lrs[id(w)], w.grad._version)
            elif update and copy:
                self.copies.append((i, w.detach().clone()))
        return rows

    def after(self, layers: list[TrackedLayer]
              ) -> tuple[list[tuple[str, int, Tensor]], tuple[tuple[int, str, float], ...]]:
        """The ``"u"`` rows after the optimizer step and, per layer, where the update's
        std comes from (``(layer, family, scale)``, see :class:`~.records.Meta`)."""
        rows, meta = [], []
        for i, (lr, version) in self.sgd.items():
            grad = layers[i].linear.weight.grad
            if grad is not None and grad._version != version:  # clipped after before_step()
                rows.append(("u", i, grad))
                meta.append((i, "u", lr))
            else:
                meta.append((i, "gw", lr))
        for i, before in self.copies:
            rows.append(("u", i, before.sub_(layers[i].linear.weight.detach())))
            meta.append((i, "u", 1.0))
        return rows, tuple(sorted(meta))
