import pytest
import torch
from torch import nn

from gradcourse import MLP, activations
from gradcourse import initializers as gc_init


def test_structure_and_depth_order():
    m = MLP(64, 10, depth=4, width=32, activation="tanh", init="xavier_normal")
    assert len(m.hidden) == 4 and m.layer(1) is m.hidden[0] and m.layer(4) is m.hidden[3]
    linears = [mod for mod in m.modules() if isinstance(mod, nn.Linear)]
    assert linears == m.linears  # registered in forward order, head last
    assert linears[0].in_features == 64 and linears[-1].out_features == 10
    assert all(isinstance(layer.act, nn.Tanh) for layer in m.hidden)
    assert all((lin.bias == 0).all() for lin in m.linears)
    assert m(torch.zeros(5, 64)).shape == (5, 10)
    assert m(torch.zeros(5, 1, 8, 8)).shape == (5, 10)  # images are flattened
    with pytest.raises(IndexError):
        m.layer(0)


def test_batchnorm_and_residual():
    m = MLP(8, 3, depth=3, width=16, batchnorm=True, residual=True)
    assert all(isinstance(layer.norm, nn.BatchNorm1d) for layer in m.hidden)
    assert [layer.residual for layer in m.hidden] == [False, True, True]  # 8 != 16 for layer 1
    x = torch.randn(4, 16)
    layer = m.layer(2).eval()
    torch.testing.assert_close(layer(x), x + layer.act(layer.norm(layer.linear(x))))


def test_seed_is_reproducible_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = MLP(10, 2, 2, 8, seed=3), MLP(10, 2, 2, 8, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    c = MLP(10, 2, 2, 8, seed=4)
    assert not torch.equal(a.linears[0].weight, c.linears[0].weight)


def test_init_kwargs_act_kwargs_and_bias_init():
    m = MLP(100, 2, 1, 200, init="normal", init_kwargs={"std": 0.5}, bias_init=-1.0,
            activation="leaky_relu", act_kwargs={"negative_slope": 0.2}, seed=0)
    assert m.linears[0].weight.std().item() == pytest.approx(0.5, rel=0.05)
    assert (m.linears[0].bias == -1).all()
    assert m.layer(1).act.negative_slope == 0.2


def test_he_init_is_told_the_activation():
    m = MLP(1000, 2, 1, 500, activation="leaky_relu", init="he_normal",
            act_kwargs={"negative_slope": 0.5}, seed=0)
    assert m.linears[0].weight.std().item() == pytest.approx((2 / 1.25 / 1000) ** 0.5, rel=0.02)
    # the name is looked up like any other (any case), and our own function works too
    expected = activations.gain("tanh") / 1000 ** 0.5
    for init in ("He_Normal", gc_init.he_normal_):
        m = MLP(1000, 2, 1, 500, activation="tanh", init=init, seed=0)
        assert m.linears[0].weight.std().item() == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"depth": 0}, ValueError, "depth must be >= 1"),
     ({"width": 0}, ValueError, "width must be >= 1"),
     ({"depth": 2.5}, TypeError, "depth must be an int"),
     ({"activation": "sigmoide"}, ValueError, "Did you mean 'sigmoid'"),
     ({"init": "xavier"}, ValueError, "Unknown initializer")],
)
def test_bad_arguments(kwargs, error, match):
    args = {"in_features": 4, "out_features": 2, "depth": 2, "width": 8, **kwargs}
    with pytest.raises(error, match=match):
        MLP(**args)


def test_wrong_input_shape():
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, 64\)"):
        MLP(64, 10, 2, 8)(torch.zeros(3, 63))


@pytest.mark.parametrize(("init", "init_kwargs", "expected_std"),
                         [("normal", {"std": 0.5}, 0.5), ("xavier_uniform", {"gain": 2.0}, 2 * (2 / 612) ** 0.5),
                          ("glorot_standard", {}, (1 / (3 * 100)) ** 0.5)])
def test_reset_parameters_reapplies_the_configured_init(init, init_kwargs, expected_std):
    m = MLP(100, 2, 1, 512, init=init, init_kwargs=init_kwargs, bias_init=0.25, seed=0)
    m.reset_parameters(seed=3)
    first = m.linears[0].weight.detach().clone()
    m.reset_parameters(seed=3)
    assert torch.equal(m.linears[0].weight, first)  # same init, same seed: same weights
    with torch.no_grad():
        m.linears[0].bias.zero_()
    m.reset_parameters(seed=1)
    assert m.linears[0].weight.std().item() == pytest.approx(expected_std, rel=0.03)
    assert (m.linears[0].bias == 0.25).all()


def test_reset_parameters_with_another_init_and_overrides():
    m = MLP(100, 2, 1, 512, init="normal", init_kwargs={"std": 0.5}, seed=0)
    m.reset_parameters(std=0.1, seed=0)  # overrides the configured kwargs
    assert m.linears[0].weight.std().item() == pytest.approx(0.1, rel=0.03)
    m.reset_parameters("he_normal", seed=0)  # another init starts from no kwargs
    assert m.linears[0].weight.std().item() == pytest.approx((2 / 100) ** 0.5, rel=0.03)


def test_he_init_gets_the_default_leaky_slope():
    m = MLP(1000, 2, 1, 500, activation="leaky_relu", init="he_normal", seed=0)
    torch.manual_seed(0)
    expected = nn.init.kaiming_normal_(torch.empty(500, 1000), a=0.01)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        torch.testing.assert_close(gc_init.he_normal_(torch.empty(500, 1000), negative_slope=0.01), expected)
    m.reset_parameters(seed=0)
    assert torch.equal(m.linears[0].weight, expected)
