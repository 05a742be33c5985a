r"""Per-layer statistics of the forward signal and the back-propagated gradient.

:class:`Tracker` watches the hidden layers of a model (see
:func:`gradcourse._layers.find_layers` for which ones) and records, on every
recorded step and for each layer ``k`` (1 = nearest the input):

* ``act_mean``, ``act_std``: mean and std of the activation output;
* ``saturated_frac`` (tanh and sigmoid): fraction of activations in the flat
  tails. Tanh counts :math:`|a| > 0.97`, as in Karpathy's *makemore* lecture,
  where :math:`\tanh'(z) = 1 - a^2 < 0.059`, i.e. below 6 % of its maximum.
  Sigmoid counts :math:`a < 0.015` or :math:`a > 0.985`: since
  :math:`\sigma(z) = (1 + \tanh(z/2))/2` this is the same region,
  :math:`\sigma'(z) = \sigma(1 - \sigma) < 0.0148`, again 6 % of its maximum 1/4;
* ``dead_frac`` (ReLU family): fraction of units inactive (output :math:`\le 0`)
  on every example of the batch. For ReLU such a unit gets no gradient at all;
* ``grad_std``: std of :math:`\partial L / \partial z`, the gradient w.r.t. the
  layer's pre-activation :math:`z = Wx + b` (Glorot & Bengio 2010, Fig. 7);
* ``weight_grad_norm`` :math:`\lVert \partial L/\partial W \rVert_2` and
  ``grad_data_ratio`` :math:`\operatorname{std}(\partial L/\partial W) / \operatorname{std}(W)`;
* ``update_ratio`` :math:`\operatorname{std}(\Delta W) / \operatorname{std}(W)`, the
  step actually taken relative to the weight before it (rule of thumb: about
  :math:`10^{-3}`). For plain SGD it is :math:`\eta\,\operatorname{std}(\partial L/\partial W)`
  over :math:`\operatorname{std}(W)`; for any other optimizer the weights are
  copied before the step and compared after it;
* ``nonfinite_forward``, ``nonfinite_backward``: whether any of them was NaN/Inf.

Cost: each statistic is reduced on the tensors' device into one preallocated buffer:
the activation's in its module's forward hook, while it is still in cache;
:math:`\partial L/\partial z` in a tensor hook, as autograd produces it; the weight and
its gradient in :meth:`Tracker.before_step`, after any clipping. For a plain
:class:`gradcourse.MLP` layer one hook on the activation sees both the Linear's output
and the activation, so the Linear gets none. At the end of the step one ``tolist()``
(the only host sync) turns the buffer into plain floats: no tensor outlives the step,
and the per-layer records are built from those floats only when they are read. The
price per recorded step is measured by ``python tests/bench_tracker.py``; ``every=k``
divides it by ``k``.

Use it with :func:`gradcourse.train` (``callbacks=[tracker]``) or in your own loop::

    with Tracker(model) as tr:
        for X, y in batches:
            opt.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            tr.before_step()   # optional: weights before the step, and update_ratio
            opt.step()
            tr.step(loss)      # closes the step: one host sync

or pass ``optimizer=opt`` and the tracker hooks ``opt.step()`` itself (then do not call
``before_step``/``step``). Only forward passes with gradients enabled are recorded,
so evaluation under ``torch.no_grad()`` is ignored.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ._layers import TrackedLayer, find_layers
from ._records import NonFinite, StepLog, Sums, flat, histogram_records, locate, moments, squares
from .training import Callback, History

__all__ = ["NonFinite", "Tracker"]

_SAT = {"tanh": (0.0, 0.97), "sigmoid": (0.5, 0.485)}  # (centre, half-width) of the linear zone


class Tracker(Callback):
    """Record per-layer statistics on every ``every``-th step (see the module docstring).

    Args:
        model: A :class:`gradcourse.MLP` or any model the layer rule finds layers in.
        every: Record steps 1, 1 + every, 1 + 2 every, ... (others cost nothing).
        histograms: Also keep per-layer histograms of the activations and of
            :math:`\\partial L/\\partial z` (``True`` = 50 bins, or the number of bins).
        optimizer: If given, ``optimizer.step()`` closes each step by itself.
        update_ratio: Measure ``update_ratio`` (needs a weight copy per step unless
            the optimizer is plain SGD).
        weights: Measure the weight-level statistics (``weight_grad_norm``,
            ``grad_data_ratio``, ``update_ratio``, the weight's NaN/Inf check). ``False``
            keeps only activations and back-propagated gradients.

    Attributes:
        layers: The tracked layers, in depth order.
        histograms: One dict per (step, layer, ``kind`` in {"activation", "gradient"})
            with ``counts`` and ``edges`` lists, if ``histograms`` was asked.
        nonfinite: The first :class:`NonFinite` event, or ``None``.
    """

    def __init__(self, model: nn.Module, every: int = 1, histograms: bool | int = False,
                 optimizer: torch.optim.Optimizer | None = None, update_ratio: bool = True,
                 weights: bool = True) -> None:
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        if not isinstance(histograms, bool) and (not isinstance(histograms, int) or histograms < 1):
            raise ValueError(f"histograms must be True, False or a number of bins >= 1, got {histograms!r}")
        self.model, self.every, self.weights = model, every, weights
        self.bins = (50 if histograms is True else int(histograms)) if histograms else 0
        self.layers: list[TrackedLayer] = find_layers(model)
        self.histograms: list[dict[str, Any]] = []
        self.nonfinite: NonFinite | None = None
        self.steps_done = 0
        self._optimizer, self._measure_update = optimizer, update_ratio
        self._hooked_optimizer = optimizer  # whose step() closes the steps
        self._handles: list[Any] = []
        self._auto = False
        self._log = StepLog()
        self._sums = Sums(len(self.layers), self.layers[0].linear.weight)
        self._scratch: Tensor | None = None
        self._reset_step()

    # -- attaching ------------------------------------------------------------------
    def attach(self) -> Tracker:
        """Register the hooks (idempotent). Returns ``self``."""
        if self._handles:
            return self
        self.layers = find_layers(self.model)  # hooks added to the model since may change `direct`
        self._sums = Sums(len(self.layers), self.layers[0].linear.weight)  # the model may have moved
        self._grad_hooks = [self._grad_hook(i) for i in range(len(self.layers))]
        for i, layer in enumerate(self.layers):
            if not layer.direct:  # else the activation's hook sees the Linear's output itself
                self._handles.append(layer.linear.register_forward_hook(self._linear_hook(i)))
            self._handles.append(layer.act.register_forward_hook(self._act_hook(i, layer)))
        if self._hooked_optimizer is not None:
            opt = self._hooked_optimizer
            self._handles.append(opt.register_step_pre_hook(lambda *_: self.before_step()))
            self._handles.append(opt.register_step_post_hook(lambda *_: self.step()))
        self._reset_step()
        return self

    def detach(self) -> None:
        """Remove every hook and drop the current step's partial statistics."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._grad_hooks = []
        self._scratch = None
        self._reset_step()

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def __enter__(self) -> Tracker:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.detach()

    # -- hooks: each reduces a fresh tensor into the step's buffer ------------------------
    def _reset_step(self) -> None:
        self._sums.buf.zero_()  # unwritten slots read as 0, so one sum checks them all
        self._counts: list[dict[str, Any]] = [{} for _ in self.layers]  # families reduced
        self._hists: list[tuple[int, str, Tensor, Tensor]] = []
        self._snap: list[Tensor | None] = []
        self._last_out: Tensor | None = None
        self._grads_done = False
        self._lrs: dict[int, float] = {}
        self._recording = (self.steps_done % self.every) == 0

    def _linear_hook(self, i: int):
        slot = self._sums.slot

        def hook(module: nn.Module, args: tuple, out: Tensor) -> None:
            if not self._recording or not torch.is_grad_enabled():
                return
            x = args[0]
            if x is not self._last_out:  # else x is layer i-1's output, already checked
                xv = x.detach().reshape(-1)
                torch.sum(xv.to(slot["x"][i]), 0, out=slot["x"][i])
                self._counts[i]["x"] = xv.numel()
            if out.requires_grad:
                out.register_hook(self._grad_hooks[i])

        return hook

    def _grad_hook(self, i: int):
        slot = self._sums.slot

        def hook(grad: Tensor) -> None:
            g = flat(grad)
            moments(g, slot["g_sum"][i], slot["g_sq"][i])
            self._counts[i]["g"] = g.numel()
            if self.bins:
                g = torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
                self._hists.append((i, "gradient", torch.histc(g, self.bins), torch.aminmax(g)))

        return hook

    def _act_hook(self, i: int, layer: TrackedLayer):
        slot, kind, direct = self._sums.slot, layer.kind, layer.direct

        def hook(module: nn.Module, args: tuple, out: Tensor) -> None:
            if not self._recording or not torch.is_grad_enabled():
                return
            if direct and args[0].requires_grad:  # args[0] is the Linear's output z
                args[0].register_hook(self._grad_hooks[i])
            c, a = self._counts[i], out.detach()
            av = a.reshape(-1)
            moments(av, slot["a_sum"][i], slot["a_sq"][i])
            c["a"] = av.numel()
            if kind in _SAT:  # sign(hardshrink(a - centre)) is +-1 in the tails, 0 inside
                centre, half = _SAT[kind]
                s = self._scratch_like(av)
                torch.ops.aten.hardshrink.out(av - centre if centre else av, half, out=s)
                squares(s.sign_(), slot["sat"][i])
                c["sat"] = True
            elif kind in ("relu", "relu_like") and a.dim() >= 1:
                peak = a.reshape(a.shape[0], -1).amax(0)  # (units,): best example per unit
                squares((peak if kind == "relu" else peak.clamp_(min=0)).sign_(), slot["active"][i])
                c["units"] = peak.numel()
            if self.bins:
                av = torch.nan_to_num(av, nan=0.0, posinf=0.0, neginf=0.0)
                self._hists.append((i, "activation", torch.histc(av, self.bins),
                                    torch.aminmax(av)))
            self._last_out = out

        return hook

    def _scratch_like(self, v: Tensor) -> Tensor:
        """A reused work tensor shaped like ``v``: it stays in cache from layer to layer."""
        s = self._scratch
        if s is None or s.shape != v.shape or s.dtype != v.dtype or s.device != v.device:
            s = self._scratch = torch.empty_like(v)
        return s

    # -- step boundaries ------------------------------------------------------------------
    def _sgd_lrs(self) -> dict[int, float]:
        """``id(param) -> lr`` for parameters updated by plain SGD (update = -lr * grad)."""
        opt = self._optimizer
        if type(opt) is not torch.optim.SGD:
            return {}
        return {id(p): float(g["lr"]) for g in opt.param_groups for p in g["params"]
                if g.get("momentum", 0) == 0 and g.get("weight_decay", 0) == 0
                and not g.get("maximize", False)}

    def before_step(self) -> None:
        """Call after ``backward()`` and before ``optimizer.step()``: weight and
        weight-gradient stats and, if needed for ``update_ratio``, a copy of the weights."""
        self._measure_weights(copy=True)

    def _measure_weights(self, copy: bool) -> None:
        if not self._recording or self._grads_done or not self.weights:
            return
        self._grads_done = True
        self._snap = []
        self._lrs = self._sgd_lrs() if self._measure_update else {}
        slot = self._sums.slot
        for i, layer in enumerate(self.layers):
            w = layer.linear.weight
            if w.grad is not None:
                wv, g = flat(w), flat(w.grad)
                moments(wv, slot["w_sum"][i], slot["w_sq"][i])
                moments(g, slot["gw_sum"][i], slot["gw_sq"][i])
                self._counts[i].update(w=wv.numel(), gw=g.numel(), gw_version=w.grad._version)
            need_copy = copy and self._measure_update and id(w) not in self._lrs
            self._snap.append(w.detach().clone() if need_copy else None)

    def step(self, loss: Tensor | float | None = None, step: int | None = None) -> None:
        """Close the step (after ``optimizer.step()``): one host sync; the floats are kept.

        Args:
            loss: Optional loss of the step, to report a non-finite loss.
            step: Step number; default: one more than the last.
        """
        number = step if step is not None else self.steps_done + 1
        if self._recording:
            if not self._grads_done:  # no before_step(): gradients as they are now, no copy
                self._measure_weights(copy=False)
            if self._measure_update and self.weights:
                self._update_stats()
            self._flush(number, loss)
        self.steps_done = number
        self._reset_step()

    def _update_stats(self) -> None:
        slot = self._sums.slot
        for i, layer in enumerate(self.layers):
            w, c = layer.linear.weight, self._counts[i]
            snap = self._snap[i] if i < len(self._snap) else None
            if snap is not None:
                d = flat(snap.sub_(w.detach()))
                moments(d, slot["u_sum"][i], slot["u_sq"][i])
                c.update(u=d.numel(), u_scale=1.0)
            elif (lr := self._lrs.get(id(w))) is not None and "gw" in c and w.grad is not None:
                if w.grad._version != c["gw_version"]:  # clipped in place since before_step()
                    moments(flat(w.grad), slot["u_sum"][i], slot["u_sq"][i])
                else:
                    c["u_is_gw"] = True  # the SGD update is -lr * the gradient measured
                c.update(u=c["gw"], u_scale=lr)

    def _flush(self, number: int, loss: Tensor | float | None) -> None:
        sums = self._sums
        if not any(self._counts):
            return
        if isinstance(loss, Tensor):
            sums.loss.copy_(loss.detach().reshape(()))
        extra = [t for _, _, h, mm in self._hists for t in (h, *mm)]
        values, rest = sums.read(extra)  # the one host sync
        self.histograms += histogram_records(number, self._hists, rest)
        loss_value = values[-1] if isinstance(loss, Tensor) else loss
        self._log.add(number, values, self._counts)
        finite = math.isfinite(sum(values)) and (loss_value is None or math.isfinite(loss_value))
        if self.nonfinite is None and not finite:  # unwritten slots are 0: one sum checks all
            raw = StepLog.raw(values, self._counts)
            self.nonfinite = locate(self.layers, number, raw, loss_value)

    # -- results -----------------------------------------------------------------------------
    @property
    def history(self) -> list[dict[str, Any]]:
        """The records, one dict per recorded step and layer, oldest first.

        Each holds ``step``, ``layer``, ``name`` and the statistics (``None`` where a
        statistic does not apply or was not measured). They are built from the recorded
        floats when first read.
        """
        return self._log.build(self.layers)

    def summary(self) -> list[dict[str, Any]]:
        """The records of the latest recorded step, one dict per layer (layer 1 first)."""
        return [dict(r) for r in self.history[-len(self.layers):]] if self._log.steps else []

    def to_frame(self):
        """:attr:`history` as a pandas ``DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as err:  # pragma: no cover - pandas is in the test extras
            raise ImportError("Tracker.to_frame() needs pandas: pip install pandas") from err
        return pd.DataFrame(self.history)

    def __repr__(self) -> str:
        state = "attached" if self.attached else "detached"
        return f"Tracker({len(self.layers)} layers, {self._log.steps} steps recorded, {state})"

    # -- gradcourse.train callbacks --------------------------------------------------------
    def on_train_begin(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        if model is not self.model:
            raise ValueError("this Tracker was built for another model")
        if self._hooked_optimizer is not None:
            raise ValueError("a Tracker given optimizer= closes its own steps: "
                             "do not also pass it to train()")
        self._optimizer = optimizer
        self._auto = not self.attached
        self.attach()

    def on_after_backward(self, step: int, model: nn.Module,
                          optimizer: torch.optim.Optimizer) -> None:
        self.before_step()

    def on_step_end(self, step: int, loss: float, model: nn.Module,
                    optimizer: torch.optim.Optimizer) -> None:
        self.step(loss, step=step)

    def on_train_end(self, history: History) -> None:
        if history.stop_step is not None and self._recording:  # the step that stopped training
            self._flush(history.stop_step, math.nan if "loss" in (history.stop_reason or "") else None)
            self._reset_step()
        if self._auto:
            self.detach()
            self._auto = False
