"""fnad.check_grad and fnad.check_rules: they accept every built-in rule and right custom
ones, and reject rules that are off by 0.1%, have the wrong sign, or are right only at
first order."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest

import fnad
from fnad import GradCheckError, Node
from fnad.check import Mismatch, _central_difference


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
    assert result.problems[0] == (
        "at (0.5,): fwd ∂f/∂x: expected 2.0000000000000018 (finite differences), "
        "got 2.001 (error 1.0e-03)"
    )
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
        r"at \(1.5, 2.0\): rev ∂f/∂b: expected 1.4999\d* \(finite differences\), got -1.5 "
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
    assert str(report) == "\n".join(
        [
            "fnad rule check: 3 ops, 5 sample points, orders 1-2, modes rev",
            "  ok         tanh            3 samples, 6 derivatives",
            "  FAILED     test.twice      at (0.5,): rev ∂f/∂x: expected 2.0000000000000018 "
            "(finite differences), got 2.001 (error 1.0e-03)",
            "                             at (-1.5,): rev ∂f/∂x: expected 2.000000000000125 "
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
        "check_grad: 2 of 4 derivatives of <lambda> at (1.0,) disagree with central "
        "differences (atol=1e-06, rtol=1e-05):\n"
    )
    assert re.search(r"  rev ∂f/∂x: expected 5.99999\d* \(finite differences\), got 6.003", message)
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
    with pytest.raises(GradCheckError, match="argument 1 is 'a'; the point must be plain"):
        fnad.check_grad(f, "a")  # type: ignore[arg-type]
    with pytest.raises(GradCheckError, match="argument 1 is Node"):
        fnad.check_grad(f, Node(1.0))  # type: ignore[arg-type]
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


def test_the_five_point_difference_is_accurate() -> None:
    for x0 in (0.3, 1.0, 7.5):
        estimate = _central_difference(lambda x: x.exp(), (x0,), 0, 1e-3)
        assert estimate == pytest.approx(math.exp(x0), rel=1e-9)


def test_mismatch_text() -> None:
    m = Mismatch("rev", "∂²f/∂x∂y", 1.0, 1.5)
    assert str(m) == "rev ∂²f/∂x∂y: expected 1.0 (finite differences), got 1.5 (error 5.0e-01)"
