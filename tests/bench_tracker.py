"""Benchmark: cost of :class:`gradcourse.Tracker` on a 20-Linear-layer tanh MLP.

Run by hand (not collected by pytest)::

    python tests/bench_tracker.py [--blocks 150] [--steps 3]

One thread, batch 128, SGD, width 256, random data. Every mode keeps its own model
(hooks attached once), and the run is cut into blocks of ``--steps`` training steps;
within each block the modes run in a fresh random order, so that the noise of a
shared machine hits them all alike. Time is the thread's CPU time. For each mode it
prints the median time per step and the median (and quartiles) of the per-block ratio
to the plain loop.

Modes: the Tracker with its default statistics; ``weights=False``; ``every=10``
(statistics on one step in ten, the rest cost nothing); a naive forward
hook per activation (``.std().item()``); ``torch.autograd.detect_anomaly``; and two
floors that compute no statistic worth having, to show what any tracker built from
PyTorch hooks and ops pays on this machine: ``capture`` only keeps a reference to
each activation and to each :math:`\\partial L/\\partial z` (one forward hook and one
tensor hook per layer), and ``capture+1pass`` adds a single sum of squares over each
activation, gradient, weight and weight gradient (four ``torch._foreach_norm`` calls).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import time
import warnings

import torch
from torch import nn

import gradcourse as gc

LOSS = nn.CrossEntropyLoss()


def make(seed: int = 0):
    model = gc.MLP(256, 10, depth=19, width=256, activation="tanh", init="xavier_uniform",
                   seed=seed)
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def run_steps(model, opt, X, y, k: int, mode_block) -> float:
    with mode_block():
        start = time.thread_time()
        for _ in range(k):
            opt.zero_grad(set_to_none=True)
            loss = LOSS(model(X), y)
            loss.backward()
            opt.step()
            loss.item()
        return (time.thread_time() - start) / k


@contextlib.contextmanager
def hooks(handles):
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def naive(model, opt):
    """What one writes first: a forward hook per activation that syncs every layer."""
    values: list[float] = []
    return hooks([h.act.register_forward_hook(lambda m, a, out: values.append(out.std().item()))
                  for h in model.hidden])


def capture(model, opt, one_pass: bool = False):
    """Floor: references to activations and dL/dz, then optionally one pass over each."""
    n = len(model.hidden)
    acts: list = [None] * n
    grads: list = [None] * n

    def grad_hook(i):
        return lambda g: grads.__setitem__(i, g)

    def act_hook(i):
        def hook(module, args, out):
            args[0].register_hook(grad_hook(i))
            acts[i] = out.detach()
        return hook

    def close(*_):
        if one_pass:
            ws = [h.linear.weight for h in model.hidden]
            norms = (torch._foreach_norm(acts) + torch._foreach_norm(grads)
                     + torch._foreach_norm([w.detach() for w in ws])
                     + torch._foreach_norm([w.grad for w in ws]))
            torch.stack(norms).tolist()
        acts[:] = grads[:] = [None] * n

    handles = [h.act.register_forward_hook(act_hook(i)) for i, h in enumerate(model.hidden)]
    return hooks([*handles, opt.register_step_pre_hook(close)])


MODES = {  # name -> (set-up entered once, context entered around every block)
    "plain": (lambda m, o: contextlib.nullcontext(), contextlib.nullcontext),
    "tracker": (lambda m, o: gc.Tracker(m, optimizer=o), contextlib.nullcontext),
    "tracker weights=False": (lambda m, o: gc.Tracker(m, optimizer=o, weights=False),
                              contextlib.nullcontext),
    "tracker every=10": (lambda m, o: gc.Tracker(m, optimizer=o, every=10),
                         contextlib.nullcontext),
    "naive hooks": (naive, contextlib.nullcontext),
    "detect_anomaly": (lambda m, o: contextlib.nullcontext(),
                       lambda: torch.autograd.detect_anomaly(check_nan=True)),
    "floor: capture": (capture, contextlib.nullcontext),
    "floor: capture+1pass": (lambda m, o: capture(m, o, one_pass=True), contextlib.nullcontext),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=150)
    parser.add_argument("--steps", type=int, default=3, help="training steps per block")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="Anomaly Detection has been enabled")
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(128, 256, generator=gen)
    y = torch.randint(0, 10, (128,), generator=gen)
    with contextlib.ExitStack() as stack:
        runs = {}
        for name, (setup, block) in MODES.items():
            model, opt = make()
            stack.enter_context(setup(model, opt))
            runs[name] = (model, opt, block)
            run_steps(model, opt, X, y, 5, block)  # warm-up
        times: dict[str, list[float]] = {name: [] for name in runs}
        rng = random.Random(0)
        for b in range(args.blocks):
            order = list(runs)
            rng.shuffle(order)
            for name in order:
                model, opt, block = runs[name]
                times[name].append(run_steps(model, opt, X, y, args.steps, block))
            if (b + 1) % 25 == 0:
                print(f"  block {b + 1}/{args.blocks}", flush=True)
    plain = times["plain"]
    print(f"\n{'mode':24s} {'ms/step':>8s} {'ratio':>7s}  {'quartiles':>13s}")
    for name, ts in times.items():
        ratios = [t / p for t, p in zip(ts, plain, strict=True)]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        print(f"{name:24s} {1e3 * statistics.median(ts):8.2f} {statistics.median(ratios):7.3f}"
              f"  {q1:6.3f}-{q3:.3f}")


if __name__ == "__main__":
    main()
