"""Finding the (layer, activation) pairs that :class:`~gradcourse.tracking.Tracker` watches.

A *layer* is a weight layer (``nn.Linear`` or ``nn.Conv1d/2d/3d``) together with
the activation module that consumes its output. For a :class:`gradcourse.MLP`
they are ``model.hidden[k - 1].linear`` and ``model.hidden[k - 1].act``. For any
other model the rule is:

* walk ``model.named_modules()`` in registration order;
* a Linear/Conv becomes the *pending* layer (a pending one without activation,
  such as an output head, is dropped);
* the next activation module (one of :data:`ACTIVATION_KINDS`) pairs with the
  pending layer; normalization, dropout and container modules in between are
  skipped.

So ``nn.Sequential(Linear, BatchNorm1d, ReLU, Linear, ReLU, Linear)`` gives two
layers. Functional activations (``F.relu`` inside ``forward``) and one activation
module shared by several layers are invisible to this rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

__all__ = ["ACTIVATION_KINDS", "TrackedLayer", "activation_kind", "find_layers"]

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

#: Activation class -> kind. ``"tanh"``/``"sigmoid"`` are bounded (saturation is
#: measured); ``"relu"`` has a zero gradient when inactive (a unit can die);
#: ``"relu_like"`` is inactive but not dead on the negative side; ``"other"``: neither.
ACTIVATION_KINDS: dict[type[nn.Module], str] = {
    nn.Tanh: "tanh",
    nn.Sigmoid: "sigmoid",
    nn.ReLU: "relu",
    nn.ReLU6: "relu",
    nn.LeakyReLU: "relu_like",
    nn.PReLU: "relu_like",
    nn.ELU: "relu_like",
    nn.SELU: "relu_like",
    nn.CELU: "relu_like",
    nn.GELU: "relu_like",
    nn.SiLU: "relu_like",
    nn.Mish: "relu_like",
    nn.Softplus: "other",
    nn.Softsign: "other",
    nn.Hardtanh: "other",
}


def activation_kind(module: nn.Module) -> str:
    """``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"relu_like"``, ``"identity"`` or ``"other"``."""
    if isinstance(module, nn.Identity):
        return "identity"
    for cls, kind in ACTIVATION_KINDS.items():
        if type(module) is cls:
            return kind
    return "other"


@dataclass(frozen=True)
class TrackedLayer:
    """One tracked layer: ``index`` counts from 1 at the input.

    ``direct`` says that the activation module receives the Linear/Conv output itself
    and that the layer's input is the previous tracked layer's activation (a plain
    :class:`gradcourse.MLP` layer): then one hook on the activation sees everything and
    the Linear needs none. It is ``False`` for every other model.
    """

    index: int
    name: str
    linear: nn.Module
    act: nn.Module
    kind: str
    direct: bool = False


def _direct(layer: nn.Module, previous: nn.Module | None) -> bool:
    """Linear -> activation with nothing between (no norm, no backward hook wrapping the
    activation's input), fed by the previous layer's activation (no residual sum)."""
    hooked = layer.act._backward_hooks or layer.act._backward_pre_hooks
    return (previous is not None and not previous.residual and not hooked
            and isinstance(layer.norm, nn.Identity))


def find_layers(model: nn.Module) -> list[TrackedLayer]:
    """The layers of ``model`` in depth order (see the module docstring for the rule).

    Raises:
        TypeError: If ``model`` is not an ``nn.Module``.
        ValueError: If no weight layer followed by an activation module is found.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(model).__name__}")
    from .models import MLP  # local: models imports nothing from here

    if isinstance(model, MLP):
        return [TrackedLayer(k + 1, f"hidden.{k}", h.linear, h.act, activation_kind(h.act),
                             direct=_direct(h, model.hidden[k - 1] if k else None))
                for k, h in enumerate(model.hidden)]
    pairs: list[tuple[str, nn.Module, nn.Module]] = []
    pending: tuple[str, nn.Module] | None = None
    for name, module in model.named_modules():
        if isinstance(module, WEIGHT_LAYERS):
            pending = (name, module)
        elif type(module) in ACTIVATION_KINDS and pending is not None:
            pairs.append((pending[0], pending[1], module))
            pending = None
    if not pairs:
        raise ValueError(
            "found no layer to track: the rule pairs each nn.Linear/nn.Conv with the next "
            "activation module (nn.ReLU, nn.Tanh, ...) in registration order; functional "
            "activations such as F.relu are invisible to it"
        )
    return [TrackedLayer(k + 1, name, lin, act, activation_kind(act))
            for k, (name, lin, act) in enumerate(pairs)]
