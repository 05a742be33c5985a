"""What a diagnosis could not see: statistics that were not measured, modules not tracked.

The rule (issue 21): a verdict is never "healthy" when the statistic it rests on was not
measured. :func:`unmeasured` lists, per statistic, the layers where a verdict needed it and
found ``None`` (a hook that did not run: reentrant checkpointing, a compiled model, a
layer off the data path), a batch too small to call units dead, a single tracked layer
(no ratio between layers) and recurrent modules, whose gradient through time the Tracker
does not follow. :mod:`gradcourse.diagnosis` turns each into an ``"unmeasured"`` verdict.
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from ._verdict_text import TEXT, UNMEASURED

__all__ = ["DEAD_KINDS", "DEAD_MIN_BATCH", "SATURATING_KINDS", "missing", "unmeasured", "untracked_modules"]

SATURATING_KINDS, DEAD_KINDS = ("tanh", "sigmoid"), ("relu",)  # the act_kinds those verdicts judge
DEAD_MIN_BATCH = 8  # a healthy unit is off on all of them with probability 2**-8 = 0.4 %

_RECURRENT = (nn.RNNBase, nn.RNNCellBase)


def untracked_modules(tracker) -> tuple[dict[str, str], dict[str, str]]:
    """The tracker's untracked modules (name -> why) and the recurrent ones (name -> class).

    A Tracker that does not list them (``untracked`` missing) still never follows a
    recurrent module, so those are found in the model."""
    model = tracker.model
    untracked = getattr(tracker, "untracked", None)
    if untracked is None:
        untracked = {name: f"recurrent module (nn.{type(m).__name__}): not tracked"
                     for name, m in model.named_modules() if isinstance(m, _RECURRENT)}
    recurrent = {}
    for name in untracked:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            continue
        if isinstance(module, _RECURRENT):
            recurrent[name] = type(module).__name__
    return dict(untracked), recurrent


def missing(value: Any) -> bool:
    """``None`` (not measured) or NaN without a NaN/Inf flag (a std of fewer than two values)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def unmeasured(records: list[dict[str, Any]], lang: str, kinds: dict[int, str] | None,
               batch_size: int | None, recurrent: dict[str, str]) -> list[tuple[int | None, str, str, str]]:
    """What the verdicts could not rest on: ``(layer, measure, message, remedy)``, one per
    statistic missing where a verdict needs it (and per recurrent module not followed)."""
    t, why = TEXT[lang], UNMEASURED[lang]
    out: list[tuple[int | None, str, str, str]] = []  # layer, measure, what, remedy

    def add(stat: str, layers: list[int], checks: list[str]) -> None:
        if not layers:
            return
        where = f"{t['the_layer'] if len(layers) == 1 else t['the_layers']} {_spans(layers, t['and'])}"
        out.append((layers[0] if len(layers) == 1 else None, f"{stat}[{_spans(layers, ',')}]",
                    _sentence(t, why["stat"].format(stat=stat, layers=where), checks), why[stat]))

    if not records:
        out.append((None, "—", _sentence(t, why["none"], list(t["checks"])), why["none_fix"]))
    stats = ("act_mean", "grad_std", "weight_grad_norm", "saturated_frac", "dead_frac")
    silent = [r for r in records if all(r.get(k) is None for k in stats)]
    for r in silent:
        what = why["silent"].format(layer=r["layer"], name=r.get("name", ""))
        out.append((r["layer"], f"{t['layer']} {r['layer']}",
                    _sentence(t, what, ["nonfinite", "flow"]), why["silent_fix"]))
    spoken = [r for r in records if r not in silent]
    last = len(records)
    if last == 1:
        out.append((None, "grad_std[1] / grad_std[L]",
                    _sentence(t, why["ratio"].format(n=1), ["flow"]), why["ratio_fix"]))

    def kind(r: dict[str, Any]) -> str | None:
        return kinds.get(r["layer"]) if kinds is not None else r.get("act_kind")

    no_grad = [r["layer"] for r in spoken if missing(r.get("grad_std"))]
    ends = last >= 2 and bool({1, last} & set(no_grad))  # the ratio rests on those two
    add("grad_std", no_grad, ["flow", "nonfinite"] if ends else ["nonfinite"])
    add("act_mean", [r["layer"] for r in spoken if missing(r.get("act_mean"))], ["nonfinite"])
    add("weight_grad_norm", [r["layer"] for r in spoken if missing(r.get("weight_grad_norm"))],
        ["norm"])
    add("saturated_frac", [r["layer"] for r in spoken if kind(r) in SATURATING_KINDS
                           and missing(r.get("saturated_frac"))], ["saturated"])
    add("dead_frac", [r["layer"] for r in spoken if kind(r) in DEAD_KINDS
                      and missing(r.get("dead_frac"))], ["dead"])
    if batch_size is not None and batch_size < DEAD_MIN_BATCH and any(
            kind(r) in DEAD_KINDS and r.get("dead_frac") is not None for r in spoken):
        what = why["batch"].format(n=batch_size, need=DEAD_MIN_BATCH)
        out.append((None, f"batch = {batch_size}", _sentence(t, what, ["dead"]),
                    why["batch_fix"].format(need=DEAD_MIN_BATCH)))
    for name, cls in recurrent.items():
        out.append((None, f"{name} ({cls})",
                    _sentence(t, why["recurrent"].format(name=name, cls=cls), ["flow"]),
                    why["recurrent_fix"]))
    return out


def _spans(layers: list[int], last_sep: str) -> str:
    """``[1, 2, 3, 5, 6]`` -> ``"1–3, 5 and 6"`` (``last_sep`` ``"and"``/``"y"``, or ``","``)."""
    runs: list[list[int]] = []
    for k in layers:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    parts = [p for r in runs for p in ([f"{r[0]}–{r[-1]}"] if len(r) > 2 else map(str, r))]
    if last_sep == "," or len(parts) == 1:
        return ", ".join(parts)
    return f"{', '.join(parts[:-1])} {last_sep} {parts[-1]}"


def _sentence(t: dict[str, Any], what: str, checks: list[str]) -> str:
    return t["not_measured"].format(what=what, checks=t["or"].join(t["checks"][c] for c in checks))
