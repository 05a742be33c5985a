"""A :class:`~gradcourse.tracking.Tracker`'s records as TensorBoard scalars and histograms.

Every statistic of every recorded step becomes one scalar, tagged
``gradcourse/<stat>/layer_<k>`` (``gradcourse/grad_std/layer_3``; ``k`` = 1 nearest the
input) at the tracker's own step number, so that TensorBoard groups the layers of one
statistic under one heading. The scalars are stored in float64 (``double_precision``):
what TensorBoard reads back is exactly what :attr:`Tracker.history` holds. A statistic
that does not apply to a layer (``dead_frac`` of a tanh layer) is not written; a NaN is.
The histograms that the tracker keeps (``Tracker(model, histograms=True)``) are written
as ``gradcourse/activation/layer_<k>`` and ``gradcourse/gradient/layer_<k>``
(:math:`\\partial L/\\partial z`), one per recorded forward pass. A text summary
``gradcourse/layers`` says which module each ``layer_<k>`` is.

Uses ``torch.utils.tensorboard.SummaryWriter``, which needs the ``tensorboard`` package:
``pip install -e ".[tensorboard]"``. Nothing is imported until something is written.

Live, at each recorded step (:class:`LiveWriter`, a listener of the tracker), or once at
the end (a temporary folder; the event files are read by ``tensorboard --logdir``)::

    with gc.Tracker(model, tensorboard="runs/exp1") as tracker:  # live
        ...  # your training loop
    tracker.to_tensorboard(tempfile.mkdtemp())  # or all at once, afterwards

In several processes (``torch.distributed``) with ``pool="global"`` every rank holds the
same records and only rank 0 writes; with ``pool="local"`` rank ``r`` writes to
``<folder>/rank_<r>``.
"""

from __future__ import annotations

import itertools
import math
import os
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from ..tracking import Tracker

__all__ = ["INSTALL", "PREFIX", "LiveWriter", "layers_table", "open_writer", "rank_target",
           "stat_tags", "tag", "to_tensorboard", "write_histograms", "write_records"]

PREFIX = "gradcourse"
INSTALL = 'pip install -e ".[tensorboard]"'
_LABELS = ("step", "layer", "name", "act_kind")  # the record's keys that are no statistic


def tag(stat: str, layer: int) -> str:
    """The TensorBoard tag of statistic ``stat`` of layer ``layer``: ``gradcourse/<stat>/layer_<k>``."""
    return f"{PREFIX}/{stat}/layer_{layer}"


def stat_tags(record: Mapping[str, Any]) -> dict[str, float]:
    """``{tag: value}`` for the statistics of one record that have a number.

    ``None`` (not measured, or not defined for this layer) and the booleans
    ``nonfinite_forward``/``nonfinite_backward`` are left out: a NaN/Inf shows in the
    statistics themselves.
    """
    out = {}
    for key, value in record.items():
        if key in _LABELS or value is None or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out[tag(key, record["layer"])] = float(value)
    return out


def _summary_writer_class() -> type[SummaryWriter]:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ImportError(f"writing to TensorBoard needs the tensorboard package: {INSTALL} "
                          "(or pip install tensorboard)") from err
    return SummaryWriter


def open_writer(log_dir_or_writer: str | os.PathLike | SummaryWriter) -> tuple[SummaryWriter, bool]:
    """A writer for ``log_dir_or_writer`` and whether the caller owns it (must close it).

    Raises:
        ImportError: If tensorboard is not installed (the message names the extra).
        ValueError: If a ``SummaryWriter`` is given that was closed.
        TypeError: If it is neither a folder nor a ``SummaryWriter``.
    """
    cls = _summary_writer_class()
    if isinstance(log_dir_or_writer, (str, os.PathLike)):
        return cls(log_dir=os.fspath(log_dir_or_writer)), True
    if isinstance(log_dir_or_writer, cls):
        # close() sets both to None; a later add_scalar would quietly open a new file
        if log_dir_or_writer.file_writer is None or log_dir_or_writer.all_writers is None:
            raise ValueError("this SummaryWriter is closed: pass an open writer, or a log "
                             "directory (a new writer is then made and closed)")
        return log_dir_or_writer, False
    raise TypeError("log_dir_or_writer must be a folder (str or os.PathLike) or a "
                    f"torch.utils.tensorboard.SummaryWriter, got {type(log_dir_or_writer).__name__}")


def rank_target(tracker: Tracker, log_dir_or_writer: Any) -> Any:
    """Where this rank of ``tracker`` writes: the target itself in one process; under
    ``pool="global"`` in several, the target on rank 0 and ``None`` (nothing) on the others;
    under ``pool="local"``, ``<folder>/rank_<r>`` (a writer given is used as it is)."""
    rank, world = getattr(tracker, "rank", 0), getattr(tracker, "world_size", 1)
    if world == 1:
        return log_dir_or_writer
    if getattr(tracker, "pool_mode", "local") == "global":
        return log_dir_or_writer if rank == 0 else None
    if isinstance(log_dir_or_writer, (str, os.PathLike)):
        return os.path.join(os.fspath(log_dir_or_writer), f"rank_{rank}")
    return log_dir_or_writer


def _logdir(target: Any) -> str:
    return os.fspath(target) if isinstance(target, (str, os.PathLike)) else target.get_logdir()


def layers_table(records: Iterable[Mapping[str, Any]]) -> str:
    """A Markdown table ``layer_<k> | module | activation`` of the layers in ``records``."""
    rows, seen = ["| tag | module | activation |", "| --- | --- | --- |"], set()
    for r in records:
        if r["layer"] not in seen:
            seen.add(r["layer"])
            rows.append(f"| layer_{r['layer']} | {r.get('name', '')} | {r.get('act_kind', '')} |")
    return "\n".join(rows)


def write_records(writer: SummaryWriter, records: Iterable[Mapping[str, Any]]) -> int:
    """Write records (as :attr:`Tracker.history` holds them) as float64 scalars at their
    ``step``; returns how many scalars were written."""
    n = 0
    for r in records:
        for name, value in stat_tags(r).items():
            writer.add_scalar(name, value, global_step=r["step"], new_style=True,
                              double_precision=True)
            n += 1
    return n


def write_histograms(writer: SummaryWriter, histograms: Iterable[Mapping[str, Any]]) -> int:
    """Write the tracker's histogram dicts (``step``, ``layer``, ``kind``, ``counts``,
    ``edges``) with ``add_histogram_raw``; returns how many were written.

    The tracker keeps bin counts only: ``sum`` and ``sum_squares`` are computed from the
    bin centres (TensorBoard draws the buckets and does not use them).
    """
    n = 0
    for h in histograms:
        counts, edges = list(h["counts"]), list(h["edges"])
        centres = [(lo + hi) / 2 for lo, hi in itertools.pairwise(edges)]
        writer.add_histogram_raw(
            tag(h["kind"], h["layer"]), min=edges[0], max=edges[-1], num=sum(counts),
            sum=math.fsum(c * x for c, x in zip(counts, centres, strict=True)),
            sum_squares=math.fsum(c * x * x for c, x in zip(counts, centres, strict=True)),
            bucket_limits=edges[1:], bucket_counts=counts, global_step=h["step"])
        n += 1
    return n


def to_tensorboard(tracker: Tracker, log_dir_or_writer: str | os.PathLike | SummaryWriter,
                   histograms: bool | None = None) -> str:
    """Write every recorded step of ``tracker`` to TensorBoard.

    Args:
        tracker: A :class:`~gradcourse.tracking.Tracker` with at least one recorded step.
        log_dir_or_writer: A folder (a writer is made there, and closed at the end) or
            an open ``SummaryWriter`` (flushed, left open: add your own scalars to it).
        histograms: Also write the tracker's histograms. ``None`` (default): if it kept
            any; ``True`` insists (an error if it kept none).

    Returns:
        The writer's log directory (in several processes, see :func:`rank_target`: the
        ranks that do not write return it too).

    Raises:
        ValueError: If the tracker recorded no step, if ``histograms=True`` and it kept
            no histogram, or if the writer given is closed.
        ImportError: If tensorboard is not installed (the message names the extra).
    """
    records = tracker.history
    if not records:
        raise ValueError("to_tensorboard: the tracker has recorded no step yet: train at least "
                         "one step with it attached (with Tracker(model) as tracker: ...), or "
                         "check its every= setting")
    kept = getattr(tracker, "histograms", [])
    if histograms and not kept:
        raise ValueError("to_tensorboard(histograms=True): this tracker kept no histograms; "
                         "build it with Tracker(model, histograms=True)")
    target = rank_target(tracker, log_dir_or_writer)
    if target is None:
        _summary_writer_class()  # the same ImportError on every rank
        return _logdir(log_dir_or_writer)
    writer, owned = open_writer(target)
    try:
        writer.add_text(f"{PREFIX}/layers", layers_table(records), global_step=records[0]["step"])
        write_records(writer, records)
        if histograms is not False:
            write_histograms(writer, kept)
        writer.flush()
        return writer.get_logdir()
    finally:
        if owned:
            writer.close()


class LiveWriter:
    """A :attr:`Tracker.listeners` entry that writes each recorded step as it closes:
    what ``Tracker(model, tensorboard=log_dir_or_writer)`` installs.

    The scalars and (if the tracker keeps them) the step's histograms are written and
    flushed at each recorded step, so that the event files are complete while training
    runs. A writer opened from a folder is closed by :meth:`close` (the tracker's
    ``remove()``) and opened again, on a new event file, if the tracker records again.

    Attributes:
        writer: The ``SummaryWriter`` (``None`` while closed, and on the ranks that do
            not write, see :func:`rank_target`).

    Raises:
        ImportError: At construction, if tensorboard is not installed (names the extra).
    """

    def __init__(self, tracker: Tracker, log_dir_or_writer: str | os.PathLike | SummaryWriter) -> None:
        self._tracker = weakref.ref(tracker)
        self._target = rank_target(tracker, log_dir_or_writer)
        self.writer: SummaryWriter | None = None
        self._owned, self._texted = False, False
        if self._target is None:
            _summary_writer_class()
        else:
            self.writer, self._owned = open_writer(self._target)

    def __call__(self, records: list[dict[str, Any]]) -> None:
        if self._target is None or not records:
            return
        if self.writer is None:
            self.writer, self._owned = open_writer(self._target)
        elif not self._owned:
            open_writer(self.writer)  # ValueError if the caller closed it meanwhile
        writer, step = self.writer, records[0]["step"]
        if not self._texted:
            writer.add_text(f"{PREFIX}/layers", layers_table(records), global_step=step)
            self._texted = True
        write_records(writer, records)
        tracker = self._tracker()
        if tracker is not None and tracker.histograms:
            this = list(itertools.takewhile(lambda h: h["step"] == step,
                                            reversed(tracker.histograms)))
            write_histograms(writer, reversed(this))
        writer.flush()

    def close(self) -> None:
        """Close the writer if it was opened here from a folder (a writer given stays open)."""
        if self._owned and self.writer is not None:
            self.writer.close()
            self.writer = None
