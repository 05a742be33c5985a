"""
Explosión de gradientes y recorte de la norma
=============================================

Con una tasa de aprendizaje demasiado grande la pérdida da saltos cada vez
mayores hasta volverse infinita. Recortar la norma del gradiente (Pascanu et al.
2013) limita el tamaño de cada paso y la misma red entrena sin problemas.
"""

# %%
# Dos entrenamientos idénticos salvo el recorte
# ---------------------------------------------
#
# Red ReLU de 6 capas ocultas de 64 unidades con inicialización de He, SGD con
# tasa de aprendizaje 1,0 (demasiado grande) durante 300 pasos. La segunda vez
# pasamos ``clip_norm=1.0`` a :func:`gradcourse.train`: si la norma total del
# gradiente supera 1, se reescala a 1 antes del paso.
#
# :func:`gradcourse.train` se detiene limpiamente en cuanto la pérdida o el
# gradiente dejan de ser finitos, antes de aplicar ese paso, y lo anota en
# ``History.stop_step``. Un :class:`~gradcourse.tracking.Tracker` dice además
# en qué capa apareció el primer valor no finito.

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse.tracking import Tracker

data = gc.digits()
runs, trackers = {}, {}
for label, clip in [("sin recorte", None), ("con recorte (clip_norm=1)", 1.0)]:
    model = gc.MLP(data.in_features, data.n_classes, depth=6, width=64,
                   activation="relu", init="he_normal", seed=0)
    trackers[label] = Tracker(model)
    runs[label] = gc.train(model, data, lr=1.0, steps=300, clip_norm=clip, seed=0,
                           callbacks=[trackers[label]])
    print(f"{label}: {runs[label]}")

bad = runs["sin recorte"]
event = trackers["sin recorte"].nonfinite
print(f"Sin recorte, train() se detuvo en el paso {bad.stop_step} ({bad.stop_reason}).")
if event is not None:
    print(event.describe("es"))

# %%
# Pérdida y norma del gradiente
# -----------------------------
#
# Ambas en escala logarítmica. La norma es la que se mide *antes* de recortar:
# con recorte puede superar 1, pero el paso aplicado nunca lo hace.

colors = {"sin recorte": "C3", "con recorte (clip_norm=1)": "C0"}
fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
for label, h in runs.items():
    ax0.semilogy(h.step, h.loss, lw=1.2, color=colors[label], label=label)
    ax1.semilogy(h.step, h.grad_norm, lw=1.2, color=colors[label], label=label)
for ax in (ax0, ax1):
    ax.axvline(bad.stop_step, color="k", ls="--", lw=1)
    ax.grid(alpha=0.3, which="both")
ax0.annotate(f"pérdida o gradiente no finitos:\ntrain() se detiene en el paso {bad.stop_step}",
             xy=(bad.stop_step, bad.loss[-1]), xytext=(bad.stop_step + 25, bad.loss[-1] / 30),
             arrowprops={"arrowstyle": "->"}, fontsize=9)
ax1.axhline(1.0, color="C0", ls=":", label="umbral de recorte")
ax0.set_ylabel("pérdida de entrenamiento")
ax0.set_title("Tasa de aprendizaje 1,0 en una red ReLU de 6 capas")
ax0.legend(loc="upper right")
ax1.set_ylabel("norma del gradiente (antes de recortar)")
ax1.set_xlabel("paso de SGD")
ax1.legend(loc="upper right")
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Sin recorte la pérdida oscila sin bajar y, de pronto, en unos pocos pasos se
# multiplica por millones y acaba en NaN/Inf antes del paso 300: ``train()``
# para en ese paso sin aplicarlo. Con ``clip_norm=1`` la misma
# red, con la misma tasa, termina los 300 pasos con la pérdida cerca de 0 y más
# de un 90 % de exactitud en test. El recorte no arregla la causa (una tasa
# demasiado grande) pero impide que un solo gradiente enorme destruya los pesos.

good = runs["con recorte (clip_norm=1)"]
assert bad.diverged and bad.stop_step < 300, bad
assert max(bad.loss) > 1e4 * bad.loss[0]
assert not good.diverged and len(good.step) == 300
assert np.mean(good.loss[-20:]) < 0.1 and good.test_acc[-1] > 0.9

# %%
# Este ejemplo acompaña a :doc:`/clase/03-problema-gradientes` y a
# :doc:`/clase/13-senales-practicas`.
