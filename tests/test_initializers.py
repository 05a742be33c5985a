import math

import pytest
import torch
from scipy import stats
from torch import nn

from gradcourse import initializers as I

FAN_IN, FAN_OUT = 300, 200
# A 200x300 matrix has 60,000 samples: the sample std of a distribution with
# finite kurtosis is within ~1% of the truth (std error ~ sigma/sqrt(2N) ~ 0.3%).
STD_RTOL = 0.02

GAUSSIAN = {"normal", "xavier_normal", "he_normal", "lecun_normal"}
UNIFORM = {"uniform", "glorot_standard", "xavier_uniform", "he_uniform"}

# The papers' formulas, written independently of gradcourse.
PAPER_STD = {
    "glorot_standard": 1 / math.sqrt(3 * FAN_IN),                 # Glorot & Bengio eq. 1
    "xavier_uniform": math.sqrt(2 / (FAN_IN + FAN_OUT)),          # eq. 16
    "xavier_normal": math.sqrt(2 / (FAN_IN + FAN_OUT)),
    "he_normal": math.sqrt(2 / FAN_IN),                           # He et al. eq. 10
    "he_uniform": math.sqrt(2 / FAN_IN),
    "lecun_normal": math.sqrt(1 / FAN_IN),
    "orthogonal": 1 / math.sqrt(FAN_IN),
    "normal": 0.01,
    "uniform": 0.1 / math.sqrt(12),
}


def sample(scheme: str, **kw) -> torch.Tensor:
    torch.manual_seed(0)
    w = torch.empty(FAN_OUT, FAN_IN)
    I.get(scheme)(w, **kw)
    return w


@pytest.mark.parametrize("scheme", sorted(PAPER_STD))
def test_sample_std_matches_weight_std_and_paper(scheme):
    w = sample(scheme)
    assert I.weight_std(scheme, FAN_IN, FAN_OUT) == pytest.approx(PAPER_STD[scheme], rel=1e-12)
    assert w.std().item() == pytest.approx(PAPER_STD[scheme], rel=STD_RTOL)
    assert abs(w.mean().item()) < 4 * PAPER_STD[scheme] / math.sqrt(w.numel())


@pytest.mark.parametrize("scheme", sorted(GAUSSIAN | UNIFORM))
def test_distribution_shape_ks(scheme):
    w = sample(scheme).flatten().double().numpy()
    s = PAPER_STD[scheme]
    if scheme in GAUSSIAN:
        dist = stats.norm(0, s)
    else:  # U[-b, b] with b = sqrt(3) * std
        dist = stats.uniform(-math.sqrt(3) * s, 2 * math.sqrt(3) * s)
    # KS statistic: sup |F_n - F| ~ 1.36/sqrt(N) at the 5% level; 0.01 >> that for N=60,000.
    assert stats.kstest(w, dist.cdf).statistic < 0.01


def test_he_leaky_uses_eq15():
    w = sample("he_normal", activation="leaky_relu", negative_slope=0.2)
    expected = math.sqrt(2 / ((1 + 0.2**2) * FAN_IN))
    predicted = I.weight_std("he_normal", FAN_IN, FAN_OUT, activation="leaky_relu", negative_slope=0.2)
    assert predicted == pytest.approx(expected)
    assert w.std().item() == pytest.approx(expected, rel=STD_RTOL)


def test_he_for_tanh_uses_its_gain():
    w = sample("he_normal", activation="tanh")
    assert w.std().item() == pytest.approx((5 / 3) / math.sqrt(FAN_IN), rel=STD_RTOL)


def test_orthogonal_is_orthogonal():
    w = torch.empty(64, 128)
    I.orthogonal_(w)
    torch.testing.assert_close(w @ w.T, torch.eye(64), atol=1e-5, rtol=0)


def test_zeros_and_constant():
    w = torch.randn(4, 5)
    assert I.zeros_(w).abs().sum() == 0
    assert (I.constant_(w, 0.3) == 0.3).all()
    assert I.weight_std("zeros", 4, 5) == 0.0


def test_fans_linear_and_conv():
    assert I.fans(torch.empty(10, 20)) == (20, 10)
    assert I.fans(torch.empty(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="at least 2 dims"):
        I.fans(torch.empty(5))


def test_initialize_applies_to_every_layer_and_zeroes_biases():
    model = nn.Sequential(nn.Linear(50, 40), nn.ReLU(), nn.Conv1d(4, 6, 3), nn.Linear(40, 3))
    I.initialize_(model, "normal", std=0.5)
    for m in model:
        if hasattr(m, "weight"):
            assert m.weight.std().item() == pytest.approx(0.5, rel=0.2)
            assert (m.bias == 0).all()
    I.initialize_(model, "zeros", bias=None)
    assert model[0].bias.abs().sum() == 0  # left as it was (already 0)
    I.initialize_(model, "he_normal", bias=0.1)
    assert (model[3].bias == 0.1).all()


def test_registry_and_errors():
    assert set(I.available()) == set(PAPER_STD) | {"zeros", "constant"}
    assert I.get("he_normal_") is I.he_normal_
    with pytest.raises(ValueError, match="Did you mean 'he_normal'"):
        I.get("he_nromal")
    with pytest.raises(ValueError, match="Unknown initializer"):
        I.weight_std("kaiming", 3, 3)
    with pytest.raises(ValueError, match="fan_in and fan_out"):
        I.weight_std("he_normal", 0, 3)
    with pytest.raises(TypeError, match=r"nn\.Module"):
        I.initialize_(torch.empty(3, 3), "he_normal")
    with pytest.raises(ValueError, match=r"no nn\.Linear"):
        I.initialize_(nn.ReLU(), "he_normal")
    with pytest.raises(ValueError, match="a < b"):
        I.uniform_(torch.empty(2, 2), a=1, b=0)
    with pytest.raises(ValueError, match="Unknown activation"):
        I.he_normal_(torch.empty(2, 2), activation="rleu")
