"""
El gradiente es un producto de derivadas
========================================

Retropropagar a través de :math:`L` capas multiplica :math:`L` factores locales.
Si son menores que 1 el producto desaparece; si son mayores que 1, explota.
Primero con números y después midiendo el gradiente de cada capa de una red real.
"""

# %%
# Un producto de factores iguales
# -------------------------------
#
# La diapositiva «Intuición matemática» resume la regla de la cadena así:
#
# .. math::
#
#    \frac{\partial L}{\partial W} = \prod_k \frac{\partial z_{k+1}}{\partial z_k}
#
# Si todos los factores valen lo mismo, :math:`a`, el producto tras :math:`L`
# capas es :math:`a^L`. Basta con que :math:`a` se aleje un 10 % de 1 para que
# en 30 capas el producto cambie en más de un orden de magnitud. El 0,25 es
# la derivada máxima de la sigmoide: el mejor caso de una red sigmoide.

import matplotlib.pyplot as plt
import torch
from torch import nn

import gradcourse as gc
from gradcourse.tracking import Tracker

DEPTH = 30
FACTORS = [0.25, 0.9, 1.0, 1.1]

depths = torch.arange(DEPTH + 1)
products = {a: torch.tensor(a, dtype=torch.float64) ** depths for a in FACTORS}
for a, p in products.items():
    print(f"factor {a:>4}: producto tras {DEPTH} capas = {p[-1]:.3g}")

# %%
# El mismo efecto en una red de verdad
# ------------------------------------
#
# Tres perceptrones de 30 capas ocultas y 64 unidades sobre los dígitos, que solo
# difieren en la activación y la inicialización. Hacemos un único paso hacia
# delante y hacia atrás sobre 256 ejemplos y un
# :class:`~gradcourse.tracking.Tracker` mide la norma del gradiente de los pesos
# de cada capa (capa 1 = la más cercana a la entrada):
#
# * sigmoide con Xavier: cada capa multiplica el gradiente por :math:`\sigma' \le 0{,}25`;
# * tanh con pesos :math:`\mathcal{N}(0, 0{,}3^2)`: demasiado grandes para 64 entradas
#   (:math:`64 \cdot 0{,}3^2 \approx 5{,}8`), el factor por capa es mayor que 1;
# * tanh con Xavier: el factor por capa es cercano a 1.

data = gc.digits()
X, y = data.X_train[:256], data.y_train[:256]

CONFIGS = {
    "desaparece: sigmoide + Xavier": dict(activation="sigmoid", init="xavier_normal"),
    "explota: tanh + N(0, 0,3²)": dict(activation="tanh", init="normal",
                                       init_kwargs={"std": 0.3}),
    "estable: tanh + Xavier": dict(activation="tanh", init="xavier_normal"),
}

grad_norms = {}
for label, cfg in CONFIGS.items():
    model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=64, seed=0, **cfg)
    with Tracker(model) as tracker:  # records per-layer statistics of one step
        nn.functional.cross_entropy(model(X), y).backward()
        tracker.step()
    g = torch.tensor([row["weight_grad_norm"] for row in tracker.summary()])
    grad_norms[label] = g
    print(f"{label:<32} capa 1: {g[0]:.2e}   capa {DEPTH}: {g[-1]:.2e}   "
          f"cociente capa 1 / capa {DEPTH}: {g[0] / g[-1]:.2e}")

# %%
# Las dos figuras
# ---------------
#
# A la izquierda, :math:`a^L` en escala logarítmica: rectas cuya pendiente es
# :math:`\log a`. A la derecha, la norma del gradiente por capa medida en las
# tres redes, también en escala logarítmica. Se lee de derecha a izquierda, en
# el sentido en que viaja el gradiente: desde la salida hacia la entrada.

colors = {"desaparece": "C0", "explota": "C3", "estable": "C2"}
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4.6))
for a, p in products.items():
    ax0.semilogy(depths, p, lw=2, label=f"factor {a:g}".replace(".", ","))
ax0.set_xlabel("número de capas L")
ax0.set_ylabel("producto $a^L$ (escala log)")
ax0.set_title("Producto de L factores iguales")
ax0.legend()
ax0.grid(alpha=0.3, which="both")

layers = torch.arange(1, DEPTH + 1)
for label, g in grad_norms.items():
    ax1.semilogy(layers, g, "o-", ms=3, lw=2, label=label, color=colors[label.split(":")[0]])
ax1.set_xlabel("capa (1 = entrada, 30 = junto a la salida)")
ax1.set_ylabel("‖∂L/∂W‖ de la capa (escala log)")
ax1.set_title("Gradiente por capa en una red de 30 capas")
ax1.legend()
ax1.grid(alpha=0.3, which="both")
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Un factor de 0,9 por capa deja el producto en un 4 % tras 30 capas y uno de
# 1,1 lo multiplica por 17: la profundidad convierte pequeñas desviaciones de 1
# en desapariciones o explosiones exponenciales. La red real se comporta igual:
# con sigmoide el gradiente de la primera capa es más de diez órdenes de
# magnitud menor que el de la última (esas capas no aprenden), con pesos
# demasiado grandes es cientos de veces mayor, y solo con la inicialización
# adecuada queda dentro de un factor 10 en todas las capas.

assert products[0.9][-1] < 0.05 and products[1.1][-1] > 15
vanish, explode, stable = (g[0] / g[-1] for g in grad_norms.values())
assert vanish < 1e-10, vanish
assert explode > 100, explode
assert 0.1 < stable < 10 and grad_norms["estable: tanh + Xavier"].max() < 10 * grad_norms[
    "estable: tanh + Xavier"].min()

# %%
# Este ejemplo acompaña a :doc:`/clase/04-intuicion-matematica`, a
# :doc:`/clase/03-problema-gradientes` y a los apuntes
# :doc:`/notas/vanishing-exploding` (su figura de desaparición y explosión).
