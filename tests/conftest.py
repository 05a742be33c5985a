"""Shared test settings: a non-interactive plot backend and one torch thread.

One thread is deterministic and, for these small workloads, as fast as two
(tests/bench_threads.py).
"""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
