"""Open every page of the built site in headless Chromium, as a reader would.

Fails on a console error, an image that did not load, any request to another
host (the site must work offline), an internal link or anchor that leads
nowhere, and a gallery page without its .py and .ipynb downloads. Also types
"ReLU" into the site's search and saves screenshots beside the build.
"""

from __future__ import annotations

import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

SKIP_DIRS = {"_static", "_sources", "_downloads", "_images", "_sphinx_design_static"}
SCREENSHOTS = ["index.html", "clase/07-relu.html", "clase/10-xavier.html",
               "auto_examples/index.html", "auto_examples/2_activaciones/plot_dead_relu.html"]


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if not SKIP_DIRS & set(p.relative_to(site).parts))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.downloads: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
            if "download" in (a.get("class") or "").split():
                self.downloads.append(a["href"])


def parse(path: Path, cache: dict[Path, _Links]) -> _Links:
    if path not in cache:
        parser = _Links()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = parser
    return cache[path]


def test_internal_links_and_anchors_resolve(site):
    cache: dict[Path, _Links] = {}
    broken, checked = [], 0
    for page in pages(site):
        for href in parse(page, cache).hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue  # links to other sites are not requests the page makes
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            rel = page.relative_to(site)
            if not target.exists():
                broken.append(f"{rel}: {href} -> missing file")
            elif (parts.fragment and target.suffix == ".html"
                  and unquote(parts.fragment) not in parse(target, cache).ids):
                broken.append(f"{rel}: {href} -> missing anchor")
    print(f"{len(pages(site))} pages, {checked} internal links checked")
    assert checked > 100
    assert not broken, "broken internal links:\n" + "\n".join(broken[:50])


def test_gallery_pages_offer_py_and_ipynb(site):
    gallery = sorted((site / "auto_examples").rglob("plot_*.html"))
    assert gallery, "no gallery page in the build"
    missing = []
    for page in gallery:
        links = parse(page, {}).downloads
        for suffix in (".py", ".ipynb"):
            found = [h for h in links if h.endswith(suffix) and (page.parent / unquote(h)).exists()]
            if not found:
                missing.append(f"{page.name}: no {suffix} download")
    assert not missing, "\n".join(missing)


def _check_page(context, url: str) -> list[str]:
    problems: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    try:
        page.goto(url, wait_until="load")
        broken = page.evaluate(
            """async () => Promise.all(Array.from(document.images).map(img => {
                   img.loading = 'eager';
                   return img.decode().then(() => img.naturalWidth ? null : img.src, () => img.src);
               })).then(r => r.filter(x => x))"""
        )
        problems += [f"image did not load: {src}" for src in broken]
    finally:
        page.close()
    return problems


def test_every_page_loads_offline_without_errors(site, server, browser):
    context = browser.new_context()
    foreign: list[str] = []

    def only_localhost(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1" or route.request.url.startswith("data:"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_localhost)
    report, start = {}, time.perf_counter()
    all_pages = pages(site)
    for path in all_pages:
        rel = path.relative_to(site).as_posix()
        problems = _check_page(context, f"{server}/{rel}")
        if problems:
            report[rel] = problems
    context.close()
    print(f"opened {len(all_pages)} pages in {time.perf_counter() - start:.1f} s")
    assert not foreign, "requests to other hosts:\n" + "\n".join(sorted(set(foreign))[:30])
    assert not report, "\n".join(f"{k}:\n  " + "\n  ".join(v[:5]) for k, v in report.items())


def test_search_finds_relu_and_screenshots(site, server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/index.html")
    page.keyboard.press("Control+k")  # the theme's search shortcut opens the search field
    box = page.locator("input[name='q']:visible").first
    box.fill("ReLU")
    box.press("Enter")
    page.wait_for_url("**/search.html?q=ReLU*")
    page.wait_for_function("document.querySelectorAll('#search-results li').length > 0", timeout=30_000)
    hits = page.locator("#search-results li").count()
    assert hits > 0
    out = site.parent / "screenshots"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / "search-relu.png"))
    for rel in SCREENSHOTS:
        if not (site / rel).exists():
            pytest.fail(f"page for a screenshot is missing: {rel}")
        page.goto(f"{server}/{rel}")
        page.screenshot(path=str(out / (rel.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)
    page.close()
    print(f"search 'ReLU': {hits} results; screenshots in {out}")
