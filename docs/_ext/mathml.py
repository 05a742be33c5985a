"""Sphinx extension: math written as MathML when the site is built, no script at all.

Every current browser draws MathML (Chromium since 109, Firefox, Safari) and screen
readers read it. MathJax, which the site used before, cost 1,2 MB of script and
fonts on every page with a formula and drew nothing until it had run. The TeX is
converted by docutils' own converter (``docutils.utils.math.latex2mathml``, the one
behind docutils' ``math_output = "MathML"``), after a few spellings it does not know
are rewritten to equivalent ones; a formula it cannot convert stops the build,
naming the page and the formula. The TeX source stays in each ``<math>`` element's
``alttext``.

Browsers draw MathML with a font that has an OpenType MATH table (for stretched
brackets, big operators, fraction rules); not every reader's system has one. The
site ships Latin Modern Math (docs/_ext/fonts, GUST Font License), cut at the end of
the build to the characters its formulas use (with their stretched variants), 30 kB
or so, renamed "GC Math" as its licence asks of derived fonts, and loaded only by
pages with a formula.

Use: ``html_math_renderer = "mathml"`` (registered here).
"""

from __future__ import annotations

import re
from html import escape, unescape
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError

# \big( is \bigl( and \big) is \bigr) (docutils knows only the l/r forms).
_OPEN, _CLOSE = r"\(|\[|\\\{|\\langle|\\lvert|\\lVert", r"\)|\]|\\\}|\\rangle|\\rvert|\\rVert"
_REWRITES = [
    (re.compile(r"\\(big|Big|bigg|Bigg)(?![lrmA-Za-z])\s*(" + _OPEN + ")"), r"\\\1l\2"),
    (re.compile(r"\\(big|Big|bigg|Bigg)(?![lrmA-Za-z])\s*(" + _CLOSE + ")"), r"\\\1r\2"),
    (re.compile(r"\\(big|Big|bigg|Bigg)(?![lrmA-Za-z])\s*([|.]|\\\||\\vert|\\Vert)"), r"\\\1l\2"),
    (re.compile(r"\\(dots|dotsc|dotsb)(?![A-Za-z])"), r"\\ldots"),  # \dots: \ldots or \cdots by context
    (re.compile(r"\\iff(?![A-Za-z])"), r"\\;\\Longleftrightarrow\\;"),  # amsmath's \iff
    (re.compile(r"\\([dt]?frac)\s*([0-9A-Za-z])\s*([0-9A-Za-z])"), r"\\\1{\2}{\3}"),  # \tfrac12
]


def normalize(tex: str) -> str:
    """The TeX with the spellings docutils does not parse replaced by ones it does."""
    for pattern, repl in _REWRITES:
        tex = pattern.sub(repl, tex)
    return tex.strip()


def to_mathml(tex: str, block: bool = False) -> str:
    """One formula as a ``<math>`` element (``display="block"`` for a displayed one).

    Raises ``docutils.utils.math.MathError`` when the TeX cannot be converted.
    """
    from docutils.utils.math.latex2mathml import tex2mathml

    out = tex2mathml(normalize(tex), as_block=block)
    return out.replace("<math ", f'<math alttext="{escape(" ".join(tex.split()), quote=True)}" ', 1)


def _convert(self, node, block: bool) -> str:
    from docutils.utils.math import MathError

    try:
        return to_mathml(node.astext(), block)
    except MathError as err:
        where = f"{node.source or self.builder.current_docname}:{node.line or '?'}"
        raise ExtensionError(f"{where}: the formula {node.astext()!r} cannot be written as MathML ({err}); "
                             "write it with commands docutils knows (docutils.utils.math.latex2mathml) or "
                             "add a rewrite in docs/_ext/mathml.py") from err


def visit_math(self, node) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_convert(self, node, block=False) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node) -> None:
    from sphinx.util.math import get_node_equation_number

    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"]:
        self.body.append(f'<span class="eqno">({get_node_equation_number(self, node)})')
        english = self.config.language == "en"
        self.add_permalink_ref(node, "Link to this equation" if english else "Enlace a esta ecuación")
        self.body.append("</span>")
    self.body.append(_convert(self, node, block=True) + "</div>\n")
    raise nodes.SkipNode


FONT = Path(__file__).parent / "fonts" / "latinmodern-math.otf"
FONT_CSS, FONT_FILE, FONT_NAME = "gc-math.css", "gc-math.woff2", "GC Math"
_MATH = re.compile(r"<math\b[^>]*>(.*?)</math>", re.S)


def _font_css(app, pagename, templatename, context, doctree) -> None:
    if "<math" in (context.get("body") or ""):
        app.add_css_file(FONT_CSS)


def _math_font(app, exception) -> None:
    """The math font, cut to the characters the built pages' formulas use."""
    if exception is not None or app.builder.format != "html":
        return
    import webfonts

    static = Path(app.outdir) / "_static"
    chars = set()
    for page in Path(app.outdir).rglob("*.html"):
        for m in _MATH.finditer(page.read_text(encoding="utf-8", errors="ignore")):
            chars |= set(unescape(re.sub(r"<[^>]+>", "", m.group(1))))
    chars -= set(" \t\n")
    if not chars:
        return
    # renamed, as the licence asks of derived fonts
    webfonts.cut(FONT, map(ord, chars), static / FONT_FILE, app.doctreedir, name=FONT_NAME)
    (static / FONT_CSS).write_text(
        "/* Formulas (MathML) in a subset of Latin Modern Math: docs/_ext/mathml.py. */\n"
        f'@font-face{{font-family:"{FONT_NAME}";src:url({FONT_FILE}) format("woff2")}}\n'
        f'math{{font-family:"{FONT_NAME}",math}}\n', encoding="utf-8")


def setup(app):
    app.add_html_math_renderer("mathml", inline_renderers=(visit_math, None),
                               block_renderers=(visit_displaymath, None))
    app.connect("html-page-context", _font_css)
    app.connect("build-finished", _math_font)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
