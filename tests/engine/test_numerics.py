"""IEEE 754 everywhere (docs/semantics.md, numerics): values and partials, never Python exceptions."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest

import fnad
from fnad import Node, _floats

inf, nan = math.inf, math.nan


def same(actual: float, expected: float) -> bool:
    """Equal, or both nan, with the sign of zero and infinity respected."""
    if math.isnan(expected):
        return math.isnan(actual)
    return actual == expected and math.copysign(1, actual) == math.copysign(1, expected)


# (description, build from leaves, leaf values, expected value, expected gradient per leaf)
CASES: list[tuple[str, Callable[..., Node], tuple[float, ...], float, tuple[float, ...]]] = [
    ("1/0", lambda x: 1 / x, (0.0,), inf, (-inf,)),
    ("-1/0", lambda x: -1 / x, (0.0,), -inf, (inf,)),
    ("1/-0.0", lambda x: 1 / x, (-0.0,), -inf, (-inf,)),
    ("0/0", lambda x, y: x / y, (0.0, 0.0), nan, (inf, nan)),
    ("log(0)", lambda x: x.log(), (0.0,), -inf, (inf,)),
    ("log(-1)", lambda x: x.log(), (-1.0,), nan, (-1.0,)),
    ("sqrt(-1)", lambda x: x.sqrt(), (-1.0,), nan, (nan,)),
    ("sqrt(0)", lambda x: x.sqrt(), (0.0,), 0.0, (inf,)),
    ("exp(710)", lambda x: x.exp(), (710.0,), inf, (inf,)),
    ("exp(-1000)", lambda x: x.exp(), (-1000.0,), 0.0, (0.0,)),
    ("tanh(1000)", lambda x: x.tanh(), (1000.0,), 1.0, (0.0,)),
    ("tanh(-1000)", lambda x: x.tanh(), (-1000.0,), -1.0, (0.0,)),
    ("sigmoid(1000)", lambda x: x.sigmoid(), (1000.0,), 1.0, (0.0,)),
    ("sigmoid(-1000)", lambda x: x.sigmoid(), (-1000.0,), 0.0, (0.0,)),
    ("1e200**2", lambda x: x**2, (1e200,), inf, (2e200,)),
    ("(-1e200)**3", lambda x: x**3, (-1e200,), -inf, (inf,)),
    ("(-8)**(1/3)", lambda x: x ** (1 / 3), (-8.0,), nan, (nan,)),
    ("0**0", lambda x, y: x**y, (0.0, 0.0), 1.0, (0.0, 0.0)),
    ("0**-1", lambda x: x**-1, (0.0,), inf, (-inf,)),
    ("(-2)**3", lambda x: x**3, (-2.0,), -8.0, (12.0,)),
    ("2**x at 1e10", lambda x: 2**x, (1e10,), inf, (inf,)),
    ("x**x at 0", lambda x: x**x, (0.0,), 1.0, (0.0,)),  # both partials masked, as PyTorch
    ("relu'(0)", lambda x: x.relu(), (0.0,), 0.0, (0.0,)),
    ("abs'(0)", lambda x: abs(x), (0.0,), 0.0, (0.0,)),
    ("abs(-0.0)", lambda x: x.abs(), (-0.0,), 0.0, (0.0,)),
    ("relu(nan)", lambda x: x.relu(), (nan,), nan, (1.0,)),  # as PyTorch: 0 only where x <= 0
    ("sin(inf)", lambda x: x.sin(), (inf,), nan, (nan,)),
    ("cos(-inf)", lambda x: x.cos(), (-inf,), nan, (nan,)),
    ("inf - inf", lambda x, y: x - y, (inf, inf), nan, (1.0, -1.0)),
    ("1e308 * 10", lambda x: x * 10, (1e308,), inf, (10.0,)),
]


@pytest.mark.parametrize(
    ("build", "leaves", "value", "grads"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_ieee_value_and_gradient(
    build: Callable[..., Node], leaves: tuple[float, ...], value: float, grads: tuple[float, ...]
) -> None:
    with fnad.Tape():
        nodes = [Node(v) for v in leaves]
        out = build(*nodes)
        result = out.backward()
    assert same(out.data, value), (out.data, value)
    for node, expected in zip(nodes, grads, strict=True):
        assert same(result[node], expected), (result[node], expected)


def test_float_functions_follow_ieee_too() -> None:
    assert fnad.log(0) == -inf
    assert math.isnan(fnad.log(-1))
    assert math.isnan(fnad.sqrt(-1.0))
    assert fnad.exp(710) == inf
    assert fnad.tanh(1000) == 1.0
    assert math.isnan(fnad.power(-8, 1 / 3))
    assert fnad.power(1e200, 2) == inf
    assert fnad.power(0.0, -1) == inf
    assert fnad.power(-0.0, -1) == -inf


def test_huge_integer_exponent_is_computed_in_floats() -> None:
    with fnad.Tape():
        x = Node(2.0)
        assert (x ** (10**10)).data == inf
        assert (x ** -(10**10)).data == 0.0
        assert (Node(1.0) ** (10**10)).data == 1.0


# --------------------------------------------------------------------------- strict mode


def test_strict_raises_at_the_first_non_finite_value_naming_op_and_node() -> None:
    with fnad.Tape() as tape:
        x = Node(0.0, label="x")
        before = len(tape)
        with fnad.strict(), pytest.raises(fnad.NonFiniteError) as caught:
            x.log()
        assert len(tape) == before, "a refused op must not be recorded"
    message = str(caught.value)
    assert "'log'" in message and "x=0.0" in message and "-inf" in message
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, FloatingPointError)


def test_strict_checks_gradients_too() -> None:
    with fnad.Tape():
        x = Node(0.0, label="x")
        y = x.sqrt()  # finite value, infinite derivative
        with fnad.strict(), pytest.raises(fnad.NonFiniteError, match="sqrt"):
            y.backward()


def test_strict_ignores_gradients_of_constants() -> None:
    with fnad.Tape():
        x = Node(-2.0, label="x")
        y = x**2  # ∂y/∂(const 2) = y·log(-2) is nan, but nobody asked for it
        with fnad.strict():
            assert y.backward()[x] == -4.0


def test_strict_applies_to_float_functions_and_ends_with_the_block() -> None:
    with fnad.strict():
        assert fnad.is_strict()
        with pytest.raises(fnad.NonFiniteError):
            fnad.log(0.0)
    assert not fnad.is_strict()
    assert fnad.log(0.0) == -inf


# --------------------------------------------------------------------------- operand types

BAD_OPERANDS: list[object] = ["2", None, 1j, True, False, [1.0], (1.0,), {"x": 1.0}, {1.0}, b"1"]


@pytest.mark.parametrize("bad", BAD_OPERANDS, ids=repr)
@pytest.mark.parametrize(
    "apply",
    [
        lambda x, v: x + v,
        lambda x, v: v + x,
        lambda x, v: x - v,
        lambda x, v: v - x,
        lambda x, v: x * v,
        lambda x, v: v * x,
        lambda x, v: x / v,
        lambda x, v: v / x,
        lambda x, v: x**v,
        lambda x, v: v**x,
        lambda x, v: x.tape.apply("tanh", v),
        lambda x, v: fnad.power(x, v),
    ],
)
def test_non_numbers_are_a_type_error_and_leave_the_tape_unchanged(
    apply: Callable[[Node, object], object], bad: object
) -> None:
    with fnad.Tape() as tape:
        x = Node(2.0, label="x")
        nodes, edges = len(tape), tape.graph.number_of_edges()
        with pytest.raises(fnad.OperandTypeError) as caught:
            apply(x, bad)
        assert (len(tape), tape.graph.number_of_edges()) == (nodes, edges)
    assert isinstance(caught.value, TypeError)
    assert type(bad).__name__ in str(caught.value)


@pytest.mark.parametrize("bad", BAD_OPERANDS, ids=repr)
def test_node_constructor_and_functions_reject_non_numbers(bad: object) -> None:
    with pytest.raises(fnad.OperandTypeError):
        Node(bad)  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandTypeError):
        fnad.tanh(bad)  # type: ignore[call-overload]


def test_error_messages_name_the_op_the_value_and_the_fix() -> None:
    with fnad.Tape():
        x = Node(1.0)
        with pytest.raises(fnad.OperandTypeError) as caught:
            x * "3"  # type: ignore[operator]
    assert str(caught.value) == (
        "mul: argument 2 is '3' (str), not a real number; pass a float, an int or a fnad.Node "
        "(convert text with float(...) first)"
    )


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (3, 3.0),
        (Fraction(1, 4), 0.25),
        (Decimal("0.5"), 0.5),
        (Decimal("-inf"), -inf),
        (2**60, float(2**60)),
    ],
)
def test_every_real_number_is_accepted_and_stored_as_builtin_float(
    number: object, expected: float
) -> None:
    with fnad.Tape():
        leaf = Node(number)  # type: ignore[arg-type]
        via_op = Node(0.0) + number  # type: ignore[operator]
    assert type(leaf.data) is float and leaf.data == expected
    assert type(via_op.data) is float and via_op.data == expected
    assert type(via_op.inputs[1].data) is float


def test_numpy_scalars_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    with fnad.Tape():
        for scalar in (np.float64(1.5), np.float32(1.5), np.int64(3), np.int8(-2)):
            leaf = Node(scalar)
            assert type(leaf.data) is float and leaf.data == float(scalar)
            assert type((leaf + scalar).data) is float
        with pytest.raises(fnad.OperandTypeError):
            Node(np.bool_(True))


def test_int_too_large_for_a_float_is_a_clear_error() -> None:
    with fnad.Tape() as tape:
        x = Node(1.0)
        before = len(tape)
        with pytest.raises(fnad.OperandValueError, match="too large for a float"):
            x + 10**400
        with pytest.raises(fnad.OperandValueError, match="401 digits"):
            Node(-(10**400))
        assert len(tape) == before


def test_a_node_is_not_a_number_for_node() -> None:
    with fnad.Tape():
        x = Node(1.0)
        with pytest.raises(fnad.OperandTypeError, match="use that node directly"):
            Node(x)  # type: ignore[arg-type]
        with pytest.raises(fnad.OperandTypeError, match="label"):
            Node(1.0, label=3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the math library


def test_math_functions_on_floats_follow_ieee() -> None:
    assert fnad.atanh(1.0) == inf and fnad.atanh(-1.0) == -inf and math.isnan(fnad.atanh(2.0))
    assert fnad.log1p(-1.0) == -inf and math.isnan(fnad.log1p(-2.0))
    assert fnad.log2(0.0) == -inf and math.isnan(fnad.log10(-1.0))
    assert fnad.sinh(1000.0) == inf and fnad.sinh(-1000.0) == -inf and fnad.cosh(-1000.0) == inf
    assert fnad.exp2(1e10) == inf and fnad.expm1(1000.0) == inf and fnad.exp2(-inf) == 0.0
    assert math.isnan(fnad.tan(inf)) and math.isnan(fnad.asin(2.0)) and math.isnan(fnad.acosh(0.5))
    assert fnad.floor(inf) == inf and fnad.ceil(-inf) == -inf and math.isnan(fnad.floor(nan))
    assert same(fnad.floor(-0.0), -0.0) and same(fnad.ceil(-0.5), -0.0)
    assert math.isnan(fnad.mod(1.0, 0.0)) and math.isnan(fnad.fmod(inf, 1.0))
    assert fnad.mod(-1.0, inf) == inf and fnad.fmod(-1.0, inf) == -1.0
    assert same(fnad.mod(-0.0, 2.0), -0.0)  # as PyTorch and NumPy; Python's -0.0 % 2.0 is 0.0
    assert math.isnan(fnad.maximum(nan, 1.0)) and math.isnan(fnad.minimum(1.0, nan))
    assert fnad.softplus(1000.0) == 1000.0 and fnad.softplus(-1000.0) == 0.0
    assert same(fnad.silu(-1000.0), -0.0) and math.isnan(fnad.gelu(-inf))
    assert math.isnan(fnad.sign(nan)) and same(fnad.sign(-0.0), 0.0)


def test_pytorch_findings_of_issue_14() -> None:
    """d/dx x**0 at nan is 0, relu'(nan) is 1, relu(-0.0) is -0.0, (1/x)'' at 0 is +inf."""
    with fnad.Tape():
        x = Node(nan)
        assert (x**0).backward()[x] == 0.0
        assert x.relu().backward()[x] == 1.0
        zero = Node(-0.0)
        assert same(zero.relu().data, -0.0)
        at_zero = Node(0.0)
        first = (1 / at_zero).backward(create_graph=True)[at_zero]
        assert first.data == -inf and first.backward()[at_zero] == inf


def test_atan2_partials_do_not_underflow() -> None:
    with fnad.Tape():
        y, x = Node(1e-200), Node(1e-200)
        grads = y.atan2(x).backward()
    # ∂atan2/∂y = x/(x² + y²) = 1/(2e-200); x² + y² itself underflows to 0
    assert grads[y] == pytest.approx(5e199, rel=1e-15)
    assert grads[x] == pytest.approx(-5e199, rel=1e-15)


def test_atan2_and_hypot_at_the_origin_as_pytorch() -> None:
    with fnad.Tape() as tape:
        y, x = Node(0.0), Node(0.0)
        assert tape.local_derivatives(y.atan2(x)) == (0.0, -0.0)
        assert all(math.isnan(p) for p in tape.local_derivatives(y.hypot(x)))


def test_partials_that_call_fnad_functions_stay_ieee() -> None:
    # asin's partial is 1/sqrt(1 - x²): at x = 1 the sqrt is 0 and the partial is inf
    with fnad.Tape() as tape:
        x = Node(1.0)
        assert tape.local_derivatives(x.asin()) == (inf,)
        assert tape.local_derivatives(x.acos()) == (-inf,)
        assert fnad.sqrt(_floats.IEEEFloat(0.0)).__class__ is _floats.IEEEFloat
