"""
Saturación de la sigmoide en la última capa oculta
==================================================

Versión reducida de la figura 2 de Glorot y Bengio (2010): en una red sigmoide
profunda con la inicialización estándar, la última capa oculta se satura cerca
de 0 al poco de empezar, y mientras sigue saturada la red no aprende.
"""

# %%
# El experimento
# --------------
#
# Cuatro capas ocultas sigmoide de 128 unidades, inicialización estándar
# :math:`\mathcal{U}[-1/\sqrt{n}, 1/\sqrt{n}]`
# (:func:`~gradcourse.initializers.glorot_standard_`), SGD sin momento sobre los
# dígitos. Un :class:`~gradcourse.tracking.Tracker` registra cada 20 pasos la
# media y la desviación típica de las activaciones de cada capa.

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse.tracking import Tracker

DEPTH, STEPS = 4, 1000
data = gc.digits()
model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=128,
               activation="sigmoid", init="glorot_standard", seed=0)
tracker = Tracker(model, every=20)
history = gc.train(model, data, lr=1.0, optimizer="sgd", steps=STEPS, seed=0,
                   callbacks=[tracker])
frame = tracker.to_frame()
print(history)

# %%
# Activaciones por capa durante el entrenamiento
# ----------------------------------------------
#
# Arriba, la media de las activaciones de cada capa (la banda es ± una
# desviación típica entre todas las activaciones del lote). Abajo, la pérdida
# de entrenamiento y la exactitud en test. La franja gris marca los pasos en
# los que la última capa está saturada (media por debajo de 0,1).

colors = plt.cm.viridis(np.linspace(0, 0.9, DEPTH))
fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True,
                               gridspec_kw={"height_ratios": [3, 2]})
for k in range(1, DEPTH + 1):
    rows = frame[frame.layer == k]
    mean, std = rows.act_mean.to_numpy(), rows.act_std.to_numpy()
    ax0.plot(rows.step, mean, lw=2, color=colors[k - 1],
             label=f"capa {k}" + (" (última oculta)" if k == DEPTH else ""))
    ax0.fill_between(rows.step, mean - std, mean + std, color=colors[k - 1], alpha=0.15)
top = frame[frame.layer == DEPTH]
saturated = top.act_mean.to_numpy() < 0.1
for ax in (ax0, ax1):
    ax.fill_between(top.step, 0, 1, where=saturated, color="0.6", alpha=0.25, lw=0,
                    transform=ax.get_xaxis_transform())
    ax.grid(alpha=0.3)
ax0.set_ylabel("activación sigmoide (media ± std)")
ax0.set_ylim(0, 1)
ax0.set_title("Red sigmoide de 4 capas, inicialización estándar")
ax0.legend(loc="upper right")

ax1.plot(history.step, history.loss, color="C1", lw=1, alpha=0.8, label="pérdida")
ax1.set_ylabel("pérdida de entrenamiento")
ax1.set_xlabel("paso de SGD")
ax_acc = ax1.twinx()
ax_acc.plot(history.eval_step, history.test_acc, "o-", color="C3", label="exactitud en test")
ax_acc.set_ylabel("exactitud en test")
ax_acc.set_ylim(0, 1)
ax1.legend(loc="upper left")
ax_acc.legend(loc="upper right")
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# En unas decenas de pasos la media de la última capa oculta cae de 0,5 a menos
# de 0,1 y se queda ahí durante cientos de pasos, mientras las capas inferiores
# siguen centradas en 0,5. En esa zona la derivada de la sigmoide es pequeña y
# la capa apenas transmite información ni gradiente: la pérdida se queda en
# :math:`\ln 10 \approx 2{,}3` y la exactitud en el 10 % del azar. Solo cuando
# la capa empieza a salir de la saturación la red aprende. Es el mecanismo que
# Glorot y Bengio señalan para desaconsejar la sigmoide en redes profundas.

window = (top.step >= 100) & (top.step <= 500)
lower = frame[(frame.layer < DEPTH) & (frame.step >= 100) & (frame.step <= 500)]
early_acc = [a for s, a in zip(history.eval_step, history.test_acc, strict=True) if s <= 500]
print(f"media de la última capa entre los pasos 100 y 500: "
      f"{top.act_mean[window].min():.3f}–{top.act_mean[window].max():.3f}")
print(f"media de las capas 1-3 en ese tramo: {lower.act_mean.min():.3f}–{lower.act_mean.max():.3f}")
print(f"pérdida media en ese tramo: {np.mean(history.loss[100:500]):.3f}; "
      f"exactitud máxima hasta el paso 500: {max(early_acc):.1%}")
assert top.act_mean[window].max() < 0.1  # la última capa, saturada cerca de 0
assert lower.act_mean.min() > 0.4  # las demás, no
assert np.mean(history.loss[100:500]) > 2.2 and max(early_acc) < 0.15  # estancada

# %%
# Este ejemplo acompaña a :doc:`/clase/06-sigmoid-tanh`.
