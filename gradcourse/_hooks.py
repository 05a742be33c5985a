"""Device side of :class:`~gradcourse.tracking.Tracker`: the forward and backward hooks,
the reductions they run, and hook handles that survive ``copy.deepcopy`` and ``pickle``.

Each reduction adds a 0-d result into a float64 slot of
:class:`~gradcourse._records.Sums` on the tensor's device; nothing is read back here.
Float32/bfloat16/float16 tensors are first copied into one reused float64 scratch
vector: the copy costs about as much as a second float32 pass, and it buys sums that
neither overflow nor cancel (see :mod:`gradcourse._records`).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from ._layers import TrackedLayer
from ._records import LayerCounts, Step, Sums
from .activations import SATURATION, kind

__all__ = ["Hook", "Inert", "Recorder", "Scratch", "add_moments", "add_sum", "flat"]

# (centre, half-width) of the linear zone; outside it the unit is saturated
ZONES = {"tanh": (0.0, SATURATION), "sigmoid": (0.5, SATURATION / 2)}
ON_OFF = ("relu", "relu_like")  # kinds whose units can be off on the whole batch


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


class Recorder:
    """The hooks of :class:`~gradcourse.tracking.Tracker`, which inherits them.

    A forward pass of the model (its root pre-hook) decides whether it is recorded; in
    it each layer's activation statistics are reduced and a tensor hook is put on
    :math:`\\partial L/\\partial z`. For a model that does not describe its layers,
    every Linear/Conv call is *pending* until an activation call pairs with it. At the
    step boundary the weights, their gradients and the update are reduced too.
    """

    layers: list[TrackedLayer]
    bins: int
    _st: Step
    _sums: Sums
    _scratch: Scratch
    _work: Tensor | None
    _discovered: bool
    _names: dict[nn.Module, str]
    _warned: set[str]
    _optimizer: torch.optim.Optimizer | None
    _measure_update: bool
    weights: bool

    def _begin_pass(self, module: nn.Module, args: tuple) -> None:
        """Root pre-hook: decide whether this forward pass is recorded."""
        self._end_pass()
        st = self._st
        if not st.recording or not torch.is_grad_enabled():
            return
        if not module.training and st.trained:
            return  # an eval-mode pass after a training one (validation before step())
        self._in_pass, st.trained = True, st.trained or module.training
        st.passes += 1
        if not self._discovered:  # the first recorded pass names the layers
            self.layers, st.counts = [], []

    def _end_pass(self) -> None:
        if getattr(self, "_in_pass", False) and not self._discovered:
            self._discovered = True
            if not self.layers:
                warnings.warn("Tracker: no activation module ran on the output of a Linear/"
                              "Conv in this forward pass; nothing is tracked", stacklevel=3)
        self._in_pass, self._pending, self._ordinal = False, None, 0
        self._last_out: Tensor | None = None
        self._inputs: dict[int, tuple[Tensor, Tensor]] = {}

    def _on_weight_layer(self, module: nn.Module, args: tuple, out: Tensor) -> None:
        if self._in_pass:  # replaces a pending one: that was not followed by an activation
            self._pending = (module, args[0] if args else None, out)

    def _on_any_act(self, module: nn.Module, args: tuple, out: Tensor) -> None:
        if not self._in_pass or self._pending is None:
            return
        linear, x, z = self._pending
        self._pending, i = None, self._ordinal
        self._ordinal += 1
        if not self._discovered:
            self.layers.append(TrackedLayer(i + 1, self._names[linear], linear, module,
                                            kind(module)))
            self._sums.grow(i + 1)
            self._st.counts.append(LayerCounts())
        elif i >= len(self.layers) or self.layers[i].linear is not linear \
                or self.layers[i].act is not module:
            self._warn_once("path", f"Tracker: this forward pass ran {self._names[linear]} -> "
                            f"{type(module).__name__} as call {i + 1}, which the first pass did "
                            "not; it is not recorded")
            return
        self._measure(i, x, z, out)

    def _on_linear(self, i: int, module: nn.Module, args: tuple, out: Tensor) -> None:
        if self._in_pass:
            self._inputs[i] = (args[0], out)

    def _on_act(self, i: int, module: nn.Module, args: tuple, out: Tensor) -> None:
        if not self._in_pass:
            return
        if self.layers[i].direct:  # args[0] is the Linear's output z; x was checked
            self._measure(i, None, args[0], out)
        elif i in self._inputs:
            self._measure(i, *self._inputs.pop(i), out)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, stacklevel=4)

    # -- reductions --------------------------------------------------------------------------
    def _measure(self, i: int, x: Tensor | None, z: Tensor, out: Tensor) -> None:
        """Layer ``i``'s input check, activation statistics and the hook on ``dL/dz``."""
        st, slot, c = self._st, self._sums.slot, self._st.counts[i]
        if isinstance(x, Tensor) and x is not self._last_out and x.is_floating_point():
            add_sum(flat(x), slot["x_sum"][i], self._scratch, not c.x)  # else checked as an output
            c.x += x.numel()
        if isinstance(z, Tensor) and z.requires_grad:
            z.register_hook(partial(self._on_grad, i))
        a = out.detach()
        av = a.reshape(-1)
        add_moments(av, slot["a_sum"][i], slot["a_sq"][i], self._scratch, not c.a)
        c.a += av.numel()
        c.passes += 1
        layer_kind = self.layers[i].kind
        if layer_kind in ZONES:  # hardshrink(a - centre) is non-zero exactly in the tails
            centre, half = ZONES[layer_kind]
            w = self._work_like(av)
            torch.ops.aten.hardshrink.out(av - centre if centre else av, half, out=w)
            n_sat = torch.count_nonzero(w)
            slot["sat"][i].copy_(n_sat) if c.passes == 1 else slot["sat"][i].add_(n_sat)
            c.sat = True
        elif layer_kind in ON_OFF and a.dim() >= 1:
            peak = a.reshape(a.shape[0], -1).amax(0)  # (units,): best example per unit
            prev = st.peaks.get(i)
            st.peaks[i] = peak if prev is None or prev.shape != peak.shape else prev.maximum(peak)
            c.units = peak.numel()
        if self.bins:
            self._histogram(i, "activation", av)
        self._last_out = out

    def _on_grad(self, i: int, grad: Tensor) -> None:
        if i >= len(self._st.counts):
            return
        g, c = flat(grad), self._st.counts[i]
        add_moments(g, self._sums.slot["g_sum"][i], self._sums.slot["g_sq"][i], self._scratch,
                    not c.g)
        c.g += g.numel()
        if self.bins:
            self._histogram(i, "gradient", g)

    def _histogram(self, i: int, what: str, v: Tensor) -> None:
        v = torch.nan_to_num(v.float(), nan=0.0, posinf=0.0, neginf=0.0)
        self._st.hists.append((i, what, torch.histc(v, self.bins), torch.aminmax(v)))

    def _work_like(self, v: Tensor) -> Tensor:
        """A reused work tensor shaped like ``v``: it stays in cache from layer to layer."""
        w = self._work
        if w is None or w.shape != v.shape or w.dtype != v.dtype or w.device != v.device:
            w = self._work = torch.empty_like(v)
        return w

    # -- weights, at the step boundary -----------------------------------------------------
    def _sgd_lrs(self) -> dict[int, float]:
        """``id(param) -> lr`` for parameters updated by plain SGD (update = -lr * grad)."""
        opt = self._optimizer
        if type(opt) is not torch.optim.SGD:
            return {}
        return {id(p): float(g["lr"]) for g in opt.param_groups for p in g["params"]
                if g.get("momentum", 0) == 0 and g.get("weight_decay", 0) == 0
                and not g.get("maximize", False)}

    def _measure_weights(self, copy: bool) -> None:
        st = self._st
        if not st.recording or st.grads_done or not self.weights:
            return
        st.grads_done = True
        st.lrs = self._sgd_lrs() if self._measure_update else {}
        slot = self._sums.slot
        for i, layer in enumerate(self.layers):
            w, c = layer.linear.weight, st.counts[i]
            wv = flat(w)
            add_moments(wv, slot["w_sum"][i], slot["w_sq"][i], self._scratch, True)
            c.w = wv.numel()
            if w.grad is not None:
                g = flat(w.grad)
                add_moments(g, slot["gw_sum"][i], slot["gw_sq"][i], self._scratch, True)
                c.gw, c.gw_version = g.numel(), w.grad._version
            need_copy = copy and self._measure_update and id(w) not in st.lrs
            st.snap.append(w.detach().clone() if need_copy else None)

    def _update_stats(self) -> None:
        st, slot = self._st, self._sums.slot
        for i, layer in enumerate(self.layers):
            w, c = layer.linear.weight, st.counts[i]
            snap = st.snap[i] if i < len(st.snap) else None
            if snap is not None:
                d = flat(snap.sub_(w.detach()))
                add_moments(d, slot["u_sum"][i], slot["u_sq"][i], self._scratch, True)
                c.u, c.u_scale = d.numel(), 1.0
            elif (lr := st.lrs.get(id(w))) is not None and c.gw and w.grad is not None:
                if w.grad._version != c.gw_version:  # changed in place since before_step()
                    add_moments(flat(w.grad), slot["u_sum"][i], slot["u_sq"][i], self._scratch,
                                True)
                else:
                    c.u_is_gw = True  # the SGD update is -lr * the gradient measured
                c.u, c.u_scale = c.gw, lr
