"""Small helpers shared by the tracking tests (a batch, a hook count)."""

import torch
from torch import nn


def batch(n=64, d=32, classes=5, seed=0):
    """A reproducible classification batch ``(X, y)``: ``(n, d)`` inputs, ``classes`` labels."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=gen), torch.randint(0, classes, (n,), generator=gen)


def hook_count(model: nn.Module) -> int:
    """Forward, forward-pre and backward hooks registered on ``model``'s modules."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())
