"""
Las señales en tu propio código: TensorBoard y el diagnóstico
=============================================================

El :class:`~gradcourse.tracking.Tracker` no necesita :class:`gradcourse.MLP` ni
:func:`gradcourse.train`: sigue cualquier ``nn.Module`` en un bucle escrito a
mano y escribe sus estadísticas por capa en TensorBoard, junto a tus propias
curvas. Aquí las leemos de vuelta de los ficheros de eventos y terminamos con
el diagnóstico.
"""

# %%
# Una red como la escribiría cualquiera
# -------------------------------------
#
# Seis capas ocultas de 64 unidades con sigmoide, la inicialización por defecto
# de PyTorch (la heurística «estándar» que critican Glorot y Bengio) y un
# único módulo ``nn.Sigmoid`` que se llama después de cada capa: el Tracker
# empareja cada llamada con la ``nn.Linear`` que la precede. El bucle es el de
# siempre, con SGD (tasa de aprendizaje 0,1) en minilotes de 64 dígitos; lo
# único nuevo es ``gc.Tracker(model, every=5, optimizer=opt, tensorboard=writer)``:
# cada ``opt.step()`` cierra un paso, uno de cada cinco se registra y sus
# estadísticas por capa se escriben en TensorBoard en cuanto el paso se cierra,
# en el mismo ``SummaryWriter`` en el que el bucle escribe su pérdida. (Con una
# carpeta en lugar del ``writer``, el Tracker abre el suyo; y
# ``tracker.to_tensorboard(carpeta)`` lo escribe todo de una vez, al final.)

import math
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util
from torch import nn
from torch.utils.tensorboard import SummaryWriter

import gradcourse as gc
from gradcourse import plots
from gradcourse.diagnosis import Report

plots.use_style()
DEPTH, STEPS, SEEDS = 6, 100, 5
data = gc.digits()


class Classifier(nn.Module):
    def __init__(self, n_in, n_out, width=64, depth=DEPTH):
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(n_in if k == 0 else width, width)
                                    for k in range(depth))
        self.act = nn.Sigmoid()
        self.out = nn.Linear(width, n_out)

    def forward(self, x):
        for layer in self.hidden:
            x = self.act(layer(x))
        return self.out(x)


def train(seed, writer=None):
    """Your own loop; the Tracker watches it and writes to ``writer``, as does the loop."""
    torch.manual_seed(seed)
    model = Classifier(data.in_features, data.n_classes)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = torch.Generator().manual_seed(seed)
    losses = []
    with gc.Tracker(model, every=5, optimizer=opt, tensorboard=writer) as tracker:
        for step in range(1, STEPS + 1):
            idx = torch.randint(0, len(data.X_train), (64,), generator=batches)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(data.X_train[idx]), data.y_train[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if writer is not None:
                writer.add_scalar("loss", loss.item(), step)
    return tracker, losses


log_dir = tempfile.TemporaryDirectory(prefix="gradcourse-tb-")
writer = SummaryWriter(log_dir.name)
tracker, losses = train(0, writer)  # gradcourse/<estadística>/layer_<k>, en vivo
writer.close()
print(tracker)

# %%
# Leer los ficheros de eventos
# ----------------------------
#
# Es lo que dibujaría ``tensorboard --logdir`` (aquí no arrancamos ningún
# servidor): cada estadística de cada capa es una serie con la etiqueta
# ``gradcourse/grad_std/layer_3``, guardada en doble precisión. El
# ``EventAccumulator`` de TensorBoard las lee; ``size_guidance`` a 0 le pide
# todos los puntos (por defecto guarda solo una muestra).

events = EventAccumulator(log_dir.name, size_guidance={"tensors": 0, "scalars": 0})
events.Reload()


def series(tag):
    points = events.Tensors(tag)
    return (np.array([p.step for p in points]),
            np.array([tensor_util.make_ndarray(p.tensor_proto).item() for p in points]))


tags = sorted(t for t in events.Tags()["tensors"] if t.startswith("gradcourse/grad_std/"))
print(len(tags), "series de std de ∂L/∂z, por ejemplo", tags[0])

# %%
# La pérdida no baja
# ------------------
#
# La curva que el propio bucle escribe (``writer.add_scalar("loss", ...)``)
# queda pegada a :math:`\ln 10 \approx 2{,}30`, la de una red que reparte la
# probabilidad por igual entre diez clases. Por sí sola no dice por qué.

loss_points = events.Scalars("loss")
fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 2.8))
ax.plot([p.step for p in loss_points], [p.value for p in loss_points],
        color=plots.color("vanishing"), label="pérdida (semilla 0)")
ax.axhline(math.log(10), color="0.4", ls=":", label="ln 10 (azar)")
ax.set(xlabel="paso de SGD", ylabel="pérdida de entrenamiento", ylim=(2.25, 2.5),
       title="Pérdida leída de TensorBoard")
ax.legend(loc="upper right", ncol=2)
plots.spanish_axes(ax)
fig.tight_layout()
fig.set_label("Pérdida de entrenamiento de la semilla 0 frente al paso de SGD, leída de los "
              "ficheros de eventos de TensorBoard: se queda pegada a la línea punteada de "
              f"ln 10 ≈ {plots.number(math.log(10), '.2f')} durante los {STEPS} pasos")

# %%
# El gradiente por capa, leído de TensorBoard
# -------------------------------------------
#
# Una curva por capa de la desviación típica de :math:`\partial L/\partial z`
# (escala logarítmica), con su número al final de la línea. La capa 6, la más
# cercana a la salida, recibe un gradiente más de diez mil veces mayor que la
# capa 1, y la distancia se mantiene durante todo el entrenamiento.

fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 3.6))
colors = [plt.get_cmap("cividis")(v) for v in np.linspace(0.0, 0.75, DEPTH)]
markers = ["o", "s", "^", "v", "D", "P"]
for k in range(1, DEPTH + 1):
    steps, values = series(f"gradcourse/grad_std/layer_{k}")
    ax.plot(steps, values, color=colors[k - 1], marker=markers[k - 1], markersize=3)
    ax.annotate(f"capa {k}", (steps[-1], values[-1]), xytext=(6, 0),
                textcoords="offset points", va="center", color=colors[k - 1])
ax.set(yscale="log", xlabel="paso de SGD", ylabel="std de ∂L/∂z",
       xlim=(0, STEPS * 1.25),
       title="std de ∂L/∂z por capa, leída de TensorBoard")
plots.spanish_axes(ax)
fig.tight_layout()
fig.set_label(f"Escala logarítmica: desviación típica de ∂L/∂z de cada una de las {DEPTH} capas "
              "frente al paso de SGD, leída de TensorBoard, una curva con marcador propio y "
              "rotulada por capa: la capa 1 queda abajo, la 6 arriba, separadas más de diez mil "
              "veces durante todo el entrenamiento")

# %%
# El diagnóstico
# --------------
#
# :meth:`Report.from_tracker <gradcourse.diagnosis.Report.from_tracker>` juzga
# el último paso registrado con los mismos umbrales que
# :func:`~gradcourse.diagnosis.diagnose`, y remite a la lección que lo explica.

report = Report.from_tracker(tracker)
print(report)

# %%
# Conclusión
# ----------
#
# Con tu propio módulo y tu propio bucle basta un argumento del Tracker,
# ``tensorboard=``, para tener, en
# TensorBoard, la desviación típica de :math:`\partial L/\partial z` de cada
# capa junto a la pérdida. La pérdida solo dice que la red no aprende; las
# curvas por capa dicen dónde: el gradiente desaparece hacia la entrada
# (*vanishing*), y el diagnóstico lo confirma y propone el remedio (Xavier o
# He, evitar la sigmoide en redes profundas).
#
# Este ejemplo acompaña a :doc:`/clase/13-senales-practicas`.

# %%
# Comprobación
# ------------
#
# Los valores leídos de los ficheros de eventos son exactamente los de
# ``tracker.history`` (mismos pasos, mismas capas, mismos números). Y la
# conclusión no es de una sola ejecución: con cinco semillas, el cociente
# :math:`\operatorname{std}(\partial L/\partial z_1)/\operatorname{std}(\partial L/\partial z_6)`
# queda por debajo de :math:`10^{-4}` en todos los pasos registrados (el
# umbral del diagnóstico es :math:`10^{-2}`), el veredicto final es
# desaparición en todas y la pérdida media de los últimos 20 pasos no baja de
# 2,2.

written = {(tag, int(step)): value
           for tag in events.Tags()["tensors"] if not tag.endswith("text_summary")
           for step, value in zip(*series(tag), strict=True)}
expected = {(f"gradcourse/{stat}/layer_{r['layer']}", r["step"]): value
            for r in tracker.history for stat, value in r.items() if isinstance(value, float)}
assert written == expected
print(len(written), "valores en los ficheros de eventos, idénticos a tracker.history")


def experiment(seed):
    tr, seed_losses = (tracker, losses) if seed == 0 else train(seed)
    by_step = {}
    for r in tr.history:
        by_step.setdefault(r["step"], {})[r["layer"]] = r["grad_std"]
    return {"ratio": max(g[1] / g[DEPTH] for g in by_step.values()),
            "vanishing": "vanishing" in Report.from_tracker(tr).kinds(),
            "late_loss": float(np.mean(seed_losses[-20:]))}


runs = gc.over_seeds(experiment, seeds=SEEDS, progress=False)
lo, hi = runs.range("ratio")
print("std(∂L/∂z₁)/std(∂L/∂z₆), el mayor de cada semilla:", plots.number_range(lo, hi, ".1e"))
print("pérdida media de los últimos 20 pasos:",
      plots.number_range(*runs.range("late_loss"), ".2f"))
assert hi < 1e-4  # más de diez mil veces
assert runs["vanishing"].all()
assert runs.range("late_loss")[0] > 2.2
log_dir.cleanup()

# sphinx_gallery_thumbnail_number = 2
