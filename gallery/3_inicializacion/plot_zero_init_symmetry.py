"""
¿Por qué no inicializar todos los pesos en cero?
================================================

Si todos los pesos de una capa empiezan iguales, todas sus unidades calculan lo
mismo, reciben el mismo gradiente y siguen siendo iguales después de entrenar:
la capa se comporta como una sola neurona. Los pesos aleatorios rompen esa
simetría.
"""

# %%
# Tres redes que solo difieren en la inicialización
# -------------------------------------------------
#
# Un perceptrón con dos capas ocultas de 32 unidades tanh sobre los dígitos
# (8x8 píxeles, 10 clases), entrenado 400 pasos con SGD. Solo cambia el valor
# inicial de los pesos:
#
# * ``zeros``: todos los pesos a 0;
# * ``constant``: todos los pesos a 0,1 (igual de simétrico, pero no nulo);
# * ``xavier_normal``: pesos aleatorios (Glorot y Bengio, 2010).

import matplotlib.pyplot as plt
import torch

import gradcourse as gc

data = gc.digits()
INITS = {
    "ceros": ("zeros", {}),
    "constante 0,1": ("constant", {"val": 0.1}),
    "Xavier (aleatoria)": ("xavier_normal", {}),
}


def distinct_units(weight: torch.Tensor, tol: float = 1e-6) -> int:
    """Number of different rows (units) in a Linear weight, up to ``tol``."""
    return torch.unique(torch.round(weight / tol), dim=0).shape[0]


models, histories = {}, {}
for label, (init, kwargs) in INITS.items():
    model = gc.MLP(data.in_features, data.n_classes, depth=2, width=32, activation="tanh",
                   init=init, init_kwargs=kwargs, seed=0)
    histories[label] = gc.train(model, data, lr=0.1, steps=400, seed=0)
    models[label] = model
    counts = [distinct_units(layer.linear.weight.detach()) for layer in model.hidden]
    print(f"{label:<20} unidades distintas por capa: {counts} de 32;  "
          f"exactitud de test: {histories[label].test_acc[-1]:.1%}")

# %%
# Los pesos de la primera capa después de entrenar
# ------------------------------------------------
#
# Cada fila de la imagen es una unidad oculta (sus 64 pesos de entrada). Con
# inicialización constante todas las filas son idénticas: la imagen tiene solo
# franjas verticales. Con ceros ni siquiera se han movido, porque con tanh la
# salida de cada capa es 0 y el gradiente de los pesos también.

fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
for ax, (label, model) in zip(axes, models.items(), strict=True):
    w = model.hidden[0].linear.weight.detach()
    lim = max(w.abs().max().item(), 1e-3)
    im = ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    n = distinct_units(w)
    ax.set_title(f"{label}\n{n} {'unidad distinta' if n == 1 else 'unidades distintas'} de 32")
    ax.set_xlabel("entrada (píxel)")
    fig.colorbar(im, ax=ax, shrink=0.8)
axes[0].set_ylabel("unidad oculta de la capa 1")
fig.suptitle("Pesos de la capa 1 tras 400 pasos de entrenamiento")
fig.tight_layout()

# %%
# Exactitud durante el entrenamiento
# ----------------------------------
#
# Una capa de unidades idénticas equivale a una capa de una sola unidad: la red
# simétrica no puede separar diez clases.

fig, ax = plt.subplots(figsize=(7, 4))
for label, hist in histories.items():
    ax.plot(hist.eval_step, hist.test_acc, "o-", lw=2, label=label)
ax.axhline(0.1, color="0.5", ls=":", label="azar (10 %)")
ax.set_xlabel("paso de entrenamiento")
ax.set_ylabel("exactitud en test")
ax.set_ylim(0, 1)
ax.set_title("Sin romper la simetría la red apenas aprende")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Tras 400 pasos, las redes inicializadas con ceros o con una constante siguen
# teniendo una sola unidad distinta por capa y no pasan del 25 % de exactitud,
# mientras que la misma red con pesos aleatorios tiene sus 32 unidades distintas
# y supera el 90 %. Por eso la inicialización debe ser aleatoria: no basta con
# que la escala sea razonable.

for label in ("ceros", "constante 0,1"):
    assert all(distinct_units(layer.linear.weight.detach()) == 1
               for layer in models[label].hidden), label
    assert histories[label].test_acc[-1] < 0.25, label
assert all(distinct_units(layer.linear.weight.detach()) == 32
           for layer in models["Xavier (aleatoria)"].hidden)
assert histories["Xavier (aleatoria)"].test_acc[-1] > 0.9

# %%
# Este ejemplo acompaña a :doc:`/clase/09-inicializacion`.
