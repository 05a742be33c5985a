"""
Isometría dinámica: pesos gaussianos frente a ortogonales
=========================================================

Una inicialización «de factor 1» conserva la varianza *en media*. Pero la
jacobiana entrada–salida de una red profunda es un producto de matrices
aleatorias, y sus valores singulares se dispersan con la profundidad aunque su
media sea 1 (Saxe et al. 2013; Pennington et al. 2017). Con pesos ortogonales
la dispersión desaparece en una red lineal y casi desaparece en una red tanh en
el borde del caos: es la *isometría dinámica*.
"""

# sphinx_gallery_thumbnail_number = 1

# %%
# La jacobiana entrada–salida
# ---------------------------
#
# Para una red de :math:`L` capas, :math:`h_k = f(z_k)` con
# :math:`z_k = W_k h_{k-1} + b_k`, la jacobiana de la última capa respecto a la
# entrada es el producto
#
# .. math::
#
#    J = \frac{\partial h_L}{\partial h_0} = D_L W_L \cdots D_2 W_2\, D_1 W_1,
#    \qquad D_k = \operatorname{diag}\big(f'(z_k)\big).
#
# El gradiente que llega a la entrada es :math:`J^\top` por el de la salida,
# así que los valores singulares :math:`s_i` de :math:`J` dicen cuánto se
# estira o se encoge cada dirección. Llamamos :math:`\lambda_i = s_i^2`. Las
# reglas de Xavier y He eligen la varianza de los pesos para que la media de
# :math:`\lambda` sea 1; la *isometría dinámica* pide más: que **todos** los
# :math:`\lambda_i` estén cerca de 1. Medimos su dispersión relativa,
# :math:`\operatorname{std}(\lambda)/\operatorname{media}(\lambda)`, en cuatro
# redes de 128 unidades por capa:
#
# * **lineales** (:math:`f(z) = z`, sin sesgos) con pesos gaussianos
#   :math:`\mathcal{N}(0;\ 1/n)` o ortogonales
#   (:func:`gradcourse.initializers.orthogonal_`, todos los valores singulares
#   iguales a 1). Para la gaussiana la teoría da
#   :math:`\operatorname{std}(\lambda)/\operatorname{media}(\lambda) = \sqrt{L}`
#   en el límite de anchura infinita (los momentos de un producto de :math:`L`
#   matrices gaussianas son los números de Fuss–Catalan);
# * **tanh en el borde del caos**, con sesgos pequeños,
#   :math:`\sigma_b^2 = 10^{-4}`, y la escala crítica de los pesos,
#   :math:`\sigma_w^2` tal que :math:`\chi_1 = 1`
#   (:func:`gradcourse.theory.critical_sigma_w2`), gaussianos o ortogonales. La
#   entrada empieza en el punto fijo :math:`q^*` de la varianza
#   (:func:`gradcourse.theory.fixed_point`), así que todas las capas trabajan
#   en el mismo régimen.
#
# Construimos cada red con :class:`gradcourse.MLP` (``init`` acepta cualquier
# función in situ) y acumulamos el producto capa a capa, en doble precisión;
# cada semilla sortea los pesos, los sesgos y la entrada.

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

import gradcourse as gc
from gradcourse import plots, theory

plots.use_style()
WIDTH, DEPTH, SEEDS = 128, 64, 5
MEASURED = [1, 2, 4, 8, 16, 32, 64]  # profundidades en las que medimos J
SIGMA_B2 = 1e-4
SIGMA_W2 = {"identity": 1.0, "tanh": theory.critical_sigma_w2("tanh", SIGMA_B2)}
Q_STAR = theory.fixed_point("tanh", SIGMA_W2["tanh"], SIGMA_B2)
print(f"tanh: σ_w² crítica = {plots.number(SIGMA_W2['tanh'], '.4f')}, "
      f"q* = {plots.number(Q_STAR, '.4f')}")


def network(activation, weights, seed):
    """An MLP whose hidden layers are the network: σ_w²/n Gaussian or orthogonal."""
    gain = math.sqrt(SIGMA_W2[activation])

    def init(weight):
        if weights == "ortogonal":
            return gc.initializers.orthogonal_(weight, gain=gain)
        return gc.initializers.normal_(weight, std=gain / math.sqrt(weight.shape[1]))

    model = gc.MLP(WIDTH, 10, depth=DEPTH, width=WIDTH, activation=activation,
                   init=init).double()
    model.reset_parameters(seed=seed)  # drawn in float64: orthogonal to rounding
    if activation == "tanh":
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(seed + 1000)
            for layer in model.hidden:
                layer.linear.bias.normal_(0.0, math.sqrt(SIGMA_B2))
    return model


def derivative(activation, z):
    return torch.ones_like(z) if activation == "identity" else 1 - torch.tanh(z) ** 2


def jacobian_spectra(activation, weights, seed):
    """λ = s² of J = D_k W_k ⋯ D_1 W_1 at the depths in MEASURED."""
    model = network(activation, weights, seed)
    gen = torch.Generator().manual_seed(seed)
    scale = math.sqrt(Q_STAR) if activation == "tanh" else 1.0
    h = scale * torch.randn(WIDTH, generator=gen, dtype=torch.float64)  # (n,)
    J = torch.eye(WIDTH, dtype=torch.float64)                            # (n, n)
    spectra = {}
    with torch.no_grad():
        for k, layer in enumerate(model.hidden, 1):
            z = layer.linear(h)
            J = derivative(activation, z)[:, None] * (layer.linear.weight @ J)
            h = layer.act(z)
            if k in MEASURED:
                spectra[k] = torch.linalg.svdvals(J) ** 2
    return model, h, spectra


CASES = {("identity", "gaussiana"): "lineal, gaussiana",
         ("identity", "ortogonal"): "lineal, ortogonal",
         ("tanh", "gaussiana"): "tanh crítica, gaussiana",
         ("tanh", "ortogonal"): "tanh crítica, ortogonal"}


def experiment(seed):
    out = {}
    for (activation, weights), name in CASES.items():
        _, _, spectra = jacobian_spectra(activation, weights, seed)
        lam = [spectra[k] for k in MEASURED]
        out[name + " media"] = [v.mean().item() for v in lam]
        out[name + " dispersión"] = [(v.std() / v.mean()).item() for v in lam]
        s = spectra[DEPTH].sqrt()
        out[name + " cerca de 1"] = ((s > 0.5) & (s < 2)).double().mean().item()
    return out


runs = gc.over_seeds(experiment, seeds=SEEDS)
for name in CASES.values():
    lo, hi = runs.range(name + " dispersión")
    near_lo, near_hi = runs.range(name + " cerca de 1")
    print(f"{name:>24}, {DEPTH} capas: std(λ)/media(λ) "
          f"{plots.number_range(lo[-1], hi[-1], '.2f')}; valores singulares entre "
          f"0,5 y 2: {plots.number_range(100 * near_lo, 100 * near_hi, '.0f', '%')}")

# %%
# La media se conserva; la dispersión, no
# ---------------------------------------
#
# Arriba, la media de :math:`\lambda`: su mediana sobre las semillas se
# queda cerca de 1 en las cuatro redes, que es lo que garantiza una
# inicialización «de factor 1». Con pesos gaussianos, pasadas las 16 capas, la
# media de una semilla concreta ya se aleja de 1 (la banda se abre): la
# dominan unos pocos valores singulares grandes. Abajo, la dispersión
# relativa. La línea es la mediana de las 5 semillas y la banda va de la menor
# a la mayor.

fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(plots.FIG_WIDTH, 6.6))
fig.set_label(
    "Dos paneles frente a la profundidad, de 1 a 64 capas en escala "
    "logarítmica. Arriba, la mediana de la media de los valores "
    "singulares al cuadrado de la jacobiana se queda cerca de 1 en las cuatro "
    "redes, aunque con pesos gaussianos la banda de las semillas se abre "
    "entre 0,1 y 5 a 64 capas. Abajo, "
    "su dispersión relativa: con pesos gaussianos crece como la raíz "
    "de la profundidad, sobre la curva teórica, hasta entre 6 y 8 a 64 capas, "
    "en la red lineal y en la tanh; con pesos ortogonales es 0 en la red "
    "lineal y se queda por debajo de 1 en la tanh.")
styles = {"lineal, gaussiana": ("normal", "-", "o"),
          "lineal, ortogonal": ("orthogonal", "-", "s"),
          "tanh crítica, gaussiana": ("normal", "--", "^"),
          "tanh crítica, ortogonal": ("orthogonal", "--", "D")}
for name, (scheme, ls, marker) in styles.items():
    for ax, stat in ((ax1, "media"), (ax2, "dispersión")):
        plots.band(ax, MEASURED, runs[f"{name} {stat}"], label=name,
                   color=plots.color(scheme), ls=ls, marker=marker, ms=4)
depths = np.array(MEASURED)
ax2.plot(depths, np.sqrt(depths), "k:", lw=1.5, label=r"teoría gaussiana: $\sqrt{L}$")
for ax in (ax1, ax2):
    ax.set_xscale("log", base=2)
    ax.set_xticks(MEASURED, [str(d) for d in MEASURED])
    ax.set_xlabel("profundidad L (capas)")
ax1.set(yscale="log", ylim=(0.1, 10), ylabel="media de λ = s²", title="media")
ax2.set(ylabel="std(λ) / media(λ)", title="dispersión relativa")
ax2.legend(loc="upper left")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# El espectro a 64 capas
# ----------------------
#
# Los 128 valores singulares de :math:`J` con 64 capas (semilla 0),
# ordenados de mayor a menor, y la banda de 0,5 a 2. Con pesos gaussianos unos
# pocos se estiran y la mayoría se encoge en muchos órdenes de magnitud: el
# gradiente llega a la entrada por unas pocas direcciones. Con pesos
# ortogonales el espectro de la red lineal es plano en 1 y el de la tanh
# crítica se queda, casi entero, cerca de 1 (la celda de arriba imprime qué
# parte de los valores singulares cae entre 0,5 y 2 en cada red).

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 4.4))
fig.set_label(
    "Los 128 valores singulares de la jacobiana de una red de 64 capas, "
    "ordenados de mayor a menor, en escala logarítmica, con una banda entre "
    "0,5 y 2. Con pesos gaussianos, lineales o tanh, los mayores pasan de 10 y "
    "a partir de unos 35 caen por debajo de 10⁻⁴; con pesos ortogonales la "
    "red lineal los tiene todos en 1 y la tanh crítica, la mayoría dentro de "
    "la banda: solo los últimos caen por debajo de 0,5.")
spectra0 = {}
for (activation, weights), name in CASES.items():
    _, _, spectra = jacobian_spectra(activation, weights, seed=0)
    spectra0[name] = spectra[DEPTH].sqrt().numpy()  # descending
    scheme, ls, marker = styles[name]
    ax.plot(np.arange(1, WIDTH + 1), spectra0[name], color=plots.color(scheme),
            ls=ls, marker=marker, ms=3, markevery=8, label=name)
ax.axhspan(0.5, 2, color="0.85", zorder=0, label="entre 0,5 y 2")
ax.set(yscale="log", ylim=(1e-4, 30), xlabel="índice del valor singular",
       ylabel="valor singular s", title=f"Jacobiana de {DEPTH} capas (semilla 0)")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Conservar la varianza no basta para que el gradiente llegue bien a todas las
# capas de una red muy profunda. Con pesos gaussianos de factor 1, la media de
# :math:`\lambda` se queda cerca de 1 en la mediana de las semillas, pero su
# dispersión relativa crece como
# :math:`\sqrt{L}`: con 64 capas unas pocas direcciones concentran el
# gradiente y el resto casi no lo recibe. Con pesos ortogonales la red lineal es
# una isometría exacta a cualquier profundidad (Saxe et al. 2013), y la red
# tanh en el borde del caos, con :math:`q^*` pequeño, conserva un espectro
# estrecho (Pennington et al. 2017). La isometría necesita las dos cosas: pesos
# ortogonales y estar en el borde del caos, donde :math:`\chi_1 = 1`
# (:ref:`sphx_glr_auto_examples_3_inicializacion_plot_edge_of_chaos.py`). Con
# ReLU, los pesos ortogonales no bastan: la lección sobre la
# :doc:`inicialización de He </clase/11-he>` lo mide.
#
# Este ejemplo acompaña a la lección sobre la
# :doc:`inicialización de He </clase/11-he>`.

# %%
# Comprobación
# ------------
#
# Esta celda comprueba la conclusión en las 5 semillas: el producto acumulado
# coincide con la jacobiana que calcula la retropropagación, la mediana de la
# media de :math:`\lambda` queda entre 0,5 y 2, la red lineal
# ortogonal es una isometría, la gaussiana sigue la teoría :math:`\sqrt{L}`
# hasta 16 capas, y a 64 capas cada red ortogonal queda por debajo de cada
# gaussiana. Al construir el sitio se ejecuta: si algo deja de cumplirse, la
# construcción falla.

model, _, spectra = jacobian_spectra("tanh", "ortogonal", seed=0)
x0 = math.sqrt(Q_STAR) * torch.randn(WIDTH, generator=torch.Generator().manual_seed(0),
                                     dtype=torch.float64)
hidden = torch.nn.Sequential(*model.hidden)
J_autograd = torch.autograd.functional.jacobian(hidden, x0)  # (n, n)
lam_autograd = torch.linalg.svdvals(J_autograd) ** 2
assert torch.allclose(lam_autograd, spectra[DEPTH], rtol=1e-8, atol=1e-12)

mean = {name: runs[name + " media"] for name in CASES.values()}
spread = {name: runs[name + " dispersión"] for name in CASES.values()}
assert np.abs(mean["lineal, ortogonal"] - 1).max() < 1e-9
assert spread["lineal, ortogonal"].max() < 1e-6
for name in CASES.values():  # the mean's median over seeds stays near 1
    median = np.median(mean[name], axis=0)
    assert (0.5 < median).all() and (median < 2).all(), name
shallow = depths <= 16
theory_ratio = np.median(spread["lineal, gaussiana"], axis=0)[shallow] / np.sqrt(depths[shallow])
print("lineal gaussiana, medida / √L hasta 16 capas:",
      ", ".join(plots.number(v, ".2f") for v in theory_ratio))
assert np.abs(theory_ratio - 1).max() < 0.2
worst_orthogonal = spread["tanh crítica, ortogonal"][:, -1].max()
best_gaussian = min(spread["lineal, gaussiana"][:, -1].min(),
                    spread["tanh crítica, gaussiana"][:, -1].min())
print(f"64 capas: tanh ortogonal como mucho {plots.number(worst_orthogonal, '.2f')}; "
      f"gaussianas al menos {plots.number(best_gaussian, '.2f')}")
assert worst_orthogonal < 1.5 and best_gaussian > 2.5
assert worst_orthogonal < best_gaussian / 2
near = {name: runs[name + " cerca de 1"] for name in CASES.values()}
assert (near["lineal, ortogonal"] == 1).all() and near["tanh crítica, ortogonal"].min() > 0.6
assert max(near["lineal, gaussiana"].max(), near["tanh crítica, gaussiana"].max()) < 0.2
