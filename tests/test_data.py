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


@pytest.mark.parametrize(("kwargs", "match"), [({"n_classes": 1}, "n_classes >= 2"),
                                                ({"noise": -1}, "noise must be"),
                                                ({"test_size": 1.5}, "test_size")])
def test_spirals_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.spirals(**kwargs)
