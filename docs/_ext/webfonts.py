"""A font cut down to the characters a site uses, as woff2 (fontTools; brotli for woff2).

Used by lean_pages.py (the theme's icons) and mathml.py (the math font).
"""

from __future__ import annotations

import json
from pathlib import Path


def cut(source: Path, unicodes, target: Path, stamps: Path, name: str | None = None) -> int:
    """Write ``source`` cut to ``unicodes`` (with the glyphs their features and, for a
    math font, its MATH table reach) to ``target`` as woff2; returns its size in bytes.
    ``name`` renames the derived font (family, full and PostScript names). A note in the
    folder ``stamps`` (not published) lets a rebuild with the same characters skip it."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    unicodes = sorted(set(unicodes))
    key = json.dumps([source.name, source.stat().st_size, name, unicodes])
    stamp = Path(stamps) / f"{target.name}.key"
    if target.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == key:
        return target.stat().st_size
    font = TTFont(source)
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.drop_tables += ["FFTM"]  # FontForge's timestamps: no use on the web
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    if name:
        for record in font["name"].names:
            if record.nameID in (1, 3, 4, 6, 16):
                record.string = name.replace(" ", "") if record.nameID == 6 else name
    font.flavor = "woff2"
    font.save(target)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key, encoding="utf-8")
    return target.stat().st_size

