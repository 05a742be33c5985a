"""The (weight layer, activation) pairs that :class:`~gradcourse.tracking.Tracker` watches.

A *layer* is one call of a weight layer (``nn.Linear`` or ``nn.Conv1d/2d/3d``) together
with the call of the activation module that consumes its output. How they are found:

* A model that describes its own layers (a ``tracked_layers()`` method returning
  :class:`TrackedLayer` objects, as :class:`gradcourse.MLP` does) is taken at its word.
* Any other model is followed **as it runs**: during the first recorded forward pass
  every call of an activation module (one of :data:`gradcourse.activations.KINDS`) pairs
  with the most recent Linear/Conv call not yet paired. A Linear/Conv that another
  Linear/Conv call follows before any activation (an output head, the second Linear of a
  transformer's feed-forward block) is not a layer. Normalization, dropout, residual
  sums and containers in between are transparent. So one activation module called after
  several Linears (``self.relu`` used three times) gives three layers, and a Linear
  applied twice gives two.

Before that first pass, :func:`preview` lists the pairs in registration order, the best
guess without running the model. Functional activations (``F.relu`` inside
``forward``) are invisible: a model with none of the modules raises an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .activations import KINDS, kind

__all__ = ["ACTIVATION_KINDS", "WEIGHT_LAYERS", "TrackedLayer", "activation_kind", "candidates",
           "find_layers", "preview"]

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
ACTIVATION_KINDS = KINDS  # one registry: gradcourse.activations
activation_kind = kind


@dataclass(frozen=True)
class TrackedLayer:
    """One tracked layer: ``index`` counts from 1 at the input.

    ``direct`` says that the activation module receives the Linear/Conv output itself
    and that the layer's input is the previous tracked layer's activation (a plain
    :class:`gradcourse.MLP` layer): then one hook on the activation sees everything and
    the Linear needs none. Only a model's own ``tracked_layers()`` sets it.
    """

    index: int
    name: str
    linear: nn.Module
    act: nn.Module
    kind: str
    direct: bool = False


def candidates(model: nn.Module) -> tuple[dict[nn.Module, str], dict[nn.Module, str]]:
    """The weight layers and activation modules of ``model``, each with its name.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module``.
        ValueError: If it has no weight layer or no activation module.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    weights: dict[nn.Module, str] = {}
    acts: dict[nn.Module, str] = {}
    for name, module in model.named_modules():  # each module once, even if shared
        if isinstance(module, WEIGHT_LAYERS):
            weights[module] = name
        elif type(module) in KINDS:
            acts[module] = name
    if not weights or not acts:
        raise ValueError(
            "found no layer to track: the Tracker pairs each nn.Linear/nn.Conv with the "
            "activation module (nn.ReLU, nn.Tanh, ...) that consumes its output; functional "
            "activations such as F.relu are invisible to it"
        )
    return weights, acts


def preview(model: nn.Module) -> list[TrackedLayer]:
    """Registration-order guess of the layers, before the model has run."""
    weights, acts = candidates(model)
    pairs: list[TrackedLayer] = []
    pending: nn.Module | None = None
    for module in model.modules():
        if module in weights:
            pending = module
        elif module in acts and pending is not None:
            pairs.append(TrackedLayer(len(pairs) + 1, weights[pending], pending, module,
                                      kind(module)))
            pending = None
    return pairs


def find_layers(model: nn.Module) -> list[TrackedLayer] | None:
    """The layers ``model`` describes itself, or ``None``: they are found as it runs.

    Raises:
        TypeError: If ``model`` is not an ``nn.Module``.
        ValueError: If it has no weight layer or no activation module.
    """
    describe = getattr(model, "tracked_layers", None)
    if callable(describe):
        return list(describe())
    candidates(model)  # raises early if nothing can ever be tracked
    return None
