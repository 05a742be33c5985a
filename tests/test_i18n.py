"""The English edition's catalogues (docs/locale/en): complete, not fuzzy, markup kept.

The English build itself fails on a paragraph its catalogue lacks (docs/_ext/english.py);
these checks need no build: every entry of every catalogue is translated and not fuzzy,
a translation keeps its msgid's roles, math and links, the code catalogues hold every
string and comment of the current code, and the translated code still parses.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
LOCALE = DOCS / "locale" / "en" / "LC_MESSAGES"
sys.path.insert(0, str(DOCS / "_ext"))

import codetr  # noqa: E402
import gallery_en  # noqa: E402

CATALOGUES = sorted(LOCALE.rglob("*.po"))
# A MyST role, {glue:text}`key`, where a role can start (not the {in} of 2/n_{in}`).
ROLE = re.compile(r"(?:^|(?<=[\s(\[“\"'—–-]))\{([a-z:]+)\}`([^`]*)`")
LINK = re.compile(r"\]\(([^)]*)\)")
FIELD = re.compile(r"\{[^{}]*\}|%[-+0-9.]*[sdfegr%]")


def _read(path: Path):
    from babel.messages.pofile import read_po

    with open(path, encoding="utf-8") as f:
        return [m for m in read_po(f) if m.id]


def _roles(text: str) -> Counter:
    out = Counter()
    for kind, body in ROLE.findall(text):
        if kind in ("ref", "doc", "numref", "term"):  # a title is translated, the target kept
            target = re.search(r"<([^>]+)>$", body)
            out[(kind, target.group(1) if target else "")] += 1
        else:
            out[(kind, body)] += 1
    return out


def test_there_are_catalogues_for_the_pages_and_the_code():
    assert len(CATALOGUES) > 100, CATALOGUES[:5]
    assert (LOCALE / "clase" / "07-relu.po").exists() and (LOCALE / "code" / "clase" / "07-relu.po").exists()


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.relative_to(LOCALE).as_posix())
def test_every_entry_is_translated_and_keeps_its_markup(path):
    problems = []
    for m in _read(path):
        where = f"line {m.lineno}: {m.id[:60]!r}"
        if not m.string:
            problems.append(f"{where}: untranslated")
            continue
        if m.fuzzy:
            problems.append(f"{where}: fuzzy")
        if _roles(m.id) != _roles(m.string):
            problems.append(f"{where}: roles {sorted(_roles(m.id))} became {sorted(_roles(m.string))}")
        if m.id.count("$") != m.string.count("$"):
            problems.append(f"{where}: {m.id.count('$')} $ became {m.string.count('$')}")
        if sorted(LINK.findall(m.id)) != sorted(LINK.findall(m.string)):
            problems.append(f"{where}: link targets changed")
        if "code" in path.relative_to(LOCALE).parts[:1] and sorted(FIELD.findall(m.id)) != sorted(
                FIELD.findall(m.string)):
            problems.append(f"{where}: format fields changed")
    assert not problems, f"{path.relative_to(DOCS)}:\n" + "\n".join(problems)


def test_code_catalogues_hold_the_current_code():
    """Every string and comment of the pages' cells and the gallery's code has its entry
    (after a change to the code, `make -C docs catalogues` adds the new ones)."""
    stale = []
    for docname, blocks in codetr.sources().items():
        known = {m.id for m in _read(codetr.catalogue_path(docname))} if codetr.catalogue_path(
            docname).exists() else set()
        stale += [f"{docname}: {text[:60]!r}" for block in blocks for _, text in codetr.messages(block)
                  if text not in known]
    assert not stale, "not in the code catalogues (run `make -C docs catalogues`):\n" + "\n".join(stale[:40])


def test_translated_code_still_parses():
    broken = []
    for docname, blocks in codetr.sources().items():
        table = codetr.load(docname)
        for i, block in enumerate(blocks):
            if isinstance(block, codetr.Alt):
                continue  # a figure's alt text, not code
            try:
                ast.parse(block)
            except SyntaxError:
                continue  # not plain Python (an IPython magic): not ours to check
            try:
                ast.parse(codetr.translate(block, table.get, []))
            except SyntaxError as e:
                broken.append(f"{docname}, code block {i + 1}: {e}")
    assert not broken, "\n".join(broken)


def test_english_gallery_scripts_are_complete(tmp_path):
    missing = gallery_en.write(DOCS.parent / "gallery", tmp_path)
    assert not missing, "\n".join(f"{k}: {v[:3]}" for k, v in missing.items())
    for script in tmp_path.rglob("plot_*.py"):
        ast.parse(script.read_text(encoding="utf-8"))


def test_translate_replaces_tokens_only():
    code = 'x = {"sin recorte": 1}  # la norma\nprint(f"{x} pasos", "relu")\n'
    table = {"sin recorte": "no clipping", "la norma": "the norm", "{x} pasos": "{x} steps"}
    missing: list[str] = []
    out = codetr.translate(code, table.get, missing)
    assert out == 'x = {"no clipping": 1}  # the norm\nprint(f"{x} steps", "relu")\n'
    assert missing == ["relu"]
