"""Fill the API pages' catalogues: docstrings are English already (msgstr = msgid);
only the words the autosummary templates and napoleon write in Spanish are translated.

Run by ``make catalogues`` after ``sphinx-intl update``: the API pages change with the
library, and nobody should translate English docstrings into English by hand.
"""

from __future__ import annotations

import inspect
import pkgutil
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

WORDS = {
    "Parámetros": "Parameters",
    "Tipo del valor devuelto": "Return type",
    "Devuelve": "Returns",
    "Ejemplo": "Example",
    "Ejemplos": "Examples",
    "Clases": "Classes",
    "Funciones": "Functions",
    "Módulos": "Modules",
    "Lanza": "Raises",
    "Atributos": "Attributes",
    "Notas": "Notes",
}
PATTERNS = [(re.compile(r"^Ejemplos que usan (``[^`]+``)$"), r"Examples using \1")]


def translate(msgid: str) -> str:
    if msgid in WORDS:
        return WORDS[msgid]
    for pattern, repl in PATTERNS:
        if pattern.match(msgid):
            return pattern.sub(repl, msgid)
    return msgid  # an English docstring


def mini_gallery_heading(page: str) -> str | None:
    """The heading the autosummary templates give a function's or class's mini-gallery
    (docs/_templates/autosummary). The extraction sees it only for the objects that
    sphinx-gallery finds without running the examples, so it is added for every one."""
    try:
        obj = pkgutil.resolve_name(page)
    except (ImportError, AttributeError, ValueError):
        return None
    return None if inspect.ismodule(obj) else f"Ejemplos que usan ``{page.rsplit('.', 1)[-1]}``"


def fill(folder: Path) -> int:
    n = 0
    for po in sorted(folder.rglob("*.po")):
        with open(po, encoding="utf-8") as f:
            cat = read_po(f, locale="en")
        for m in cat:
            if m.id:
                m.string = translate(m.id)
                m.flags.discard("fuzzy")
                n += 1
        for english in WORDS.values():  # what napoleon writes in the English build itself
            if english not in cat:
                cat.add(english, english)
        heading = mini_gallery_heading(po.stem)
        if heading is not None and heading not in cat:
            cat.add(heading, translate(heading))
        cat.fuzzy = False
        cat.obsolete.clear()  # what sphinx-intl kept of the last version: not wanted
        with open(po, "wb") as f:
            write_po(f, cat, width=0, include_previous=False)
    return n


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[1] / "locale/en/LC_MESSAGES/api/generated")
    print(f"{root}: {fill(root)} entries")
