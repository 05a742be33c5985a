"""Run a function in several processes of one ``torch.distributed`` group, bounded in time.

``run(fn, world_size=2)`` spawns ``world_size`` fresh interpreters
(``torch.multiprocessing.spawn``), joins them into a gloo group over
``127.0.0.1:<a free port>`` and calls ``fn(rank, world_size, *args)`` in each. It returns
the ranks' results (saved with ``torch.save``), in rank order. It never hangs: the group
is formed within ``init_timeout`` seconds (``init_process_group(timeout=...)``), and if
the processes have not all finished after ``timeout`` seconds they are terminated and
``TimeoutError`` is raised. An exception in a rank is raised here with its traceback.

``fn`` must be importable by name (a module-level function) since the children are
fresh interpreters; each runs one torch thread.
"""

from __future__ import annotations

import datetime
import os
import socket
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

__all__ = ["free_port", "run"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, fn: Callable[..., Any], world_size: int, port: int, out: str,
            init_timeout: float, args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=init_timeout))
    try:
        result = fn(rank, world_size, *args)
        torch.save(result, os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def run(fn: Callable[..., Any], world_size: int = 2, args: tuple = (), timeout: float = 120,
        init_timeout: float = 30) -> list[Any]:
    """``[fn(0, world_size, *args), ..., fn(world_size - 1, world_size, *args)]``, each
    computed in its own process of one gloo group (see the module docstring)."""
    with tempfile.TemporaryDirectory() as out:
        ctx = mp.spawn(_worker, args=(fn, world_size, free_port(), out, init_timeout, args),
                       nprocs=world_size, join=False)
        deadline = time.monotonic() + timeout
        try:
            while not ctx.join(timeout=max(0.0, min(1.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{world_size} processes still running after {timeout} s")
        finally:
            for p in ctx.processes:
                if p.is_alive():
                    p.terminate()
                    p.join(5)
        return [torch.load(os.path.join(out, f"rank{r}.pt"), weights_only=False)
                for r in range(world_size)]
