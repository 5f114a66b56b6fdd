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


DTYPES = [torch.float64, torch.float32, torch.bfloat16, torch.int64, torch.bool, torch.complex64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(), (1,), (2,), (8,), (3, 3), (50,)])
def test_all_finite_agrees_with_torch_on_small_and_large_tensors(dtype, size):
    from lib.validation import all_finite

    generator = torch.Generator().manual_seed(0)
    for trial in range(20):
        values = torch.randn(size, generator=generator, dtype=torch.float64) * 10.0 ** (trial % 5)
        if values.numel() and trial % 3 == 1:
            values.view(-1)[trial % values.numel()] = (float("nan"), float("inf"), -float("inf"))[(trial // 3) % 3]
        tensor = values.to(dtype) if dtype not in (torch.int64, torch.bool) or values.isfinite().all() else values
        expected = bool(torch.isfinite(tensor).all())
        assert all_finite(tensor) == expected, (dtype, size, tensor)
        assert all_finite(tensor.requires_grad_(tensor.is_floating_point())) == expected
