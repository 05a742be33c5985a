r"""Per-layer statistics of the forward signal and the back-propagated gradient.

:class:`Tracker` watches the hidden layers of a model. A :class:`gradcourse.MLP` names
them itself (``tracked_layers()``). In any other model they are found as it runs: in the
first recorded forward pass, each call of an activation module (``nn.ReLU``, ``nn.Tanh``,
``nn.GELU``, ... see :data:`gradcourse.activations.KINDS`) pairs with the most recent
``nn.Linear``/``nn.Conv`` call not yet paired; normalization, dropout and residual sums in
between are transparent. So one ``nn.ReLU`` module called after three Linears gives three
layers, and a Linear followed by another Linear (an output head) is none. Functional
activations (``F.relu``) are invisible: a model with no activation module is refused.

On every recorded step, for each layer ``k`` (1 = nearest the input), it records:

* ``act_mean``, ``act_std``: mean and std of the activation output;
* ``saturated_frac`` (tanh and sigmoid): fraction of activations in the flat
  tails (threshold :data:`SATURATION`). Tanh counts :math:`|a| > 0.97`, as in Karpathy's
  *makemore* lecture,
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

What is measured: every forward pass run with gradients enabled between two step
boundaries (gradient accumulation over micro-batches pools them all, as one batch would),
except an eval-mode pass after a training-mode one (a validation forward before
``optimizer.step()``). The weight-level statistics are taken in :meth:`Tracker.before_step`,
i.e. after any gradient clipping: the gradient the optimizer applies. Sums are kept in
float64 (no overflow, no cancellation) and a NaN/Inf is found from the tensors themselves.
Steps are numbered by the tracker's own counter, so they never repeat.

Cost: each statistic is reduced on the tensors' device into one preallocated buffer:
the activation's in its module's forward hook, while it is still in cache;
:math:`\partial L/\partial z` in a tensor hook, as autograd produces it; the weight and
its gradient in :meth:`Tracker.before_step`. For a plain :class:`gradcourse.MLP` layer one
hook on the activation sees both the Linear's output and the activation, so the Linear
gets none. At the end of the step one ``tolist()`` (the only host sync) turns the buffer
into plain floats: no tensor outlives the step, and the per-layer records are built from
those floats only when they are read. The price per recorded step is measured by
``python tests/bench_tracker.py``; ``every=k`` divides it by ``k``.

The hooks are inert in a ``copy.deepcopy`` of the tracked model and pickle as no-ops, so
copying or saving a model while it is tracked is safe.

Use it with :func:`gradcourse.train` (``callbacks=[tracker]``) or in your own loop::

    with Tracker(model) as tr:
        for X, y in batches:
            opt.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            tr.before_step()   # optional: weights before the step, and update_ratio
            opt.step()
            tr.step(loss)      # closes the step: one host sync (leaving the block does too)

or pass ``optimizer=opt`` and the tracker hooks ``opt.step()`` itself (then do not call
``before_step``/``step``). Only forward passes with gradients enabled are recorded,
so evaluation under ``torch.no_grad()`` is ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from ._hooks import Hook, Recorder, Scratch
from ._layers import TrackedLayer, candidates, find_layers, preview
from ._records import LayerCounts, Step, StepLog, Sums, histogram_records, locate
from .activations import SATURATION
from .training import Callback, History

__all__ = ["SATURATION", "NonFinite", "Tracker"]


@dataclass(frozen=True)
class NonFinite:
    """Where a NaN/Inf first appeared.

    Attributes:
        step: Step number (1-based).
        phase: The pass: ``"forward"``, ``"backward"`` or ``"loss"`` (only the loss).
        layer: Layer index (1 = nearest the input); ``None`` for the loss and for a
            module that is not a tracked layer, such as the output head.
        source: ``"input"``, ``"weight"`` (weight or bias) or ``"output"`` of that layer
            (in the backward pass, ``"output"`` is the gradient arriving at the layer's
            output and ``"weight"`` its weight gradient); ``"loss"`` for the loss.
        name: Module name of the layer's Linear/Conv (or of the untracked module).
    """

    step: int
    phase: str
    layer: int | None
    source: str
    name: str = ""

    def describe(self, lang: str = "en") -> str:
        """A one-line message in English (``"en"``) or Spanish (``"es"``)."""
        es = lang == "es"
        if self.phase == "loss":
            return (f"paso {self.step}: la pérdida no es finita (todas las capas lo eran)" if es
                    else f"step {self.step}: the loss is non-finite (every tracked layer was finite)")
        if es:
            phase = {"forward": "hacia delante", "backward": "hacia atrás"}[self.phase]
            source = {"input": "la entrada", "weight": "los pesos", "output": "la salida"}[self.source]
            where = (f"en la capa {self.layer} ({self.name})" if self.layer is not None
                     else f"en el módulo {self.name} (fuera de las capas seguidas)")
            return (f"paso {self.step}: primer valor no finito de la pasada {phase} {where}, "
                    f"originado en {source}")
        where = (f"at layer {self.layer} ({self.name})" if self.layer is not None
                 else f"at module {self.name} (not a tracked layer)")
        return (f"step {self.step}: first non-finite value in the {self.phase} pass {where}, "
                f"coming from its {self.source}")

    def __str__(self) -> str:
        return self.describe("en")


class Tracker(Recorder, Callback):
    """Record per-layer statistics on every ``every``-th step (see the module docstring).

    Args:
        model: A :class:`gradcourse.MLP` or any model with Linear/Conv layers and
            activation modules (see the module docstring for how they are paired).
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
        layers: The tracked layers, in depth order. For a model that does not describe
            its own layers this is a registration-order guess until the first recorded
            forward pass, and what that pass ran afterwards.
        histograms: One dict per (step, layer, ``kind`` in {"activation", "gradient"},
            recorded pass) with ``counts`` and ``edges`` lists, if ``histograms`` was asked.
        nonfinite: The first :class:`NonFinite` event, or ``None``.
        steps_done: The tracker's own step counter: the number of the last closed step.
        examples: Examples per unit behind the latest ``dead_frac`` (the batch size, over
            every pass of the step), or ``None``.
        passes: Forward passes pooled into the latest recorded step (2 for gradient
            accumulation over two micro-batches).
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
        described = find_layers(model)
        self._fixed = described is not None  # else: layers are found as the model runs
        self.layers: list[TrackedLayer] = described if described is not None else preview(model)
        self.histograms: list[dict[str, Any]] = []
        self.nonfinite: NonFinite | None = None
        self.steps_done = 0
        self.examples: int | None = None
        self.passes = 0
        self._optimizer, self._measure_update = optimizer, update_ratio
        self._hooked_optimizer = optimizer  # whose step() closes the steps
        self._handles: list[Any] = []
        self._auto = False
        self._log = StepLog()
        self._scratch = Scratch()
        self._work: Tensor | None = None
        self._discovered = self._fixed
        self._warned: set[str] = set()
        self._end_pass()
        self._reset_step()

    # -- attaching ------------------------------------------------------------------
    def attach(self) -> Tracker:
        """Register the hooks (idempotent). Returns ``self``."""
        if self._handles:
            return self
        model = self.model
        param = next(model.parameters(), None)
        self._sums = Sums(len(self.layers), param.device if param is not None else "cpu")
        add = self._handles.append
        add(model.register_forward_pre_hook(Hook(self._begin_pass, model)))
        add(model.register_forward_hook(Hook(lambda *_: self._end_pass(), model)))
        if self._fixed:
            self.layers = find_layers(model)  # hooks added since may change `direct`
            for i, layer in enumerate(self.layers):
                if not layer.direct:  # else the activation's hook sees the Linear's output
                    add(layer.linear.register_forward_hook(Hook(partial(self._on_linear, i),
                                                                layer.linear)))
                add(layer.act.register_forward_hook(Hook(partial(self._on_act, i), layer.act)))
        else:
            weight_layers, acts = candidates(model)
            self._names = weight_layers
            for module in weight_layers:
                add(module.register_forward_hook(Hook(self._on_weight_layer, module)))
            for module in acts:
                add(module.register_forward_hook(Hook(self._on_any_act, module)))
        if self._hooked_optimizer is not None:
            opt = self._hooked_optimizer
            add(opt.register_step_pre_hook(Hook(lambda *_: self.before_step(), opt)))
            add(opt.register_step_post_hook(Hook(lambda *_: self.step(), opt)))
        self._reset_step()
        return self

    def detach(self) -> None:
        """Remove every hook and drop the current step's partial statistics."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._scratch, self._work = Scratch(), None
        self._end_pass()
        self._reset_step()

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def __enter__(self) -> Tracker:
        return self.attach()

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        try:
            if self._st.passes or self._st.grads_done:  # a step still open: close it
                try:
                    self.step()
                except Exception:
                    if exc_type is None:
                        raise  # else the exception already leaving the block wins
        finally:
            self.detach()

    # -- steps ----------------------------------------------------------------------------
    def _reset_step(self) -> None:
        if hasattr(self, "_sums"):
            self._sums.buf.zero_()  # unwritten slots read as 0
        recording = (self.steps_done % self.every) == 0
        self._st = Step(recording, [LayerCounts() for _ in self.layers])

    # -- step boundaries ------------------------------------------------------------------
    def before_step(self) -> None:
        """Call after ``backward()`` (and after any gradient clipping) and before
        ``optimizer.step()``: weight and weight-gradient statistics as the optimizer will
        apply them and, if needed for ``update_ratio``, a copy of the weights."""
        self._measure_weights(copy=True)

    def step(self, loss: Tensor | float | None = None, step: int | None = None) -> None:
        """Close the step (after ``optimizer.step()``): one host sync; the floats are kept.

        Args:
            loss: Optional loss of the step, to report a non-finite loss.
            step: Step number; default (and always under :func:`gradcourse.train`): one
                more than the tracker's last, so that numbers never repeat.

        Raises:
            ValueError: If ``step`` is not greater than the last step number.
        """
        number = self.steps_done + 1 if step is None else int(step)
        if number <= self.steps_done:
            raise ValueError(f"step numbers must increase: got {number} after {self.steps_done}")
        st = self._st
        if st.recording:
            if not st.grads_done:  # no before_step(): gradients as they are now, no copy
                self._measure_weights(copy=False)
            if self._measure_update and self.weights:
                self._update_stats()
            self._flush(number, loss)
        self.steps_done = number
        self._end_pass()
        self._reset_step()

    def _flush(self, number: int, loss: Tensor | float | None) -> None:
        st, sums = self._st, self._sums
        if not st.passes and not st.grads_done:
            return
        for i, peak in st.peaks.items():  # a unit is active if some example turned it on
            sums.slot["active"][i].add_(torch.count_nonzero(peak > 0))
        if isinstance(loss, Tensor):
            sums.loss.copy_(loss.detach().reshape(()))
        extra = [t for _, _, h, mm in st.hists for t in (h, *mm)]
        values, rest = sums.read(extra)  # the one host sync
        self.histograms += histogram_records(number, st.hists, rest)
        loss_value = values[-1] if isinstance(loss, Tensor) else loss
        counts = st.counts + [LayerCounts() for _ in range(len(self.layers) - len(st.counts))]
        self._log.add(number, values, counts)
        self.examples = min((c.examples for c in counts if c.units), default=None)
        self.passes = st.passes
        finite = math.isfinite(sum(values)) and (loss_value is None or math.isfinite(loss_value))
        if self.nonfinite is None and not finite:
            raw = StepLog.raw(values, counts)
            found = locate(self.model, self.layers, raw, loss_value)
            self.nonfinite = None if found is None else NonFinite(number, *found)

    # -- results -----------------------------------------------------------------------------
    @property
    def history(self) -> list[dict[str, Any]]:
        """The records, one dict per recorded step and layer, oldest first.

        Each holds ``step``, ``layer``, ``name``, ``act_kind`` (the activation's kind, see
        :data:`gradcourse.activations.KINDS`) and the statistics (``None`` where a
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
        self.step(loss)  # the tracker's own number: a second train() run continues it

    def on_train_end(self, history: History) -> None:
        st = self._st
        try:
            if history.stop_step is not None and st.recording and (st.passes or st.grads_done):
                loss = math.nan if history.stop_reason == "non-finite loss" else None
                self.step(loss)  # the step that stopped training, never applied
        finally:
            if self._auto:
                self.detach()
                self._auto = False
