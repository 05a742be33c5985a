"""Sphinx extension: the course's English edition, built from the Spanish sources.

``make html`` builds the Spanish site into ``_build/html`` and then this edition into
``_build/html/en`` with ``GRADCOURSE_LANG=en``: conf.py reads the language from that
variable, Sphinx reads the translations from ``locale/en/LC_MESSAGES`` (gettext
catalogues kept by ``make catalogues``), and the pages' kernels inherit the variable,
so ``gradcourse`` draws its figures and writes its numbers in English there.

Seven pieces, each on Sphinx's documented events:

- the English interface settings (title, prompts, bibliography words, search text)
  over conf.py's Spanish ones, at ``config-inited``;
- a link to the same page in the other language on every page (``html-page-context``);
- each reflection question keeps its Spanish original one click away (a transform that
  copies it before Sphinx translates the page);
- the glossary's entries lead with their English terms (reordered, not re-registered);
- a paragraph the catalogues do not translate fails the build (a warning under -W)
  instead of appearing in Spanish on an English page;
- the pages' code runs with its strings and comments in English (docs/_ext/codetr.py,
  at ``source-read``), so what it prints and draws is English;
- the gallery runs English scripts written from the Spanish ones (docs/_ext/gallery_en.py).
  sphinx-gallery writes its pages into the source folder, ``auto_examples``: each
  language keeps its own there, swapped in for its build and out after it (kept in
  ``_build/auto_examples.<lang>``), so neither build re-runs the other's examples.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import codetr
import gallery_en
from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

SETTINGS_EN = {
    "html_title": "Gradient flow in deep networks",
    "html_search_language": "en",
    "nb_code_prompt_show": "Show code",
    "nb_code_prompt_hide": "Hide code",
    "togglebutton_hint": "Show",
    "togglebutton_hint_hide": "Hide",
    # pybtex's own English words; "plain" numbers the entries as numerado_es does.
    "bibtex_default_style": "plain",
    "bibtex_reference_style": "label",
    # Its own jupyter-cache: the English kernels draw English figures.
    "nb_execution_cache_path": "_build/.jupyter_cache_en",
}
FIRST_CELL_EN = (
    "# This notebook uses gradcourse: we check that it is installed.\n"
    "import importlib.util\n\n"
    "if importlib.util.find_spec('gradcourse') is None:\n"
    "    print('gradcourse is missing. From a copy of the course repository, run:\\n'\n"
    "          '    %pip install torch==2.13.0\\n'\n"
    "          '    %pip install /path/to/the/repository\\n'\n"
    "          'and restart the kernel.')\n"
    "else:\n"
    "    import gradcourse\n\n"
    "    print('gradcourse', gradcourse.__version__)"
)
# The Spanish headings of the lessons' question and of the notes' questions.
REFLECTION = ("Pregunta de reflexión", "Preguntas para la reflexión")
ORIGINAL_SUMMARY = "The question in the original Spanish"


GENERATED = ("auto_examples", "gen_modules")  # what sphinx-gallery writes into the sources


def _kept(srcdir: Path, name: str, lang: str) -> Path:
    return srcdir / "_build" / f"{name}.{lang}"


def _swap(srcdir: Path, out: str, into: str) -> None:
    """Move the ``out`` language's generated folders aside and the ``into`` one's in."""
    for name in GENERATED:
        here, aside, back = srcdir / name, _kept(srcdir, name, out), _kept(srcdir, name, into)
        if here.exists():
            if aside.exists():
                shutil.rmtree(aside)
            aside.parent.mkdir(parents=True, exist_ok=True)
            here.rename(aside)
        if back.exists():
            back.rename(here)


def restore_spanish_gallery(srcdir: Path) -> None:
    """After an English build that did not finish (Ctrl-C), put the Spanish gallery back."""
    if any(_kept(srcdir, name, "es").exists() for name in GENERATED):
        _swap(srcdir, "en", "es")


GLUE = re.compile(r"\{glue:text\}`([^`:]+)((?::[^`]*)?)`")
TERM = re.compile(r"\{term\}`([^`<]*?)(?:\s*<([^>]+)>)?`")
NUMBERED = re.compile(r"^(\d+)\. ")


def _same_terms(msgid: str, msgstr: str) -> str:
    """Sphinx refuses a translation whose glossary references point elsewhere than the
    original's ("inconsistent term references"): keep the English words, point each
    reference where the Spanish one points (the English glossary knows both names)."""
    targets = [target or text for text, target in TERM.findall(msgid)]
    found = TERM.findall(msgstr)
    if len(targets) != len(found):
        return msgstr  # Sphinx's warning will say what differs
    it = iter(targets)

    def point(m):
        target = next(it)
        text = m.group(1).strip()
        return f"{{term}}`{target}`" if text == target else f"{{term}}`{text} <{target}>`"

    return TERM.sub(point, msgstr)


def compile_catalogues(srcdir: Path, out: Path, suffixes: dict[str, str]) -> None:
    """The pages' catalogues as the English build reads them (``.mo`` files in ``out``).

    A translated paragraph is parsed on its own, outside its notebook, where myst-nb's
    ``{glue:text}`key``` finds no value and leaves a hole; written as a reference to its
    own page, ``{glue:text}`/clase/07-relu.md::key:s```, myst-nb resolves it after the
    page has run. A file is rewritten only when it changes (its date makes Sphinx
    re-read the page).
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    messages = srcdir / "locale" / "en" / "LC_MESSAGES"
    for po in messages.rglob("*.po"):
        domain = po.relative_to(messages).with_suffix("").as_posix()
        if domain.startswith("code/"):
            continue  # the code's catalogues: read by codetr.py, not by Sphinx
        with open(po, encoding="utf-8") as f:
            cat = read_po(f, locale="en")
        doc = f"/{domain}{suffixes.get(domain, '.md')}"
        for m in cat:
            if not (m.id and m.string):
                continue
            m.string = _same_terms(m.id, m.string)
            if NUMBERED.match(m.id) and NUMBERED.match(m.string):
                m.string = NUMBERED.sub(r"\1\\. ", m.string, count=1)  # a title, not a list
            if "{glue:text}" in m.string:
                m.string = GLUE.sub(lambda g, doc=doc: f"{{glue:text}}`{doc}::{g.group(1)}{g.group(2) or ':s'}`",
                                    m.string)  # the role splits its format off first: always one
        buf = io.BytesIO()
        write_mo(buf, cat)
        target = out / "en" / "LC_MESSAGES" / f"{domain}.mo"
        if not target.exists() or target.read_bytes() != buf.getvalue():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(buf.getvalue())


def _configure(app, config) -> None:
    srcdir = Path(app.srcdir)
    restore_spanish_gallery(srcdir)
    if config.language != "en":
        return
    suffixes = {p.relative_to(srcdir).with_suffix("").as_posix(): p.suffix
                for p in srcdir.rglob("*.ipynb") if "_build" not in p.parts}
    compile_catalogues(srcdir, srcdir / "_build" / "locale-en", suffixes)
    config.locale_dirs = [str(srcdir / "_build" / "locale-en")]
    english = srcdir / "_build" / "gallery_en"
    missing = gallery_en.write(srcdir.parent / "gallery", english)
    for name, texts in missing.items():
        for text in texts:
            logger.warning("untranslated text in gallery/%s (`make catalogues`, then translate it): %r",
                           name, text[:80], type="gradcourse", subtype="untranslated")
    _swap(srcdir, "es", "en")
    app.connect("build-finished", lambda app, exc: _swap(srcdir, "en", "es"))
    for name, value in SETTINGS_EN.items():
        config[name] = value
    config.html_theme_options = {**config.html_theme_options,
                                 "search_bar_text": "Search the course…"}
    config.sphinx_gallery_conf = {**config.sphinx_gallery_conf, "examples_dirs": str(english),
                                  "first_notebook_cell": FIRST_CELL_EN}


def _english_code(app, docname, source) -> None:
    """The page's code cells with their strings and comments in English (codetr.py)."""
    if app.config.language != "en":
        return
    # Sphinx does not re-read a page whose translation changed: say that it depends on
    # its catalogues (compile_catalogues rewrites a .mo only when it changes).
    mo = Path(app.srcdir) / "_build" / "locale-en" / "en" / "LC_MESSAGES" / f"{docname}.mo"
    for dependency in (mo, codetr.catalogue_path(docname)):
        if dependency.exists():
            app.env.note_dependency(str(dependency))
    suffix = Path(app.env.doc2path(docname)).suffix
    if suffix not in (".md", ".ipynb"):
        return
    table = codetr.load(docname)
    missing: list[str] = []
    rewrite = codetr.translate_md if suffix == ".md" else codetr.translate_ipynb
    source[0] = rewrite(source[0], lambda t: table.get(t), missing)
    for t in dict.fromkeys(missing):
        logger.warning("untranslated string or comment in the code (`make catalogues`, then "
                       "translate it in %s): %r", codetr.catalogue_path(docname).relative_to(codetr.DOCS),
                       t[:80], location=docname, type="gradcourse", subtype="untranslated")


def _other_language(app, pagename, templatename, context, doctree) -> None:
    """``gc_other_language``: this page's URL in the other edition, relative to this one."""
    up = "../" * pagename.count("/")
    english = app.config.language == "en"
    context["gc_other_language"] = f"{up}{'../' if english else 'en/'}{pagename}.html"
    context["gc_other_lang"] = "es" if english else "en"


class SpanishOriginals(SphinxTransform):
    """After each reflection question (a lesson's exercise box, each question of the
    notes), a folded copy in Spanish.

    Runs before Sphinx's Locale transform (priority 20): the copy is taken from the
    Spanish doctree and marked untranslatable, so it stays Spanish.
    """

    default_priority = 15

    def apply(self, **kwargs) -> None:
        if self.config.language != "en":
            return
        for section in list(self.document.findall(nodes.section)):
            if not section.children or section[0].astext().strip() not in REFLECTION:
                continue
            for child in list(section.children):
                if isinstance(child, nodes.admonition):  # a lesson's exercise box
                    copy = [c.deepcopy() for c in child.children if not isinstance(c, nodes.title)]
                elif isinstance(child, nodes.paragraph) and "¿" in child.astext():  # the notes'
                    copy = [child.deepcopy()]
                else:
                    continue
                for part in copy:
                    for node in part.findall(nodes.Element):
                        node["translatable"] = False
                opened = nodes.raw("", '<details class="gc-original" lang="es"><summary lang="en">'
                                   f"{ORIGINAL_SUMMARY}</summary>", format="html")
                closed = nodes.raw("", "</details>", format="html")
                at = section.index(child) + 1
                section[at:at] = [opened, *copy, closed]


class GlossaryOrder(SphinxTransform):
    """The English glossary names each entry by its English term first.

    The Spanish glossary lists an entry's Spanish terms, then its English ones; the
    catalogue swaps them (``activación`` -> ``activation``, ``activation`` ->
    ``activación``). Left to Sphinx, each translated term would be registered a second
    time ("duplicate term description"); here, before the Locale transform, the entry's
    term nodes are put in that order and kept out of translation. Sphinx's
    GlossarySorter then sorts the entries by their English terms.
    """

    default_priority = 15

    def apply(self, **kwargs) -> None:
        if self.config.language != "en":
            return
        glossaries = list(self.document.findall(addnodes.glossary))
        if not glossaries:
            return
        po = Path(self.env.srcdir) / "locale" / "en" / "LC_MESSAGES" / f"{self.env.docname}.po"
        catalogue = gallery_en._catalogue(po)
        for glossary in glossaries:
            for item in glossary.findall(nodes.definition_list_item):
                terms = [c for c in item.children if isinstance(c, nodes.term)]
                texts = [t.astext() for t in terms]
                wanted = [catalogue.get(t, t) for t in texts]
                if wanted == texts or sorted(wanted) != sorted(texts):
                    continue  # not a reordering: Sphinx translates the terms itself
                by_text = dict(zip(texts, terms, strict=True))
                at = item.index(terms[0])
                item[at:at + len(terms)] = [by_text[w] for w in wanted]
                for term in terms:
                    term["translatable"] = False


class Untranslated(SphinxTransform):
    """Sphinx leaves a paragraph its catalogue lacks in the source language, silently:
    here each one is a warning (an error under -W) that names the page and the text."""

    default_priority = 25  # after the Locale transform (20)

    def apply(self, **kwargs) -> None:
        if self.config.language != "en":
            return
        gallery = self.config.sphinx_gallery_conf["gallery_dirs"] + "/"
        if self.env.docname.startswith(gallery):
            return  # written in English by gallery_en.py, which reports what it lacks
        for node in self.document.findall(nodes.Element):
            if node.get("translated") is not False or _metadata(node) or _in_cell(node) or _link(node):
                continue
            if node.astext().strip():
                text = " ".join(node.astext().split())[:80]
                logger.warning("untranslated (add it to the catalogue with `make catalogues` "
                               "and translate it): %r", text, location=node,
                               type="gradcourse", subtype="untranslated")


def _english_notebooks(app, exc) -> None:
    """The class notebook a reader downloads (``_sources/...ipynb``), in English: its
    markdown cells from the page's catalogue, its code from its code catalogue."""
    import json

    if exc is not None or app.config.language != "en" or app.builder.format != "html":
        return
    for docname in app.env.found_docs:
        src = Path(app.env.doc2path(docname))
        out = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
        if src.suffix != ".ipynb" or not out.exists():
            continue
        prose = gallery_en._catalogue(gallery_en.LOCALE / f"{docname}.po")
        code = codetr.load(docname)
        missing: list[str] = []
        nb = json.loads(src.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                text = gallery_en.translate_markdown(text, prose, missing)
            elif cell["cell_type"] == "code":
                text = codetr.translate(text, code.get, missing)
                codetr.translate_cell_alt(cell, code.get, missing)
            cell["source"] = text.splitlines(keepends=True)
        out.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for t in dict.fromkeys(missing):
            logger.warning("untranslated text in the downloaded notebook %s: %r", out.name, t[:80],
                           type="gradcourse", subtype="untranslated")


def _in_cell(node) -> bool:
    """A code cell's figure (alt text, caption): codetr.py translates it in the source and
    reports what it lacks; Sphinx's catalogues never see it."""
    while node is not None:
        if str(node.get("nb_element", "")).startswith("cell_code"):
            return True
        node = node.parent
    return False


def _link(node) -> bool:
    """A paragraph that is one cross-reference (a mini-gallery's ``:doc:`` link): its
    text is the English title of the page it points to."""
    return (isinstance(node, nodes.paragraph) and len(node.children) == 1
            and isinstance(node[0], addnodes.pending_xref))


def _metadata(node) -> bool:
    """A page's front matter (myst-nb's ``file_format: mystnb``): not text for a reader.
    MyST writes it as a field list at the top of the document, which docutils turns into
    a ``docinfo`` node later (priority 340) than this check runs."""
    while node is not None:
        if isinstance(node, nodes.docinfo) or (
                isinstance(node, nodes.field_list) and isinstance(node.parent, nodes.document)):
            return True
        node = node.parent
    return False


def setup(app):
    app.connect("config-inited", _configure, priority=5)
    app.connect("html-page-context", _other_language)
    app.connect("source-read", _english_code)
    app.connect("build-finished", _english_notebooks)
    app.add_transform(SpanishOriginals)
    app.add_transform(GlossaryOrder)
    app.add_transform(Untranslated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
