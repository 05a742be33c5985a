"""The English edition (docs/_build/html/en), built from the Spanish sources by gettext.

Every page has its twin in the other language and a link to it, both ways, that a
phone reader can tap; an English page says lang="en" and holds no Spanish paragraph
and no decimal comma outside code, printed output and the folded Spanish originals of
the reflection questions, which every lesson keeps one click away.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .sweep import PHONE, content_pages, pages, settle
from .sweep import open_page as _open

# Words frequent in any Spanish sentence and rare in English ones.
SPANISH = {"que", "los", "las", "del", "una", "para", "con", "por", "como", "pero", "cuando",
           "esta", "este", "más", "también", "según", "entre", "sobre", "sus", "muy", "sin"}
# Text a reader may see in Spanish on an English page: code and what it prints (their
# translation is the gallery's and the pages' own), the folded originals, math.
NOT_PROSE = ("pre", "code", "script", "style", "math", ".cell_output", ".output",
             ".sphx-glr-script-out", "[lang=es]", ".gc-original", ".highlight", ".bd-sidebar-primary",
             ".bd-sidebar-secondary", "#gc-explorer-data")
DECIMAL_COMMA = re.compile(r"(?<![\d,])\d+,(\d{1,2}|\d{4,})(?![\d,])")


@pytest.fixture(scope="module")
def english(site) -> Path:
    if not (site / "en" / "index.html").exists():
        pytest.fail(f"no English edition at {site / 'en'}: `make -C docs html` builds it")
    return site / "en"


def _soup(path: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _prose(soup) -> list[str]:
    article = soup.select_one("article.bd-article") or soup
    for node in article.select(", ".join(NOT_PROSE)):
        node.decompose()
    return [" ".join(el.get_text(" ").split()) for el in article.find_all(["p", "li", "h1", "h2", "h3",
                                                                            "dt", "th", "td", "figcaption"])]


def test_every_page_has_its_twin(site, english):
    spanish = {p.relative_to(site).as_posix() for p in pages(site) if not p.relative_to(site).parts[0] == "en"}
    twins = {p.relative_to(english).as_posix() for p in pages(english)}
    assert spanish == twins, (sorted(spanish - twins)[:10], sorted(twins - spanish)[:10])


def test_switch_leads_to_the_same_page_both_ways(site, english):
    wrong = []
    for page in pages(site):
        rel = page.relative_to(site).as_posix()
        link = _soup(page).select_one("a.gc-language")
        if link is None:
            wrong.append(f"{rel}: no language link")
            continue
        target = (page.parent / unquote(urlsplit(link["href"]).path)).resolve()
        twin = (english / rel) if not rel.startswith("en/") else (site / rel.removeprefix("en/"))
        if target != twin.resolve() or not target.exists():
            wrong.append(f"{rel}: {link['href']} -> {target}")
        lang = "es" if rel.startswith("en/") else "en"
        if link.get("hreflang") != lang or link.get("lang") != lang:
            wrong.append(f"{rel}: the link is not marked as {lang}")
    assert not wrong, "\n".join(wrong[:30])


def test_switch_on_a_phone_both_ways(server, browser, english):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = _open(context, f"{server}/clase/07-relu.html")
    link = page.locator("a.gc-language").first
    assert link.is_visible(), "no visible language link at 390 px"
    box = link.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["width"] >= 24 and box["height"] >= 24, f"a small target to tap: {box}"
    link.tap()
    page.wait_for_url("**/en/clase/07-relu.html", timeout=10_000)
    settle(page)
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert "ReLU" in page.locator("h1").first.inner_text()
    page.locator("a.gc-language").first.tap()
    # The English URL also ends in /clase/07-relu.html: wait for the one without /en/.
    page.wait_for_url(re.compile(r"^https?://[^/]+/clase/07-relu\.html$"), timeout=10_000)
    assert "/en/" not in page.url and page.evaluate("() => document.documentElement.lang") == "es"
    context.close()


def test_no_spanish_paragraph_and_no_decimal_comma(site, english):
    spanish, commas, checked = [], [], 0
    for rel in content_pages(site, "en/"):
        for text in _prose(_soup(site / rel)):
            words = re.findall(r"[a-záéíóúñü]+", text.lower())
            checked += 1
            hits = [w for w in words if w in SPANISH]
            if len(hits) >= 3 and len(hits) > 0.08 * len(words):
                spanish.append(f"{rel}: {text[:90]!r} ({', '.join(hits[:5])})")
            commas += [f"{rel}: {m.group(0)!r} in {text[:70]!r}" for m in DECIMAL_COMMA.finditer(text)]
    print(f"{checked} English paragraphs read")
    assert checked > 500
    assert not spanish, f"{len(spanish)} Spanish paragraphs on English pages:\n" + "\n".join(spanish[:30])
    assert not commas, f"{len(commas)} decimal commas on English pages:\n" + "\n".join(commas[:30])


def test_reflection_questions_keep_the_spanish_original(site, english):
    lessons = sorted((english / "clase").glob("[0-9]*.html"))
    missing = []
    for page in lessons:
        soup = _soup(page)
        if not soup.find(lambda t: t.name in ("h2", "h3") and "Reflection question" in t.get_text()):
            missing.append(f"{page.name}: no reflection question")
            continue
        original = soup.select_one("details.gc-original[lang=es]")
        if original is None or "¿" not in original.get_text() or original.find("summary") is None:
            missing.append(f"{page.name}: no folded Spanish original")
    notes = _soup(english / "notas" / "vanishing-exploding.html").select("details.gc-original[lang=es]")
    if len(notes) < 2:  # the notes have two reflection questions (seeds 000)
        missing.append(f"the notes: {len(notes)} folded Spanish questions")
    assert len(lessons) >= 15 and not missing, "\n".join(missing)


def test_downloads_are_english(site, english):
    """The English gallery's .py files and the class notebook a reader downloads hold the
    English text and code (the Spanish ones are their twins in the Spanish edition)."""
    files = sorted((english / "_downloads").rglob("plot_*.py"))
    files += sorted((english / "_sources").rglob("*.ipynb"))
    assert len(files) >= 17, files
    spanish = []
    for path in files:
        words = re.findall(r"[a-záéíóúñü]+", path.read_text(encoding="utf-8").lower())
        hits = [w for w in words if w in SPANISH - {"sin"}]  # torch.sin
        if len(hits) > 0.005 * len(words):
            spanish.append(f"{path.name}: {len(hits)} Spanish words of {len(words)} ({', '.join(hits[:8])})")
    assert not spanish, "\n".join(spanish)
