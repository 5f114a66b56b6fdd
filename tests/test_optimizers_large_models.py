"""lib.optimizers.Adafactor and Muon (chapter 12) against torch.optim, and their argument checks.

As in test_optimizers_exact.py: two parameter groups with different
hyper-parameters, a parameter that never gets a gradient and one that gets one
only on some steps, a fixed gradient sequence g_i(θ_i, t) = A_i (θ_i − c_i) +
0.3 n_{t,i}, and torch with ``foreach=False`` (Adafactor's default, and Muon's
only path). lib does torch's arithmetic in torch's order: parameters and state
are equal bit for bit (``torch.equal``). Adafactor gets matrices, a 3-D tensor,
a vector and a 0-d scalar; Muon only matrices (tall, wide and square).
"""

from __future__ import annotations

import inspect
import io
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib import optimizers
from lib.optimizers.muon import newton_schulz

STEPS = 60
SHAPES = {
    "Adafactor": [(3, 4), (5, 2), (2,), (2, 3, 4), (3,), ()],
    "Muon": [(3, 4), (6, 2), (4, 4), (2, 5), (5, 3), (3, 3)],
}
OPTIONS = {
    "Adafactor": [
        {},
        {"lr": 0.05},
        {"lr": 0.5},
        {"beta2_decay": -0.5},
        {"beta2_decay": 0.0},
        {"eps": (1e-3, 1e-3)},
        {"eps": (None, 0.5)},
        {"eps": (0.0, 0.0)},
        {"d": 2.0},
        {"d": 1e6},
        {"weight_decay": 0.1},
        {"maximize": True},
        {"lr": 0.05, "beta2_decay": -0.6, "eps": (1e-6, 1e-2), "d": 1.5, "weight_decay": 0.05, "maximize": True},
    ],
    "Muon": [
        {},
        {"lr": 0.02},
        {"lr": 0.02, "nesterov": False},
        {"lr": 0.02, "momentum": 0.5},
        {"lr": 0.02, "momentum": 0.0},
        {"lr": 0.02, "weight_decay": 0.0},
        {"lr": 0.02, "weight_decay": 0.5},
        {"lr": 0.02, "adjust_lr_fn": "original"},
        {"lr": 0.02, "adjust_lr_fn": "match_rms_adamw"},
        {"lr": 0.02, "ns_steps": 3},
        {"lr": 0.02, "ns_steps": 0},
        {"lr": 0.02, "ns_coefficients": (1.5, -0.5, 0.0), "ns_steps": 8},
        {"lr": 0.02, "eps": 1e-3},
    ],
}
SECOND_GROUP = {
    "Adafactor": {"lr": 0.02, "beta2_decay": -0.7, "eps": (1e-5, 1e-2), "weight_decay": 0.02},
    "Muon": {"lr": 0.01, "momentum": 0.8, "nesterov": False, "adjust_lr_fn": "match_rms_adamw"},
}
DTYPES = (torch.float64, torch.float32)
GRID = [(name, options, seed) for name, cases in OPTIONS.items() for options in cases for seed in range(2)]


class Problem:
    """Parameters of the given shapes and a fixed gradient sequence, as in test_optimizers_exact.py."""

    def __init__(self, shapes, seed: int, dtype=torch.float64, steps: int = STEPS):
        gen = torch.Generator().manual_seed(seed)
        self.start = [torch.randn(shape, generator=gen, dtype=dtype) for shape in shapes]
        self.matrices, self.centres = [], []
        for shape in shapes:
            n = max(1, torch.Size(shape).numel())
            m = torch.randn(n, n, generator=gen, dtype=dtype)
            self.matrices.append(m @ m.T / n + 0.1 * torch.eye(n, dtype=dtype))
            self.centres.append(torch.randn(n, generator=gen, dtype=dtype))
        self.noise = [[torch.randn(shape, generator=gen, dtype=dtype) for shape in shapes] for _ in range(steps)]

    def params(self) -> list[torch.Tensor]:
        return [t.clone().requires_grad_() for t in self.start]

    def set_gradients(self, params: list[torch.Tensor], t: int) -> None:
        for i, p in enumerate(params):
            if i == 2 or (i == 4 and t % 3 == 1):  # parameter 2 never has a gradient, parameter 4 not always
                p.grad = None
                continue
            grad = self.matrices[i] @ (p.detach().reshape(-1) - self.centres[i])
            p.grad = grad.reshape(p.shape) + 0.3 * self.noise[t][i]


def groups(params, name):
    return [{"params": params[:3]}, {"params": params[3:], **SECOND_GROUP[name]}]


def train(optimizer, params, problem, first, last):
    for t in range(first, last):
        problem.set_gradients(params, t)
        optimizer.step()


def torch_class(name, **variant):
    return lambda params, **kwargs: getattr(torch.optim, name)(params, **kwargs, **variant)


def run_both(name, options, seed, dtype=torch.float64, steps=STEPS):
    problem = Problem(SHAPES[name], seed, dtype, steps)
    ours_params, torch_params = problem.params(), problem.params()
    ours = getattr(optimizers, name)(groups(ours_params, name), **options)
    variant = {"foreach": False} if name == "Adafactor" else {}
    theirs = torch_class(name, **variant)(groups(torch_params, name), **options)
    train(ours, ours_params, problem, 0, steps)
    train(theirs, torch_params, problem, 0, steps)
    return ours, ours_params, theirs, torch_params, problem


def assert_same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        a, b = a.detach(), b.detach()
        assert a.dtype == b.dtype
        assert torch.equal(a, b), f"largest difference {(a - b).abs().max().item():.3g}"


def assert_same_state(ours, theirs):
    mine, torchs = ours.state_dict()["state"], theirs.state_dict()["state"]
    assert mine.keys() == torchs.keys()
    for index, state in torchs.items():
        assert mine[index].keys() == state.keys(), index
        for key, value in state.items():
            assert_same([mine[index][key]], [value])


@pytest.mark.parametrize(("name", "options", "seed"), GRID, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(GRID)])
def test_matches_torch_bit_for_bit(name, options, seed):
    ours, ours_params, theirs, torch_params, problem = run_both(name, options, seed, DTYPES[seed % 2])
    assert_same(ours_params, torch_params)
    assert_same_state(ours, theirs)
    assert torch.equal(ours_params[2].detach(), problem.start[2])  # never had a gradient
    assert not torch.equal(ours_params[0].detach(), problem.start[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_default_arguments_match_torch(name, dtype):
    problem = Problem(SHAPES[name], 7, dtype)
    ours_params, torch_params = problem.params(), problem.params()
    ours = getattr(optimizers, name)(ours_params)
    theirs = getattr(torch.optim, name)(torch_params)
    train(ours, ours_params, problem, 0, STEPS)
    train(theirs, torch_params, problem, 0, STEPS)
    assert_same(ours_params, torch_params)


def test_adafactor_matches_torchs_foreach_path_to_round_off():
    _ours, ours_params, *_ = run_both("Adafactor", {"weight_decay": 0.1}, 3, torch.float64)
    problem = Problem(SHAPES["Adafactor"], 3)
    torch_params = problem.params()
    theirs = torch.optim.Adafactor(groups(torch_params, "Adafactor"), weight_decay=0.1, foreach=True)
    train(theirs, torch_params, problem, 0, STEPS)
    for a, b in zip(ours_params, torch_params, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-10, atol=1e-10)


def _roundtrip(state_dict):
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer)


@pytest.mark.parametrize(
    ("name", "options"),
    [("Adafactor", {"lr": 0.05, "weight_decay": 0.1}), ("Muon", {"lr": 0.02, "nesterov": False})],
)
def test_state_dict_moves_between_lib_and_torch(name, options):
    steps = 40
    *_, torch_params, problem = run_both(name, options, 5, steps=steps)
    for source, target in ((optimizers, torch.optim), (torch.optim, optimizers)):
        first_params = problem.params()
        first = getattr(source, name)(groups(first_params, name), **options)
        train(first, first_params, problem, 0, steps // 2)
        second_params = [p.detach().clone().requires_grad_() for p in first_params]
        second = getattr(target, name)(groups(second_params, name), **options)
        second.load_state_dict(_roundtrip(first.state_dict()))
        train(second, second_params, problem, steps // 2, steps)
        assert_same(second_params, torch_params)


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_works_with_torch_schedulers(name):
    problem = Problem(SHAPES["Muon"], 3, steps=30)
    results = []
    for source in (optimizers, torch.optim):
        params = problem.params()
        optimizer = getattr(source, name)(params, lr=0.05)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
        for t in range(30):
            problem.set_gradients(params, t)
            optimizer.step()
            scheduler.step()
        results.append(params)
    assert_same(*results)


OPTION_VALUES = {
    "Adafactor": {
        "lr": st.floats(1e-4, 0.5),
        "beta2_decay": st.floats(-1.0, 0.0),
        "eps": st.tuples(st.one_of(st.none(), st.floats(0.0, 1e-2)), st.floats(0.0, 0.1)),
        "d": st.floats(1.0, 10.0),
        "weight_decay": st.floats(0.0, 0.5),
        "maximize": st.booleans(),
    },
    "Muon": {
        "lr": st.floats(1e-4, 0.1),
        "weight_decay": st.floats(0.0, 0.5),
        "momentum": st.floats(0.0, 0.99),
        "nesterov": st.booleans(),
        "ns_coefficients": st.tuples(st.floats(1.0, 4.0), st.floats(-5.0, 0.0), st.floats(0.0, 2.5)),
        "eps": st.floats(1e-10, 1e-3),
        "ns_steps": st.integers(0, 8),
        "adjust_lr_fn": st.sampled_from([None, "original", "match_rms_adamw"]),
    },
}


@st.composite
def random_settings(draw):
    name = draw(st.sampled_from(["Adafactor", "Muon"]))
    values = OPTION_VALUES[name]
    options = {key: draw(values[key]) for key in values if draw(st.booleans())}
    return name, options, draw(st.integers(0, 10_000)), draw(st.sampled_from(DTYPES))


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(random_settings())
def test_matches_torch_on_random_settings(setting):
    name, options, seed, dtype = setting
    problem = Problem(SHAPES[name], seed, dtype, 30)
    ours_params, torch_params = problem.params(), problem.params()
    ours = getattr(optimizers, name)(ours_params, **options)
    ours.check_finite = False  # odd coefficients can blow up; torch's must then blow up alike
    theirs = getattr(torch.optim, name)(torch_params, **options)
    train(ours, ours_params, problem, 0, 30)
    train(theirs, torch_params, problem, 0, 30)
    for a, b in zip(ours_params, torch_params, strict=True):
        assert torch.equal(a.detach(), b.detach()) or (torch.equal(a.isnan(), b.isnan()) and a.isnan().all())


def test_muon_step_is_the_momentum_orthogonalized():
    # One step from b_0 = 0 without Nesterov: b_1 = (1 − β) g_1, and the step is η' NS(b_1) = η' NS(g_1).
    gen = torch.Generator().manual_seed(0)
    start, grad = torch.randn(8, 4, generator=gen), torch.randn(8, 4, generator=gen)
    param = start.clone().requires_grad_()
    optimizer = optimizers.Muon([param], lr=0.1, weight_decay=0.0, nesterov=False)
    param.grad = grad
    optimizer.step()
    step = (start - param.detach()) / (0.1 * math.sqrt(8 / 4))
    singular_values = torch.linalg.svdvals(step)
    assert 0.6 < singular_values.min()
    assert singular_values.max() < 1.25
    u, _, vh = torch.linalg.svd(grad, full_matrices=False)
    cosine = (step * (u @ vh)).sum() / (step.norm() * (u @ vh).norm())
    assert cosine > 0.98


def test_newton_schulz_keeps_the_singular_vectors_and_transposes_tall_matrices():
    gen = torch.Generator().manual_seed(1)
    tall = torch.randn(12, 5, generator=gen)
    out = newton_schulz(tall, optimizers.muon.NS_COEFFICIENTS, 5, 1e-7)
    assert out.shape == tall.shape
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, newton_schulz(tall.T, optimizers.muon.NS_COEFFICIENTS, 5, 1e-7).T)
    assert torch.equal(newton_schulz(torch.zeros(3, 4), (3.0, -4.0, 2.0), 5, 1e-7), torch.zeros(3, 4).bfloat16())


# ---------------------------------------------------------------- signatures and documentation


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_signature_and_defaults_are_torchs(name):
    ours = inspect.signature(getattr(optimizers, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert set(ours) == set(theirs) - {"foreach"}
    for key, parameter in ours.items():
        assert parameter.default == theirs[key].default, key
        assert parameter.kind == theirs[key].kind, key


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_docstring_states_the_update_rule(name):
    doc = getattr(optimizers, name).__doc__
    assert "θ_t = " in doc
    assert f"torch.optim.{name}" in doc


def test_they_are_exported_but_not_raced_by_name():
    assert {"Adafactor", "Muon"} <= set(optimizers.__all__)
    assert not {"Adafactor", "Muon"} & set(optimizers.NAMES)
    built = optimizers.create(optimizers.Muon, [torch.zeros(2, 2, requires_grad=True)], lr=0.5)
    assert isinstance(built, optimizers.Muon)
    assert built.param_groups[0]["lr"] == 0.5


# ---------------------------------------------------------------- bad arguments, each named

RULES = [
    ("Adafactor", {"lr": -0.1}, ValueError, "lr"),
    ("Adafactor", {"lr": "0.1"}, TypeError, "lr"),
    ("Adafactor", {"beta2_decay": 0.5}, ValueError, "beta2_decay"),
    ("Adafactor", {"beta2_decay": math.nan}, ValueError, "beta2_decay"),
    ("Adafactor", {"eps": 1e-3}, TypeError, "eps"),
    ("Adafactor", {"eps": (None,)}, ValueError, "eps"),
    ("Adafactor", {"eps": (-1e-3, 1e-3)}, ValueError, r"eps\[0\]"),
    ("Adafactor", {"eps": (None, -1.0)}, ValueError, r"eps\[1\]"),
    ("Adafactor", {"eps": (None, None)}, TypeError, r"eps\[1\]"),
    ("Adafactor", {"d": 0.5}, ValueError, "d must"),
    ("Adafactor", {"d": math.inf}, ValueError, "d must"),
    ("Adafactor", {"weight_decay": -0.1}, ValueError, "weight_decay"),
    ("Adafactor", {"maximize": 1}, TypeError, "maximize"),
    ("Muon", {"lr": -0.1}, ValueError, "lr"),
    ("Muon", {"lr": math.nan}, ValueError, "lr"),
    ("Muon", {"weight_decay": -0.1}, ValueError, "weight_decay"),
    ("Muon", {"momentum": -0.1}, ValueError, "momentum"),
    ("Muon", {"momentum": 1.5}, ValueError, "momentum"),
    ("Muon", {"nesterov": 1}, TypeError, "nesterov"),
    ("Muon", {"ns_coefficients": (1.0, 2.0)}, ValueError, "ns_coefficients"),
    ("Muon", {"ns_coefficients": 3.0}, TypeError, "ns_coefficients"),
    ("Muon", {"ns_coefficients": (1.0, math.inf, 2.0)}, ValueError, r"ns_coefficients\[1\]"),
    ("Muon", {"eps": -1e-7}, ValueError, "eps"),
    ("Muon", {"ns_steps": 100}, ValueError, "ns_steps"),
    ("Muon", {"ns_steps": -1}, ValueError, "ns_steps"),
    ("Muon", {"ns_steps": 2.0}, TypeError, "ns_steps"),
    ("Muon", {"adjust_lr_fn": "spectral"}, ValueError, "adjust_lr_fn"),
]


@pytest.mark.parametrize(("name", "kwargs", "error", "match"), RULES, ids=[f"{r[0]}-{i}" for i, r in enumerate(RULES)])
def test_bad_argument_is_named(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(optimizers, name)([torch.zeros(2, 3, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("shape", [(3,), (), (2, 2, 2)])
def test_muon_refuses_what_is_not_a_matrix_and_names_it(shape):
    matrix = torch.zeros(2, 2, requires_grad=True)
    with pytest.raises(ValueError, match=r"params\[1\] must be a matrix .*AdamW"):
        optimizers.Muon([matrix, torch.zeros(shape, requires_grad=True)])
    optimizer = optimizers.Muon([matrix])
    with pytest.raises(ValueError, match=r"params\[0\] must be a matrix"):
        optimizer.add_param_group({"params": [torch.zeros(shape, requires_grad=True)]})
    assert len(optimizer.param_groups) == 1  # the bad group was not kept


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_bad_hyper_parameter_in_a_param_group_is_named(name):
    with pytest.raises(ValueError, match="lr"):
        getattr(optimizers, name)(
            [{"params": [torch.zeros(2, 2, requires_grad=True)]}, {"params": [torch.ones(2, 2)], "lr": -1.0}]
        )


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_non_finite_gradient_is_named(name):
    params = [torch.ones(2, 3, requires_grad=True), torch.ones(3, 2, requires_grad=True)]
    optimizer = getattr(optimizers, name)(params)
    params[0].grad = torch.ones(2, 3)
    params[1].grad = torch.tensor([[1.0, math.nan], [1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"parameter 1 of param group 0 .*step 1 .*gradient is non-finite"):
        optimizer.step()
