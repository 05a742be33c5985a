"""
La señal hacia delante, capa a capa: teoría y medida
====================================================

Medimos la desviación típica de las activaciones de cada capa de una red de 10
capas recién inicializada con cinco esquemas (ceros, normal pequeña, normal
grande, Xavier y He), con tanh y con ReLU, y la comparamos con la que predice
la teoría de la varianza.
"""

# %%
# Teoría
# ------
#
# Si las preactivaciones de la capa :math:`k` tienen varianza :math:`q_k`, la
# siguiente tiene
#
# .. math::
#
#    q_{k+1} = n_k \operatorname{Var}(W)\; \mathbb{E}\left[f(z)^2\right]_{z \sim \mathcal{N}(0, q_k)}
#
# (Glorot y Bengio 2010; He et al. 2015). El factor
# :math:`n_k \operatorname{Var}(W)\,\mathbb{E}[f(z)^2]/q_k` decide si la señal
# crece o se apaga; para ReLU vale :math:`n\operatorname{Var}(W)/2`.
# :func:`gradcourse.theory.forward_variance` itera esta fórmula con la varianza
# que cada esquema prescribe (:func:`gradcourse.initializers.weight_std`).
#
# Medida
# ------
#
# Una pasada hacia delante y hacia atrás con 512 dígitos; un
# :class:`~gradcourse.tracking.Tracker` recoge la desviación típica de las
# activaciones de cada capa. Red de 10 capas ocultas de 256 unidades.

import matplotlib.pyplot as plt
import numpy as np
from torch import nn

import gradcourse as gc
from gradcourse import theory
from gradcourse.tracking import Tracker

DEPTH, WIDTH = 10, 256
SCHEMES = {
    "ceros": ("zeros", {}),
    "normal σ = 0,01": ("normal", {"std": 0.01}),
    "normal σ = 1": ("normal", {"std": 1.0}),
    "Xavier": ("xavier_normal", {}),
    "He": ("he_normal", {}),
}
data = gc.digits()
X, y = data.X_train[:512], data.y_train[:512]
input_var = X.pow(2).mean().item()  # second moment of the (standardized) pixels
widths = [data.in_features] + [WIDTH] * DEPTH + [data.n_classes]

measured, predicted = {}, {}
for act in ("tanh", "relu"):
    for label, (scheme, kwargs) in SCHEMES.items():
        model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=WIDTH,
                       activation=act, init=scheme, init_kwargs=kwargs, seed=0)
        with Tracker(model, update_ratio=False) as tracker:
            nn.functional.cross_entropy(model(X), y).backward()
            tracker.step()
        measured[act, label] = np.array([r["act_std"] for r in tracker.summary()])
        predicted[act, label] = np.sqrt(theory.forward_variance(
            scheme, act, widths, input_var=input_var, of="activation", **kwargs))
        print(f"{act:>4} {label:<16} capa 1: {measured[act, label][0]:.2g} "
              f"(teoría {predicted[act, label][0]:.2g});  capa {DEPTH}: "
              f"{measured[act, label][-1]:.2g} (teoría {predicted[act, label][-1]:.2g})")

# %%
# La figura
# ---------
#
# Puntos: medida. Línea discontinua: teoría. Escala logarítmica. Con pesos a
# cero todas las activaciones son exactamente 0 en todas las capas (con tanh y
# con ReLU), así que esa curva queda fuera de la escala logarítmica.

layers = np.arange(1, DEPTH + 1)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
for ax, act, title in zip(axes, ("tanh", "relu"), ("Tanh", "ReLU"), strict=True):
    for c, label in enumerate(SCHEMES):
        if label == "ceros":
            continue
        color = f"C{c}"
        ax.semilogy(layers, measured[act, label], "o", color=color, label=label)
        ax.semilogy(layers, predicted[act, label], "--", color=color, lw=1.5)
    ax.plot([], [], "k--", label="teoría")
    ax.set_title(f"{title}: desviación típica de las activaciones")
    ax.set_xlabel("capa")
    ax.set_xticks(layers)
    ax.grid(alpha=0.3, which="both")
axes[0].set_ylabel("std de f(z) (escala log)")
axes[1].legend(loc="lower left", fontsize=9)
fig.suptitle("Red de 10 capas recién inicializada (ceros: std = 0 exacto, fuera de escala)")
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# La teoría acierta la medida en todas las capas y con todos los esquemas. Con
# ceros no hay señal; con :math:`\sigma = 0{,}01` se apaga un orden de magnitud
# por capa; con :math:`\sigma = 1` ReLU explota (:math:`\sim 10^{10}` en la capa
# 10) y tanh se satura en :math:`\pm 1`. Xavier mantiene tanh en una escala
# razonable pero deja que ReLU se apague a la mitad de varianza por capa; He
# mantiene ReLU constante. Cada activación necesita su inicialización.

for key in measured:
    if key[1] == "ceros":
        assert (measured[key] == 0).all() and (predicted[key] == 0).all()
        continue
    ratio = measured[key] / predicted[key]
    assert (0.7 < ratio).all() and (ratio < 1.4).all(), (key, ratio)  # teoría ≈ medida
assert measured["relu", "normal σ = 0,01"][-1] < 1e-6 < 1e6 < measured["relu", "normal σ = 1"][-1]
assert measured["tanh", "normal σ = 1"][-1] > 0.9  # saturada
assert measured["relu", "Xavier"][0] / measured["relu", "Xavier"][-1] > 10  # se apaga
he = measured["relu", "He"]
assert he.max() / he.min() < 1.5 and measured["tanh", "Xavier"][-1] > 0.1

# %%
# Este ejemplo acompaña a :doc:`/clase/09-inicializacion`, :doc:`/clase/10-xavier`
# y :doc:`/clase/11-he`.
