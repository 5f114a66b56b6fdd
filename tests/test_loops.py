"""lib.loops: what fit and minimize build and step, and how they report divergence."""

import pytest
import torch

from lib import loops, optimizers, schedules


def leaf():
    return torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("optimizer", ["adam", optimizers.Adam, lambda params, **kw: optimizers.Adam(params, **kw)])
def test_build_takes_a_name_a_class_or_a_factory_and_the_loop_reports_divergence_itself(optimizer):
    opt, sched = loops.build(optimizer, [leaf()], {"lr": 0.1}, lambda o: schedules.StepLR(o, step_size=2))
    assert isinstance(opt, optimizers.Adam)
    assert opt.param_groups[0]["lr"] == 0.1
    assert opt.check_finite is False
    assert isinstance(sched, schedules.StepLR)
    assert sched.optimizer is opt


def test_build_without_a_scheduler_and_with_torch_optimizers():
    opt, sched = loops.build(torch.optim.SGD, [leaf()], {"lr": 0.5})
    assert type(opt) is torch.optim.SGD
    assert sched is None


@pytest.mark.parametrize(
    ("scheduler", "error"), [(3, TypeError), (lambda o: 3, TypeError), ("StepLR", TypeError), ("warmup", ValueError)]
)
def test_a_bad_scheduler_names_the_loops_argument(scheduler, error):
    with pytest.raises(error, match=r"^scheduler: "):
        loops.build("sgd", [leaf()], {"lr": 0.1}, scheduler)


def test_step_gives_a_plateau_schedule_the_metric_as_torch_does():
    metrics = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    ours_param, torch_param = leaf(), leaf()
    opt, sched = loops.build("sgd", [ours_param], {"lr": 1.0}, lambda o: schedules.ReduceLROnPlateau(o, patience=1))
    reference = torch.optim.SGD([torch_param], lr=1.0)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(reference, patience=1)
    for metric in metrics:
        loops.step(opt, sched, None, metric)
        reference.step()
        plateau.step(metric)
        assert opt.param_groups[0]["lr"] == reference.param_groups[0]["lr"]
    assert opt.param_groups[0]["lr"] < 1.0


def test_step_hands_lbfgs_the_closure():
    x = leaf()
    opt, _ = loops.build(torch.optim.LBFGS, [x], {"lr": 1.0})
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        value = (x**2).sum()
        value.backward()
        return value

    loops.step(opt, None, closure, 0.0)
    assert calls
    assert float((x.detach() ** 2).sum()) < 1e-8


@pytest.mark.parametrize(("last", "said"), [(2.5, "last finite loss: 2.5"), (None, "no finite loss before it")])
def test_diverged_names_what_where_and_the_last_finite_value(last, said):
    err = loops.diverged("the loss became nan", "step 7 (epoch 2, batch 3)", 7, last, value="loss")
    assert isinstance(err, ValueError)
    assert err.step == 7
    assert err.last_finite == last
    assert str(err).startswith("diverged: the loss became nan at step 7 (epoch 2, batch 3); ")
    assert said in str(err)
    assert "smaller learning rate" in str(err)
