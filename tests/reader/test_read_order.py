"""docs/_ext/read_order.py: the executed pages are spread over the parallel reads."""

from __future__ import annotations

import sys
from types import SimpleNamespace

from sphinx.util.parallel import make_chunks

from .conftest import REPO


def test_executed_pages_are_spread_over_the_chunks(tmp_path):
    sys.path.insert(0, str(REPO / "docs" / "_ext"))
    try:
        import read_order
    finally:
        sys.path.pop(0)
    names = [f"api/f{i:02d}" for i in range(90)] + [f"clase/{i:02d}" for i in range(15)] + ["index", "notas/a"]
    for n in names:
        path = tmp_path / f"{n}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        code = "```{code-cell} ipython3\n" + "x = 1\n" * (5 + names.index(n) % 7) + "```\n"
        path.write_text("# T\n\n" + (code if not n.startswith("api/") else "text\n"), encoding="utf-8")
    env = SimpleNamespace(doc2path=lambda d: tmp_path / f"{d}.md")
    docnames = sorted(names)
    before = [sum(read_order._code_size(env, d) > 0 for d in c) for c in make_chunks(docnames, 2)]
    read_order._spread(SimpleNamespace(parallel=2), env, docnames)
    assert sorted(docnames) == sorted(names)  # the same pages, each once
    chunks = make_chunks(docnames, 2)
    costs = [sum(read_order._code_size(env, d) for d in c) for c in chunks]
    assert before == [0, 0, 0, 2, 15]  # sorted by name, the last chunk ran almost all of them
    assert max(costs) <= 1.5 * min(costs), costs
