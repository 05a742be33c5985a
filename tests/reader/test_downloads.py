"""Run the examples a student downloads, outside the repository, as a student would.

gradcourse comes from a wheel built from this checkout and installed into a
temporary folder (not editable, not the source tree); scripts run with
``python``, notebooks through nbclient, each in an empty working directory, with
the machine's default thread count (no ``OMP_NUM_THREADS``): a claim that holds
only on one thread would fail here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Every gallery example plus the class notebook (docs/clase/14-puente-notebook.ipynb).
N_NOTEBOOKS = len(list((REPO / "gallery").rglob("plot_*.py"))) + 1


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp / "dist"), str(REPO)], check=True)
    (wheel,) = (tmp / "dist").glob("gradcourse-*.whl")
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update(PYTHONPATH=str(target), MPLBACKEND="Agg", GRADCOURSE_PROGRESS="0")
    where = subprocess.run([sys.executable, "-c", "import gradcourse; print(gradcourse.__file__)"],
                           env=env, cwd=tmp, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target)), f"gradcourse imported from {where}, not the wheel"
    return env


def downloads(site: Path, suffix: str) -> list[Path]:
    files = sorted((site / "_downloads").rglob(f"*{suffix}"))
    files += sorted((site / "_sources").rglob(f"*{suffix}"))  # notebook pages' own download
    return [f for f in files if f.stat().st_size > 0]


def test_downloaded_scripts_run(site, wheel_env, tmp_path):
    scripts = downloads(site, ".py")
    assert len(scripts) >= N_NOTEBOOKS - 1, f"{len(scripts)} .py downloads: {scripts}"
    failures, times = [], {}
    for script in scripts:
        work = tmp_path / script.stem
        work.mkdir()
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], cwd=work, env=wheel_env,
                              capture_output=True, text=True, timeout=300)
        times[script.name] = time.perf_counter() - start
        if proc.returncode:
            failures.append(f"{script.name}:\n{proc.stderr[-2000:]}")
    print("\n".join(f"{k}: {v:.1f} s" for k, v in times.items()))
    assert not failures, "\n".join(failures)


def test_downloaded_notebooks_run(site, wheel_env, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    for key in ("PYTHONPATH", "MPLBACKEND", "GRADCOURSE_PROGRESS"):
        monkeypatch.setenv(key, wheel_env[key])  # the kernel inherits them
    for key in THREAD_VARS:
        monkeypatch.delenv(key, raising=False)
    notebooks = downloads(site, ".ipynb")
    assert len(notebooks) >= N_NOTEBOOKS, f"{len(notebooks)} notebooks, expected {N_NOTEBOOKS}: {notebooks}"
    failures, times = [], {}
    for path in notebooks:
        work = tmp_path / path.stem
        work.mkdir()
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            client = NotebookClient(nb, timeout=300, kernel_name="python3",
                                    resources={"metadata": {"path": str(work)}})
            client.execute()
        except Exception as err:  # report every notebook, not just the first
            failures.append(f"{path.name}: {type(err).__name__}: {str(err)[-1500:]}")
        times[path.name] = time.perf_counter() - start
    print("\n".join(f"{k}: {v:.1f} s" for k, v in times.items()))
    assert not failures, "\n".join(failures)
