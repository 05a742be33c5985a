"""Attaching a :class:`~gradcourse.tracking.Tracker` and letting it go.

What can be refused is refused when the Tracker is built (an optimizer that is not one,
a model on the meta device); what is only partly tracked is said (a module that looks
like an activation but is not registered, a recurrent module). The hooks hold the
:class:`~.hooks.Recorder`, never the Tracker: a Tracker dropped while attached (a
notebook cell run again) is collected and its finalizer removes every hook, and one
attached to a model that still has another attached Tracker warns.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import torch
from torch import nn

from .hooks import Recorder
from .layers import TrackedLayer, unregistered
from .plumbing import Hook

__all__ = ["attach", "check", "refuse_meta"]

_ATTACHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> recorders


def refuse_meta(model: nn.Module) -> None:
    """Raise if ``model`` has parameters on the meta device (shapes without data)."""
    if any(p.is_meta for p in model.parameters()):
        raise ValueError("the model's parameters are on the meta device (shapes without data), "
                         "so there is nothing to measure: materialize it first, e.g. "
                         "model.to_empty(device='cpu') and then initialize its parameters "
                         "(reset_parameters() of each layer), or build it on a real device")


def check(model: nn.Module, optimizer: Any) -> None:
    """The checks of ``Tracker(model, optimizer=...)``: errors that name the fix."""
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer whose step() closes each step, got "
            f"{type(optimizer).__name__} {optimizer!r}; the Tracker builds no optimizer: "
            "pass e.g. optimizer=torch.optim.SGD(model.parameters(), lr=0.1), or leave it "
            "out and call tracker.step() after optimizer.step()")
    refuse_meta(model)
    for message in unregistered(model)[:1]:
        warnings.warn(f"Tracker: {message}; until then it is not tracked", stacklevel=3)


class _Call:
    """``tracker.name()`` without keeping the tracker alive (an optimizer hook)."""

    def __init__(self, tracker: Any, name: str) -> None:
        self.ref, self.name = weakref.ref(tracker), name

    def __call__(self, *args: Any) -> None:
        tracker = self.ref()
        if tracker is not None:
            getattr(tracker, self.name)()


def attach(tracker: Any, layers: list[TrackedLayer] | None, sink: Any,
           optimizer: torch.optim.Optimizer | None, untracked: dict[str, str]
           ) -> tuple[Recorder, weakref.finalize]:
    """Hook ``tracker.model`` (and ``optimizer``'s ``step()``); the recorder and the
    finalizer that removes the hooks when the tracker is collected."""
    model = tracker.model
    refuse_meta(model)
    if any(r.handles for r in _ATTACHED.get(model, ())):
        warnings.warn("Tracker: this model already has an attached Tracker, whose hooks keep "
                      "recording (a re-run notebook cell?): call .remove() on it, or del it",
                      stacklevel=3)
    compiled = hasattr(model, "_orig_mod") or getattr(model, "_compiled_call_impl", None) is not None
    rec = Recorder(model, layers, sink, compiled)
    rec.attach()
    if optimizer is not None:
        rec.handles.append(optimizer.register_step_pre_hook(
            Hook(_Call(tracker, "before_step"), optimizer)))
        rec.handles.append(optimizer.register_step_post_hook(Hook(_Call(tracker, "step"),
                                                                  optimizer)))
    for name, reason in untracked.items():
        if reason.startswith("recurrent"):
            rec.warn_once("rnn", f"Tracker: {name!r} is a {reason}: its gradient through time "
                          "is not measured; the statistics cover only the tracked layers "
                          "(see Tracker.untracked)")
    _ATTACHED.setdefault(model, weakref.WeakSet()).add(rec)
    return rec, weakref.finalize(tracker, rec.remove)
