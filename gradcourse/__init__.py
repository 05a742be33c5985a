"""gradcourse: gradient flow in deep networks, measured.

The library behind the course site: activations, initializers, a configurable
MLP, the course's datasets and a training loop that records what the course
plots. Importing it changes no global state (threads, seeds, plot styles).
"""

from . import activations, data, initializers, models, training
from .data import Dataset, digits, spirals
from .diagnosis import diagnose
from .initializers import initialize_, weight_std
from .models import MLP
from .tracking import Tracker
from .training import Callback, History, train

__all__ = [
    "MLP",
    "Callback",
    "Dataset",
    "History",
    "Tracker",
    "activations",
    "data",
    "diagnose",
    "digits",
    "initialize_",
    "initializers",
    "models",
    "spirals",
    "train",
    "training",
    "weight_std",
]
__version__ = "0.1.0"
