"""lib.optimizers: create/NAMES, torch's signatures, bad arguments, and non-finite values."""

from __future__ import annotations

import inspect
import math
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib import optimizers
from lib.optimizers.base import CHECK_EVERY


def leaf(*values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------- create, NAMES, signatures


def test_names_are_torch_class_names():
    names = {"SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Adamax"}
    assert set(optimizers.NAMES) == names
    for name in optimizers.NAMES:
        assert issubclass(getattr(optimizers, name), torch.optim.Optimizer)


@pytest.mark.parametrize("spelling", ["adam", "ADAM", "Adam", " adamw ", "nadam", "rmsprop", "sgd", "AdaGrad"])
def test_create_ignores_letter_case(spelling):
    optimizer = optimizers.create(spelling, [leaf(1.0)], lr=0.1)
    assert type(optimizer).__name__.lower() == spelling.strip().lower()
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_create_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="optimizer") as error:
        optimizers.create("adamm", [leaf(1.0)])
    for name in optimizers.NAMES:
        assert name in str(error.value)


@pytest.mark.parametrize("cls", [optimizers.Adam, torch.optim.Adam, torch.optim.LBFGS])
def test_create_accepts_an_optimizer_class(cls):
    optimizer = optimizers.create(cls, [leaf(1.0)], lr=0.25)
    assert type(optimizer) is cls
    assert optimizer.param_groups[0]["lr"] == 0.25


def test_create_accepts_a_factory_and_passes_it_the_arguments():
    calls = []

    def factory(params, **kwargs):
        calls.append(kwargs)
        return torch.optim.SGD(params, foreach=False, **kwargs)

    optimizer = optimizers.create(factory, [leaf(1.0)], lr=0.5, momentum=0.9)
    assert isinstance(optimizer, torch.optim.SGD)
    assert calls == [{"lr": 0.5, "momentum": 0.9}]
    assert optimizer.param_groups[0]["momentum"] == 0.9


@pytest.mark.parametrize(
    ("optimizer", "error", "match"),
    [
        (None, TypeError, "optimizer must be a name"),
        (3, TypeError, "optimizer must be a name"),
        (dict, TypeError, "optimizer must be a torch.optim.Optimizer class"),
        (lambda params, **kwargs: list(params), TypeError, "optimizer must build a torch.optim.Optimizer"),
        ("LBFGS", ValueError, "torch.optim.LBFGS"),  # not in lib: the message says how to get torch's
    ],
)
def test_create_refuses_what_is_not_an_optimizer(optimizer, error, match):
    with pytest.raises(error, match=match):
        optimizers.create(optimizer, [leaf(1.0)])


def test_create_rejects_unknown_keywords():
    with pytest.raises(TypeError, match="foreach"):
        optimizers.create("adam", [leaf(1.0)], foreach=False)


@pytest.mark.parametrize("name", optimizers.NAMES)
def test_signature_and_defaults_are_torchs(name):
    ours = inspect.signature(getattr(optimizers, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    implementation_switches = {"foreach", "fused", "capturable", "differentiable"}
    assert set(ours) == set(theirs) - implementation_switches
    for key, parameter in ours.items():
        assert parameter.default == theirs[key].default, key
    # Positional arguments come in torch's order.
    positional = [k for k, p in ours.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == [k for k in theirs if k in positional]
    assert ours["maximize"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("name", optimizers.NAMES)
def test_docstring_states_the_update_rule(name):
    doc = getattr(optimizers, name).__doc__
    assert "θ_t = θ_{t-1} −" in doc
    assert f"torch.optim.{name}" in doc


# ---------------------------------------------------------------- bad arguments, one rule each

ALL = optimizers.NAMES
WITH_BETAS = ("Adam", "AdamW", "NAdam", "RAdam", "Adamax")
WITH_EPS = ("Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Adamax")

RULES = (
    [(name, {"lr": -0.1}, ValueError, "lr") for name in ALL]
    + [(name, {"lr": math.nan}, ValueError, "lr") for name in ALL]
    + [(name, {"lr": math.inf}, ValueError, "lr") for name in ALL]
    + [(name, {"lr": "0.1"}, TypeError, "lr") for name in ALL]
    + [(name, {"maximize": 1}, TypeError, "maximize") for name in ALL]
    + [(name, {"weight_decay": -1e-3}, ValueError, "weight_decay") for name in ALL]
    + [(name, {"eps": -1e-8}, ValueError, "eps") for name in WITH_EPS]
    + [(name, {"betas": (1.0, 0.999)}, ValueError, r"betas\[0\]") for name in WITH_BETAS]
    + [(name, {"betas": (0.9, -0.1)}, ValueError, r"betas\[1\]") for name in WITH_BETAS]
    + [(name, {"betas": (0.9, math.nan)}, ValueError, r"betas\[1\]") for name in WITH_BETAS]
    + [(name, {"betas": 0.9}, TypeError, "betas") for name in WITH_BETAS]
    + [(name, {"betas": (0.9,)}, ValueError, "betas") for name in WITH_BETAS]
    + [
        ("SGD", {"momentum": -0.5}, ValueError, "momentum"),
        ("SGD", {"dampening": 1.5}, ValueError, "dampening"),
        ("SGD", {"nesterov": True}, ValueError, "nesterov"),
        ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError, "nesterov"),
        ("SGD", {"nesterov": 1, "momentum": 0.9}, TypeError, "nesterov"),
        ("Adagrad", {"lr_decay": -0.1}, ValueError, "lr_decay"),
        ("Adagrad", {"initial_accumulator_value": -1.0}, ValueError, "initial_accumulator_value"),
        ("Adadelta", {"rho": 1.5}, ValueError, "rho"),
        ("Adadelta", {"rho": -0.1}, ValueError, "rho"),
        ("RMSprop", {"alpha": -0.1}, ValueError, "alpha"),
        ("RMSprop", {"alpha": 1.01}, ValueError, "alpha"),
        ("RMSprop", {"momentum": -0.1}, ValueError, "momentum"),
        ("RMSprop", {"centered": "yes"}, TypeError, "centered"),
        ("Adam", {"amsgrad": None}, TypeError, "amsgrad"),
        ("Adam", {"decoupled_weight_decay": 0}, TypeError, "decoupled_weight_decay"),
        ("AdamW", {"amsgrad": 1}, TypeError, "amsgrad"),
        ("NAdam", {"momentum_decay": -1e-3}, ValueError, "momentum_decay"),
        ("NAdam", {"decoupled_weight_decay": "no"}, TypeError, "decoupled_weight_decay"),
        ("RAdam", {"decoupled_weight_decay": 1}, TypeError, "decoupled_weight_decay"),
    ]
)


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "match"), RULES, ids=[f"{r[0]}-{r[3]}-{i}" for i, r in enumerate(RULES)]
)
def test_bad_argument_is_named(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        optimizers.create(name, [leaf(1.0, 2.0)], **kwargs)


@pytest.mark.parametrize("name", ALL)
def test_bad_hyper_parameter_in_a_param_group_is_named(name):
    with pytest.raises(ValueError, match="lr"):
        optimizers.create(name, [{"params": [leaf(1.0)]}, {"params": [leaf(2.0)], "lr": -1.0}])
    optimizer = optimizers.create(name, [leaf(1.0)])
    with pytest.raises(ValueError, match="weight_decay"):
        optimizer.add_param_group({"params": [leaf(3.0)], "weight_decay": -1.0})
    assert len(optimizer.param_groups) == 1  # the bad group was not added
    with pytest.raises(TypeError, match="param_group"):
        optimizer.add_param_group([leaf(3.0)])


def test_group_values_are_normalised_and_torch_keeps_working():
    optimizer = optimizers.Adam([{"params": [leaf(1.0)], "lr": torch.tensor(0.5), "betas": [0, 0.5]}])
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.5
    assert isinstance(group["lr"], float)
    assert group["betas"] == (0.0, 0.5)


@pytest.mark.parametrize("name", ALL)
def test_bad_params(name):
    with pytest.raises(ValueError, match="empty"):
        optimizers.create(name, [])
    with pytest.raises(TypeError):
        optimizers.create(name, leaf(1.0))  # a tensor, not an iterable of tensors
    with pytest.raises(TypeError, match=r"params\[0\]"):
        optimizers.create(name, [torch.tensor([1, 2])])
    with pytest.raises(TypeError, match=r"params\[0\]"):
        optimizers.create(name, [torch.zeros(2, dtype=torch.complex128, requires_grad=True)])


@pytest.mark.parametrize("name", ALL)
def test_sparse_gradients_are_refused(name):
    param = leaf(1.0, 2.0, 3.0)
    optimizer = optimizers.create(name, [param])
    param.grad = torch.sparse_coo_tensor([[1]], [1.0], (3,), dtype=torch.float64, check_invariants=True)
    with pytest.raises(ValueError, match="sparse"):
        optimizer.step()


def test_adagrad_honours_each_groups_initial_accumulator_value():
    # torch.optim.Adagrad would start both sums at the constructor's value, 0.
    first, second = leaf(1.0), leaf(1.0)
    optimizer = optimizers.Adagrad([{"params": [first]}, {"params": [second], "initial_accumulator_value": 3.0}], lr=1)
    first.grad = torch.tensor([1.0], dtype=torch.float64)
    second.grad = torch.tensor([1.0], dtype=torch.float64)
    optimizer.step()
    assert optimizer.state[first]["sum"].item() == 1.0
    assert optimizer.state[second]["sum"].item() == 4.0
    assert second.item() == pytest.approx(1.0 - 1.0 / (2.0 + 1e-10), rel=1e-15)


# ---------------------------------------------------------------- non-finite values

SETTINGS = {
    "SGD": {"lr": 0.1, "momentum": 0.9},
    "Adagrad": {},
    "Adadelta": {},
    "RMSprop": {"centered": True},
    "Adam": {"amsgrad": True},
    "AdamW": {},
    "NAdam": {},
    "RAdam": {},
    "Adamax": {},
}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("name", ALL)
def test_non_finite_gradient_raises_naming_parameter_and_step(name, bad):
    params = [leaf(1.0, 2.0), leaf(3.0, 4.0, 5.0)]
    optimizer = optimizers.create(name, params, **SETTINGS[name])
    for step in range(1, 4):
        params[0].grad = torch.tensor([0.5, -0.5], dtype=torch.float64)
        params[1].grad = torch.tensor([0.1, 0.2, bad if step == 3 else 0.3], dtype=torch.float64)
        if step < 3:
            optimizer.step()
    with pytest.raises(ValueError, match=r"parameter 1 of param group 0 .*step 3 .*gradient is non-finite"):
        optimizer.step()


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "Adamax"])
def test_eps_zero_with_a_zero_gradient_is_caught(name):
    # 0/0: torch.optim returns NaN here without a word.
    param = leaf(1.0, 2.0)
    optimizer = optimizers.create(name, [param], eps=0.0)
    param.grad = torch.tensor([0.0, 1.0], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"parameter 0 .*step 1 .*gradient is finite"):
        optimizer.step()
    reference = leaf(1.0, 2.0)
    torch_optimizer = getattr(torch.optim, name)([reference], eps=0.0)
    reference.grad = torch.tensor([0.0, 1.0], dtype=torch.float64)
    torch_optimizer.step()
    assert math.isnan(reference[0].item())


def test_overflow_is_caught():
    param = leaf(1.0)
    optimizer = optimizers.SGD([param], lr=1e300)
    param.grad = torch.tensor([1e10], dtype=torch.float64)
    with pytest.raises(ValueError, match="NaN or infinite"):
        optimizer.step()


def first_non_finite_step(optimizer_class, lr: float, steps: int = 300):
    """A learner's own loop: gradient descent on f(x) = x₁² + x₂², run to the end.

    Returns the first step after which x is no longer finite (None if it stays finite).
    """
    x = torch.tensor([1.0, -3.0], requires_grad=True)
    optimizer = optimizer_class([x], lr=lr)
    first = None
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        (x**2).sum().backward()
        optimizer.step()
        if first is None and not bool(torch.isfinite(x).all()):
            first = step
    return first


def test_a_learner_loop_that_diverges_stops_with_the_step_named():
    # With η = 1.5 each step maps x to −2x: |x| doubles until float32 overflows, and
    # torch.optim.SGD carries on with inf, then NaN, without a word.
    first_bad = first_non_finite_step(torch.optim.SGD, lr=1.5)
    assert first_bad is not None
    assert first_bad > CHECK_EVERY
    with pytest.raises(
        ValueError, match=r"parameter 0 of param group 0 \(shape \(2,\)\) became NaN or infinite"
    ) as error:
        first_non_finite_step(optimizers.SGD, lr=1.5)
    window = re.search(r"between step (\d+) and step (\d+)", str(error.value))
    first, last = int(window[1]), int(window[2])
    assert first <= first_bad <= last  # the window holds the step where x went non-finite
    assert last % CHECK_EVERY == 0
    assert last - first == CHECK_EVERY - 1
    assert first_non_finite_step(optimizers.SGD, lr=0.1) is None  # a good rate runs to the end


def test_later_steps_are_checked_in_batches_and_nothing_is_missed():
    k = CHECK_EVERY  # steps 1 to k are checked one by one, then every k-th step
    params = [leaf(1.0, 2.0), leaf(3.0)]
    optimizer = optimizers.SGD(params, lr=0.1)
    for step in range(1, 2 * k + 1):
        bad = [math.nan, 0.5] if step == k + 3 else [0.5, 0.5]
        params[0].grad = torch.tensor(bad, dtype=torch.float64) if step <= k + 3 else None
        params[1].grad = torch.ones(1, dtype=torch.float64)
        if step < 2 * k:
            optimizer.step()  # steps k + 4 to 2k - 1 are not checked
    assert math.isnan(params[0][0].item())
    # Step 2k checks parameter 0 although it has had no gradient since step k + 3.
    with pytest.raises(ValueError, match=rf"parameter 0 of .* between step {k + 1} and step {2 * k} .*no gradient"):
        optimizer.step()


@pytest.mark.parametrize("name", ALL)
def test_check_can_be_switched_off_and_then_matches_torch(name):
    ours, theirs = leaf(1.0, 2.0), leaf(1.0, 2.0)
    optimizer = optimizers.create(name, [ours])
    optimizer.check_finite = False
    reference = getattr(torch.optim, name)([theirs])
    for values in ([0.5, 1.0], [math.nan, 1.0], [0.25, 1.0]):
        ours.grad = torch.tensor(values, dtype=torch.float64)
        theirs.grad = torch.tensor(values, dtype=torch.float64)
        optimizer.step()
        reference.step()
    torch.testing.assert_close(ours.detach(), theirs.detach(), equal_nan=True, rtol=1e-10, atol=0)
    assert math.isnan(ours[0].item())
    assert math.isfinite(ours[1].item())


def test_step_size_too_large_for_float32_is_named():
    param = torch.ones(2, requires_grad=True)  # float32: 1e300 cannot be a float32 scalar
    optimizer = optimizers.SGD([param], lr=1e300)
    param.grad = torch.ones(2)
    with pytest.raises(ValueError, match=r"param group 0 \(lr=1e\+300\)"):
        optimizer.step()


def test_huge_but_finite_values_are_not_an_error():
    # Their sums overflow, which sends the check down its slow, exact path.
    big = torch.tensor([1e308, 1e308], dtype=torch.float64, requires_grad=True)
    optimizer = optimizers.SGD([big], lr=1.0)
    big.grad = torch.zeros(2, dtype=torch.float64)
    optimizer.step()
    half = torch.ones(100_000, dtype=torch.float16, requires_grad=True)  # sum 1e5 > float16's 65504
    optimizer = optimizers.SGD([half], lr=0.5)
    half.grad = torch.ones_like(half)
    optimizer.step()
    assert half[0].item() == 0.5


# ---------------------------------------------------------------- fuzz

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-2.0, 2.0),
    st.text(max_size=3),
    st.tuples(st.floats(-1.0, 1.5), st.floats(-1.0, 1.5)),
    st.lists(st.floats(0.0, 1.0), max_size=3),
    st.builds(torch.tensor, st.floats(-1.0, 1.0)),
)
KEYS = sorted(
    {key for name in ALL for key in inspect.signature(getattr(optimizers, name)).parameters if key != "params"}
    | {"foreach", "bogus"}
)


# Mostly valid values, with their edges: lr up to 1e300, eps = 0, momentum > 1, betas near 1, ...
EDGY = {
    "lr": st.one_of(st.floats(0.0, 10.0), st.sampled_from([0.0, 1e6, 1e300])),
    "momentum": st.floats(0.0, 2.0),
    "dampening": st.floats(0.0, 1.0),
    "weight_decay": st.one_of(st.floats(0.0, 1.0), st.just(1e3)),
    "nesterov": st.booleans(),
    "maximize": st.booleans(),
    "lr_decay": st.floats(0.0, 10.0),
    "initial_accumulator_value": st.floats(0.0, 10.0),
    "eps": st.one_of(st.sampled_from([0.0, 1e-300, 1e-8]), st.floats(0.0, 1.0)),
    "rho": st.floats(0.0, 1.0),
    "alpha": st.floats(0.0, 1.0),
    "centered": st.booleans(),
    "betas": st.tuples(st.floats(0.0, 0.999999), st.floats(0.0, 0.999999)),
    "amsgrad": st.booleans(),
    "momentum_decay": st.floats(0.0, 10.0),
    "decoupled_weight_decay": st.booleans(),
}


@st.composite
def edgy_arguments(draw):
    name = draw(st.sampled_from(ALL))
    keys = [k for k in inspect.signature(getattr(optimizers, name)).parameters if k != "params"]
    return name, {key: draw(EDGY[key]) for key in keys if draw(st.booleans())}


def build(name, params, kwargs, through_create: bool):
    if through_create or name not in ALL:
        return optimizers.create(name, params, **kwargs)
    return getattr(optimizers, name)(params, **kwargs)


@st.composite
def arbitrary_arguments(draw):
    name = draw(st.one_of(st.sampled_from(ALL), st.text(max_size=8), st.integers()))
    return name, draw(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    arguments=st.one_of(arbitrary_arguments(), edgy_arguments()),
    through_create=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_fuzz_constructors_raise_clearly_or_never_give_silent_nan(arguments, through_create, seed):
    name, kwargs = arguments
    params = [torch.randn(3, 2, dtype=torch.float64).requires_grad_(), torch.randn(4).requires_grad_()]
    try:
        optimizer = build(name, params, kwargs, through_create)
    except (ValueError, TypeError):
        return
    generator = torch.Generator().manual_seed(seed)
    failure = None
    try:
        for _ in range(20):
            for p in params:  # finite gradients, some entries exactly zero
                grad = 10 * torch.randn(p.shape, generator=generator, dtype=p.dtype)
                p.grad = grad * (torch.rand(p.shape, generator=generator) < 0.7)
            optimizer.step()
    except ValueError as error:
        failure = str(error)
    if failure is None:
        assert all(bool(torch.isfinite(p).all()) for p in params)
    else:  # the only errors a valid optimizer may raise on finite gradients
        assert "NaN or infinite" in failure or "does not fit in the parameters' dtype" in failure
