"""
Activación × inicialización × profundidad
=========================================

Entrenamos la misma red con cada combinación de activación (sigmoide, tanh,
ReLU), inicialización de pesos (pesos pequeños arbitrarios, Xavier, He) y
profundidad (3 y 12 capas ocultas), cinco veces con semillas distintas, y
pintamos la exactitud (*accuracy*) final en un mapa de calor.
"""

# %%
# El experimento
# --------------
#
# Todas las redes tienen 32 unidades por capa y se entrenan 60 pasos con SGD
# con momento 0,9 (tasa de aprendizaje 0,02, lotes de 128) sobre los dígitos;
# la celda imprime los valores que usa. Solo cambian tres argumentos de
# :class:`gradcourse.MLP`: ``activation``, ``init`` y ``depth``. Las tres
# inicializaciones, con :math:`n` entradas por capa:
#
# - la «arbitraria», :math:`\mathcal{N}(0;\, 0{,}01^2)`: la receta de «números
#   aleatorios pequeños» que no tiene en cuenta el tamaño de la capa;
# - Xavier, :math:`\operatorname{Var}(W) = 2/(n_{in} + n_{out})`, que es
#   :math:`1/n` en las capas cuadradas;
# - He, :math:`\operatorname{Var}(W) = 2/n_{in}`, la fórmula que He et al.
#   derivan para ReLU, aplicada tal cual a las tres activaciones
#   (la función ``he_2n`` de abajo; ``init="he_normal"``, en cambio, adapta
#   la ganancia a la activación, como ``torch.nn.init.calculate_gain``).
#
# Cada semilla fija los pesos iniciales y el orden de los lotes;
# :func:`gradcourse.over_seeds` repite la rejilla completa con cada una.

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse import plots

plots.use_style()
data = gc.digits()


def he_2n(weight):
    """Var(W) = 2/n_in, la fórmula de He para ReLU, con cualquier activación."""
    return gc.initializers.he_normal_(weight, activation="relu")


ACTIVATIONS = {"sigmoid": "sigmoide", "tanh": "tanh", "relu": "ReLU"}
INITS = {"N(0; 0,01²)": ("normal", {"std": 0.01}),
         "Xavier": ("xavier_normal", {}),
         "He (2/n)": (he_2n, {})}
DEPTHS = [3, 12]
LR, STEPS, BATCH, SEEDS = 0.02, 60, 128, 5
print(f"SGD con momento: tasa {plots.number(LR, 'g')}, {STEPS} pasos, "
      f"lotes de {BATCH}, {SEEDS} semillas")


def grid(seed):
    acc = np.zeros((len(DEPTHS), len(ACTIVATIONS), len(INITS)))
    for d, depth in enumerate(DEPTHS):
        for a, act in enumerate(ACTIVATIONS):
            for i, (init, kwargs) in enumerate(INITS.values()):
                model = gc.MLP(data.in_features, data.n_classes, depth=depth,
                               width=32, activation=act, init=init,
                               init_kwargs=kwargs, seed=seed)
                hist = gc.train(model, data, lr=LR, optimizer="momentum",
                                batch_size=BATCH, steps=STEPS, seed=seed,
                                eval_every=STEPS)
                acc[d, a, i] = hist.test_acc[-1]
    return {"acc": acc}


runs = gc.over_seeds(grid, seeds=SEEDS)
acc = runs.median("acc")  # (profundidad, activación, inicialización)
lo, hi = runs.range("acc")
for d, depth in enumerate(DEPTHS):
    print(f"{depth} capas ocultas: mediana de la exactitud en % (filas: "
          f"{', '.join(ACTIVATIONS.values())}; columnas: {', '.join(INITS)})")
    for a, name in enumerate(ACTIVATIONS.values()):
        print(f"  {name:>8}: " + "  ".join(f"{plots.number(100 * v, '.0f'):>3}"
                                          for v in acc[d, a]))

# %%
# El mapa de calor
# ----------------
#
# Cada casilla da la mediana de la exactitud en el conjunto de prueba tras los
# 60 pasos y, debajo, la menor y la mayor de las cinco semillas. El 10 % es el
# azar.


def percent(value):
    return f"{100 * value:.0f}"


fig, axes = plt.subplots(len(DEPTHS), 1, figsize=(plots.FIG_WIDTH, 6.4),
                         layout="constrained")
fig.set_label(
    "Dos mapas de calor, 3 y 12 capas ocultas, con la exactitud mediana en "
    "cada casilla de activación (sigmoide, tanh, ReLU) por inicialización "
    "(N(0; 0,01²), Xavier, He) y el rango de las 5 semillas debajo. ReLU + He "
    "y tanh + Xavier aprenden a las dos profundidades; ReLU + Xavier aprende "
    "con 3 capas y se queda cerca del azar con 12; N(0; 0,01²) se queda en "
    "el azar en todas las casillas y la sigmoide no llega al 40 %.")
for d, (ax, depth) in enumerate(zip(axes, DEPTHS, strict=True)):
    im = ax.imshow(acc[d], vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for a in range(len(ACTIVATIONS)):
        for i in range(len(INITS)):
            value = acc[d, a, i]
            text = (f"{percent(value)} %\n"
                    f"({percent(lo[d, a, i])}–{percent(hi[d, a, i])})")
            ax.text(i, a, text, ha="center", va="center",
                    color="white" if value < 0.6 else "black")
    ax.set_xticks(range(len(INITS)), list(INITS))
    ax.set_yticks(range(len(ACTIVATIONS)), list(ACTIVATIONS.values()))
    ax.set_xlabel("inicialización")
    ax.set_title(f"{depth} capas ocultas")
    ax.grid(False)
for ax in axes:
    ax.set_ylabel("activación")
fig.colorbar(im, ax=axes, shrink=0.8, label="exactitud (mediana)")
plots.spanish_axes(fig)

# %%
# Conclusión
# ----------
#
# ReLU + He y tanh + Xavier, las combinaciones coherentes del curso, aprenden a
# las dos profundidades (con 12 capas, ReLU + He aprende más despacio y cambia
# más de una semilla a otra, pero ninguna se queda en el azar). ReLU + Xavier
# funciona con 3 capas pero se hunde con 12: cada capa ReLU divide por 2 la
# varianza de la señal. Contamos como la lección
# :doc:`/clase/12-activacion-inicializacion`: ``depth`` es el número de capas
# ocultas, y de la capa oculta 1 a la 12 hay 11 pasos de una capa a la
# siguiente, así que la varianza de la capa 12 es :math:`2^{-11}` veces la de
# la capa 1 (en la lección, con 15 capas, :math:`2^{-14}`).
#
# No todas las parejas «incoherentes» fracasan: tanh + He (2/n) aprende tan
# bien como tanh + Xavier, porque la saturación de tanh acota la señal que una
# varianza mayor de lo debido haría crecer. La inicialización arbitraria
# :math:`\mathcal{N}(0;\, 0{,}01^2)` fracasa en todas las casillas: con 32
# entradas (las capas ocultas a partir de la segunda) cada capa multiplica la
# amplitud de la señal por :math:`0{,}01\sqrt{32} \approx 0{,}06` o menos, y
# se apaga antes de llegar a la salida. La sigmoide es la activación más frágil: con este presupuesto de 60
# pasos no llega al 40 % con ninguna inicialización, y con 12 capas se queda en
# el azar (véase también
# :ref:`sphx_glr_auto_examples_2_activaciones_plot_sigmoid_saturation.py`).
#
# Este ejemplo acompaña a :doc:`/clase/12-activacion-inicializacion` y a
# :doc:`el cuaderno de la clase </clase/14-puente-notebook>`.

# %%
# Comprobación
# ------------
#
# Esta celda comprueba, sobre las medianas de las cinco semillas (y la peor
# semilla donde la conclusión habla de todas), lo que acabas de leer. Al
# construir el sitio se ejecuta: si algo deja de cumplirse, la construcción
# falla.

shallow, deep = DEPTHS.index(3), DEPTHS.index(12)
s, t, r = (list(ACTIVATIONS).index(k) for k in ("sigmoid", "tanh", "relu"))
small, xavier, he = range(len(INITS))
for name, (d, a, i) in {"ReLU + He, 12 capas": (deep, r, he),
                        "ReLU + Xavier, 12 capas": (deep, r, xavier),
                        "ReLU + Xavier, 3 capas": (shallow, r, xavier),
                        "tanh + Xavier, 12 capas": (deep, t, xavier),
                        "tanh + He, 12 capas": (deep, t, he),
                        "sigmoide + He, 3 capas": (shallow, s, he)}.items():
    print(f"{name}: mediana {plots.number(acc[d, a, i], '.2f')} "
          f"({plots.number_range(lo[d, a, i], hi[d, a, i], '.2f')})")
assert acc[:, r, he].min() > 0.5 and acc[:, t, xavier].min() > 0.75
assert lo[:, r, he].min() > 0.2  # todas las semillas aprenden algo
assert acc[shallow, r, xavier] > 0.8 and acc[deep, r, xavier] < 0.35
assert acc[deep, r, he] > acc[deep, r, xavier] + 0.25
assert acc[:, t, he].min() > 0.7  # tanh + He también aprende
assert hi[:, :, small].max() < 0.2  # N(0; 0,01²): el azar
assert acc[:, s, :].max() < 0.4 and acc[deep, s, :].max() < 0.2  # sigmoide
