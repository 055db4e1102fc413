"""fnad.check_grad and fnad.check_rules: they accept every built-in rule and right custom
ones, and reject rules that are off by 0.1%, have the wrong sign, or are right only at
first order."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import fnad
from fnad import GradCheckError, Node
from fnad.transforms.check import Mismatch, estimate_derivative


@pytest.fixture(autouse=True)
def private_rules() -> Iterator[fnad.RuleTable]:
    with fnad.isolated_rules() as table:
        yield table


def register_twice(derivative: float) -> fnad.CustomUnaryOp:
    return fnad.defop(
        "test.twice",
        impl=lambda x: 2.0 * x,
        partials=lambda x, out: (derivative,),
        samples=[(0.5,), (-1.5,)],
    )


# --------------------------------------------------------------------------- check_rules


def test_every_builtin_rule_passes() -> None:
    report = fnad.check_rules()
    assert report.ok, str(report)
    names = {r.op for r in report.results}
    assert {"add", "mul", "truediv", "pow", "exp", "log", "tanh", "sigmoid", "sqrt"} <= names
    for result in report.results:
        assert result.status == "ok", str(report)
        n = len(result.samples[0])
        assert result.checked == len(result.samples) * (n + n * n) * 2
    report.raise_if_failed()  # no error


def test_a_rule_off_by_a_tenth_of_a_percent_is_rejected() -> None:
    register_twice(2.001)
    report = fnad.check_rules(ops=["test.twice"])
    assert not report.ok
    (result,) = report.failures
    assert result.status == "FAILED"
    # both sample points, both modes, first order; the second derivative (0) is right
    assert len(result.problems) == 4
    assert re.fullmatch(
        r"at \(0.5,\): fwd ∂f/∂x: expected (2\.0000000000|1\.9999999999)\d* \(finite "
        r"differences\), got 2.001 \(error 1.0e-03\)",
        result.problems[0],
    ), result.problems[0]
    with pytest.raises(GradCheckError, match=r"FAILED\s+test.twice\s+at \(0.5,\): fwd ∂f/∂x"):
        report.raise_if_failed()


def test_the_right_rule_is_accepted() -> None:
    register_twice(2.0)
    assert fnad.check_rules(ops=["test.twice"]).ok


def test_a_wrong_sign_is_rejected() -> None:
    fnad.defop(
        "test.square",
        impl=lambda x: x * x,
        partials=lambda x, out: (-2 * x,),
        samples=[(0.5,)],
    )
    report = fnad.check_rules(ops=["test.square"])
    assert [p.split(": expected")[0] for p in report.failures[0].problems] == [
        "at (0.5,): fwd ∂f/∂x",
        "at (0.5,): rev ∂f/∂x",
    ]


def test_a_rule_right_only_at_first_order_is_rejected_at_order_two() -> None:
    # 2 * value(x) has the right value but drops the dependence on x: f'' comes out 0
    fnad.defop(
        "test.square",
        impl=lambda x: x * x,
        partials=lambda x, out: (2 * fnad.value(x),),
        samples=[(0.5,), (2.0,)],
    )
    assert fnad.check_rules(ops=["test.square"], order=1).ok
    report = fnad.check_rules(ops=["test.square"], order=2)
    assert not report.ok
    assert all("∂²f/∂x∂x" in p for p in report.failures[0].problems)


def test_a_wrong_partial_of_a_binary_op_names_the_argument() -> None:
    fnad.defop(
        "test.mul",
        impl=lambda a, b: a * b,
        partials=lambda a, b, out: (b, -a),
        samples=[(1.5, 2.0)],
    )
    problems = fnad.check_rules(ops=["test.mul"], order=1, modes=("rev",)).failures[0].problems
    assert len(problems) == 1
    assert re.fullmatch(
        r"at \(1.5, 2.0\): rev ∂f/∂b: expected 1.(4999|5000)\d* \(finite differences\), got -1.5 "
        r"\(error 3.0e\+00\)",
        problems[0],
    )


def test_rules_that_raise_or_leave_their_domain_are_failures_not_crashes() -> None:
    table = fnad.current_rules()
    table.register(
        fnad.Rule("test.raises", 1, lambda x: x, lambda x, out: (x.nope,), samples=((1.0,),))
    )
    table.register(fnad.Rule("test.nan", 1, fnad.sqrt, lambda x, out: (0.5 / out,), ((-1.0,),)))
    report = fnad.check_rules(ops=["test.raises", "test.nan"])
    by_op = {r.op: r for r in report.results}
    assert by_op["test.nan"].problems == (
        "at (-1.0,): the op's value is nan; choose sample points inside its domain, where it is "
        "finite",
    )
    assert by_op["test.raises"].status == "FAILED"
    assert by_op["test.raises"].problems[0].startswith("at (1.0,): AttributeError: ")


def test_the_report_is_readable() -> None:
    register_twice(2.001)
    fnad.defop("test.unchecked", impl=lambda x: x, partials=lambda x, out: (1.0,))
    report = fnad.check_rules(ops=["tanh", "test.twice", "test.unchecked"], modes=("rev",))
    twice = next(r for r in report.results if r.op == "test.twice")
    shown = [p.split("expected ")[1].split(" ")[0] for p in twice.problems]
    assert [float(x) for x in shown] == pytest.approx([2.0, 2.0], rel=1e-12)
    assert str(report) == "\n".join(
        [
            "fnad rule check: 3 ops, 5 sample points, orders 1-2, modes rev",
            "  ok         tanh            3 samples, 6 derivatives",
            f"  FAILED     test.twice      at (0.5,): rev ∂f/∂x: expected {shown[0]} "
            "(finite differences), got 2.001 (error 1.0e-03)",
            f"                             at (-1.5,): rev ∂f/∂x: expected {shown[1]} "
            "(finite differences), got 2.001 (error 1.0e-03)",
            "  unchecked  test.unchecked  no sample points declared; pass samples=... to "
            "fnad.defop",
            "1 FAILED: 1 ok, 1 failed, 1 unchecked",
        ]
    )
    assert repr(report) == "RuleCheckReport(3 ops, 1 failed, 1 unchecked)"
    assert [r.op for r in report.unchecked] == ["test.unchecked"]


def test_check_rules_arguments_are_validated() -> None:
    with pytest.raises(fnad.UnknownOpError, match="no rule for op 'nope'"):
        fnad.check_rules(ops=["nope"])
    with pytest.raises(GradCheckError, match="table must be a fnad RuleTable"):
        fnad.check_rules({})  # type: ignore[arg-type]
    with pytest.raises(GradCheckError, match=r"modes must be a non-empty tuple drawn from"):
        fnad.check_rules(modes=("sideways",))


def test_check_rules_checks_the_table_it_is_given() -> None:
    table = fnad.builtin_rules().copy()
    fnad.defop(
        "plugin.cube",
        impl=lambda x: x**3,
        partials=lambda x, out: (3.1 * x * x,),
        samples=[(1.0,)],
        table=table,
    )
    assert "plugin.cube" not in fnad.current_rules()
    report = fnad.check_rules(table, ops=["plugin.cube"])
    assert not report.ok and report.results[0].op == "plugin.cube"


# --------------------------------------------------------------------------- check_grad


@pytest.mark.parametrize(
    ("f", "point"),
    [
        (lambda x: x * x * x, (2.0,)),
        (lambda x, y: (x * y).tanh() + x / y, (0.3, -1.7)),
        (lambda x: x.sigmoid().log(), (-3.0,)),
        (lambda x, y, z: x**y * z.sin(), (1.3, 0.7, 2.0)),
        (lambda x: x.sqrt() * x.exp(), (0.25,)),
    ],
)
def test_check_grad_accepts_correct_derivatives(
    f: fnad.ScalarFunction, point: tuple[float, ...]
) -> None:
    fnad.check_grad(f, *point)
    fnad.check_grad(f, *point, order=3, modes=("rev",))


def test_check_grad_shows_expected_and_actual() -> None:
    twice = register_twice(2.001)
    with pytest.raises(GradCheckError) as info:
        fnad.check_grad(lambda x: twice(x) * 3.0, 1.0)
    message = str(info.value)
    assert message.startswith(
        "check_grad: 2 of 4 derivatives of <lambda> at (1.0,) disagree with finite "
        "differences (atol=0.0, rtol=1e-05):\n"
    )
    assert re.search(
        r"  rev ∂f/∂x: expected (5.99999|6.00000)\d* \(finite differences\), got 6.003", message
    )
    assert isinstance(info.value, AssertionError)  # pytest shows it as a failed assertion


def test_check_grad_tolerances_and_modes() -> None:
    twice = register_twice(2.001)
    fnad.check_grad(twice, 1.0, rtol=1e-3)  # 0.05% is within 0.1%
    with pytest.raises(GradCheckError, match=r"1 of 2 derivatives .*\n  fwd ∂f/∂x"):
        fnad.check_grad(twice, 1.0, modes=("fwd",))


def test_check_grad_arguments_are_validated() -> None:
    f = lambda x: x * x
    with pytest.raises(GradCheckError, match="give the point to check at"):
        fnad.check_grad(f)
    with pytest.raises(fnad.OperandTypeError, match="check_grad: argument 1 is 'a' \\(str\\)"):
        fnad.check_grad(f, "a")  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandTypeError, match=r"argument 2 is a Node .* pass its value"):
        fnad.check_grad(f, 1.0, Node(1.0))  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandValueError, match="argument 1 is an int with 401 digits"):
        fnad.check_grad(f, 10**400)
    with pytest.raises(GradCheckError, match="directions must be one of"):
        fnad.check_grad(f, 1.0, directions="diagonal")
    with pytest.raises(GradCheckError, match="order must be an int >= 1, got 0"):
        fnad.check_grad(f, 1.0, order=0)
    with pytest.raises(GradCheckError, match="modes must be a non-empty tuple"):
        fnad.check_grad(f, 1.0, modes="rev")
    with pytest.raises(GradCheckError, match="eps must be > 0"):
        fnad.check_grad(f, 1.0, eps=0.0)
    with pytest.raises(GradCheckError, match="atol must be a finite number >= 0, got nan"):
        fnad.check_grad(f, 1.0, atol=math.nan)


def test_nan_and_inf_agree_only_with_themselves() -> None:
    # at x = 0, sqrt's derivative is inf and the difference quotient is huge but finite
    with pytest.raises(GradCheckError, match="got inf"):
        fnad.check_grad(lambda x: x.sqrt(), 0.0, order=1)
    # pow with a negative base: nan where the function is undefined, on both sides
    fnad.check_grad(lambda a, b: a**b, -2.0, 3.0, order=1, modes=("rev",))


def test_the_extrapolated_difference_is_accurate_and_knows_its_error() -> None:
    for x0 in (0.3, 1.0, 7.5, -20.0):
        value, error = estimate_derivative(functools.partial(lambda x, t: math.exp(x + t), x0))
        assert abs(value - math.exp(x0)) <= 2 * error  # the checker allows 2 error estimates
        assert error <= 1e-11 * math.exp(x0)
    # a step of 0.05 is far too large for sin(50x) (0.05·50 = 2.5 rad): extrapolation fixes it
    value, error = estimate_derivative(lambda t: math.sin(50 * (3.0 + t)), h=0.05)
    assert value == pytest.approx(50 * math.cos(150.0), rel=1e-10) and error < 1e-7
    # out of the domain at the first steps (sqrt near 0): the steps shrink into it
    value, error = estimate_derivative(lambda t: math.sqrt(1e-6 + t) if t > -1e-6 else math.nan)
    assert value == pytest.approx(0.5 / math.sqrt(1e-6), rel=1e-10)
    # nowhere finite: that is the estimate
    value, _ = estimate_derivative(lambda t: math.nan)
    assert math.isnan(value)


def test_mismatch_text() -> None:
    m = Mismatch("rev", "∂²f/∂x∂y", 1.0, 1.5)
    assert str(m) == "rev ∂²f/∂x∂y: expected 1.0 (finite differences), got 1.5 (error 5.0e-01)"


# --------------------------------------------------------------------------- the estimate


def _old_five_point(f: Callable[[Node], Node], x: float, eps: float = 1e-3) -> float:
    """check_grad's estimate before Ridders: one five-point difference, h = eps·max(1, |x|)."""
    h = eps * max(1.0, abs(x))

    def at(v: float) -> float:
        with fnad.Tape():
            return f(Node(v)).data

    return (8.0 * (at(x + h) - at(x - h)) - (at(x + 2 * h) - at(x - 2 * h))) / (12.0 * h)


HIGH_CURVATURE: list[tuple[Callable[[Node], Node], float, Callable[[float], float] | None]] = [
    # (f, point, f' in closed form)
    (lambda x: (50 * x).sin(), 10.0, lambda x: 50 * math.cos(50 * x)),
    (lambda x: (50 * x).sin(), -3.0, lambda x: 50 * math.cos(50 * x)),
    (lambda x: (x * x).exp(), 10.0, lambda x: 2 * x * math.exp(x * x)),
    (lambda x: (20 * x).tanh() * x**8, 2.5, None),
]


@pytest.mark.parametrize(("f", "x", "derivative"), HIGH_CURVATURE)
def test_high_curvature_smooth_functions_pass(
    f: Callable[[Node], Node], x: float, derivative: Callable[[float], float] | None
) -> None:
    fnad.check_grad(f, x)
    fnad.check_grad(f, x, order=3, modes=("rev",))
    if derivative is not None:
        # fnad is right (to 1e-12), and the old fixed step false-alarmed (atol=1e-6, rtol=1e-5)
        actual = fnad.grad(f)(x)
        assert actual == pytest.approx(derivative(x), rel=1e-12)
        old = _old_five_point(f, x)
        assert abs(actual - old) > 1e-6 + 1e-5 * abs(old)


@pytest.mark.parametrize(("f", "x", "derivative"), HIGH_CURVATURE[:3])
def test_a_tenth_of_a_percent_is_caught_at_high_curvature_too(
    f: Callable[[Node], Node], x: float, derivative: Callable[[float], float]
) -> None:
    def value(v: float) -> float:
        with fnad.Tape():
            return f(Node(v)).data

    fnad.current_rules().register(
        fnad.Rule("test.wrong", 1, value, lambda v, out: (1.001 * derivative(fnad.value(v)),))
    )
    with pytest.raises(GradCheckError, match=r"2 of 2 derivatives .*\n  fwd ∂f/∂y: expected"):
        fnad.check_grad(lambda y: y.tape.apply("test.wrong", y), x, order=1)


def test_steps_shrink_into_the_domain() -> None:
    # sqrt at 1e-5: the old step 1e-3 reached below 0 (nan) and false-alarmed
    assert math.isnan(_old_five_point(lambda x: x.sqrt(), 1e-5))
    fnad.check_grad(lambda x: x.sqrt(), 1e-5)
    fnad.check_grad(lambda x: x.log() * x.acosh(), 1.0 + 1e-6, order=1)


def test_derivatives_that_are_zero_by_cancellation_pass() -> None:
    # atan2(x·y, x) = atan(y) for x > 0: every derivative by x is 0 up to rounding
    fnad.check_grad(lambda x, y: (x * y).atan2(x) * y.exp(), 0.6, 0.59, order=3)
    fnad.check_grad(lambda x, y: (x - x) * y + (x / x) * y.sin(), 1.3, 0.4)


# --------------------------------------------------------------------------- scale-aware


def _tiny_square(derivative: Callable[[Any], Any]) -> fnad.CustomUnaryOp:
    return fnad.defop(
        "test.tiny",
        impl=lambda x: 1e-7 * x * x,
        partials=lambda x, out: (derivative(x),),
        samples=[(0.5,), (-1.5,)],
    )


@pytest.mark.parametrize(
    ("derivative", "what"),
    [
        (lambda x: 0.0, "partial 0.0"),
        (lambda x: 1e-7 * x, "50% off"),
        (lambda x: 2.002e-7 * x, "0.1% off"),
    ],
    ids=["zero", "half", "tenth-of-a-percent"],
)
def test_wrong_rules_of_a_tiny_op_fail(derivative: Callable[[Any], Any], what: str) -> None:
    tiny = _tiny_square(derivative)
    report = fnad.check_rules(ops=["test.tiny"])
    assert not report.ok, what
    # both samples, both modes, first order (and the second derivative, which is wrong too)
    assert any(p.startswith("at (0.5,): fwd ∂f/∂x") for p in report.failures[0].problems)
    with pytest.raises(GradCheckError):
        fnad.check_grad(tiny, 0.7, order=1)
    with pytest.raises(GradCheckError):
        fnad.check_grad(lambda x: tiny(x) * 3.0, -0.2, order=1, modes=("rev",))


def test_the_right_rule_of_a_tiny_op_passes() -> None:
    tiny = _tiny_square(lambda x: 2e-7 * x)
    assert fnad.check_rules(ops=["test.tiny"]).ok
    fnad.check_grad(tiny, 0.7)
    fnad.check_grad(lambda x: tiny(x) * 1e-9, 0.7)  # 1e-16·x²: smaller still


def test_an_absolute_tolerance_can_still_be_given() -> None:
    tiny = _tiny_square(lambda x: 0.0)
    fnad.check_grad(tiny, 0.7, order=1, atol=1e-6)  # the old default swamps the error


# --------------------------------------------------------------------------- random directions

MANY = [0.1 * i - 1.0 for i in range(20)]


def _many(*xs: Node) -> Node:
    total = xs[0] * 0.0
    for a, b in itertools.pairwise(xs):
        total = total + (a * b).tanh() + a.sin() * b.exp() / 3.0
    return total


def test_random_directions_pass_for_many_arguments_at_every_order() -> None:
    fnad.check_grad(_many, *MANY)  # auto: 20 arguments, random directions
    fnad.check_grad(_many, *MANY, order=3, directions="random", seed=5)


def test_random_directions_catch_a_wrong_rule_in_one_argument() -> None:
    twice = register_twice(2.002)

    def f(*xs: Node) -> Node:
        return _many(*xs) + twice(xs[7]) * xs[3]

    with pytest.raises(GradCheckError) as info:
        fnad.check_grad(f, *MANY)
    message = str(info.value)
    assert message.startswith("check_grad: 4 of 4 derivatives of f at (-1.0, -0.9, "), (
        message.splitlines()[0]
    )
    assert "along random unit directions (seed=0) v₁ = (" in message and "; v₂ = (" in message
    for label in ("fwd ∂f/∂v₁", "rev ∂f/∂v₁", "fwd ∂²f/∂v₁∂v₂", "rev ∂²f/∂v₁∂v₂"):
        assert f"\n  {label}: expected " in message, label


def test_directions_are_reproducible_and_selectable() -> None:
    twice = register_twice(2.001)

    def f(a: Node, b: Node) -> Node:
        return twice(a) * b

    messages = []
    for seed in (1, 1, 2):
        with pytest.raises(GradCheckError) as info:
            fnad.check_grad(f, 0.3, 0.4, directions="random", seed=seed, order=1)
        messages.append(str(info.value))
    assert messages[0] == messages[1] != messages[2]
    assert "2 of 2 derivatives" in messages[0]
    with pytest.raises(GradCheckError) as info:
        fnad.check_grad(f, 0.3, 0.4, directions="axes", order=1)
    assert "2 of 4 derivatives" in str(info.value) and "random" not in str(info.value)
    with pytest.raises(GradCheckError) as info:
        fnad.check_grad(f, 0.3, 0.4, order=1)  # auto: axes for two arguments
    assert "2 of 4 derivatives" in str(info.value)
