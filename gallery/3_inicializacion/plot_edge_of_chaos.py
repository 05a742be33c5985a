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
from gradcourse import plots, theory

plots.use_style()
DEPTH, WIDTH, SEEDS = 30, 128, 3
SIGMA_W = np.arange(0.5, 3.01, 0.25)
SIGMA_B = np.arange(0.0, 1.01, 0.25)

# %%
# La medida
# ---------
#
# Para cada par :math:`(\sigma_w, \sigma_b)` construimos una red tanh de 30
# capas de 128 unidades con un inicializador a medida (``init`` acepta
# cualquier función in situ), sorteamos los sesgos y
# :func:`gradcourse.layer_stats` hace una pasada hacia delante y hacia atrás
# con 128 dígitos y mide la desviación típica de :math:`\partial L/\partial z`
# en cada capa. El factor medido por capa es la media geométrica de
# :math:`\operatorname{Var}(\delta_k)/\operatorname{Var}(\delta_{k+1})` entre
# las capas 5 y 25 (lejos de la entrada y de la salida). Repetimos el sorteo
# con tres semillas y nos quedamos con la mediana.

data = gc.digits()
X, y = data.X_train[:128], data.y_train[:128]


def measured_chi(sigma_w, sigma_b, seed):
    def init(weight):
        std = sigma_w / math.sqrt(weight.shape[1])  # Var(W) = σ_w² / n
        return nn.init.normal_(weight, 0.0, std)

    model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=WIDTH,
                   activation="tanh", init=init, seed=seed)
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed + 1000)
        for layer in model.linears:
            layer.bias.normal_(0.0, 1.0).mul_(sigma_b)
    g = np.array([r["grad_std"] for r in gc.layer_stats(model, X, y)])
    return (g[4] / g[24]) ** (2 / 20)


def phase_diagram(seed):
    return {"chi": [[measured_chi(w, b, seed) for w in SIGMA_W]
                    for b in SIGMA_B]}


runs = gc.over_seeds(phase_diagram, seeds=SEEDS)
chi_measured = runs.median("chi")
chi_theory = np.array([[theory.chi1("tanh", w**2, b**2) for w in SIGMA_W]
                       for b in SIGMA_B])
b_line = np.linspace(0, SIGMA_B[-1], 41)
w_line = np.sqrt([theory.critical_sigma_w2("tanh", b**2) for b in b_line])
for b, row in zip(SIGMA_B, chi_measured, strict=True):
    print(f"σ_b = {b:.2f}: χ₁ medido {np.round(row, 2)}")

# %%
# El diagrama de fases
# --------------------
#
# Color: :math:`\log_{10}` del factor medido, con una escala distinta a cada
# lado del 0 (azul: el gradiente se apaga al bajar hacia la entrada; rojo:
# crece). Línea negra: la frontera teórica :math:`\chi_1 = 1`.

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 4.4))
log_chi = np.log10(chi_measured)
norm = TwoSlopeNorm(vcenter=0.0, vmin=log_chi.min(), vmax=log_chi.max())
mesh = ax.pcolormesh(SIGMA_W, SIGMA_B, log_chi, cmap="RdBu_r", norm=norm,
                     shading="nearest")
fig.colorbar(mesh, ax=ax, label="log₁₀ χ₁ medido (por capa)")
ax.plot(w_line, b_line, "k-", lw=2.5, label="teoría: χ₁ = 1 (borde del caos)")
ax.text(0.75, 0.8, "orden:\nlos gradientes\ndesaparecen", ha="center",
        va="center", color="white")
ax.text(2.6, 0.2, "caos:\nlos gradientes\nexplotan", ha="center",
        va="center", color="white")
ax.set_xlabel(r"escala de los pesos $\sigma_w$ ($W \sim \mathcal{N}(0;\ "
              r"\sigma_w^2/n)$)")
ax.set_ylabel(r"escala de los sesgos $\sigma_b$")
ax.set_title("Red tanh de 30 capas: crecimiento del gradiente por capa")
ax.legend(loc="upper right")
fig.set_label("Mapa de color del factor por capa con que crece el gradiente en una red tanh de 30 capas, según "
              "la escala de los pesos (horizontal) y la de los sesgos (vertical): azul a la izquierda, donde "
              "los gradientes desaparecen, rojo a la derecha, donde explotan; la línea negra de la teoría, "
              "χ₁ = 1, separa las dos zonas y se desplaza hacia pesos mayores al crecer los sesgos.")
ax.grid(False)
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Medida frente a teoría, punto a punto
# -------------------------------------

fig, ax = plt.subplots(figsize=(5.5, 4.6))
sc = ax.scatter(chi_theory.ravel(), chi_measured.ravel(),
                c=np.repeat(SIGMA_B, len(SIGMA_W)), cmap="viridis")
fig.colorbar(sc, ax=ax, label=r"escala de los sesgos $\sigma_b$")
ax.plot([0, 2], [0, 2], "k--", lw=1, label="medida = teoría")
ax.set(xlabel="χ₁ teórico (campo medio)",
       ylabel="χ₁ medido (capas 5 a 25, mediana)",
       title=r"Cada punto es un par $(\sigma_w, \sigma_b)$")
ax.legend()
fig.set_label("Dispersión del factor χ₁ medido frente al teórico, un punto por par de escalas de pesos y "
              "sesgos coloreado por la de los sesgos: los puntos siguen la diagonal medida = teoría.")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# La frontera que predice la teoría separa las dos fases medidas: a su
# izquierda el gradiente se encoge en cada capa y a su derecha crece. Pegados
# a la frontera, donde :math:`\chi_1 \approx 1`, una red finita de 128
# unidades apenas distingue un factor 0,98 de uno 1,02: con una sola semilla
# algún punto cae del lado equivocado (la celda siguiente imprime cuántos
# aciertan con la mediana de tres). Punto a
# punto, el factor medido coincide con :math:`\chi_1` con un error pequeño. Al
# aumentar :math:`\sigma_b` el borde del caos se desplaza hacia pesos más
# grandes: con sesgos grandes, :math:`\sigma_w = 1` ya no basta.
#
# Este ejemplo acompaña a :doc:`/clase/10-xavier` y a
# :doc:`/clase/12-activacion-inicializacion` (para qué sirve una
# inicialización «crítica»).

# %%
# Comprobación
# ------------
#
# Esta celda comprueba la conclusión sobre la mediana de las tres semillas:
# el error frente a la teoría y la fase de cada punto que no está pegado a la
# frontera. Al construir el sitio se ejecuta: si deja de cumplirse, la
# construcción falla.

log_err = np.abs(np.log(chi_measured) - np.log(chi_theory))
same = np.sign(np.log(chi_measured)) == np.sign(np.log(chi_theory))
clear = np.abs(np.log(chi_theory)) > 0.05  # puntos no pegados a la frontera
print(f"error máximo |ln χ₁ medido − ln χ₁ teórico| = {log_err.max():.3f}")
print(f"fase acertada en {same.sum()} de {same.size} puntos")
if not same.all():
    print(f"fallos a |ln χ₁ teórico| ≤ "
          f"{np.abs(np.log(chi_theory[~same])).max():.3f}")
assert log_err.max() < 0.15
assert same[clear].all()
assert abs(w_line[0] - 1.0) < 1e-6 and w_line[-1] > 1.5  # luego se desplaza

# sphinx_gallery_thumbnail_number = 1
