"""PyTorch's own tests of ``torch.nn.init`` (``test/nn/test_init.py``), run on gradcourse.

A peer's test suite: each test keeps the logic and thresholds of PyTorch's (KS tests
accepted at p > 0.0001, random sizes from ``random.seed(123)``, the same shapes,
gains, fans and errors) but calls the gradcourse function with the same torch
signature, so a gradcourse initializer passes exactly when torch's test would
accept it. Differences in form only: pytest instead of unittest, a seeded
``random.Random(123)`` per test instead of the global ``random`` (the same
sequence), torch's global RNG seeded per test so the KS tests are deterministic,
the device-type tests run on the CPU, and the tests on tensors of up to 50**4
samples are marked ``slow`` (they run with the full suite). Every gradcourse function with a torch
counterpart is covered, including the aliases (``kaiming_*`` and the registry's
``glorot_*``, ``he_*``).

Not ported, and why:

* ``test_calculate_gain_linear`` for ``conv1d``, ``conv2d``, ``conv3d`` and
  ``conv_transpose*``: :func:`gradcourse.activations.gain` takes activation names,
  and those are layer types; ``"linear"`` is ported as the ``"identity"`` activation
  (the He initializers do accept every torch name, ported below).
* ``test_deprecation``: gradcourse has no deprecated un-suffixed aliases (``init.normal``).
* ``TestNNInitDeviceType`` on accelerators: the suite runs where gradcourse's tests
  run, on the CPU (the functions delegate to torch, which tests its kernels).
"""

import math
import random
import string
from functools import reduce
from operator import mul

import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from gradcourse import activations
from gradcourse import initializers as init

XAVIER_UNIFORM = [init.xavier_uniform_, init.get("glorot_uniform")]
XAVIER_NORMAL = [init.xavier_normal_, init.get("glorot_normal")]
KAIMING_UNIFORM = [init.he_uniform_, init.kaiming_uniform_]
KAIMING_NORMAL = [init.he_normal_, init.kaiming_normal_]


def _name(fn) -> str:
    return {init.kaiming_uniform_: "he_or_kaiming_uniform_", init.kaiming_normal_: "he_or_kaiming_normal_",
            }.get(fn, fn.__name__)


@pytest.fixture
def rnd():
    """torch's ``setUp``: ``random.seed(123)``; plus a seeded torch RNG for deterministic KS tests."""
    torch.manual_seed(0)
    return random.Random(123)


def _is_normal(tensor, mean, std):
    samples = tensor.view(-1).tolist()
    p_value = stats.kstest(samples, "norm", args=(mean, std))[1]
    return p_value > 0.0001


def _is_trunc_normal(tensor, mean, std, a, b):
    # scipy's truncnorm is for N(0, 1) data: standardize first
    z_samples = ((tensor.view(-1) - mean) / std).tolist()
    a0, b0 = (a - mean) / std, (b - mean) / std
    p_value = stats.kstest(z_samples, "truncnorm", args=(a0, b0))[1]
    return p_value > 0.0001


def _is_uniform(tensor, a, b):
    samples = tensor.view(-1).tolist()
    p_value = stats.kstest(samples, "uniform", args=(a, (b - a)))[1]
    return p_value > 0.0001


def _create_random_nd_tensor(rnd, dims, size_min, size_max):
    size = [rnd.randint(size_min, size_max) for _ in range(dims)]
    return torch.zeros(size)


def _random_float(rnd, a, b):
    return (b - a) * rnd.random() + a


def _fans(tensor):
    fan_in, fan_out = tensor.size(1), tensor.size(0)
    if tensor.dim() > 2:
        fan_in *= tensor[0, 0].numel()
        fan_out *= tensor[0, 0].numel()
    return fan_in, fan_out


# -- gains -------------------------------------------------------------------------------
def test_calculate_gain_linear():
    assert activations.gain("identity") == 1


def test_calculate_gain_nonlinear():
    expected = {"sigmoid": 1, "tanh": 1.6666666666666667, "relu": 1.4142135623730951,
                "leaky_relu": 1.4141428569978354, "selu": 0.75}
    for fn, value in expected.items():
        assert activations.gain(fn) == value


def test_calculate_gain_leaky_relu():
    expected = {None: 1.4141428569978354, 0: 1.4142135623730951, 0.01: 1.4141428569978354,
                10: 0.14071950894605836}
    for param, value in expected.items():
        kw = {} if param is None else {"negative_slope": param}  # None: the default slope 0.01
        assert activations.gain("leaky_relu", **kw) == value


def test_calculate_gain_leaky_relu_only_accepts_numbers():
    for param in [True, [1], {"a": "b"}]:
        with pytest.raises(ValueError):
            activations.gain("leaky_relu", negative_slope=param)


def test_calculate_gain_only_accepts_valid_nonlinearities(rnd):
    for n in [2, 5, 25]:
        random_string = "".join(rnd.choice(string.ascii_lowercase) for _ in range(n))
        with pytest.raises(ValueError):
            activations.gain(random_string)


# -- distributions without fans ----------------------------------------------------------
@pytest.mark.slow  # tensors of up to 50**4 samples
def test_uniform(rnd):
    for dims in [1, 2, 4]:
        input_tensor = _create_random_nd_tensor(rnd, dims, size_min=30, size_max=50)
        a = _random_float(rnd, -3, 3)
        b = a + _random_float(rnd, 1, 5)
        init.uniform_(input_tensor, a=a, b=b)
        assert _is_uniform(input_tensor, a, b)


@pytest.mark.slow  # tensors of up to 50**4 samples
def test_normal(rnd):
    for dims in [1, 2, 4]:
        input_tensor = _create_random_nd_tensor(rnd, dims, size_min=30, size_max=50)
        mean = _random_float(rnd, -3, 3)
        std = _random_float(rnd, 1, 5)
        init.normal_(input_tensor, mean=mean, std=std)
        assert _is_normal(input_tensor, mean, std)


def test_trunc_normal_generator():
    gen = torch.Generator()
    gen.manual_seed(42)
    input_tensor = torch.empty(5)
    init.trunc_normal_(input_tensor, generator=gen)

    ref = torch.empty(5)
    torch.manual_seed(42)
    init.trunc_normal_(ref)

    torch.testing.assert_close(input_tensor, ref)
    assert _is_trunc_normal(input_tensor, mean=0, std=1, a=0, b=1)


def test_constant(rnd):
    for dims in [1, 2, 4]:
        input_tensor = _create_random_nd_tensor(rnd, dims, size_min=1, size_max=5)
        val = _random_float(rnd, 1, 10)
        init.constant_(input_tensor, val)
        torch.testing.assert_close(input_tensor, input_tensor.clone().fill_(val))


def test_ones_and_zeros(rnd):
    for init_fn_, val in zip([init.ones_, init.zeros_], [1, 0], strict=True):
        for dims in [1, 2, 4]:
            input_tensor = _create_random_nd_tensor(rnd, dims, size_min=1, size_max=5)
            init_fn_(input_tensor)
            torch.testing.assert_close(input_tensor, input_tensor.clone().fill_(val))


# -- eye and dirac -----------------------------------------------------------------------
def test_eye(rnd):
    input_tensor = _create_random_nd_tensor(rnd, 2, size_min=1, size_max=5)
    init.eye_(input_tensor)
    for i in range(input_tensor.size(0)):
        for j in range(input_tensor.size(1)):
            assert input_tensor[i][j] == (1 if i == j else 0), (i, j)


def test_eye_only_works_on_2d_inputs(rnd):
    for dims in [1, 3]:
        with pytest.raises(ValueError):
            tensor = _create_random_nd_tensor(rnd, dims, size_min=1, size_max=3)
            init.eye_(tensor)


def test_dirac_properties(rnd):
    for dims in [3, 4, 5]:
        for groups in [1, 2, 3]:
            # random sizes whose first dim divides by groups
            a, c, d, e = (rnd.randint(1, 5) for _ in range(4))
            b = rnd.randint(1, 5 * groups)
            input_tensor = torch.randn((a * groups, b, c, d, e)[:dims])

            init.dirac_(input_tensor, groups)

            c_out, c_in = input_tensor.size(0) // groups, input_tensor.size(1)
            min_d = min(c_out, c_in)
            # as many nonzeros as the smallest dim, per group, and the same sum
            assert torch.nonzero(input_tensor).size(0) == min_d * groups
            torch.testing.assert_close(input_tensor.sum(), torch.tensor(float(min_d * groups)))


@pytest.mark.parametrize(("dim", "conv"), [(1, F.conv1d), (2, F.conv2d), (3, F.conv3d)])
def test_dirac_identity(dim, conv):
    for groups in [1, 3]:
        batch, in_c, out_c, size, kernel_size = 8, 3, 9, 5, 3  # in_c, out_c divide by groups
        eff_out_c = out_c // groups
        input_tensor = torch.randn(batch, in_c, *[size] * dim)
        filter_var = torch.zeros(eff_out_c, in_c, *[kernel_size] * dim)
        filter_var = torch.cat([filter_var] * groups)
        init.dirac_(filter_var, groups)
        output_tensor = conv(input_tensor, filter_var)
        inner = (slice(None), slice(None), *[slice(1, -1)] * dim)
        for g in range(groups):
            # the in_c outputs of each group are the input...
            torch.testing.assert_close(input_tensor[inner],
                                       output_tensor[:, eff_out_c * g : eff_out_c * g + in_c])
            # ...and the extra outputs are 0
            assert torch.nonzero(output_tensor[:, eff_out_c * g + in_c : eff_out_c * (g + 1)]).numel() == 0


def test_dirac_only_works_on_3_4_5d_inputs(rnd):
    for dims in [1, 2, 6]:
        with pytest.raises(ValueError):
            tensor = _create_random_nd_tensor(rnd, dims, size_min=1, size_max=3)
            init.dirac_(tensor)


# -- Xavier (Glorot) ---------------------------------------------------------------------
@pytest.mark.parametrize("fn", XAVIER_UNIFORM + XAVIER_NORMAL, ids=_name)
def test_xavier_errors_on_inputs_smaller_than_2d(rnd, fn):
    for dims in [0, 1]:
        tensor = _create_random_nd_tensor(rnd, dims, size_min=1, size_max=1)
        with pytest.raises(ValueError):
            fn(tensor)


@pytest.mark.parametrize("fn", XAVIER_UNIFORM, ids=_name)
def test_xavier_uniform(rnd, fn):
    for use_gain in [True, False]:
        for dims in [2, 4]:
            input_tensor = _create_random_nd_tensor(rnd, dims, size_min=20, size_max=25)
            gain = 1
            if use_gain:
                gain = _random_float(rnd, 0.1, 2)
                fn(input_tensor, gain=gain)
            else:
                fn(input_tensor)
            fan_in, fan_out = _fans(input_tensor)
            expected_std = gain * math.sqrt(2.0 / (fan_in + fan_out))
            bounds = expected_std * math.sqrt(3)
            assert _is_uniform(input_tensor, -bounds, bounds)


@pytest.mark.parametrize("fn", XAVIER_NORMAL, ids=_name)
def test_xavier_normal(rnd, fn):
    for use_gain in [True, False]:
        for dims in [2, 4]:
            input_tensor = _create_random_nd_tensor(rnd, dims, size_min=20, size_max=25)
            gain = 1
            if use_gain:
                gain = _random_float(rnd, 0.1, 2)
                fn(input_tensor, gain=gain)
            else:
                fn(input_tensor)
            fan_in, fan_out = _fans(input_tensor)
            expected_std = gain * math.sqrt(2.0 / (fan_in + fan_out))
            assert _is_normal(input_tensor, 0, expected_std)


# -- Kaiming (He) ------------------------------------------------------------------------
@pytest.mark.parametrize("fn", KAIMING_UNIFORM + KAIMING_NORMAL, ids=_name)
def test_kaiming_errors_on_inputs_smaller_than_2d(rnd, fn):
    for dims in [0, 1]:
        with pytest.raises(ValueError):
            tensor = _create_random_nd_tensor(rnd, dims, size_min=1, size_max=1)
            fn(tensor)


@pytest.mark.parametrize("fn", KAIMING_UNIFORM + KAIMING_NORMAL, ids=_name)
def test_kaiming_warning_on_0element_tensor(fn):
    tensor = torch.empty(0, 1)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        _ = fn(tensor)


def _kaiming_cases(rnd):
    for use_a in [True, False]:
        for dims in [2, 4]:
            for mode in ["fan_in", "fan_out"]:
                input_tensor = _create_random_nd_tensor(rnd, dims, size_min=20, size_max=25)
                a = _random_float(rnd, 0.1, 2) if use_a else 0
                yield input_tensor, use_a, a, mode


def _kaiming_std(input_tensor, a, mode):
    fan_in, fan_out = _fans(input_tensor)
    n = fan_in if mode == "fan_in" else fan_out
    return math.sqrt(2.0 / ((1 + a**2) * n))


@pytest.mark.parametrize("fn", KAIMING_UNIFORM, ids=_name)
def test_kaiming_uniform(rnd, fn):
    for input_tensor, use_a, a, mode in _kaiming_cases(rnd):
        if use_a:
            fn(input_tensor, a=a, mode=mode)
        else:
            fn(input_tensor, mode=mode)
        bounds = _kaiming_std(input_tensor, a, mode) * math.sqrt(3.0)
        assert _is_uniform(input_tensor, -bounds, bounds)


@pytest.mark.parametrize("fn", KAIMING_NORMAL, ids=_name)
def test_kaiming_normal(rnd, fn):
    for input_tensor, use_a, a, mode in _kaiming_cases(rnd):
        if use_a:
            fn(input_tensor, a=a, mode=mode)
        else:
            fn(input_tensor, mode=mode)
        assert _is_normal(input_tensor, 0, _kaiming_std(input_tensor, a, mode))


# -- sparse and orthogonal ---------------------------------------------------------------
def test_sparse_only_works_on_2d_inputs(rnd):
    for dims in [1, 3]:
        with pytest.raises(ValueError):
            sparsity = _random_float(rnd, 0.1, 0.9)
            tensor = _create_random_nd_tensor(rnd, dims, size_min=1, size_max=3)
            init.sparse_(tensor, sparsity)


def test_sparse_default_std(rnd):
    for use_random_std in [True, False]:
        input_tensor = _create_random_nd_tensor(rnd, 2, size_min=30, size_max=35)
        rows = input_tensor.size(0)
        sparsity = _random_float(rnd, 0.1, 0.2)
        std = 0.01  # default std
        if use_random_std:
            std = _random_float(rnd, 0.01, 0.2)
            init.sparse_(input_tensor, sparsity=sparsity, std=std)
        else:
            init.sparse_(input_tensor, sparsity=sparsity)
        for col_idx in range(input_tensor.size(1)):
            column = input_tensor[:, col_idx]
            assert column[column == 0].nelement() >= math.ceil(sparsity * rows)
        assert _is_normal(input_tensor[input_tensor != 0], 0, std)


def test_orthogonal(rnd):
    for use_gain in [True, False]:
        for tensor_size in [[3, 4], [4, 3], [20, 2, 3, 4], [2, 3, 4, 5]]:
            input_tensor = torch.zeros(tensor_size)
            gain = 1.0
            if use_gain:
                gain = _random_float(rnd, 0.1, 2)
                init.orthogonal_(input_tensor, gain=gain)
            else:
                init.orthogonal_(input_tensor)
            rows, cols = tensor_size[0], reduce(mul, tensor_size[1:])
            flat = input_tensor.view(rows, cols)
            if rows > cols:
                torch.testing.assert_close(flat.t() @ flat, torch.eye(cols) * gain**2, atol=1e-6, rtol=0)
            else:
                torch.testing.assert_close(flat @ flat.t(), torch.eye(rows) * gain**2, atol=1e-6, rtol=0)


# -- TestNNInitDeviceType: trunc_normal_, on the CPU -------------------------------------
@pytest.mark.parametrize("dims", [1, 2, pytest.param(4, marks=pytest.mark.slow)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_trunc_normal_all_dtypes(rnd, dims, dtype):
    size = [rnd.randint(30, 50) for _ in range(dims)]
    input_tensor = torch.zeros(size, dtype=dtype)
    mean = rnd.uniform(-3, 3)
    std = rnd.uniform(0.01, 1)
    a = rnd.uniform(mean - 2 * std, mean)
    b = rnd.uniform(mean, mean + 2 * std)
    init.trunc_normal_(input_tensor, mean=mean, std=std, a=a, b=b)
    # bounds compared at the tensor's precision: a and b are rounded when cast
    lo, hi = torch.tensor(a, dtype=dtype).item(), torch.tensor(b, dtype=dtype).item()
    assert input_tensor.min().item() >= lo
    assert input_tensor.max().item() <= hi
    assert _is_trunc_normal(input_tensor.float(), mean, std, a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_trunc_normal_low_precision(dtype):
    # fixed wide parameters: random intervals can be too narrow for the dtype's values
    mean, std, a, b = 0.0, 1.0, -2.0, 2.0
    t = torch.empty(10000, dtype=dtype)
    init.trunc_normal_(t, mean=mean, std=std, a=a, b=b)
    assert t.min().item() >= a and t.max().item() <= b
    assert _is_trunc_normal(t.float(), mean, std, a, b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_trunc_normal_narrow_interval(dtype):
    # an interval narrow compared to std (bf16 excluded, as in torch: too few values in [2, 3])
    mean, std, a, b = 0.0, 1.0, 2.0, 3.0
    t = torch.empty(10000, dtype=dtype)
    init.trunc_normal_(t, mean=mean, std=std, a=a, b=b)
    assert t.min().item() >= a and t.max().item() <= b
    assert _is_trunc_normal(t.float(), mean, std, a, b)


@pytest.mark.parametrize(("dtype", "min_unique"), [(torch.float32, 5000), (torch.float64, 5000),
                                                   (torch.float16, 3000), (torch.bfloat16, 1000)])
def test_trunc_normal_unique_values(dtype, min_unique):
    t = torch.empty(10000, dtype=dtype)
    init.trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0)
    assert t.min().item() >= -2.0 and t.max().item() <= 2.0
    assert t.unique().numel() > min_unique
    assert not t.isinf().any().item() and not t.isnan().any().item()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_trunc_normal_no_boundary_values_small_std(dtype):
    t = torch.empty(10000, dtype=dtype)
    init.trunc_normal_(t, mean=0.0, std=0.1, a=-2.0, b=2.0)
    assert (t == -2.0).sum().item() == 0
    assert (t == 2.0).sum().item() == 0
