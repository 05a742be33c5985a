"""The (weight layer, activation) pairs that :class:`~gradcourse.tracking.Tracker` watches.

A *layer* is one call of a weight layer (``nn.Linear`` or ``nn.Conv1d/2d/3d``) together
with the call of the activation module that consumes its output. How they are found:

* A model that describes its own layers (a ``tracked_layers()`` method returning
  :class:`TrackedLayer` objects, as :class:`gradcourse.MLP` does) is taken at its word.
* Any other model is followed **as it runs**: in the first recorded forward pass, each
  call of an activation module (any class registered in
  :data:`gradcourse.activations.KINDS`, or a subclass of one) pairs with the weight-layer
  call whose output reaches it **along the data path**: the autograd graph of the
  activation's input is walked back, first input first, to the nearest Linear/Conv output
  not yet paired. Normalization, dropout, reshapes and residual sums are transparent, a
  tracked activation's output or an earlier weight layer ends the walk. So in torchvision's
  ``BasicBlock`` with a downsample branch the block's second ReLU pairs with ``conv2``
  (the first operand of ``out += identity``), not with ``downsample.0`` called just before;
  a transformer's ``linear2`` (followed by no activation) is no layer; one ReLU module
  called after three Linears gives three layers. Where a pass runs without gradients
  (inside ``checkpoint(..., use_reentrant=True)``) the graph is absent and the most recent
  unpaired call is taken.

Before that first pass, :func:`preview` lists the pairs in registration order, the best
guess without running the model. Functional activations (``F.relu`` inside ``forward``)
are invisible: a model with no activation module is refused, and an unregistered module
that looks like one (``NewGELU``) is named in the error with the way to register it.

A layer's **unit** is a channel: dim 1 of a Conv output ``(B, C, ...)``, the last dim of
a Linear output ``(B, C)`` or ``(B, T, C)``. ``dead_frac`` counts channels that are off at
every position of every example, so its examples per unit are ``B`` times the positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ..activations import is_activation, kind

__all__ = ["WEIGHT_LAYERS", "Call", "Pairing", "TrackedLayer", "candidates", "clean_name",
           "find_layers", "nearest_source", "preview", "unit_view", "unregistered", "untracked"]

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)
_LOOKS_LIKE = ("relu", "gelu", "silu", "swish", "tanh", "sigmoid", "elu", "mish", "act")
_WALK_BUDGET = 512  # autograd nodes visited per activation call, first pass only


@dataclass(frozen=True)
class TrackedLayer:
    """One tracked layer: ``index`` counts from 1 at the input.

    ``direct`` says that the activation module receives the Linear/Conv output itself
    and that the layer's input is the previous tracked layer's activation (a plain
    :class:`gradcourse.MLP` layer): then one hook on the activation sees everything and
    the Linear needs none. Only a model's own ``tracked_layers()`` sets it; the Tracker
    ignores it for an in-place activation or a compiled model. ``calls`` are the
    ordinals, within one forward pass, of the weight layer's and the activation's calls
    that make this layer (``(0, 0)`` unless a module is called more than once).
    """

    index: int
    name: str
    linear: nn.Module
    act: nn.Module
    kind: str
    direct: bool = False
    calls: tuple[int, int] = (0, 0)

    @property
    def conv(self) -> bool:
        """Whether the weight layer is a convolution (its unit is dim 1)."""
        return not isinstance(self.linear, nn.Linear)


def clean_name(name: str) -> str:
    """A module name without the ``_orig_mod.`` that ``torch.compile``'s wrapper adds."""
    return name.replace("_orig_mod.", "").replace("_orig_mod", "")


def unit_view(shape: tuple[int, ...], conv: bool) -> tuple[int, int, int]:
    """``(before, units, after)``: the activation seen as ``before x units x after``.

    The units are the channels: dim 1 for a convolution's ``(B, C, *spatial)`` output,
    the last dim otherwise (``(B, C)``, ``(B, T, C)``). ``before * after`` is the number
    of examples per unit (batch times positions).
    """
    if not shape:
        return 1, 1, 1
    if conv and len(shape) >= 2:
        return shape[0], shape[1], math.prod(shape[2:])
    return math.prod(shape[:-1]), shape[-1], 1


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
            weights[module] = clean_name(name)
        elif is_activation(module):
            acts[module] = clean_name(name)
    for module in list(acts):
        if any(inner in acts for inner in module.modules() if inner is not module):
            for inner in module.modules():
                if inner is not module:
                    acts.pop(inner, None)  # an activation made of activations is one
    if not weights or not acts:
        unknown = unregistered(model)
        hint = f"; {unknown[0]}" if unknown else ""
        raise ValueError(
            "found no layer to track: the Tracker pairs each nn.Linear/nn.Conv with the "
            "activation module (nn.ReLU, nn.Tanh, ...) that consumes its output; functional "
            f"activations such as F.relu are invisible to it{hint}"
        )
    return weights, acts


def unregistered(model: nn.Module) -> list[str]:
    """A message per module that looks like an activation (``NewGELU``) but is not one the
    Tracker knows, with the call that registers it."""
    out = []
    for name, module in model.named_modules():
        cls = type(module).__name__
        if (not is_activation(module) and not list(module.children())
                and any(w in cls.lower() for w in _LOOKS_LIKE)):
            out.append(f"module {clean_name(name)!r} ({cls}) is not a known activation: register "
                       f"it with gradcourse.activations.register_kind({cls}, 'relu_like') (or "
                       "the kind that fits: 'tanh', 'sigmoid', 'relu', 'other')")
    return out


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
    inner = getattr(model, "_orig_mod", model)  # torch.compile's wrapper
    describe = getattr(inner, "tracked_layers", None)
    if callable(describe):
        return list(describe())
    candidates(model)  # raises early if nothing can ever be tracked
    return None


def nearest_source(node, sources: dict, stops: set) -> object | None:
    """The entry of ``sources`` (keyed by autograd node) nearest to ``node`` upstream.

    Depth-first, first input first; ``stops`` (nodes of tracked activations' outputs and
    of already paired weight layers) end a branch. Returns ``None`` if no source is
    reachable, or ``...`` (Ellipsis) if the walk ran out of budget.
    """
    stack, seen, budget = [node], set(), _WALK_BUDGET
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        if n in sources:
            return sources[n]
        budget -= 1
        if budget < 0:
            return ...
        seen.add(n)
        if n in stops:
            continue
        stack.extend(f for f, _ in reversed(n.next_functions))
    return None


@dataclass
class Call:
    """One weight-layer call of the first recorded pass, waiting for its activation."""

    module: nn.Module
    ordinal: int
    x: object
    node: object  # the output's autograd node, or None (no gradient in this region)
    layer: int | None = None


class Pairing:
    """The first recorded pass: pairs each activation call with its weight-layer call.

    Args:
        names: Weight layer and activation module -> name (from :func:`candidates`).
    """

    def __init__(self, names: dict[nn.Module, str]) -> None:
        self.names = names
        self.layers: list[TrackedLayer] = []
        self.calls: list[Call] = []
        self.sources: dict[object, Call] = {}
        self.stops: set = set()
        self.called: set[nn.Module] = set()

    def weight_call(self, module: nn.Module, ordinal: int, x: object, z: object) -> Call:
        node = getattr(z, "grad_fn", None)
        call = Call(module, ordinal, x, node)
        self.calls.append(call)
        self.called.add(module)
        if node is not None:
            self.sources[node] = call
        return call

    def act_call(self, module: nn.Module, ordinal: int, node: object | None,
                 has_input: bool) -> Call | None:
        """The call this activation call pairs with (now a layer), or ``None``."""
        self.called.add(module)
        call = None
        if node is not None:
            call = nearest_source(node, self.sources, self.stops)
        if call is ... or (call is None and node is None and has_input):
            last = self.calls[-1] if self.calls else None  # no graph: the most recent call
            call = last if last is not None and last.layer is None else None
        if call is None:
            return None
        call.layer = len(self.layers)
        self.layers.append(TrackedLayer(call.layer + 1, self.names[call.module], call.module,
                                        module, kind(module), calls=(call.ordinal, ordinal)))
        if call.node is not None:
            self.sources.pop(call.node, None)
            self.stops.add(call.node)
        return call


def untracked(model: nn.Module, layers: list[TrackedLayer],
              called: set[nn.Module] | None = None) -> dict[str, str]:
    """``{name: reason}`` for the modules that hold parameters but are in no tracked layer.

    Normalization layers are left out (their effect is in the statistics of the layer
    they sit in) and so are activations with parameters (``nn.PReLU``). ``called`` (the
    modules run in the first recorded pass) tells a weight layer that never ran apart
    from one that ran with no activation after it.
    """
    tracked = {id(layer.linear) for layer in layers} | {id(layer.act) for layer in layers}
    out: dict[str, str] = {}
    skip: tuple[str, ...] = ()
    for name, module in model.named_modules():
        name = clean_name(name)
        if skip and any(name.startswith(s + ".") for s in skip):
            continue  # inside a module already listed (an LSTM's, an attention's parts)
        if id(module) in tracked or isinstance(module, _NORMS) or is_activation(module):
            continue
        if not any(True for _ in module.parameters(recurse=False)):
            continue
        cls = type(module).__name__
        if isinstance(module, nn.RNNBase):
            reason = f"recurrent module (nn.{cls}): not tracked"
        elif isinstance(module, nn.MultiheadAttention):
            reason = f"attention (nn.{cls}): not tracked"
        elif isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
            reason = f"embedding (nn.{cls}): not tracked"
        elif isinstance(module, WEIGHT_LAYERS):
            reason = ("not called as a module in the recorded forward pass"
                      if called is not None and module not in called
                      else "no activation after it")
        else:
            reason = f"parameters used by its own forward ({cls}): not tracked"
        out[name] = reason
        if not isinstance(module, WEIGHT_LAYERS):
            skip += (name,)
    return out
