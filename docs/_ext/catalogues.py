"""``make catalogues``: bring the English edition's catalogues up to date with the sources.

1. Sphinx's gettext builder extracts the prose of every page (no page runs, no gallery
   script runs), in a temporary copy of docs/ and gallery/, so that sphinx-gallery's
   pages without outputs never replace the executed ones in docs/auto_examples;
2. ``sphinx-intl update`` merges it into ``locale/en/LC_MESSAGES`` (new paragraphs
   appear untranslated, changed ones fuzzy);
3. the API pages' catalogues are filled (fill_api_catalogues.py: English docstrings);
4. the code's catalogues are rewritten from the code (codetr.py).

Then translate what is empty or fuzzy; the English build fails until nothing is left.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import codetr
import fill_api_catalogues

DOCS = Path(__file__).resolve().parents[1]
SKIP = {"_build", "auto_examples", "gen_modules", "generated", "jupyter_execute", "locale"}


def drop_obsolete(folder: Path) -> None:
    """sphinx-intl keeps removed entries as ``#~`` comments; a catalogue holds what the
    pages say now (the code's catalogues are rewritten whole by codetr.py)."""
    from babel.messages.pofile import read_po, write_po

    for po in folder.rglob("*.po"):
        if po.relative_to(folder).parts[0] == "code":
            continue
        with open(po, encoding="utf-8") as f:
            cat = read_po(f, locale="en")
        if cat.obsolete:
            cat.obsolete.clear()
            with open(po, "wb") as f:
                write_po(f, cat, width=0, include_previous=False)


DATE = re.compile(r'^"POT-Creation-Date: .*\\n"\n', re.M)


def keep_unchanged(before: dict[Path, str]) -> None:
    """A catalogue whose only change is its creation date is put back as it was, so that
    an update leaves in the diff only what the sources changed."""
    for po, old in before.items():
        if po.exists() and DATE.sub("", po.read_text(encoding="utf-8")) == DATE.sub("", old):
            po.write_text(old, encoding="utf-8")


def main() -> None:
    messages = DOCS / "locale" / "en" / "LC_MESSAGES"
    before = {po: po.read_text(encoding="utf-8") for po in messages.rglob("*.po")}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copytree(DOCS, copy / "docs", ignore=lambda d, names: [n for n in names if n in SKIP])
        shutil.copytree(DOCS.parent / "gallery", copy / "gallery")
        pot = copy / "docs" / "_build" / "gettext"
        subprocess.run([sys.executable, "-m", "sphinx", "-b", "gettext", "-q", "-j", "auto",
                        "-D", "nb_execution_mode=off", "-D", "plot_gallery=0", str(copy / "docs"), str(pot)],
                       check=True, stderr=subprocess.DEVNULL)
        subprocess.run(["sphinx-intl", "update", "-p", str(pot), "-l", "en", "-d", str(DOCS / "locale"),
                        "-w", "0"], check=True, stdout=subprocess.DEVNULL)
    drop_obsolete(DOCS / "locale" / "en" / "LC_MESSAGES")
    print(f"API catalogues: {fill_api_catalogues.fill(DOCS / 'locale/en/LC_MESSAGES/api/generated')} entries")
    left = {doc: (done, total) for doc, (done, total) in codetr.update().items() if done < total}
    keep_unchanged(before)
    for doc, (done, total) in left.items():
        print(f"code/{doc}.po: {total - done} of {total} to translate")


if __name__ == "__main__":
    main()
