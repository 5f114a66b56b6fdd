"""Property-based fuzzing of lib.schedules, lib.functions and lib.train.

Whatever the arguments, a public function either returns finite numbers or raises
ValueError/TypeError (DivergenceError is a ValueError): never another exception, never a silent NaN.
"""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib import functions as F
from lib import schedules as S
from lib.optimizers import NAMES
from lib.train import fit
from lib.trajectory import minimize

FUZZ = settings(derandomize=True, deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
ALLOWED = (ValueError, TypeError)

# Numbers of every kind, with the awkward ones well represented.
anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0, 1, -1, 0.0, 1e-300, 1e300, float("nan"), float("inf"), -float("inf"), 2**63]),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.none(),
    st.booleans(),
    st.text(max_size=3),
    st.lists(st.floats(-10, 10), max_size=3),
)


def mostly(valid, invalid=anything):
    """Valid four times in five, so that most calls get past the argument checks and really run."""
    return st.integers(0, 4).flatmap(lambda k: invalid if k == 4 else valid)


small_int = mostly(st.integers(1, 40), st.one_of(st.integers(-3, 60), anything))
rate = mostly(st.floats(1e-4, 1.0), st.one_of(st.floats(-1.0, 2.0), anything))


def all_finite(values) -> bool:
    return all(math.isfinite(float(v)) for v in values)


SCHEDULES = {
    "StepLR": lambda o, a, b, c: S.StepLR(o, step_size=a, gamma=b),
    "MultiStepLR": lambda o, a, b, c: S.MultiStepLR(o, milestones=[a, 3, 7] if isinstance(a, int) else a, gamma=b),
    "ExponentialLR": lambda o, a, b, c: S.ExponentialLR(o, gamma=b),
    "PolynomialLR": lambda o, a, b, c: S.PolynomialLR(o, total_iters=a, power=b),
    "CosineAnnealingLR": lambda o, a, b, c: S.CosineAnnealingLR(o, T_max=a, eta_min=c),
    "LinearLR": lambda o, a, b, c: S.LinearLR(o, start_factor=b, end_factor=c, total_iters=a),
    "WarmupCosineLR": lambda o, a, b, c: S.WarmupCosineLR(o, warmup_steps=a, total_steps=40, eta_min=c),
    "InverseSqrtLR": lambda o, a, b, c: S.InverseSqrtLR(o, warmup_steps=a),
    "OneCycleLR": lambda o, a, b, c: S.OneCycleLR(o, max_lr=b, total_steps=a, pct_start=c),
    "ReduceLROnPlateau": lambda o, a, b, c: S.ReduceLROnPlateau(o, factor=b, patience=a, threshold=c),
}


@FUZZ
@given(
    name=st.sampled_from(sorted(SCHEDULES)),
    a=small_int,
    b=rate,
    c=rate,
    lr=st.one_of(st.floats(0.0, 10.0), st.sampled_from([1e-300, 1e300])),
    steps=st.integers(0, 60),
    metric=st.one_of(st.floats(-5, 5), anything),
)
def test_schedules_return_finite_rates_or_raise(name, a, b, c, lr, steps, metric):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr, momentum=0.9)
    try:
        scheduler = SCHEDULES[name](optimizer, a, b, c)
        rates = [scheduler.get_last_lr()[0]]
        for t in range(steps):
            scheduler.step(metric if t % 3 else 1.0) if name == "ReduceLROnPlateau" else scheduler.step()
            rates.append(scheduler.get_last_lr()[0])
    except ALLOWED:
        return
    assert all_finite(rates)
    assert all_finite([optimizer.param_groups[0]["lr"]])


@FUZZ
@given(steps=small_int, lr=rate, gamma=rate)
def test_lr_sequence_returns_finite_rates_or_raises(steps, lr, gamma):
    try:
        rates = S.lr_sequence(lambda o: S.ExponentialLR(o, gamma=gamma), steps, lr=lr)
    except ALLOWED:
        return
    assert len(rates) == steps
    assert all_finite(rates)


FUNCTIONS = {
    "quadratic": lambda a, b: F.quadratic(condition_number=a, angle=b),
    "rosenbrock": lambda a, b: F.rosenbrock(a=a, b=b),
    "beale": lambda a, b: F.beale(),
    "himmelblau": lambda a, b: F.himmelblau(),
    "saddle": lambda a, b: F.saddle(),
    "ravine": lambda a, b: F.ravine(),
    "bumpy": lambda a, b: F.bumpy(),
}
coordinate = st.one_of(st.floats(-10, 10), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e160]))
pair = st.lists(st.floats(-3, 3), min_size=2, max_size=2)
odd_point = st.one_of(
    st.lists(coordinate, min_size=0, max_size=3),
    st.lists(st.lists(coordinate, min_size=2, max_size=2), min_size=1, max_size=3),
    coordinate,
    anything,
)
point = mostly(st.one_of(pair, pair, st.floats(-3, 3)), odd_point)


@FUZZ
@given(name=st.sampled_from(sorted(FUNCTIONS)), a=rate, b=rate, x=point, tol=rate)
def test_functions_and_helpers_return_finite_values_or_raise(name, a, b, x, tol):
    try:
        f = FUNCTIONS[name](a, b)
    except ALLOWED:
        return
    for helper in (f, lambda x: F.gradient(f, x), lambda x: F.hessian(f, x)):
        try:
            out = helper(x)
        except ALLOWED:
            continue
        assert bool(torch.isfinite(out).all())
    try:
        kind = F.classify_critical_point(f, x, tol)
    except ALLOWED:
        return
    assert kind in ("minimum", "maximum", "saddle", "degenerate")


@FUZZ
@given(
    name=st.sampled_from(sorted(FUNCTIONS)),
    x0=point,
    optimizer=mostly(st.sampled_from(NAMES), st.one_of(st.sampled_from(["sgd", "newton", ""]), anything)),
    lr=mostly(st.floats(1e-4, 0.05), rate),
    steps=mostly(st.integers(0, 30), small_int),
)
def test_minimize_returns_a_finite_trajectory_or_raises(name, x0, optimizer, lr, steps):
    f = getattr(F, name)()
    try:
        traj = minimize(f, x0, optimizer=optimizer, steps=steps, lr=lr)
    except ALLOWED:
        return
    assert traj.points.shape[0] == steps + 1
    for tensor in (traj.points, traj.values, traj.gradients):
        assert bool(torch.isfinite(tensor).all())


@settings(derandomize=True, deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=mostly(st.integers(1, 12), st.just(0)),
    features=mostly(st.just(2), st.sampled_from([1, 3])),
    scale=mostly(st.just(1.0), st.sampled_from([1e3, 1e30, float("nan")])),
    optimizer=mostly(st.sampled_from(NAMES)),
    lr=mostly(st.floats(1e-4, 0.1), rate),
    epochs=mostly(st.integers(1, 3), st.one_of(st.integers(-1, 0), anything)),
    batch_size=mostly(st.integers(1, 15), st.one_of(st.integers(-1, 0), anything)),
    with_val=st.booleans(),
    seed=mostly(st.integers(0, 5), st.one_of(st.just(-1), anything)),
)
def test_fit_returns_a_finite_history_or_raises(n, features, scale, optimizer, lr, epochs, batch_size, with_val, seed):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, features, generator=g) * scale
    y = torch.randn(n, 1, generator=g)
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)  # features may not match: that must be a ValueError too
    val = (x, y) if with_val else None
    try:
        history = fit(
            model, torch.nn.functional.mse_loss, (x, y), val, optimizer=optimizer, lr=lr, epochs=epochs,
            batch_size=batch_size, seed=seed,
        )  # fmt: skip
    except ALLOWED:
        return
    assert len(history.train_loss) == epochs
    assert all_finite(history.train_loss + history.val_loss + history.step_loss + history.lr + history.time)
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())


def test_fuzz_uses_the_engine_for_real():
    # the properties above would pass vacuously if every call raised: check that valid calls succeed
    assert len(S.lr_sequence(lambda o: S.StepLR(o, step_size=2), 5)) == 5
    assert len(minimize(F.beale(), [1.0, 1.0], optimizer="Adam", steps=3, lr=0.1)) == 4
    x = torch.randn(6, 2)
    assert len(fit(torch.nn.Linear(2, 1), torch.nn.functional.mse_loss, (x, x[:, :1]), lr=0.1).train_loss) == 1
    with pytest.raises(ValueError, match="name"):
        minimize(F.beale(), [1.0, 1.0], optimizer="newton")
