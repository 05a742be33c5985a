"""
Picos y valles en la pérdida: el recorte de la norma del gradiente
==================================================================

Con una tasa de aprendizaje algo alta, una red sana aprende, pero su pérdida
da saltos bruscos y vuelve a bajar: los «picos y valles» de los apuntes de
clase. En la mayoría de los saltos la norma del gradiente se multiplica
durante unos pasos. Recortar esa norma (Pascanu et al. 2013) acota el tamaño
de cada paso, y los saltos prácticamente desaparecen.
"""

# %%
# Dos entrenamientos idénticos salvo el recorte
# ---------------------------------------------
#
# Red ReLU de 10 capas ocultas de 64 unidades con inicialización de He, SGD
# con tasa de aprendizaje 0,25 durante 250 pasos, cinco semillas. La segunda
# vez pasamos ``clip_norm=2.0`` a :func:`gradcourse.train`: si la norma total
# del gradiente supera 2 (unas dos veces su valor típico en esta red), se
# reescala a 2 antes del paso.
#
# Llamamos **pico** a un paso en el que la pérdida del minilote supera el
# doble de la mediana de los 20 pasos anteriores y la supera en más de 1 (el
# ruido de un minilote a otro no llega a tanto), y decimos que la curva se
# **recupera** si en los 50 pasos siguientes vuelve a quedar a menos de 0,2
# de esa mediana. :func:`gradcourse.train` se detiene en cuanto la pérdida o
# el gradiente dejan de ser finitos; para dibujar todas las semillas juntas,
# rellenamos con NaN los pasos que no llegaron a darse.

import matplotlib.pyplot as plt
import numpy as np

import gradcourse as gc
from gradcourse import plots

plots.use_style()
LR, STEPS, SEEDS, CLIP = 0.25, 250, 5, 2.0
data = gc.digits()


def spikes(loss, window=20, jump=1.0, back=50):
    """Los picos de una curva: (paso, pérdida en lo alto del pico, altura sobre
    la mediana, pasos hasta recuperarse o None)."""
    loss = np.asarray(loss, dtype=float)
    loss = loss[np.isfinite(loss)]
    found, t = [], window
    while t < len(loss):
        level = np.median(loss[t - window:t])
        if loss[t] > 2 * level and loss[t] > level + jump:
            top = loss[t:t + 10].max()  # un pico ocupa varios pasos
            after = np.flatnonzero(loss[t + 1:t + 1 + back] < level + 0.2)
            found.append((t + 1, top, top - level,
                          int(after[0]) + 1 if len(after) else None))
            t += 10  # no contar dos veces el mismo pico
        else:
            t += 1
    return found


def pad(values):
    return np.pad(np.asarray(values, dtype=float), (0, STEPS - len(values)),
                  constant_values=np.nan)


def train(clip):
    def experiment(seed):
        model = gc.MLP(data.in_features, data.n_classes, depth=10, width=64,
                       activation="relu", init="he_normal", seed=seed)
        h = gc.train(model, data, lr=LR, steps=STEPS, clip_norm=clip,
                     seed=seed, eval_every=STEPS)  # exactitud solo al final
        found = spikes(h.loss)
        norm = np.asarray(h.grad_norm)
        # a spike whose gradient norm, within a few steps, is 3x its usual value
        jumped = sum(norm[max(t - 4, 0):t + 1].max() > 3 * np.median(norm)
                     for t, *_ in found)
        return {"loss": pad(h.loss), "grad_norm": pad(h.grad_norm),
                "spikes": len(found),
                "recovered": sum(back is not None for *_, back in found),
                "jumped": jumped,
                # the highest spike the loss came back from
                "highest": max((jump for _, _, jump, back in found
                                if back is not None), default=0.0),
                "clipped": float(np.mean(norm > clip)) if clip else 0.0,
                "diverged": h.diverged, "test_acc": h.test_acc[-1]}
    return experiment


LABELS = {"sin recorte": None, f"con recorte de la norma a {CLIP:.0f}": CLIP}
runs = {label: gc.over_seeds(train(clip), seeds=SEEDS)
        for label, clip in LABELS.items()}
plain, clipped = runs.values()  # sin y con recorte
es = plots.number
for label, r in runs.items():
    lo, hi = r.range("spikes")
    print(f"{label}: {int(r['spikes'].sum())} picos en {SEEDS} semillas "
          f"({plots.number_range(lo, hi, '.0f')} por semilla); exactitud "
          f"final {plots.number_range(*(100 * v for v in r.range('test_acc')), '.0f', '%')}")

# %%
# La pérdida, semilla a semilla
# -----------------------------
#
# Una línea por semilla y un triángulo sobre cada pico. La mediana de las
# semillas esconde los picos, porque cada semilla salta en pasos distintos:
# por eso aquí se dibujan todas.

colors = {label: plots.color(key)
          for label, key in zip(LABELS, ("exploding", "healthy"), strict=True)}
steps = np.arange(1, STEPS + 1)
fig, axes = plt.subplots(1, 2, figsize=(plots.FIG_WIDTH, 3.4), sharey=True)
for ax, (label, r) in zip(axes, runs.items(), strict=True):
    for curve in r["loss"]:
        ax.plot(steps, curve, color=colors[label], lw=0.7, alpha=0.8)
        found = spikes(curve)
        ax.plot([t for t, *_ in found], [min(top, 5.6) + 0.3
                                          for _, top, *_ in found],
                "v", color="black", ms=5, ls="none")
    ax.set(title=label.replace("con recorte ", "con recorte\n"), xlabel="paso de SGD",
           ylim=(0, 6))
axes[0].set_ylabel("pérdida del minilote")
axes[0].plot([], [], "v", color="black", ms=5, ls="none", label="pico")
axes[0].legend(loc="upper right")
fig.set_label("Pérdida del minilote en cada paso de SGD, una línea por semilla, sin recorte "
              "(izquierda) y con recorte de la norma a 2 (derecha), con un triángulo sobre cada "
              f"pico: {int(plain['spikes'].sum())} picos sin recorte y "
              f"{int(clipped['spikes'].sum())} con recorte.")
plots.spanish_axes(fig)
fig.tight_layout()

# %%
# La norma del gradiente en los picos
# -----------------------------------
#
# La semilla que más picos da sin recorte, con y sin él. Es la norma que se
# mide *antes* de recortar: con recorte el gradiente sigue disparándose en
# algunos pasos, pero el paso aplicado nunca pasa de la norma 2. Las líneas
# verticales grises marcan los picos de la pérdida sin recorte.

worst = int(np.argmax(plain["spikes"]))
fig, ax = plt.subplots(figsize=(plots.FIG_WIDTH, 4.2))
for t, *_ in spikes(plain["loss"][worst]):
    ax.axvline(t, color="0.75", lw=1, zorder=0)
for (label, r), ls in zip(runs.items(), ("-", "--"), strict=True):
    ax.plot(steps, r["grad_norm"][worst], color=colors[label], ls=ls, lw=0.8,
            label=label)
ax.axhline(CLIP, color="black", ls=":", lw=1, label="umbral de recorte")
ax.set(yscale="log", xlabel="paso de SGD", ylabel="norma del gradiente",
       title=f"Semilla {plain.seeds[worst]}: la norma antes de "
       "recortar")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
fig.set_label(f"Escala logarítmica: norma del gradiente antes de recortar en cada paso, semilla "
              f"{plain.seeds[worst]}, sin recorte y con recorte a 2, con el umbral "
              "en línea de puntos y líneas verticales grises en los picos de la pérdida sin "
              "recorte: en ellos la norma se dispara.")
fig.tight_layout()

# %%
# Conclusión
# ----------
#
# Sin recorte, la misma red sana que aprende bien con una tasa menor da picos
# en la pérdida en la mayoría de las semillas, y en la mayoría de los casos se
# recupera en menos de 50 pasos; si no se recupera, puede echar a perder el
# entrenamiento (la celda de abajo cuenta cuántos picos hay, cuántos se
# recuperan y si alguna semilla diverge). En al menos ocho de cada diez picos
# la norma del gradiente pasa del triple de su valor típico en los pasos de
# alrededor: una explosión pasajera. Con ``clip_norm=2.0``, que actúa en cerca
# de la mitad de los pasos, los picos prácticamente desaparecen (como mucho tres en las cinco semillas, menos de un
# tercio de los que hay sin recorte) y todas las semillas superan el 90 % de
# exactitud en el conjunto de prueba. El recorte no arregla la causa (una tasa demasiado alta para esta
# red; bajarla también los reduce, :doc:`/clase/13-senales-practicas`),
# pero impide que un solo gradiente enorme deshaga lo aprendido.
#
# Este ejemplo acompaña a :doc:`los apuntes de clase </notas/vanishing-exploding>`,
# a :doc:`/clase/03-problema-gradientes` y a
# :doc:`/clase/13-senales-practicas`.

# %%
# Comprobación
# ------------
#
# Esta celda comprueba la conclusión sobre las cinco semillas: los picos sin
# recorte y con él, cuántos se recuperan, la fracción de pasos recortados y la
# exactitud final. Al construir el sitio se ejecuta: si deja de cumplirse, la
# construcción falla.

total = int(plain["spikes"].sum())
recovered = plain["recovered"].sum() / max(total, 1)
print(f"sin recorte: {total} picos; en {int(plain['jumped'].sum())} la norma del "
      f"gradiente pasa del triple de su mediana; {es(100 * recovered, '.0f')} % "
      f"recuperados en 50 pasos; el más alto de ellos, "
      f"{es(plain['highest'].max(), '.1f')} sobre su nivel; "
      f"{int(plain['diverged'].sum())} de {SEEDS} semillas divergen")
print(f"con recorte: {int(clipped['spikes'].sum())} picos; recorta el "
      f"{es(100 * clipped.median('clipped'), '.0f')} % de los pasos "
      f"(mediana); exactitud mínima "
      f"{es(100 * clipped.range('test_acc')[0], '.0f')} %")
assert total >= 8 and plain.fraction("spikes", lambda n: n > 0) >= 0.6
# 5 seeds x default/avx2/avx512 x 1 and 2 threads: 9-14 spikes without clipping, 73-100 %
# recovered, 0-2 with clipping. The unclipped accuracy is chaotic (medians 0.10-0.94): no
# claim rests on it.
assert recovered > 0.5  # most spikes recover
assert plain["jumped"].sum() >= 0.8 * total  # the gradient explodes at the spikes
assert clipped["spikes"].sum() <= 3 and clipped["spikes"].sum() < total / 3
assert not clipped["diverged"].any()
assert clipped.range("test_acc")[0] > 0.9
assert 0.3 < clipped.median("clipped") < 0.6  # "cerca de la mitad"

# sphinx_gallery_thumbnail_number = 1
