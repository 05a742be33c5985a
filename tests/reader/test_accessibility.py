"""An accessibility suite nobody here wrote: axe-core on every page of the built site.

axe-core (npm, pinned in package.json and package-lock.json, installed by ``npm ci``
into node_modules/; nothing is fetched from a CDN) is injected with Playwright into
Debian's Chromium and run with the rule sets wcag2a, wcag2aa, wcag21aa and
best-practice: on every page in light mode (during the shared visit of
``laptop_sweep``) and on five pages in dark mode. A violation of impact "serious" or
"critical" fails, unless KNOWN lists it with the reason it cannot be fixed here; a
new violation, or a known rule on another element, fails, and so does a KNOWN entry
that no longer matches anything (remove it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .sweep import LAPTOP, pages, sweep

pytestmark = pytest.mark.slow  # every page of the site

FAIL_IMPACTS = {"serious", "critical"}
DARK = ["index.html", "clase/07-relu.html", "auto_examples/index.html",
        "auto_examples/2_activaciones/plot_dead_relu.html", "explorador.html"]

#: (axe rule, regular expression on the node's CSS selector) -> why it stays.
KNOWN: dict[tuple[str, str], str] = {}


def _failures(found: dict[str, dict], used: set) -> tuple[list[str], dict[str, int], int]:
    failures, counts, minor = [], {}, 0
    for rel, record in found.items():
        if rel == "_":
            continue
        for v in record["axe"]:
            nodes = []
            for n in v["nodes"]:
                if (n["impact"] or v["impact"]) not in FAIL_IMPACTS:
                    minor += 1
                    continue
                known = [k for k in KNOWN if k[0] == v["id"] and re.search(k[1], n["target"])]
                used.update(known)
                if not known:
                    nodes.append(n)
            if nodes:
                counts[v["id"]] = counts.get(v["id"], 0) + len(nodes)
                failures.append(f"{rel}: {v['id']} ({v['impact']}, {len(nodes)} nodes): {v['help']}\n    "
                                + "\n    ".join(f"{n['target']}: {n['html']}" for n in nodes[:3]))
    return failures, counts, minor


def _check(found: dict[str, dict], scheme: str, n_pages: int) -> set:
    used: set = set()
    failures, counts, minor = _failures(found, used)
    print(f"axe-core on {n_pages} pages ({scheme}): {sum(counts.values())} serious/critical nodes "
          f"{json.dumps(counts)}; {minor} moderate or minor nodes; {len(used)} known entries seen")
    assert not failures, f"{len(failures)} serious or critical axe violations ({scheme}):\n" + "\n".join(failures)
    return used


def test_axe_light_mode_every_page(site, laptop_sweep):
    used = _check(laptop_sweep, "light", len(pages(site)))
    stale = [f"{k}: {why}" for k, why in KNOWN.items() if k not in used]
    assert not stale, "KNOWN entries that match nothing any more (remove them):\n" + "\n".join(stale)


def test_axe_dark_mode(site, server, browser, axe_source):
    found = sweep(browser, server, site, LAPTOP, axe_source, scheme="dark", rels=DARK)
    _check(found, "dark", len(DARK))


def test_no_html_fragment_is_published_as_a_page(site: Path):
    """Theme template fragments copied into _static are not documents a reader can open."""
    fragments = [p.relative_to(site).as_posix() for p in (site / "_static").rglob("*.html")]
    assert not fragments, fragments
    def lang(p: Path) -> str:  # the English edition lives in en/
        return "en" if p.relative_to(site).parts[0] == "en" else "es"

    no_lang = [p.relative_to(site).as_posix() for p in pages(site)
               if not re.search(rf'<html[^>]* lang="{lang(p)}"', p.read_text(encoding="utf-8"))]
    assert not no_lang, no_lang
