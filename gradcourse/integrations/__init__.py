"""The Tracker in the tools practitioners already use.

* :mod:`gradcourse.integrations.tensorboard`: the per-layer statistics as TensorBoard
  scalars (tags ``gradcourse/<stat>/layer_<k>``) and histograms (extra ``tensorboard``).
* :mod:`gradcourse.integrations.lightning`: :class:`~gradcourse.integrations.lightning.TrackerCallback`,
  a Lightning callback that tracks a ``LightningModule`` while ``Trainer.fit`` runs
  (extra ``lightning``).

Each submodule needs its optional package only when it is imported (or, for
TensorBoard, when something is written): ``import gradcourse`` never imports them.
"""

__all__ = ["lightning", "tensorboard"]
