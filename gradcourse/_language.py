"""The language of gradcourse's figure labels, numbers and reports: Spanish or English.

Every function that writes words or numbers for a reader takes ``lang=None``, which
means this default: ``"es"`` unless :func:`set_language` or the environment variable
``GRADCOURSE_LANG`` say otherwise. The course site's English build sets the variable,
so the same page code draws English figures there.
"""

from __future__ import annotations

import os

LANGUAGES = ("es", "en")
_current: str | None = None  # set_language's choice; None: the environment's


def _check(lang: str, what: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"{what} must be one of {list(LANGUAGES)}, got {lang!r}")
    return lang


def get_language() -> str:
    """The current default language, ``"es"`` or ``"en"``.

    >>> get_language() in ("es", "en")
    True
    """
    if _current is not None:
        return _current
    return _check(os.environ.get("GRADCOURSE_LANG") or "es", "the environment variable GRADCOURSE_LANG")


def set_language(lang: str | None) -> str:
    """Set the default language for labels, numbers and reports; returns the previous one.

    Args:
        lang: ``"es"`` or ``"en"``; ``None`` goes back to ``GRADCOURSE_LANG`` (or ``"es"``).

    >>> previous = set_language("en")
    >>> from gradcourse.plots import number
    >>> number(0.5, ".2f")
    '0.50'
    >>> _ = set_language(previous)
    """
    global _current
    previous = _current or os.environ.get("GRADCOURSE_LANG") or "es"
    _current = None if lang is None else _check(lang, "lang")
    return previous


def resolve(lang: str | None) -> str:
    """``lang`` checked, or the current default when it is ``None``."""
    return get_language() if lang is None else _check(lang, "lang")
