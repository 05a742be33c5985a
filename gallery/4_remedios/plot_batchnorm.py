"""
BatchNorm rescata una red sigmoide profunda
===========================================

Una red de 10 capas sigmoide con inicialización de Xavier no aprende nada en 300
pasos de SGD. Con ``batchnorm=True`` (Ioffe y Szegedy, 2015) cada
preactivación se renormaliza a media 0 y varianza 1 antes de la sigmoide, las
activaciones de todas las capas quedan en la misma escala y la misma red
entrena.
"""

# %%
# La misma red con y sin BatchNorm
# --------------------------------
#
# :class:`gradcourse.MLP` con ``batchnorm=True`` inserta ``BatchNorm1d`` entre
# cada ``Linear`` oculta y su activación. Todo lo demás es idéntico: 10 capas
# de 64 unidades, sigmoide, Xavier, SGD con tasa 0,5, 300 pasos. Un
# :class:`~gradcourse.tracking.Tracker` registra las estadísticas de cada capa.

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse.tracking import Tracker

DEPTH = 10
data = gc.digits()
runs, trackers = {}, {}
for label, bn in [("sin BatchNorm", False), ("con BatchNorm", True)]:
    model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=64,
                   activation="sigmoid", init="xavier_normal", batchnorm=bn, seed=0)
    trackers[label] = Tracker(model, every=50)
    runs[label] = gc.train(model, data, lr=0.5, steps=300, seed=0, callbacks=[trackers[label]])
    print(f"{label}: {runs[label]}")

# %%
# Entrenamiento y estadísticas por capa
# -------------------------------------
#
# A la izquierda, la exactitud en test. En el centro, la media ± desviación
# típica de las activaciones de cada capa en el último paso registrado. A la
# derecha, la desviación típica del gradiente :math:`\partial L/\partial z` que
# llega a cada capa, en escala logarítmica.

colors = {"sin BatchNorm": "C3", "con BatchNorm": "C0"}
layers = np.arange(1, DEPTH + 1)
fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(15, 4.3))
for j, (label, h) in enumerate(runs.items()):
    rows = trackers[label].summary()
    mean = np.array([r["act_mean"] for r in rows])
    std = np.array([r["act_std"] for r in rows])
    ax0.plot(h.eval_step, h.test_acc, "o-", lw=2, color=colors[label], label=label)
    ax1.errorbar(layers + (j - 0.5) * 0.2, mean, yerr=std, fmt="o", capsize=3,
                 color=colors[label], label=label)
    ax2.semilogy(layers, [r["grad_std"] for r in rows], "o-", lw=2, color=colors[label],
                 label=label)
ax0.axhline(0.1, color="0.5", ls=":", label="azar")
ax0.set_xlabel("paso de SGD")
ax0.set_ylabel("exactitud en test")
ax0.set_ylim(0, 1)
ax0.set_title("Red sigmoide de 10 capas")
ax1.set_ylim(0, 1)
ax1.set_xlabel("capa")
ax1.set_ylabel("activación sigmoide (media ± std)")
ax1.set_title("Activaciones por capa al final")
ax2.set_xlabel("capa")
ax2.set_ylabel("std de ∂L/∂z (escala log)")
ax2.set_title("Gradiente que llega a cada capa")
for ax in (ax0, ax1, ax2):
    ax.grid(alpha=0.3, which="both")
    ax.legend()
for ax in (ax1, ax2):
    ax.set_xticks(layers)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Sin BatchNorm la red se queda en el 10 % del azar: el gradiente que llega a la
# primera capa es más de cinco órdenes de magnitud menor que el de la última. Con
# BatchNorm la misma red supera el 90 % en 300 pasos, todas las capas tienen la
# misma distribución de activaciones y el gradiente llega a la primera capa con
# una magnitud del mismo orden que a la última.

plain = trackers["sin BatchNorm"].summary()
normed = trackers["con BatchNorm"].summary()
plain_ratio = plain[-1]["grad_std"] / plain[0]["grad_std"]
bn_ratio = max(r["grad_std"] for r in normed) / min(r["grad_std"] for r in normed)
print(f"gradiente capa {DEPTH} / capa 1: sin BatchNorm {plain_ratio:.1e}, "
      f"con BatchNorm (máx/mín entre capas) {bn_ratio:.1f}")
assert runs["sin BatchNorm"].test_acc[-1] < 0.2
assert runs["con BatchNorm"].test_acc[-1] > 0.9
assert plain_ratio > 1e5 and bn_ratio < 10
bn_std = [r["act_std"] for r in normed]
assert max(bn_std) < 2 * min(bn_std)  # la misma escala en todas las capas

# %%
# Este ejemplo acompaña a :doc:`/clase/13-senales-practicas` y a
# :doc:`/clase/15-idea-clave` (BatchNorm es una de las «pistas hacia las
# soluciones» de los apuntes de clase).
