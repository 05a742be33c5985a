"""Capture only: the forward and gradient hooks of :class:`~gradcourse.tracking.Tracker`.

A hook does one thing: it keeps a reference to its tensor (an activation, a layer input,
a :math:`\\partial L/\\partial z`) together with the tensor's ``_version``; nothing is
computed here. :meth:`Recorder.take` checks the versions when the step reduces them: a
tensor changed in place since (``ReLU(inplace=True)`` after it, ``x += residual`` on it)
is dropped, said once, and captured by copy from then on. The first recorded pass after
attaching captures by copy and by reference, so it is right and tells which tensors
change. :math:`\\partial L/\\partial z` is hooked on the autograd node that produced
:math:`z`, in the weight layer's forward hook, before any in-place activation can
replace it.

The hooks are :class:`~.plumbing.Hook` objects: inert in copies, eager under
``torch.compile``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from .layers import Pairing, TrackedLayer, candidates
from .plumbing import COMPILED, Hook

__all__ = ["Recorder"]

class _Grad:
    """Node pre-hook: captures the gradient of output ``nr`` for layer ``layer`` (an
    index, or a first-pass :class:`~.layers.Call`, kept if the call became a layer)."""

    __slots__ = ("layer", "nr", "rec")

    def __init__(self, rec: Recorder, layer: Any, nr: int) -> None:
        self.rec, self.layer, self.nr = rec, layer, nr

    def __call__(self, grads: tuple) -> None:
        g = grads[self.nr] if self.nr < len(grads) else None
        i = self.layer if isinstance(self.layer, int) else self.layer.layer
        if isinstance(g, Tensor) and i is not None:
            self.rec.capture("g", i, g)


class Recorder:
    """The hooks: which forward passes are recorded, and what they capture.

    A forward pass of the root module (its pre-hook) is recorded when the tracker's step
    is, gradients are enabled, no ``torch.func`` transform is active, and it is not an
    eval-mode pass after a training-mode one (a validation forward before ``step()``).
    """

    def __init__(self, root: nn.Module, layers: list[TrackedLayer] | None,
                 sink: Callable[[list], None], compiled: bool) -> None:
        self.root, self.sink, self.compiled = root, sink, compiled
        self.layers: list[TrackedLayer] = layers or []
        self.discovered = layers is not None
        self.names = {k: v for part in candidates(root) for k, v in part.items()} \
            if layers is None else {}
        self.pairing: Pairing | None = None
        self.handles: list[Any] = []
        self.layer_handles: list[Any] = []
        self.recording = False
        self.captures: list[tuple] = []
        self.copy: set[tuple[str, int]] = set()  # captured by copy from now on
        self.stale: set[tuple[str, int]] = set()
        self.warned: set[str] = set()
        self.probe = True
        self.captured_bytes = 0
        self.output: Tensor | None = None
        self.output_grad: Tensor | None = None
        self.awaiting: dict[nn.Module, list[int]] = {}  # checkpointed: dL/dz in recompute
        self.grad_hooks: dict[tuple[int, int], _Grad] = {}
        self.need_ids = True
        self.called: set[nn.Module] | None = None
        self.new_step()

    # -- attaching -----------------------------------------------------------------------
    def attach(self) -> None:
        add, root = self.handles.append, self.root
        add(root.register_forward_pre_hook(Hook(self._begin, root)))
        add(root.register_forward_hook(Hook(self._end, root)))
        self._hook_layers()

    def remove(self) -> None:
        for handle in self.handles + self.layer_handles:
            handle.remove()
        self.handles.clear()
        self.layer_handles.clear()
        self.in_pass = False
        self.new_step()

    def _hook_layers(self) -> None:
        for handle in self.layer_handles:
            handle.remove()
        self.layer_handles.clear()
        add = self.layer_handles.append
        if not self.discovered:
            weights, acts = candidates(self.root)
            for module in weights:
                add(module.register_forward_hook(Hook(self._on_weight, module)))
            for module in acts:
                add(module.register_forward_pre_hook(Hook(self._on_act_input, module)))
                add(module.register_forward_hook(Hook(self._on_act, module)))
            return
        self.direct = [layer.direct and not self.compiled
                       and not getattr(layer.act, "inplace", False) for layer in self.layers]
        self.lin_calls: dict[nn.Module, list[int | None]] = {}
        self.act_calls: dict[nn.Module, list[int | None]] = {}
        for i, layer in enumerate(self.layers):
            if not self.direct[i]:
                _put(self.lin_calls, layer.linear, layer.calls[0], i)
            _put(self.act_calls, layer.act, layer.calls[1], i)
        # a layer input is checked unless it is a tracked activation's output: with only
        # layer 1 hooked on its Linear (a plain MLP) that input is the model's
        self.need_ids = any(i > 0 for calls in self.lin_calls.values() for i in calls
                            if i is not None)
        for module in self.lin_calls:
            add(module.register_forward_hook(Hook(self._on_weight, module)))
        for module in self.act_calls:
            add(module.register_forward_hook(Hook(self._on_act, module)))

    # -- steps and passes ------------------------------------------------------------------
    def new_step(self) -> None:
        self.captures, self.stale = [], set()
        self.passes, self.trained, self.in_pass = 0, False, False
        self.output = self.output_grad = None
        self.awaiting = {}
        self.captured_bytes = 0

    def _begin(self, module: nn.Module, args: tuple) -> None:
        if self.in_pass and not self.discovered:
            self.pairing = None  # the first pass raised: discover again in this one
        self.in_pass = False
        if not self.recording or not torch.is_grad_enabled():
            return
        if torch._C._functorch.peek_interpreter_stack() is not None:
            self.warn_once("func", "Tracker: a forward pass under a torch.func transform "
                           "(grad, vmap, functional_call inside them) is not recorded; its "
                           "statistics are None")
            return
        if not module.training and self.trained:
            return  # an eval-mode pass after a training one (validation before step())
        if self.captures and self.passes:
            self.sink(self.take())  # the previous pass of this step: memory stays one pass
        self.in_pass, self.trained = True, self.trained or module.training
        self.passes += 1
        self.count: dict[nn.Module, int] = {}
        self.act_ids: set[int] = set()
        self.node_stack: list = []
        if not self.discovered:
            self.pairing = Pairing(self.names)

    def _end(self, module: nn.Module, args: tuple, out: Any) -> None:
        if not self.in_pass:
            return
        self.in_pass = False
        if isinstance(out, Tensor):
            self.output = out.detach()
            if out.grad_fn is not None:
                out.grad_fn.register_prehook(self._output_grad(out.output_nr))
        if not self.discovered and self.pairing is not None:
            self.layers, self.called = self.pairing.layers, self.pairing.called
            self.discovered, self.pairing = True, None
            self._hook_layers()
            if not self.layers:
                hint = (" (torch.compile: compiled before the Tracker attached? compiled code "
                        "does not see hooks added later; attach first, or call "
                        "torch._dynamo.reset())" if self.compiled else "")
                warnings.warn("Tracker: no activation module ran on the output of a Linear/"
                              f"Conv in this forward pass; nothing is tracked{hint}",
                              stacklevel=3)

    def _output_grad(self, nr: int) -> Callable[[tuple], None]:
        def keep(grads: tuple) -> None:
            if nr < len(grads) and isinstance(grads[nr], Tensor):
                self.output_grad = grads[nr]
        return keep

    # -- the layer hooks -------------------------------------------------------------------
    def _ordinal(self, module: nn.Module) -> int:
        j = self.count.get(module, 0)
        self.count[module] = j + 1
        return j

    def _lookup(self, table: dict, module: nn.Module) -> int | None:
        calls, j = table[module], self._ordinal(module)
        if j < len(calls):
            return calls[j]
        self.warn_once("path", f"Tracker: this forward pass called {type(module).__name__} "
                       "more often than the first recorded pass; the extra calls are not "
                       "recorded")
        return None

    def _on_weight(self, module: nn.Module, args: tuple, out: Any) -> None:
        if not self.in_pass:
            if self.awaiting.get(module) and torch.is_grad_enabled():
                self._grad(self.awaiting[module].pop(0), out, module)  # checkpoint recompute
            return
        x = args[0] if args else None
        if not self.discovered:
            call = self.pairing.weight_call(module, self._ordinal(module), x, out)
            if call.node is not None:
                call.node.register_prehook(_Grad(self, call, out.output_nr))
            return
        i = self._lookup(self.lin_calls, module)
        if i is not None:
            self._input(i, x)
            self._grad(i, out, module)

    def _on_act_input(self, module: nn.Module, args: tuple) -> None:
        if self.in_pass and not self.discovered:
            x = args[0] if args else None
            self.node_stack.append((getattr(x, "grad_fn", None), isinstance(x, Tensor)))

    def _on_act(self, module: nn.Module, args: tuple, out: Any) -> None:
        if not self.in_pass:
            if self.awaiting.get(module) and torch.is_grad_enabled() and args:
                self._grad(self.awaiting[module].pop(0), args[0], module)
            return
        if not isinstance(out, Tensor):
            return
        if not self.discovered:
            node, has_input = self.node_stack.pop() if self.node_stack else (None, False)
            call = self.pairing.act_call(module, self._ordinal(module), node, has_input)
            if call is not None:
                self._input(call.layer, call.x)
                if call.node is None and not torch.is_grad_enabled():
                    self.awaiting.setdefault(call.module, []).append(call.layer)
                self.capture("a", call.layer, out)
            self.act_ids.add(id(out))
            return
        i = self._lookup(self.act_calls, module)
        if i is None:
            return
        if self.direct[i]:
            if COMPILED[0]:  # z was consumed inside the compiled graph: its hook would
                self._undirect(i)  # miss that part of dL/dz; hook the Linear from now on
            else:
                self._grad(i, args[0], module)
        self.capture("a", i, out)
        if self.need_ids:
            self.act_ids.add(id(out))

    def _undirect(self, i: int) -> None:
        self.stale.add(("g", i))
        self.compiled = True
        self.warn_once("compiled", "Tracker: torch.compile traced the model after the "
                       "Tracker attached; dL/dz of gradcourse.MLP layers is not measured on "
                       "this step (the following steps hook each Linear)")
        self._hook_layers()

    def _input(self, i: int, x: Any) -> None:
        if isinstance(x, Tensor) and id(x) not in self.act_ids and x.is_floating_point():
            self.capture("x", i, x)

    def _grad(self, i: int, z: Any, module: nn.Module) -> None:
        node = getattr(z, "grad_fn", None)
        if node is not None:
            nr = z.output_nr
            hook = self.grad_hooks.get((i, nr))  # stateless: one per layer serves every pass
            if hook is None:
                hook = self.grad_hooks[(i, nr)] = _Grad(self, i, nr)
            node.register_prehook(hook)
        elif isinstance(z, Tensor) and not torch.is_grad_enabled():
            self.awaiting.setdefault(module, []).append(i)  # checkpoint(use_reentrant=True)

    # -- captures ------------------------------------------------------------------------------
    def capture(self, family: str, i: int, t: Tensor) -> None:
        """Keep ``t`` (by reference, or by copy where it was seen to change in place)."""
        if self.probe or (self.copy and (family, i) in self.copy):
            self.captures.append((family, i, t.detach().clone(), t if self.probe else None,
                                  t._version))
        else:
            self.captures.append((family, i, t, t, t._version))

    def take(self) -> list[tuple]:
        """The captures so far as :data:`~.reduce.Row` tuples; changed ones dropped."""
        rows, held, layers = [], 0, self.layers
        for family, i, t, base, version in self.captures:
            held += t.element_size() * t.numel()
            if base is not None and base._version != version:
                if base is t:  # a reference that changed: this step cannot know the value
                    self.stale.add((family, i))
                    self.warn_once(f"stale{family}{i}", f"Tracker: the {_WHAT[family]} of "
                                   f"layer {i + 1} was changed in place before the step "
                                   "reduced it; not measured on this step, copied from now on")
                    continue
                self.copy.add((family, i))  # the probe's copy is right; copy from now on
            if i < len(layers):
                rows.append((family, i, t, layers[i].kind, layers[i].conv))
        self.captures = []
        self.probe = False
        self.captured_bytes = max(self.captured_bytes, held)
        return rows

    def warn_once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            warnings.warn(message, stacklevel=4)


_WHAT = {"a": "activation", "x": "input", "g": "gradient dL/dz"}


def _put(table: dict, module: nn.Module, ordinal: int, i: int) -> None:
    calls = table.setdefault(module, [])
    calls.extend([None] * (ordinal + 1 - len(calls)))
    calls[ordinal] = i
