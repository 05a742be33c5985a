"""The public :class:`Tracker`: step boundaries, lifecycle and results.

Data flows one way: the :class:`~.hooks.Recorder`'s hooks capture tensors, the
:class:`~.reduce.Reducer` reduces them at the step boundary, the :class:`~.records.StepLog`
keeps the floats and builds the records. The Tracker holds one of each; it inherits none.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from ..training import Callback, History
from . import lifecycle
from .distributed import GlobalPool, dist_info, resolve_pool
from .hooks import Recorder
from .layers import TrackedLayer, find_layers, preview, untracked
from .nonfinite import NonFinite, locate
from .records import Meta, StepLog, examples, histogram_records, layer_values
from .reduce import Reducer
from .weights import WeightRows

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

__all__ = ["Tracker"]

class Tracker(Callback):
    """Record per-layer statistics on every ``every``-th step (see :mod:`gradcourse.tracking`).

    Args:
        model: A :class:`gradcourse.MLP` or any model with Linear/Conv layers and
            activation modules (see :mod:`gradcourse.tracking.layers` for the pairing);
            also a ``torch.compile``'d model.
        every: Record steps 1, 1 + every, 1 + 2 every, ... (others capture nothing).
        histograms: Also keep per-layer histograms of the activations and of
            :math:`\\partial L/\\partial z` (``True`` = 50 bins, or the number of bins).
        optimizer: A ``torch.optim.Optimizer``: its ``step()`` then closes each step.
        update_ratio: Measure ``update_ratio`` (a copy of the tracked weights per step
            unless the optimizer is plain SGD, whose update is ``lr`` times the gradient).
        weights: Measure the weight-level statistics (``weight_grad_norm``,
            ``grad_data_ratio``, ``update_ratio``, the weight's NaN/Inf check).
        keep: Keep only the ``keep`` most recent recorded steps in :attr:`history` and
            :attr:`histograms` (``None``: all). A step is stored as 5 float64 per
            captured tensor (about 40 bytes per layer and family, 0.3-0.4 kB for a 2-layer
            MLP) until :attr:`history` is read, and then as one dict per layer (about 1 kB
            each).
        pool: Across the ranks of a ``torch.distributed`` group (DDP): ``"global"`` pools
            every statistic, so that each rank's records are those of one process on the
            concatenated batch (:mod:`~gradcourse.tracking.distributed`: two collectives
            per recorded step; equal local batches of a mean-reduced loss); ``"local"``
            keeps each rank's own. Default: ``"global"`` in a group of several processes.
        tensorboard: A log folder or an open ``SummaryWriter``: each recorded step is
            written there as it closes (:meth:`to_tensorboard`'s tags; needs the
            ``tensorboard`` extra). A folder's writer is closed by :meth:`remove`.

    Several processes: under ``pool="global"`` every rank holds the same records, so write
    reports and print :func:`gradcourse.diagnose`'s verdicts on rank 0 only (``if
    tracker.rank == 0:``); the TensorBoard writing does so itself, and under ``"local"``
    each rank writes to ``<folder>/rank_<r>``.

    What other code can rely on: a statistic that was not measured is ``None`` in the
    records (never 0, never a stale value); :attr:`untracked` says which modules with
    parameters no statistic covers; :attr:`examples` gives the examples per unit behind
    ``dead_frac``; :meth:`pool` is where several processes' sums would be pooled, and
    :attr:`listeners` are called with each recorded step's records.

    Attributes:
        layers: The tracked layers, in depth order (a registration-order guess until the
            first recorded pass of a model that does not describe its own layers).
        untracked: ``{module name: reason}`` for the modules with parameters that are in
            no tracked layer (``"head": "no activation after it"``, ``"lstm":
            "recurrent module (nn.LSTM): not tracked"``): what the statistics do not cover.
        histograms: One dict per (step, layer, ``kind`` in {"activation", "gradient"},
            recorded pass) with ``counts`` and ``edges``, if ``histograms`` was asked.
        nonfinite: The first :class:`~gradcourse.tracking.NonFinite` event, or ``None``.
        steps_done: The tracker's own step counter: the number of the last closed step.
        examples: Examples per unit behind the latest ``dead_frac``: batch times positions
            (a unit is a channel), summed over the step's passes, the least over layers;
            ``None`` if no ReLU-family layer was measured.
        passes: Forward passes pooled into the latest recorded step.
        captured_bytes: Bytes the hooks held at once in the latest recorded step.
        listeners: Callables ``fn(records)`` called with each recorded step's records
            (one dict per layer) when the step closes, e.g. a live TensorBoard writer.
        rank, world_size: This process's place in its ``torch.distributed`` group (0, 1
            without one); ``pool_mode`` is ``"global"`` or ``"local"``.
        tensorboard: The live writer (``tensorboard=``; its ``writer`` is the
            ``SummaryWriter``), or ``None``.
    """

    def __init__(self, model: nn.Module, every: int = 1, histograms: bool | int = False,
                 optimizer: torch.optim.Optimizer | None = None, update_ratio: bool = True,
                 weights: bool = True, keep: int | None = None, pool: str | None = None,
                 tensorboard: str | os.PathLike | SummaryWriter | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        if not isinstance(histograms, bool) and (not isinstance(histograms, int) or histograms < 1):
            raise ValueError(f"histograms must be True, False or a number of bins >= 1, got {histograms!r}")
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
            raise ValueError(f"keep must be None (keep every step) or an int >= 1, got {keep!r}")
        described = find_layers(model)  # TypeError/ValueError for what cannot be tracked
        lifecycle.check(model, optimizer)
        self.model, self.every, self.weights = model, every, weights
        self.bins = (50 if histograms is True else int(histograms)) if histograms else 0
        self._layers: list[TrackedLayer] = described if described is not None else preview(model)
        self._discovered = described is not None
        self.histograms: list[dict[str, Any]] = []
        self.nonfinite: NonFinite | None = None
        self.steps_done = 0
        self.examples: int | None = None
        self.passes = 0
        self.captured_bytes = 0
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self._optimizer, self._measure_update = optimizer, update_ratio
        self._hooked_optimizer = optimizer
        self._log = StepLog(keep)
        self._reducer = Reducer(self.bins)
        self._recorder: Recorder | None = None
        self._finalizer: weakref.finalize | None = None
        self._entered: list[bool] = []
        self._auto = False
        self._untracked: tuple[Any, dict[str, str]] | None = None
        self._called: set[nn.Module] | None = None
        self.pool_mode = resolve_pool(pool)
        self.rank, self.world_size = dist_info()
        self._global = GlobalPool() if self.pool_mode == "global" and self.world_size > 1 else None
        self.tensorboard = None
        if tensorboard is not None:
            from ..integrations.tensorboard import LiveWriter  # ImportError naming the extra
            self.tensorboard = LiveWriter(self, tensorboard)
            self.listeners.append(self.tensorboard)
        self._reset_step()

    # -- attaching ----------------------------------------------------------------------
    @property
    def layers(self) -> list[TrackedLayer]:
        rec = self._recorder
        if rec is not None and rec.discovered and not self._discovered:
            self._layers, self._discovered = rec.layers, True
            self._called = rec.called
        return self._layers

    @property
    def untracked(self) -> dict[str, str]:
        layers = self.layers
        if self._untracked is None or self._untracked[0] is not layers:
            self._untracked = (layers, untracked(self.model, layers, self._called))
        return dict(self._untracked[1])

    def attach(self) -> Tracker:
        """Register the hooks (idempotent). Returns ``self``."""
        if self.attached:
            return self
        if self._discovered and find_layers(self.model) is not None:
            self._layers = find_layers(self.model)  # hooks added since may change `direct`
        self._recorder, self._finalizer = lifecycle.attach(
            self, self.layers if self._discovered else None, self._reducer.add,
            self._hooked_optimizer, self.untracked)
        self._reset_step()
        return self

    def remove(self) -> None:
        """Remove every hook and drop the current step's partial statistics."""
        if self._recorder is not None:
            _ = self.layers  # keep what the first pass found
            self._recorder.remove()
            self._recorder = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        self._reducer.start()
        self._reset_step()
        if self.tensorboard is not None:
            self.tensorboard.close()  # a writer it opened; a new file if it attaches again

    detach = remove  #: Alias of :meth:`remove` (not :meth:`torch.Tensor.detach`).

    @property
    def attached(self) -> bool:
        return self._recorder is not None and bool(self._recorder.handles)

    def __enter__(self) -> Tracker:
        self._entered.append(self.attached)
        return self.attach()

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if self._entered.pop() if self._entered else False:
            return  # attached before this block: an outer block (or the caller) owns it
        try:
            if self._open():
                try:
                    self.step()
                except Exception:
                    if exc_type is None:
                        raise  # else the exception already leaving the block wins
        finally:
            self.remove()

    # -- steps --------------------------------------------------------------------------
    def _open(self) -> bool:
        rec = self._recorder
        return rec is not None and rec.recording and (rec.passes > 0 or self._weights_done)

    def _reset_step(self) -> None:
        self._weights_done = False
        self._weight_rows = WeightRows()
        if self._recorder is not None:
            self._recorder.new_step()
            self._recorder.recording = (self.steps_done % self.every) == 0

    def _require(self, what: str) -> Recorder:
        if self._recorder is None or not self._recorder.handles:
            raise RuntimeError(
                f"Tracker.{what}() on a tracker that is not attached, so nothing was recorded: "
                "attach it first (`with Tracker(model) as tr:` or `tr.attach()`), or pass it "
                "to gradcourse.train(callbacks=[tr])")
        return self._recorder

    def _rows(self, rows: list[tuple]) -> list[tuple]:
        """``(family, layer, tensor)`` rows as :data:`~.blocks.Row` tuples."""
        layers = self.layers
        return [r if len(r) == 5 else (*r, layers[r[1]].kind, layers[r[1]].conv) for r in rows]

    def before_step(self) -> None:
        """Call after ``backward()`` (and after any gradient clipping) and before
        ``optimizer.step()``: every statistic is reduced here, the weights as the
        optimizer will apply them, and for ``update_ratio`` the weights are copied if
        the optimizer is not plain SGD."""
        self._require("before_step")
        self._measure(copy=True)

    def _measure(self, copy: bool) -> None:
        rec = self._recorder
        if not rec.recording or self._weights_done:
            return
        self._weights_done = True
        rows = rec.take()
        if self.weights:
            rows += self._weight_rows.before(self.layers, self._optimizer, self._measure_update,
                                             copy)
        self._reducer.add(self._rows(rows))

    def step(self, loss: Tensor | float | None = None, step: int | None = None) -> None:
        """Close the step (after ``optimizer.step()``): one host sync; the floats are kept.

        Args:
            loss: Optional loss of the step, to report a non-finite loss.
            step: Step number; default (and always under :func:`gradcourse.train`): one
                more than the tracker's last, so that numbers never repeat.

        Raises:
            ValueError: If ``step`` is not greater than the last step number.
            RuntimeError: If the tracker is not attached.
        """
        number = self.steps_done + 1 if step is None else int(step)
        if number <= self.steps_done:
            raise ValueError(f"step numbers must increase: got {number} after {self.steps_done}")
        rec = self._require("step")
        if rec.recording:
            if not self._weights_done:
                self._measure(copy=False)
            update, meta = self._weight_rows.after(self.layers)
            self._reducer.add(self._rows(rec.take() + update))  # late gradients, the update
            self._close(number, loss, Meta(meta, frozenset(rec.stale)))
        self.steps_done = number
        self._reset_step()

    def pool(self, sums: Tensor, peaks: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Pool a step's float64 sums ``(5, C)`` (count, sum, sum of squares about the
        shift, saturated count, shift; columns: :attr:`plan_columns`) and per-unit peaks
        across ranks under ``pool="global"`` (:mod:`~gradcourse.tracking.distributed`);
        identity otherwise. Returns the pooled ``(sums, peaks)``."""
        if self._global is None:
            return sums, peaks
        return self._global(sums, peaks, self.plan_columns, len(self.layers), *self._closing)

    @property
    def plan_columns(self) -> tuple[tuple[str, int], ...]:
        """``(family, layer)`` of each column of the sums of the latest recorded step."""
        return self._reducer.last_columns

    def _close(self, number: int, loss: Tensor | float | None, meta: Meta) -> None:
        rec = self._recorder
        if not rec.passes and self.layers and any(
                layer.linear.weight.grad is not None for layer in self.layers):
            rec.warn_once("nopass", "Tracker: a step closed with no recorded forward pass "
                          "(a forward under torch.no_grad, or a model compiled by torch.compile "
                          "before the Tracker attached?); its activation and gradient "
                          "statistics are None")
        if self._reducer.empty and not rec.passes:
            return
        loss_t = loss if isinstance(loss, Tensor) or loss is None else torch.tensor(float(loss))
        self._closing = (loss_t, number)
        values, plan, tail = self._reducer.close(
            self.pool, loss if isinstance(loss, Tensor) else None, exact=self._global is None)
        if self._reducer.unmeasured:
            meta = Meta(meta.update, meta.stale | frozenset(self._reducer.unmeasured))
            rec.warn_once("cancel", "Tracker: the values of "
                          f"{', '.join(f'{f} of layer {i + 1}' for f, i in self._reducer.unmeasured)}"
                          " became nearly constant on this step, too close for its float64 sums; "
                          "not measured on this step (the next ones are exact)")
        loss_value = tail[0] if tail else loss
        layers = self.layers
        self._log.add(number, layers, values, plan, meta)
        self.passes, self.captured_bytes = rec.passes, rec.captured_bytes
        self.examples = examples(values, plan)
        if self.bins:
            self._keep_histograms(number, values, plan)
        if self._global is not None and self._global.bad_loss:
            loss_value = math.nan  # another rank's loss
        loss_bad = loss_value is not None and not math.isfinite(float(loss_value))
        if self.nonfinite is None and (loss_bad or not np.isfinite(values).all()):
            vals = layer_values(values, plan, meta, layers)
            head = next((n for n, r in reversed(self.untracked.items())
                         if r == "no activation after it"), "")
            found = locate(self.model, layers, vals, loss_value, rec.output,
                           rec.output_grad, head)
            rank = (None if found is None or self.world_size == 1 else self.rank
                    if self._global is None else self._global.rank_of(*found[:3]))
            self.nonfinite = None if found is None else NonFinite(number, *found, rank=rank)
        if self.listeners:
            records = self._log.last()
            for listener in list(self.listeners):
                listener([dict(r) for r in records])

    def _keep_histograms(self, number: int, values: list[float], plan) -> None:
        self.histograms += histogram_records(number, values, plan)
        if self._log.keep is not None and self.histograms:
            kept = {r["step"] for r in self._log.records()}
            self.histograms = [h for h in self.histograms if h["step"] in kept]

    # -- results ------------------------------------------------------------------------
    @property
    def history(self) -> list[dict[str, Any]]:
        """The records, one dict per recorded step and layer, oldest first.

        Each holds ``step``, ``layer``, ``name``, ``act_kind`` (see
        :data:`gradcourse.activations.KINDS`) and the statistics of
        :data:`gradcourse.tracking.records.STATS`: ``None`` where a statistic does not
        apply or was not measured.
        """
        return self._log.records()

    def summary(self) -> list[dict[str, Any]]:
        """The records of the latest recorded step, one dict per layer (layer 1 first)."""
        return [dict(r) for r in self._log.last()]

    def to_tensorboard(self, log_dir_or_writer: str | os.PathLike | SummaryWriter,
                       histograms: bool | None = None) -> str:
        """Write every recorded step to TensorBoard (needs the ``tensorboard`` extra).

        Tags ``gradcourse/<stat>/layer_<k>``, float64, at the tracker's step numbers; see
        :func:`gradcourse.integrations.tensorboard.to_tensorboard` for the arguments, the
        histograms and the errors. Returns the log directory.
        """
        from ..integrations.tensorboard import to_tensorboard
        return to_tensorboard(self, log_dir_or_writer, histograms)

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

    # -- gradcourse.train callbacks -----------------------------------------------------
    def on_train_begin(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        if model is not self.model and model is not getattr(self.model, "_orig_mod", None):
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
        try:
            if history.stop_step is not None and self._open():
                loss = math.nan if history.stop_reason == "non-finite loss" else None
                self.step(loss)  # the step that stopped training, never applied
        finally:
            if self._auto:
                self.remove()
                self._auto = False

