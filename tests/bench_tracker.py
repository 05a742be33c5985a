"""Benchmark: cost of :class:`gradcourse.Tracker` on a 20-Linear-layer tanh MLP.

Run by hand (not collected by pytest)::

    python tests/bench_tracker.py --baseline 195cece
        [--configs 64x32x1,256x128x1,1024x128x1,256x128x2] [--seconds 20] [--steps 3]

Each config is width x batch x threads: SGD on random data. Every mode keeps its own
model (hooks attached once), and the run is cut into blocks of ``--steps`` training
steps; within each block the modes run in a fresh random order, so that the noise of a
shared machine hits them all alike. Time is wall-clock (with 2 threads the CPU time of
one thread would miss the other). For each mode it prints the median time per step and
the median and quartiles of the per-block ratio to the plain loop, then one table of all
ratios side by side. ``--baseline REV`` adds the Tracker of that git revision (its own
package, extracted with ``git archive`` to a temporary folder) as ``tracker@REV``.

Modes (``--modes``, default: plain, tracker, the baseline and the floor): the Tracker
with its default statistics; ``weights=False``; ``every=10``; a naive forward hook per
activation (``.std().item()``); ``torch.autograd.detect_anomaly``; and the floor,
``floor: hooks only``: one forward hook per activation and one gradient hook per layer
that only keep references, what any tracker built from PyTorch hooks pays before it
computes anything; ``floor: +1 pass`` adds one float32 norm over each activation,
gradient, weight and weight gradient (four ``torch._foreach_norm`` calls). ``design:
float32 sums`` is the Tracker with its float64 sums swapped for float32 ones, the design
measured side by side and rejected (about 1e-7 relative instead of 1e-12).

``--ddp WIDTHxBATCH`` measures instead the pooling across processes: the same MLP under
``DistributedDataParallel`` (gloo, CPU, one thread per process, ``BATCH`` examples per
rank), in a group of 1 process and then of 2, plain and with the Tracker (``pool="local"``
and, in 2 processes, ``pool="global"``), in random order per block (the same order on
every rank). It prints the time per step, the time spent in ``Tracker.pool`` per
recorded step, and the ratios: global to local (what pooling adds to a step) and the
Tracker's overhead in 2 processes against 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
import warnings

import torch
from torch import nn

import gradcourse as gc
from gradcourse.tracking.blocks import SplitBlock

LOSS = nn.CrossEntropyLoss()


def make(width: int, package=gc, seed: int = 0):
    model = package.MLP(width, 10, depth=19, width=width, activation="tanh",
                        init="xavier_uniform", seed=seed)
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def run_steps(model, opt, X, y, k: int, mode_block) -> float:
    with mode_block():
        start = time.perf_counter()
        for _ in range(k):
            opt.zero_grad(set_to_none=True)
            loss = LOSS(model(X), y)
            loss.backward()
            opt.step()
            loss.item()
        return (time.perf_counter() - start) / k


def load_baseline(rev: str, into: str):
    """The ``gradcourse`` package of git revision ``rev``, imported as ``gc_<rev>``."""
    root = pathlib.Path(__file__).resolve().parents[1]
    name = f"gc_{rev}"
    tar = subprocess.run(["git", "-C", str(root), "archive", rev, "gradcourse"], check=True,
                         capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=tar, check=True)
    pathlib.Path(into, "gradcourse").rename(pathlib.Path(into, name))
    sys.path.insert(0, into)
    return importlib.import_module(name)


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
        return lambda gs: grads.__setitem__(i, gs[0])

    def act_hook(i):
        def hook(module, args, out):
            args[0].grad_fn.register_prehook(grad_hook(i))
            acts[i] = out
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


def _float32_run(block, tensors, reducer):
    """A block's kernels with float32 sums: the design measured against float64 (about
    1e-7 relative, no guard against overflow or cancellation, so not the Tracker's)."""
    if block.step != reducer._step:
        block.step = reducer._step
        reducer._used.append(block)
    if isinstance(block, SplitBlock):  # one long tensor: its k sub-rows are acc's columns
        if not hasattr(block, "x32"):
            block.x32 = torch.empty(block.k, block.layout.n)
        x = block.x32
        x.copy_(tensors[0].reshape(block.k, -1))
    else:
        if not hasattr(block, "x32"):
            block.x32 = torch.empty(block.d.shape)
        x = block.x32
        torch._foreach_copy_([r.view(t.shape) for r, t in zip(x.unbind(), tensors,
                                                               strict=True)], tensors)
    if isinstance(block, SplitBlock):
        k = block.k
        if block.zone is not None:
            centre, half, _ = block.zone
            v = x - centre if centre else x
            block.acc[3, :k].copy_(torch.nn.functional.hardshrink(v, half).abs_().ceil_().sum(1))
        block.acc[1, :k].copy_(x.sum(1))
        block.acc[2, :k].copy_(torch.linalg.vector_norm(x, dim=1) ** 2)
        block.acc[4, :k].zero_()
        return
    for r0, r1, centre, half, _, count in block.sat:
        v = x[r0:r1] - centre if centre else x[r0:r1]
        count.copy_(torch.nn.functional.hardshrink(v, half).abs_().ceil_().sum(1))
    for r0, r1, shape, layers, units in block.peaks:
        reducer._peak(layers, units, x[r0:r1].view(shape).amax(dim=(1, 3)))
    block.S.copy_(x.sum(1))
    block.Q.copy_(torch.linalg.vector_norm(x, dim=1) ** 2)
    block.C.zero_()


@contextlib.contextmanager
def float32_tracker(model, opt):
    """The Tracker with its blocks' float64 sums swapped for float32 ones."""
    tracker = gc.Tracker(model, optimizer=opt).attach()
    reducer = tracker._reducer
    original = reducer._compile

    def compile_float32(rows):
        program = original(rows)
        for block, _ in program:
            block.run = types.MethodType(_float32_run, block)
        return program

    reducer._compile = compile_float32
    try:
        yield tracker
    finally:
        tracker.remove()


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
    "floor: hooks only": (capture, contextlib.nullcontext),
    "design: float32 sums": (float32_tracker, contextlib.nullcontext),
    "floor: +1 pass": (lambda m, o: capture(m, o, one_pass=True), contextlib.nullcontext),
}


def bench(width: int, batch: int, threads: int, modes: dict, seconds: float,
          steps: int) -> dict[str, list[float]]:
    """Per mode, the time per step of each block (all modes in random order per block)."""
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(batch, width, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)
    with contextlib.ExitStack() as stack:
        runs = {}
        for name, (setup, block, package) in modes.items():
            model, opt = make(width, package)
            stack.enter_context(setup(model, opt))
            runs[name] = (model, opt, block)
            run_steps(model, opt, X, y, 2, block)  # warm-up
        per_block = sum(run_steps(m, o, X, y, steps, b) * steps for m, o, b in runs.values())
        blocks = max(8, math.ceil(seconds / per_block))
        times: dict[str, list[float]] = {name: [] for name in runs}
        rng = random.Random(0)
        for _ in range(blocks):
            order = list(runs)
            rng.shuffle(order)
            for name in order:
                model, opt, block = runs[name]
                times[name].append(run_steps(model, opt, X, y, steps, block))
    return times


def ddp_worker(rank: int, world: int, width: int, batch: int, blocks: int,
               steps: int) -> dict[str, list[float]]:
    """One rank of ``--ddp``: per mode the time per step of each block, and ``pool <mode>``
    the time in ``Tracker.pool`` per recorded step."""
    from torch.nn.parallel import DistributedDataParallel

    gen = torch.Generator().manual_seed(rank)
    X = torch.randn(batch, width, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)
    pools = ("local", "global") if world > 1 else ("local",)
    times: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:
        runs = {}
        for name in ("plain", *(f"tracker pool={p}" for p in pools)):
            model, _ = make(width)
            ddp = DistributedDataParallel(model)
            opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
            if name != "plain":
                tracker = stack.enter_context(gc.Tracker(ddp, optimizer=opt, pool=name[13:]))
                spent = times[f"pool {name}"] = []

                def timed(sums, peaks, pool=tracker.pool, spent=spent):
                    start = time.perf_counter()
                    out = pool(sums, peaks)
                    spent.append(time.perf_counter() - start)
                    return out

                tracker.pool = timed
            runs[name] = (ddp, opt)
            run_steps(ddp, opt, X, y, 2, contextlib.nullcontext)  # warm-up
        for key in [k for k in times if k.startswith("pool")]:
            times[key].clear()
        times.update({name: [] for name in runs})
        rng = random.Random(0)  # the same order on every rank: their collectives meet
        for _ in range(blocks):
            order = list(runs)
            rng.shuffle(order)
            for name in order:
                times[name].append(run_steps(*runs[name], X, y, steps, contextlib.nullcontext))
    return times


def bench_ddp(width: int, batch: int, blocks: int, steps: int) -> None:
    """``--ddp``: 1 process, then 2, and the ratios side by side (rank 0's times)."""
    from _ddp import run

    res = {world: run(ddp_worker, world, args=(width, batch, blocks, steps), timeout=600)[0]
           for world in (1, 2)}

    def ratio(world, a, b):
        rs = [x / y for x, y in zip(res[world][a], res[world][b], strict=True)]
        q1, med, q3 = statistics.quantiles(rs, n=4)
        return f"{med:.3f} [{q1:.2f}-{q3:.2f}]"

    print(f"\nDDP (gloo, CPU, 1 thread per process), width {width}, batch {batch} per rank, "
          f"{blocks} blocks of {steps} steps")
    print(f"{'processes':9s} {'mode':22s} {'ms/step':>8s} {'pool ms/step':>13s}")
    for world, times in res.items():
        for name in [k for k in times if not k.startswith("pool")]:
            pool = times.get(f"pool {name}")
            cell = f"{1e3 * statistics.median(pool):13.3f}" if pool else f"{'':13s}"
            print(f"{world:9d} {name:22s} {1e3 * statistics.median(times[name]):8.2f} {cell}")
    print("ratios, median [quartiles] over blocks:")
    print(f"  2 processes, tracker pool=global / pool=local:  "
          f"{ratio(2, 'tracker pool=global', 'tracker pool=local')}")
    print(f"  tracker / plain, 1 process (pool=local):        "
          f"{ratio(1, 'tracker pool=local', 'plain')}")
    print(f"  tracker / plain, 2 processes (pool=global):     "
          f"{ratio(2, 'tracker pool=global', 'plain')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="64x32x1,256x128x1,1024x128x1,256x128x2",
                        help="width x batch x threads, ...")
    parser.add_argument("--seconds", type=float, default=20.0, help="per configuration")
    parser.add_argument("--steps", type=int, default=3, help="training steps per block")
    parser.add_argument("--baseline", default=None, help="git revision to compare with")
    parser.add_argument("--modes", default="plain,tracker,floor: hooks only")
    parser.add_argument("--ddp", default=None, metavar="WIDTHxBATCH",
                        help="measure the pooling across 1 and 2 processes instead")
    parser.add_argument("--blocks", type=int, default=20, help="blocks per mode with --ddp")
    args = parser.parse_args()
    if args.ddp:
        width, batch = map(int, args.ddp.split("x"))
        bench_ddp(width, batch, args.blocks, args.steps)
        return
    warnings.filterwarnings("ignore", message="Anomaly Detection has been enabled")
    names = [m.strip() for m in args.modes.split(",")]
    modes = {name: (*MODES[name], gc) for name in names}
    tmp = tempfile.TemporaryDirectory()
    if args.baseline:
        old = load_baseline(args.baseline, tmp.name)
        modes[f"tracker@{args.baseline}"] = (lambda m, o: old.Tracker(m, optimizer=o),
                                             contextlib.nullcontext, old)
    table: dict[tuple[int, int, int], dict[str, tuple[float, float, float]]] = {}
    plain_ms: dict[tuple[int, int, int], float] = {}
    for config in args.configs.split(","):
        width, batch, threads = map(int, config.split("x"))
        times = bench(width, batch, threads, modes, args.seconds, args.steps)
        plain = times["plain"]
        print(f"\nwidth {width}, batch {batch}, {threads} thread(s), {len(plain)} blocks")
        print(f"{'mode':24s} {'ms/step':>8s} {'ratio':>7s}  {'quartiles':>13s}")
        row = table[width, batch, threads] = {}
        plain_ms[width, batch, threads] = 1e3 * statistics.median(plain)
        for name, ts in times.items():
            ratios = [t / p for t, p in zip(ts, plain, strict=True)]
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            row[name] = (q1, statistics.median(ratios), q3)
            print(f"{name:24s} {1e3 * statistics.median(ts):8.2f} {row[name][1]:7.3f}"
                  f"  {q1:6.3f}-{q3:.3f}", flush=True)
    cols = [c for c in next(iter(table.values())) if c != "plain"]
    print("\nmedian ratio to plain [quartiles]; plain in ms/step")
    print(f"{'width/batch thr':16s} {'plain ms':>9s}" + "".join(f"{c[:24]:>26s}" for c in cols))
    for key, row in table.items():
        width, batch, threads = key
        cells = "".join(f"{f'{row[c][1]:.3f} [{row[c][0]:.2f}-{row[c][2]:.2f}]':>26s}"
                        for c in cols)
        print(f"{f'{width}/{batch}':10s} {threads:>5d} {plain_ms[key]:9.2f}" + cells)
    tmp.cleanup()


if __name__ == "__main__":
    main()
