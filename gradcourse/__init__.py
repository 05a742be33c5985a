"""gradcourse: gradient flow in deep networks, measured.

The library behind the course site: activations, initializers, a configurable
MLP, the course's datasets and a training loop that records what the course
plots. Importing it changes no global state (threads, seeds, plot styles).
"""

from . import activations, data, diagnosis, experiments, initializers, models, theory, tracking, training
from ._language import get_language, set_language
from .data import Dataset, digits, spirals
from .diagnosis import diagnose
from .experiments import Seeds, layer_stats, over_seeds
from .initializers import initialize_, weight_std
from .models import MLP
from .tracking import Tracker
from .training import Callback, History, train

__all__ = [
    "MLP",
    "Callback",
    "Dataset",
    "History",
    "Seeds",
    "Tracker",
    "activations",
    "data",
    "diagnose",
    "diagnosis",
    "digits",
    "experiments",
    "get_language",
    "initialize_",
    "initializers",
    "layer_stats",
    "models",
    "over_seeds",
    "set_language",
    "spirals",
    "theory",
    "tracking",
    "train",
    "training",
    "weight_std",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # gc.plots without importing matplotlib on every `import gradcourse`
    if name == "plots":
        import importlib

        return importlib.import_module(".plots", __name__)
    raise AttributeError(f"module 'gradcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "plots"])  # tab completion offers gc.plots too
