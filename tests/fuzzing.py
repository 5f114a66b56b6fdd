"""Hypothesis settings and strategies for the property tests of the lib modules' inputs.

Each module's test file holds its own property: whatever the arguments, a public
function either returns finite numbers or raises ValueError/TypeError
(DivergenceError is a ValueError), never another exception, never a silent NaN.
"""

import math

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from lib import functions as F

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


def finite_numbers(values) -> bool:
    return all(math.isfinite(float(v)) for v in values)


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
