"""The course's one model: a configurable multilayer perceptron.

Every comparison on the site changes one argument of :class:`MLP` (activation,
initialization, depth, BatchNorm, skips) and keeps everything else, which is
the "same model and dataset" the slide deck asks for.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn

from . import activations, initializers
from .tracking.layers import TrackedLayer

__all__ = ["MLP", "HiddenLayer"]


def _check_seed(seed) -> int | None:
    """``seed`` as an int >= 0 (or ``None``), as :func:`gradcourse.train` takes it."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int >= 0 or None, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}")
    return int(seed)


def _check_bias_init(bias_init) -> float | str:
    """A finite number or ``"pytorch"``; an error that names ``bias_init`` otherwise."""
    if isinstance(bias_init, str):
        if bias_init != "pytorch":
            try:
                hint = f" (write the number without quotes: bias_init={float(bias_init)!r})"
            except ValueError:
                hint = ""
            raise ValueError(f'bias_init must be a number or "pytorch", got the string '
                             f"{bias_init!r}{hint}")
        return bias_init
    return initializers._number("bias_init", bias_init)


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Run the block under ``seed`` and restore the global RNG afterwards."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class HiddenLayer(nn.Module):
    """One hidden layer: ``Linear -> [BatchNorm1d] -> activation [+ x]``.

    Attributes:
        linear: The ``nn.Linear``; its output is the layer's *pre-activation*.
        norm: ``nn.BatchNorm1d`` or ``nn.Identity``.
        act: The activation module; its output is the layer's *activation*.
        residual: Whether the input is added back (identity skip, He et al. 2016).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str,
        batchnorm: bool,
        residual: bool,
        **act_kwargs,
    ) -> None:
        super().__init__()
        if residual and in_features != out_features:
            raise ValueError("a residual layer needs in_features == out_features")
        self.linear = nn.Linear(in_features, out_features)
        self.norm = nn.BatchNorm1d(out_features) if batchnorm else nn.Identity()
        self.act = activations.get(activation, **act_kwargs)
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_features)`` -> ``(B, out_features)``: the activation, plus ``x`` if residual."""
        h = self.act(self.norm(self.linear(x)))  # (B, out)
        return x + h if self.residual else h


class MLP(nn.Module):
    r"""``depth`` hidden layers of ``width`` units, then a linear output layer.

    Args:
        in_features: Size of each input example (inputs with more dims are flattened).
        out_features: Number of outputs (classes).
        depth: Number of hidden layers (>= 1).
        width: Units per hidden layer (>= 1).
        activation: A name from :func:`gradcourse.activations.available`.
        init: A name from :func:`gradcourse.initializers.available`, or an in-place
            callable. The He schemes are told the activation.
        batchnorm: Put ``BatchNorm1d`` between each hidden Linear and its activation
            (Ioffe & Szegedy 2015).
        residual: Add identity skips ``x + f(x)`` around hidden layers 2..depth,
            whose widths match (He et al. 2016).
        bias_init: Value of every bias at initialization (default 0), or ``"pytorch"``
            for PyTorch's own default, :math:`\mathcal{U}(\pm 1/\sqrt{n_{in}})`. With
            ``init="glorot_standard"`` and ``bias_init="pytorch"`` every weight and bias
            has the distribution a freshly built ``nn.Linear`` gives it.
        seed: If given, initialize under this seed without touching the global
            random state.
        init_kwargs: Extra arguments of the initializer (``{"std": 1.0}`` for ``normal``).
        act_kwargs: Extra arguments of the activation (``{"negative_slope": 0.1}``).

    Attributes:
        hidden: ``nn.ModuleList`` of :class:`HiddenLayer`; ``hidden[k - 1]`` is
            layer ``k`` (layer 1 is nearest the input).
        head: The output ``nn.Linear``.

    Example:
        >>> model = MLP(64, 10, depth=5, width=128, activation="tanh", init="xavier_normal")
        >>> model(torch.zeros(8, 64)).shape
        torch.Size([8, 10])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        depth: int,
        width: int,
        activation: str = "relu",
        init: str | Callable[..., Tensor] = "he_normal",
        batchnorm: bool = False,
        residual: bool = False,
        bias_init: float | str = 0.0,
        seed: int | None = None,
        init_kwargs: dict | None = None,
        act_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        for name, value in [("in_features", in_features), ("out_features", out_features),
                            ("depth", depth), ("width", width)]:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        in_features, out_features, depth, width = map(int, (in_features, out_features, depth, width))
        for name, value in [("batchnorm", batchnorm), ("residual", residual)]:
            if not isinstance(value, bool):  # batchnorm="False" would switch it on
                raise TypeError(f"{name} must be True or False, got {value!r}")
        bias_init, seed = _check_bias_init(bias_init), _check_seed(seed)
        act_kwargs = dict(act_kwargs or {})
        self.in_features, self.out_features = in_features, out_features
        self.depth, self.width = depth, width
        self.activation = activation
        self.act_kwargs = act_kwargs
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self._init, self._init_kwargs, self._bias_init = init, dict(init_kwargs or {}), bias_init
        with _seeded(seed):  # torch's own Linear init draws from the RNG too
            self.hidden = nn.ModuleList(
                HiddenLayer(in_features if k == 0 else width, width, activation, batchnorm,
                            residual and k > 0, **act_kwargs)
                for k in range(depth)
            )
            self.head = nn.Linear(width, out_features)
            self.reset_parameters()

    def reset_parameters(
        self,
        init: str | Callable[..., Tensor] | None = None,
        bias_init: float | str | None = None,
        seed: int | None = None,
        **init_kwargs,
    ) -> None:
        """(Re-)initialize every Linear layer; see the class arguments.

        Without arguments it applies the model's own ``init``, ``init_kwargs`` and
        ``bias_init`` again. A different ``init`` starts from no ``init_kwargs``;
        ``init_kwargs`` given here override the configured ones.

        Example:
            >>> model = MLP(64, 10, depth=2, width=512, init="normal", init_kwargs={"std": 0.5})
            >>> model.reset_parameters(seed=0)
            >>> round(model.linears[0].weight.std().item(), 2)
            0.5
        """
        if init is None:
            init, init_kwargs = self._init, {**self._init_kwargs, **init_kwargs}
        bias_init = self._bias_init if bias_init is None else _check_bias_init(bias_init)
        seed = _check_seed(seed)
        act = self.activation if initializers.takes_activation(init) else None
        if act is not None and "a" not in init_kwargs and "negative_slope" not in init_kwargs:
            act_module = self.hidden[0].act  # He eq. 15 needs the slope the model really uses
            if isinstance(act_module, nn.LeakyReLU):
                init_kwargs["a"] = act_module.negative_slope
        with _seeded(seed):
            initializers.initialize_(self, init, activation=act, bias=bias_init, **init_kwargs)

    @property
    def linears(self) -> list[nn.Linear]:
        """All Linear layers in forward order, the output layer last."""
        return [layer.linear for layer in self.hidden] + [self.head]

    def layer(self, k: int) -> HiddenLayer:
        """Hidden layer ``k``, counting from 1 at the input."""
        if not 1 <= k <= self.depth:
            raise IndexError(f"layer must be in 1..{self.depth}, got {k}")
        return self.hidden[k - 1]

    def tracked_layers(self) -> list[TrackedLayer]:
        """The hidden layers as :class:`~gradcourse.tracking.Tracker` watches them.

        A layer is ``direct`` when its activation receives the Linear's output itself (no
        BatchNorm, no backward hook wrapping the activation's input) and its input is the
        previous layer's activation (no residual sum): one hook on the activation then
        sees everything.
        """
        out = []
        for k, h in enumerate(self.hidden):
            previous = self.hidden[k - 1] if k else None
            hooked = h.act._backward_hooks or h.act._backward_pre_hooks
            direct = (previous is not None and not previous.residual and not hooked
                      and isinstance(h.norm, nn.Identity))
            out.append(TrackedLayer(k + 1, f"hidden.{k}", h.linear, h.act,
                                    activations.kind(h.act), direct=direct))
        return out

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_features)`` (or ``(B, C, H, W)``, flattened) -> logits ``(B, out_features)``."""
        if x.dim() > 2:
            x = x.flatten(1)  # (B, C, H, W) -> (B, C*H*W)
        if not x.is_floating_point():
            raise TypeError(f"MLP expects floating-point input, got {x.dtype} (use x.float(); "
                            "token ids need an nn.Embedding first)")
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"MLP expects input of shape (batch, {self.in_features}), got {tuple(x.shape)}"
            )
        for layer in self.hidden:
            x = layer(x)  # (B, width)
        return self.head(x)  # (B, out_features)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}, init={self.init!r}"
