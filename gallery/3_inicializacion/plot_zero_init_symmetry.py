"""
¿Por qué no inicializar todos los pesos en cero?
================================================

Si todos los pesos de una capa empiezan iguales, todas sus unidades calculan lo
mismo, reciben el mismo gradiente y siguen siendo iguales después de entrenar:
la capa se comporta como una sola neurona. Los pesos aleatorios rompen esa
simetría.
"""

# sphinx_gallery_thumbnail_number = 2

# %%
# Tres redes que solo difieren en la inicialización
# -------------------------------------------------
#
# Un perceptrón con dos capas ocultas de 32 unidades tanh sobre los dígitos
# (8x8 píxeles, 10 clases), entrenado 150 pasos con descenso por gradiente
# (tasa 0,3, minilotes de 128). Solo cambia el valor inicial de los pesos:
#
# * ceros: todos los pesos a 0;
# * constante: todos los pesos a 0,1 (igual de simétrico, pero no nulo);
# * Xavier: pesos aleatorios (Glorot y Bengio, 2010).
#
# Repetimos cada red con 5 semillas (:func:`gradcourse.over_seeds`): la
# semilla cambia el orden de los minilotes y, con Xavier, los pesos
# iniciales. Para saber si las unidades de una capa siguen siendo iguales
# medimos la mayor diferencia entre los pesos de cualquier unidad y los de la
# primera, relativa al mayor peso de la capa: 0 si todas son idénticas.

import matplotlib.pyplot as plt
import torch

import gradcourse as gc
import gradcourse.plots

gc.plots.use_style()
data = gc.digits()
STEPS = 150
INITS = {
    "ceros": ("zeros", {}),
    "constante 0,1": ("constant", {"val": 0.1}),
    "Xavier (aleatoria)": ("xavier_normal", {}),
}


def unit_spread(weight):
    """Largest |w_i - w_1| over the units i, relative to the largest |w|."""
    scale = weight.abs().max().clamp_min(1e-12)
    return ((weight - weight[0]).abs().max() / scale).item()


first_layer = {}  # the first layer's weights of seed 0, for the figure


def experiment(seed):
    out = {}
    for label, (init, kwargs) in INITS.items():
        model = gc.MLP(data.in_features, data.n_classes, depth=2, width=32,
                       activation="tanh", init=init, init_kwargs=kwargs,
                       seed=seed)
        hist = gc.train(model, data, lr=0.3, steps=STEPS, batch_size=128,
                        seed=seed, eval_every=15)
        out[label + " exactitud"] = hist.test_acc
        out[label + " diferencia"] = max(
            unit_spread(layer.linear.weight.detach()) for layer in model.hidden)
        if seed == 0:
            first_layer[label] = model.hidden[0].linear.weight.detach()
    out["paso"] = hist.eval_step
    return out


runs = gc.over_seeds(experiment, seeds=5)
print("exactitud en el conjunto de prueba y mayor diferencia entre unidades")
for label in INITS:
    lo, hi = runs.range(label + " exactitud")
    spread = runs[label + " diferencia"].max()
    print(f"{label:<19} exactitud final "
          f"{gc.plots.number_range(100 * lo[-1], 100 * hi[-1], '.1f', '%')};  "
          f"diferencia {gc.plots.number(spread, '.2f' if spread >= 0.01 else '.0e')}")

# %%
# Los pesos de la primera capa después de entrenar
# ------------------------------------------------
#
# Cada fila de la imagen es una unidad oculta (sus 64 pesos de entrada), en
# la semilla 0. Con la inicialización constante todas las filas son
# idénticas: la imagen solo tiene franjas verticales. Con ceros la imagen
# sería blanca: los pesos ni siquiera se mueven. El gradiente de los pesos de
# la capa :math:`k` es :math:`\delta_k h_{k-1}^\top`. En la capa 2 su entrada
# es :math:`h_1 = \tanh(0) = 0`; en la capa 1 la entrada son los píxeles,
# que no son 0, pero :math:`\delta_1 = \tanh'(z_1) \odot W_2^\top \delta_2`
# llega a través de :math:`W_2 = 0` y vale 0. Solo el sesgo de la salida
# recibe gradiente (la última celda lo comprueba).

fig, axes = plt.subplots(1, 2, figsize=(gc.plots.FIG_WIDTH, 3.4),
                         sharey=True)
fig.set_label(
    "Los pesos de la primera capa tras entrenar, una fila por unidad y una "
    "columna por píxel, en rojo y azul según el signo. Con la inicialización "
    "constante las 32 filas son idénticas y la imagen solo tiene franjas "
    "verticales; con Xavier cada fila es distinta.")
for ax, label in zip(axes, ["constante 0,1", "Xavier (aleatoria)"],
                     strict=True):
    w = first_layer[label]
    lim = w.abs().max().item()
    image = ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_title(label)
    ax.set_xlabel("entrada (píxel)")
    ax.grid(False)
    cbar = fig.colorbar(image, ax=ax, shrink=0.85)
    cbar.ax.yaxis.set_major_formatter(lambda v, _: gc.plots.number(v, "g"))
axes[0].set_ylabel("unidad de la capa 1")
fig.set_label("Dos mapas de color de los pesos de la capa 1 tras entrenar, una fila por unidad y una columna "
              "por píxel de entrada: con la inicialización constante todas las filas son iguales (solo "
              "franjas verticales); con Xavier cada fila es distinta.")
fig.tight_layout()

# %%
# Exactitud durante el entrenamiento
# ----------------------------------
#
# Una capa de unidades idénticas equivale a una capa de una sola unidad: la
# red simétrica no puede separar diez clases. La línea es la mediana de las 5
# semillas y la banda va de la menor a la mayor.

fig, ax = plt.subplots(figsize=(gc.plots.FIG_WIDTH, 3.6))
fig.set_label(
    "Exactitud en el conjunto de prueba frente al paso de entrenamiento, "
    "mediana y rango de 5 semillas. Con ceros se queda en el 10 % del azar; "
    "con la constante sube poco, por debajo del 30 %; con Xavier pasa del "
    "90 %.")
styles = {"ceros": ("zeros", "-"), "constante 0,1": ("zeros", "--"),
          "Xavier (aleatoria)": ("xavier", "-")}
steps = runs["paso"][0]
for label, (scheme, ls) in styles.items():
    gc.plots.band(ax, steps, runs[label + " exactitud"], label=label,
                  color=gc.plots.color(scheme), ls=ls, marker="o")
ax.axhline(0.1, color="0.5", ls=":", lw=1, label="azar (10 %)")
ax.set(xlabel="paso de entrenamiento", ylim=(0, 1),
       ylabel="exactitud en el conjunto de prueba",
       title="Sin romper la simetría la red apenas aprende")
ax.legend(loc="center right")
fig.set_label("Exactitud en el conjunto de prueba durante 150 pasos (mediana y rango de 5 semillas): con ceros "
              "se queda en el 10 % del azar y con la constante 0,1 no pasa del 30 %; con Xavier supera el 90 %.")
gc.plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Tras 150 pasos, las redes inicializadas con ceros o con una constante siguen
# teniendo todas las unidades de cada capa idénticas, en todas las semillas, y
# no pasan del 30 % de exactitud (con ceros, la red solo aprende el sesgo de
# la salida y predice siempre la misma clase: un 10 %). La misma red con
# pesos aleatorios tiene sus 32 unidades distintas y supera el 90 %. Por eso
# la inicialización debe ser aleatoria: no basta con que la escala sea
# razonable.
#
# Este ejemplo acompaña a :doc:`/clase/09-inicializacion`.

# %%
# Comprobación
# ------------
#
# Esta celda verifica la conclusión en las 5 semillas: si dejara de
# cumplirse, la construcción del sitio fallaría. Las unidades de las redes
# simétricas se comparan con una tolerancia relativa de 1e-5, muy por encima
# del redondeo de coma flotante y muy por debajo de la diferencia entre
# unidades aleatorias (del orden de 1). Antes, una pasada hacia atrás de la
# red con ceros sin entrenar: el gradiente de todos los pesos es exactamente
# 0, aunque la entrada de la capa 1 no lo sea, y solo el sesgo de la salida
# recibe gradiente.

zero = gc.MLP(data.in_features, data.n_classes, depth=2, width=32,
              activation="tanh", init="zeros")
torch.nn.functional.cross_entropy(zero(data.X_train), data.y_train).backward()
assert data.X_train.abs().max() > 0  # la entrada de la capa 1 no es 0
assert all((layer.weight.grad == 0).all() for layer in zero.linears)
assert all((layer.linear.bias.grad == 0).all() for layer in zero.hidden)
assert zero.head.bias.grad.abs().max() > 0

final = {label: runs[label + " exactitud"][:, -1] for label in INITS}
for label in ("ceros", "constante 0,1"):
    assert runs[label + " diferencia"].max() < 1e-5, label  # simétrica
    assert final[label].max() < 0.3, (label, final[label])
assert final["ceros"].max() < 0.15  # una sola clase
assert runs["Xavier (aleatoria) diferencia"].min() > 0.1  # unidades distintas
assert final["Xavier (aleatoria)"].min() > 0.9, final["Xavier (aleatoria)"]
