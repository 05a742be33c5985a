"""The course's datasets, made in code or shipped inside a package: nothing downloads.

* :func:`digits`: scikit-learn's bundled 8x8 handwritten digits, the "same
  dataset" of every comparison on the site.
* :func:`spirals`: interleaved 2-D spirals, for decision-boundary pictures.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["Dataset", "digits", "spirals"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A fixed train/test split as tensors: ``X`` float32 ``(N, D)``, ``y`` int64 ``(N,)``.

    Two datasets are equal when their names, class counts and tensors (values,
    shapes and dtypes) are.

    Example:
        >>> digits() == digits() != digits(seed=1)
        True
    """

    X_train: Tensor
    y_train: Tensor
    X_test: Tensor
    y_test: Tensor
    n_classes: int
    name: str = ""

    @property
    def in_features(self) -> int:
        return self.X_train.shape[1]

    def _tensors(self) -> tuple[Tensor, ...]:
        return self.X_train, self.y_train, self.X_test, self.y_test

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return (self.name == other.name and self.n_classes == other.n_classes
                and all(a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.cpu(), b.cpu())
                        for a, b in zip(self._tensors(), other._tensors(), strict=True)))

    def __hash__(self) -> int:  # equal datasets have equal names, classes and shapes
        return hash((self.name, self.n_classes, *(tuple(t.shape) for t in self._tensors())))

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: train {tuple(self.X_train.shape)}, "
                f"test {tuple(self.X_test.shape)}, {self.n_classes} classes)")


def _check_split(test_size: float, seed: int) -> None:
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")


def _split(X: np.ndarray, y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified split (scikit-learn's): each class keeps its share in train and test."""
    from sklearn.model_selection import train_test_split

    _check_split(test_size, seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    return X_tr, y_tr, X_te, y_te


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
        from sklearn.preprocessing import StandardScaler  # zero-variance pixels get scale 1

        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
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
    for name, value in (("n_per_class", n_per_class), ("n_classes", n_classes)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 2:
            raise ValueError(f"spirals needs n_per_class >= 2 and n_classes >= 2, got {name}={value}")
    for name, value in (("noise", noise), ("turns", turns)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    _check_split(test_size, seed)
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
