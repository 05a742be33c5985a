"""Run the examples a student downloads, outside the repository, as a student would.

gradcourse comes from a wheel built from this checkout and installed into a
temporary folder (not editable, not the source tree); each example runs once, in an
empty working directory, with the machine's default thread count (no
``OMP_NUM_THREADS``): a claim that holds only on one thread would fail here.

A gallery example's .py and .ipynb are written by sphinx-gallery from one script, so
the script runs (with ``python``) and the notebook is checked to hold the same code,
cell by cell, instead of running it a second time. The class notebook
(docs/clase/14-puente-notebook.ipynb) exists only as a notebook: it runs through
nbclient.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
N_EXAMPLES = len(list((REPO / "gallery").rglob("plot_*.py")))
CLASS_NOTEBOOKS = sorted(p.name for p in (REPO / "docs").rglob("*.ipynb")
                         if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)


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


def _notebook_code(nb) -> list[str]:
    return [c.source.strip() for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_downloaded_notebooks_hold_the_scripts_code(site, edition):
    """Each example's notebook: the installation check, then the script's code blocks, in order."""
    import nbformat
    from sphinx_gallery.py_source_parser import remove_config_comments, split_code_and_text_blocks

    scripts = {p.stem: p for p in downloads(site / edition, ".py")}
    notebooks = [p for p in downloads(site / edition, ".ipynb") if p.stem in scripts]
    assert len(notebooks) >= N_EXAMPLES, f"{len(notebooks)} example notebooks for {N_EXAMPLES} examples"
    different = []
    for path in notebooks:
        blocks = split_code_and_text_blocks(str(scripts[path.stem]))[1]
        code = [remove_config_comments(b.content).strip() for b in blocks if b.type == "code"]
        cells = _notebook_code(nbformat.read(path, as_version=4))
        if cells[0].find("find_spec('gradcourse')") < 0 or cells[1:] != [c for c in code if c]:
            different.append(path.name)
    assert not different, f"notebooks whose code is not their script's: {different}"


@pytest.mark.slow
def test_downloaded_scripts_run(site, edition, wheel_env, tmp_path):
    scripts = downloads(site / edition, ".py")
    assert len(scripts) >= N_EXAMPLES, f"{len(scripts)} .py downloads: {scripts}"
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


@pytest.mark.slow
def test_downloaded_class_notebook_runs(site, edition, wheel_env, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    for key in ("PYTHONPATH", "MPLBACKEND", "GRADCOURSE_PROGRESS"):
        monkeypatch.setenv(key, wheel_env[key])  # the kernel inherits them
    for key in THREAD_VARS:
        monkeypatch.delenv(key, raising=False)
    notebooks = [p for p in downloads(site / edition, ".ipynb") if p.name in CLASS_NOTEBOOKS]
    assert CLASS_NOTEBOOKS and len(notebooks) == len(CLASS_NOTEBOOKS), (CLASS_NOTEBOOKS, notebooks)
    failures, times = [], {}
    for path in notebooks:
        work = tmp_path / path.stem
        work.mkdir()
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            NotebookClient(nb, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute()
        except Exception as err:  # report every notebook, not just the first
            failures.append(f"{path.name}: {type(err).__name__}: {str(err)[-1500:]}")
        times[path.name] = time.perf_counter() - start
    print("\n".join(f"{k}: {v:.1f} s" for k, v in times.items()))
    assert not failures, "\n".join(failures)
