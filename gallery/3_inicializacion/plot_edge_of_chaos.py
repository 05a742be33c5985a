"""
El borde del caos: diagrama de fases de una red tanh profunda
=============================================================

La teoría de campo medio (Poole et al. 2016; Schoenholz et al. 2017) predice,
para pesos :math:`\\mathcal{N}(0;\\ \\sigma_w^2/n)` y sesgos
:math:`\\mathcal{N}(0;\\ \\sigma_b^2)`, el factor :math:`\\chi_1` por el que se
multiplica la varianza del gradiente en cada capa, y la escala de profundidad
:math:`\\xi = 1/|\\ln \\chi_1|`. Lo medimos en redes tanh de 30 capas y lo
comparamos con la línea crítica :math:`\\chi_1 = 1`.
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
#    \qquad z \sim \mathcal{N}(0;\ 1).
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
    print(f"σ_b = {plots.number(b, '.2f')}: χ₁ medido "
          + " ".join(plots.number(v, ".2f") for v in row))

# %%
# El diagrama de fases
# --------------------
#
# Color: :math:`\log_{10}` del factor medido, con una escala distinta a cada
# lado del 0 (azul: el gradiente se apaga al bajar hacia la entrada; rojo:
# crece). Línea negra: la frontera teórica :math:`\chi_1 = 1`.

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 4.4))
fig.set_label(
    "Diagrama de fases: escala de los pesos en horizontal, de 0,5 a 3, y de "
    "los sesgos en vertical, de 0 a 1, coloreado con el logaritmo del factor "
    "medido por capa del gradiente: azul a la izquierda, donde el gradiente se "
    "encoge, y rojo a la derecha, donde crece. La frontera teórica, una línea "
    "negra que sale de 1 con sesgos nulos y se curva hacia pesos mayores al "
    "crecer los sesgos, separa los dos colores.")
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
ax.set_title("Gradiente por capa, red tanh de 30 capas")
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

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 4.6))
fig.set_label(
    "Factor por capa medido frente al teórico, un punto por par de escalas "
    "de pesos y sesgos, coloreado por la escala de los sesgos: los puntos "
    "caen sobre la diagonal medida igual a teoría, entre 0,1 y 2.")
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
# La escala de profundidad
# ------------------------
#
# Si el gradiente se multiplica por :math:`\chi_1` en cada capa, al cabo de
# :math:`\ell` capas lo ha hecho por
# :math:`\chi_1^{\ell} = e^{\pm \ell/\xi}`, con
#
# .. math::
#
#    \xi = \frac{1}{|\ln \chi_1|}
#
# la *escala de profundidad* de Schoenholz et al. (2017): el número de capas
# en el que la varianza del gradiente cambia un factor :math:`e`
# (:func:`gradcourse.theory.depth_scale`). Una red mucho más profunda que
# :math:`\xi` ya no transmite el gradiente de forma útil: lo apaga o lo hace
# explotar. Solo en el borde del caos, donde :math:`\chi_1 = 1`, :math:`\xi`
# diverge. Comparamos la :math:`\xi` medida (la del factor medido de arriba)
# con la teórica en dos filas del diagrama.
#
# Un punto más, fuera del diagrama: la red tanh de la lección
# :doc:`sigmoide y tanh </clase/06-sigmoid-tanh>`, con pesos
# :math:`\mathcal{N}(0;\ 0{,}5^2)` y 64 entradas por unidad, es decir,
# :math:`\sigma_w^2 = 64 \cdot 0{,}5^2 = 16` y sesgos nulos. La medimos igual,
# con :math:`\sigma_w = 4` en esta red de 128 unidades (la misma
# :math:`\sigma_w^2`).

def xi(chi):
    return 1 / np.abs(np.log(chi))


lesson06 = gc.over_seeds(lambda seed: {"chi": measured_chi(4.0, 0.0, seed)},
                         seeds=SEEDS)
chi06, chi06_theory = lesson06.median("chi"), theory.chi1("tanh", 16.0)
xi06_theory = theory.depth_scale("tanh", 16.0)
print(f"lección 06 (σ_w² = 16): χ₁ medido {plots.number(chi06, '.2f')}, teórico "
      f"{plots.number(chi06_theory, '.2f')}; ξ medida {plots.number(xi(chi06), '.2f')} "
      f"capas, teórica {plots.number(xi06_theory, '.2f')}")

ROWS = {0.0: ("-", "o"), 1.0: ("--", "s")}
w_dense = np.linspace(0.5, 3.0, 201)
fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.6))
fig.set_label(
    "Escala de profundidad frente a la escala de los pesos, de 0,5 a 3, en "
    "escala logarítmica, para sesgos de escala 0 y 1: la curva teórica sube "
    "hacia infinito en el borde del caos, en 1 sin sesgos y cerca de 1,9 con "
    "sesgos de escala 1, y baja a una o dos capas lejos de él; los puntos "
    "medidos siguen la curva. Un punto aparte marca la red de la lección 6, "
    "con escala 4 y una escala de profundidad de algo más de una capa.")
for b, (ls, marker) in ROWS.items():
    row = list(SIGMA_B).index(b)
    theory_xi = [theory.depth_scale("tanh", w**2, b**2) for w in w_dense]
    line, = ax.plot(w_dense, theory_xi, ls=ls, color="k", lw=1.2,
                    label=f"teoría, σ_b = {plots.number(b, 'g')}")
    ax.plot(SIGMA_W, xi(chi_measured[row]), marker, color=plots.color("tanh"),
            ms=5, label=f"medida, σ_b = {plots.number(b, 'g')}")
ax.plot([4.0], [xi(chi06)], "D", color=plots.color("exploding"), ms=6,
        label="red de la lección 6 (σ_w = 4)")
ax.set(yscale="log", ylim=(0.5, 200), xlim=(0.4, 4.2),
       xlabel=r"escala de los pesos $\sigma_w$", ylabel="ξ (capas)",
       title="Escala de profundidad ξ (capas por factor e)")
ax.legend(loc="upper right")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Lejos del borde, :math:`\xi` es de una o dos capas: en 30 capas el gradiente
# cambia en muchos órdenes de magnitud. La red de la lección 6 está muy dentro
# de la fase caótica: con :math:`\chi_1` por encima de 2 (la celda de arriba
# imprime el valor medido y el teórico), su gradiente se multiplica por
# :math:`e` cada poco más de una capa hacia la entrada. Por eso
# explota aunque muchas de sus unidades estén saturadas: la saturación baja
# :math:`\mathbb{E}[\tanh'^2]`, pero :math:`\sigma_w^2 = 16` pesa más.

# %%
# Conclusión
# ----------
#
# La frontera que predice la teoría separa las dos fases medidas: a su
# izquierda el gradiente se encoge en cada capa y a su derecha crece, y la
# escala de profundidad :math:`\xi = 1/|\ln \chi_1|` dice en cuántas capas lo
# hace un factor :math:`e`: una o dos lejos de la frontera, cada vez más cerca
# de ella. Pegados
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
# frontera, la escala de profundidad de los puntos alejados de ella y la red
# de la lección 6. Al construir el sitio se ejecuta: si deja de cumplirse, la
# construcción falla.

log_err = np.abs(np.log(chi_measured) - np.log(chi_theory))
same = np.sign(np.log(chi_measured)) == np.sign(np.log(chi_theory))
clear = np.abs(np.log(chi_theory)) > 0.05  # puntos no pegados a la frontera
print(f"error máximo |ln χ₁ medido − ln χ₁ teórico| = {plots.number(log_err.max(), '.3f')}")
print(f"fase acertada en {same.sum()} de {same.size} puntos")
if not same.all():
    print(f"fallos a |ln χ₁ teórico| ≤ "
          f"{plots.number(np.abs(np.log(chi_theory[~same])).max(), '.3f')}")
far = np.abs(np.log(chi_theory)) > 0.3  # ξ teórica menor que 3,3 capas
xi_err = np.abs(np.log(xi(chi_measured[far]) / xi(chi_theory[far])))
print(f"ξ con |ln χ₁| > 0,3: error relativo máximo {plots.number(xi_err.max(), '.2f')} (en ln)")
assert log_err.max() < 0.15
assert same[clear].all()
assert abs(w_line[0] - 1.0) < 1e-6 and w_line[-1] > 1.5  # luego se desplaza
assert xi_err.max() < 0.5
assert abs(np.log(chi06 / chi06_theory)) < 0.15 and 2 < chi06 < 3  # lección 6
assert xi(chi06) < 1.5 and abs(xi06_theory - 1 / np.log(chi06_theory)) < 1e-9

# sphinx_gallery_thumbnail_number = 1
