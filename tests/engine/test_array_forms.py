"""The array forms of the built-in rules: the scalar forms' results elementwise, bit for bit
where IEEE 754 makes them exact, within the measured ulp bound of docs/batch.md elsewhere;
the scalar conventions (kinks, masks, signed zeros, nan); NumPy imported only on use."""

from __future__ import annotations

import itertools
import math
import struct
import subprocess
import sys
import warnings
from typing import Any

import pytest

import fnad
from fnad._internal import float_partials, run_forward
from fnad.engine.rules import Rule, array_errors

np: Any = pytest.importorskip("numpy")

# op: (forward, partials) — the largest difference in ulps from the scalar forms that the
# tests allow; 0 is bit for bit. The table in docs/batch.md gives these and what was
# measured on the grid below (NumPy 2.4, x86-64 with AVX-512).
BOUNDS: dict[str, tuple[int, int]] = {
    # exact: IEEE 754 rounds these once (or not at all), as the scalar forms do
    "abs": (0, 0),
    "add": (0, 0),
    "ceil": (0, 0),
    "erf": (0, 4),  # forward: math.erf per element (NumPy has none)
    "floor": (0, 0),
    "fmod": (0, 0),
    "identity": (0, 0),
    "leaky_relu": (0, 0),
    "maximum": (0, 0),
    "minimum": (0, 0),
    "mod": (0, 0),
    "mul": (0, 0),
    "neg": (0, 0),
    "relu": (0, 0),
    "sign": (0, 0),
    "sqrt": (0, 0),
    "sub": (0, 0),
    "truediv": (0, 0),
    # NumPy's own (SIMD) elementary functions against the C library's
    "acos": (4, 4),
    "acosh": (4, 4),
    "asin": (4, 4),
    "asinh": (4, 4),
    "atan": (4, 4),
    "atan2": (4, 8),
    "atanh": (4, 4),
    "cos": (4, 4),
    "cosh": (4, 4),
    "exp": (4, 4),
    "exp2": (4, 4),
    "expm1": (4, 4),
    "gelu": (4, 128),  # ∂: Φ(x) + x·φ(x) cancels where x < 0
    "hypot": (4, 4),
    "log": (4, 4),
    "log10": (4, 4),
    "log1p": (4, 4),
    "log2": (4, 4),
    "pow": (4, 4),
    "sigmoid": (4, 4),
    "silu": (4, 64),  # ∂: σ(x)·(1 + x·(1 - σ(x))) cancels where x < 0
    "sin": (4, 4),
    "sinh": (4, 4),
    "softplus": (4, 4),
    "tan": (4, 4),
    "tanh": (4, 4),
}

SPECIAL = [
    *(0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 0.999, 1.001, 0.1, 3.5, -7.25),
    *(1e-300, -1e-300, 5e-324, 1e300, -1e300, 1e-8, 1e16, 2.0**53 + 2, 20.0, -20.0),
    *(700.0, 710.0, -745.0, math.inf, -math.inf, math.nan),
]
_rng = np.random.default_rng(1)
GRID = [
    *SPECIAL,
    *_rng.uniform(-10, 10, 3000).tolist(),
    *_rng.uniform(-1, 1, 1000).tolist(),
    *(np.exp(_rng.uniform(-40, 40, 1000)) * _rng.choice([-1, 1], 1000)).tolist(),
]
GRID2 = [
    *SPECIAL,
    *_rng.uniform(-5, 5, 40).tolist(),
    *(np.exp(_rng.uniform(-20, 20, 14)) * _rng.choice([-1, 1], 14)).tolist(),
]


def ordered(x: float) -> int:
    """The float's position on the number line, in ulps (integers that order like floats)."""
    bits: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & 0x7FFFFFFFFFFFFFFF)


def ulps(a: float, b: float) -> float:
    """How many floats apart ``a`` and ``b`` are; 0 for two nans; inf if only one is nan or
    inf, or for zeros of opposite signs."""
    if a != a or b != b:
        return 0 if (a != a and b != b) else math.inf
    if math.isinf(a) or math.isinf(b):
        return 0 if a == b else math.inf
    if a == b:
        return 0 if math.copysign(1.0, a) == math.copysign(1.0, b) else math.inf
    return abs(ordered(a) - ordered(b))


def test_ulps() -> None:
    assert ulps(1.0, math.nextafter(1.0, 2.0)) == 1 and ulps(-0.0, 0.0) == math.inf
    assert ulps(5e-324, -5e-324) == 2 and ulps(math.nan, math.nan) == 0
    assert ulps(math.inf, 1e308) == math.inf


def points_of(rule: Rule) -> list[tuple[float, ...]]:
    grid = GRID if rule.arity == 1 else GRID2
    return [tuple(p) for p in itertools.product(grid, repeat=rule.arity)]


def largest_differences(rule: Rule) -> tuple[float, float, tuple[float, ...], tuple[float, ...]]:
    """The largest ulp difference of the forward form and of the partials over the grid,
    and where; the partials of both forms are evaluated at the scalar output."""
    points = points_of(rule)
    columns = [np.array(c, dtype=np.float64) for c in zip(*points, strict=False)]
    outs = [run_forward(rule, p) for p in points]
    assert rule.array_forward is not None and rule.array_partials is not None
    with array_errors():
        forward = np.broadcast_to(rule.array_forward(*columns), (len(points),)).tolist()
        parts = rule.array_partials(*columns, np.array(outs))
    arrays = [np.broadcast_to(np.asarray(p, np.float64), (len(points),)).tolist() for p in parts]
    worst_forward, worst_partials = 0.0, 0.0
    where_forward: tuple[float, ...] = ()
    where_partials: tuple[float, ...] = ()
    for k, point in enumerate(points):
        d = ulps(outs[k], forward[k])
        if d > worst_forward:
            worst_forward, where_forward = d, point
        for array, scalar in zip(
            (a[k] for a in arrays), float_partials(rule, point, outs[k]), strict=True
        ):
            d = ulps(scalar, array)
            if d > worst_partials:
                worst_partials, where_partials = d, point
    return worst_forward, worst_partials, where_forward, where_partials


def test_every_builtin_op_has_array_forms_and_a_bound() -> None:
    table = fnad.builtin_rules()
    assert sorted(BOUNDS) == sorted(table)
    for name in table:
        assert table[name].array_forward is not None, name
        assert table[name].array_partials is not None, name


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_array_forms_equal_the_scalar_forms_within_the_bound(name: str) -> None:
    forward, partials, where_forward, where_partials = largest_differences(
        fnad.builtin_rules()[name]
    )
    bound_forward, bound_partials = BOUNDS[name]
    assert forward <= bound_forward, (name, "forward", forward, where_forward)
    assert partials <= bound_partials, (name, "partials", partials, where_partials)


def test_scalar_conventions_elementwise() -> None:
    rules = fnad.builtin_rules()
    x = np.array([0.0, -0.0, math.nan, -2.0, 3.0])
    with array_errors():
        relu = rules["relu"]
        assert relu.array_partials is not None and relu.array_forward is not None
        assert relu.array_partials(x, relu.array_forward(x))[0].tolist()[:4] == [0, 0, 1, 0]
        out = relu.array_forward(x)
        assert math.copysign(1.0, out[1]) == -1.0 and math.isnan(out[2])  # -0.0 and nan stay
        abs_ = rules["abs"]
        assert abs_.array_partials is not None
        assert abs_.array_partials(x, np.abs(x))[0].tolist() == [0.0, 0.0, 0.0, -1.0, 1.0]
        pow_ = rules["pow"]
        assert pow_.array_partials is not None and pow_.array_forward is not None
        a, b = np.array([0.0, 0.0, math.nan, -8.0]), np.array([0.0, 2.0, 0.0, 1 / 3])
        d_base, d_exponent = pow_.array_partials(a, b, pow_.array_forward(a, b))
        assert d_base.tolist()[:3] == [0.0, 0.0, 0.0]  # masked where b·a^(b-1) is 0·inf
        assert d_exponent.tolist()[:2] == [0.0, 0.0] and math.isnan(d_exponent[3])
        assert math.isnan(pow_.array_forward(a, b)[3])  # a negative base to a fraction
        tie = rules["minimum"]
        assert tie.array_partials is not None
        parts = tie.array_partials(np.array([1.0, 1.0]), np.array([1.0, 2.0]), None)
        assert [p.tolist() for p in parts] == [[0.5, 1.0], [0.5, 0.0]]


def test_array_forms_raise_no_warnings_under_array_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, rule in fnad.builtin_rules().items():
            columns = [np.array(c) for c in zip(*points_of(rule)[:400], strict=False)]
            with array_errors():
                assert rule.array_forward is not None and rule.array_partials is not None
                rule.array_partials(*columns, rule.array_forward(*columns)), name


def test_importing_fnad_imports_no_numpy() -> None:
    code = (
        "import sys, fnad; fnad.compile(lambda x: x.exp(), 1.0)(2.0); print('numpy' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "False"


def test_array_forms_are_validated_like_the_scalar_ones() -> None:
    with pytest.raises(fnad.RuleError, match="array_forward must be callable"):
        Rule("demo.f", 1, lambda x: x, lambda x, out: (1.0,), array_forward=3)  # type: ignore[arg-type]
    with pytest.raises(
        fnad.RuleError, match=r"its array_partials cannot be called with 2 positional"
    ):
        Rule("demo.f", 1, lambda x: x, lambda x, out: (1.0,), array_partials=lambda x: (1.0,))
