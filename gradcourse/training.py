"""A small, honest training loop for the course's experiments.

It records what the course plots (loss, total gradient norm, accuracy), stops
cleanly on a non-finite loss or gradient instead of filling plots with NaN, and
calls back into :class:`Callback` objects so that tracking can attach to every
step.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn

from .data import Dataset

__all__ = ["Callback", "History", "accuracy", "train"]

OPTIMIZERS = ("sgd", "momentum", "adam")


class Callback:
    """Hook points of :func:`train`; override the ones you need.

    The order in each step is: forward, backward, (clipping), ``on_after_backward``,
    ``optimizer.step()``, ``on_step_end``. A callback thus sees the gradients the optimizer
    applies, clipped if ``clip_norm`` is set. If anything raises inside :func:`train`
    (Ctrl-C included), every callback gets ``on_exception`` and then ``on_train_end``.
    """

    def on_train_begin(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Called once, before the first step."""

    def on_after_backward(self, step: int, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Gradients are ready (and clipped); the optimizer has not stepped yet. Also called
        for a step whose gradient norm is non-finite, just before training stops."""

    def on_step_end(self, step: int, loss: float, model: nn.Module,
                    optimizer: torch.optim.Optimizer) -> None:
        """The optimizer has stepped (not called for a step that stopped training)."""

    def on_exception(self, exc: BaseException, history: History) -> None:
        """An exception (or ``KeyboardInterrupt``) left the loop; ``history`` holds the
        completed steps. ``on_train_end`` follows."""

    def on_train_end(self, history: History) -> None:
        """Called once, also when training stopped early or on an exception."""


@dataclass
class History:
    """What :func:`train` measured. Lists are aligned with ``step``/``eval_step``.

    Attributes:
        step: Step numbers (1-based) that completed.
        loss: Training loss of each completed step (finite by construction).
        grad_norm: Total L2 norm of all gradients before clipping, per step.
        eval_step: Steps at which accuracy was measured.
        train_acc, test_acc: Accuracy (0..1) at those steps.
        stop_step: Step at which training stopped early, or ``None``.
        stop_reason: Why it stopped: ``"non-finite loss"``, ``"non-finite gradient norm"``,
            ``"interrupted"`` (Ctrl-C: :func:`train` returns the partial history) or
            ``"exception: <type>"`` (the exception is re-raised with this history as its
            ``history`` attribute); ``None`` if it ran to the end.
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    stop_step: int | None = None
    stop_reason: str | None = None

    @property
    def diverged(self) -> bool:
        """True if training stopped on a non-finite value."""
        return (self.stop_reason or "").startswith("non-finite")

    def as_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:
        last = f"loss {self.loss[-1]:.4g}" if self.loss else "no step"
        acc = f", test acc {self.test_acc[-1]:.3f}" if self.test_acc else ""
        stop = (f", stopped at step {self.stop_step}: {self.stop_reason}"
                if self.stop_step is not None else "")
        return f"History({len(self.step)} steps, {last}{acc}{stop})"


@torch.no_grad()
def accuracy(model: nn.Module, X: Tensor, y: Tensor, batch_size: int = 1024) -> float:
    """Fraction of ``X`` that ``model`` classifies as ``y`` (in eval mode, then restored)."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, len(X), batch_size):
        correct += (model(X[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum().item()
    model.train(was_training)
    return correct / max(len(X), 1)


def _check_xy(X: Tensor, y: Tensor, what: str) -> None:
    if not isinstance(X, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"{what}: X and y must be torch tensors")
    if not X.is_floating_point():
        raise TypeError(f"{what}: X must be a floating-point tensor, got {X.dtype}")
    if y.dtype != torch.int64:
        raise TypeError(f"{what}: y must hold int64 class indices, got {y.dtype}")
    if X.dim() < 2 or y.dim() != 1:
        raise ValueError(f"{what}: X must be (N, D) and y (N,), got {tuple(X.shape)} and {tuple(y.shape)}")
    if len(X) != len(y):
        raise ValueError(f"{what}: X has {len(X)} rows but y has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{what}: no examples")
    if not torch.isfinite(X).all():
        raise ValueError(f"{what}: X contains NaN or Inf")


def _as_dataset(data) -> Dataset:
    if isinstance(data, Dataset):
        ds = data
    elif isinstance(data, Sequence) and len(data) in (2, 4):
        X_tr, y_tr, *test = data
        X_te, y_te = test if test else (X_tr[:0], y_tr[:0])
        n = int(y_tr.max()) + 1 if isinstance(y_tr, Tensor) and y_tr.numel() else 0
        ds = Dataset(X_tr, y_tr, X_te, y_te, n_classes=n)
    else:
        raise TypeError("data must be a gradcourse.data.Dataset or a tuple "
                        "(X_train, y_train) or (X_train, y_train, X_test, y_test)")
    _check_xy(ds.X_train, ds.y_train, "training data")
    if len(ds.X_test):
        _check_xy(ds.X_test, ds.y_test, "test data")
    return ds


def _make_optimizer(name: str, params, lr: float, momentum: float, weight_decay: float):
    from ._registry import canonical

    name = canonical("optimizer", name, dict.fromkeys(OPTIMIZERS))  # "SGD" too; else a suggestion
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)  # name == "adam"


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    env = os.environ.get("GRADCOURSE_PROGRESS")
    if env is not None:  # the docs build sets 0; a user can force 1
        return env not in ("", "0", "false")
    shell = type(sys.modules["IPython"].get_ipython()).__name__ if "IPython" in sys.modules else ""
    return sys.stderr.isatty() or shell == "ZMQInteractiveShell"


def train(
    model: nn.Module,
    data: Dataset | tuple,
    *,
    lr: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int = 64,
    steps: int | None = None,
    epochs: int | None = None,
    clip_norm: float | None = None,
    seed: int = 0,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    eval_every: int | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool | None = None,
) -> History:
    """Train ``model`` on ``data`` with mini-batches and return a :class:`History`.

    Args:
        model: Any classifier ``(B, D) -> (B, C)``.
        data: A :class:`~gradcourse.data.Dataset`, or ``(X, y)`` / ``(X, y, X_test, y_test)``.
        lr: Learning rate (> 0).
        optimizer: ``"sgd"``, ``"momentum"`` (SGD with ``momentum``) or ``"adam"``.
        batch_size: Examples per step; batches are reshuffled every epoch and an
            incomplete last batch is dropped.
        steps: Number of optimizer steps. Give ``steps`` or ``epochs``, not both.
        epochs: Passes over the training set (default 1 if neither is given).
        clip_norm: If set, clip the total gradient norm to this value (Pascanu et al. 2013).
        seed: Seeds the batch order only (build the model with its own seed).
        loss_fn: Defaults to cross-entropy.
        eval_every: Measure accuracy every this many steps (default: about 10 times
            per run) and always at the end.
        callbacks: :class:`Callback` objects, e.g. a :class:`gradcourse.tracking.Tracker`.
        progress: Show a tqdm bar. ``None``: only in a terminal or a notebook.

    Returns:
        The :class:`History`. If the loss or the gradient norm becomes NaN/Inf, training
        stops before the optimizer applies it; ``stop_step``/``stop_reason`` say why.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    ds = _as_dataset(data)
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"clip_norm must be > 0 or None, got {clip_norm!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if steps is not None and epochs is not None:
        raise ValueError("give steps or epochs, not both")
    n = len(ds.X_train)
    batch_size = min(batch_size, n)
    per_epoch = n // batch_size  # full batches only: a 3-example tail step is pure noise
    total = steps if steps is not None else (epochs if epochs is not None else 1) * per_epoch
    if not isinstance(total, int) or total < 1:
        raise ValueError(f"steps and epochs must be ints >= 1, got steps={steps!r}, epochs={epochs!r}")
    eval_every = eval_every or max(1, total // 10)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, lr, momentum, weight_decay)
    gen = torch.Generator().manual_seed(seed)
    hist = History()
    for cb in callbacks:
        cb.on_train_begin(model, opt)

    bar = None
    if _want_progress(progress):
        from tqdm import tqdm

        bar = tqdm(total=total, desc="train", leave=False, file=sys.stderr)
    model.train()
    order = torch.randperm(n, generator=gen)
    pos = step = 0
    try:
        for step in range(1, total + 1):
            if pos + batch_size > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos : pos + batch_size]
            pos += batch_size
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(ds.X_train[idx]), ds.y_train[idx])
            value = loss.item()
            if not math.isfinite(value):
                hist.stop_step, hist.stop_reason = step, "non-finite loss"
                break
            loss.backward()
            norm = _clip(params, clip_norm)
            for cb in callbacks:
                cb.on_after_backward(step, model, opt)
            if not math.isfinite(norm):
                hist.stop_step, hist.stop_reason = step, "non-finite gradient norm"
                break
            opt.step()
            hist.step.append(step)
            hist.loss.append(value)
            hist.grad_norm.append(norm)
            for cb in callbacks:
                cb.on_step_end(step, value, model, opt)
            if step % eval_every == 0 or step == total:
                _evaluate(model, ds, step, hist)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3f}", refresh=False)
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        hist.stop_step = step
        hist.stop_reason = "interrupted" if interrupted else f"exception: {type(exc).__name__}"
        _notify(callbacks, "on_exception", exc, hist)
        _notify(callbacks, "on_train_end", hist)  # e.g. a Tracker removes its hooks
        if not interrupted:
            try:
                exc.history = hist  # the partial History travels with the exception
            except AttributeError:
                pass
            raise
        warnings.warn(f"train() interrupted at step {step}: returning the partial history",
                      stacklevel=2)
        return hist
    finally:
        if bar is not None:
            bar.close()
    if hist.diverged and hist.step and (not hist.eval_step or hist.eval_step[-1] != hist.step[-1]):
        _evaluate(model, ds, hist.step[-1], hist)  # accuracy of the last finite weights
    for cb in callbacks:
        cb.on_train_end(hist)
    return hist


def _clip(params: list[Tensor], clip_norm: float | None) -> float:
    """Total gradient norm before clipping, in float64: finite gradients beyond 1e19 would
    overflow a float32 sum of squares and be called non-finite. Clips in place only if
    ``clip_norm`` is set and the norm is finite (scaling by a NaN would erase where the
    NaN came from)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    by_device: dict[torch.device, list[Tensor]] = {}
    for g in grads:
        by_device.setdefault(g.device, []).append(g)
    norms = [n.to(grads[0].device) for gs in by_device.values()
             for n in torch._foreach_norm(gs, 2.0, dtype=torch.float64)]
    norm = torch.linalg.vector_norm(torch.stack(norms))
    if clip_norm is not None and bool(torch.isfinite(norm)):
        # scale by torch's own float32 norm where it is finite: the same steps as
        # nn.utils.clip_grad_norm_, so clipped runs keep their numbers
        norm32 = nn.utils.get_total_norm(grads)
        nn.utils.clip_grads_with_norm_(params, clip_norm,
                                       norm32 if bool(torch.isfinite(norm32)) else norm)
    return float(norm)


def _notify(callbacks: Sequence[Callback], hook: str, *args) -> None:
    """Call ``hook`` on every callback while an exception is already on its way out."""
    for cb in callbacks:
        try:
            getattr(cb, hook)(*args)
        except Exception as err:  # must not hide the exception being handled
            warnings.warn(f"{type(cb).__name__}.{hook} failed: {err!r}", stacklevel=3)


def _evaluate(model: nn.Module, ds: Dataset, step: int, hist: History) -> None:
    train_acc = accuracy(model, ds.X_train, ds.y_train)
    hist.eval_step.append(step)
    hist.train_acc.append(train_acc)
    if len(ds.X_test):  # without a test set test_acc stays empty, never NaN
        hist.test_acc.append(accuracy(model, ds.X_test, ds.y_test))
