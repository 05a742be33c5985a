"""The course's datasets, made in code or shipped inside a package: nothing downloads.

* :func:`digits`: scikit-learn's bundled 8x8 handwritten digits, the "same
  dataset" of every comparison on the site.
* :func:`spirals`: interleaved 2-D spirals, for decision-boundary pictures.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["Dataset", "digits", "spirals"]


@dataclass(frozen=True)
class Dataset:
    """A fixed train/test split as tensors: ``X`` float32 ``(N, D)``, ``y`` int64 ``(N,)``."""

    X_train: Tensor
    y_train: Tensor
    X_test: Tensor
    y_test: Tensor
    n_classes: int
    name: str = ""

    @property
    def in_features(self) -> int:
        return self.X_train.shape[1]

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: train {tuple(self.X_train.shape)}, "
                f"test {tuple(self.X_test.shape)}, {self.n_classes} classes)")


def _split(X: np.ndarray, y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified split: each class keeps its share in train and test."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test_idx.append(idx[: round(len(idx) * test_size)])
    test = np.zeros(len(y), dtype=bool)
    test[np.concatenate(test_idx)] = True
    train_order = rng.permutation(np.flatnonzero(~test))
    test_order = rng.permutation(np.flatnonzero(test))
    return X[train_order], y[train_order], X[test_order], y[test_order]


@functools.lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # ships its data: no download

    bunch = load_digits()
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64)


def digits(test_size: float = 0.25, seed: int = 0, standardize: bool = True) -> Dataset:
    """scikit-learn's 8x8 handwritten digits: 1,797 images, 64 features, 10 classes.

    Args:
        test_size: Fraction held out for testing (stratified).
        seed: Seed of the split; the default gives the course's fixed split.
        standardize: Scale each pixel to mean 0, std 1 using the *training*
            statistics (constant pixels are only centred).
    """
    X, y = _digits_raw()
    X_tr, y_tr, X_te, y_te = _split(X, y, test_size, seed)
    if standardize:
        mean, std = X_tr.mean(0), X_tr.std(0)
        std[std == 0] = 1.0
        X_tr, X_te = (X_tr - mean) / std, (X_te - mean) / std
    return Dataset(*_to_tensors(X_tr, y_tr, X_te, y_te), n_classes=10, name="digits")


def spirals(
    n_per_class: int = 200,
    n_classes: int = 3,
    noise: float = 0.2,
    turns: float = 1.0,
    test_size: float = 0.25,
    seed: int = 0,
) -> Dataset:
    """``n_classes`` interleaved 2-D spiral arms (the CS231n toy problem).

    Args:
        n_per_class: Points per arm.
        n_classes: Number of arms (>= 2).
        noise: Std of the Gaussian noise added to the angle.
        turns: How many half-turns each arm makes.
        test_size: Fraction held out for testing.
        seed: Makes the points reproducible.
    """
    if n_per_class < 2 or n_classes < 2:
        raise ValueError("spirals needs n_per_class >= 2 and n_classes >= 2")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.05, 1.0, n_per_class), n_classes)
    y = np.repeat(np.arange(n_classes), n_per_class)
    theta = (y * 2 * math.pi / n_classes + r * turns * math.pi * 2
             + rng.normal(0, noise, size=r.shape))
    X = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)  # (N, 2)
    X_tr, y_tr, X_te, y_te = _split(X, y, test_size, seed)
    return Dataset(*_to_tensors(X_tr, y_tr, X_te, y_te), n_classes=n_classes, name="spirals")


def _to_tensors(*arrays: np.ndarray) -> list[Tensor]:
    out = []
    for a in arrays:
        dtype = torch.float32 if a.dtype.kind == "f" else torch.int64
        out.append(torch.as_tensor(np.ascontiguousarray(a), dtype=dtype))
    return out
