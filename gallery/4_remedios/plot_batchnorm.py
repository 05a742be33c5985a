"""
BatchNorm rescata una red sigmoide profunda
===========================================

Una red sigmoide de 10 capas con inicialización de Xavier no aprende nada en
150 pasos de SGD. Con normalización por lotes (*BatchNorm*; Ioffe y Szegedy,
2015) cada preactivación se renormaliza a media 0 y varianza 1 antes de la
sigmoide, las activaciones de todas las capas quedan en la misma escala y la
misma red entrena.
"""

# %%
# La misma red con y sin BatchNorm
# --------------------------------
#
# :class:`gradcourse.MLP` con ``batchnorm=True`` inserta ``BatchNorm1d`` entre
# cada ``Linear`` oculta y su activación. Todo lo demás es idéntico: 10 capas
# de 64 unidades, sigmoide, Xavier, SGD con tasa de aprendizaje 0,5, 150 pasos,
# cinco semillas. Antes de entrenar, :func:`gradcourse.layer_stats` hace una
# pasada hacia delante y hacia atrás con 256 dígitos y mide cada capa.

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse import plots

plots.use_style()
DEPTH, STEPS, SEEDS = 10, 150, 5
data = gc.digits()
X, y = data.X_train[:256], data.y_train[:256]


def train(batchnorm):
    def experiment(seed):
        model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=64,
                       activation="sigmoid", init="xavier_normal",
                       batchnorm=batchnorm, seed=seed)
        stats = gc.layer_stats(model, X, y)  # al empezar
        h = gc.train(model, data, lr=0.5, steps=STEPS, eval_every=15,
                     seed=seed)
        return {"grad_std": [r["grad_std"] for r in stats],
                "act_mean": [r["act_mean"] for r in stats],
                "act_std": [r["act_std"] for r in stats],
                "test_acc": h.test_acc, "final_acc": h.test_acc[-1]}
    return experiment


LABELS = {"sin BatchNorm": False, "con BatchNorm": True}
runs = {label: gc.over_seeds(train(bn), seeds=SEEDS)
        for label, bn in LABELS.items()}
for label, r in runs.items():
    acc = [100 * v for v in r.range("final_acc")]
    print(f"{label}: exactitud final {plots.number_range(*acc, '.0f', '%')}")

# %%
# El gradiente que llega a cada capa
# ----------------------------------
#
# Desviación típica de :math:`\partial L/\partial z` en cada capa al empezar,
# en escala logarítmica: mediana de las cinco semillas y su rango (banda).

colors = {"sin BatchNorm": plots.color("vanishing"),
          "con BatchNorm": plots.color("healthy")}
layers = np.arange(1, DEPTH + 1)
fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.4))
for label, r in runs.items():
    plots.band(ax, layers, r["grad_std"], label=label, color=colors[label],
               marker="o")
ax.set(yscale="log", ylabel="std de ∂L/∂z",
       title=f"Red sigmoide de {DEPTH} capas, al empezar")
plots.layer_axis(ax)
ax.legend()
fig.set_label(f"Escala logarítmica: desviación típica del gradiente en cada una de las {DEPTH} capas de una red "
              "sigmoide al empezar (mediana y rango de 5 semillas): sin BatchNorm cae más de cinco órdenes de "
              "magnitud hacia la capa 1; con BatchNorm queda del mismo orden en todas las capas.")
fig.tight_layout()

# %%
# Activaciones y entrenamiento
# ----------------------------
#
# Arriba, la media ± la desviación típica de las activaciones de cada
# capa al empezar (semilla 0). Abajo, la exactitud (*accuracy*) en el
# conjunto de prueba durante el entrenamiento (mediana y rango).

eval_steps = np.arange(15, STEPS + 1, 15)
fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(plots.FIG_WIDTH, 5.8))
for j, (label, r) in enumerate(runs.items()):
    ax0.errorbar(layers + (j - 0.5) * 0.25, r["act_mean"][0],
                 yerr=r["act_std"][0], fmt="o", capsize=3, color=colors[label],
                 label=label)
    plots.band(ax1, eval_steps, r["test_acc"], label=label,
               color=colors[label], marker="o")
ax0.set(ylim=(0, 1), ylabel="activación (media ± std)")
plots.layer_axis(ax0)
ax1.axhline(0.1, color="0.5", ls=":", label="azar")
ax1.set(ylim=(0, 1), xlabel="paso de SGD", ylabel="exactitud en prueba")
ax1.legend(loc="center right")
fig.set_label("Dos paneles. Arriba: media y desviación típica de las activaciones de cada capa al empezar, "
              "iguales en todas las capas con BatchNorm. Abajo: exactitud en el conjunto de prueba durante "
              "el entrenamiento: sin BatchNorm se queda en el 10 % del azar; con BatchNorm supera el 85 %.")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Sin BatchNorm la red se queda en el 10 % del azar con todas las semillas: el
# gradiente que llega a la primera capa es más de cinco órdenes de magnitud
# menor que el de la última. Con BatchNorm la misma red supera el 85 % en 150
# pasos con todas las semillas, todas las capas tienen la misma distribución
# de activaciones y, en esta red de 10 capas, el gradiente llega a la primera
# capa con una magnitud del mismo orden que a la última. No es una propiedad
# de BatchNorm a cualquier profundidad: en una red ReLU de 30 capas, BatchNorm
# sola hace crecer el gradiente hacia la entrada en cada capa
# (:doc:`/clase/15-idea-clave` lo mide).
#
# Este ejemplo acompaña a :doc:`/clase/13-senales-practicas` y a
# :doc:`/clase/15-idea-clave` (BatchNorm es una de las «pistas hacia las
# soluciones» de los apuntes de clase).

# %%
# Comprobación
# ------------
#
# Esta celda comprueba la conclusión sobre las cinco semillas: el cociente de
# gradientes entre capas al empezar (la peor semilla) y la exactitud final.
# Al construir el sitio se ejecuta: si deja de cumplirse, la construcción
# falla.

plain, normed = runs["sin BatchNorm"], runs["con BatchNorm"]
plain_ratio = plain["grad_std"][:, -1] / plain["grad_std"][:, 0]
bn_ratio = normed["grad_std"].max(axis=1) / normed["grad_std"].min(axis=1)
bn_spread = normed["act_std"].max(axis=1) / normed["act_std"].min(axis=1)
print(f"gradiente capa {DEPTH} / capa 1 sin BatchNorm: "
      f"{plots.number_range(plain_ratio.min(), plain_ratio.max(), '.1e')}")
print(f"máx/mín entre capas con BatchNorm: hasta {plots.number(bn_ratio.max(), '.1f')}")
assert plain_ratio.min() > 1e5 and bn_ratio.max() < 10
assert bn_spread.max() < 2  # la misma escala de activaciones en todas las capas
assert plain.range("final_acc")[1] < 0.2
assert normed.range("final_acc")[0] > 0.85

# sphinx_gallery_thumbnail_number = 1
