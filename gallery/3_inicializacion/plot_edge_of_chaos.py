"""
El borde del caos: diagrama de fases de una red tanh profunda
=============================================================

La teoría de campo medio (Poole et al. 2016; Schoenholz et al. 2017) predice,
para pesos :math:`\\mathcal{N}(0, \\sigma_w^2/n)` y sesgos
:math:`\\mathcal{N}(0, \\sigma_b^2)`, el factor :math:`\\chi_1` por el que se
multiplica la varianza del gradiente en cada capa. Lo medimos en redes tanh de
30 capas y lo comparamos con la línea crítica :math:`\\chi_1 = 1`.
"""

# %%
# La teoría
# ---------
#
# En una red muy ancha, la varianza :math:`q` de las preactivaciones converge a
# un punto fijo :math:`q^*` y, hacia atrás, la varianza de
# :math:`\partial L/\partial z` se multiplica en cada capa por
#
# .. math::
#
#    \chi_1 = \sigma_w^2\, \mathbb{E}\left[\tanh'(\sqrt{q^*}\, z)^2\right],
#    \qquad z \sim \mathcal{N}(0, 1).
#
# Si :math:`\chi_1 < 1` (fase ordenada) los gradientes desaparecen
# exponencialmente; si :math:`\chi_1 > 1` (fase caótica) explotan. La frontera
# :math:`\chi_1 = 1` es el *borde del caos*;
# :func:`gradcourse.theory.critical_sigma_w2` la calcula y
# :func:`gradcourse.theory.chi1` da :math:`\chi_1` en cada punto. Con
# :math:`\sigma_b = 0` la frontera es :math:`\sigma_w = 1`: la inicialización de
# Xavier/LeCun para tanh.

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import TwoSlopeNorm
from torch import nn

import gradcourse as gc
from gradcourse import theory
from gradcourse.tracking import Tracker

DEPTH, WIDTH = 30, 128
SIGMA_W = np.arange(0.5, 3.01, 0.25)
SIGMA_B = np.arange(0.0, 1.01, 0.25)

# %%
# La medida
# ---------
#
# Para cada par :math:`(\sigma_w, \sigma_b)` construimos una red tanh de 30 capas
# de 128 unidades con un inicializador a medida (``init`` acepta cualquier
# función in situ), sorteamos los sesgos, hacemos una pasada hacia delante y
# hacia atrás con 128 dígitos y un :class:`~gradcourse.tracking.Tracker` mide la
# desviación típica de :math:`\partial L/\partial z` en cada capa. El factor
# medido por capa es la media geométrica de
# :math:`\operatorname{Var}(\delta_k)/\operatorname{Var}(\delta_{k+1})` entre las
# capas 5 y 25 (lejos de la entrada y de la salida).

data = gc.digits()
X, y = data.X_train[:128], data.y_train[:128]


def measured_chi(sigma_w, sigma_b, seed=0):
    def init(weight):
        return nn.init.normal_(weight, 0.0, sigma_w / math.sqrt(weight.shape[1]))

    model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=WIDTH,
                   activation="tanh", init=init, seed=seed)
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed + 1)
        for layer in model.linears:
            layer.bias.normal_(0.0, 1.0).mul_(sigma_b)
    with Tracker(model, update_ratio=False) as tracker:
        nn.functional.cross_entropy(model(X), y).backward()
        tracker.step()
    g = np.array([r["grad_std"] for r in tracker.summary()])
    return (g[4] / g[24]) ** (2 / 20)


chi_measured = np.array([[measured_chi(w, b) for w in SIGMA_W] for b in SIGMA_B])
chi_theory = np.array([[theory.chi1("tanh", w**2, b**2) for w in SIGMA_W] for b in SIGMA_B])
b_line = np.linspace(0, SIGMA_B[-1], 41)
w_line = np.sqrt([theory.critical_sigma_w2("tanh", b**2) for b in b_line])
for b, row in zip(SIGMA_B, chi_measured, strict=True):
    print(f"σ_b = {b:.2f}: χ1 medido {np.round(row, 2)}")

# %%
# El diagrama de fases
# --------------------
#
# Color: :math:`\log_{10}` del factor medido, con una escala distinta a cada
# lado del 0 (azul: el gradiente se apaga al bajar hacia la entrada; rojo:
# crece). Línea negra: la frontera teórica :math:`\chi_1 = 1`.

fig, ax = plt.subplots(figsize=(8, 5))
log_chi = np.log10(chi_measured)
norm = TwoSlopeNorm(vcenter=0.0, vmin=log_chi.min(), vmax=log_chi.max())
mesh = ax.pcolormesh(SIGMA_W, SIGMA_B, log_chi, cmap="RdBu_r", norm=norm, shading="nearest")
fig.colorbar(mesh, ax=ax, label="log₁₀ χ₁ medido (por capa)")
ax.plot(w_line, b_line, "k-", lw=2.5, label="teoría: χ₁ = 1 (borde del caos)")
ax.text(0.75, 0.85, "orden:\nlos gradientes\ndesaparecen", ha="center", va="center",
        fontsize=10, color="white")
ax.text(2.6, 0.15, "caos:\nlos gradientes\nexplotan", ha="center", va="center", fontsize=10,
        color="white")
ax.set_xlabel("σ_w  (pesos ~ N(0, σ_w²/n))")
ax.set_ylabel("σ_b  (sesgos ~ N(0, σ_b²))")
ax.set_title("Red tanh de 30 capas: crecimiento del gradiente por capa")
ax.legend(loc="upper right")
fig.tight_layout()

# %%
# Medida frente a teoría, punto a punto
# -------------------------------------

fig, ax = plt.subplots(figsize=(5.5, 5))
sc = ax.scatter(chi_theory.ravel(), chi_measured.ravel(), c=np.repeat(SIGMA_B, len(SIGMA_W)),
                cmap="viridis")
fig.colorbar(sc, ax=ax, label="σ_b")
ax.plot([0, 2], [0, 2], "k--", lw=1, label="medida = teoría")
ax.set_xlabel("χ₁ teórico (campo medio)")
ax.set_ylabel("χ₁ medido (capas 5 a 25)")
ax.set_title("Cada punto es un par (σ_w, σ_b)")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# La frontera que predice la teoría separa exactamente las dos fases medidas:
# a su izquierda el gradiente se encoge en cada capa y a su derecha crece. Punto
# a punto, el factor medido coincide con :math:`\chi_1` con un error pequeño.
# Al aumentar :math:`\sigma_b` el borde del caos se desplaza hacia pesos más
# grandes: con sesgos grandes, :math:`\sigma_w = 1` ya no basta.

log_err = np.abs(np.log(chi_measured) - np.log(chi_theory))
clear = np.abs(np.log(chi_theory)) > 0.05  # puntos no pegados a la frontera
print(f"error máximo |ln χ medido − ln χ teórico| = {log_err.max():.3f}")
print(f"fase acertada en {np.mean(np.sign(np.log(chi_measured)) == np.sign(np.log(chi_theory))):.0%} "
      f"de los puntos")
assert log_err.max() < 0.15
assert (np.sign(np.log(chi_measured[clear])) == np.sign(np.log(chi_theory[clear]))).all()
assert abs(w_line[0] - 1.0) < 1e-6 and w_line[-1] > 1.5  # σ_b = 0: σ_w = 1; luego se desplaza

# %%
# Este ejemplo acompaña a :doc:`/clase/10-xavier` y a
# :doc:`/clase/12-activacion-inicializacion` (para qué sirve una inicialización
# «crítica»).
