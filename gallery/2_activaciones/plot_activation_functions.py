"""
Funciones de activación y sus derivadas
=======================================

Sigmoide, tanh, ReLU, Leaky ReLU y ELU junto a sus derivadas, con las regiones
planas sombreadas: donde la derivada es casi cero el gradiente no pasa, y esa
es la raíz de la desaparición de gradientes.
"""

# sphinx_gallery_thumbnail_number = 1

# %%
# Las cinco activaciones del curso
# --------------------------------
#
# Cada activación es un módulo de ``torch.nn``
# (:func:`gradcourse.activations.get`) y su derivada exacta la da
# :func:`gradcourse.activations.derivative` (los tests la comparan con
# autograd). Primero, las cinco derivadas juntas: es la derivada la que
# multiplica al gradiente en cada capa durante la retropropagación.

import matplotlib.pyplot as plt
import torch

from gradcourse import activations, plots

plots.use_style()
NAMES = {"sigmoid": "sigmoide", "tanh": "tanh", "relu": "ReLU",
         "leaky_relu": "Leaky ReLU", "elu": "ELU"}
x = torch.linspace(-6, 6, 1201)
d = {name: activations.derivative(name, x) for name in NAMES}

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.6))
styles = {"relu": ("-", 4), "leaky_relu": ("--", 2), "elu": ("-.", 2)}
for name, label in NAMES.items():
    ls, lw = styles.get(name, ("-", 2))
    ax.plot(x, d[name], ls=ls, lw=lw, label=label, color=plots.color(name))
ax.set(xlabel="x", ylabel="f'(x)", xlim=(-6, 6),
       title="Derivadas de las cinco activaciones")
ax.legend(loc="upper left")
fig.set_label("Derivadas de sigmoide, tanh, ReLU, Leaky ReLU y ELU entre −6 y 6: la de la sigmoide no pasa de "
              "0,25 y la de tanh solo vale 1 en el origen, y ambas caen casi a 0 más allá de |x| = 3; ReLU "
              "vale 1 a la derecha de 0 y 0 a la izquierda; Leaky ReLU y ELU siguen por encima de 0 a la "
              "izquierda.")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Cada activación con su derivada
# -------------------------------
#
# :func:`gradcourse.plots.activation_functions` dibuja :math:`f` (continua) y
# :math:`f'` (discontinua) y sombrea la zona de saturación de sigmoide y tanh
# (derivada por debajo del 6 % de su máximo, la misma que cuenta
# :class:`~gradcourse.tracking.Tracker`) y la zona inactiva de ReLU (derivada
# exactamente 0). Dos activaciones por figura.

for pair in [("sigmoid", "tanh"), ("relu", "leaky_relu"), ("elu",)]:
    fig = plots.activation_functions(pair)
    for ax, name in zip(fig.axes, pair, strict=True):
        ax.set_title(NAMES[name])
    fig.set_label(" y ".join(NAMES[n] for n in pair) + ": cada activación (línea continua) y su derivada "
                  "(discontinua) entre −6 y 6, con la zona plana sombreada: las colas saturadas de la sigmoide "
                  "y de tanh, donde la derivada es casi 0, y la parte negativa de ReLU, donde es exactamente 0.")

# %%
# Los números detrás de la figura
# -------------------------------

print("activación   f' máxima   f'(-5)   fracción de [-6, 6] con f' < 0,05")
for name, dfx in d.items():
    print(f"{NAMES[name]:<12} {plots.number(dfx.max().item(), '.3f'):>9} "
          f"{plots.number(dfx[x == -5].item(), '.4f'):>8}   "
          f"{plots.number(100 * (dfx < 0.05).float().mean().item(), '.0f')} %")

# %%
# Conclusión
# ----------
#
# La derivada de la sigmoide nunca pasa de 0,25 y la de tanh vale 1 solo en el
# origen: ambas son prácticamente 0 en cuanto :math:`|x|` pasa de 3 a 5, y en
# una red profunda esos factores pequeños se multiplican. ReLU deja pasar el
# gradiente entero (derivada 1) para entradas positivas pero lo corta del todo
# para las negativas: de ahí las neuronas muertas. Leaky ReLU (pendiente 0,01)
# y ELU mantienen una derivada positiva en todo el eje, así que una unidad
# inactiva todavía recibe gradiente; la de Leaky ReLU es constante, y la de
# ELU, :math:`\alpha e^{x}`, se hace cada vez más pequeña hacia la izquierda
# (en :math:`x = -5` ya es menor que 0,01).
#
# Este ejemplo acompaña a :doc:`/clase/05-funciones-activacion`,
# :doc:`la sigmoide y la tanh </clase/06-sigmoid-tanh>`, :doc:`/clase/07-relu` y
# :doc:`/clase/08-variantes-relu`.

# %%
# Comprobación
# ------------
#
# Esta celda verifica la conclusión sobre la malla de puntos de
# :math:`[-6, 6]` (no hay nada aleatorio): si dejara de cumplirse, la
# construcción del sitio fallaría.

neg, pos = x < 0, x > 0
assert abs(d["sigmoid"].max().item() - 0.25) < 1e-6  # sigmoide: como mucho 1/4
assert d["sigmoid"][x.abs() >= 5].max() < 0.01  # ... y casi 0 para |x| >= 5
assert abs(d["tanh"].max().item() - 1.0) < 1e-6
assert d["tanh"][x.abs() >= 3].max() < 0.01
assert (d["relu"][neg] == 0).all() and (d["relu"][pos] == 1).all()
assert (d["leaky_relu"][neg] == 0.01).all() and (d["elu"] > 0).all()
assert d["elu"][x == -5].item() < 0.01  # ELU: positive, but small far left
