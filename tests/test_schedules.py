"""lib.schedules against torch.optim.lr_scheduler: the same learning rates, step for step, on many settings."""

import math
import random

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.optim import lr_scheduler as ref

from lib import schedules as ours
from tests.fuzzing import ALLOWED, FUZZ, anything, finite_numbers, rate, small_int

SETTINGS = 60  # random settings per schedule, one test each (the seed of test k is 1000 k + setting)
REL = 1e-12


def make_optimizer(lrs, kind="sgd"):
    params = [torch.zeros(2, requires_grad=True) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lrs[0])
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def momenta(optimizer):
    if "betas" in optimizer.defaults:
        return [g["betas"][0] for g in optimizer.param_groups]
    return [g["momentum"] for g in optimizer.param_groups]


def trace(factory, lrs, steps, kind="sgd", metrics=None):
    """Per step: the groups' rates, their momenta, get_last_lr() and last_epoch."""
    optimizer = make_optimizer(lrs, kind)
    scheduler = factory(optimizer)
    rows = []
    for t in range(steps):
        rows.append(([float(g["lr"]) for g in optimizer.param_groups], momenta(optimizer), scheduler.get_last_lr()))
        optimizer.step()
        scheduler.step() if metrics is None else scheduler.step(metrics[t])
    return rows, scheduler.last_epoch


def assert_close(a, b, rel=REL):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert math.isclose(x, y, rel_tol=rel, abs_tol=1e-300), (x, y)


def assert_same_trace(ours_factory, ref_factory, lrs, steps, kind="sgd", metrics=None):
    (mine, my_epoch), (theirs, their_epoch) = (
        trace(ours_factory, lrs, steps, kind, metrics),
        trace(ref_factory, lrs, steps, kind, metrics),
    )
    for (lr_a, mom_a, last_a), (lr_b, mom_b, last_b) in zip(mine, theirs, strict=True):
        assert_close(lr_a, lr_b)
        assert_close(last_a, [float(v) for v in last_b])
        assert_close(lr_a, last_a)
        assert_close(mom_a, mom_b)
    assert my_epoch == their_epoch


def random_lrs(rng):
    return [10 ** rng.uniform(-4, 0.5) for _ in range(rng.choice([1, 1, 2]))]


def multistep_kwargs(rng):
    milestones = sorted(rng.sample(range(0, 300), rng.randint(0, 6)))
    if milestones and rng.random() < 0.3:
        milestones.append(milestones[-1])  # a repeated milestone counts twice
    return {"milestones": milestones, "gamma": rng.uniform(0.05, 1.0)}


def linear_kwargs(rng):
    start, end = rng.uniform(0.01, 1.0), rng.choice([1.0, 0.0, rng.uniform(0.0, 1.0)])
    return {"start_factor": start, "end_factor": end, "total_iters": rng.randint(1, 200)}


# Schedules with torch's name and arguments: (the arguments drawn, then the number of steps drawn).
NAMESAKES = {
    "StepLR": (
        lambda rng: {"step_size": rng.randint(1, 40), "gamma": rng.uniform(0.05, 1.0)},
        lambda rng, kwargs: rng.randint(1, 400),
    ),
    "MultiStepLR": (multistep_kwargs, lambda rng, kwargs: rng.randint(1, 400)),
    "ExponentialLR": (
        lambda rng: {
            "gamma": rng.choice([rng.uniform(0.9, 1.0), rng.uniform(0.5, 1.0), rng.uniform(1.0, 1.05), 0.995])
        },
        lambda rng, kwargs: rng.randint(1, 1000),
    ),
    "PolynomialLR": (
        lambda rng: {"total_iters": rng.randint(1, 300), "power": rng.choice([1.0, 2.0, 0.5, rng.uniform(0.1, 4.0)])},
        lambda rng, kwargs: rng.randint(1, 400),
    ),
    "CosineAnnealingLR": (
        lambda rng: {"T_max": rng.randint(1, 200), "eta_min": rng.choice([0.0, 10 ** rng.uniform(-6, -2)])},
        lambda rng, kwargs: rng.randint(1, 3 * kwargs["T_max"] + 2),  # past T_max the cosine climbs back up
    ),
    "LinearLR": (linear_kwargs, lambda rng, kwargs: rng.randint(1, 300)),
}


@pytest.mark.parametrize("seed", range(SETTINGS))
@pytest.mark.parametrize("name", NAMESAKES)
def test_matches_its_torch_namesake(name, seed):
    rng = random.Random(1000 * (1 + list(NAMESAKES).index(name)) + seed)
    draw_kwargs, draw_steps = NAMESAKES[name]
    kwargs = draw_kwargs(rng)
    lrs = random_lrs(rng)
    assert_same_trace(
        lambda o: getattr(ours, name)(o, **kwargs),
        lambda o: getattr(ref, name)(o, **kwargs),
        lrs,
        draw_steps(rng, kwargs),
    )


@pytest.mark.parametrize("seed", range(SETTINGS))
def test_warmup_cosine_matches_lambda_lr_closed_form(seed):
    rng = random.Random(1000 * 7 + seed)
    warmup = rng.choice([0, rng.randint(1, 50)])
    total = warmup + rng.randint(1, 200)
    eta_min = rng.choice([0.0, 1e-5])
    lrs = random_lrs(rng)

    def factors(base, w=warmup, total=total, eta_min=eta_min):
        def f(t):
            if t < w:
                return t / w
            s = min(t, total)
            return (eta_min + (base - eta_min) * 0.5 * (1 + math.cos(math.pi * (s - w) / (total - w)))) / base

        return f

    assert_same_trace(
        lambda o, w=warmup, t=total, e=eta_min: ours.WarmupCosineLR(o, warmup_steps=w, total_steps=t, eta_min=e),
        lambda o, lrs=lrs: ref.LambdaLR(o, [factors(b) for b in lrs]),
        lrs,
        rng.randint(1, total + 50),
    )


@pytest.mark.parametrize("seed", range(SETTINGS))
def test_warmup_cosine_matches_sequential_linear_then_cosine_after_warmup(seed):
    # torch's LinearLR cannot start from 0, so compare from the end of the warm-up on:
    # SequentialLR([LinearLR, CosineAnnealingLR]) is PyTorch's usual spelling of this schedule.
    rng = random.Random(1000 * 8 + seed)
    warmup, cosine = rng.randint(1, 40), rng.randint(1, 150)
    lrs = random_lrs(rng)

    def sequential(o, w=warmup, c=cosine):
        warm = ref.LinearLR(o, start_factor=1e-3, end_factor=1.0, total_iters=w)
        cos = ref.CosineAnnealingLR(o, T_max=c)
        return ref.SequentialLR(o, [warm, cos], milestones=[w])

    mine, _ = trace(lambda o, w=warmup, c=cosine: ours.WarmupCosineLR(o, w, w + c), lrs, warmup + cosine + 1)
    theirs, _ = trace(sequential, lrs, warmup + cosine + 1)
    for (lr_a, _, _), (lr_b, _, _) in zip(mine[warmup:], theirs[warmup:], strict=True):
        assert_close(lr_a, lr_b)


@pytest.mark.parametrize("seed", range(SETTINGS))
def test_inverse_sqrt_matches_lambda_lr_closed_form(seed):
    rng = random.Random(1000 * 9 + seed)
    warmup = rng.randint(1, 60)
    assert_same_trace(
        lambda o, w=warmup: ours.InverseSqrtLR(o, warmup_steps=w),
        lambda o, w=warmup: ref.LambdaLR(o, lambda t: min((t + 1) / w, (w / (t + 1)) ** 0.5)),
        random_lrs(rng),
        rng.randint(1, 400),
    )


@pytest.mark.parametrize("seed", range(SETTINGS))
def test_cosine_and_linear_recursions_follow_their_closed_forms_up_to_rounding(seed):
    rng = random.Random(1000 * 12 + seed)
    base, t_max, eta_min = 10 ** rng.uniform(-3, 0), rng.randint(1, 300), rng.choice([0.0, 1e-4])
    rates = ours.lr_sequence(
        lambda o, t=t_max, e=eta_min: ours.CosineAnnealingLR(o, T_max=t, eta_min=e), 3 * t_max, base
    )
    closed = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2 for t in range(3 * t_max)]
    errors = [abs(a - b) for a, b in zip(rates, closed, strict=True)]
    assert max(errors[: t_max + 1]) < 1e-14 * base  # the first half cosine
    assert max(errors) < 1e-11 * base  # climbing back up, the recursion's rounding errors grow
    start, end, total = rng.uniform(0.01, 1), rng.uniform(0, 1), rng.randint(1, 300)
    factory = lambda o, s=start, e=end, n=total: ours.LinearLR(o, start_factor=s, end_factor=e, total_iters=n)  # noqa: E731
    rates = ours.lr_sequence(factory, total + 10, base)
    closed = [base * (start + (end - start) * min(t, total) / total) for t in range(total + 10)]
    assert max(abs(a - b) for a, b in zip(rates, closed, strict=True)) < 1e-14 * base


def test_inverse_sqrt_shape():
    rates = ours.lr_sequence(lambda o: ours.InverseSqrtLR(o, warmup_steps=4), 20, lr=2.0)
    assert rates[:4] == pytest.approx([0.5, 1.0, 1.5, 2.0], rel=1e-15)
    assert max(rates) == rates[3]
    assert rates[15] == pytest.approx(2.0 * math.sqrt(4 / 16), rel=1e-15)


def one_cycle_kwargs(rng):
    kwargs = {
        "pct_start": rng.choice([0.3, 0.25, rng.uniform(0.05, 0.5)]),
        "anneal_strategy": rng.choice(["cos", "linear"]),
        "three_phase": rng.random() < 0.5,
        "div_factor": rng.uniform(2.0, 50.0),
        "final_div_factor": 10 ** rng.uniform(1, 5),
        "cycle_momentum": rng.random() < 0.7,
        "base_momentum": rng.uniform(0.7, 0.85),
        "max_momentum": rng.uniform(0.85, 0.99),
    }
    if rng.random() < 0.5:
        kwargs["total_steps"] = rng.randint(20, 300)
        total = kwargs["total_steps"]
    else:
        kwargs["epochs"], kwargs["steps_per_epoch"] = rng.randint(2, 10), rng.randint(5, 30)
        total = kwargs["epochs"] * kwargs["steps_per_epoch"]
    return kwargs, total


@pytest.mark.parametrize("seed", range(SETTINGS))
def test_one_cycle_lr(seed):
    rng = random.Random(1000 * 10 + seed)
    kwargs, total = one_cycle_kwargs(rng)
    lrs = random_lrs(rng)
    max_lr = [lr * rng.uniform(1, 10) for lr in lrs] if len(lrs) > 1 and rng.random() < 0.5 else 0.5
    kind = rng.choice(["sgd", "adam"])
    if math.isclose(kwargs["pct_start"] * total, 1.0) or math.isclose(2 * kwargs["pct_start"] * total, 2.0):
        pytest.skip("a zero-length phase: torch divides by zero, lib raises ValueError (tested below)")
    assert_same_trace(
        lambda o, m=max_lr, k=kwargs: ours.OneCycleLR(o, max_lr=m, **k),
        lambda o, m=max_lr, k=kwargs: ref.OneCycleLR(o, max_lr=m, **k),
        lrs,
        total,
        kind=kind,
    )


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = make_optimizer([0.1])
    sched = ours.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    for _ in range(10):
        sched.step()
    with pytest.raises(ValueError, match="total_steps"):
        sched.step()


def test_one_cycle_zero_length_phase_is_a_value_error():
    with pytest.raises(ValueError, match="pct_start"):
        ours.OneCycleLR(make_optimizer([0.1]), max_lr=1.0, total_steps=10, pct_start=0.1)


@pytest.mark.parametrize("seed", range(SETTINGS))
def test_reduce_on_plateau(seed):
    rng = random.Random(1000 * 11 + seed)
    kwargs = {
        "mode": rng.choice(["min", "max"]),
        "factor": rng.uniform(0.1, 0.9),
        "patience": rng.randint(0, 6),
        "threshold": rng.choice([0.0, 1e-4, rng.uniform(0, 0.1)]),
        "threshold_mode": rng.choice(["rel", "abs"]),
        "cooldown": rng.randint(0, 4),
        "eps": rng.choice([1e-8, 0.0, 1e-3]),
    }
    lrs = random_lrs(rng)
    kwargs["min_lr"] = rng.choice([0.0, 1e-4, [1e-5] * len(lrs)])
    steps = rng.randint(1, 150)
    # a noisy, sometimes stalling curve: a random walk with plateaus
    value, metrics = rng.uniform(-2, 2), []
    for _ in range(steps):
        value += rng.choice([0.0, 0.0, rng.gauss(0, 0.1), -abs(rng.gauss(0, 0.05))])
        metrics.append(value)
    assert_same_trace(
        lambda o, k=kwargs: ours.ReduceLROnPlateau(o, **k),
        lambda o, k=kwargs: ref.ReduceLROnPlateau(o, **k),
        lrs,
        steps,
        metrics=metrics,
    )


def test_reduce_on_plateau_waits_for_patience():
    opt = make_optimizer([1.0])
    sched = ours.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    for metric in [1.0, 1.0, 1.0]:
        sched.step(metric)
    assert sched.get_last_lr() == [1.0]  # two bad steps: patience not exceeded yet
    sched.step(1.0)
    assert sched.get_last_lr() == [0.5]


def test_reduce_on_plateau_rejects_nan_metric():
    sched = ours.ReduceLROnPlateau(make_optimizer([1.0]))
    with pytest.raises(ValueError, match="metrics"):
        sched.step(float("nan"))


FACTORIES = {
    "StepLR": lambda o: ours.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda o: ours.MultiStepLR(o, milestones=[3, 9, 9, 20], gamma=0.3),
    "ExponentialLR": lambda o: ours.ExponentialLR(o, gamma=0.95),
    "PolynomialLR": lambda o: ours.PolynomialLR(o, total_iters=25, power=2.0),
    "CosineAnnealingLR": lambda o: ours.CosineAnnealingLR(o, T_max=17, eta_min=1e-3),
    "LinearLR": lambda o: ours.LinearLR(o, start_factor=0.1, total_iters=12),
    "WarmupCosineLR": lambda o: ours.WarmupCosineLR(o, warmup_steps=5, total_steps=30),
    "InverseSqrtLR": lambda o: ours.InverseSqrtLR(o, warmup_steps=6),
    "OneCycleLR": lambda o: ours.OneCycleLR(o, max_lr=2.0, total_steps=40, three_phase=True),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_state_dict_round_trip_resumes_the_same_sequence(name):
    factory = FACTORIES[name]
    full, _ = trace(factory, [0.3, 0.1], 40)
    opt = make_optimizer([0.3, 0.1])
    sched = factory(opt)
    for _ in range(15):
        opt.step()
        sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    opt2 = make_optimizer([0.3, 0.1])
    sched2 = factory(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    assert sched2.last_epoch == 15
    for t in range(15, 39):
        assert_close([float(g["lr"]) for g in opt2.param_groups], full[t][0])
        opt2.step()
        sched2.step()


def test_state_dict_round_trip_plateau():
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    opt = make_optimizer([1.0])
    sched = ours.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
    for m in metrics[:4]:
        sched.step(m)
    opt2 = make_optimizer([1.0])
    sched2 = ours.ReduceLROnPlateau(opt2, factor=0.5, patience=1, cooldown=1)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    for m in metrics[4:]:
        sched.step(m)
        sched2.step(m)
        assert sched.get_last_lr() == sched2.get_last_lr()
    assert sched.num_bad_epochs == sched2.num_bad_epochs


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (ours.CosineAnnealingLR, ref.CosineAnnealingLR),
        (ours.LinearLR, ref.LinearLR),
        (ours.StepLR, ref.StepLR),
    ],
)
def test_resume_with_last_epoch_like_torch(mine, theirs):
    kwargs = {"CosineAnnealingLR": {"T_max": 50}, "LinearLR": {"total_iters": 30}, "StepLR": {"step_size": 4}}
    rows = []
    for cls in (mine, theirs):
        opt = make_optimizer([0.2])
        sched = cls(opt, **kwargs[cls.__name__])
        for _ in range(12):
            opt.step()
            sched.step()
        resumed = cls(opt, **kwargs[cls.__name__], last_epoch=12)
        row = [resumed.last_epoch]
        for _ in range(20):
            row.append(float(opt.param_groups[0]["lr"]))
            opt.step()
            resumed.step()
        rows.append(row)
    assert rows[0][0] == rows[1][0] == 13
    assert_close(rows[0][1:], rows[1][1:])


def test_tensor_learning_rate_is_updated_in_place():
    p = torch.zeros(1, requires_grad=True)
    lr = torch.tensor(0.5)
    opt = torch.optim.SGD([p], lr=lr)
    sched = ours.StepLR(opt, step_size=1, gamma=0.5)
    sched.step()
    assert opt.param_groups[0]["lr"] is lr
    assert float(lr) == 0.125 * 2


def test_lr_sequence_matches_a_manual_loop_and_torch():
    got = ours.lr_sequence(lambda o: ours.StepLR(o, step_size=3, gamma=0.5), 10, lr=0.8)
    assert got == pytest.approx([0.8 * 0.5 ** (t // 3) for t in range(10)], rel=1e-15)
    theirs = ours.lr_sequence(lambda o: ref.StepLR(o, step_size=3, gamma=0.5), 10, lr=0.8)
    assert_close(got, theirs)
    assert ours.lr_sequence(lambda o: ours.StepLR(o, step_size=3), 0) == []


def test_lr_sequence_with_a_plateau_needs_metrics():
    factory = lambda o: ours.ReduceLROnPlateau(o, patience=0, factor=0.5)  # noqa: E731
    with pytest.raises(TypeError, match="metrics"):
        ours.lr_sequence(factory, 5)
    assert ours.lr_sequence(factory, 4, metrics=[1.0, 2.0, 3.0]) == [1.0, 1.0, 0.5, 0.25]
    with pytest.raises(ValueError, match="metrics"):
        ours.lr_sequence(factory, 5, metrics=[1.0])


def test_exponential_growth_that_overflows_is_an_error_not_inf():
    with pytest.raises(ValueError, match="non-finite"):
        ours.lr_sequence(lambda o: ours.ExponentialLR(o, gamma=1e10), 50)


# --- bad input: one test per rule, each naming the argument -------------------------------------------

BAD = [
    (lambda o: ours.StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: ours.StepLR(o, step_size=2.5), TypeError, "step_size"),
    (lambda o: ours.StepLR(o, step_size=2, gamma=-0.1), ValueError, "gamma"),
    (lambda o: ours.StepLR(o, step_size=2, gamma=float("nan")), ValueError, "gamma"),
    (lambda o: ours.StepLR(o, step_size=2, gamma="0.1"), TypeError, "gamma"),
    (lambda o: ours.MultiStepLR(o, milestones=5), TypeError, "milestones"),
    (lambda o: ours.MultiStepLR(o, milestones=[3, -1]), ValueError, "milestones"),
    (lambda o: ours.MultiStepLR(o, milestones="12"), TypeError, "milestones"),
    (lambda o: ours.ExponentialLR(o, gamma=0.0), ValueError, "gamma"),
    (lambda o: ours.ExponentialLR(o, gamma=float("inf")), ValueError, "gamma"),
    (lambda o: ours.PolynomialLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: ours.PolynomialLR(o, power=-1.0), ValueError, "power"),
    (lambda o: ours.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: ours.CosineAnnealingLR(o, T_max=5, eta_min=-1e-3), ValueError, "eta_min"),
    (lambda o: ours.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: ours.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
    (lambda o: ours.LinearLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: ours.WarmupCosineLR(o, warmup_steps=-1, total_steps=10), ValueError, "warmup_steps"),
    (lambda o: ours.WarmupCosineLR(o, warmup_steps=10, total_steps=10), ValueError, "total_steps"),
    (lambda o: ours.WarmupCosineLR(o, warmup_steps=2, total_steps=10, eta_min=float("nan")), ValueError, "eta_min"),
    (lambda o: ours.InverseSqrtLR(o, warmup_steps=0), ValueError, "warmup_steps"),
    (lambda o: ours.OneCycleLR(o, max_lr=-1.0, total_steps=10), ValueError, "max_lr"),
    (lambda o: ours.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=10), ValueError, "max_lr"),
    (lambda o: ours.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps"),
    (lambda o: ours.OneCycleLR(o, max_lr=1.0, total_steps=0), ValueError, "total_steps"),
    (lambda o: ours.OneCycleLR(o, max_lr=1.0, epochs=0, steps_per_epoch=3), ValueError, "epochs"),
    (lambda o: ours.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: ours.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
    (lambda o: ours.OneCycleLR(o, max_lr=1.0, total_steps=10, three_phase=1), TypeError, "three_phase"),
    (lambda o: ours.OneCycleLR(o, max_lr=1.0, total_steps=10, div_factor=0), ValueError, "div_factor"),
    (lambda o: ours.OneCycleLR(o, max_lr=1.0, total_steps=10, max_momentum=1.5), ValueError, "max_momentum"),
    (lambda o: ours.ReduceLROnPlateau(o, mode="lowest"), ValueError, "mode"),
    (lambda o: ours.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: ours.ReduceLROnPlateau(o, patience=-1), ValueError, "patience"),
    (lambda o: ours.ReduceLROnPlateau(o, threshold_mode="relative"), ValueError, "threshold_mode"),
    (lambda o: ours.ReduceLROnPlateau(o, min_lr=[0.0, 0.0]), ValueError, "min_lr"),
    (lambda o: ours.ReduceLROnPlateau(o, cooldown=1.0), TypeError, "cooldown"),
    (lambda o: ours.StepLR(o, step_size=3, last_epoch=-2), ValueError, "last_epoch"),
    (lambda o: ours.StepLR(o, step_size=3, last_epoch=4), ValueError, "last_epoch"),
]


@pytest.mark.parametrize(("build", "error", "name"), BAD)
def test_bad_arguments_are_named(build, error, name):
    with pytest.raises(error, match=name):
        build(make_optimizer([0.1]))


@pytest.mark.parametrize(
    "cls", [ours.StepLR, ours.ExponentialLR, ours.CosineAnnealingLR, ours.ReduceLROnPlateau, ours.OneCycleLR]
)
def test_optimizer_must_be_an_optimizer(cls):
    with pytest.raises(TypeError, match="optimizer"):
        cls([torch.zeros(1)], 1)


def test_optimizer_without_momentum_cannot_cycle_it():
    opt = torch.optim.Adagrad([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum"):
        ours.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    ours.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)


def test_lr_sequence_bad_arguments():
    with pytest.raises(TypeError, match="scheduler_factory"):
        ours.lr_sequence("StepLR", 10)
    with pytest.raises(ValueError, match="steps"):
        ours.lr_sequence(lambda o: ours.StepLR(o, 2), -1)
    with pytest.raises(ValueError, match="lr"):
        ours.lr_sequence(lambda o: ours.StepLR(o, 2), 5, lr=-0.1)
    with pytest.raises(TypeError, match="scheduler_factory"):
        ours.lr_sequence(lambda o: 3, 5)
    with pytest.raises(TypeError, match="state_dict"):
        ours.StepLR(make_optimizer([0.1]), 2).load_state_dict([1, 2])


# --- create: a name, a class or a factory ---------------------------------------------------------


def test_names_are_the_class_names():
    for name in ours.NAMES:
        cls = getattr(ours, name)
        assert cls.__name__ == name
    assert {"StepLR", "CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau"} <= set(ours.NAMES)


@pytest.mark.parametrize("spelling", ["StepLR", "steplr", " STEPLR "])
def test_create_by_name_in_any_letter_case_gives_the_class_rates(spelling):
    opt = make_optimizer([0.4])
    sched = ours.create(spelling, opt, step_size=2, gamma=0.5)
    assert type(sched) is ours.StepLR
    assert sched.optimizer is opt
    rates = []
    for _ in range(5):
        rates.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
    assert rates == [0.4, 0.4, 0.2, 0.2, 0.1]


@pytest.mark.parametrize(
    ("cls", "kwargs"), [(ours.CosineAnnealingLR, {"T_max": 5}), (ref.LambdaLR, {"lr_lambda": lambda t: 0.5**t})]
)
def test_create_from_a_class_matches_calling_it(cls, kwargs):
    built, _ = trace(lambda o: ours.create(cls, o, **kwargs), [0.3], 8)
    direct, _ = trace(lambda o: cls(o, **kwargs), [0.3], 8)
    assert built == direct


def test_create_from_a_factory_passes_it_the_optimizer_and_arguments():
    calls = []

    def factory(optimizer, **kwargs):
        calls.append((optimizer, kwargs))
        return ours.ExponentialLR(optimizer, **kwargs)

    opt = make_optimizer([0.1])
    sched = ours.create(factory, opt, gamma=0.9)
    assert calls == [(opt, {"gamma": 0.9})]
    assert isinstance(sched, ours.ExponentialLR)
    plateau = ours.create("ReduceLROnPlateau", opt, patience=0, factor=0.5)
    plateau.step(1.0)
    plateau.step(2.0)
    assert plateau.get_last_lr() == [0.05]


@pytest.mark.parametrize(
    ("schedule", "error", "match"),
    [
        (None, TypeError, "schedule must be a name"),
        (7, TypeError, "schedule must be a name"),
        (dict, TypeError, "schedule must be a learning-rate schedule class"),
        ("LambdaLR", ValueError, "torch.optim.lr_scheduler.LambdaLR"),  # not in lib: says how to get torch's
        ("warmup", ValueError, "schedule must be one of the names StepLR"),
        (lambda o: 3, TypeError, "schedule must build a scheduler"),
        (lambda o: ours.StepLR(make_optimizer([0.1]), 2), ValueError, "on the optimizer it is given"),
    ],
)
def test_create_refuses_what_is_not_a_schedule(schedule, error, match):
    with pytest.raises(error, match=match):
        ours.create(schedule, make_optimizer([0.1]))


def test_create_needs_an_optimizer():
    with pytest.raises(TypeError, match="optimizer"):
        ours.create("StepLR", [torch.zeros(1)], step_size=2)


# Property tests: any arguments give finite numbers or a clear error.

SCHEDULES = {
    "StepLR": lambda o, a, b, c: ours.StepLR(o, step_size=a, gamma=b),
    "MultiStepLR": lambda o, a, b, c: ours.MultiStepLR(o, milestones=[a, 3, 7] if isinstance(a, int) else a, gamma=b),
    "ExponentialLR": lambda o, a, b, c: ours.ExponentialLR(o, gamma=b),
    "PolynomialLR": lambda o, a, b, c: ours.PolynomialLR(o, total_iters=a, power=b),
    "CosineAnnealingLR": lambda o, a, b, c: ours.CosineAnnealingLR(o, T_max=a, eta_min=c),
    "LinearLR": lambda o, a, b, c: ours.LinearLR(o, start_factor=b, end_factor=c, total_iters=a),
    "WarmupCosineLR": lambda o, a, b, c: ours.WarmupCosineLR(o, warmup_steps=a, total_steps=40, eta_min=c),
    "InverseSqrtLR": lambda o, a, b, c: ours.InverseSqrtLR(o, warmup_steps=a),
    "OneCycleLR": lambda o, a, b, c: ours.OneCycleLR(o, max_lr=b, total_steps=a, pct_start=c),
    "ReduceLROnPlateau": lambda o, a, b, c: ours.ReduceLROnPlateau(o, factor=b, patience=a, threshold=c),
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
    assert finite_numbers(rates)
    assert finite_numbers([optimizer.param_groups[0]["lr"]])


@FUZZ
@given(steps=small_int, lr=rate, gamma=rate)
def test_lr_sequence_returns_finite_rates_or_raises(steps, lr, gamma):
    try:
        rates = ours.lr_sequence(lambda o: ours.ExponentialLR(o, gamma=gamma), steps, lr=lr)
    except ALLOWED:
        return
    assert len(rates) == steps
    assert finite_numbers(rates)


def test_the_properties_run_valid_calls_for_real():
    # the properties above would pass vacuously if every call raised
    assert len(ours.lr_sequence(lambda o: ours.StepLR(o, step_size=2), 5)) == 5
