"""
Red ReLU de 30 capas: Xavier se estanca, He aprende
===================================================

Reproducción a pequeña escala de la figura 3 de He et al. (2015): la misma red
ReLU de 30 capas ocultas, entrenada con SGD sobre los dígitos, no aprende nada
con la inicialización de Xavier y sí con la de He. Lo repetimos con cinco
semillas.
"""

# %%
# Dos inicializaciones, la misma red
# ----------------------------------
#
# Xavier elige :math:`\operatorname{Var}(W) = 2/(n_{in} + n_{out})`, es decir
# :math:`1/n` para capas cuadradas: conserva la varianza de una activación
# lineal. Pero ReLU anula la mitad negativa de la señal, así que cada capa
# divide la *varianza* por 2. Tras 30 capas, la varianza de la señal que llega
# a la salida es :math:`2^{-30} \approx 10^{-9}` veces la de la entrada; su
# amplitud (la desviación típica), :math:`2^{-15} \approx 3 \cdot 10^{-5}`
# veces. He et al. compensan ese factor con
# :math:`\operatorname{Var}(W) = 2/n_{in}`.
#
# Cada semilla fija los pesos iniciales y el orden de los lotes; la red tiene
# 32 unidades por capa y se entrena 100 pasos con SGD con momento 0,9 (tasa de
# aprendizaje 0,01, lotes de 128).

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse import plots

plots.use_style()
DEPTH, WIDTH, STEPS, LR, SEEDS = 30, 32, 100, 0.01, 5
INITS = {"Xavier": "xavier_normal", "He": "he_normal"}
data = gc.digits()


def train(init):
    def experiment(seed):
        model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH,
                       width=WIDTH, activation="relu", init=init, seed=seed)
        h = gc.train(model, data, lr=LR, optimizer="momentum", batch_size=128,
                     steps=STEPS, eval_every=10, seed=seed)
        return {"loss": h.loss, "test_acc": h.test_acc,
                "final_loss": np.mean(h.loss[-20:]),
                "final_acc": h.test_acc[-1]}
    return experiment


runs = {label: gc.over_seeds(train(init), seeds=SEEDS)
        for label, init in INITS.items()}
steps = np.arange(1, STEPS + 1)
eval_steps = np.arange(10, STEPS + 1, 10)
for label, r in runs.items():
    lo, hi = r.range("final_acc")
    print(f"{label:>6}: pérdida final (mediana) {plots.number(r.median('final_loss'), '.2f')}, "
          f"exactitud en prueba {plots.number_range(100 * lo, 100 * hi, '.0f', '%')}")

# %%
# La pérdida
# ----------
#
# Mediana de las cinco semillas (línea) y su rango (banda). La línea de puntos
# es :math:`\ln 10 \approx 2{,}30`, la pérdida de una red que reparte la
# probabilidad por igual entre las diez clases.

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.4))
fig.set_label(
    "Pérdida de entrenamiento frente al paso de SGD, de 1 a 100, mediana y "
    "rango de 5 semillas: con Xavier se queda plana sobre la línea de ln 10; "
    "con He baja de ln 10 hasta entre 1,5 y 2, con una banda ancha entre semillas.")
for label, r in runs.items():
    plots.band(ax, steps, r["loss"], label=label, color=plots.color(label))
ax.axhline(np.log(10), color="0.4", ls=":", label="ln 10 (azar)")
ax.set(xlabel="paso de SGD", ylabel="pérdida de entrenamiento",
       title=f"Red ReLU de {DEPTH} capas ocultas")
ax.legend()
fig.set_label(f"Pérdida de entrenamiento de una red ReLU de {DEPTH} capas ocultas durante 100 pasos (mediana y "
              "rango de 5 semillas), con la línea de ln 10: con Xavier se queda en ln 10; con He baja.")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# La exactitud
# ------------
#
# Exactitud (*accuracy*) en el conjunto de prueba cada 10 pasos; la línea de
# puntos es el azar (10 %).

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.2))
fig.set_label(
    "Exactitud en el conjunto de prueba cada 10 pasos, mediana y rango de 5 "
    "semillas: con Xavier se queda en el 10 % del azar; con He sube por "
    "encima del azar, más o menos según la semilla.")
for label, r in runs.items():
    plots.band(ax, eval_steps, r["test_acc"], label=label,
               color=plots.color(label), marker="o")
ax.axhline(0.1, color="0.4", ls=":", label="azar (10 %)")
ax.set(xlabel="paso de SGD", ylabel="exactitud en prueba", ylim=(0, 1))
ax.legend()
fig.set_label("Exactitud en el conjunto de prueba cada 10 pasos de la misma red, con la línea del azar en 10 %: "
              "con Xavier se queda en el azar; con He se aleja de él con todas las semillas.")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Con Xavier la pérdida no se separa de :math:`\ln 10` y la exactitud se queda
# en el azar con todas las semillas: la señal llega a la salida con una
# amplitud :math:`\sim 10^{-5}` veces la de entrada, y el gradiente que vuelve
# hacia las primeras capas se atenúa igual. Con He, la misma red con la misma
# tasa de aprendizaje aprende con todas las semillas: la pérdida baja de
# :math:`\ln 10` y la exactitud mediana se aleja del azar. Cuánto aprende en
# 100 pasos cambia con la semilla (la celda de arriba imprime el rango): una
# red ReLU de 30 capas amplifica cualquier diferencia inicial. Para ReLU, la
# varianza de los pesos tiene que ser el doble.
#
# Este ejemplo acompaña a :doc:`la inicialización de He </clase/11-he>` y a
# :doc:`/clase/12-activacion-inicializacion`.

# %%
# Comprobación
# ------------
#
# Esta celda comprueba la conclusión sobre las cinco semillas (peor semilla de
# cada inicialización y sus medianas). Al construir el sitio se ejecuta: si
# deja de cumplirse, la construcción falla.

xavier, he = runs["Xavier"], runs["He"]
print(f"pérdida final: Xavier {plots.number_range(*xavier.range('final_loss'), '.2f')}; "
      f"He {plots.number_range(*he.range('final_loss'), '.2f')}")
print(f"exactitud máxima de Xavier: {plots.number(xavier['test_acc'].max(), '.2f')}; "
      f"mediana final de He: {plots.number(he.median('final_acc'), '.2f')}")
assert xavier.range("final_loss")[0] > 2.2 and xavier["test_acc"].max() < 0.2
assert he.range("final_loss")[1] < 2.15 and he.median("final_loss") < 1.95
assert he.median("final_acc") > 0.2  # el doble del azar

# sphinx_gallery_thumbnail_number = 1
