"""Sphinx extension: the gallery's example pages, readable and downloadable.

Two pieces, each through a documented mechanism rather than by rewriting HTML:

- an image scraper (sphinx-gallery's ``image_scrapers``, wrapping its matplotlib
  scraper) that gives each figure the alt text its script sets with
  ``fig.set_label("...")``, instead of the plot's title; a figure without one stops
  the build, naming the script;
- a doctree transform that puts the .py/.ipynb/.zip downloads, which sphinx-gallery
  appends to the script's last section, after that section: every script ends with
  a "Comprobación" section that the page hides (custom.css), and it hid the
  downloads with it.
"""

from __future__ import annotations

import re
from pathlib import Path

# A matplotlib figure's label is free text that matplotlib itself never shows in a
# saved image; the course's scripts put the figure's description there.
_ALT = re.compile(r"^(\s*:alt:).*$", re.M)
_IMAGE = re.compile(r"^\s*\.\. image-sg:: ", re.M)
MIN_ALT = 40  # shorter is a title, not a description of what the figure shows


def alt_text_scraper(block, block_vars, gallery_conf, **kwargs):
    """sphinx-gallery's matplotlib scraper, with each figure's label as its alt text."""
    import matplotlib.pyplot as plt
    from sphinx_gallery.scrapers import matplotlib_scraper

    labels = [plt.figure(n).get_label().strip() for n in plt.get_fignums()]
    rst = matplotlib_scraper(block, block_vars, gallery_conf, **kwargs)
    images = len(_IMAGE.findall(rst))
    if images != len(labels) or len(_ALT.findall(rst)) != images:
        raise RuntimeError(f"{block_vars['src_file']}: {len(labels)} figures but {images} images in "
                           "sphinx-gallery's output; update alt_text_scraper in docs/_ext/gallery_pages.py")
    src = Path(block_vars["src_file"]).name
    for i, label in enumerate(labels, 1):
        if len(label) < MIN_ALT:
            raise ValueError(
                f"{src}: figure {i} of the block at line {block.lineno} has no alt text "
                f"(got {label!r}): describe what it shows with fig.set_label(\"...\"), "
                f"at least {MIN_ALT} characters")
    it = iter(labels)
    return _ALT.sub(lambda m: f"{m.group(1)} {' '.join(next(it).split())}", rst)


def _downloads_after_the_checks(app, doctree) -> None:
    """Move the download footer out of the script's last section, to the page's end."""
    from docutils import nodes

    gallery = app.config.sphinx_gallery_conf["gallery_dirs"]
    if not app.env.docname.startswith(gallery + "/"):
        return
    for footer in list(doctree.findall(nodes.container)):
        if "sphx-glr-footer-example" not in footer["classes"]:
            continue
        block = footer  # the outermost node below the section that holds it
        while not isinstance(block.parent, nodes.section):
            block = block.parent
        section = block.parent
        top = section
        while isinstance(top.parent, nodes.section):
            top = top.parent
        if top is section:
            continue  # a script with one section: the footer is already at the end
        index = section.index(block)
        moved = [block]
        while index > 0 and isinstance(section[index - 1], nodes.target):  # its label
            index -= 1
            moved.insert(0, section[index])
        for node in moved:
            section.remove(node)
            top.append(node)


def setup(app):
    app.connect("doctree-read", _downloads_after_the_checks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
