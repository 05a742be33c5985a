"""A second execution of a page gives the same glued numbers and text as the build's.

The build's outputs come from myst-nb's execution cache (docs/_build/.jupyter_cache);
the second execution runs the same page again with nbclient. A subset of pages
keeps this cheap enough for CI.
"""

from __future__ import annotations

import os

import pytest

from .conftest import REPO

PAGES = ["clase/04-intuicion-matematica.md", "clase/11-he.md", "clase/12-activacion-inicializacion.md"]
CACHE = REPO / "docs" / "_build" / ".jupyter_cache"

pytestmark = pytest.mark.slow


def text_outputs(nb) -> list:
    """Per code cell: stream text, text/plain results and glued values (name -> text/plain).

    Consecutive prints of a cell are joined: the kernel sends them as one stream message or
    several depending on timing (a busy machine splits them), which is not a difference.
    """
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        first = len(out)
        for o in cell.get("outputs", []):
            if o.output_type == "stream" and len(out) > first and out[-1][:2] == ("stream", o.name):
                out[-1] = ("stream", o.name, out[-1][2] + o.text)
            elif o.output_type == "stream":
                out.append(("stream", o.name, o.text))
            elif o.output_type in ("execute_result", "display_data"):
                glue = o.get("metadata", {}).get("scrapbook", {}).get("name")
                out.append(("glue" if glue else o.output_type, glue, o.get("data", {}).get("text/plain")))
            elif o.output_type == "error":
                out.append(("error", o.ename, o.evalue))
    return out


@pytest.mark.parametrize("page", PAGES)
def test_second_execution_matches_the_build(site, page, monkeypatch, tmp_path):
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient

    source = REPO / "docs" / page
    assert source.exists(), f"{page} is listed here but is not in docs/"
    if not CACHE.exists():
        pytest.fail(f"no execution cache at {CACHE}: build the site first")
    nb = read_myst_markdown_notebook(source.read_text(encoding="utf-8"))
    _, cached = get_cache(str(CACHE)).merge_match_into_notebook(nb)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("GRADCOURSE_PROGRESS", "0")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    fresh = read_myst_markdown_notebook(source.read_text(encoding="utf-8"))
    NotebookClient(fresh, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    first, second = text_outputs(cached), text_outputs(fresh)
    assert any(kind == "glue" for kind, *_ in first), f"{page} glues no number"
    assert first == second
    assert os.environ.get("GRADCOURSE_PROGRESS") == "0"
