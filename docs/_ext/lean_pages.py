"""Sphinx extension: each page loads what it uses, and no more.

A reader on a phone with a slow link pays for every byte (tests/reader/test_load.py
measures it). Two pieces, through Sphinx's documented hooks:

- per page (``html-page-context``), the extensions' stylesheets and scripts are kept
  only on pages whose HTML holds what they style or drive: sphinx-design's on pages
  with its components, sphinx-gallery's on gallery pages and on API pages with a
  mini-gallery, the copy button's on pages with code, the fold buttons' on pages
  with a folded block, myst-nb's on executed pages. A page keeps every file when in
  doubt (no body: the search page, the index);
- the icon font: the theme draws its icons (☰, the chevrons, the sun and moon...)
  from Font Awesome's solid font, 115 kB with 1 400 icons. At the end of the build
  the glyphs the site's pages and scripts name are cut into a small font
  (fontTools, which matplotlib already needs), declared after the theme's own with
  the same family, weight and style, so the browser fetches only the small one
  (fontTools reads and writes woff2 with brotli: the docs extra's ``fonttools[woff]``).
"""

from __future__ import annotations

import re
from pathlib import Path

import webfonts
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: asset file name (a prefix) -> what the page's HTML must contain for it to load
NEEDS = {
    "sphinx-design.min.css": ("sd-",),
    "design-tabs.js": ("sd-tab",),
    "sg_gallery": ("sphx-glr",),
    "sg-tags.js": ("sphx-glr-tag",),
    "copybutton": ("<pre",),
    "clipboard.min.js": ("<pre",),
    "togglebutton": ("toggle", "dropdown"),
    "mystnb.": ("cell_", "pasted-", "mystnb"),
}
# sphinx-togglebutton's settings are inline scripts: they go with its script.
_TOGGLE_INLINE = re.compile(r"^(let toggle|var togglebutton)")
ICON_CSS = "gc-icons.css"
ICON_FONT = "gc-icons.woff2"


def _keep(name: str, body: str) -> bool:
    for prefix, marks in NEEDS.items():
        if name.startswith(prefix):
            return any(m in body for m in marks)
    return True


def _per_page_assets(app, pagename, templatename, context, doctree) -> None:
    if pagename == "search":
        app.add_js_file("gc-search.js")  # the previews without the theme's labels
    body = context.get("body")
    if not body:
        return
    toggles = _keep("togglebutton", body)
    context["css_files"] = [c for c in context["css_files"] if _keep(Path(c.filename or "").name, body)]
    context["script_files"] = [
        js for js in context["script_files"]
        if (js.filename and _keep(Path(js.filename).name, body))
        or (not js.filename and (toggles or not _TOGGLE_INLINE.match(js.attributes.get("body", ""))))]


def _icon_font(app, exception) -> None:
    """Cut the theme's solid icon font down to the glyphs the site names."""
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    css = (static / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    face = re.search(r"@font-face\{([^}]*font-weight:900[^}]*)\}", css)
    codes = {name: code for selectors, code in re.findall(r'([^{}]+)\{--fa:"\\([0-9a-f]+)"\}', css)
             for name in re.findall(r"\.(fa-[a-z0-9-]+)", selectors)}  # aliases share a rule
    if not face or not codes:
        logger.warning("lean_pages: the theme's icon font or its codes were not found; the full font stays",
                       type="lean_pages")
        return
    family = re.search(r"font-family:([^;]+)", face.group(1)).group(1)
    font_path = static / "styles" / re.search(r"url\(([^)]+)\)", face.group(1)).group(1)
    used = set()
    for f in [*Path(app.outdir).rglob("*.html"), *static.rglob("*.js")]:
        used |= set(re.findall(r"\bfa-[a-z0-9-]+", f.read_text(encoding="utf-8", errors="ignore")))
    unicodes = {int(codes[n], 16) for n in used if n in codes}
    # ...and the icons the theme's stylesheet draws itself (admonitions, links): --pst-icon-* : "\uf0xx"
    unicodes |= {ord(c) for c in re.findall(r'--pst-icon-[a-z-]+:"(.)"', css)}
    size = webfonts.cut(font_path, unicodes, static / ICON_FONT, app.doctreedir)
    (static / ICON_CSS).write_text(
        "/* The theme's icons, only the glyphs this site uses (docs/_ext/lean_pages.py). */\n"
        f"@font-face{{font-display:block;font-family:{family};font-style:normal;font-weight:900;"
        f'src:url({ICON_FONT}) format("woff2")}}\n', encoding="utf-8")
    logger.info(f"lean_pages: icon font cut to {len(unicodes)} glyphs, "
                f"{size / 1e3:.1f} kB (was {font_path.stat().st_size / 1e3:.0f} kB)")


def setup(app):
    app.add_css_file(ICON_CSS, priority=900)  # after the theme's stylesheet: this face wins
    app.connect("html-page-context", _per_page_assets)
    app.connect("build-finished", _icon_font)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
