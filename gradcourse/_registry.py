"""Name lookup shared by the activation and initializer registries."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def canonical(kind: str, name: str, table: Mapping[str, T]) -> str:
    """Return the registry key for ``name`` or raise an error that names the valid choices.

    Args:
        kind: What is being looked up, for the message ("activation", ...).
        name: The requested name; case and a trailing ``_`` are ignored.
        table: The registry.

    Raises:
        TypeError: If ``name`` is not a string.
        ValueError: If ``name`` is unknown; the message suggests the closest name.
    """
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
    key = name.strip().lower().rstrip("_").replace("-", "_")
    if key in table:
        return key
    close = difflib.get_close_matches(key, list(table), n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"Unknown {kind} {name!r}.{hint} Available: {', '.join(sorted(table))}.")


def lookup(kind: str, name: str, table: Mapping[str, T]) -> T:
    """Return ``table[name]``; errors as in :func:`canonical`."""
    return table[canonical(kind, name, table)]
