"""Sphinx extension: spread the executed pages over the parallel reads (``-j``).

With ``-j N`` Sphinx reads the pages in chunks of consecutive names, one process per
chunk. The pages that execute code (myst-nb notebooks) are all named after the API
and gallery pages (``clase/``, ``explorador``, ``index``, ``notas/``), so they fell
into the last chunk and ran one after another in one process while the others had
finished. ``env-before-read-docs`` lets an extension reorder the pages before the
chunks are cut: the executed pages are dealt out, the largest first, to the chunk
with the least code so far, and the other pages fill the remaining places.

Before the chunks fork, the main process also creates myst-nb's jupyter-cache
database: on a cold build every reader would otherwise create its tables at once
(sqlite: "table settings already exists").
"""

from __future__ import annotations

from pathlib import Path


def _code_size(env, docname: str) -> int:
    """Characters of code a page executes (0: a page that executes nothing)."""
    path = Path(env.doc2path(docname))
    if path.suffix == ".ipynb":
        return max(1, path.stat().st_size // 4)  # JSON and outputs around the code
    if path.suffix != ".md":
        return 0
    text = path.read_text(encoding="utf-8")
    if "```{code-cell}" not in text:
        return 0
    return sum(len(block.split("```", 1)[0]) for block in text.split("```{code-cell}")[1:])


def _spread(app, env, docnames: list[str]) -> None:
    from sphinx.util.parallel import make_chunks

    nproc = getattr(app, "parallel", 0)
    if nproc <= 1 or len(docnames) < 2:
        return
    sizes = [len(c) for c in make_chunks(docnames, nproc)]
    costs = {d: _code_size(env, d) for d in docnames}
    heavy = sorted((d for d in docnames if costs[d]), key=lambda d: -costs[d])
    light = [d for d in docnames if not costs[d]]
    chunks: list[list[str]] = [[] for _ in sizes]
    load = [0] * len(sizes)
    for d in heavy:
        i = min((i for i in range(len(sizes)) if len(chunks[i]) < sizes[i]), key=lambda i: load[i])
        chunks[i].append(d)
        load[i] += costs[d]
    for i, size in enumerate(sizes):
        while len(chunks[i]) < size:
            chunks[i].append(light.pop(0))
    docnames[:] = [d for chunk in chunks for d in chunk]


def _create_cache(app, env, docnames: list[str]) -> None:
    config = getattr(env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache" or not config.execution_cache_path:
        return
    from jupyter_cache import get_cache

    get_cache(config.execution_cache_path).db  # creates the tables, once  # noqa: B018


def setup(app):
    app.connect("env-before-read-docs", _create_cache)
    app.connect("env-before-read-docs", _spread)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
