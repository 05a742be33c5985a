"""Formulas are MathML written at build time (docs/_ext/mathml.py): no script draws them."""

from __future__ import annotations

import re
import sys

import pytest
from docutils.utils.math import MathError

from .conftest import REPO

sys.path.insert(0, str(REPO / "docs" / "_ext"))
import mathml

sys.path.pop(0)


@pytest.mark.parametrize(("tex", "expected"), [
    (r"\big(f'(z)\big)", r"\bigl(f'(z)\bigr)"),
    (r"\Big[\,x\Big]", r"\Bigl[\,x\Bigr]"),
    (r"\tfrac12 + \frac ab", r"\tfrac{1}{2} + \frac{a}{b}"),
    (r"f'(z)\,(\dots) = 0", r"f'(z)\,(\ldots) = 0"),
    (r"a \iff b", r"a \;\Longleftrightarrow\; b"),
    (r"\bigl( x \bigr)", r"\bigl( x \bigr)"),  # already in the form docutils knows
])
def test_spellings_docutils_does_not_know_are_rewritten(tex, expected):
    assert mathml.normalize(tex) == expected
    assert mathml.to_mathml(tex).startswith("<math alttext=")


def test_a_display_formula_keeps_its_alignment_and_source():
    out = mathml.to_mathml("\\begin{aligned}\na &= b \\\\\nc &= d\n\\end{aligned}", block=True)
    assert 'display="block"' in out and "<mtable" in out and 'alttext="\\begin{aligned} a &amp;= b' in out


def test_an_unknown_command_is_an_error():
    with pytest.raises(MathError):
        mathml.to_mathml(r"\frobnicate{x}")


def test_built_pages_hold_no_tex_for_a_script_to_draw(site):
    leftovers = {}
    for page in site.rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        found = re.findall(r'<(?:span|div) class="math[^"]*">\s*\\[(\[]', text)
        if found or re.search(r"<script[^>]*mathjax", text, re.I):
            leftovers[page.relative_to(site).as_posix()] = len(found)
    assert not leftovers, leftovers
    math_pages = [p for p in site.rglob("*.html") if "<math " in p.read_text(encoding="utf-8")]
    assert math_pages and (site / "_static" / mathml.FONT_FILE).exists()
    assert all(mathml.FONT_CSS in p.read_text(encoding="utf-8") for p in math_pages)
