"""
Leer las señales: una red sana y una rota
=========================================

Antes de esperar a que la pérdida no baje, se puede mirar dentro de la red: la
desviación típica del gradiente por capa y el cociente actualización/dato
:math:`\\operatorname{std}(\\Delta W)/\\operatorname{std}(W)`. Comparamos
una red sana y una rota con :class:`~gradcourse.tracking.Tracker`, con cinco
semillas, y dejamos que :func:`~gradcourse.diagnosis.diagnose` emita su
veredicto.
"""

# %%
# Dos redes de 8 capas
# --------------------
#
# La sana usa ReLU con He; la rota, sigmoide con la inicialización por defecto
# de PyTorch: pesos :math:`\mathcal{U}[-1/\sqrt{n}, 1/\sqrt{n}]` (la
# heurística «estándar» que critican Glorot y Bengio) y sesgos de la misma
# distribución, como los deja ``nn.Linear``. Mismo ancho (64), misma tasa de
# aprendizaje (0,05), mismos 200 pasos de SGD. El diagnóstico se hace con un
# solo lote de 256 dígitos, antes de entrenar: no hace falta esperar. Abajo se
# imprime el de la semilla 0.

import textwrap

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse import plots

plots.use_style()
DEPTH, STEPS, SEEDS = 8, 200, 5
data = gc.digits()
X, y = data.X_train[:256], data.y_train[:256]
CONFIGS = {"sana: ReLU + He": dict(activation="relu", init="he_normal"),
           "rota: sigmoide + por defecto": dict(activation="sigmoid",
                                               init="glorot_standard",
                                               bias_init="pytorch")}
seed0 = {}  # el Tracker de la semilla 0 de cada red, para el mapa de calor


def train(label):
    def experiment(seed):
        model = gc.MLP(data.in_features, data.n_classes, depth=DEPTH, width=64,
                       seed=seed, **CONFIGS[label])
        before = gc.diagnose(model, X, y)
        tracker = gc.Tracker(model, every=10)
        h = gc.train(model, data, lr=0.05, steps=STEPS, seed=seed,
                     callbacks=[tracker])
        if seed == 0:
            seed0[label] = (before, tracker)
        frame = tracker.to_frame()
        grad = frame.pivot(index="step", columns="layer", values="grad_std")
        return {"healthy_before": before.healthy,
                "vanishing": "vanishing" in before.kinds(),
                "healthy_after": gc.diagnose(model, X, y).healthy,
                "update_ratio": frame.groupby("layer").update_ratio.median(),
                "grad_gap": (grad[DEPTH] / grad[1]).median(),
                "loss": h.loss, "final_acc": h.test_acc[-1]}
    return experiment


runs = {label: gc.over_seeds(train(label), seeds=SEEDS) for label in CONFIGS}
for label, (report, _) in seed0.items():
    print(f"== {label} (semilla 0) ==")
    for line in str(report).splitlines():
        print(textwrap.fill(line, width=78, subsequent_indent="    "))

# %%
# La pérdida
# ----------
#
# Mediana de las cinco semillas (línea) y su rango (banda). La curva de la red
# rota no baja de :math:`\ln 10 \approx 2{,}3`: el síntoma «la pérdida no
# cambia» de la diapositiva «Señales prácticas». Las figuras siguientes dicen
# por qué.

colors = {"sana: ReLU + He": plots.color("healthy"),
          "rota: sigmoide + por defecto": plots.color("vanishing")}
fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.2))
for label, r in runs.items():
    plots.band(ax, np.arange(1, STEPS + 1), r["loss"], label=label,
               color=colors[label])
ax.axhline(np.log(10), color="0.4", ls=":", label="ln 10 (azar)")
ax.set(yscale="log", xlabel="paso de SGD", ylabel="pérdida de entrenamiento")
ax.legend()
fig.set_label("Escala logarítmica: pérdida de entrenamiento de la red sana (ReLU y He) y de la rota (sigmoide "
              "y la inicialización por defecto), con la línea de ln 10: la sana baja; la rota se queda cerca "
              "de ln 10.")
fig.tight_layout()

# %%
# El cociente actualización/dato
# ------------------------------
#
# La regla práctica (Karpathy) es que cada paso cambie los pesos en torno a una
# milésima de su tamaño:
# :math:`\operatorname{std}(\Delta W)/\operatorname{std}(W) \approx 10^{-3}`
# (línea discontinua). Por debajo de :math:`10^{-5}`, una capa está congelada.
# Para cada capa, la mediana a lo largo del entrenamiento;
# línea y banda: mediana y rango de las cinco semillas.

layers = np.arange(1, DEPTH + 1)
fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.4))
for label, r in runs.items():
    plots.band(ax, layers, r["update_ratio"], label=label, color=colors[label],
               marker="o")
ax.axhline(1e-3, color="black", ls="--", lw=1, label="regla 10⁻³")
ax.set(yscale="log", ylabel="std(ΔW) / std(W)",
       title="Cuánto cambia cada capa en un paso")
plots.layer_axis(ax)
ax.legend()
fig.set_label("Escala logarítmica: cociente std(ΔW)/std(W) de cada capa en un paso (mediana y rango de 5 "
              "semillas) con la línea de la regla 10⁻³: en la red sana todas las capas quedan cerca de 10⁻³; "
              "en la rota la capa 1 se actualiza cientos de miles de veces más despacio que la última.")
fig.tight_layout()

# %%
# El gradiente por capa y por paso, en la red sana
# ------------------------------------------------
#
# Mapa de :math:`\log_{10}` de la desviación típica de
# :math:`\partial L/\partial z` (capa 1 abajo), semilla 0. En la red sana el
# color es uniforme en todas las capas...

fig = plots.stat_heatmap(seed0["sana: ReLU + He"][1].history, "grad_std")
fig.axes[0].set_title("sana: ReLU + He")
fig.axes[1].set_ylabel("log₁₀ std de ∂L/∂z")
fig.set_label("Mapa de color del logaritmo de la desviación típica del gradiente por capa (vertical, capa 1 "
              "abajo) y por paso (horizontal) en la red sana: el color es uniforme en todas las capas.")
fig.tight_layout()

# %%
# ... y en la rota
# ----------------
#
# ... en la rota hay más de cinco órdenes de magnitud entre la capa 8 y la
# capa 1, durante todo el entrenamiento.

fig = plots.stat_heatmap(seed0["rota: sigmoide + por defecto"][1].history,
                         "grad_std")
fig.axes[0].set_title("rota: sigmoide + por defecto")
fig.axes[1].set_ylabel("log₁₀ std de ∂L/∂z")
fig.set_label("Mapa de color del logaritmo de la desviación típica del gradiente por capa y por paso en la red "
              "rota: más de cinco órdenes de magnitud entre la capa de arriba y la capa 1, en todo el "
              "entrenamiento.")
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# En la red sana todas las capas se actualizan cerca de la milésima por paso y
# :func:`~gradcourse.diagnosis.diagnose` no encuentra nada, antes y después de
# entrenar. En la rota, la capa más cercana a la salida se actualiza a un
# ritmo razonable, pero la capa 1 lo hace cientos de miles de veces más
# despacio: está congelada, y el diagnóstico, hecho
# antes de entrenar, ya lo decía (desaparición del gradiente, *vanishing*).
# Mirar las estadísticas internas detecta el problema en el primer paso,
# mucho antes que la curva de pérdida.
#
# Este ejemplo acompaña a :doc:`/clase/13-senales-practicas` y a
# :doc:`el cuaderno de la clase </clase/14-puente-notebook>`.

# %%
# Comprobación
# ------------
#
# Esta celda comprueba la conclusión con las cinco semillas de cada red: el
# veredicto del diagnóstico en todas, los cocientes por capa en la peor y la
# exactitud final. Al construir el sitio se ejecuta: si deja de cumplirse, la
# construcción falla.

healthy, broken = runs.values()
es, span = plots.number, plots.number_range
for label, r in runs.items():
    lo, hi = r.range("update_ratio")
    acc = [100 * v for v in r.range("final_acc")]
    print(f"{label}: std(ΔW)/std(W)")
    print(f"  capa 1 {span(lo[0], hi[0], '.1e')}, "
          f"capa {DEPTH} {span(lo[-1], hi[-1], '.1e')}")
    print(f"  exactitud final {span(*acc, '.0f', '%')}")
print(f"rota: gradiente capa {DEPTH} / capa 1 (mediana de los pasos) al "
      f"menos {es(broken['grad_gap'].min(), '.1e')}")
assert healthy["healthy_before"].all() and healthy["healthy_after"].all()
assert broken["vanishing"].all()
assert (healthy.range("update_ratio")[0] > 3e-4).all()
assert (healthy.range("update_ratio")[1] < 3e-2).all()
lo, hi = broken.range("update_ratio")
frozen = broken["update_ratio"][:, -1] / broken["update_ratio"][:, 0]
print(f"rota: capa {DEPTH} / capa 1 en std(ΔW)/std(W): al menos "
      f"{es(frozen.min(), '.1e')}")
assert hi[0] < 1e-6 and lo[-1] > 1e-4 and frozen.min() > 1e5
assert broken["grad_gap"].min() > 1e5
assert healthy.range("final_acc")[0] > 0.85
assert broken.range("final_acc")[1] < 0.2

# sphinx_gallery_thumbnail_number = 2
