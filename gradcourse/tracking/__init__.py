r"""Per-layer statistics of the forward signal and the back-propagated gradient.

:class:`Tracker` watches the hidden layers of a model. A :class:`gradcourse.MLP` names
them itself (``tracked_layers()``); in any other model each activation module is paired,
in the first recorded forward pass, with the Linear/Conv whose output reaches it along
the data path (:mod:`gradcourse.tracking.layers`). Subclasses of torch's activations are
recognised and :func:`gradcourse.activations.register_kind` adds your own.

On every recorded step, for each layer ``k`` (1 = nearest the input), it records:

* ``act_mean``, ``act_std``: mean and std of the activation output;
* ``saturated_frac`` (tanh and sigmoid): fraction of activations in the flat
  tails (threshold :data:`SATURATION`). Tanh counts :math:`|a| > 0.97`, as in Karpathy's
  *makemore* lecture, where :math:`\tanh'(z) = 1 - a^2 < 0.059`, i.e. below 6 % of its
  maximum. Sigmoid counts :math:`a < 0.015` or :math:`a > 0.985`: since
  :math:`\sigma(z) = (1 + \tanh(z/2))/2` this is the same region,
  :math:`\sigma'(z) = \sigma(1 - \sigma) < 0.0148`, again 6 % of its maximum 1/4;
* ``dead_frac`` (ReLU family): fraction of **units** inactive (output :math:`\le 0`) on
  every example of the batch. A unit is a channel: dim 1 of a convolution's
  ``(B, C, H, W)`` output, the last dim of ``(B, C)`` or ``(B, T, C)``; a channel is dead
  when it is off at every position of every example. For ReLU it then gets no gradient;
* ``grad_std``: std of :math:`\partial L / \partial z`, the gradient w.r.t. the
  layer's pre-activation :math:`z = Wx + b`, taken *before* any normalization and the
  activation (Glorot & Bengio 2010, Fig. 7). This is not the "gradient" panel of
  Karpathy's makemore dashboard, which plots :math:`\partial L/\partial a` at the tanh's
  *output*: the two differ by the activation's slope (:math:`1 - a^2` for tanh) and by
  BatchNorm, 11-24 % on makemore's network;
* ``weight_grad_norm`` :math:`\lVert \partial L/\partial W \rVert_2` and
  ``grad_data_ratio`` :math:`\operatorname{std}(\partial L/\partial W) / \operatorname{std}(W)`;
* ``update_ratio`` :math:`\operatorname{std}(\Delta W) / \operatorname{std}(W)`, the
  step actually taken relative to the weight before it (rule of thumb: about
  :math:`10^{-3}`). For plain SGD it is :math:`\eta\,\operatorname{std}(\partial L/\partial W)`
  over :math:`\operatorname{std}(W)`; for any other optimizer the weights are
  copied before the step and compared after it;
* ``nonfinite_forward``, ``nonfinite_backward``: whether any of them was NaN/Inf.

**Not measured is None.** A statistic that was not measured on a step is ``None`` in
its record, never 0 and never a value from another step: a family not captured
(``weights=False``, no backward), a tensor changed in place before the step reduced it,
a gradient that never arrived. :attr:`Tracker.untracked` names the modules with
parameters that no statistic covers (output head, embeddings, ``nn.LSTM``/``nn.GRU``,
attention), so a verdict can say what it rests on, and :attr:`Tracker.examples` gives
the examples per unit behind ``dead_frac`` (batch times positions).

What is measured: every forward pass run with gradients enabled between two step
boundaries (gradient accumulation over micro-batches pools them all, as one batch would),
except an eval-mode pass after a training-mode one (a validation forward before
``optimizer.step()``) and passes under a ``torch.func`` transform (said once). The
weight-level statistics are taken in :meth:`Tracker.before_step`, i.e. after any gradient
clipping: the gradient the optimizer applies. ``checkpoint(..., use_reentrant=True)``
is followed into its recomputation; ``nn.ReLU(inplace=True)`` and ``x += residual`` are
seen (see :mod:`~gradcourse.tracking.hooks`). Under ``torch.compile`` the hooks run
eagerly between compiled pieces (one graph break per tracked layer): the numbers are the
eager model's; attach the Tracker before the compiled model's first call, since compiled
code does not see hooks added later.

Cost: the hooks only keep references (:mod:`~gradcourse.tracking.hooks`); at the step
boundary every statistic of every layer is reduced in a few batched kernels, in float64
where it sums (:mod:`~gradcourse.tracking.reduce`), and one ``tolist()`` (the only host
sync, but for the rare step whose raw sums cancelled and are recomputed) reads them
back. ``python tests/bench_tracker.py`` measures the price against a
plain step and against hooks that do nothing; ``every=k`` steps between recorded ones
capture nothing. Memory: the hooks hold, until the step closes, one reference per
tracked layer to its activation, its input if that is not the previous tracked
activation, and :math:`\partial L/\partial z` (a copy where the tensor was seen to change
in place): about one float32 copy of the activations and of :math:`\partial L/\partial z`
of the tracked layers, of which autograd keeps most of the activations alive anyway until
``backward()``. Gradient accumulation reduces each pass when the next begins, so this
stays one pass's worth; :attr:`Tracker.captured_bytes` reports it. The reduction adds a
float64 scratch of at most :data:`~gradcourse.tracking.blocks.CHUNK` elements (or one
tensor's size, if larger); an optimizer other than plain SGD adds a copy of the tracked
weights for ``update_ratio``. History costs 5 float64 per layer and family per recorded
step until it is read, then a dict per layer (about 1 kB); ``keep=N`` keeps the ``N``
latest steps, so that 100 000 steps stay bounded (tested on 5 000).

The hooks are inert in a ``copy.deepcopy`` of the tracked model and pickle as no-ops.
A Tracker that is dropped while attached (a re-run notebook cell) removes its hooks when
it is garbage-collected; attaching a second one to a model that still has one warns.
Nested ``with tracker:`` blocks leave it attached until the outermost ends.

Use it with :func:`gradcourse.train` (``callbacks=[tracker]``) or in your own loop::

    with Tracker(model) as tr:
        for X, y in batches:
            opt.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            tr.before_step()   # optional: weights before the step, and update_ratio
            opt.step()
            tr.step(loss)      # closes the step: one host sync (leaving the block does too)

or pass ``optimizer=opt`` and the tracker hooks ``opt.step()`` itself (then do not call
``before_step``/``step``). For a live view, append a callable to
:attr:`Tracker.listeners`: it gets each recorded step's records as the step closes.
``tensorboard=log_dir`` installs such a writer (:mod:`gradcourse.integrations.tensorboard`).
Under ``torch.distributed`` (DDP) ``pool="global"``, the default in a group of several
processes, pools every statistic across the ranks (:mod:`~gradcourse.tracking.distributed`).

The package reads top-down, data flowing one way: :mod:`~gradcourse.tracking.tracker`
(the public class; it holds the parts below and inherits none),
:mod:`~gradcourse.tracking.lifecycle` (attaching, refusals, the finalizer),
:mod:`~gradcourse.tracking.layers` (what a layer and a unit are, the pairing),
:mod:`~gradcourse.tracking.hooks` (capture only) with
:mod:`~gradcourse.tracking.plumbing` (hooks safe to copy, pickle and compile),
:mod:`~gradcourse.tracking.weights` (weight, gradient and update rows),
:mod:`~gradcourse.tracking.reduce` and :mod:`~gradcourse.tracking.blocks` (the batched
kernels), :mod:`~gradcourse.tracking.records` (each statistic defined once, the step log)
:mod:`~gradcourse.tracking.nonfinite` (where a NaN/Inf came from) and
:mod:`~gradcourse.tracking.distributed` (pooling across ranks).
"""

from __future__ import annotations

from ..activations import SATURATION
from .nonfinite import NonFinite
from .tracker import Tracker

__all__ = ["SATURATION", "NonFinite", "Tracker"]
