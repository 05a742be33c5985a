"""A gallery script or a notebook cell that raises fails the build, and says where.

Each case builds a throwaway copy of the site's configuration with one broken
page or one broken example, so it runs in seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

BAD_CELL = """---
file_format: mystnb
kernelspec:
  name: python3
  display_name: Python 3
---
# Página rota

```{code-cell} ipython3
x = 1
```

```{code-cell} ipython3
raise ValueError("celda rota a propósito")
```
"""

BAD_SCRIPT = '''"""
Ejemplo roto
============

Un script que falla a propósito.
"""

# %%
raise RuntimeError("script roto a propósito")
'''


def throwaway_site(tmp: Path, page: str | None, script: str | None) -> Path:
    docs = tmp / "docs"
    (docs / "_static").mkdir(parents=True)
    for name in ("conf.py", "references.bib"):
        shutil.copy(REPO / "docs" / name, docs / name)
    shutil.copytree(REPO / "docs" / "_ext", docs / "_ext")  # the site's own extensions
    gallery = tmp / "gallery"
    gallery.mkdir()
    (gallery / "GALLERY_HEADER.rst").write_text("Galería\n=======\n", encoding="utf-8")
    toc = ["auto_examples/index"]
    if page:
        (docs / "rota.md").write_text(page, encoding="utf-8")
        toc.append("rota")
    if script:
        (gallery / "plot_roto.py").write_text(script, encoding="utf-8")
    (docs / "index.md").write_text("# Prueba\n\n```{toctree}\n" + "\n".join(toc) + "\n```\n", encoding="utf-8")
    return docs


def build(docs: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(docs),
                           str(docs / "_build" / "html")], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_failing_notebook_cell_fails_the_build(tmp_path):
    proc = build(throwaway_site(tmp_path, BAD_CELL, None))
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, "the build succeeded despite a failing cell"
    assert "rota" in log and "celda rota a propósito" in log, log[-3000:]
    assert "raise ValueError" in log  # the failing cell's code is shown


@pytest.mark.slow
def test_failing_gallery_script_fails_the_build(tmp_path):
    proc = build(throwaway_site(tmp_path, None, BAD_SCRIPT))
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, "the build succeeded despite a failing example"
    assert "plot_roto.py" in log and "script roto a propósito" in log, log[-3000:]
