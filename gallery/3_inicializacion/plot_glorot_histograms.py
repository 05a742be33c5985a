"""
Histogramas por capa: inicialización estándar frente a normalizada
==================================================================

Versión reducida de las figuras 6 y 7 de Glorot y Bengio (2010): histogramas
de las activaciones y de los gradientes retropropagados en cada capa de una red
tanh, con la inicialización «estándar» y con la «normalizada» (Xavier).
"""

# %%
# Las dos inicializaciones
# ------------------------
#
# La heurística estándar de la época muestrea
# :math:`W \sim \mathcal{U}[-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}}]`, de modo que
# :math:`n_{in}\operatorname{Var}(W) = 1/3`: cerca del régimen lineal de tanh,
# cada capa divide la varianza de la señal por 3 hacia delante, y la del
# gradiente por 3 hacia atrás. La inicialización normalizada
# (:func:`~gradcourse.initializers.xavier_uniform_`) usa
# :math:`\operatorname{Var}(W) = 2/(n_{in} + n_{out})`, un compromiso entre
# conservar las dos varianzas.
#
# Construimos una red de 5 capas ocultas tanh de 256 unidades, hacemos un paso
# hacia delante y hacia atrás con 512 dígitos y dejamos que un
# :class:`~gradcourse.tracking.Tracker` con ``histograms=True`` guarde los
# histogramas de las activaciones y de :math:`\partial L/\partial z` en cada
# capa. Los histogramas son de la red recién inicializada (Glorot y Bengio
# muestran los gradientes al inicio y las activaciones al final del
# entrenamiento; el efecto de la inicialización es el mismo).

import matplotlib.pyplot as plt
import numpy as np
from torch import nn

import gradcourse as gc
from gradcourse.tracking import Tracker

DEPTH, WIDTH = 5, 256
INITS = {"estándar (glorot_standard)": "glorot_standard",
         "normalizada (xavier_uniform)": "xavier_uniform"}

data = gc.digits()
X, y = data.X_train[:512], data.y_train[:512]

trackers = {}
for label, init in INITS.items():
    model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=WIDTH,
                   activation="tanh", init=init, seed=0)
    with Tracker(model, histograms=True) as tracker:
        nn.functional.cross_entropy(model(X), y).backward()
        tracker.step()
    trackers[label] = tracker
    print(label)
    for row in tracker.summary():
        print(f"  capa {row['layer']}: std(activación) = {row['act_std']:.3f}   "
              f"std(∂L/∂z) = {row['grad_std']:.2e}")

# %%
# Los histogramas
# ---------------
#
# Arriba, activaciones; abajo, gradientes retropropagados. Cada curva es una
# capa (1 = la más cercana a la entrada). Con la inicialización estándar las
# activaciones se concentran en 0 al subir de capa y los gradientes se
# concentran en 0 al bajar; con la normalizada todas las capas se parecen.

colors = plt.cm.viridis(np.linspace(0, 0.9, DEPTH))
fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
for col, (label, tracker) in enumerate(trackers.items()):
    for row, kind in enumerate(["activation", "gradient"]):
        ax = axes[row, col]
        for h in tracker.histograms:
            if h["kind"] != kind:
                continue
            counts, edges = np.asarray(h["counts"]), np.asarray(h["edges"])
            density = counts / (counts.sum() * np.diff(edges))
            ax.stairs(density, edges, color=colors[h["layer"] - 1], lw=1.8,
                      label=f"capa {h['layer']}")
        ax.grid(alpha=0.3)
    axes[0, col].set_title(f"Inicialización {label}")
    axes[0, col].set_xlim(-1, 1)
    axes[0, col].set_xlabel("activación tanh(z)")
    axes[1, col].set_xlabel("gradiente retropropagado ∂L/∂z")
    axes[1, col].ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
axes[0, 0].set_ylabel("densidad")
axes[1, 0].set_ylabel("densidad")
axes[0, 0].legend(loc="upper left")
fig.suptitle("Red tanh de 5 capas: histogramas por capa al inicializar")
fig.tight_layout()

# %%
# Cuánto cambia cada distribución de la capa 1 a la 5
# ---------------------------------------------------
#
# Resumimos cada histograma con su desviación típica.

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
layers = np.arange(1, DEPTH + 1)
for label, tracker in trackers.items():
    rows = tracker.summary()
    ax0.semilogy(layers, [r["act_std"] for r in rows], "o-", lw=2, label=label)
    ax1.semilogy(layers, [r["grad_std"] for r in rows], "o-", lw=2, label=label)
ax0.set_title("Desviación típica de las activaciones")
ax1.set_title("Desviación típica de ∂L/∂z")
for ax in (ax0, ax1):
    ax.set_xlabel("capa")
    ax.set_xticks(layers)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Con la inicialización estándar la desviación típica de las activaciones cae
# unas 10 veces de la capa 1 a la 5, y la del gradiente cae otras tantas de la
# capa 5 a la 1: las capas bajas reciben gradientes mucho menores que las
# altas. Con la inicialización normalizada ambos cocientes quedan por debajo
# de 2, que es lo que Glorot y Bengio buscaban al igualar las varianzas hacia
# delante y hacia atrás.


def ratios(tracker):
    rows = tracker.summary()
    return (rows[0]["act_std"] / rows[-1]["act_std"],
            rows[-1]["grad_std"] / rows[0]["grad_std"])


std_act, std_grad = ratios(trackers["estándar (glorot_standard)"])
xav_act, xav_grad = ratios(trackers["normalizada (xavier_uniform)"])
print(f"estándar:    activación capa1/capa5 = {std_act:.1f}, gradiente capa5/capa1 = {std_grad:.1f}")
print(f"normalizada: activación capa1/capa5 = {xav_act:.1f}, gradiente capa5/capa1 = {xav_grad:.1f}")
assert std_act > 5 and std_grad > 5
assert xav_act < 2 and xav_grad < 2

# %%
# Este ejemplo acompaña a :doc:`/clase/10-xavier`.
