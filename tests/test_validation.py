"""lib.validation: the checks every public function relies on."""

import numpy as np
import pytest
import torch

from lib.validation import as_finite_tensor, check_int, check_real


@pytest.mark.parametrize(
    ("value", "kwargs", "error"),
    [
        ("1", {}, TypeError),
        (True, {}, TypeError),
        (None, {}, TypeError),
        (float("nan"), {}, ValueError),
        (float("inf"), {}, ValueError),
        (-0.1, {"low": 0.0}, ValueError),
        (0.0, {"low": 0.0, "low_open": True}, ValueError),
        (1.0, {"high": 1.0, "high_open": True}, ValueError),
        (2.0, {"high": 1.0}, ValueError),
        (torch.ones(2), {}, TypeError),
    ],
)
def test_check_real_rejects(value, kwargs, error):
    with pytest.raises(error, match="lr"):
        check_real("lr", value, **kwargs)


def test_check_real_accepts_numbers_and_scalar_tensors():
    assert check_real("lr", 1) == 1.0
    assert check_real("lr", np.float32(0.5)) == 0.5
    assert check_real("lr", torch.tensor(0.25)) == 0.25
    assert check_real("lr", 0.0, low=0.0) == 0.0


def test_check_int():
    assert check_int("steps", np.int64(3), low=0) == 3
    with pytest.raises(TypeError, match="steps"):
        check_int("steps", 3.0)
    with pytest.raises(ValueError, match="steps"):
        check_int("steps", -1, low=0)


def test_as_finite_tensor():
    t = as_finite_tensor("x", [[1, 2], [3, 4]], dtype=torch.float64, ndim=2)
    assert t.dtype == torch.float64
    assert t.shape == (2, 2)
    with pytest.raises(ValueError, match="x must have 1 dimension"):
        as_finite_tensor("x", [[1.0]], ndim=1)
    with pytest.raises(ValueError, match="finite"):
        as_finite_tensor("x", [1.0, float("inf")])
    with pytest.raises(TypeError, match="x"):
        as_finite_tensor("x", ["a", "b"])
    with pytest.raises(TypeError, match="x"):
        as_finite_tensor("x", torch.tensor([1 + 2j]))
