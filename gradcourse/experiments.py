"""Experiments that hold on any machine: one configuration over several seeds.

A single training run of a deep network is chaotic: a different seed, CPU
instruction set or thread count changes it from the first step, and training
magnifies the difference. A claim about networks ("a high learning rate kills
ReLU units") is therefore a claim about the *distribution* over seeds. The
course states such claims as a median with its spread, computed here:

>>> import gradcourse as gc
>>> runs = gc.over_seeds(lambda seed: {"x": seed * 2.0, "profile": [seed, 1.0]}, seeds=3)
>>> runs.median("x"), runs.range("x")
(2.0, (0.0, 4.0))
>>> runs["profile"].shape  # (seeds, ...)
(3, 2)

:func:`layer_stats` is the one-shot probe: one forward and backward pass under a
:class:`~gradcourse.Tracker`, returning its per-layer records.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .tracking import Tracker
from .training import (
    _check_dtype,
    _check_labels,
    _check_loss,
    _check_trainable,
    _check_types,
    _device,
    _forward,
    _want_progress,
)

__all__ = ["Seeds", "layer_stats", "over_seeds", "probe"]


class Seeds:
    """The results of one experiment repeated over seeds.

    Each result is a mapping from a name to a number or a sequence of numbers (the
    same length for every seed). Indexing by name gives a NumPy array of shape
    ``(n_seeds, ...)``; the methods reduce over the seeds (axis 0).

    Attributes:
        seeds: The seeds, in the order they ran.
        results: One mapping per seed.
    """

    def __init__(self, seeds: Sequence[int], results: Sequence[Mapping[str, Any]]) -> None:
        if len(seeds) != len(results) or not results:
            raise ValueError("Seeds needs one result per seed and at least one seed")
        self.seeds = list(seeds)
        self.results = [dict(r) for r in results]

    def keys(self) -> list[str]:
        """The result names, in the first seed's order (then any only later seeds have)."""
        return list(dict.fromkeys(k for r in self.results for k in r))

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, key: str) -> np.ndarray:
        missing = [s for s, r in zip(self.seeds, self.results, strict=True) if key not in r]
        if len(missing) == len(self.seeds):
            raise KeyError(f"no result named {key!r}; the results are {self.keys()}")
        if missing:
            raise KeyError(f"{key!r} is missing from the results of seed(s) {missing}: return it "
                           "for every seed (NaN where a run has no value; median and range skip NaN)")
        values = [r[key] for r in self.results]
        for seed, v in zip(self.seeds, values, strict=True):
            if v is None or (isinstance(v, (list, tuple)) and any(x is None for x in v)):
                raise ValueError(f"{key!r} is None for seed {seed}: return a number, or "
                                 "float('nan') where a run has none (median, quantile and range "
                                 "skip NaN)")
        try:
            return np.asarray(values, dtype=float)  # (S, ...)
        except ValueError as err:  # ragged: e.g. runs that stopped at different steps
            raise ValueError(f"{key!r} has a different length for some seeds; pad it or "
                             "reduce it to a number inside the experiment") from err
        except TypeError as err:  # a Report, a string: kept in .results, not reduced
            raise TypeError(f"{key!r} holds {type(values[0]).__name__}, not numbers: Seeds reduces "
                            f"numbers and sequences of numbers; read it from .results") from err

    def median(self, key: str) -> Any:
        """Median over seeds (NaN-aware); a float, or an array for sequences."""
        return _scalar(np.nanmedian(self[key], axis=0))

    def quantile(self, key: str, q: float) -> Any:
        """The ``q`` quantile over seeds (NaN-aware)."""
        return _scalar(np.nanquantile(self[key], q, axis=0))

    def range(self, key: str) -> tuple[Any, Any]:
        """(min, max) over seeds: the spread the pages print."""
        values = self[key]
        return _scalar(np.nanmin(values, axis=0)), _scalar(np.nanmax(values, axis=0))

    def fraction(self, key: str, predicate: Callable[[np.ndarray], np.ndarray]) -> float:
        """Fraction of seeds whose value satisfies ``predicate`` (applied elementwise)."""
        return float(np.mean(predicate(self[key])))

    def to_frame(self):
        """One row per seed and one column per numeric result (needs pandas)."""
        import pandas as pd

        rows = [{"seed": s, **{k: v for k, v in r.items() if _is_number(v)}}
                for s, r in zip(self.seeds, self.results, strict=True)]
        return pd.DataFrame(rows).set_index("seed")

    def __repr__(self) -> str:
        lines = [f"Seeds({len(self)} seeds: {self.seeds})"]
        for key in self.keys():
            try:
                values = self[key]
            except TypeError:  # a repr never raises
                kind = type(next(r[key] for r in self.results if key in r)).__name__
                lines.append(f"  {key}: {kind} per seed (not numeric)")
                continue
            except (KeyError, ValueError):
                lines.append(f"  {key}: not reduced (runs[{key!r}] says why)")
                continue
            if values.ndim == 1:
                lo, hi = self.range(key)
                lines.append(f"  {key}: median {self.median(key):.4g} (min {lo:.4g}, max {hi:.4g})")
            else:
                lines.append(f"  {key}: shape {values.shape[1:]} per seed")
        return "\n".join(lines)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.number))  # bools count: a fraction of seeds


def _scalar(a: np.ndarray) -> Any:
    return float(a) if np.ndim(a) == 0 else a


def over_seeds(experiment: Callable[[int], Mapping[str, Any]], seeds: int | Iterable[int] = 5,
               progress: bool | None = None) -> Seeds:
    """Run ``experiment(seed)`` for each seed and collect the results.

    Args:
        experiment: Takes a seed, returns a mapping of names to numbers or sequences
            of numbers. Seed everything inside it from that seed (the model's ``seed=``
            and :func:`~gradcourse.train`'s ``seed=``).
        seeds: A number ``n`` (seeds ``0 .. n-1``) or the seeds themselves.
        progress: Show a progress bar; default as :func:`~gradcourse.train`
            (``GRADCOURSE_PROGRESS``, on in a terminal).

    Returns:
        A :class:`Seeds` with one result per seed.
    """
    if isinstance(seeds, (bool, str)) or not isinstance(seeds, (numbers.Integral, Iterable)):
        raise TypeError(f"seeds must be a count or an iterable of ints, got {seeds!r}")
    seeds = list(range(int(seeds))) if isinstance(seeds, numbers.Integral) else list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: pass a count >= 1 or a list of seeds")
    for s in seeds:  # 1.5 would run as seed 1
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"seeds must be ints, got {s!r} in {seeds}")
    seeds = [int(s) for s in seeds]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:  # the same run twice would count as two independent ones
        raise ValueError(f"seeds repeat {repeated}: each seed must appear once")
    results = []
    iterator = seeds
    if _want_progress(progress):
        from tqdm.auto import tqdm

        iterator = tqdm(seeds, desc="seeds", leave=False)
    for seed in iterator:
        try:
            result = experiment(seed)
        except Exception as err:
            if hasattr(err, "add_note"):  # Python >= 3.11: the traceback says which seed
                err.add_note(f"over_seeds: raised by the experiment with seed {seed}")
            raise
        if not isinstance(result, Mapping):
            raise TypeError(f"the experiment must return a mapping of results, got "
                            f"{type(result).__name__} for seed {seed}: return e.g. {{'acc': acc}}")
        results.append(result)
    return Seeds(seeds, results)


def layer_stats(model: nn.Module, X: Tensor, y: Tensor,
                loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
                **tracker_kwargs: Any) -> list[dict[str, Any]]:
    """Per-layer statistics of one forward and backward pass of ``model`` on ``(X, y)``.

    The records of :meth:`gradcourse.Tracker.summary` (``act_std``, ``grad_std``,
    ``dead_frac``, ``weight_grad_norm``...), one per layer. The model is left as it
    was: its parameters, its ``.grad``, its buffers (BatchNorm's running statistics),
    and so is the global random state (see :func:`probe`).

    Args:
        model: A :class:`gradcourse.MLP` or any model :class:`~gradcourse.Tracker`
            can follow.
        X: A batch of inputs, ``(B, D)``, or integer token ids for a model that starts
            with an ``nn.Embedding``. Moved to the model's device.
        y: Targets for ``loss_fn`` (class indices for the default cross-entropy, which
            takes ``(B, C)`` logits; give ``loss_fn`` for ``(B, T, V)`` ones).
        loss_fn: Default ``nn.CrossEntropyLoss()``. Must return a scalar.
        **tracker_kwargs: Passed to :class:`~gradcourse.Tracker` (``update_ratio``
            is off: no optimizer steps).

    Example:
        >>> import gradcourse as gc
        >>> data = gc.digits()
        >>> model = gc.MLP(64, 10, depth=3, width=32, activation="tanh", seed=0)
        >>> [round(r["act_std"], 2) for r in gc.layer_stats(model, data.X_train, data.y_train)]
        [0.73, 0.67, 0.68]
    """
    tracker_kwargs.setdefault("update_ratio", False)
    return probe(model, X, y, loss_fn, **tracker_kwargs).summary()


def _check_probe(model: nn.Module, X: Tensor, y: Tensor, loss_fn, what: str) -> tuple[Tensor, Tensor]:
    """The checks of :func:`probe` before any pass; ``(X, y)`` on the model's device.

    ``X`` may hold NaN/Inf (the diagnosis reports where it goes) and integers (token ids).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"{what}: model must be an nn.Module, got {type(model).__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"{what}: loss_fn must be callable (e.g. nn.CrossEntropyLoss()), got "
                        f"{type(loss_fn).__name__}")
    _check_types(X, y, what, classes=loss_fn is None)
    if X.dim() == 0:
        raise ValueError(f"{what}: X must be a batch (N, ...), got a 0-dim tensor")
    if len(X) == 0:
        raise ValueError(f"{what}: no examples (X is empty)")
    if y.dim() and len(y) != len(X):
        raise ValueError(f"{what}: X has {len(X)} rows but y has {len(y)}")
    device = _device(model)
    _check_trainable(model, what)
    for name, t in (("X", X), ("y", y)):
        if t.is_meta:
            raise ValueError(f"{what}: {name} is on the meta device: it holds no values")
    _check_dtype(model, X)
    return X.to(device), y.to(device)


_ELEMENTWISE = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss, nn.BCELoss, nn.BCEWithLogitsLoss)


def _preflight(model: nn.Module, X: Tensor, y: Tensor, loss_fn, what: str) -> None:
    """One example through the model in eval mode, without gradients (no BatchNorm update):
    clear errors for integer inputs the model cannot take and for targets that do not fit
    its output (labels out of range, a wrong shape that a loss would broadcast)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = _forward(model, X[:1], what, ids=X)
    finally:
        model.train(was_training)
    if y.dim() == 0:
        return
    full = out.expand(len(y), *out.shape[1:])  # (B, ...) as the whole batch gives it
    if loss_fn is None and out.dim() != 2:  # (B, T, V) or (B, C, T)? Only the user knows
        raise ValueError(f"{what}: the default cross-entropy takes (B, C) logits, the model outputs "
                         f"{tuple(full.shape)}: pass loss_fn, e.g. nn.CrossEntropyLoss() for torch's "
                         "(B, C, ...) layout, or lambda out, y: F.cross_entropy(out.flatten(0, 1), "
                         "y.flatten()) for (B, T, V) logits")
    if (loss_fn is None or isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss))) \
            and not y.is_floating_point():  # float y for cross-entropy: class probabilities
        _check_labels(full, y, "y", getattr(loss_fn, "ignore_index", -100), what)
    elif isinstance(loss_fn, _ELEMENTWISE) and y.shape != full.shape:
        raise ValueError(f"{what}: the model outputs {tuple(full.shape)} but y has "
                         f"{tuple(y.shape)}; {type(loss_fn).__name__} would broadcast them: "
                         "reshape y (e.g. y[:, None]) to match")


def probe(model: nn.Module, X: Tensor, y: Tensor,
          loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None, *, what: str = "layer_stats",
          **tracker_kwargs: Any) -> Tracker:
    """One forward and backward pass under a :class:`~gradcourse.Tracker`; returns the tracker.

    What :func:`layer_stats` and :func:`~gradcourse.diagnose` share: the pass leaves the
    model's parameters, ``.grad``, buffers (BatchNorm's running statistics) and the global
    random state as they were. A non-finite loss is recorded but not back-propagated.
    ``X`` and ``y`` are moved to the model's device, as :func:`~gradcourse.train` does;
    integer ``X`` (token ids for an ``nn.Embedding``) is passed as it is.

    Raises:
        TypeError, ValueError: Naming ``what``, for inputs the pass cannot use: not tensors,
            a dtype that is not the model's, labels outside the model's classes, a loss
            that is not a scalar, a model on the meta device.
    """
    X, y = _check_probe(model, X, y, loss_fn, what)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = [p.grad for p in params]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    for p in params:
        p.grad = None
    devices = [torch.cuda.current_device()] if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=devices), torch.enable_grad():
            _preflight(model, X, y, loss_fn, what)  # errors before the Tracker attaches
            loss_fn = loss_fn or nn.CrossEntropyLoss()
            with Tracker(model, **tracker_kwargs) as tracker:
                loss = loss_fn(model(X), y)
                _check_loss(loss, what)
                if torch.isfinite(loss.detach()).all():
                    loss.backward()
                tracker.step(loss)
    finally:
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        with torch.no_grad():  # BatchNorm running statistics and num_batches_tracked
            for b, saved in buffers:
                b.copy_(saved)
    return tracker
