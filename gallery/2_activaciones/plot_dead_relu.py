"""
Neuronas ReLU muertas: tasa de aprendizaje y sesgo inicial
==========================================================

Una unidad ReLU cuya preactivación es negativa para todos los ejemplos
devuelve 0 y recibe gradiente 0: está muerta. Medimos, en 5 semillas, cuántas
unidades mueren al subir la tasa de aprendizaje o al empezar con sesgos
negativos, cuáles vuelven y hasta dónde lo evitan Leaky ReLU y ELU.
"""

# sphinx_gallery_thumbnail_number = 1

# %%
# Cómo se mide
# ------------
#
# Una unidad está *inactiva* si su salida es :math:`\le 0` en **todos** los
# ejemplos del conjunto de entrenamiento (1347 dígitos).
# :func:`gradcourse.layer_stats` hace una pasada hacia delante y hacia atrás
# con todo el conjunto y devuelve, por capa, esa fracción (``dead_frac``);
# promediamos las tres capas ocultas de 32 unidades. Con ReLU una unidad
# inactiva está muerta: no recibe gradiente. Con Leaky ReLU y ELU la derivada
# es positiva en todo el eje, así que una unidad inactiva sigue recibiendo
# gradiente y puede volver; la de ELU, :math:`\alpha e^{x}`, es diminuta si la
# preactivación es muy negativa.

import matplotlib.pyplot as plt
import numpy as np
import torch

import gradcourse as gc
import gradcourse.plots

gc.plots.use_style()
data = gc.digits()
STEPS = 50
ACTS = {
    "relu": ("ReLU", {}),
    "leaky_relu": ("Leaky ReLU (pendiente 0,1)", {"negative_slope": 0.1}),
    "elu": ("ELU", {}),
}


def make(act, seed, bias_init=0.0):
    return gc.MLP(data.in_features, data.n_classes, depth=3, width=32,
                  activation=act, init="he_normal", bias_init=bias_init,
                  act_kwargs=ACTS[act][1], seed=seed)


def train_adam(model, lr, seed):
    return gc.train(model, data, lr=lr, optimizer="adam", steps=STEPS,
                    batch_size=128, seed=seed, eval_every=STEPS)


def inactive_fraction(model):
    """Mean over hidden layers of the units <= 0 on the whole training set."""
    stats = gc.layer_stats(model, data.X_train, data.y_train)
    return float(np.mean([r["dead_frac"] for r in stats]))


@torch.no_grad()
def inactive_slope(model):
    """Mean f'(z) over the examples and the inactive units (NaN if none)."""
    h, slopes = data.X_train, []
    for layer in model.hidden:
        z = layer.linear(h)  # (N, 32)
        inactive = (z <= 0).all(dim=0)
        slopes.append(gc.activations.derivative(model.activation, z[:, inactive],
                                                **ACTS[model.activation][1]))
        h = layer.act(z)
    slopes = torch.cat([d.flatten() for d in slopes])
    return slopes.mean().item() if slopes.numel() else float("nan")


# %%
# 1. Tasa de aprendizaje
# ----------------------
#
# Entrenamos 50 pasos con Adam, cuyos pasos tienen un tamaño parecido a la
# tasa de aprendizaje sea cual sea el gradiente: con una tasa grande, un solo
# paso puede empujar el sesgo de una unidad tan abajo que ya no se activa con
# ningún ejemplo. :func:`gradcourse.over_seeds` repite el experimento con las
# semillas 0 a 4.

LRS = [0.003, 0.03, 0.3]


def lr_sweep(seed):
    out = {}
    for act in ACTS:
        out[f"{act} inactivas"], out[f"{act} exactitud"] = [], []
        for lr in LRS:
            model = make(act, seed)
            hist = train_adam(model, lr, seed)
            out[f"{act} inactivas"].append(inactive_fraction(model))
            out[f"{act} exactitud"].append(hist.test_acc[-1])
        out[f"{act} pendiente"] = inactive_slope(model)  # with the last lr
    return out


sweep = gc.over_seeds(lr_sweep, seeds=5)
es = gc.plots.number
print(f"{'tasa de aprendizaje:':>36}",
      "  ".join(f"{es(lr, 'g'):>5}" for lr in LRS))
for act, (name, _) in ACTS.items():
    for what in ("inactivas", "exactitud"):
        values = sweep.median(f"{act} {what}")
        print(f"{name:>26} {what:<9}",
              "  ".join(f"{es(v, '5.2f'):>5}" for v in values))
print("(medianas de 5 semillas)")

# %%
# La fracción de unidades inactivas y la exactitud en el conjunto de prueba,
# en función de la tasa de aprendizaje. La línea es la mediana de las 5
# semillas y la banda va de la menor a la mayor.


def lr_axis(ax):
    ax.set_xscale("log")
    ax.set_xticks(LRS, [gc.plots.number(lr, "g") for lr in LRS])
    ax.minorticks_off()
    ax.set_xlabel("tasa de aprendizaje de Adam")
    ax.set_ylim(0, 1)
    ax.legend()


fig, ax = plt.subplots(figsize=(gc.plots.FIG_WIDTH, 3.6))
for act, (name, _) in ACTS.items():
    gc.plots.band(ax, LRS, sweep[f"{act} inactivas"], label=name,
                  color=gc.plots.color(act), marker="o")
ax.set_ylabel("fracción de unidades inactivas")
ax.set_title("Unidades inactivas en todo el conjunto tras 50 pasos")
fig.set_label("Fracción de unidades inactivas tras 50 pasos de Adam frente a la tasa de aprendizaje, de 0,003 a "
              "0,3 (mediana y rango de 5 semillas): con ReLU crece hasta más de la mitad con 0,3; con Leaky "
              "ReLU se queda cerca de 0; ELU queda en medio.")
lr_axis(ax)
gc.plots.spanish_axes(fig)
fig.tight_layout()

fig, ax = plt.subplots(figsize=(gc.plots.FIG_WIDTH, 3.4))
for act, (name, _) in ACTS.items():
    gc.plots.band(ax, LRS, sweep[f"{act} exactitud"], label=name,
                  color=gc.plots.color(act), marker="o")
ax.axhline(0.1, color="0.5", ls=":", lw=1)
ax.set_ylabel("exactitud en el conjunto de prueba")
ax.set_title("Exactitud tras 50 pasos")
fig.set_label("Exactitud en el conjunto de prueba tras 50 pasos frente a la tasa de aprendizaje (mediana y rango "
              "de 5 semillas), con la línea del azar en 0,1: ReLU cae al azar con 0,3, Leaky ReLU sigue "
              "aprendiendo con 0,3 y ELU aguanta 0,03 pero no 0,3.")
lr_axis(ax)
gc.plots.spanish_axes(fig)
fig.tight_layout()

# %%
# 2. Sesgo inicial negativo: ¿vuelven las unidades muertas?
# ---------------------------------------------------------
#
# Con todos los sesgos iniciales a :math:`-3` muchas unidades nacen
# inactivas, sobre todo en las capas profundas, donde las entradas ya son
# pequeñas. Entrenamos 50 pasos de Adam con una tasa prudente (0,01) y
# miramos, capa por capa, qué unidades estaban inactivas al inicializar y
# cuáles lo siguen estando. Para eso necesitamos saber *cuáles* son, no solo
# cuántas: ``dead_units`` devuelve una máscara por capa.


@torch.no_grad()
def dead_units(model):
    """Per hidden layer, a mask of the units <= 0 on every training example."""
    h, masks = data.X_train, []
    for layer in model.hidden:
        h = layer(h)
        masks.append((h <= 0).all(dim=0))
    return masks


def negative_bias(seed):
    out = {}
    for act in ("relu", "elu"):
        model = make(act, seed, bias_init=-3.0)
        before = dead_units(model)
        hist = train_adam(model, 0.01, seed)
        after = dead_units(model)
        out[f"{act} antes"] = [int(m.sum()) for m in before]
        out[f"{act} después"] = [int(m.sum()) for m in after]
        out[f"{act} revividas"] = [int((b & ~a).sum())
                                 for b, a in zip(before, after, strict=True)]
        out[f"{act} exactitud"] = hist.test_acc[-1]
    return out


bias = gc.over_seeds(negative_bias, seeds=5)
for act in ("relu", "elu"):
    print(f"{ACTS[act][0]}: unidades inactivas (de 32) en las capas 1/2/3,"
          " semillas 0 a 4")
    for what in ("antes", "después", "revividas"):
        rows = bias[f"{act} {what}"].astype(int)
        print(f"  {what:<9}", "  ".join("/".join(map(str, r)) for r in rows))
    lo, hi = bias.range(f"{act} exactitud")
    print("  exactitud en el conjunto de prueba:",
          gc.plots.number_range(lo, hi, ".2f"))

# %%
# Las barras son la mediana de las 5 semillas y las líneas, de la menor a la
# mayor.

layers = np.arange(1, 4)
fig, axes = plt.subplots(1, 2, figsize=(gc.plots.FIG_WIDTH, 3.4),
                         sharey=True)
for ax, act in zip(axes, ("relu", "elu"), strict=True):
    for j, (what, label, alpha) in enumerate(
            [("antes", "al inicializar", 0.35),
             ("después", "tras 50 pasos", 1.0)]):
        counts = bias[f"{act} {what}"]
        mid = np.median(counts, axis=0)
        err = [mid - counts.min(axis=0), counts.max(axis=0) - mid]
        ax.bar(layers + (j - 0.5) * 0.38, mid, width=0.36, yerr=err,
               color=gc.plots.color(act), alpha=alpha, label=label,
               capsize=3)
    ax.set_title(f"{ACTS[act][0]}, sesgo inicial −3")
    gc.plots.layer_axis(ax)
    ax.legend(loc="upper left")
axes[0].set_ylabel("unidades inactivas (de 32)")
fig.set_label("Barras de unidades inactivas (de 32) en las capas 1, 2 y 3 con sesgo inicial −3, al inicializar y "
              "tras 50 pasos, con ReLU a la izquierda y ELU a la derecha: con ELU casi todas vuelven; con ReLU "
              "muchas siguen inactivas y en la capa 1 ninguna vuelve.")
gc.plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# La fracción de ReLU muertas crece con la tasa de aprendizaje: casi ninguna
# con 0,003 y más de la mitad con 0,3, donde la red ya no aprende. Con Leaky
# ReLU apenas hay unidades inactivas y la red sigue aprendiendo con 0,3. ELU
# aguanta 0,03 pero no 0,3: ahí casi la mitad de sus unidades quedan
# inactivas y, aunque su derivada nunca es exactamente 0 en teoría, la que
# reciben es diminuta (de media, menos de :math:`10^{-4}` en todas las
# semillas), porque :math:`\alpha e^{x}` tiende a 0 para preactivaciones muy
# negativas. En la práctica están tan muertas como las de ReLU.
#
# Con sesgos iniciales de :math:`-3` muchas unidades nacen inactivas, sobre
# todo en las capas 2 y 3. Con ELU, que les da gradiente, vuelven todas o
# casi todas y la red aprende. Con ReLU muchas
# siguen muertas y la red no pasa del azar. Pero «muerta» no es siempre «para
# siempre»: en la **capa 1** (solo un par de unidades nacen inactivas en las 5
# semillas) ninguna vuelve, porque sus entradas son los datos, que no cambian,
# y un Adam recién creado no mueve un peso cuyo gradiente es exactamente 0 (un
# optimizador que conservara el momento de cuando estaban vivas sí podría
# moverlas: :doc:`/clase/07-relu`). En las capas 2 y 3 algunas reviven,
# porque sus entradas, las salidas de las capas anteriores, siguen cambiando
# al entrenar (y otras mueren por el camino).
#
# Este ejemplo acompaña a :doc:`/clase/07-relu` y a
# :doc:`/clase/08-variantes-relu`.

# %%
# Comprobación
# ------------
#
# Esta celda verifica las conclusiones anteriores sobre las 5 semillas
# (medianas y extremos, no una ejecución concreta); si alguna dejara de
# cumplirse, la construcción del sitio fallaría.

relu_dead = sweep.median("relu inactivas")
acc = {act: sweep.median(f"{act} exactitud") for act in ACTS}
revived = bias["relu revividas"]
elu_slope = sweep["elu pendiente"]  # (5,): f' of ELU's inactive units, lr 0.3
print("ReLU inactivas (medianas):",
      "; ".join(es(v, ".2f") for v in relu_dead))
print("Leaky ReLU inactivas (medianas):",
      "; ".join(es(v, ".2f") for v in sweep.median("leaky_relu inactivas")))
print("exactitud con 0,3 (medianas): Leaky", es(acc["leaky_relu"][-1], ".2f"),
      " ReLU", es(acc["relu"][-1], ".2f"), " ELU", es(acc["elu"][-1], ".2f"))
print("ELU con 0,3: derivada media de las unidades inactivas, por semilla:",
      "; ".join(es(v, ".0e") for v in elu_slope))
print("ReLU inactivas en la capa 1 al inicializar (5 semillas):",
      int(bias["relu antes"][:, 0].sum()))
print("ReLU revividas en las capas 1/2/3 (5 semillas):",
      revived.sum(axis=0).astype(int))
assert relu_dead[0] < 0.05 and relu_dead[-1] > 0.4, relu_dead
assert (np.diff(relu_dead) >= 0).all(), relu_dead  # crece con la tasa
assert sweep.median("leaky_relu inactivas").max() < 0.1
assert acc["leaky_relu"][-1] > acc["relu"][-1] + 0.4, acc
assert acc["elu"][1] > 0.85 and acc["elu"][-1] < 0.5, acc["elu"]
assert np.nanmax(elu_slope) < 1e-4, elu_slope  # 3 kernels: 1e-12 to 1e-5

relu_before = bias["relu antes"].sum(axis=1) / 96
assert np.median(relu_before) > 0.2, relu_before  # muchas nacen inactivas
assert bias["elu después"].sum(axis=1).max() <= 5  # ELU: vuelven
assert np.median(bias["relu después"].sum(axis=1)) >= 10  # ReLU: no todas
assert bias["relu antes"][:, 0].sum() >= 1  # la capa 1 tiene alguna inactiva
assert (revived[:, 0] == 0).all()  # y ninguna vuelve: datos fijos, Adam nuevo
assert revived[:, 1:].sum() >= 5  # capas 2 y 3: algunas reviven
assert (bias.median("elu exactitud")
        > bias.quantile("relu exactitud", 1.0) + 0.3)
