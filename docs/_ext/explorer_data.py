"""The explorer's data: real runs of ``gc.MLP`` on ``gc.digits()``, computed at build time.

Every combination of activation, initialization, depth and architecture is built
with several seeds. For each, at initialization: the per-layer std of the
activations and of ∂L/∂z, the dead (ReLU family) or saturated (sigmoid, tanh)
fraction, ``gradcourse.theory``'s prediction and ``gc.diagnose``'s verdict; then a
short training run: loss per step and test-set accuracy. Medians and min–max over
seeds, rounded to 3 significant digits, are what the page embeds. The numbers serve
both editions of the site; the words (the verdicts' texts, the controls' labels) are
stored in Spanish and in English, and each page shows its own language.

The result is cached under ``docs/_build/.explorer`` by a hash of the code of this
file and of the library (docstrings and comments left out) and of the CPU kernels,
so a rebuild with no change, or after a documentation edit, costs nothing.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import math
import multiprocessing
import os
import time
import warnings
from itertools import product
from pathlib import Path

ACTIVATIONS = {"sigmoid": "sigmoide", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU",
               "elu": "ELU"}
#: key -> (gradcourse scheme, its arguments, label)
INITS = {
    "small": ("normal", {"std": 0.01}, "N(0; 0,01²)"),
    "unit": ("normal", {"std": 1.0}, "N(0; 1)"),
    "default": ("glorot_standard", {}, "por defecto de PyTorch"),
    "xavier": ("xavier_normal", {}, "Xavier"),
    "he": ("he_normal", {}, "He"),
}
DEPTHS = (2, 5, 10, 20, 50)
ARCHS = {"plain": ({}, "sin extras"), "batchnorm": ({"batchnorm": True}, "con BatchNorm"),
         "residual": ({"residual": True}, "con conexiones residuales")}
#: The same labels in the English edition (meta()["labels_en"]).
LABELS_EN = {
    "activations": {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU",
                    "elu": "ELU"},
    "inits": {"small": "N(0, 0.01²)", "unit": "N(0, 1)", "default": "PyTorch default", "xavier": "Xavier",
              "he": "He"},
    "archs": {"plain": "no extras", "batchnorm": "with BatchNorm", "residual": "with residual connections"},
}
SEEDS = (0, 1, 2)
WIDTH, STEPS, BATCH, LR, EVAL_EVERY, PROBE = 32, 30, 64, 0.1, 10, 256
SATURATING = ("sigmoid", "tanh")


def key(activation: str, init: str, depth: int, arch: str) -> str:
    return f"{activation}|{init}|{depth}|{arch}"


def configs() -> list[tuple[str, str, int, str]]:
    return list(product(ACTIVATIONS, INITS, DEPTHS, ARCHS))


def _r(v: float, digits: int = 3) -> float | None:
    """``digits`` significant digits; ``None`` (JSON null) for NaN/Inf."""
    v = float(v)
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def _stats(values, digits: int = 3) -> dict[str, list]:
    """Median, min and max over seeds of an (S, N) array (NaN-aware), rounded."""
    import numpy as np

    a = np.asarray(values, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns after a divergence
        mid, lo, hi = np.nanmedian(a, 0), np.nanmin(a, 0), np.nanmax(a, 0)
    return {"mid": [_r(v, digits) for v in mid], "lo": [_r(v, digits) for v in lo],
            "hi": [_r(v, digits) for v in hi]}


def _theory(activation: str, init: str, depth: int, measured_last_grad: float) -> dict | None:
    """Mean-field prediction for the plain network; ∂L/∂z anchored at the last layer."""
    from gradcourse import theory

    scheme, kwargs, _ = INITS[init]
    widths = [64] + [WIDTH] * depth + [10]
    try:
        act = theory.forward_variance(scheme, activation, widths, of="activation", **kwargs)
        grad = theory.backward_variance(scheme, activation, widths, **kwargs)
    except (ValueError, OverflowError, ZeroDivisionError):
        return None
    top = grad[-1]
    scale = measured_last_grad**2 / top if top > 0 and math.isfinite(top) else math.nan
    return {"act": [_r(math.sqrt(max(v, 0.0))) for v in act],
            "grad": [_r(math.sqrt(max(v * scale, 0.0))) for v in grad]}


@functools.cache
def _digits():
    import gradcourse as gc

    return gc.digits()


class _TestAccuracy:
    """Callback: accuracy on the test set every EVAL_EVERY steps (train's own evaluation
    also measures the training set, which the page does not show)."""

    def __init__(self, data) -> None:
        self.data, self.acc = data, []

    def on_train_begin(self, model, optimizer) -> None: ...
    def on_after_backward(self, step, model, optimizer) -> None: ...
    def on_exception(self, exc, history) -> None: ...
    def on_train_end(self, history) -> None: ...

    def on_step_end(self, step, loss, model, optimizer) -> None:
        from gradcourse.training import accuracy

        if step % EVAL_EVERY == 0:
            self.acc.append(accuracy(model, self.data.X_test, self.data.y_test))


def run_config(activation: str, init: str, depth: int, arch: str, seeds=SEEDS) -> dict:
    """Everything the page shows for one configuration, from real runs."""
    import numpy as np
    import torch

    import gradcourse as gc

    torch.set_num_threads(1)
    data = _digits()
    X, y = data.X_train[:PROBE], data.y_train[:PROBE]
    scheme, init_kwargs, _ = INITS[init]
    frac_key = "saturated_frac" if activation in SATURATING else "dead_frac"

    def experiment(seed: int) -> dict:
        model = gc.MLP(64, 10, depth=depth, width=WIDTH, activation=activation, init=scheme,
                       init_kwargs=init_kwargs, seed=seed, **ARCHS[arch][0])
        records = gc.layer_stats(model, X, y)[:depth]
        # the verdicts in both languages: two passes that leave the model, its buffers and
        # the random state as they were, so the training below is the same
        reports = ({lang: gc.diagnose(model, X, y, lang=lang) for lang in ("es", "en")}
                   if seed == seeds[0] else None)
        test = _TestAccuracy(data)
        hist = gc.train(model, data, lr=LR, steps=STEPS, batch_size=BATCH, seed=seed,
                        eval_every=STEPS, callbacks=[test], progress=False)
        n_eval = STEPS // EVAL_EVERY
        return {"act": [r["act_std"] for r in records], "grad": [r["grad_std"] for r in records],
                "frac": [r[frac_key] for r in records],
                "loss": hist.loss + [math.nan] * (STEPS - len(hist.loss)),
                "acc": test.acc + [math.nan] * (n_eval - len(test.acc)), "reports": reports}

    runs = gc.over_seeds(lambda s: {k: v for k, v in experiment(s).items()}, seeds=seeds, progress=False)
    reports = runs.results[0]["reports"]
    out = {k: _stats(runs[k]) for k in ("act", "grad", "frac", "acc")}
    out["loss"] = _stats(runs["loss"], digits=4)  # 2,303 against 2,297: the first steps matter
    last_grad = float(np.nanmedian(runs["grad"][:, -1]))
    out["theory"] = _theory(activation, init, depth, last_grad) if arch == "plain" else None
    out["verdicts"] = _verdicts(reports["es"], reports["en"])
    return out


def _evidence(v) -> str:
    return f"{v.measure} = {v.evidence:.3g}" if math.isfinite(v.evidence) else v.measure


def _verdicts(es, en) -> list[dict]:
    """One report's verdicts with their texts in Spanish and, under ``*_en``, in English.

    The two reports must judge alike: the same kinds, layers, numbers and pages. Only the
    words differ, and the evidence of a NaN/Inf verdict, a sentence (``evidence_en`` then)."""
    def judged(v) -> tuple:
        return (v.kind, v.layer, f"{v.evidence:.3g}", f"{v.threshold:.3g}", v.docname,
                v.measure if math.isfinite(v.evidence) else None)

    if [judged(v) for v in es.verdicts] != [judged(v) for v in en.verdicts]:
        raise AssertionError(f"gc.diagnose judged differently in Spanish and in English: "
                             f"{[judged(v) for v in es.verdicts]} != {[judged(v) for v in en.verdicts]}")
    out = []
    for v, e in zip(es.verdicts, en.verdicts, strict=True):
        out.append({"kind": v.kind, "layer": v.layer, "message": v.message, "evidence": _evidence(v),
                    "remedy": v.remedy, "section": v.section, "docname": v.docname,
                    "message_en": e.message, "remedy_en": e.remedy, "section_en": e.section})
        if _evidence(e) != _evidence(v):
            out[-1]["evidence_en"] = _evidence(e)
    return out


_TEXT_KEYS = ("message", "remedy", "section", "docname", "message_en", "remedy_en", "section_en")
_OWN_KEYS = ("kind", "layer", "evidence", "evidence_en")  # each verdict's own (evidence_en: where it differs)


def _shared_texts(runs: dict) -> tuple[dict, list]:
    """The verdicts' texts once (a few distinct ones over 375 configurations), referenced
    by index: the page embeds 200 kB less."""
    texts: list[dict] = []
    index: dict[tuple, int] = {}
    out = {}
    for k, run in runs.items():
        verdicts = []
        for v in run["verdicts"]:
            text = tuple(v[t] for t in _TEXT_KEYS)
            if text not in index:
                index[text] = len(texts)
                texts.append(dict(zip(_TEXT_KEYS, text, strict=True)))
            verdicts.append({**{n: v[n] for n in _OWN_KEYS if n in v}, "text": index[text]})
        out[k] = {**run, "verdicts": verdicts}
    return out, texts


def verdicts(data: dict, k: str) -> list[dict]:
    """One configuration's verdicts with their texts, as run_config returns them."""
    return [{**{t: data["verdict_texts"][v["text"]][t] for t in _TEXT_KEYS}, **{
        n: v[n] for n in _OWN_KEYS if n in v}} for v in data["runs"][k]["verdicts"]]


def _run(args):
    start = time.process_time()
    return key(*args), run_config(*args), time.process_time() - start


def _code(path: Path) -> bytes:
    """A module's code without its docstrings and comments (``ast.dump``, no line
    numbers): editing the documentation does not change the data, so it must not
    invalidate them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False).encode()


#: Library modules the data do not depend on (never imported by run_config:
#: tests/reader/test_explorer.py checks it), so that restyling a figure does not
#: recompute the explorer.
NOT_USED = ("plots.py",)


def fingerprint() -> str:
    """Hash of what the data depend on: the code (not the docstrings or comments) of this
    file and of gradcourse's modules, torch's version and its CPU kernels."""
    import torch

    import gradcourse

    h = hashlib.sha256(_code(Path(__file__)))
    for f in sorted(Path(gradcourse.__file__).parent.glob("*.py")):
        if f.name not in NOT_USED:
            h.update(f.name.encode() + b"\0" + _code(f))
    h.update(torch.__version__.encode())
    h.update(torch.backends.cpu.get_cpu_capability().encode())
    return h.hexdigest()[:16]


def meta() -> dict:
    """The configurations and their labels (in Spanish; in English under ``labels_en``)."""
    labels = {"activations": ACTIVATIONS, "inits": {k: v[2] for k, v in INITS.items()},
              "archs": {k: v[1] for k, v in ARCHS.items()}}
    assert {k: list(v) for k, v in labels.items()} == {k: list(v) for k, v in LABELS_EN.items()}
    return {"activations": labels["activations"], "inits": labels["inits"],
            "depths": list(DEPTHS), "archs": labels["archs"], "labels_en": LABELS_EN,
            "seeds": list(SEEDS), "width": WIDTH, "steps": STEPS, "batch": BATCH, "lr": LR,
            "eval_every": EVAL_EVERY, "probe": PROBE}


def compute(processes: int | None = None, log=print) -> dict:
    """All configurations, in ``processes`` worker processes (default: every core)."""
    # deepest first, one at a time: the long runs start early and no worker waits at the end
    todo = sorted(configs(), key=lambda c: -c[2])
    processes = processes or os.cpu_count() or 1
    start = time.perf_counter()
    results, cpu = {}, 0.0
    # spawn: a fresh interpreter per worker, safe whatever threads the parent started
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for i, (k, v, seconds) in enumerate(pool.imap_unordered(_run, todo), 1):
            results[k], cpu = v, cpu + seconds
            if i % 75 == 0 or i == len(todo):
                log(f"explorer: {i}/{len(todo)} configurations ({time.perf_counter() - start:.0f} s, "
                    f"{cpu:.0f} s of CPU in {processes} processes)")
    runs, texts = _shared_texts({k: results[k] for k in sorted(results)})
    return {"meta": meta(), "runs": runs, "verdict_texts": texts}


def load_or_compute(cache_dir: Path, log=print) -> dict:
    """The data, from the cache when nothing they depend on has changed."""
    cache = Path(cache_dir) / f"explorer-{fingerprint()}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    data = compute(log=log)
    cache.parent.mkdir(parents=True, exist_ok=True)
    for old in cache.parent.glob("explorer-*.json"):
        old.unlink()
    cache.write_text(json.dumps(data, separators=(",", ":"), allow_nan=False), encoding="utf-8")
    return data


if __name__ == "__main__":  # python docs/_ext/explorer_data.py: fill the build's cache, timed
    t = time.perf_counter()
    d = load_or_compute(Path(__file__).resolve().parents[1] / "_build" / ".explorer")
    size = len(json.dumps(d, separators=(",", ":"), allow_nan=False))
    print(f"{len(d['runs'])} configurations in {time.perf_counter() - t:.1f} s, {size / 1e6:.2f} MB")
