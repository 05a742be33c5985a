r"""One forward/backward pass, then verdicts: what is wrong with this network's gradients?

:func:`diagnose` runs a :class:`~gradcourse.tracking.Tracker` over one batch and turns
its per-layer statistics into :class:`Verdict` objects. Each verdict names the layer,
the number that triggered it, the threshold, a remedy and the page of the course
that explains it. The thresholds (module constants) and why:

* **vanishing** -- ``grad_std`` of layer 1 over that of the last hidden layer
  :math:`< 10^{-2}` (:data:`VANISHING_RATIO`), or a global gradient norm
  :math:`< 10^{-7}` (:data:`VANISHING_NORM`). With one learning rate for all layers,
  the first layer then moves 100 times slower than the last: if the last follows
  the :math:`10^{-3}` update rule of thumb, the first gets :math:`10^{-5}`, frozen
  for any practical run. Glorot & Bengio's "standard" initialization of a 5-layer
  tanh network loses about a factor 3 per layer, 0.01 after four.
* **exploding** -- the same ratio :math:`> 10^{2}` (:data:`EXPLODING_RATIO`), or a
  global gradient norm :math:`> 10^{3}` (:data:`EXPLODING_NORM`): at a learning rate
  of 0.1 that is a step of size 100 in weights of size about 1, far beyond the
  :math:`\lVert g \rVert \approx 1`-5 where gradient clipping is usually set.
* **saturated** -- more than half (:data:`SATURATED_FRAC`) of a tanh/sigmoid layer's
  activations in the flat tails (derivative below 6 % of its maximum, see
  :mod:`gradcourse.tracking`): most of the gradient through that layer is then
  shrunk more than 16-fold.
* **dead** -- more than half (:data:`DEAD_FRAC`) of a ReLU layer's units inactive on
  every example of the batch. They receive no gradient and cannot recover; a
  healthy He-initialized layer has essentially none (a unit is off on all of B
  examples with probability :math:`2^{-B}`). Judged only on batches of at least
  :data:`DEAD_MIN_BATCH` examples: with one example half the units are off by chance.
* **nonfinite** -- a NaN/Inf in the loss, an activation or a gradient (where it
  first appeared: :class:`~gradcourse.tracking.NonFinite`).
* **unmeasured** -- a statistic a verdict rests on was not measured (``None`` in the
  records), so that verdict is given neither way: ``grad_std`` of layer 1 or :math:`L`
  (vanishing/exploding; reentrant checkpointing leaves it ``None``), fewer than two
  tracked layers (no ratio), ``saturated_frac``/``dead_frac`` of a tanh/sigmoid/ReLU
  layer, a batch too small for ``dead``, a recurrent module (``nn.LSTM``, ``nn.GRU``)
  whose gradient through time the Tracker does not follow. A report is never healthy
  on a statistic that was not measured.

Every report says which layers its verdicts cover and which modules with parameters
they do not (:meth:`Report.covers`, :attr:`Report.untracked`: an output head, a
recurrent module).

:func:`diagnose` leaves the model as it found it: parameters, gradients, buffers
(BatchNorm running statistics, ``num_batches_tracked``), train/eval mode and the global
random state (dropout draws).
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import Tensor, nn

from ._coverage import DEAD_MIN_BATCH, missing, unmeasured, untracked_modules
from ._language import resolve
from ._verdict_text import TEXT as _TEXT
from .experiments import probe
from .tracking import NonFinite, Tracker

__all__ = [
    "DEAD_FRAC", "DEAD_MIN_BATCH", "EXPLODING_NORM", "EXPLODING_RATIO", "PAGES", "SATURATED_FRAC",
    "VANISHING_NORM", "VANISHING_RATIO", "Report", "Verdict", "diagnose", "diagnose_history",
]

VANISHING_RATIO = 1e-2
VANISHING_NORM = 1e-7
EXPLODING_RATIO = 1e2
EXPLODING_NORM = 1e3
SATURATED_FRAC = 0.5
DEAD_FRAC = 0.5

#: Course page title -> docname on the site. The one place to update if pages move.
PAGES: dict[str, str] = {
    "El problema de los gradientes": "clase/03-problema-gradientes",
    "Sigmoid y Tanh": "clase/06-sigmoid-tanh",
    "ReLU": "clase/07-relu",
    "Variantes de ReLU": "clase/08-variantes-relu",
    "Inicialización de pesos": "clase/09-inicializacion",
    "Xavier (Glorot)": "clase/10-xavier",
    "He initialization": "clase/11-he",
    "Señales prácticas": "clase/13-senales-practicas",
}
_SECTION = {"vanishing": "El problema de los gradientes", "exploding": "El problema de los gradientes",
            "saturated": "Sigmoid y Tanh", "dead": "ReLU", "nonfinite": "Señales prácticas",
            "unmeasured": "Señales prácticas"}


@dataclass(frozen=True)
class Verdict:
    """One problem found, or one check that could not be made.

    Attributes:
        kind: ``"vanishing"``, ``"exploding"``, ``"saturated"``, ``"dead"``, ``"nonfinite"``,
            or ``"unmeasured"``: a statistic some verdict rests on was not measured, so that
            verdict is not given either way (the report is then not healthy).
        layer: Layer index (1 = nearest the input) or ``None`` for the whole network (and
            for an ``"unmeasured"`` statistic missing at several layers).
        evidence: The number that triggered it (NaN for ``nonfinite`` and ``unmeasured``).
        threshold: The threshold it crossed (NaN for ``nonfinite`` and ``unmeasured``).
        measure: What ``evidence`` measures, e.g. ``"grad_std[1] / grad_std[L]"``; for
            ``unmeasured``, the statistic that is missing, e.g. ``"grad_std[1, 8]"``.
        message: One-line description in the report's language.
        remedy: What to try, in the report's language.
        section: Title of the course page that explains it (a key of :data:`PAGES`).
        docname: That page's docname on the site.
    """

    kind: str
    layer: int | None
    evidence: float
    threshold: float
    measure: str
    message: str
    remedy: str
    section: str
    docname: str


@dataclass
class Report:
    """The verdicts of a diagnosis, the records they rest on and what they cover.

    Attributes:
        verdicts: Problems found, then the checks that could not be made (``"unmeasured"``).
        records: The per-layer records judged, layer 1 first.
        lang: ``"es"`` or ``"en"``.
        untracked: Modules with parameters in no tracked layer, name -> why (an output
            head, a recurrent module): the verdicts do not cover them.
    """

    verdicts: list[Verdict] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    lang: str = "es"
    untracked: dict[str, str] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """No verdict: no threshold crossed, and every statistic a verdict rests on measured."""
        return not self.verdicts

    def kinds(self) -> list[str]:
        return [v.kind for v in self.verdicts]

    def covers(self) -> str:
        """Which layers the verdicts cover and which modules they do not, in the report's language."""
        t = _TEXT[self.lang]
        names = [str(r.get("name", "")) for r in self.records]
        if not names:
            return t["covers"].format(layers=f"0 {t['layers']}") + "."
        span = f"{t['the_layer']} 1" if len(names) == 1 else f"{t['the_layers']} 1–{len(names)}"
        shown = names if len(names) <= 6 else [*names[:3], "…", *names[-2:]]
        text = t["covers"].format(layers=f"{span} ({', '.join(shown)})")
        if self.untracked:
            text += "; " + t["untracked"].format(names=", ".join(self.untracked))
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "lang": self.lang,
                "verdicts": [asdict(v) for v in self.verdicts], "records": list(self.records),
                "untracked": dict(self.untracked)}

    def _rows(self) -> list[tuple[str, ...]]:
        t = _TEXT[self.lang]
        return [(v.kind, t["network"] if v.layer is None else f"{t['layer']} {v.layer}",
                 v.measure if _unnumbered(v) else f"{v.measure} = {v.evidence:.3g}",
                 "—" if _unnumbered(v) else f"{v.threshold:.3g}", v.remedy, v.section)
                for v in self.verdicts]

    def __str__(self) -> str:
        t = _TEXT[self.lang]
        if self.healthy:
            return f"{t['title']}: {t['healthy']}\n{self.covers()}"
        lines = [f"{t['title']}:"]
        for v, row in zip(self.verdicts, self._rows(), strict=True):
            if v.kind == "unmeasured":  # the message says what, where and which verdict
                lines.append(f"- [{v.kind}] {v.message}")
            else:
                limit = "" if _unnumbered(v) else f"; {t['header'][3].lower()} {row[3]}"
                lines.append(f"- [{v.kind}] {row[1]}: {v.message} ({row[2]}{limit}).")
            lines.append(f"  {v.remedy} -> «{v.section}»")
        lines.append(self.covers())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        t = _TEXT[self.lang]
        covers = f"<p>{html.escape(self.covers())}</p>"
        if self.healthy:
            return f"<p><b>{html.escape(t['title'])}</b>: {html.escape(t['healthy'])}</p>{covers}"
        head = "".join(f"<th>{html.escape(h)}</th>" for h in t["header"])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self._rows())
        return (f"<p><b>{html.escape(t['title'])}</b></p><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>{covers}")

    @classmethod
    def from_records(cls, records: list[dict[str, Any]], nonfinite: NonFinite | None = None,
                     lang: str | None = None, kinds: dict[int, str] | None = None,
                     batch_size: int | None = None, untracked: dict[str, str] | None = None,
                     recurrent: dict[str, str] | None = None) -> Report:
        """Verdicts from one step's per-layer records (as :meth:`Tracker.summary` gives).

        A statistic that is ``None`` (or NaN without a NaN/Inf flag) was not measured: the
        verdict that rests on it is not given, and an ``"unmeasured"`` verdict says so.

        Args:
            records: One dict per layer, layer 1 first.
            nonfinite: A :class:`~gradcourse.tracking.NonFinite` event of this step. If
                ``None`` but a record is flagged ``nonfinite_forward``/``_backward``, the
                event is read from the flags (the first forward layer, else the last
                backward one).
            lang: ``"es"`` or ``"en"``; ``None``: :func:`gradcourse.get_language`.
            kinds: Layer index -> activation kind; default: each record's ``act_kind``.
                ``"dead"`` only fires for ``"relu"`` (ReLU/ReLU6, the activations with a
                zero gradient when off).
            batch_size: Examples behind ``dead_frac``; below :data:`DEAD_MIN_BATCH` no
                ``"dead"`` verdict is given and an ``"unmeasured"`` one says so
                (``None``: unknown, judged anyway).
            untracked: Modules in no tracked layer, name -> why (listed in the report).
            recurrent: Those of them that are recurrent, name -> class name (``"LSTM"``):
                the gradient through them is not measured, an ``"unmeasured"`` verdict.
        """
        lang = resolve(lang)
        nonfinite = nonfinite or _from_flags(records)
        found: list[tuple[str, int | None, float, float, str]] = []
        if nonfinite is not None:
            found.append(("nonfinite", nonfinite.layer, math.nan, math.nan,
                          nonfinite.describe(lang)))
        else:
            found += _flow_verdicts(records)
        judge_dead = batch_size is None or batch_size >= DEAD_MIN_BATCH
        for r in records:
            if r.get("nonfinite_forward") or r.get("nonfinite_backward") or (
                    nonfinite is not None and nonfinite.phase == "forward"
                    and r["layer"] >= (nonfinite.layer or 0)):
                continue  # statistics downstream of a NaN/Inf mean nothing
            sat, dead = r.get("saturated_frac"), r.get("dead_frac")
            if sat is not None and sat > SATURATED_FRAC:
                found.append(("saturated", r["layer"], sat, SATURATED_FRAC, "saturated_frac"))
            kind = kinds.get(r["layer"]) if kinds is not None else r.get("act_kind", "relu")
            if dead is not None and kind == "relu" and judge_dead and dead > DEAD_FRAC:
                found.append(("dead", r["layer"], dead, DEAD_FRAC, "dead_frac"))
        text = _TEXT[lang]
        verdicts = [Verdict(kind, layer, ev, thr, measure, text[kind][0], text[kind][1],
                            _SECTION[kind], PAGES[_SECTION[kind]])
                    for kind, layer, ev, thr, measure in found]
        if nonfinite is None:  # after a NaN/Inf the missing statistics are its consequence
            section = _SECTION["unmeasured"]
            verdicts += [Verdict("unmeasured", layer, math.nan, math.nan, measure, message, remedy,
                                 section, PAGES[section]) for layer, measure, message, remedy
                         in unmeasured(records, lang, kinds, batch_size, recurrent or {})]
        return cls(verdicts, [dict(r) for r in records], lang, dict(untracked or {}))

    @classmethod
    def from_tracker(cls, tracker: Tracker, lang: str | None = None) -> Report:
        """Verdicts on the latest recorded step of ``tracker``."""
        records = tracker.summary()
        nonfinite = tracker.nonfinite
        if nonfinite is not None and (not records or nonfinite.step != records[0]["step"]):
            nonfinite = None  # an earlier step's event; this step's flags still count
        kinds = {layer.index: layer.kind for layer in tracker.layers}
        untracked, recurrent = untracked_modules(tracker)
        return cls.from_records(records, nonfinite, lang, kinds, tracker.examples, untracked,
                                recurrent)


def _unnumbered(v: Verdict) -> bool:
    return v.kind in ("nonfinite", "unmeasured")


def _from_flags(records: list[dict[str, Any]]) -> NonFinite | None:
    """A :class:`NonFinite` read from the records' flags (the source is not recorded:
    ``"output"`` stands for "at or before this layer")."""
    for r in records:
        if r.get("nonfinite_forward"):
            return NonFinite(r["step"], "forward", r["layer"], "output", r.get("name", ""))
    for r in reversed(records):
        if r.get("nonfinite_backward"):
            return NonFinite(r["step"], "backward", r["layer"], "output", r.get("name", ""))
    return None


def _flow_verdicts(records: list[dict[str, Any]]) -> list[tuple[str, int | None, float, float, str]]:
    """Vanishing/exploding from the ratio of the end layers' ``grad_std`` (both measured) and
    from the total weight-gradient norm. With a layer's norm missing the partial total still
    proves an explosion (the total is larger), never a vanishing."""
    out: list[tuple[str, int | None, float, float, str]] = []
    norms = [r.get("weight_grad_norm") for r in records]
    measured = [n for n in norms if not missing(n)]
    total = math.sqrt(sum(n * n for n in measured)) if measured else None
    complete = len(measured) == len(norms)
    stds = [r.get("grad_std") for r in records]
    if len(stds) >= 2 and not missing(stds[0]) and not missing(stds[-1]) and stds[-1]:
        ratio = stds[0] / stds[-1]
        measure = f"grad_std[1] / grad_std[{len(stds)}]"
        if ratio < VANISHING_RATIO:
            out.append(("vanishing", None, ratio, VANISHING_RATIO, measure))
        elif ratio > EXPLODING_RATIO:
            out.append(("exploding", None, ratio, EXPLODING_RATIO, measure))
    if total is not None and not any(k in ("vanishing", "exploding") for k, *_ in out):
        if total < VANISHING_NORM and complete:
            out.append(("vanishing", None, total, VANISHING_NORM, "‖∇W‖"))
        elif total > EXPLODING_NORM:
            out.append(("exploding", None, total, EXPLODING_NORM, "‖∇W‖"))
    return out


def diagnose_history(history: list[dict[str, Any]], lang: str | None = None,
                     batch_size: int | None = None,
                     untracked: dict[str, str] | None = None) -> Report:
    """Verdicts on the last step of a :attr:`Tracker.history` (a list of per-layer records).

    The same verdicts as :meth:`Report.from_tracker` on that tracker; a NaN/Inf is read
    from the records' flags, so its ``source`` is not known here, and the modules not
    tracked only if given (``untracked``, as :attr:`Tracker.untracked`).
    """
    if not history:
        raise ValueError("the history is empty: no step was recorded")
    last = history[-1]["step"]
    return Report.from_records([r for r in history if r["step"] == last], lang=lang,
                               batch_size=batch_size, untracked=untracked)


def diagnose(model: nn.Module, X: Tensor, y: Tensor,
             loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
             lang: str | None = None) -> Report:
    """Run one forward/backward pass of ``model`` on ``(X, y)`` and judge its gradients.

    The model keeps its mode (train/eval), its parameters and buffers; gradients already
    stored in ``.grad`` are put back afterwards, and the global random state too.

    Args:
        model: A :class:`gradcourse.MLP` or any model :class:`Tracker` can follow.
        X: A batch of inputs, or integer token ids for a model that starts with an
            ``nn.Embedding``. NaN/Inf are allowed: the report says where they go.
        y: Targets for ``loss_fn`` (class indices for the default cross-entropy, which
            takes ``(B, C)`` logits; give ``loss_fn`` for ``(B, T, V)`` ones).
        loss_fn: Default ``nn.CrossEntropyLoss()``. Must return a scalar.
        lang: ``"es"`` or ``"en"``; ``None`` (default): :func:`gradcourse.get_language`
            (``"es"`` unless ``GRADCOURSE_LANG`` or :func:`gradcourse.set_language` say otherwise).

    Example:
        >>> import gradcourse as gc
        >>> data = gc.digits()
        >>> gc.diagnose(gc.MLP(64, 10, depth=3, width=64, seed=0),
        ...             data.X_train[:256], data.y_train[:256]).healthy
        True
    """
    lang = resolve(lang)
    tracker = probe(model, X, y, loss_fn, what="diagnose", update_ratio=False)
    examples = tracker.examples  # per unit: the batch, times T for (B, T, C) in a sequence model
    if examples is not None and examples < DEAD_MIN_BATCH:
        warnings.warn(f"diagnose: a batch of {examples} examples is too small to call ReLU "
                      f"units dead (need >= {DEAD_MIN_BATCH}); no 'dead' verdict is given",
                      stacklevel=2)
    return Report.from_tracker(tracker, lang)
