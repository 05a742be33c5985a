"""
Saturación de la sigmoide en la última capa oculta
==================================================

Versión reducida de la figura 2 de Glorot y Bengio (2010): en una red
sigmoide profunda con la inicialización estándar, la última capa oculta se
satura cerca de 0 al poco de empezar, y mientras sigue saturada la red no
aprende.
"""

# sphinx_gallery_thumbnail_number = 1

# %%
# El experimento
# --------------
#
# Cuatro capas ocultas sigmoide de 128 unidades, inicialización estándar
# :math:`\mathcal{U}[-1/\sqrt{n}, 1/\sqrt{n}]`
# (:func:`~gradcourse.initializers.glorot_standard_`, la inicialización por
# defecto de PyTorch), 400 pasos de descenso por gradiente sin momento (tasa
# 1, minilotes de 64) sobre los dígitos. Un
# :class:`~gradcourse.tracking.Tracker` registra cada 20 pasos la media de las
# activaciones de cada capa. Repetimos el entrenamiento con 5 semillas
# (:func:`gradcourse.over_seeds`).

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
import gradcourse.plots

gc.plots.use_style()
es = gc.plots.number  # decimal comma
DEPTH, STEPS = 4, 400
data = gc.digits()
histories = []  # one History per seed, for the loss curves


def experiment(seed):
    model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=128,
                   activation="sigmoid", init="glorot_standard", seed=seed)
    tracker = gc.Tracker(model, every=20, weights=False)
    hist = gc.train(model, data, lr=1.0, optimizer="sgd", steps=STEPS,
                    seed=seed, eval_every=40, callbacks=[tracker])
    histories.append(hist)
    frame = tracker.to_frame()
    out = {f"capa {k}": frame[frame.layer == k].act_mean.to_numpy()
           for k in range(1, DEPTH + 1)}
    out["paso"] = frame[frame.layer == 1].step.to_numpy()
    out["exactitud"] = hist.test_acc
    out["paso de evaluación"] = hist.eval_step
    return out


runs = gc.over_seeds(experiment, seeds=5)
steps = runs["paso"][0].astype(int)
for k in range(1, DEPTH + 1):
    mean = runs.median(f"capa {k}")
    print(f"capa {k}: media de la activación en los pasos {steps[0]}, "
          f"{steps[2]} y {steps[-1]}: {es(mean[0], '.2f')}; "
          f"{es(mean[2], '.2f')}; {es(mean[-1], '.2f')}")
print("(medianas de 5 semillas)")

# %%
# Activaciones por capa durante el entrenamiento
# ----------------------------------------------
#
# La media de las activaciones de cada capa: la línea es la mediana de las 5
# semillas y la banda, de la menor a la mayor. La línea de puntos marca 0,1.

fig, ax = plt.subplots(figsize=(gc.plots.FIG_WIDTH, 3.8))
colors = plt.get_cmap("cividis")(np.linspace(0, 0.9, DEPTH))
for k in range(1, DEPTH + 1):
    label = f"capa {k}" + (" (última oculta)" if k == DEPTH else "")
    gc.plots.band(ax, steps, runs[f"capa {k}"], label=label,
                  color=colors[k - 1], lw=2)
ax.axhline(0.1, color="0.4", ls=":", lw=1)
ax.set(xlabel="paso", ylabel="media de la activación sigmoide",
       ylim=(0, 1), title="Red sigmoide de 4 capas, inicialización estándar")
ax.legend(loc="lower right", bbox_to_anchor=(1, 0.12))
fig.set_label("Media de la activación de cada una de las 4 capas de una red sigmoide durante el entrenamiento "
              "(mediana y rango de 5 semillas): la de la última capa oculta cae de 0,5 a menos de 0,1 en unas "
              "decenas de pasos y se queda ahí; las de las capas inferiores siguen entre 0,4 y 0,85.")
gc.plots.spanish_axes(fig)
fig.tight_layout()

# %%
# La pérdida y la exactitud
# -------------------------
#
# A la izquierda, la pérdida de entrenamiento de cada paso
# (:func:`gradcourse.plots.loss_curves`) con la línea de
# :math:`\ln 10 \approx 2{,}30`, la pérdida de una red que reparte la misma
# probabilidad entre las 10 clases. A la derecha, la exactitud en el conjunto
# de prueba.

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(gc.plots.FIG_WIDTH, 3.2))
gc.plots.loss_curves({"5 semillas": histories}, ax=ax0)
ax0.axhline(np.log(10), color="0.4", ls=":", lw=1)
ax0.set(ylim=(2.0, 3.0), title="Pérdida de entrenamiento")
gc.plots.band(ax1, runs["paso de evaluación"][0], runs["exactitud"],
              color=gc.plots.color("sigmoid"), marker="o")
ax1.axhline(0.1, color="0.4", ls=":", lw=1)
ax1.set(xlabel="paso", ylabel="exactitud en el conjunto de prueba",
        ylim=(0, 1), title="Exactitud")
fig.set_label("Dos paneles. Izquierda: la pérdida de entrenamiento de la red sigmoide se queda junto a la línea "
              "de ln 10 ≈ 2,30. Derecha: su exactitud en el conjunto de prueba se queda cerca del 10 % del "
              "azar durante todo el entrenamiento.")
gc.plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# En unas decenas de pasos la media de la última capa oculta cae de 0,5 a
# menos de 0,1 y la mediana de las semillas se queda ahí hasta el final
# (alguna semilla puede empezar a salir antes del paso 400), mientras las
# capas inferiores siguen lejos de la saturación, con medias entre 0,4 y 0,85.
# En esa zona la salida y la derivada de la sigmoide son pequeñas
# (:math:`\sigma' = \sigma(1 - \sigma) \approx \sigma`): la capa pasa poca
# señal a la salida y poco gradiente hacia atrás, y la pérdida se queda en
# :math:`\ln 10 \approx 2{,}30` y la exactitud, cerca del 10 % del azar.
# Glorot y Bengio observan que la capa sale de la saturación muy despacio,
# tras muchos más pasos, y que solo entonces la red empieza a aprender; es el
# mecanismo por el que desaconsejan la sigmoide en redes profundas con esta
# inicialización.
#
# Este ejemplo acompaña a :doc:`la sigmoide y la tanh </clase/06-sigmoid-tanh>`.

# %%
# Comprobación
# ------------
#
# Esta celda verifica la conclusión en las 5 semillas, desde el paso 41 hasta
# el final (la mediana de la última capa; el mínimo de las demás; la pérdida
# de cada semilla): si dejara de cumplirse, la construcción del sitio
# fallaría.

late = steps >= 41
top = runs[f"capa {DEPTH}"][:, late]
lower = np.stack([runs[f"capa {k}"] for k in range(1, DEPTH)])
loss = np.array([h.loss[40:] for h in histories])
acc = runs["exactitud"]
escaped = int((top.max(axis=1) >= 0.1).sum())
print(f"última capa desde el paso 41: mediana de las semillas como mucho "
      f"{es(np.median(top, axis=0).max(), '.3f')};")
print(f"  semillas que pasan de 0,1 en algún paso: {escaped} de 5")
print(f"capas 1 a {DEPTH - 1}: "
      f"{gc.plots.number_range(lower.min(), lower.max(), '.3f')}")
print("pérdida media desde el paso 41, por semilla:",
      "; ".join(es(v, ".3f") for v in loss.mean(axis=1)))
print("exactitud, máximo de cada semilla:",
      "; ".join(es(v, ".2f") for v in acc.max(axis=1)))
assert np.median(top, axis=0).max() < 0.1  # la última capa, saturada
assert lower.min() > 0.4 and lower.max() < 0.85  # las demás, no
assert loss.mean(axis=1).min() > 2.2  # la pérdida no baja de ln 10
assert np.median(acc.max(axis=1)) < 0.2  # la exactitud, cerca del azar
