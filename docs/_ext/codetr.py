"""The words inside the course's code, in English: string literals and comments.

A page's prose is translated by Sphinx's own catalogues; its code cells are executed,
so what they print and the labels of the figures they draw are Python strings. This
module keeps them in gettext catalogues of their own, one per page or gallery script,
``locale/en/LC_MESSAGES/code/<docname>.po``, and rewrites the code of the English build
before it runs:

- :func:`update` (``make catalogues``) extracts every string literal with a word in it
  and every comment from the pages' code cells and the gallery's code blocks, keeping
  the translations already made;
- :func:`translate` replaces each one by its translation, token by token
  (:mod:`tokenize`), so the code's structure is untouched. A string with no
  translation is reported (the build's -W makes it an error).

Identifiers and keys translate consistently (the same text gets the same translation in
a whole page), so a dictionary keyed by a Spanish label keeps working in English.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
GALLERY = DOCS.parent / "gallery"
CODE = DOCS / "locale" / "en" / "LC_MESSAGES" / "code"
CELL = re.compile(r"^(```\{code-cell\}[^\n]*\n)(.*?)(^```)", re.S | re.M)
PREFIX = re.compile(r"^([rbfuRBFU]*)('''|\"\"\"|'|\")(.*)\2$", re.S)
WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ]{2,}")
# Comments that are instructions to a tool, not words for a reader.
TOOL_COMMENT = re.compile(r"^#\s*(%%|noqa|type:|sphinx_gallery_|fmt:|ruff:|pragma)")
# Identifiers, keys and names that stay as they are: library names, dict keys of records
# (grad_std), glue keys (in_acc_he), matplotlib names; a single lower-case word without
# an accent is looked up only if a translator put it in the catalogue (see _wanted).
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _wanted_string(body: str) -> bool:
    if not WORD.search(body):
        return False
    if IDENTIFIER.fullmatch(body):  # one word: a Spanish label ("pérdida") or a key ("relu")
        return "_" not in body and not any(c.isdigit() for c in body) and len(body) > 2
    return True


class Alt(str):
    """A figure's alt text or caption from a cell's options (one message, not code)."""


def _string_body(tok: tokenize.TokenInfo) -> re.Match | None:
    """The prefix, quote and body of a text string literal worth translating (not bytes)."""
    m = PREFIX.match(tok.string)
    return m if m and "b" not in m.group(1).lower() and _wanted_string(m.group(3)) else None


def messages(code: str) -> Iterator[tuple[str, str]]:
    """``(kind, text)`` of each translatable token: a string's body or a comment's text
    (or the one message of an :class:`Alt`)."""
    if isinstance(code, Alt):
        yield "alt text", str(code)
        return
    for tok in _tokens(code):
        if tok.type == tokenize.STRING and (m := _string_body(tok)):
            yield "string", m.group(3)
        elif tok.type == tokenize.COMMENT and not TOOL_COMMENT.match(tok.string):
            text = tok.string[1:].strip()
            if WORD.search(text):
                yield "comment", text


def _tokens(code: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []  # IPython magics or a cell that is not Python: left as it is


def translate(code: str, lookup: Callable[[str], str | None], missing: list[str]) -> str:
    """``code`` with each string and comment replaced by ``lookup(text)``; texts without a
    translation are appended to ``missing`` and left as they are."""
    lines = code.splitlines(keepends=True)
    edits = []
    for tok in _tokens(code):
        if tok.type == tokenize.STRING:
            if not (m := _string_body(tok)):
                continue
            new = lookup(m.group(3))
            if new is None:
                missing.append(m.group(3))
                continue
            edits.append((tok.start, tok.end, f"{m.group(1)}{m.group(2)}{new}{m.group(2)}"))
        elif tok.type == tokenize.COMMENT and not TOOL_COMMENT.match(tok.string):
            text = tok.string[1:].strip()
            if not WORD.search(text):
                continue
            new = lookup(text)
            if new is None:
                missing.append(text)
                continue
            edits.append((tok.start, tok.end, "# " + new))
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out = code
    for (r0, c0), (r1, c1), new in sorted(edits, reverse=True):
        a, b = offsets[r0 - 1] + c0, offsets[r1 - 1] + c1
        out = out[:a] + new + out[b:]
    return out


# --- Where the code is --------------------------------------------------------------

ALT = re.compile(r"^(\s*)(alt|caption):\s*(>-?|\|-?)?\s*(.*)$")


def md_cells(text: str) -> Iterator[str]:
    for m in CELL.finditer(text):
        yield _cell_code(m.group(2))


def md_alts(text: str) -> Iterator[str]:
    """The alt texts and captions of the figures the page's cells draw (``mystnb: image:
    alt:``, ``mystnb: figure: caption:``)."""
    for m in CELL.finditer(text):
        body = m.group(2)
        yield from (alt for alt, _, _ in _alts(body[:len(body) - len(_cell_code(body))]))


def _cell_code(body: str) -> str:
    """A code cell's code without its options: ``:tags:`` lines or a ``---`` YAML block."""
    lines = body.splitlines(keepends=True)
    if lines and lines[0].strip() == "---":
        end = next((i for i, ln in enumerate(lines[1:], 1) if ln.strip() == "---"), None)
        if end is not None:
            lines = lines[end + 1:]
    while lines and lines[0].startswith(":"):
        lines.pop(0)
    return "".join(lines)


def _alts(head: str) -> list[tuple[str, int, int]]:
    """``(text, first line, end line)`` of each ``alt:`` or ``caption:`` value in a cell's
    YAML options, the text as YAML reads it (plain, quoted or folded, over several lines)."""
    import textwrap

    import yaml

    lines, out = head.splitlines(), []
    for i, line in enumerate(lines):
        m = ALT.match(line)
        if not m:
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) > len(m.group(1)):
            j += 1
        value = yaml.safe_load(textwrap.dedent("\n".join(lines[i:j])))
        if isinstance(value, dict) and isinstance(value.get(m.group(2)), str):
            out.append((value[m.group(2)], i, j))
    return out


def _translate_head(head: str, lookup, missing) -> str:
    lines = head.splitlines(keepends=True)
    for text, i, j in reversed(_alts(head)):
        new = lookup(text)
        if new is None:
            missing.append(text)
            continue
        pad, key = ALT.match(lines[i]).group(1, 2)
        body = "".join(f"{pad}  {ln}\n" for ln in _wrap(new, 88 - len(pad) - 2))
        lines[i:j] = [f"{pad}{key}: >-\n", body]
    return "".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def translate_md(text: str, lookup, missing) -> str:
    def cell(m):
        body = m.group(2)
        code = _cell_code(body)
        head = body[:len(body) - len(code)]
        return m.group(1) + _translate_head(head, lookup, missing) + translate(code, lookup, missing) + m.group(3)

    return CELL.sub(cell, text)


def translate_cell_alt(cell: dict, lookup, missing: list[str]) -> None:
    """A notebook code cell's figure alt text, which rides in its metadata (myst-nb's
    ``mystnb: image: alt:``), in place."""
    image = cell.get("metadata", {}).get("mystnb", {}).get("image", {})
    if image.get("alt"):
        new = lookup(image["alt"])
        if new is None:
            missing.append(image["alt"])
        else:
            image["alt"] = new


def translate_ipynb(text: str, lookup, missing) -> str:
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            cell["source"] = translate(src, lookup, missing).splitlines(keepends=True)
            translate_cell_alt(cell, lookup, missing)
    return json.dumps(nb, ensure_ascii=False, indent=1) + "\n"


def gallery_code(path: Path) -> Iterator[str]:
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    for block in split_code_and_text_blocks(str(path))[1]:
        if block.type == "code":
            yield block.content


def sources() -> dict[str, list[str]]:
    """docname -> its code blocks: the pages' cells and the gallery scripts' code."""
    out = {}
    for path in sorted(DOCS.rglob("*.md")):
        if {"_build", "locale", "auto_examples"} & set(path.relative_to(DOCS).parts):
            continue
        text = path.read_text(encoding="utf-8")
        cells = list(md_cells(text)) + [Alt(a) for a in md_alts(text)]
        if cells:
            out[path.relative_to(DOCS).with_suffix("").as_posix()] = cells
    for path in sorted(DOCS.rglob("*.ipynb")):
        if {"_build", "auto_examples"} & set(path.relative_to(DOCS).parts) or ".ipynb_checkpoints" in path.parts:
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        out[path.relative_to(DOCS).with_suffix("").as_posix()] = ["".join(c["source"]) for c in code] + [
            Alt(c["metadata"]["mystnb"]["image"]["alt"]) for c in code
            if c.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")]
    for path in sorted(GALLERY.rglob("plot_*.py")):
        out["auto_examples/" + path.relative_to(GALLERY).with_suffix("").as_posix()] = list(gallery_code(path))
    return out


# --- Catalogues -----------------------------------------------------------------------

def catalogue_path(docname: str) -> Path:
    return CODE / f"{docname}.po"


def load(docname: str) -> dict[str, str]:
    """msgid -> msgstr of a page's code catalogue (translated entries only)."""
    from babel.messages.pofile import read_po

    path = catalogue_path(docname)
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as f:
        return {m.id: m.string for m in read_po(f) if m.id and m.string}


def update() -> dict[str, tuple[int, int]]:
    """Rewrite the code catalogues from the sources, keeping existing translations."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    report = {}
    for docname, blocks in sources().items():
        old = load(docname)
        cat = Catalog(locale="en", project="gradcourse", fuzzy=False)
        for block in blocks:
            for kind, text in messages(block):
                if text not in cat:
                    cat.add(text, old.get(text, ""), auto_comments=[kind], flags=())
        path = catalogue_path(docname)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            write_po(f, cat, width=0, include_previous=False)
        report[docname] = (sum(1 for m in cat if m.id and m.string), len(cat))
    return report


if __name__ == "__main__":
    for doc, (done, total) in update().items():
        if done < total or "-v" in sys.argv:
            print(f"{doc}: {done}/{total} translated")
