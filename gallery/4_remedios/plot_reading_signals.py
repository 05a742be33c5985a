"""
Leer las señales: una red sana y una rota
=========================================

Antes de esperar a que la pérdida no baje, se puede mirar dentro de la red: la
desviación típica del gradiente por capa y el cociente actualización/dato
:math:`\\operatorname{std}(\\Delta W)/\\operatorname{std}(W)`. Comparamos una red
sana y una rota con :class:`~gradcourse.tracking.Tracker` y dejamos que
:func:`~gradcourse.diagnosis.diagnose` emita su veredicto.
"""

# %%
# Dos redes de 8 capas
# --------------------
#
# La sana usa ReLU con He; la rota, sigmoide con la inicialización estándar
# :math:`\mathcal{U}[-1/\sqrt{n}, 1/\sqrt{n}]`. Mismo ancho (64), misma tasa de
# aprendizaje (0,05), mismos 300 pasos de SGD. El diagnóstico se hace con un
# solo lote de 256 dígitos, antes de entrenar: no hace falta esperar.

import gradcourse as gc
from gradcourse import plots
from gradcourse.diagnosis import diagnose
from gradcourse.tracking import Tracker

data = gc.digits()
X, y = data.X_train[:256], data.y_train[:256]
CONFIGS = {"sana: ReLU + He": dict(activation="relu", init="he_normal"),
           "rota: sigmoide + estándar": dict(activation="sigmoid", init="glorot_standard")}

reports, trackers, histories = {}, {}, {}
for label, cfg in CONFIGS.items():
    model = gc.MLP(data.in_features, data.n_classes, depth=8, width=64, seed=0, **cfg)
    reports[label] = diagnose(model, X, y)
    print(f"== {label} ==")
    print(reports[label])
    trackers[label] = Tracker(model, every=10)
    histories[label] = gc.train(model, data, lr=0.05, steps=300, seed=0,
                                callbacks=[trackers[label]])
    print(histories[label], "\n")

# %%
# La pérdida
# ----------
#
# La curva de la red rota no baja de :math:`\ln 10 \approx 2{,}3`: el síntoma
# «la pérdida no cambia» de la diapositiva «Señales prácticas». Las figuras
# siguientes dicen por qué.

fig = plots.loss_curves(histories)

# %%
# El gradiente por capa y por paso
# --------------------------------
#
# Mapa de :math:`\log_{10}` de la desviación típica de :math:`\partial L/\partial z`
# (capa 1 abajo). En la red sana el color es uniforme en todas las capas; en la
# rota hay seis órdenes de magnitud entre la capa 8 y la capa 1, durante todo
# el entrenamiento.

for label, tracker in trackers.items():
    fig = plots.stat_heatmap(tracker.history, "grad_std")
    fig.axes[0].set_title(label)
    fig.tight_layout()

# %%
# El cociente actualización/dato
# ------------------------------
#
# La regla práctica (Karpathy) es que cada paso cambie los pesos en torno a una
# milésima de su tamaño: :math:`\operatorname{std}(\Delta W)/\operatorname{std}(W)
# \approx 10^{-3}` (línea discontinua). Por debajo de :math:`10^{-5}`, una capa
# está congelada.

for label, tracker in trackers.items():
    fig = plots.update_ratios(tracker.history)
    fig.axes[0].set_title(label)
    fig.tight_layout()

# %%
# Conclusión
# ----------
#
# En la red sana todas las capas se actualizan cerca de la milésima por paso y
# :func:`~gradcourse.diagnosis.diagnose` no encuentra nada. En la rota, la capa
# más cercana a la salida se actualiza a ese ritmo pero la capa 1 lo hace
# cientos de miles de veces más despacio: está congelada, y el diagnóstico,
# hecho antes de entrenar, ya lo decía («vanishing»). Mirar las estadísticas internas detecta
# el problema en el primer paso, mucho antes que la curva de pérdida.

median_ratio = {label: tr.to_frame().groupby("layer").update_ratio.median().to_numpy()
                for label, tr in trackers.items()}
for label, ratios in median_ratio.items():
    print(f"{label}: mediana de std(ΔW)/std(W) por capa = "
          + ", ".join(f"{r:.1e}" for r in ratios))
healthy, broken = CONFIGS
assert reports[healthy].healthy and diagnose(trackers[healthy].model, X, y).healthy
assert "vanishing" in reports[broken].kinds()
assert ((3e-4 < median_ratio[healthy]) & (median_ratio[healthy] < 3e-2)).all()
assert median_ratio[broken][0] < 1e-6 and median_ratio[broken][-1] > 1e-4
assert histories[healthy].test_acc[-1] > 0.9 and histories[broken].test_acc[-1] < 0.2

# %%
# Este ejemplo acompaña a :doc:`/clase/13-senales-practicas` y a
# :doc:`/clase/14-puente-notebook`.

# sphinx_gallery_thumbnail_number = 5
