"""The explorer page (docs/explorador.md): the plotted values are the computed ones.

Every control is changed with the keyboard and by clicking; after each change the
data Bokeh draws must equal the embedded data for that configuration, and those
must equal a fresh computation by gradcourse. No console error, no request to
another host, usable at 390 px and readable in dark mode. Both editions: the English
page (en/explorador.html) embeds the same data and speaks English.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from .conftest import REPO

PAGE = "explorador.html"
# Per edition (conftest.EDITIONS' prefix): words its controls, verdicts and figure
# descriptions use, and the decimal separator of the other language, which they must not.
WORDS = {
    "": {"controls": ("Activación", "Profundidad", "capas"), "verdict": ("Diagnóstico", "Véase"),
         "figure": ("capa", "paso"), "title": "Activaciones al inicializar", "not_decimal": "."},
    "en/": {"controls": ("Activation", "Depth", "layers"), "verdict": ("Diagnosis", "See"),
            "figure": ("layer", "step"), "title": "Activations at initialization", "not_decimal": ","},
}
READ_PLOTTED = """() => {
  const doc = Bokeh.documents[0];
  const out = {key: window.gcExplorer.key, ms: window.gcExplorer.ms, renderedMs: window.gcExplorer.renderedMs};
  for (const n of ["act", "grad", "frac", "loss", "acc"]) {
    const d = doc.get_model_by_name("src_" + n).data;
    out[n] = {x: Array.from(d.x), mid: Array.from(d.mid), lo: Array.from(d.lo), hi: Array.from(d.hi)};
  }
  for (const n of ["act", "grad"]) out["theory_" + n] = Array.from(doc.get_model_by_name("src_theory_" + n).data.y);
  return out;
}"""


def embedded(site, edition: str = "") -> dict:
    text = (site / edition / PAGE).read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="gc-explorer-data">(.*?)</script>', text, re.S)
    assert match, "no embedded data on the explorer page"
    return json.loads(match.group(1).replace("<\\/", "</"))


def same(plotted: list, stored: list | None) -> bool:
    stored = [math.nan if v is None else v for v in (stored or [])]
    return len(plotted) == len(stored) and all(
        (p is None or (isinstance(p, float) and math.isnan(p))) if math.isnan(s) else p == s
        for p, s in zip(plotted, stored, strict=True))


def same_within(fresh: list, stored: list, rel: float = 2e-2, abs_: float = 1e-6) -> bool:
    """Equal lengths and every pair within ``rel`` (``None``, a NaN in JSON, only with ``None``)."""
    return len(fresh) == len(stored) and all(
        (f is None) == (s is None) and (f is None or f == pytest.approx(s, rel=rel, abs=abs_))
        for f, s in zip(fresh, stored, strict=True))


def check_plotted(page, data) -> dict:
    page.wait_for_function("() => window.gcExplorer && window.gcExplorer.renderedMs !== undefined")
    shown = page.evaluate(READ_PLOTTED)
    run = data["runs"][shown["key"]]
    for name in ("act", "grad", "frac", "loss", "acc"):
        for part in ("mid", "lo", "hi"):
            assert same(shown[name][part], run[name][part]), (shown["key"], name, part)
    depth = int(shown["key"].split("|")[2])
    assert shown["act"]["x"] == list(range(1, depth + 1))
    for name in ("act", "grad"):
        assert same(shown["theory_" + name], run["theory"][name] if run["theory"] else [])
    return shown


@pytest.fixture()
def page(browser, server, edition):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    p = context.new_page()
    p.errors, p.foreign = [], []
    p.on("console", lambda m: m.type == "error" and p.errors.append(m.text))
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    host = urlparse(server).netloc
    p.on("request", lambda r: urlparse(r.url).netloc not in ("", host) and p.foreign.append(r.url))
    p.goto(f"{server}/{edition}{PAGE}")
    p.wait_for_selector("#gc-explorer.gc-ready")
    yield p
    context.close()


def test_every_control_changes_the_plot_to_the_embedded_data(page, site, edition):
    data = embedded(site, edition)
    words = WORDS[edition]
    controls = page.inner_text("#gc-explorer-controls")
    assert all(w in controls for w in words["controls"]), controls
    title = page.evaluate("() => Bokeh.documents[0].get_model_by_name('fig_act').title.text")
    assert title == words["title"], title
    times = []
    key = check_plotted(page, data)["key"]
    # keyboard only: Tab goes from one control to the next, in the order they show
    page.focus("#gc-act")
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(page.evaluate("() => document.activeElement.id"))
    assert order == ["gc-init", "gc-depth", "gc-arch"], order
    # ...and the arrow keys change each one
    for control in ("#gc-act", "#gc-init", "#gc-depth", "#gc-arch"):
        page.focus(control)
        page.evaluate("() => { delete window.gcExplorer.renderedMs; }")
        page.keyboard.press("ArrowDown" if control != "#gc-depth" else "ArrowRight")
        shown = check_plotted(page, data)
        assert shown["key"] != key, f"{control}: the arrow key changed nothing"
        key = shown["key"]
        times.append(shown["renderedMs"])
    # clicking: choose options with the mouse
    for control, value in (("#gc-act", "sigmoid"), ("#gc-init", "unit"), ("#gc-arch", "batchnorm")):
        page.evaluate("() => { delete window.gcExplorer.renderedMs; }")
        page.click(control)
        page.select_option(control, value)
        shown = check_plotted(page, data)
        assert value in shown["key"].split("|")
        times.append(shown["renderedMs"])
    box = page.locator("#gc-depth").bounding_box()
    page.evaluate("() => { delete window.gcExplorer.renderedMs; }")
    page.mouse.click(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)  # the last depth
    shown = check_plotted(page, data)
    assert shown["key"].split("|")[2] == str(max(data["meta"]["depths"]))
    times.append(shown["renderedMs"])
    verdict = page.inner_text("#gc-verdict")
    assert any(w in verdict for w in words["verdict"]), verdict
    median = sorted(times)[len(times) // 2]
    print(f"explorer: control change to render {max(times):.0f} ms at most, {median:.0f} ms median")
    assert median <= 200, times  # the response a reader feels; one slow frame (GC) is not it
    assert not page.errors, page.errors
    assert not page.foreign, f"requests to other hosts: {page.foreign}"


def test_embedded_data_are_a_fresh_gradcourse_computation(site):
    data = embedded(site)
    size = len(json.dumps(data, separators=(",", ":")))
    print(f"explorer data: {size / 1e6:.2f} MB, {len(data['runs'])} configurations")
    assert size <= 2e6
    sys.path.insert(0, str(REPO / "docs" / "_ext"))
    try:
        import explorer_data as ed
    finally:
        sys.path.pop(0)
    config = ("tanh", "xavier", 5, "plain")
    fresh = json.loads(json.dumps(ed.run_config(*config)))
    stored = data["runs"][ed.key(*config)]
    for name in ("act", "grad", "frac", "loss", "acc"):
        for part in ("mid", "lo", "hi"):
            assert same_within(fresh[name][part], stored[name][part]), (name, part)
    # key by key: pytest.approx does not compare a dict of lists (TypeError since pytest 9.2)
    assert (fresh["theory"] is None) == (stored["theory"] is None)
    for name in ("act", "grad") if fresh["theory"] else ():
        assert same_within(fresh["theory"][name], stored["theory"][name]), name
    assert [v["kind"] for v in fresh["verdicts"]] == [v["kind"] for v in stored["verdicts"]]
    for text in ("message", "message_en"):
        assert [v[text] for v in fresh["verdicts"]] == [v[text] for v in ed.verdicts(data, ed.key(*config))]
    if (site / "en" / PAGE).exists():  # the English page embeds the same data, its own titles aside
        english = embedded(site, "en/")
        assert english["runs"] == data["runs"] and english["meta"] == data["meta"]
        assert [{**t, "section_en": None} for t in english["verdict_texts"]] == [
            {**t, "section_en": None} for t in data["verdict_texts"]]


def _title(path) -> str:
    from bs4 import BeautifulSoup

    h1 = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").select_one("article h1")
    for link in h1.select("a.headerlink"):
        link.decompose()
    return h1.get_text(" ", strip=True)


def test_verdicts_link_to_pages_by_their_titles(site, edition):
    """Each verdict's "see" link names the page it leads to as that page's title reads, in
    the edition's language (the report gives the Spanish title; the English page its own)."""
    data = embedded(site, edition)
    wrong = []
    for text in data["verdict_texts"]:
        section = text["section_en" if edition else "section"]
        title = _title(site / edition / f"{text['docname']}.html")
        if section != title:
            wrong.append(f"{text['docname']}: {section!r}, the page says {title!r}")
    assert not wrong, wrong


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_usable_on_a_phone_and_in_dark_mode(browser, server, scheme, edition, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme,
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/{edition}{PAGE}")
    page.wait_for_selector("#gc-explorer.gc-ready")
    page.evaluate(f"() => document.documentElement.dataset.theme = '{scheme}'")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    for control in ("#gc-act", "#gc-init", "#gc-depth", "#gc-arch"):
        box = page.locator(control).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 30, control
    widths = page.evaluate(
        "() => Array.from(document.querySelectorAll('.gc-figure'), e => e.getBoundingClientRect().width)")
    assert len(widths) == 5 and all(280 <= w <= 390 for w in widths), widths
    # the controls leave room for the first figure on the first screen (two per row)
    controls = page.locator("#gc-explorer-controls").bounding_box()
    assert controls["height"] <= 0.3 * 844, controls
    # the figures follow the page's theme, and each says what it shows
    background = page.evaluate("() => getComputedStyle(document.querySelector('.gc-figure')).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light"), background
    drawn = page.evaluate("() => Bokeh.documents[0].get_model_by_name('fig_act').background_fill_color")
    assert (drawn.lower() in ("#ffffff", "white")) == (scheme == "light"), drawn
    labels = page.evaluate("() => Array.from(document.querySelectorAll('.gc-figure'),"
                           " e => [e.getAttribute('role'), e.getAttribute('aria-label')])")
    words = WORDS[edition]
    assert all(role == "img" and len(label) > 60 and any(w in label for w in words["figure"])
               and not re.search(r"\d" + re.escape(words["not_decimal"]) + r"\d", label)
               for role, label in labels), labels
    page.tap("#gc-arch")
    page.select_option("#gc-arch", "residual")
    page.wait_for_function("() => window.gcExplorer.key.endsWith('|residual')")
    # text on the page's background keeps a readable contrast in both themes
    contrast = page.evaluate("""() => {
      const lum = (c) => {
        const v = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(x => x / 255)
          .map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
      };
      const p = document.querySelector('#gc-verdict p');
      const a = lum(getComputedStyle(p).color), b = lum(getComputedStyle(p).backgroundColor);
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""")
    assert contrast >= 4.5, contrast
    page.screenshot(path=str(tmp_path / f"explorer-390-{scheme}-{edition.strip('/') or 'es'}.png"), full_page=True)
    context.close()


def _explorer_data():
    sys.path.insert(0, str(REPO / "docs" / "_ext"))
    try:
        import explorer_data as ed
    finally:
        sys.path.pop(0)
    return ed


def test_data_fingerprint_ignores_docstrings_and_comments(tmp_path):
    """A documentation edit keeps the cached data; a code edit recomputes them."""
    ed = _explorer_data()
    source = (REPO / "gradcourse" / "experiments.py").read_text(encoding="utf-8")
    original, edited, changed = (tmp_path / n for n in ("a.py", "b.py", "c.py"))
    original.write_text(source, encoding="utf-8")
    doc = source.replace('"""The results of one experiment repeated over seeds.',
                         '"""The results of an experiment, one per seed (reworded).\n\n    More prose.', 1)
    assert doc != source
    edited.write_text(doc.replace("\nclass Seeds:", "\n# a new comment\n\n\nclass Seeds:", 1), encoding="utf-8")
    assert ed._code(original) == ed._code(edited)
    changed.write_text(source.replace("class Seeds:", "class Seeds:\n    extra = 1", 1), encoding="utf-8")
    assert ed._code(original) != ed._code(changed)


def test_data_do_not_depend_on_the_excluded_modules():
    """The fingerprint leaves out gradcourse.plots: computing a configuration never imports it."""
    ed = _explorer_data()
    assert ed.NOT_USED == ("plots.py",)
    code = ("import sys; sys.path.insert(0, 'docs/_ext'); import explorer_data as ed; "
            "ed.run_config('relu', 'he', 2, 'batchnorm', seeds=(0,)); "
            "print(sorted(m for m in sys.modules if m.startswith('gradcourse')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
    modules = eval(out.stdout.strip().splitlines()[-1])
    assert "gradcourse.experiments" in modules
    assert not [m for m in modules if m.split(".")[-1] + ".py" in ed.NOT_USED], modules
