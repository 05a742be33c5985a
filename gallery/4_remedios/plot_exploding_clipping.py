"""
Explosión de gradientes y recorte de la norma
=============================================

Con una tasa de aprendizaje demasiado grande la pérdida da saltos cada vez
mayores hasta volverse infinita. Recortar la norma del gradiente (Pascanu et al.
2013) limita el tamaño de cada paso, y la misma red entrena sin problemas.
"""

# %%
# Dos entrenamientos idénticos salvo el recorte
# ---------------------------------------------
#
# Red ReLU de 6 capas ocultas de 64 unidades con inicialización de He, SGD con
# tasa de aprendizaje 2,0 (demasiado grande) durante 200 pasos, con cinco
# semillas. La segunda vez pasamos ``clip_norm=1.0`` a
# :func:`gradcourse.train`: si la norma total del gradiente supera 1, se
# reescala a 1 antes del paso.
#
# :func:`gradcourse.train` se detiene limpiamente en cuanto la pérdida o el
# gradiente dejan de ser finitos, antes de aplicar ese paso, y lo anota en
# ``History.stop_step``. Para dibujar todas las semillas juntas, rellenamos
# con NaN los pasos que no llegaron a darse.

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse import plots

plots.use_style()
LR, STEPS, SEEDS = 2.0, 200, 5
data = gc.digits()


def pad(values):
    return np.pad(np.asarray(values, dtype=float), (0, STEPS - len(values)),
                  constant_values=np.nan)


def train(clip):
    def experiment(seed):
        model = gc.MLP(data.in_features, data.n_classes, depth=6, width=64,
                       activation="relu", init="he_normal", seed=seed)
        h = gc.train(model, data, lr=LR, steps=STEPS, clip_norm=clip,
                     seed=seed)
        return {"loss": pad(h.loss), "grad_norm": pad(h.grad_norm),
                "diverged": h.diverged, "stop_step": h.stop_step or STEPS + 1,
                "test_acc": h.test_acc[-1]}
    return experiment


LABELS = {"sin recorte": None, "con recorte de la norma a 1": 1.0}
runs = {label: gc.over_seeds(train(clip), seeds=SEEDS)
        for label, clip in LABELS.items()}
for label, r in runs.items():
    lo, hi = r.range("test_acc")
    print(f"{label}: diverge en {int(r['diverged'].sum())} de {SEEDS} "
          f"semillas;\n  exactitud final entre {100 * lo:.0f} % y "
          f"{100 * hi:.0f} %")

# %%
# Dónde aparece el primer valor no finito
# ---------------------------------------
#
# Una sola ejecución (semilla 0) sin recorte, ahora con un
# :class:`~gradcourse.tracking.Tracker`, que dice en qué capa apareció el
# primer valor no finito.

model = gc.MLP(data.in_features, data.n_classes, depth=6, width=64,
               activation="relu", init="he_normal", seed=0)
tracker = gc.Tracker(model)
bad = gc.train(model, data, lr=LR, steps=STEPS, seed=0, callbacks=[tracker])
print(f"Semilla 0 sin recorte: train() se detuvo en el paso {bad.stop_step}.")
if tracker.nonfinite is not None:
    print(tracker.nonfinite.describe("es"))

# %%
# La pérdida
# ----------
#
# Mediana de las cinco semillas (línea) y su rango (banda), en escala
# logarítmica. Sin recorte las curvas terminan donde ``train()`` se detuvo.

colors = {"sin recorte": plots.color("exploding"),
          "con recorte de la norma a 1": plots.color("healthy")}
steps = np.arange(1, STEPS + 1)
fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.4))
for label, r in runs.items():
    done = ~np.isnan(r["loss"]).all(axis=0)  # pasos que dio alguna semilla
    plots.band(ax, steps[done], r["loss"][:, done], label=label,
               color=colors[label])
ax.set(yscale="log", xlabel="paso de SGD", ylabel="pérdida de entrenamiento",
       title=f"Tasa de aprendizaje {LR:.1f} en una red ReLU de 6 capas"
       .replace(".", ","))
ax.legend(loc="upper right")
fig.set_label("Escala logarítmica: pérdida de entrenamiento de una red ReLU de 6 capas con una tasa de "
              "aprendizaje grande (mediana y rango de 5 semillas): sin recorte crece miles de veces en pocos "
              "pasos y la curva se corta donde deja de ser finita; con recorte de la norma a 1 baja hasta "
              "el paso 200.")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# La norma del gradiente
# ----------------------
#
# Es la norma que se mide *antes* de recortar: con recorte puede superar 1,
# pero el paso aplicado nunca lo hace.

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.4))
for label, r in runs.items():
    done = ~np.isnan(r["grad_norm"]).all(axis=0)  # pasos que dio alguna semilla
    plots.band(ax, steps[done], r["grad_norm"][:, done], label=label,
               color=colors[label])
ax.axhline(1.0, color="0.3", ls=":", label="umbral de recorte")
ax.set(yscale="log", xlabel="paso de SGD",
       ylabel="norma del gradiente (antes de recortar)")
ax.legend(loc="upper right")
fig.set_label("Escala logarítmica: norma del gradiente antes de recortar, con la línea del umbral 1: sin recorte "
              "crece hasta dejar de ser finita; con recorte sigue finita durante los 200 pasos.")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Sin recorte, la pérdida crece en unos pocos pasos hasta miles de veces su
# valor inicial y la pérdida o el gradiente dejan de ser finitos: ``train()``
# para en ese paso sin aplicarlo (la celda de arriba dice con cuántas
# semillas). Con ``clip_norm=1.0`` la misma red, con la misma tasa, termina los
# 200 pasos con todas las semillas y supera el 70 % de exactitud en el
# conjunto de prueba con cada una (la mediana, más del 75 %). El recorte no
# arregla la causa (una tasa demasiado grande), pero impide que
# un solo gradiente enorme destruya los pesos.
#
# Este ejemplo acompaña a :doc:`/clase/03-problema-gradientes` y a
# :doc:`/clase/13-senales-practicas`.

# %%
# Comprobación
# ------------
#
# Esta celda comprueba la conclusión sobre las cinco semillas: cuántas
# divergen sin recorte y la peor exactitud con recorte. Al construir el sitio
# se ejecuta: si deja de cumplirse, la construcción falla.

plain, clipped = runs.values()
growth = np.nanmax(plain["loss"], axis=1) / plain["loss"][:, 0]
first, last = plain.range("stop_step")
print(f"sin recorte: se detiene entre los pasos {first:.0f} y {last:.0f};")
print(f"  la pérdida crece (mediana) {np.median(growth):.1e} veces")
print(f"con recorte: exactitud mediana {clipped.median('test_acc'):.2f}, "
      f"mínima {clipped.range('test_acc')[0]:.2f}")
assert plain.fraction("diverged", lambda d: d > 0) >= 0.8
assert np.median(growth) > 1e3
assert not clipped["diverged"].any()
assert clipped.median("test_acc") > 0.75 and clipped.range("test_acc")[0] > 0.7

# sphinx_gallery_thumbnail_number = 1
