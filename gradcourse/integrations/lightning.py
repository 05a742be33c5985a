"""A Lightning callback that runs a :class:`~gradcourse.tracking.Tracker` during ``fit``.

::

    from gradcourse.integrations.lightning import TrackerCallback

    callback = TrackerCallback(every=10)
    trainer = lightning.Trainer(callbacks=[callback], gradient_clip_val=1.0)
    trainer.fit(module, loader)
    callback.tracker.history  # the per-layer records
    print(callback.report)    # the verdicts on the last recorded step

What it does, hook by hook:

* ``on_fit_start``: a new tracker on the ``LightningModule`` (or on ``module=``, one of
  its submodules), attached, and one step pre-hook on each of the trainer's optimizers.
* Every optimizer step, **after gradient clipping**: Lightning runs the closure
  (``training_step``, ``backward``), then ``on_before_optimizer_step``, *then* clips
  (``configure_gradient_clipping``), all inside ``optimizer.step(closure)``. So
  ``on_before_optimizer_step`` still sees the gradients unclipped. The pre-hook wraps the
  closure instead: the weight statistics (:meth:`Tracker.before_step`) are taken when it
  returns, that is after clipping and before the update, as the optimizer applies them.
  (With mixed precision, Lightning unscales and clips before calling ``step()``; the
  pre-hook then measures at once, again after clipping.)
* ``on_train_batch_end``, when the optimizer stepped: the tracker's step closes, numbered
  ``trainer.global_step``; on a recorded step its per-layer statistics go to every logger
  of the trainer (``logger.log_metrics``) under the TensorBoard tags
  ``gradcourse/<stat>/layer_<k>``, at the x-axis of the trainer's own ``self.log``
  metrics (as ``LearningRateMonitor`` logs).
* ``on_fit_end``: the hooks are removed and :attr:`report` holds the verdicts of
  :meth:`gradcourse.diagnosis.Report.from_tracker` on the last recorded step, logged on
  rank 0. ``on_exception``: the hooks are removed.

The tracker records a forward pass when the tracked module itself is called. A
``training_step`` that calls ``self(x)`` is seen as it is; one that calls a submodule
(``self.net(x)``) needs ``module="net"``, and a recorded step without any forward pass
stops ``fit`` with an error that says so (not a history with empty activations).

Needs Lightning: ``pip install -e ".[lightning]"``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

try:
    import lightning.pytorch as pl
    from lightning.pytorch.utilities.rank_zero import rank_zero_info
except ImportError as err:  # pragma: no cover - lightning is in the test extras
    raise ImportError('TrackerCallback needs Lightning: pip install -e ".[lightning]" '
                      "(or pip install lightning)") from err

from .._language import resolve
from ..diagnosis import Report
from ..tracking import Tracker
from .tensorboard import stat_tags

__all__ = ["TrackerCallback"]


class TrackerCallback(pl.Callback):
    """Track per-layer statistics while ``Trainer.fit`` runs (see the module docstring).

    Args:
        every: Record steps ``every`` apart (:class:`~gradcourse.tracking.Tracker`'s ``every``).
        module: Dotted name of the submodule of the ``LightningModule`` to track, for a
            ``training_step`` that calls it rather than ``self(...)``; ``None``: the
            ``LightningModule`` itself.
        log: Send the statistics of each recorded step to the trainer's loggers.
        lang: Language of :attr:`report` (``"es"`` or ``"en"``); ``None``:
            :func:`gradcourse.get_language` when the report is written.
        **tracker_kwargs: More :class:`~gradcourse.tracking.Tracker` arguments
            (``histograms``, ``update_ratio``, ``weights``).

    Attributes:
        tracker: The tracker of the latest ``fit`` (``None`` before the first one).
        report: The :class:`~gradcourse.diagnosis.Report` on its last recorded step
            after ``fit`` ends (``None`` if nothing was recorded or fit did not end).
    """

    def __init__(self, every: int = 1, module: str | None = None, log: bool = True,
                 lang: str | None = None, **tracker_kwargs: Any) -> None:
        if "optimizer" in tracker_kwargs:
            raise ValueError("TrackerCallback hooks the trainer's optimizers itself: do not "
                             "pass optimizer=")
        if lang is not None:
            resolve(lang)  # loud now, not at the end of fit
        self.every, self.module, self.log, self.lang = every, module, log, lang
        self.tracker_kwargs = tracker_kwargs
        self.tracker: Tracker | None = None
        self.report: Report | None = None
        self._handles: list[Any] = []
        self._stepped_at = 0
        self._loss: Any = None

    # -- attaching ------------------------------------------------------------------------
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        target: nn.Module = pl_module if self.module is None else pl_module.get_submodule(self.module)
        optimizers = list(trainer.optimizers)
        self.tracker = Tracker(target, every=self.every, **self.tracker_kwargs)
        # the gc.train protocol: the optimizer (plain SGD: no weight copy), then attach
        self.tracker.on_train_begin(target, optimizers[0] if optimizers else None)
        self._handles = [opt.register_step_pre_hook(self._pre_step) for opt in optimizers]
        self.report = None

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if self.tracker is not None:
            self.tracker.detach()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._remove()
        if self.tracker is not None and self.tracker.history:
            self.report = Report.from_tracker(self.tracker, self.lang)
            rank_zero_info(str(self.report))

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        self._remove()

    # -- steps --------------------------------------------------------------------------------
    def _pre_step(self, optimizer: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        """``optimizer.step`` pre-hook: measure the weights once the closure (and the
        clipping that Lightning runs at its end) has returned."""
        closure = kwargs.get("closure", args[0] if args else None)
        if closure is None:  # mixed precision: already unscaled and clipped
            self.tracker.before_step()
            return None

        def measured() -> Any:
            self._loss = closure()
            self.tracker.before_step()
            return self._loss

        if "closure" in kwargs:
            return args, {**kwargs, "closure": measured}
        return (measured, *args[1:]), kwargs

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        self._stepped_at = trainer.global_step

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        tracker = self.tracker
        if tracker is None or trainer.global_step == self._stepped_at:
            return  # accumulating gradients: the step goes on
        loss, self._loss = self._loss, None
        tracker.step(loss, step=trainer.global_step)
        summary = tracker.summary()
        if not summary or summary[0]["step"] != trainer.global_step:
            return  # a step that every= skips
        if tracker.passes == 0:
            name = type(pl_module).__name__ if self.module is None else f"{self.module!r}"
            raise RuntimeError(
                f"TrackerCallback: no forward pass of {name} was recorded in this training "
                "step: training_step must call the tracked module (self(x) for the "
                "LightningModule), or name the submodule it calls: TrackerCallback(module='net')")
        if self.log and trainer.loggers:
            metrics = {k: v for r in summary for k, v in stat_tags(r).items()}
            x = getattr(trainer.fit_loop.epoch_loop, "_batches_that_stepped", trainer.global_step - 1)
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=x)
