"""One visit to every page of the built site per screen size, shared by the reader tests.

Opening a page in Chromium is what costs time; the checks that read a page (console
errors, broken images, foreign requests, English interface strings, what sticks out,
figure sizes, axe-core) all run on the same visit, and each test asserts on its part
of the record (conftest.py's ``laptop_sweep`` and ``phone_sweep`` fixtures).
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

SKIP_DIRS = {"_static", "_sources", "_downloads", "_images", "_sphinx_design_static"}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if not SKIP_DIRS & set(p.relative_to(site).parts))


def content_pages(site: Path, edition: str = "") -> list[str]:
    """The landing page, the notes, the lessons and the gallery's examples and indexes of
    one edition ("" Spanish, "en/" English), as paths from the site's root."""
    rels = [edition + r for r in ("index.html", "glosario.html", "bibliografia.html", "explorador.html")]
    rels += [p.relative_to(site).as_posix() for d in ("notas", "clase", "auto_examples")
             for p in sorted((site / edition / d).rglob("*.html"))]
    return [r for r in rels if (site / r).exists()]


def all_content_pages(site: Path) -> list[str]:
    """content_pages of both editions (the English one when it was built)."""
    return content_pages(site) + (content_pages(site, "en/") if (site / "en").is_dir() else [])


def open_page(context, url: str, problems: list[str] | None = None):
    page = context.new_page()
    if problems is not None:
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    settle(page)
    return page


def settle(page) -> None:
    """Wait for every image (lazy ones too) to decode, and for the explorer to draw."""
    page.evaluate(
        """async () => {
               await Promise.all(Array.from(document.images).map(img => {
                   img.loading = 'eager';
                   return img.decode().catch(() => null);
               }));
               if (document.getElementById('gc-explorer')) {
                   for (let i = 0; i < 200 && !document.querySelector('#gc-explorer.gc-ready'); i++)
                       await new Promise(r => setTimeout(r, 50));
               }
           }"""
    )


INTERFACE_TEXT = """() => {
    const skip = 'pre, code, .highlight, math, .math, script, style, .citation, [role="doc-biblioentry"]';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) {
        const node = walker.currentNode, el = node.parentElement;
        if (!el || el.closest(skip) || !node.textContent.trim()) continue;
        texts.push(node.textContent.trim());
    }
    const attrs = [];
    const names = ['title', 'aria-label', 'placeholder', 'data-tooltip', 'alt', 'data-bs-title', 'tooltip'];
    for (const el of document.querySelectorAll(names.map(a => '[' + a + ']').join(', '))) {
        if (el.closest('pre, .highlight')) continue;
        for (const a of names) {
            const v = el.getAttribute(a);
            if (v && v.trim()) attrs.push(v.trim());
        }
    }
    const bib = Array.from(document.querySelectorAll('.citation p, .citation')).map(e => e.innerText);
    return {texts, attrs, bib};
}"""

FIGURES = """() => Array.from(document.querySelectorAll(
        '.bd-article img.sphx-glr-single-img, .bd-article img.sphx-glr-multi-img, '
        + '.bd-article .cell_output img, .bd-article figure img, .bd-article img.align-center'))
    .filter(img => !img.closest('.sphx-glr-thumbcontainer') && img.offsetParent !== null)
    .map(img => {
        const cs = getComputedStyle(img);
        const pad = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight)
                  + parseFloat(cs.borderLeftWidth) + parseFloat(cs.borderRightWidth);
        return {src: img.currentSrc || img.src, shown: img.getBoundingClientRect().width - pad,
                srcset: img.getAttribute('srcset') || '', alt: img.getAttribute('alt') || ''};
    })"""

OVERFLOW = """() => {
    const out = {page: document.documentElement.scrollWidth, viewport: window.innerWidth, wide: [],
                 cut: [], scrolls: 0, hidden_scroll: []};
    // What sticks out past the viewport (the culprit when the page is wider), even where
    // an ancestor hides it (then the page is not wider, but the text is cut).
    const scrollers = 'pre, math, .math, .table-wrapper, .pst-scrollable-table-container, .output, .highlight, '
                    + '.sphx-glr-script-out';
    for (const el of document.querySelectorAll('.bd-article *, #search-results *')) {
        const r = el.getBoundingClientRect();
        if (r.right > window.innerWidth + 1 && el.offsetParent !== null && r.width > 0 && !el.closest(scrollers)) {
            out.wide.push(el.tagName.toLowerCase() + '.' + String(el.className).slice(0, 40) + ' '
                          + Math.round(r.right));
            if (out.wide.length > 4) break;
        }
    }
    for (const el of document.querySelectorAll('.bd-article pre, .bd-article div.math, '
                                               + '.bd-article .pst-scrollable-table-container')) {
        if (el.offsetParent === null || el.scrollWidth <= el.clientWidth + 1) continue;
        const cs = getComputedStyle(el);
        const output = el.closest('.cell_output, .sphx-glr-script-out, .output') !== null;
        if (output && el.tagName === 'PRE')
            out.cut.push('output: ' + el.innerText.split('\\n').find(l => l.length > 60));
        else if (!['auto', 'scroll'].includes(cs.overflowX))
            out.hidden_scroll.push(el.tagName + ': ' + el.innerText.slice(0, 60));
        else out.scrolls += 1;
    }
    return out;
}"""

AXE_RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                            resultTypes: ['violations']});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                                  impact: n.impact}))}));
}"""


def sweep(browser, server: str, site: Path, size: dict, axe_source: str | None = None,
          scheme: str = "light", rels: list[str] | None = None) -> dict[str, dict]:
    """Visit each page once at ``size``; returns rel -> what every check needs."""
    context = browser.new_context(viewport=size, color_scheme=scheme, device_scale_factor=1,
                                  is_mobile=size is PHONE, has_touch=size is PHONE)
    foreign: list[str] = []

    def only_localhost(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1" or route.request.url.startswith("data:"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_localhost)
    out, start = {}, time.perf_counter()
    for rel in rels or [p.relative_to(site).as_posix() for p in pages(site)]:
        problems: list[str] = []
        page = open_page(context, f"{server}/{rel}", problems)
        record = {
            "problems": problems,
            "broken": page.evaluate("Array.from(document.images).filter(i => !i.naturalWidth).map(i => i.src)"),
            "overflow": page.evaluate(OVERFLOW),
            "figures": page.evaluate(FIGURES),
        }
        if size is LAPTOP:
            record["interface"] = page.evaluate(INTERFACE_TEXT)
        if axe_source is not None:
            page.evaluate("""() => { const d = document.documentElement;
                if (d.dataset.mode === 'auto' || !d.dataset.theme)
                    d.dataset.theme = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'; }""")
            page.add_script_tag(content=axe_source)
            record["axe"] = page.evaluate(AXE_RUN, AXE_TAGS)
        page.close()
        out[rel] = record
    context.close()
    out["_"] = {"foreign": sorted(set(foreign)), "seconds": time.perf_counter() - start}
    return out
