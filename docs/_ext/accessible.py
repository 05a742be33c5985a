"""Sphinx extension: markup that assistive technology reads correctly.

Each fix replaces the one HTML visitor or file that an axe-core rule flags
(tests/reader/test_accessibility.py runs axe on every page):

- the bibliography: docutils writes each entry with the deprecated role
  ``doc-biblioentry`` inside a ``role="list"``, which then has no list items
  (axe: aria-required-children, critical); the entries become ``listitem``;
- myst-nb's folded code cells: their ``<summary>`` carries an English
  ``aria-label="Toggle hidden content"`` that hides its visible Spanish text
  ("Mostrar el código") from screen readers; the label is dropped, so the visible
  text is the name;
- two template fragments of the themes that land in ``_static`` as .html files
  without a title or a language (axe: document-title, html-has-lang); the built
  pages include them, nobody opens them, so they are not published.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes

THEME_FRAGMENTS = ("webpack-macros.html", "sbt-webpack-macros.html")


def visit_citation(self, node) -> None:
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def depart_citation(self, node) -> None:
    self.body.append("</div>\n")
    if not isinstance(node.next_node(descend=False, siblings=True), type(node)):
        self.body.append("</div>\n")


def visit_hidden_cell(self, node) -> None:
    from html import escape

    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n'
                     f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n'
                     f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n'
                     "</summary>\n")


def _drop_fragments(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        for name in THEME_FRAGMENTS:
            (Path(app.outdir) / "_static" / name).unlink(missing_ok=True)


def setup(app):
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    app.setup_extension("myst_nb")  # its visitors first, then these replace them
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_HideCellInput))
    app.add_node(nodes.citation, override=True, html=(visit_citation, depart_citation))
    app.connect("build-finished", _drop_fragments)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
