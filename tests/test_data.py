import math

import pytest
import torch

from gradcourse import data


def test_digits_split_is_fixed_and_standardized():
    ds = data.digits()
    assert ds.X_train.shape == (1347, 64) and ds.X_test.shape == (450, 64)
    assert ds.X_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.n_classes == 10 and ds.in_features == 64
    assert len(ds.y_train) + len(ds.y_test) == 1797
    used = ds.X_train.std(0) > 0  # constant pixels (always blank) are only centred
    torch.testing.assert_close(ds.X_train.mean(0), torch.zeros(64), atol=1e-5, rtol=0)
    torch.testing.assert_close(ds.X_train.std(0, correction=0)[used], torch.ones(int(used.sum())), atol=1e-4, rtol=0)
    again = data.digits()
    assert torch.equal(ds.X_train, again.X_train) and torch.equal(ds.y_test, again.y_test)
    assert not torch.equal(ds.y_train, data.digits(seed=1).y_train)


def test_digits_is_stratified_and_disjoint():
    ds = data.digits(standardize=False)
    counts = torch.bincount(ds.y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 47  # ~25% of ~180 per class
    train_rows = {tuple(r) for r in ds.X_train.tolist()}
    overlap = sum(tuple(r) in train_rows for r in ds.X_test.tolist())
    assert overlap <= 2  # a couple of digits are exact duplicates in the source data


def test_spirals():
    ds = data.spirals(n_per_class=100, n_classes=4, seed=2)
    assert ds.X_train.shape[1] == 2 and ds.n_classes == 4
    assert len(ds.X_train) + len(ds.X_test) == 400
    assert torch.equal(ds.X_train, data.spirals(n_per_class=100, n_classes=4, seed=2).X_train)
    assert ds.X_train.abs().max() < 1.5


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.3])
def test_spirals_noise_is_the_angle_std(noise):
    ds = data.spirals(n_per_class=2000, n_classes=3, noise=noise, turns=1.0, test_size=0.1, seed=0)
    X, y = ds.X_train.double(), ds.y_train.double()
    r = X.norm(dim=1)
    theta = torch.atan2(X[:, 0], X[:, 1])
    expected = y * 2 * math.pi / 3 + r * 2 * math.pi
    residual = torch.remainder(theta - expected + math.pi, 2 * math.pi) - math.pi  # wrapped to [-pi, pi)
    assert residual.std().item() == pytest.approx(noise, abs=0.01 + 0.05 * noise)


def test_dataset_equality():
    a, b = data.spirals(n_per_class=20), data.spirals(n_per_class=20)
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != data.spirals(n_per_class=20, seed=1)
    assert a != data.spirals(n_per_class=20, noise=0.1)
    assert a != "spirals" and len({a, b}) == 1


@pytest.mark.parametrize(("kwargs", "error", "match"),
                         [({"n_classes": 1}, ValueError, "n_classes >= 2"),
                          ({"n_per_class": 10.5}, TypeError, "n_per_class must be an int"),
                          ({"noise": -1}, ValueError, "noise must be"),
                          ({"noise": math.nan}, ValueError, "noise must be a finite number"),
                          ({"noise": math.inf}, ValueError, "noise must be a finite number"),
                          ({"turns": math.nan}, ValueError, "turns must be a finite number"),
                          ({"noise": "0.2"}, TypeError, "noise must be a number"),
                          ({"test_size": 1.5}, ValueError, "test_size"),
                          ({"seed": None}, ValueError, "seed must be an int")])
def test_spirals_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.spirals(**kwargs)


def test_digits_bad_input():
    with pytest.raises(ValueError, match="test_size must be a fraction"):
        data.digits(test_size=0)
