"""The words of a :class:`~gradcourse.diagnosis.Report`, in Spanish and English.

One table per language: the title and remedy of each verdict kind, the headers, and the
sentences that say what was not measured and which layers a report covers.
"""

from __future__ import annotations

__all__ = ["TEXT", "UNMEASURED"]

TEXT = {
    "es": {
        "vanishing": ("El gradiente desaparece hacia la entrada",
                      "Usa Xavier (Glorot) con tanh o He con ReLU; evita la sigmoide en redes "
                      "profundas; BatchNorm o conexiones residuales ayudan."),
        "exploding": ("El gradiente explota",
                      "Reduce la escala de la inicialización (Xavier/He), baja la tasa de "
                      "aprendizaje o recorta el gradiente (clip_norm)."),
        "saturated": ("Capa saturada: la mayoría de las activaciones está en las colas planas",
                      "Inicializa con Xavier (Glorot), normaliza la entrada o cambia a ReLU."),
        "dead": ("Neuronas ReLU muertas: inactivas en todo el lote",
                 "Usa He, una tasa de aprendizaje menor o una variante de ReLU (Leaky ReLU, ELU); "
                 "revisa que el sesgo no sea muy negativo."),
        "nonfinite": ("Aparecen valores NaN o Inf",
                      "Baja la tasa de aprendizaje, recorta el gradiente y revisa la entrada "
                      "y los pesos de la capa señalada."),
        "healthy": "Sin problemas: ningún umbral se ha superado.",
        "header": ("Tipo", "Capa", "Evidencia", "Umbral", "Remedio", "Sección"),
        "title": "Diagnóstico del flujo de gradientes",
        "network": "toda la red",
        "layer": "capa",
        "layers": "capas",
        "covers": "Cubre {layers}",
        "the_layer": "la capa", "the_layers": "las capas",
        "untracked": "sin seguir: {names}",
        "not_measured": "No medido: {what}. Sin ello no hay veredicto {checks}.",
        "checks": {"flow": "de desaparición/explosión", "nonfinite": "de NaN/Inf",
                   "norm": "de norma del gradiente", "saturated": "de saturación",
                   "dead": "de neuronas muertas"},
        "or": " ni ",
        "and": "y",
    },
    "en": {
        "vanishing": ("The gradient vanishes toward the input",
                      "Use Xavier (Glorot) with tanh or He with ReLU; avoid sigmoid in deep "
                      "networks; BatchNorm or residual connections help."),
        "exploding": ("The gradient explodes",
                      "Shrink the initialization (Xavier/He), lower the learning rate or clip "
                      "the gradient (clip_norm)."),
        "saturated": ("Saturated layer: most activations sit in the flat tails",
                      "Initialize with Xavier (Glorot), normalize the input or switch to ReLU."),
        "dead": ("Dead ReLU units: inactive on the whole batch",
                 "Use He, a smaller learning rate or a ReLU variant (Leaky ReLU, ELU); check "
                 "that the bias is not very negative."),
        "nonfinite": ("NaN or Inf values appear",
                      "Lower the learning rate, clip the gradient and check the input and "
                      "weights of the reported layer."),
        "healthy": "Healthy: no threshold was crossed.",
        "header": ("Kind", "Layer", "Evidence", "Threshold", "Remedy", "Section"),
        "title": "Gradient-flow diagnosis",
        "network": "whole network",
        "layer": "layer",
        "layers": "layers",
        "covers": "Covers {layers}",
        "the_layer": "layer", "the_layers": "layers",
        "untracked": "not tracked: {names}",
        "not_measured": "Not measured: {what}. Without it there is no {checks} verdict.",
        "checks": {"flow": "vanishing/exploding", "nonfinite": "NaN/Inf", "norm": "gradient-norm",
                   "saturated": "saturated", "dead": "dead-unit"},
        "or": " or ",
        "and": "and",
    },
}

#: Why a statistic can be missing, and what to do, per cause and language.
UNMEASURED = {
    "es": {
        "stat": "{stat} en {layers}",
        "grad_std": "El gancho hacia atrás de esas capas no se ejecutó: con torch.utils.checkpoint "
                    "usa use_reentrant=False, y llama a backward() antes de cerrar el paso.",
        "act_mean": "Su gancho hacia delante no se ejecutó en la pasada registrada (un modelo "
                    "compilado, una rama que no se tomó).",
        "weight_grad_norm": "Sus pesos no recibieron gradiente en este paso (.grad es None), o el "
                            "Tracker se creó con weights=False.",
        "saturated_frac": "Su activación no se midió en este paso.",
        "dead_frac": "Su activación no se midió en este paso.",
        "silent": "la capa {layer} ({name}), que no registró nada en este paso (no se ejecutó, o "
                  "sus ganchos no)",
        "silent_fix": "Comprueba que la capa está en el camino de los datos en esta pasada.",
        "none": "ninguna capa: el Tracker no encontró ninguna",
        "none_fix": "Usa módulos de activación (nn.ReLU, nn.Tanh...) tras cada Linear/Conv.",
        "batch": "si hay neuronas muertas, porque un lote de {n} ejemplos es poco (hacen falta "
                 "al menos {need})",
        "batch_fix": "Diagnostica con un lote de al menos {need} ejemplos.",
        "ratio": "el cociente grad_std[1] / grad_std[L], que necesita al menos dos capas seguidas "
                 "(hay {n})",
        "ratio_fix": "Solo se juzgan las capas listadas; los módulos sin seguir no se miden.",
        "recurrent": "el gradiente a través de {name} ({cls}), un módulo recurrente que el Tracker "
                     "no sigue",
        "recurrent_fix": "Mídelo aparte: la norma de ∂L/∂x_t en cada paso de tiempo "
                         "(x.requires_grad_() y después x.grad).",
    },
    "en": {
        "stat": "{stat} at {layers}",
        "grad_std": "The backward hook of those layers did not run: with torch.utils.checkpoint "
                    "use use_reentrant=False, and call backward() before closing the step.",
        "act_mean": "Their forward hook did not run in the recorded pass (a compiled model, a "
                    "branch not taken).",
        "weight_grad_norm": "Their weights got no gradient in this step (.grad is None), or the "
                            "Tracker was built with weights=False.",
        "saturated_frac": "Their activation was not measured in this step.",
        "dead_frac": "Their activation was not measured in this step.",
        "silent": "layer {layer} ({name}), which recorded nothing in this step (it did not run, or "
                  "its hooks did not)",
        "silent_fix": "Check that the layer is on the data path of this pass.",
        "none": "any layer: the Tracker found none",
        "none_fix": "Use activation modules (nn.ReLU, nn.Tanh...) after each Linear/Conv.",
        "batch": "whether units are dead, as a batch of {n} examples is too small (at least "
                 "{need} are needed)",
        "batch_fix": "Diagnose on a batch of at least {need} examples.",
        "ratio": "the ratio grad_std[1] / grad_std[L], which needs at least two tracked layers "
                 "({n} tracked)",
        "ratio_fix": "Only the listed layers are judged; modules not tracked are not measured.",
        "recurrent": "the gradient through {name} ({cls}), a recurrent module the Tracker does not "
                     "follow",
        "recurrent_fix": "Measure it yourself: the norm of ∂L/∂x_t at each time step "
                         "(x.requires_grad_(), then x.grad).",
    },
}
