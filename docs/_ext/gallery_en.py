"""The gallery's scripts in English, written from the Spanish ones and the catalogues.

sphinx-gallery runs scripts and turns their text blocks into pages; for the English
edition it runs English scripts, so the pages, the figures and the .py/.ipynb a reader
downloads are all in English. Each script is rewritten (never kept as a second copy):

- its text blocks (the docstring and each ``# %%`` block) paragraph by paragraph, from
  the catalogue Sphinx keeps for its page (``locale/en/LC_MESSAGES/auto_examples/...``),
  whose messages are those paragraphs;
- its code blocks string by string and comment by comment, from its code catalogue
  (docs/_ext/codetr.py).

:func:`write` returns what had no translation; the English build reports each as a
warning (an error under -W).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import codetr

LOCALE = codetr.DOCS / "locale" / "en" / "LC_MESSAGES"
UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}$")
ITEM = re.compile(r"^([-*]|\d+\.)\s+")
WIDTH = 88


def _catalogue(path: Path) -> dict[str, str]:
    from babel.messages.pofile import read_po

    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as f:
        return {m.id: m.string for m in read_po(f) if m.id and m.string}


def _paragraphs(lines: list[str]) -> list[list[str]]:
    out, cur = [], []
    for line in lines:
        if line.strip():
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def translate_rst(text: str, tr: dict[str, str], missing: list[str]) -> str:
    """An rst text block, translated paragraph by paragraph (titles, list items, prose);
    directives and their indented bodies (math) are kept, except a math body the
    catalogue translates (a decimal comma)."""
    out = []
    lines = text.splitlines()
    for para in _paragraphs(lines):
        first = para[0]
        if first.startswith(".. "):  # a directive's line (``.. math::``): kept
            out.append("\n".join(para))
            continue
        if first.startswith((" ", "\t")):  # an indented body (a formula): its message
            body = textwrap.dedent("\n".join(para))
            pad = first[:len(first) - len(first.lstrip())]
            new = tr.get(body.strip("\n"))
            out.append(textwrap.indent(new, pad) if new else "\n".join(para))
            continue
        if len(para) == 2 and UNDERLINE.match(para[1].strip()):  # a section title
            title = tr.get(first.strip())
            if title is None:
                missing.append(first.strip())
                title = first.strip()
            out.append(f"{title}\n{para[1].strip()[0] * len(title)}")
            continue
        if ITEM.match(first):  # a list: each item is a message
            items, cur = [], []
            for line in para:
                if ITEM.match(line) and cur:
                    items.append(cur)
                    cur = []
                cur.append(line)
            items.append(cur)
            block = []
            for item in items:
                mark = ITEM.match(item[0]).group(0)
                key = " ".join([item[0][len(mark):].strip(), *(i.strip() for i in item[1:])]).strip()
                new = tr.get(key)
                if new is None:
                    missing.append(key)
                    new = key
                block.append(textwrap.fill(new, WIDTH - 2, initial_indent=mark,
                                           subsequent_indent=" " * len(mark),
                                           break_long_words=False, break_on_hyphens=False))
            out.append("\n".join(block))
            continue
        key = " ".join(p.strip() for p in para)
        new = tr.get(key)
        if new is None:
            missing.append(key)
            new = key
        out.append(textwrap.fill(new, WIDTH - 2, break_long_words=False, break_on_hyphens=False))
    return "\n\n".join(out)


def translate_script(path: Path, docname: str, missing: list[str]) -> str:
    """The English text of one gallery script (see the module docstring)."""
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    prose = _catalogue(LOCALE / f"{docname}.po")
    code = codetr.load(docname)
    _, blocks = split_code_and_text_blocks(str(path))[:2]
    parts = []
    for i, block in enumerate(blocks):
        if block.type == "text":
            text = translate_rst(block.content.strip("\n"), prose, missing)
            if i == 0:  # the docstring's value: raw, so that its backslashes (LaTeX) stay
                prefix = "r" if "\\" in text else ""
                parts.append(f'{prefix}"""\n{text}\n"""\n')
            else:
                parts.append("# %%\n" + "\n".join(("# " + ln).rstrip() for ln in text.splitlines()) + "\n")
        else:
            parts.append(codetr.translate(block.content, lambda t: code.get(t), missing).strip("\n") + "\n")
    return "\n".join(parts)


def write(src: Path, dst: Path) -> dict[str, list[str]]:
    """Write the English gallery of ``src`` (``gallery/``) into ``dst``; returns, per
    file, the texts that had no translation."""
    report = {}
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        target = dst / rel
        if path.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        missing: list[str] = []
        if path.name.startswith("plot_") and path.suffix == ".py":
            text = translate_script(path, "auto_examples/" + rel.with_suffix("").as_posix(), missing)
        elif path.name == "GALLERY_HEADER.rst":
            section = rel.parent.as_posix()
            docname = "auto_examples/" + (f"{section}/index" if section != "." else "index")
            text = translate_rst(path.read_text(encoding="utf-8"), _catalogue(LOCALE / f"{docname}.po"),
                                 missing) + "\n"
        else:
            target.write_bytes(path.read_bytes())
            continue
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")  # unchanged: sphinx-gallery skips it
        if missing:
            report[rel.as_posix()] = missing
    return report


FENCE = re.compile(r"^(```+|:::+)(\{[\w-]+\})?\s*(.*)$")
HEADING = re.compile(r"^(#+)\s+(.*)$")


def translate_markdown(text: str, tr: dict[str, str], missing: list[str]) -> str:
    """A MyST markdown cell, translated as Sphinx's catalogue cut it: headings, list
    items, paragraphs (lines joined by spaces) and directive titles; fences, options and
    ``$$`` formulas are kept. For the class notebook a reader downloads."""

    def look(key: str) -> str:
        new = tr.get(key)
        if new is None:
            missing.append(key)
        return new or key

    out = []
    for para in _paragraphs(text.splitlines()):
        lines, block, math = [], [], False
        for line in [*para, ""]:
            fence = FENCE.match(line) if not math else None
            if line.strip() == "$$" or (line.startswith("$$") and not line.rstrip().endswith("$$")):
                math = not math
            if line == "" or fence or line.startswith(":") or math or line.strip() == "$$" or HEADING.match(line) \
                    or ITEM.match(line):
                if block:
                    lines.append(textwrap.fill(look(" ".join(b.strip() for b in block)), WIDTH,
                                               break_long_words=False, break_on_hyphens=False))
                    block = []
                if fence:
                    title = fence.group(3)
                    lines.append(line if not title else line[:len(line) - len(title)] + look(title))
                elif (h := HEADING.match(line)) and not math:
                    lines.append(f"{h.group(1)} {look(h.group(2))}")
                elif ITEM.match(line) and not math:
                    block = [line[ITEM.match(line).end():]]
                    lines.append(ITEM.match(line).group(0) + "\0")  # filled when the item ends
                elif line:
                    lines.append(line)
                continue
            block.append(line)
        # list items: the marker line is followed by its text (the next filled block)
        merged = []
        for ln in lines:
            if merged and merged[-1].endswith("\0"):
                merged[-1] = merged[-1][:-1] + ln
            else:
                merged.append(ln)
        out.append("\n".join(merged))
    return "\n\n".join(out)
