"""
Histogramas por capa: inicialización estándar frente a normalizada
==================================================================

Versión reducida de las figuras 6 y 7 de Glorot y Bengio (2010): histogramas
de las activaciones y de los gradientes retropropagados en cada capa de una
red tanh recién inicializada, con la inicialización «estándar» y con la
«normalizada» (Xavier).
"""

# sphinx_gallery_thumbnail_number = 4

# %%
# Las dos inicializaciones
# ------------------------
#
# La heurística estándar de la época muestrea
# :math:`W \sim \mathcal{U}[-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}}]`, de modo que
# :math:`n_{in}\operatorname{Var}(W) = 1/3`: cerca del régimen lineal de tanh,
# cada capa divide la varianza de la señal por 3 hacia delante, y la del
# gradiente por 3 hacia atrás. Son también los pesos por defecto de
# ``nn.Linear`` en PyTorch
# (:func:`~gradcourse.initializers.glorot_standard_`); PyTorch sortea además
# los sesgos, que aquí empiezan en 0 (lo que cambian sus sesgos lo mide la
# lección :doc:`/clase/10-xavier`). La inicialización
# normalizada (:func:`~gradcourse.initializers.xavier_uniform_`) usa
# :math:`\operatorname{Var}(W) = 2/(n_{in} + n_{out})`, un compromiso entre
# conservar las dos varianzas.
#
# Construimos una red de 5 capas ocultas tanh de 256 unidades y hacemos una
# pasada hacia delante y otra hacia atrás con 512 dígitos, sin entrenar:
# como en las figuras 6 a 8 del artículo, todo lo que sigue es la red en su
# inicialización.

import matplotlib.pyplot as plt
import numpy as np
from torch import nn

import gradcourse as gc
import gradcourse.plots

gc.plots.use_style()
DEPTH, WIDTH = 5, 256
INITS = {"estándar": "glorot_standard",
         "normalizada (Xavier)": "xavier_uniform"}
COLORS = {"estándar": gc.plots.color("glorot_standard"),
          "normalizada (Xavier)": gc.plots.color("xavier")}

data = gc.digits()
X, y = data.X_train[:512], data.y_train[:512]


def make(init, seed):
    return gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=WIDTH,
                  activation="tanh", init=init, seed=seed)


# %%
# Los histogramas
# ---------------
#
# :func:`gradcourse.layer_stats` da la desviación típica de cada capa, pero no
# los histogramas; para ellos un :class:`~gradcourse.tracking.Tracker` con
# ``histograms=True`` guarda, en una pasada, los de las activaciones y los de
# :math:`\partial L/\partial z` en cada capa (semilla 0).

histograms = {}
for label, init in INITS.items():
    model = make(init, seed=0)
    with gc.Tracker(model, histograms=True, update_ratio=False) as tracker:
        nn.functional.cross_entropy(model(X), y).backward()
        tracker.step()
    histograms[label] = tracker.histograms

layer_colors = plt.get_cmap("cividis")(np.linspace(0, 0.9, DEPTH))
ALT = {
    "activation": "Histogramas de las activaciones tanh de las 5 capas, uno por "
                  "capa en colores de oscuro a claro, con la inicialización "
                  "estándar a la izquierda y la normalizada a la derecha: con la "
                  "estándar se estrechan hacia 0 al subir de capa; con la "
                  "normalizada las cinco se parecen.",
    "gradient": "Histogramas del gradiente retropropagado de las 5 capas, en "
                "unidades de 10⁻⁴: con la inicialización estándar se estrechan "
                "hacia 0 al bajar hacia la capa 1; con la normalizada las "
                "cinco tienen una anchura parecida.",
}


def draw(kind, xlabel, unit=1.0, sharey=True):
    """One panel per initialization, one curve per layer; x in ``unit``s."""
    fig, axes = plt.subplots(1, 2, figsize=(gc.plots.FIG_WIDTH, 3.2),
                             sharex=True, sharey=sharey)
    fig.set_label(ALT[kind])
    for ax, (label, hists) in zip(axes, histograms.items(), strict=True):
        for h in sorted(hists, key=lambda h: h["layer"]):
            if h["kind"] != kind:
                continue
            counts = np.asarray(h["counts"])
            edges = np.asarray(h["edges"]) / unit
            density = counts / (counts.sum() * np.diff(edges))
            ax.stairs(density, edges, color=layer_colors[h["layer"] - 1],
                      lw=1.8, label=f"capa {h['layer']}")
        ax.set(title=f"Inicialización {label}", xlabel=xlabel)
    axes[0].set_ylabel("densidad")
    axes[0].legend(loc="upper left")
    return fig, axes


# %%
# Primero las activaciones y después los gradientes retropropagados. Cada
# curva es una capa (1 = la más cercana a la entrada). Con la inicialización
# estándar las activaciones se concentran en 0 al subir de capa y los
# gradientes se concentran en 0 al bajar; con la normalizada todas las capas
# se parecen. Los gradientes se muestran en unidades de :math:`10^{-4}`.

fig, axes = draw("activation", "activación tanh(z)")
axes[0].set_xlim(-1, 1)
gc.plots.spanish_axes(fig)
fig.set_label("Dos paneles, inicialización estándar y normalizada: densidad de las activaciones tanh de las "
              "capas 1 a 5, una curva por capa. Con la estándar las curvas se estrechan hacia 0 al subir de "
              "capa; con la normalizada todas las capas se parecen.")
fig.tight_layout(w_pad=2)

fig, axes = draw("gradient", "∂L/∂z (× 10⁻⁴)", unit=1e-4, sharey=False)
gc.plots.spanish_axes(fig)
fig.set_label("Dos paneles, inicialización estándar y normalizada: densidad del gradiente retropropagado de las "
              "capas 1 a 5, una curva por capa. Con la estándar las curvas se estrechan hacia 0 al bajar hacia "
              "la capa 1; con la normalizada todas las capas se parecen.")
fig.tight_layout(w_pad=2)

# %%
# Cuánto cambia cada distribución de la capa 1 a la 5
# ---------------------------------------------------
#
# Resumimos cada histograma con su desviación típica, ahora en 5 semillas
# (:func:`gradcourse.over_seeds`): la línea es la mediana y la banda va de la
# menor a la mayor.


def experiment(seed):
    out = {}
    for label, init in INITS.items():
        stats = gc.layer_stats(make(init, seed), X, y)
        out[label + " activación"] = [r["act_std"] for r in stats]
        out[label + " gradiente"] = [r["grad_std"] for r in stats]
    return out


runs = gc.over_seeds(experiment, seeds=5)
layers = np.arange(1, DEPTH + 1)
for what, title, ylabel in [
        ("activación", "Desviación típica de las activaciones",
         "std de la activación"),
        ("gradiente", "Desviación típica del gradiente retropropagado",
         "std de ∂L/∂z")]:
    fig, ax = plt.subplots(figsize=(gc.plots.FIG_WIDTH, 3.2))
    fig.set_label(
        f"{title} por capa, de 1 a 5, en escala logarítmica, mediana y rango "
        "de 5 semillas: con la inicialización estándar cae unas diez veces "
        + ("de la capa 1 a la 5" if what == "activación" else "de la capa 5 a la 1")
        + "; con la normalizada (Xavier) cambia menos de dos veces.")
    for label in INITS:
        gc.plots.band(ax, layers, runs[f"{label} {what}"], label=label,
                      color=COLORS[label], marker="o")
    ax.set(yscale="log", title=title, ylabel=ylabel)
    gc.plots.layer_axis(ax)
    ax.legend()
    fig.set_label(f"Escala logarítmica: {title.lower()} en las capas 1 a 5 (mediana y rango de 5 semillas) con "
                  "las inicializaciones estándar y normalizada: con la estándar cambia más de 5 veces entre la "
                  "capa 1 y la 5; con la normalizada cambia menos de 2 veces.")
    fig.tight_layout()

# %%
# Los cocientes entre la capa 1 y la 5, semilla a semilla:


def ratios(label):
    act, grad = runs[label + " activación"], runs[label + " gradiente"]
    return act[:, 0] / act[:, -1], grad[:, -1] / grad[:, 0]


for label in INITS:
    act, grad = ratios(label)
    print(f"{label}: activación capa 1 / capa 5 "
          f"{gc.plots.number_range(act.min(), act.max(), '.1f')};")
    print(f"  gradiente capa 5 / capa 1 "
          f"{gc.plots.number_range(grad.min(), grad.max(), '.1f')}")

# %%
# Conclusión
# ----------
#
# Con la inicialización estándar la desviación típica de las activaciones
# cae unas 10 veces de la capa 1 a la 5 (en el régimen lineal de tanh,
# :math:`\sqrt{3}^4 = 9`), y la del gradiente cae otras tantas de la capa 5 a
# la 1, en todas las semillas: las capas bajas reciben gradientes mucho
# menores que las altas. Con la inicialización normalizada ambos cocientes
# quedan por debajo de 2, que es lo que Glorot y Bengio buscaban al igualar
# las varianzas hacia delante y hacia atrás.
#
# Este ejemplo acompaña a :doc:`/clase/10-xavier`.

# %%
# Comprobación
# ------------
#
# Esta celda verifica la conclusión en las 5 semillas (el mínimo o el máximo
# de cada cociente): si dejara de cumplirse, la construcción del sitio
# fallaría.

std_act, std_grad = ratios("estándar")
xav_act, xav_grad = ratios("normalizada (Xavier)")
assert std_act.min() > 5 and std_grad.min() > 5, (std_act, std_grad)
assert xav_act.max() < 2 and xav_grad.max() < 2, (xav_act, xav_grad)
