"""
Neuronas ReLU muertas: tasa de aprendizaje y sesgo inicial
==========================================================

Una unidad ReLU cuya entrada es negativa para todos los ejemplos devuelve 0 y
recibe gradiente 0: está muerta y no se recupera. Medimos qué fracción de
unidades muere al subir la tasa de aprendizaje o al empezar con sesgos
negativos, y cómo Leaky ReLU y ELU lo evitan.
"""

# %%
# Cómo se mide
# ------------
#
# Un :class:`~gradcourse.tracking.Tracker` calcula ``dead_frac``: la fracción de
# unidades de cada capa cuya salida es :math:`\le 0` en **todos** los ejemplos
# del lote. Aquí el lote es el conjunto de entrenamiento completo (1347
# dígitos), y promediamos sobre las tres capas ocultas. Para Leaky ReLU y ELU
# esa fracción cuenta unidades *inactivas*, que sin embargo siguen recibiendo
# gradiente (su derivada es positiva en todo el eje) y pueden volver.

import matplotlib.pyplot as plt
import numpy as np
from torch import nn

import gradcourse as gc
from gradcourse.tracking import Tracker

data = gc.digits()
ACTS = {"relu": ("ReLU", {}), "leaky_relu": ("Leaky ReLU (0,1)", {"negative_slope": 0.1}),
        "elu": ("ELU", {})}


def dead_fraction(model):
    """Mean over hidden layers of the fraction of units inactive on the whole training set."""
    with Tracker(model, update_ratio=False) as tracker:
        nn.functional.cross_entropy(model(data.X_train), data.y_train).backward()
        tracker.step()
    model.zero_grad()
    return float(np.mean([row["dead_frac"] for row in tracker.summary()]))


def make(activation, bias_init=0.0):
    return gc.MLP(data.in_features, data.n_classes, depth=3, width=64, activation=activation,
                  init="he_normal", bias_init=bias_init, seed=0,
                  act_kwargs=ACTS[activation][1])


# %%
# 1. Tasa de aprendizaje
# ----------------------
#
# Entrenamos 200 pasos con Adam, cuyos pasos tienen un tamaño parecido a la
# tasa de aprendizaje sea cual sea el gradiente: con una tasa grande, un solo
# paso puede empujar el sesgo de una unidad tan abajo que ya no se activa con
# ningún ejemplo.

LRS = [0.001, 0.01, 0.03, 0.1]
dead_lr = {act: [] for act in ACTS}
acc_lr = {act: [] for act in ACTS}
for act in ACTS:
    for lr in LRS:
        model = make(act)
        hist = gc.train(model, data, lr=lr, optimizer="adam", steps=200, seed=0)
        dead_lr[act].append(dead_fraction(model))
        acc_lr[act].append(hist.test_acc[-1])
    print(f"{ACTS[act][0]:>17}: inactivas {np.round(dead_lr[act], 2)}, "
          f"exactitud {np.round(acc_lr[act], 2)}")

# %%
# 2. Sesgo inicial
# ----------------
#
# Con sesgos iniciales negativos muchas unidades ReLU nacen muertas. Medimos la
# fracción al inicializar y tras 200 pasos de SGD (tasa 0,1).

BIASES = [0.0, -2.0, -3.0]
dead_bias = {}
for act in ("relu", "elu"):
    before, after = [], []
    for b in BIASES:
        model = make(act, bias_init=b)
        before.append(dead_fraction(model))
        gc.train(model, data, lr=0.1, steps=200, seed=0)
        after.append(dead_fraction(model))
    dead_bias[act] = (before, after)
    print(f"{ACTS[act][0]:>17}: al inicio {np.round(before, 2)}, tras entrenar {np.round(after, 2)}")

# %%
# Las figuras
# -----------

fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(15, 4.3))
for act, (label, _) in ACTS.items():
    ax0.semilogx(LRS, dead_lr[act], "o-", lw=2, label=label)
    ax1.semilogx(LRS, acc_lr[act], "o-", lw=2, label=label)
ax0.set_title("Unidades inactivas en todo el conjunto")
ax0.set_ylabel("fracción de unidades (media de 3 capas)")
ax1.set_title("Exactitud en test tras 200 pasos")
ax1.set_ylabel("exactitud en test")
for ax in (ax0, ax1):
    ax.set_xlabel("tasa de aprendizaje de Adam")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3, which="both")
    ax.legend()

x = np.arange(len(BIASES))
for j, (act, (before, after)) in enumerate(dead_bias.items()):
    color = f"C{list(ACTS).index(act)}"
    ax2.bar(x + (j - 0.5) * 0.38, before, width=0.18, color=color, alpha=0.35,
            label=f"{ACTS[act][0]}: al inicializar")
    ax2.bar(x + (j - 0.5) * 0.38 + 0.19, after, width=0.18, color=color,
            label=f"{ACTS[act][0]}: tras entrenar")
ax2.set_xticks(x + 0.1, [f"{b:g}".replace("-", "−") for b in BIASES])
ax2.set_xlabel("sesgo inicial de todas las capas")
ax2.set_ylabel("fracción de unidades inactivas")
ax2.set_title("Sesgo inicial negativo (SGD, tasa 0,1)")
ax2.set_ylim(0, 1)
ax2.legend(fontsize=8)
ax2.grid(alpha=0.3, axis="y")
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# La fracción de ReLU muertas crece con la tasa de aprendizaje: casi ninguna con
# 0,001 y más de la mitad con 0,1, y la exactitud cae con ellas. Con Leaky ReLU
# apenas hay unidades inactivas y la red sigue aprendiendo incluso con 0,1; ELU
# aguanta 0,03 pero no 0,1 (ahí el problema ya es la inestabilidad, no solo la
# muerte de unidades). Los sesgos negativos matan unidades desde el principio, y
# las ReLU muertas siguen muertas tras entrenar porque no reciben gradiente;
# con ELU, que sí lo recibe, la fracción inactiva con sesgo −2 baja a menos de
# la mitad.

relu_dead = dead_lr["relu"]
assert relu_dead[0] < 0.05 and relu_dead[-1] > 0.5, relu_dead
assert dead_lr["leaky_relu"][2] < relu_dead[2] and dead_lr["elu"][2] < relu_dead[2]
assert dead_lr["leaky_relu"][-1] < 0.2 and acc_lr["leaky_relu"][-1] > acc_lr["relu"][-1] + 0.2
relu_before, relu_after = dead_bias["relu"]
elu_before, elu_after = dead_bias["elu"]
assert relu_before[-1] > 0.3  # sesgo -3: un tercio nace muerto
assert all(a > 0.9 * b for a, b in zip(relu_after, relu_before, strict=True))  # ... y sigue muerto
assert elu_after[1] < 0.5 * elu_before[1]  # ELU con sesgo -2 se recupera

# %%
# Este ejemplo acompaña a :doc:`/clase/07-relu` y a :doc:`/clase/08-variantes-relu`.
