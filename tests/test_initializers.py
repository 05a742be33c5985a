import inspect
import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from torch import nn

import gradcourse as gc
from gradcourse import initializers as I

FAN_IN, FAN_OUT = 300, 200
# A 200x300 matrix has 60,000 samples: the sample std of a distribution with
# finite kurtosis is within ~1% of the truth (std error ~ sigma/sqrt(2N) ~ 0.3%).
STD_RTOL = 0.02

GAUSSIAN = {"normal", "xavier_normal", "he_normal", "lecun_normal"}
UNIFORM = {"uniform", "glorot_standard", "xavier_uniform", "he_uniform"}

# The papers' formulas, written independently of gradcourse (kwargs in KWARGS).
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
KWARGS = {"normal": {"std": 0.01}, "uniform": {"a": -0.05, "b": 0.05}}

# gradcourse function -> torch's, for every function torch has.
TORCH_TWINS = {
    "zeros_": nn.init.zeros_, "ones_": nn.init.ones_, "constant_": nn.init.constant_,
    "eye_": nn.init.eye_, "dirac_": nn.init.dirac_, "normal_": nn.init.normal_,
    "uniform_": nn.init.uniform_, "trunc_normal_": nn.init.trunc_normal_, "sparse_": nn.init.sparse_,
    "xavier_uniform_": nn.init.xavier_uniform_, "xavier_normal_": nn.init.xavier_normal_,
    "he_normal_": nn.init.kaiming_normal_, "he_uniform_": nn.init.kaiming_uniform_,
    "kaiming_normal_": nn.init.kaiming_normal_, "kaiming_uniform_": nn.init.kaiming_uniform_,
    "orthogonal_": nn.init.orthogonal_,
}


def sample(scheme: str, shape=(FAN_OUT, FAN_IN), **kw) -> torch.Tensor:
    w = torch.empty(shape)
    I.get(scheme)(w, generator=torch.Generator().manual_seed(0), **{**KWARGS.get(scheme, {}), **kw})
    return w


@pytest.mark.parametrize("scheme", sorted(PAPER_STD))
def test_sample_std_matches_weight_std_and_paper(scheme):
    w = sample(scheme)
    predicted = I.weight_std(scheme, FAN_IN, FAN_OUT, **KWARGS.get(scheme, {}))
    assert predicted == pytest.approx(PAPER_STD[scheme], rel=1e-12)
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


@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_same_signature_as_torch(name):
    ours = list(inspect.signature(getattr(I, name)).parameters.values())
    theirs = list(inspect.signature(TORCH_TWINS[name]).parameters.values())
    # same names, order and defaults; extra course aliases may only follow as keyword-only
    assert [(p.name, p.default) for p in ours[: len(theirs)]] == [(p.name, p.default) for p in theirs]
    assert all(p.kind is p.KEYWORD_ONLY for p in ours[len(theirs):])


ARGS = {"constant_": (0.3,), "sparse_": (0.2,), "dirac_": (), "he_normal_": (0.1, "fan_out", "tanh"),
        "he_uniform_": (0.2, "fan_out", "leaky_relu"), "kaiming_normal_": (), "kaiming_uniform_": (),
        "normal_": (0.5, 2.0), "uniform_": (-1.0, 3.0), "trunc_normal_": (0.1, 0.5, -0.2, 0.9),
        "xavier_normal_": (1.5,), "xavier_uniform_": (0.5,), "orthogonal_": (2.0,)}


@pytest.mark.parametrize("name", sorted(TORCH_TWINS))
def test_bit_identical_to_torch_with_positional_args(name):
    shape = (6, 4, 3, 3) if name == "dirac_" else (40, 30)
    ours, theirs = torch.empty(shape), torch.empty(shape)
    args = ARGS.get(name, ())
    random = "generator" in inspect.signature(TORCH_TWINS[name]).parameters
    for fn, out in ((getattr(I, name), ours), (TORCH_TWINS[name], theirs)):
        torch.manual_seed(7)  # torch's sparse_ draws the zeros' positions from the global RNG
        fn(out, *args, **({"generator": torch.Generator().manual_seed(7)} if random else {}))
    assert torch.equal(ours, theirs)


def test_generator_and_global_rng_match_torch():
    torch.manual_seed(3)
    ours = I.he_normal_(torch.empty(20, 10))
    torch.manual_seed(3)
    assert torch.equal(ours, nn.init.kaiming_normal_(torch.empty(20, 10)))


@pytest.mark.parametrize("shape", [(200, 300), (64, 3, 5, 5)])
def test_glorot_standard_is_torchs_default_layer_init(shape):
    torch.manual_seed(0)
    layer = nn.Linear(shape[1], shape[0]) if len(shape) == 2 else nn.Conv2d(shape[1], shape[0], shape[2])
    torch.manual_seed(0)
    assert torch.equal(I.glorot_standard_(torch.empty(shape)), layer.weight)


def test_torch_argument_order_normal_and_uniform():
    w = I.normal_(torch.empty(300, 300), 0.0, 0.02, torch.Generator().manual_seed(0))  # mean, std
    assert w.std().item() == pytest.approx(0.02, rel=STD_RTOL)
    assert abs(w.mean().item()) < 1e-3
    u = I.uniform_(torch.empty(300, 300), generator=torch.Generator().manual_seed(0))  # torch: [0, 1)
    assert u.min() >= 0 and u.max() < 1 and u.mean().item() == pytest.approx(0.5, abs=0.01)


def test_he_mode_fan_out_and_course_aliases():
    w = sample("he_normal", mode="fan_out")
    assert w.std().item() == pytest.approx(math.sqrt(2 / FAN_OUT), rel=STD_RTOL)
    assert I.weight_std("he_normal", FAN_IN, FAN_OUT, mode="fan_out") == pytest.approx(math.sqrt(2 / FAN_OUT))
    a = sample("he_normal", a=0.2, nonlinearity="leaky_relu")
    b = sample("he_normal", negative_slope=0.2, activation="leaky_relu")
    assert torch.equal(a, b)
    with pytest.raises(TypeError, match="not both"):
        I.he_normal_(torch.empty(3, 3), nonlinearity="tanh", activation="relu")
    with pytest.raises(TypeError, match="not both"):
        I.he_normal_(torch.empty(3, 3), a=0.1, negative_slope=0.2)
    with pytest.raises(ValueError, match="mode must be"):
        I.he_normal_(torch.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="mode must be"):
        I.he_normal_(torch.empty(3, 3), nonlinearity="elu", mode="fan_avg")


def test_he_leaky_uses_eq15():
    w = sample("he_normal", activation="leaky_relu", negative_slope=0.2)
    expected = math.sqrt(2 / ((1 + 0.2**2) * FAN_IN))
    predicted = I.weight_std("he_normal", FAN_IN, FAN_OUT, activation="leaky_relu", negative_slope=0.2)
    assert predicted == pytest.approx(expected)
    assert w.std().item() == pytest.approx(expected, rel=STD_RTOL)


@pytest.mark.parametrize("act", ["tanh", "elu", "gelu", "selu", "identity"])
def test_he_for_other_activations_uses_their_gain(act):
    from gradcourse.activations import gain

    w = sample("he_normal", activation=act)
    assert w.std().item() == pytest.approx(gain(act) / math.sqrt(FAN_IN), rel=STD_RTOL)
    assert I.weight_std("he_normal", FAN_IN, FAN_OUT, act) == pytest.approx(gain(act) / math.sqrt(FAN_IN))


# Every registered scheme on a Linear and on conv weights: weight_std is what is sampled.
MEASURABLE = [s for s in I.available() if s not in {"zeros", "ones", "constant"}]


@pytest.mark.parametrize("shape", [(200, 300), (256, 3, 3, 3), (16, 64, 5, 5)])
@pytest.mark.parametrize("scheme", MEASURABLE)
def test_weight_std_is_what_is_sampled_linear_and_conv(scheme, shape):
    w = sample(scheme, shape)
    predicted = I.weight_std(scheme, shape=shape, **KWARGS.get(scheme, {}))
    assert w.std().item() == pytest.approx(predicted, rel=0.03)
    if len(shape) == 2 or scheme != "orthogonal":  # the fans are enough except for orthogonal conv
        fan_in, fan_out = I.fans(w)
        assert I.weight_std(scheme, fan_in, fan_out, **KWARGS.get(scheme, {})) == pytest.approx(predicted)


def test_orthogonal_conv_weight_std():
    # (256, 3, 3, 3) is flattened to (256, 27): orthonormal columns of length 256
    assert I.weight_std("orthogonal", shape=(256, 3, 3, 3)) == pytest.approx(1 / 16)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(scheme=st.sampled_from(MEASURABLE), rows=st.integers(20, 120), cols=st.integers(20, 120),
       k=st.sampled_from([(), (3,), (2, 2)]), gain=st.floats(0.1, 3.0))
def test_weight_std_property(scheme, rows, cols, k, gain):
    shape = (rows, cols, *k)
    kw = dict(KWARGS.get(scheme, {}))
    if scheme in {"xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal", "orthogonal"}:
        kw["gain"] = gain
    w = sample(scheme, shape, **kw)
    # std error of a sample std is about sigma * sqrt((kurtosis - 1) / 4N) <= sigma / sqrt(N) here
    tol = 6 / math.sqrt(w.numel())
    assert w.std().item() == pytest.approx(I.weight_std(scheme, shape=shape, **kw), rel=tol)


def test_trunc_normal_weight_std():
    assert I.weight_std("trunc_normal", 1, 1) == pytest.approx(stats.truncnorm(-2, 2).std())
    expected = stats.truncnorm(-1, 3, loc=0.5, scale=0.2).std()
    assert I.weight_std("trunc_normal", 1, 1, mean=0.5, std=0.2, a=0.3, b=1.1) == pytest.approx(expected)


def test_orthogonal_is_orthogonal():
    w = torch.empty(64, 128)
    I.orthogonal_(w)
    torch.testing.assert_close(w @ w.T, torch.eye(64), atol=1e-5, rtol=0)


def test_zeros_ones_and_constant():
    w = torch.randn(4, 5)
    assert I.zeros_(w).abs().sum() == 0
    assert (I.ones_(w) == 1).all()
    assert (I.constant_(w, 0.3) == 0.3).all()
    assert I.weight_std("zeros", 4, 5) == 0.0 and I.weight_std("constant", 4, 5, val=2.0) == 0.0


@pytest.mark.parametrize("scheme", ["glorot_standard", "he_normal", "he_uniform", "lecun_normal"])
@pytest.mark.parametrize("act", ["relu", "tanh", "elu"])
def test_zero_element_tensor_warns_like_torch(scheme, act):
    kw = {"nonlinearity": act} if I.takes_activation(scheme) else {}
    with pytest.warns(UserWarning, match="zero-element"):
        I.get(scheme)(torch.empty(5, 0), **kw)


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


def test_initialize_he_told_the_activation_unless_the_kwargs_say():
    layer = torch.nn.Linear(400, 300)
    I.initialize_(layer, "he_normal", activation="tanh", generator=torch.Generator().manual_seed(0))
    assert layer.weight.std().item() == pytest.approx((5 / 3) / 20, rel=STD_RTOL)
    I.initialize_(layer, "he_normal", activation="tanh", nonlinearity="linear")
    assert layer.weight.std().item() == pytest.approx(1 / 20, rel=STD_RTOL)


def test_registry_aliases():
    assert set(I.available()) == set(PAPER_STD) | {
        "zeros", "ones", "constant", "trunc_normal", "kaiming_normal", "kaiming_uniform",
        "glorot_uniform", "glorot_normal"}
    assert I.get("he_normal_") is I.he_normal_ and I.get("kaiming_normal") is I.he_normal_
    assert I.get("glorot_uniform") is I.xavier_uniform_ and I.get("glorot_normal") is I.xavier_normal_
    assert I.takes_activation("kaiming_uniform") and not I.takes_activation("glorot_normal")
    assert I.weight_std("kaiming_normal", 10, 20, "tanh") == I.weight_std("he_normal", 10, 20, "tanh")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [(lambda: I.get("he_nromal"), ValueError, "Did you mean 'he_normal'"),
     (lambda: I.weight_std("kaiming", 3, 3), ValueError, "Unknown initializer"),
     (lambda: I.weight_std("he_normal", 0, 3), ValueError, "fan_in and fan_out"),
     (lambda: I.weight_std("he_normal", 3), TypeError, "needs fan_in and fan_out"),
     (lambda: I.weight_std("normal", 3, 3, std=-1), ValueError, "std must be >= 0"),
     (lambda: I.weight_std("normal", 3, 3, std=math.nan), ValueError, "std must be finite"),
     (lambda: I.weight_std("xavier_normal", 3, 3, gian=2), TypeError, "gian.*takes gain"),
     (lambda: I.weight_std("lecun_normal", 3, 3, std=2), TypeError, "takes no keyword"),
     (lambda: I.weight_std("he_normal", 3, 3, mode="fan_avg"), ValueError, "mode must be"),
     (lambda: I.weight_std("uniform", 3, 3, a=1, b=0), ValueError, "a <= b"),
     (lambda: I.weight_std("orthogonal", 3, 3, shape=(3, 3)), TypeError, "not both"),
     (lambda: I.initialize_(torch.empty(3, 3), "he_normal"), TypeError, r"nn\.Module"),
     (lambda: I.initialize_(nn.ReLU(), "he_normal"), ValueError, r"no nn\.Linear"),
     (lambda: I.uniform_(torch.empty(2, 2), a=1, b=0), ValueError, "a <= b"),
     (lambda: I.normal_(torch.empty(2, 2), std=-1), ValueError, "std must be >= 0"),
     (lambda: I.trunc_normal_(torch.empty(2, 2), a=1, b=0), ValueError, "a < b"),
     (lambda: I.he_normal_(torch.empty(2, 2), activation="rleu"), ValueError, "Unknown activation")],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_no_warning_on_ordinary_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        I.he_uniform_(torch.empty(3, 4), nonlinearity="gelu")


def test_pytorch_bias_matches_nn_linear_bit_for_bit():
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Linear(64, 32), nn.Linear(32, 32), nn.Linear(32, 10))
    model = nn.Sequential(nn.Linear(64, 32), nn.Linear(32, 32), nn.Linear(32, 10))
    torch.manual_seed(0)
    I.initialize_(model, "glorot_standard", bias="pytorch")
    for a, b in zip(ref, model, strict=True):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


def test_mlp_pytorch_bias_has_the_default_spread():
    model = gc.MLP(256, 10, depth=2, width=256, init="glorot_standard", bias_init="pytorch", seed=0)
    bias = model.linears[1].bias  # U(+-1/16): std 1/(16 sqrt 3) = 0.036
    assert bias.abs().max() <= 1 / 16
    assert abs(bias.std().item() - 1 / (16 * 3**0.5)) < 0.006


def test_bias_must_be_a_number_none_or_pytorch():
    with pytest.raises(ValueError, match="pytorch"):
        I.initialize_(nn.Linear(3, 3), "he_normal", bias="zero")
