"""Benchmark: cost of :class:`gradcourse.Tracker` on a 20-Linear-layer tanh MLP.

Run by hand (not collected by pytest)::

    python tests/bench_tracker.py [--steps 50] [--repeats 7]

One thread, batch 128, SGD, width 256, random data. Each repeat runs, interleaved
in one process, the plain loop and the same loop under: the Tracker (default
statistics every step), the Tracker with ``weights=False``, a naive forward-hook baseline (``.std().item()`` per
layer) and ``torch.autograd.detect_anomaly``. It prints the median time per step
and the median ratio to the plain loop.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings

import torch
from torch import nn

import gradcourse as gc


def make(seed: int = 0):
    model = gc.MLP(256, 10, depth=19, width=256, activation="tanh", init="xavier_uniform",
                   seed=seed)
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


@contextlib.contextmanager
def naive_hooks(model: nn.Module):
    """What one writes first: a forward hook per activation that syncs every layer."""
    values: list[float] = []
    handles = [h.act.register_forward_hook(lambda m, a, out: values.append(out.std().item()))
               for h in model.hidden]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def run(mode: str, steps: int, X, y) -> float:
    model, opt = make()
    loss_fn = nn.CrossEntropyLoss()
    if mode == "tracker":  # the tracker hooks opt.step(): the loop itself is unchanged
        ctx = gc.Tracker(model, optimizer=opt)
    elif mode == "tracker-light":
        ctx = gc.Tracker(model, optimizer=opt, weights=False)
    elif mode == "naive":
        ctx = naive_hooks(model)
    elif mode == "anomaly":
        ctx = torch.autograd.detect_anomaly(check_nan=True)
    else:
        ctx = contextlib.nullcontext()
    with ctx:
        start = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X), y)
            loss.backward()
            opt.step()
            loss.item()
        return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="Anomaly Detection has been enabled")
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(128, 256, generator=gen)
    y = torch.randint(0, 10, (128,), generator=gen)
    modes = ["plain", "tracker", "tracker-light", "naive", "anomaly"]
    for mode in modes:
        run(mode, 5, X, y)  # warm-up
    times: dict[str, list[float]] = {m: [] for m in modes}
    ratios: dict[str, list[float]] = {m: [] for m in modes[1:]}
    for _ in range(args.repeats):
        for mode in modes:  # interleaved
            times[mode].append(run(mode, args.steps, X, y))
        for mode in modes[1:]:
            ratios[mode].append(times[mode][-1] / times["plain"][-1])
    print(f"{'mode':14s} {'ms/step':>9s} {'ratio':>7s}")
    print(f"{'plain':14s} {1e3 * statistics.median(times['plain']):9.2f} {1.0:7.3f}")
    for mode in modes[1:]:
        print(f"{mode:14s} {1e3 * statistics.median(times[mode]):9.2f} "
              f"{statistics.median(ratios[mode]):7.3f}")


if __name__ == "__main__":
    main()
