"""A small, honest training loop for the course's experiments.

It records what the course plots (loss, total gradient norm, accuracy), stops
cleanly on a non-finite loss or gradient instead of filling plots with NaN, and
calls back into :class:`Callback` objects so that tracking can attach to every
step.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
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
    """Fraction of ``X`` that ``model`` classifies as ``y`` (in eval mode, then restored).

    ``X`` and ``y`` are moved to the model's device batch by batch.

    Example:
        >>> import gradcourse as gc
        >>> model = gc.MLP(64, 10, depth=1, width=8, seed=0)
        >>> 0 <= accuracy(model, torch.zeros(5, 64), torch.zeros(5, dtype=torch.long)) <= 1
        True
        >>> model.training  # the mode is put back
        True
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    _check_xy(X, y, "accuracy", finite=False)
    device = _device(model)
    was_training = model.training
    model.eval()
    correct = 0
    try:
        for i in range(0, len(X), batch_size):
            out = model(X[i : i + batch_size].to(device))
            if not isinstance(out, Tensor) or out.dim() != 2:
                shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                raise ValueError(f"accuracy needs (B, C) logits from the model, got {shape}")
            correct += (out.argmax(1) == y[i : i + batch_size].to(device)).sum().item()
    finally:
        model.train(was_training)
    return correct / max(len(X), 1)


def _device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU if it has none).

    Raises:
        ValueError: For a model on the ``meta`` device: it has shapes but no values.
    """
    for name, t in (*model.named_parameters(), *model.named_buffers()):
        if t.is_meta:
            raise ValueError(f"the model is on the meta device ({name} holds no values): build it "
                             "on a real device, or materialize it first with model.to_empty(device="
                             "'cpu') and then initialize it (gc.initialize_ or reset_parameters())")
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


_HOOKS = ("on_train_begin", "on_after_backward", "on_step_end", "on_exception", "on_train_end")


def _callbacks(callbacks) -> list[Callback]:
    """A list of callbacks: one given alone is a list of one; anything without the hooks is refused."""
    items = [callbacks] if isinstance(callbacks, Callback) else callbacks
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"callbacks must be a list of Callback objects (e.g. [gc.Tracker(model)]), "
                        f"got {type(callbacks).__name__}") from None
    for cb in items:
        lacking = [h for h in _HOOKS if not callable(getattr(cb, h, None))]
        if lacking:
            raise TypeError(f"callbacks must be Callback objects (subclass gradcourse.Callback); "
                            f"{type(cb).__name__} has no {', '.join(lacking)}")
    return items


def _check_trainable(model: nn.Module, what: str) -> None:
    """Gradients can be computed: a trainable parameter, and not inside ``torch.inference_mode``."""
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"{what}: model has no trainable parameters (requires_grad=True)")
    if torch.is_inference_mode_enabled():
        raise RuntimeError(f"{what} needs gradients, which torch.inference_mode() turns off: "
                           "call it outside that block")


def _check_dtype(model: nn.Module, X: Tensor) -> None:
    """A floating ``X`` must have the dtype of the model's floating parameters."""
    dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
    if X.is_floating_point() and dtypes and X.dtype not in dtypes:
        want = next(iter(dtypes))
        raise TypeError(f"X is {X.dtype} but the model's parameters are {want}: convert the data "
                        f"(X.to({want})) or the model (model.to({X.dtype}))")


def _forward(model: nn.Module, X: Tensor, what: str, ids: Tensor | None = None) -> Tensor:
    """``model(X)``; for integer ``X`` (token ids), torch's dtype and index errors say so.

    ``ids``: all the token ids the model will see (``X`` may be the first example only);
    one beyond every ``nn.Embedding`` of the model is refused before the pass.
    """
    if X.is_floating_point():
        return _logits(model(X), what)
    ids = X if ids is None else ids
    sizes = sorted({m.num_embeddings for m in model.modules()
                    if isinstance(m, (nn.Embedding, nn.EmbeddingBag))})
    span = f"X holds token ids in [{int(ids.min())}, {int(ids.max())}]" if ids.numel() else ""
    message = (f"{what}: {span} but the model's nn.Embedding has {', '.join(map(str, sizes))} "
               "entries: ids must be in [0, num_embeddings)")
    if sizes and ids.numel() and (ids.min() < 0 or ids.max() >= sizes[-1]):
        raise IndexError(message)
    try:
        out = model(X)
    except (RuntimeError, IndexError) as err:
        if isinstance(err, IndexError) and sizes:
            raise IndexError(f"{message} ({err})") from err
        raise TypeError(f"{what}: the model failed on integer X ({X.dtype}): {err}. Integer X is "
                        "passed as it is, as token ids for an nn.Embedding; for features use "
                        "X.float()") from err
    return _logits(out, what)


def _logits(out, what: str) -> Tensor:
    if not isinstance(out, Tensor):  # nn.LSTM returns (output, (h, c)), HF models a dict
        raise TypeError(f"{what}: the model must return a tensor of logits, got "
                        f"{type(out).__name__}: wrap it in a module whose forward returns the "
                        "tensor the loss takes (e.g. the LSTM's output through a Linear head)")
    return out


def _check_labels(out: Tensor, labels: Tensor, name: str, ignore_index: int | None = None,
                  what: str = "") -> None:
    """Class indices ``labels`` fit logits ``out`` ``(B, C, ...)``: the shape, and each
    label in ``[0, C)`` (``ignore_index``, skipped by the loss, allowed). ``what`` prefixes
    the messages."""
    what = f"{what}: " if what else ""
    if out.dim() < 2:
        raise ValueError(f"{what}with cross-entropy the model must output (B, C) logits, got shape "
                         f"{tuple(out.shape)}; pass loss_fn for other outputs")
    want = (out.shape[0], *out.shape[2:])
    if tuple(labels.shape) != want:
        hint = (" Logits (B, T, V) need the classes on dim 1: pass e.g. loss_fn=lambda out, y: "
                "F.cross_entropy(out.flatten(0, 1), y.flatten())" if out.dim() == 3 else "")
        raise ValueError(f"{what}cross-entropy reads the model's output {tuple(out.shape)} as (B, C, ...) "
                         f"with C = {out.shape[1]} classes on dim 1, so {name} must have shape "
                         f"{want}, got {tuple(labels.shape)}.{hint}")
    n_classes = out.shape[1]
    kept = labels if ignore_index is None else labels[labels != ignore_index]
    if kept.numel() and (kept.min() < 0 or kept.max() >= n_classes):
        bad = kept[(kept < 0) | (kept >= n_classes)][0].item()
        hint = (" (-100, cross-entropy's ignore_index, is not supported: drop those examples)"
                if bad == -100 else "")
        raise ValueError(f"{what}{name} must hold class indices in [0, {n_classes}) for a model with "
                         f"{n_classes} outputs; found {bad}{hint}")


def _check_loss(loss, what: str = "") -> None:
    if not isinstance(loss, Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
        where = f"{what}: " if what else ""
        raise ValueError(f"{where}loss_fn must return a scalar tensor, got {shape}; for a torch "
                         "loss use reduction='mean' or 'sum', not 'none'")


def _check_types(X: Tensor, y: Tensor, what: str, *, classes: bool) -> None:
    """Tensors; ``X`` floating (features) or integer (token ids); int64 ``y`` for ``classes``."""
    if not isinstance(X, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"{what}: X and y must be torch tensors, got {type(X).__name__} and "
                        f"{type(y).__name__} (convert with torch.as_tensor)")
    if not (X.is_floating_point() or _integer(X)):
        raise TypeError(f"{what}: X must be a floating-point tensor (features) or an integer one "
                        f"(token ids), got {X.dtype} (use X.float())")
    if classes and y.dtype != torch.int64:
        raise TypeError(f"{what}: y must hold int64 class indices, got {y.dtype} (use y.long() for "
                        "labels, or pass a regression loss_fn such as nn.MSELoss() for float targets)")


def _check_xy(X: Tensor, y: Tensor, what: str, *, classes: bool = True, finite: bool = True) -> None:
    """Check a batch ``(X, y)``: tensors, ``X`` floating or integer ``(N, ...)``, same N, not empty.

    Args:
        X, y: The inputs and targets.
        what: Names the data in the messages ("training data", "diagnose", ...).
        classes: ``y`` must hold int64 class indices ``(N,)``; otherwise any targets with N rows.
        finite: ``X`` must hold no NaN/Inf.
    """
    _check_types(X, y, what, classes=classes)
    if X.dim() < 2 or y.dim() < 1 or (classes and y.dim() != 1):
        shape = "(N,)" if classes else "(N, ...)"
        raise ValueError(f"{what}: X must be (N, D) and y {shape}, got {tuple(X.shape)} and {tuple(y.shape)}")
    if len(X) != len(y):
        raise ValueError(f"{what}: X has {len(X)} rows but y has {len(y)}")
    if len(X) == 0:
        raise ValueError(f"{what}: no examples (X and y are empty)")
    if finite and not torch.isfinite(X).all():
        raise ValueError(f"{what}: X contains NaN or Inf")
    if not classes and y.is_floating_point() and finite and not torch.isfinite(y).all():
        raise ValueError(f"{what}: y contains NaN or Inf")


def _integer(t: Tensor) -> bool:
    return not t.is_floating_point() and not t.is_complex() and t.dtype != torch.bool


def _as_dataset(data, loss_fn=None) -> tuple[Dataset, bool]:
    """The data as a :class:`Dataset`, checked, and whether ``y`` holds class labels.

    Float targets are a regression, allowed only with a ``loss_fn``.
    """
    if isinstance(data, Dataset):
        ds = data
    elif isinstance(data, Sequence) and not isinstance(data, str) and len(data) in (2, 4):
        X_tr, y_tr, *test = data
        X_te, y_te = test if test else (X_tr[:0], y_tr[:0])
        labels = isinstance(y_tr, Tensor) and y_tr.numel() and not y_tr.is_floating_point()
        n = int(y_tr.max()) + 1 if labels else 0
        ds = Dataset(X_tr, y_tr, X_te, y_te, n_classes=n)
    else:
        raise TypeError("data must be a gradcourse.data.Dataset or a tuple "
                        f"(X_train, y_train) or (X_train, y_train, X_test, y_test), got {type(data).__name__}")
    y = ds.y_train
    classes = loss_fn is None or not (isinstance(y, Tensor) and y.is_floating_point())
    _check_xy(ds.X_train, ds.y_train, "training data", classes=classes)
    if len(ds.X_test):
        _check_xy(ds.X_test, ds.y_test, "test data", classes=classes)
    return ds, classes


def _make_optimizer(optimizer, params, lr: float | None, momentum: float | None,
                    weight_decay: float | None) -> torch.optim.Optimizer:
    """Build the optimizer from a name, a ``torch.optim.Optimizer`` class or a factory.

    A name or a class gets ``lr`` (default 0.1) and, where given, ``momentum`` and
    ``weight_decay``; a factory ``f(params)`` sets its own, so giving them too is refused.
    """
    from ._registry import canonical

    given = {k: v for k, v in (("momentum", momentum), ("weight_decay", weight_decay)) if v is not None}
    if isinstance(optimizer, str):
        name = canonical("optimizer", optimizer, dict.fromkeys(OPTIMIZERS))  # "SGD" too; else a suggestion
        lr = 0.1 if lr is None else lr
        wd = given.get("weight_decay", 0.0)
        if name == "adam":
            if "momentum" in given:
                raise ValueError("momentum has no effect with optimizer='adam' (Adam's betas play "
                                 "that role): drop momentum or use optimizer='momentum'")
            return torch.optim.Adam(params, lr=lr, weight_decay=wd)
        default = 0.9 if name == "momentum" else 0.0  # "sgd" with momentum=m is torch's SGD(momentum=m)
        return torch.optim.SGD(params, lr=lr, momentum=given.get("momentum", default), weight_decay=wd)
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        try:
            return optimizer(params, lr=0.1 if lr is None else lr, **given)
        except TypeError as err:
            raise TypeError(f"optimizer {optimizer.__name__} does not take "
                            f"{', '.join(['lr', *given])}: {err}") from None
    if callable(optimizer):
        extra = [k for k, v in (("lr", lr), *given.items()) if v is not None]
        if extra:
            raise ValueError(f"optimizer is a factory that sets its own hyperparameters: do not also pass "
                             f"{', '.join(extra)} to train (e.g. functools.partial(torch.optim.SGD, lr=0.1, "
                             "momentum=0.9))")
        opt = optimizer(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}")
        return opt
    raise TypeError(f"optimizer must be a name ({', '.join(OPTIMIZERS)}), a torch.optim.Optimizer class "
                    f"or a factory params -> Optimizer, got {type(optimizer).__name__}")


_FALSE, _TRUE = ("", "0", "false", "no", "off"), ("1", "true", "yes", "on")


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        return progress
    env = os.environ.get("GRADCOURSE_PROGRESS")
    if env is not None:  # the docs build sets 0; a user can force 1
        value = env.strip().lower()
        if value in _FALSE or value in _TRUE:
            return value in _TRUE
        raise ValueError(f"GRADCOURSE_PROGRESS must be 0/1, false/true, no/yes or off/on, got {env!r}")
    shell = type(sys.modules["IPython"].get_ipython()).__name__ if "IPython" in sys.modules else ""
    return sys.stderr.isatty() or shell == "ZMQInteractiveShell"


def _real(name: str, value, *, optional: bool = False, positive: bool = False, nonnegative: bool = False):
    """``value`` as a float (numpy and 0-dim tensor numbers too), or an error naming ``name``."""
    if value is None and optional:
        return None
    if isinstance(value, Tensor) and value.numel() == 1 and not value.dtype.is_complex:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0) or (nonnegative and value < 0):
        need = "> 0" if positive else ">= 0" if nonnegative else "finite"
        none = " (or None)" if optional else ""
        raise ValueError(f"{name} must be a finite number {need}{none}, got {value!r}")
    return value


def _int(name: str, value, *, optional: bool = False, minimum: int = 1):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _probe(model: nn.Module, ds: Dataset, loss_fn, classes: bool, check_labels: bool) -> None:
    """One example through the model in eval mode (no RNG, no BatchNorm update): clear errors
    for a dtype mismatch, labels out of range and a loss that is not a scalar."""
    X, y = ds.X_train, ds.y_train
    _check_dtype(model, X)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = _forward(model, X[:1], "training data", ids=X)
            if classes and check_labels:
                if out.dim() != 2:
                    raise ValueError(f"with the default cross-entropy the model must output (B, C) "
                                     f"logits, got shape {tuple(out.shape)}; pass loss_fn for other outputs")
                for name, labels in (("y_train", y), ("y_test", ds.y_test)):
                    _check_labels(out.expand(len(labels), -1), labels, name)
            elif not classes and out.shape[1:] != y.shape[1:]:
                raise ValueError(f"the model outputs {tuple(out.shape[1:])} per example but y has "
                                 f"{tuple(y.shape[1:])}: reshape y (e.g. y[:, None]) to match")
            loss = loss_fn(out, y[:1])
    finally:
        model.train(was_training)
    _check_loss(loss)


def train(
    model: nn.Module,
    data: Dataset | tuple,
    *,
    lr: float | None = None,
    optimizer: str | type[torch.optim.Optimizer] | Callable[..., torch.optim.Optimizer] = "sgd",
    batch_size: int = 64,
    steps: int | None = None,
    epochs: int | None = None,
    clip_norm: float | None = None,
    seed: int = 0,
    momentum: float | None = None,
    weight_decay: float | None = None,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    eval_every: int | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool | None = None,
) -> History:
    """Train ``model`` on ``data`` with mini-batches and return a :class:`History`.

    Args:
        model: Any classifier ``(B, D) -> (B, C)`` (or a regression model with a ``loss_fn``).
            Its mode (train/eval) is restored at the end.
        data: A :class:`~gradcourse.data.Dataset`, or ``(X, y)`` / ``(X, y, X_test, y_test)``.
            The tensors are moved to the model's device; a floating ``X`` must have the
            model's dtype, an integer one holds token ids for an ``nn.Embedding``.
            Float ``y`` means regression: give a ``loss_fn`` (e.g. ``nn.MSELoss()``);
            accuracy is then not measured.
        lr: Learning rate (> 0; default 0.1). Not with an optimizer factory.
        optimizer: ``"sgd"``, ``"momentum"`` (SGD with ``momentum``, default 0.9) or
            ``"adam"``; or a ``torch.optim.Optimizer`` class (``torch.optim.AdamW``), built
            with ``lr`` and the ``momentum``/``weight_decay`` given; or a factory
            ``params -> Optimizer`` such as ``functools.partial(torch.optim.SGD, lr=0.1)``.
        batch_size: Examples per step; batches are reshuffled every epoch and an
            incomplete last batch is dropped.
        steps: Number of optimizer steps. Give ``steps`` or ``epochs``, not both.
        epochs: Passes over the training set (default 1 if neither is given).
        clip_norm: If set, clip the total gradient norm to this value (Pascanu et al. 2013).
        seed: Seeds the batch order only (build the model with its own seed).
        momentum: SGD's momentum, as in ``torch.optim.SGD`` (``"sgd"`` with
            ``momentum=0.9`` is the same as ``"momentum"``); refused for Adam.
        weight_decay: L2 penalty of the optimizer (default 0).
        loss_fn: Defaults to cross-entropy. Must return a scalar.
        eval_every: Measure accuracy every this many steps (an int >= 1; default: about
            10 times per run) and always at the end.
        callbacks: :class:`Callback` objects, e.g. a :class:`gradcourse.tracking.Tracker`.
        progress: Show a tqdm bar. ``None``: only in a terminal or a notebook.

    Returns:
        The :class:`History`. If the loss or the gradient norm becomes NaN/Inf, training
        stops before the optimizer applies it; ``stop_step``/``stop_reason`` say why.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (e.g. nn.CrossEntropyLoss()), got {type(loss_fn).__name__}")
    ds, classes = _as_dataset(data, loss_fn)
    lr = _real("lr", lr, optional=True, positive=True)
    momentum = _real("momentum", momentum, optional=True, nonnegative=True)
    weight_decay = _real("weight_decay", weight_decay, optional=True, nonnegative=True)
    clip_norm = _real("clip_norm", clip_norm, optional=True, positive=True)
    batch_size = _int("batch_size", batch_size)
    seed = _int("seed", seed, minimum=0)
    eval_every = _int("eval_every", eval_every, optional=True)
    if steps is not None and epochs is not None:
        raise ValueError("give steps or epochs, not both")
    steps = _int("steps", steps, optional=True)
    epochs = _int("epochs", epochs, optional=True)
    _want_progress(progress)  # a bad value fails here, before any step
    _check_trainable(model, "train")
    callbacks = _callbacks(callbacks)
    device = _device(model)
    ds = dataclasses.replace(ds, **{f.name: getattr(ds, f.name).to(device)
                                    for f in dataclasses.fields(ds) if f.name[0] in "Xy"})
    check_labels = loss_fn is None or isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss))
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    _probe(model, ds, loss_fn, classes, check_labels)
    was_training = model.training
    n = len(ds.X_train)
    batch_size = min(batch_size, n)
    per_epoch = n // batch_size  # full batches only: a 3-example tail step is pure noise
    total = steps if steps is not None else (epochs if epochs is not None else 1) * per_epoch
    eval_every = eval_every or max(1, total // 10)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(optimizer, params, lr, momentum, weight_decay)
    gen = torch.Generator().manual_seed(seed)
    hist = History()
    for cb in callbacks:
        cb.on_train_begin(model, opt)

    bar = None
    if _want_progress(progress):
        from tqdm.auto import tqdm

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
    model.train(was_training)
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
    if ds.y_train.is_floating_point():  # regression: no accuracy to measure
        return
    train_acc = accuracy(model, ds.X_train, ds.y_train)
    hist.eval_step.append(step)
    hist.train_acc.append(train_acc)
    if len(ds.X_test):  # without a test set test_acc stays empty, never NaN
        hist.test_acc.append(accuracy(model, ds.X_test, ds.y_test))
