"""
El gradiente es un producto de derivadas
========================================

Retropropagar a través de :math:`N` capas multiplica :math:`N - 1` matrices
jacobianas. Si encogen el gradiente, el producto desaparece; si lo estiran,
explota. Primero con números y después midiendo el gradiente de cada capa de
una red real.
"""

# sphinx_gallery_thumbnail_number = 2

# %%
# Un producto de factores iguales
# -------------------------------
#
# La diapositiva «Intuición matemática» resume la regla de la cadena así:
#
# .. math::
#
#    \frac{\partial L}{\partial W}=\prod_k\frac{\partial z_{k+1}}{\partial z_k}
#
# (:math:`L` es la pérdida y :math:`z_k` la preactivación de la capa
# :math:`k`). La lección :doc:`/clase/04-intuicion-matematica` lo precisa: el
# gradiente de los pesos de la primera capa es
#
# .. math::
#
#    \frac{\partial L}{\partial W_1}
#    = \Big[\prod_{k=1}^{N-1} J_k^{\top}\Big]\, \delta_N\, x^{\top},
#    \qquad J_k = \frac{\partial z_{k+1}}{\partial z_k}
#    = W_{k+1} \operatorname{diag}\big(f'(z_k)\big),
#
# con :math:`\delta_N = \partial L/\partial z_N` lo que llega de la pérdida a
# la última capa y :math:`x` la entrada; y su norma está acotada por el
# producto de las normas de las jacobianas:
#
# .. math::
#
#    \Big\|\frac{\partial L}{\partial W_1}\Big\|
#    \le \Big[\prod_{k=1}^{N-1} \|J_k\|\Big]\, \|\delta_N\|\, \|x\| .
#
# En una red de una unidad por capa cada jacobiana es un número y la cota es
# exacta. Si todos valen lo mismo, :math:`a`, el producto tras :math:`N` capas
# es :math:`a^N`. Basta con que :math:`a` se aleje un 10 % de 1 para que en 30
# capas el producto cambie en más de un orden de magnitud. El 0,25 es la
# derivada máxima de la sigmoide: el mejor caso de una red sigmoide con pesos
# de tamaño 1.

import matplotlib.pyplot as plt
import numpy as np
import torch

import gradcourse as gc
import gradcourse.plots

gc.plots.use_style()
DEPTH = 30
FACTORS = [0.25, 0.9, 1.0, 1.1]

depths = torch.arange(DEPTH + 1)
products = {a: torch.tensor(a, dtype=torch.float64) ** depths for a in FACTORS}
for a, p in products.items():
    print(f"factor {gc.plots.number(a, 'g'):>4}: producto tras {DEPTH} capas = "
          f"{gc.plots.number(p[-1].item(), '.3g')}")

# %%
# :math:`a^N` en escala logarítmica: rectas cuya pendiente es :math:`\log a`.

fig, ax = plt.subplots(figsize=(gc.plots.FIG_WIDTH, 3.4))
for a, p in products.items():
    ax.plot(depths, p, lw=2, label=f"factor {gc.plots.number(a, 'g')}")
ax.set(yscale="log", xlabel="número de capas N",
       ylabel="producto $a^N$", title="Producto de N factores iguales")
ax.legend()
fig.set_label("Escala logarítmica: el producto de N factores iguales frente a N, de 0 a 30: rectas que bajan con "
              "0,25 y 0,9, horizontal con 1 y que sube con 1,1; tras 30 capas 0,9 deja un 4 % y 1,1 multiplica "
              "por 17.")
gc.plots.spanish_axes(fig)
fig.tight_layout()

# %%
# El mismo efecto en una red de verdad
# ------------------------------------
#
# Tres perceptrones de 30 capas ocultas y 64 unidades sobre los dígitos, que
# solo difieren en la activación y la inicialización.
# :func:`gradcourse.layer_stats` hace una pasada hacia delante y otra hacia
# atrás con 256 ejemplos y devuelve, entre otras cosas, la norma del gradiente
# de los pesos de cada capa (capa 1 = la más cercana a la entrada):
#
# * sigmoide con Xavier: la derivada :math:`\sigma' \le 0{,}25` entra en
#   cada jacobiana;
# * tanh con pesos :math:`\mathcal{N}(0;\ 0{,}3^2)`: demasiado grandes para
#   64 entradas (:math:`\sigma_w^2 = 64 \cdot 0{,}3^2 \approx 5{,}8`); parte de
#   las unidades se satura, pero :math:`\sigma_w^2\,\mathbb{E}[f'(z)^2]` pasa
#   de 1 (:doc:`la sigmoide y la tanh </clase/06-sigmoid-tanh>`) y el factor
#   por capa es mayor que 1;
# * tanh con Xavier: el factor por capa es cercano a 1.
#
# Como los pesos son aleatorios, repetimos cada red con 5 semillas
# (:func:`gradcourse.over_seeds`).

data = gc.digits()
X, y = data.X_train[:256], data.y_train[:256]
CONFIGS = {
    "desaparece: sigmoide + Xavier": (
        "vanishing", dict(activation="sigmoid", init="xavier_normal")),
    "explota: tanh + N(0; 0,3²)": (
        "exploding", dict(activation="tanh", init="normal",
                          init_kwargs={"std": 0.3})),
    "estable: tanh + Xavier": (
        "healthy", dict(activation="tanh", init="xavier_normal")),
}


def experiment(seed):
    out = {}
    for label, (_, cfg) in CONFIGS.items():
        model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH,
                       width=64, seed=seed, **cfg)
        stats = gc.layer_stats(model, X, y)
        out[label] = [r["weight_grad_norm"] for r in stats]
    return out


runs = gc.over_seeds(experiment, seeds=5)
ratio = {label: runs[label][:, 0] / runs[label][:, -1] for label in CONFIGS}
for label in CONFIGS:
    lo, hi = ratio[label].min(), ratio[label].max()
    print(f"{label}:\n  capa 1 / capa {DEPTH}: "
          f"{gc.plots.number_range(lo, hi, '.2g')}")

# %%
# La norma del gradiente por capa, en escala logarítmica: la línea es la
# mediana de las 5 semillas y la banda va de la menor a la mayor. Se lee de
# derecha a izquierda, en el sentido en que viaja el gradiente: desde la
# salida hacia la entrada.

fig, ax = plt.subplots(figsize=(gc.plots.FIG_WIDTH, 3.8))
layers = np.arange(1, DEPTH + 1)
for label, (meaning, _) in CONFIGS.items():
    gc.plots.band(ax, layers, runs[label], label=label,
                  color=gc.plots.color(meaning), marker="o", ms=3)
ax.set(yscale="log", ylabel="‖∂L/∂W‖ de la capa",
       title="Gradiente por capa en una red de 30 capas")
gc.plots.layer_axis(ax)
ax.set_xlabel("capa (1 = entrada, 30 = junto a la salida)")
ax.legend()
fig.set_label("Escala logarítmica: norma del gradiente de cada una de las 30 capas de una red recién "
              "inicializada, mediana y rango de 5 semillas. Con sigmoide y Xavier cae más de diez órdenes de "
              "magnitud hacia la capa 1; con tanh y pesos N(0; 0,3²) crece cientos de veces hacia la capa 1; "
              "con tanh y Xavier queda dentro de un factor 10 en todas las capas.")
fig.tight_layout()

# %%
# La fórmula exacta, comprobada
# -----------------------------
#
# Para la red estable de la semilla 0 y un solo ejemplo, multiplicamos las 29
# jacobianas a mano, en ``float64``, y comparamos
# :math:`(\prod_k J_k^{\top})\,\delta_N\,x^{\top}` con el gradiente que
# calcula la retropropagación automática de PyTorch; después, la norma con la
# cota.

model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=64,
               seed=0, **CONFIGS["estable: tanh + Xavier"][1]).double()
x, target = X[:1].double(), y[:1]
h, zs = x, []
for layer in model.hidden:
    zs.append(layer.linear(h))  # z_k, (1, 64)
    zs[-1].retain_grad()
    h = layer.act(zs[-1])
torch.nn.functional.cross_entropy(model.head(h), target).backward()

delta_N = zs[-1].grad[0]
delta, spectral = delta_N, []
with torch.no_grad():
    for k in range(DEPTH - 1, 0, -1):  # J_{N-1}, ..., J_1
        f_prime = gc.activations.derivative("tanh", zs[k - 1][0])
        J_k = model.hidden[k].linear.weight @ torch.diag(f_prime)
        spectral.append(torch.linalg.matrix_norm(J_k, ord=2).item())
        delta = J_k.T @ delta
grad_W1 = torch.outer(delta, x[0])  # (∏ J_kᵀ) δ_N xᵀ
autograd = model.linears[0].weight.grad
gap = (grad_W1 - autograd).abs().max().item()
bound = np.prod(spectral) * delta_N.norm().item() * x.norm().item()
print(f"máx |producto de jacobianas - autograd| = {gc.plots.number(gap, '.1e')}")
print(f"‖∂L/∂W₁‖ = {gc.plots.number(autograd.norm().item(), '.3f')}; "
      f"cota = {gc.plots.number(bound, '.1e')}")

# %%
# Conclusión
# ----------
#
# Un factor de 0,9 por capa deja el producto en un 4 % tras 30 capas y uno de
# 1,1 lo multiplica por 17: la profundidad convierte pequeñas desviaciones de 1
# en desapariciones o explosiones exponenciales. La red real se comporta
# igual, en todas las semillas: con sigmoide el gradiente de la primera capa
# es más de diez órdenes de magnitud menor que el de la última (esas capas
# apenas reciben gradiente), con pesos demasiado grandes es cientos de veces
# mayor, y solo con la inicialización adecuada queda dentro de un factor 10 en
# todas las capas. El gradiente es exactamente el producto de jacobianas
# aplicado a :math:`\delta_N` y a :math:`x` (la diferencia con autograd es
# error de redondeo); la cota por el producto de normas se cumple, pero en la
# red estable es muchos órdenes de magnitud mayor que el gradiente: sirve
# para garantizar que desaparece, no para predecir cuánto crece.
#
# Este ejemplo acompaña a :doc:`/clase/04-intuicion-matematica`, a
# :doc:`/clase/03-problema-gradientes` y a los apuntes
# :doc:`/notas/vanishing-exploding` (su figura de desaparición y explosión).

# %%
# Comprobación
# ------------
#
# Esta celda verifica la conclusión en las 5 semillas (el peor caso de cada
# cociente): si dejara de cumplirse, la construcción del sitio fallaría.

vanish, explode, stable = ratio.values()
stable_runs = runs["estable: tanh + Xavier"]
spread = stable_runs.max(axis=1) / stable_runs.min(axis=1)
print("estable: mayor / menor de cada semilla:",
      "; ".join(gc.plots.number(v, ".1f") for v in spread))
assert products[0.9][-1] < 0.05 and products[1.1][-1] > 15
assert vanish.max() < 1e-10, vanish
assert explode.min() > 100, explode
assert 0.1 < stable.min() and stable.max() < 10 and spread.max() < 10, spread
assert gap < 1e-10 * autograd.abs().max().item()  # float64 rounding
assert autograd.norm().item() <= bound and bound > 1e3 * autograd.norm().item()
