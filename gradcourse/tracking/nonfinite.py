"""Where a NaN/Inf first appeared in a step: :class:`NonFinite` and :func:`locate`.

The float64 sums of a step are NaN/Inf exactly when a value they reduced was (a float32
value is below 3.5e38, far from float64's 1.8e308), so the per-layer flags come for free.
:func:`locate` orders them as the computation ran: the loss first when every forward
value was finite (a ``loss.backward()`` on a NaN loss makes every gradient NaN, and the
loss is then the origin, not the last layer), then the forward pass from layer 1, the
parameters of the modules outside the tracked layers and the model's output, then the
loss, then the backward pass from the last layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .layers import TrackedLayer, clean_name
from .records import Values

__all__ = ["NonFinite", "locate"]


@dataclass(frozen=True)
class NonFinite:
    """Where a NaN/Inf first appeared.

    Attributes:
        step: Step number (1-based).
        phase: The pass: ``"forward"``, ``"backward"`` or ``"loss"`` (the loss, or its
            gradient with respect to the model's output, while every value of the forward
            pass was finite).
        layer: Layer index (1 = nearest the input); ``None`` for the loss and for a
            module that is not a tracked layer, such as the output head.
        source: ``"input"``, ``"weight"`` (weight or bias) or ``"output"`` of that layer
            (in the backward pass, ``"output"`` is the gradient arriving at the layer's
            output and ``"weight"`` its weight gradient); ``"loss"`` for the loss.
        name: Module name of the layer's Linear/Conv (or of the untracked module).
        rank: In several processes (``torch.distributed``), the rank whose examples or
            loss held it (the lowest, if several); ``None`` in one process and for what
            every rank shares (the weights and their gradients under DDP).
    """

    step: int
    phase: str
    layer: int | None
    source: str
    name: str = ""
    rank: int | None = None

    def describe(self, lang: str = "en") -> str:
        """A one-line message in English (``"en"``) or Spanish (``"es"``)."""
        text = self._describe(lang == "es")
        if self.rank is None:
            return text
        return text + (f" (proceso de rango {self.rank})" if lang == "es" else f" (rank {self.rank})")

    def _describe(self, es: bool) -> str:
        if self.phase == "loss":
            return (f"paso {self.step}: la pérdida no es finita (todos los valores de la pasada "
                    "hacia delante lo eran)" if es else
                    f"step {self.step}: the loss is non-finite (every value of the forward pass "
                    "was finite)")
        if es:
            phase = {"forward": "hacia delante", "backward": "hacia atrás"}[self.phase]
            source = {"input": "la entrada", "weight": "los pesos", "output": "la salida"}[self.source]
            where = (f"en la capa {self.layer} ({self.name})" if self.layer is not None
                     else f"en el módulo {self.name} (fuera de las capas seguidas)")
            return (f"paso {self.step}: primer valor no finito de la pasada {phase} {where}, "
                    f"originado en {source}")
        where = (f"at layer {self.layer} ({self.name})" if self.layer is not None
                 else f"at module {self.name} (not a tracked layer)")
        return (f"step {self.step}: first non-finite value in the {self.phase} pass {where}, "
                f"coming from its {self.source}")

    def __str__(self) -> str:
        return self.describe("en")


def _bad(t: Tensor | None) -> bool | None:
    """Whether ``t`` holds a NaN/Inf (``None`` when there is no tensor to ask)."""
    if not isinstance(t, Tensor):
        return None
    return not bool(torch.isfinite(t.detach()).all())


def locate(model: nn.Module, layers: list[TrackedLayer], values: list[Values], loss: Any,
           output: Tensor | None = None, output_grad: Tensor | None = None,
           head: str = "") -> tuple[str, int | None, str, str] | None:
    """The first NaN/Inf of a step, in the order the computation ran.

    Args:
        model: The tracked model (its parameters are asked directly).
        layers: The tracked layers; ``values`` their reductions on the step.
        loss: The loss passed to ``step()``, or ``None``.
        output, output_grad: The model's output of the step's last pass and the gradient
            that reached it, if they were captured.
        head: Name of the module after the last tracked layer (for an output blamed).

    Returns:
        ``(phase, layer, source, name)`` as in :class:`NonFinite`, or ``None`` if every
        value was finite.
    """
    def bad(m) -> bool:
        return m is not None and not m.finite

    out_bad, grad_bad = _bad(output), _bad(output_grad)
    loss_bad = loss is not None and not math.isfinite(float(loss))
    forward_ok = not any(bad(v.x) or bad(v.a) for v in values) and not out_bad
    if forward_ok and (loss_bad or grad_bad):
        return ("loss", None, "loss", "")
    for layer, v in zip(layers, values, strict=True):  # forward: layer 1 first
        weight_bad = (bad(v.w) if v.w is not None else bool(_bad(layer.linear.weight)))
        weight_bad = weight_bad or bool(_bad(getattr(layer.linear, "bias", None)))
        if bad(v.x) or bad(v.a) or weight_bad:
            source = "input" if bad(v.x) else "weight" if weight_bad else "output"
            return ("forward", layer.index, source, layer.name)
    if out_bad is not False:  # the output was NaN/Inf, or not seen: ask the other modules
        tracked = {id(layer.linear) for layer in layers}
        for name, module in model.named_modules():
            if id(module) not in tracked and any(_bad(p) for p in module.parameters(recurse=False)):
                return ("forward", None, "weight", clean_name(name))
        if out_bad:
            return ("forward", None, "output", head)
    if loss_bad or grad_bad:
        return ("loss", None, "loss", "")
    for layer, v in reversed(list(zip(layers, values, strict=True))):  # backward: last first
        if bad(v.g) or bad(v.gw):
            source = "output" if bad(v.g) else "weight"
            return ("backward", layer.index, source, layer.name)
    return None
