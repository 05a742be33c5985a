"""The hook objects themselves: safe to copy, to pickle and to compile.

A :class:`Hook` runs only for the module it was registered on. ``copy.deepcopy`` of a
tracked model copies its hook dicts, and the copy gets an :class:`Inert` instead, so its
forwards never write into the tracker; pickling (``torch.save`` of a whole module) stores
an :class:`Inert` too. Under ``torch.compile`` a hook runs eagerly through a
``torch.compiler.disable``'d call: a graph break at each tracked layer, so the numbers
are those of the eager model.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["COMPILED", "Hook", "Inert"]

COMPILED = [False]  # True while a hook runs from compiled code (through _eager)


class Inert:
    """What a :class:`Hook` becomes in a copied or unpickled model: a no-op."""

    def __call__(self, *args: Any) -> None:
        return None


class Hook:
    """A hook that runs ``fn(obj, *args)`` only for the object it was registered on.

    ``copy.deepcopy(model)`` copies the model's hook dicts: the copy gets an
    :class:`Inert` instead, so its forwards never write into the tracker; pickling stores
    an :class:`Inert` too. The owner is held weakly and ``fn`` belongs to the
    :class:`~.hooks.Recorder`, not to the Tracker: a dropped Tracker is collected (and removes
    its hooks).
    """

    __slots__ = ("fn", "owner")

    def __init__(self, fn: Callable[..., Any], owner: object) -> None:
        self.fn = fn
        self.owner = weakref.ref(owner)

    def __call__(self, obj: object, *args: Any) -> Any:
        if torch.compiler.is_compiling():
            return _eager(self, obj, args)
        if obj is self.owner():
            return self.fn(obj, *args)
        return None

    def __deepcopy__(self, memo: dict) -> Inert:
        return Inert()

    def __reduce__(self) -> tuple:
        return (Inert, ())


@torch.compiler.disable
def _eager(hook: Hook, obj: object, args: tuple) -> None:
    """A hook met by ``torch.compile``: a graph break, then the hook on real tensors."""
    COMPILED[0] = True
    try:
        if obj is hook.owner():
            hook.fn(obj, *args)
    finally:
        COMPILED[0] = False
