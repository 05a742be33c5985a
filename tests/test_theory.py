"""theory: Glorot/He variance recursions and the mean-field length map."""

from __future__ import annotations

import math

import pytest

from gradcourse import activations, initializers, theory


@pytest.mark.parametrize("s", [0.25, 0.5, 0.9, 1.0])
def test_chi1_tanh_below_one_is_sigma_w2(s):
    assert theory.fixed_point("tanh", s, 0.0) == 0.0
    assert theory.chi1("tanh", s, 0.0) == pytest.approx(s, rel=1e-9)


def test_chi1_grows_past_one_above_critical():
    assert theory.fixed_point("tanh", 1.5, 0.0) > 0.1
    assert 1.0 < theory.chi1("tanh", 1.5, 0.0) < 1.5  # q* > 0 pulls it back toward 1
    assert theory.chi1("relu", 2.0, 0.0) == pytest.approx(1.0, rel=1e-12)


def test_critical_sigma_w2():
    assert theory.critical_sigma_w2("tanh", 0.05) == pytest.approx(1.76, abs=0.01)
    assert theory.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0)
    assert theory.critical_sigma_w2("relu", 0.0) == pytest.approx(2.0)
    s = theory.critical_sigma_w2("tanh", 0.3)
    assert theory.chi1("tanh", s, 0.3) == pytest.approx(1.0, abs=1e-6)
    assert math.isinf(theory.depth_scale("tanh", 1.0, 0.0)) or theory.depth_scale(
        "tanh", 1.0, 0.0) > 1e6
    assert theory.depth_scale("tanh", 0.5, 0.0) == pytest.approx(1 / abs(math.log(0.5)))
    chaotic = theory.chi1("tanh", 16.0)  # lesson 6's net: chi_1 > 1, xi still positive
    assert chaotic > 1 and theory.depth_scale("tanh", 16.0) == pytest.approx(1 / math.log(chaotic))


def test_fixed_point_solves_the_length_map():
    from gradcourse import activations
    q = theory.fixed_point("tanh", 2.0, 0.1)
    assert q == pytest.approx(2.0 * activations.second_moment("tanh", q) + 0.1, rel=1e-6)


def test_he_relu_keeps_variance_he_eq_9_and_14():
    widths = [64, 256, 256, 256, 10]
    fwd = theory.forward_variance("he_normal", "relu", widths)
    assert fwd == pytest.approx([2.0] * 3, rel=1e-9)  # 64 * (2/64) * 1, then 256 * 2/256 * 1
    bwd = theory.backward_variance("he_normal", "relu", widths)
    # each step down multiplies by fan_out * Var(W) / 2 = 256 * (2/256) / 2 = 1 (He eq. 14)
    assert bwd[0] == pytest.approx(bwd[1], rel=1e-9) == pytest.approx(bwd[2], rel=1e-9)
    assert bwd[2] == pytest.approx(0.5 * 10 * initializers.weight_std("he_normal", 256, 10) ** 2)


def test_glorot_linear_regime_eq_5():
    widths = [100] * 5 + [100]
    fwd = theory.forward_variance("glorot_standard", "tanh", widths, method="linear")
    assert fwd == pytest.approx([3.0**-k for k in range(1, 5)], rel=1e-9)
    bwd = theory.backward_variance("xavier_uniform", "tanh", widths, method="linear")
    assert bwd == pytest.approx([1.0] * 4, rel=1e-9)  # n Var(W) = 1 for square layers


def test_bad_widths_raise():
    with pytest.raises(ValueError):
        theory.forward_variance("he_normal", "relu", [10, 10])
    with pytest.raises(ValueError):
        theory.fixed_point("tanh", 0.0)


# -- issue 15, case 13: the ReLU family, kinks, keyword arguments, validation ----------------

def test_relu_family_closed_forms():
    assert theory.critical_sigma_w2("leaky_relu") == pytest.approx(2 / (1 + 0.01**2), rel=1e-12)
    assert theory.critical_sigma_w2("leaky_relu", negative_slope=0.2) == pytest.approx(2 / 1.04)
    assert theory.chi1("relu", 2.1) == pytest.approx(1.05, rel=1e-12)  # q* = inf, chi1 is not
    assert math.isinf(theory.fixed_point("relu", 2.1))
    assert theory.chi1("leaky_relu", 1.0, negative_slope=0.5) == pytest.approx(0.625)
    assert theory.fixed_point("relu", 1.0, 0.5) == pytest.approx(1.0)  # 0.5 / (1 - 1/2)


def test_selu_critical_point_agrees_with_its_chi1():
    s = theory.critical_sigma_w2("selu")
    left, right = 1.0507009873554805 * 1.6732632423543772, 1.0507009873554805
    assert s == pytest.approx(2 / (left**2 + right**2), rel=1e-9)
    assert theory.chi1("selu", s) == pytest.approx(1.0, abs=1e-5)


def test_activation_kwargs_reach_the_expectations():
    fwd = theory.forward_variance("normal", "leaky_relu", [10, 10, 10, 2], std=10**-0.5,
                                  act_kwargs={"negative_slope": 0.5})
    assert fwd[1] == pytest.approx(fwd[0] * (1 + 0.25) / 2, rel=1e-9)
    assert theory.chi1("elu", 0.5, 0.1, alpha=0.5) != theory.chi1("elu", 0.5, 0.1)


@pytest.mark.parametrize("kwargs", [{"method": "exact"}, {"of": "output"}])
def test_unknown_method_or_of_raise(kwargs):
    with pytest.raises(ValueError, match=r"method|of"):
        theory.forward_variance("he_normal", "relu", [4, 4, 2], **kwargs)
    if "method" in kwargs:
        with pytest.raises(ValueError, match="method"):
            theory.backward_variance("he_normal", "relu", [4, 4, 2], **kwargs)


def test_unknown_activation_raises():
    with pytest.raises(ValueError, match="Unknown activation"):
        theory.chi1("rellu", 2.0)


@pytest.mark.parametrize("sigma_b2", [0.0, 0.05, 0.3])
@pytest.mark.parametrize("activation", activations.available())
def test_chi1_is_one_at_every_critical_point(activation, sigma_b2):
    try:
        s = theory.critical_sigma_w2(activation, sigma_b2)
    except ValueError as err:  # a clear refusal, only where there is no stable point
        assert activation == "gelu" and "no critical point" in str(err)
        return
    assert theory.chi1(activation, s, sigma_b2) == pytest.approx(1.0, abs=1e-5)
