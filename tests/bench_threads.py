"""Benchmark: steps per second of the default digits MLP with 1 and with 2 threads.

Run by hand (not collected by pytest)::

    python tests/bench_threads.py [--steps 300] [--repeats 5]

Runs are interleaved in one process so both settings see the same machine state;
it prints the median steps/s of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import gradcourse as gc


def steps_per_second(threads: int, steps: int, data: gc.Dataset) -> float:
    torch.set_num_threads(threads)
    model = gc.MLP(data.in_features, data.n_classes, depth=3, width=128, seed=0)
    start = time.perf_counter()
    gc.train(model, data, lr=0.05, steps=steps, batch_size=64, progress=False, eval_every=10**9)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    data = gc.digits()
    steps_per_second(1, 20, data)  # warm-up
    results: dict[int, list[float]] = {t: [] for t in args.threads}
    for _ in range(args.repeats):
        for t in args.threads:  # interleaved
            results[t].append(steps_per_second(t, args.steps, data))
    base = statistics.median(results[args.threads[0]])
    print(f"default digits MLP (depth 3, width 128, batch 64), {args.steps} steps x {args.repeats}")
    for t, values in results.items():
        med = statistics.median(values)
        print(f"  threads={t}: {med:8.1f} steps/s (median)   ratio to threads={args.threads[0]}: "
              f"{med / base:.2f}x")


if __name__ == "__main__":
    main()
