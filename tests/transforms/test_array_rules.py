"""Array forms of custom ops: defop takes them and probes them, check_rules compares them
with the scalar forms and reports a wrong one."""

from __future__ import annotations

import math
from typing import Any

import pytest

import fnad
from fnad.engine.ops import value

np: Any = pytest.importorskip("numpy")


def softplus(**arrays: Any) -> fnad.CustomUnaryOp:
    return fnad.defop(
        "demo.softplus",
        impl=lambda x: math.log1p(math.exp(x)),
        partials=lambda x, out: (fnad.sigmoid(x),),
        samples=[0.5, -2.0],
        **arrays,
    )


def test_defop_stores_the_array_forms_and_check_rules_passes_them() -> None:
    with fnad.isolated_rules() as table:
        softplus(
            array_impl=lambda x: np.log1p(np.exp(x)),
            array_partials=lambda x, out: (1 / (1 + np.exp(-x)),),
        )
        rule = table["demo.softplus"]
        assert rule.array_forward is not None and rule.array_partials is not None
        report = fnad.check_rules(ops=["demo.softplus"])
    assert report.ok, str(report)


def test_check_rules_reports_a_wrong_array_form() -> None:
    with fnad.isolated_rules():
        softplus(
            array_impl=lambda x: np.log1p(np.exp(x)),
            array_partials=lambda x, out: (1 / (1 + np.exp(x)),),  # the sign of x is wrong
        )
        report = fnad.check_rules(ops=["demo.softplus"])
    assert not report.ok
    assert "array partials give" in str(report) and "the scalar partials" in str(report)
    with fnad.isolated_rules():
        softplus(array_impl=lambda x: np.log(np.exp(x)))  # not log1p: off by far
        report = fnad.check_rules(ops=["demo.softplus"])
    assert "at (0.5,): array forward gives" in str(report), str(report)


def test_check_rules_reports_array_forms_that_differ_at_special_values() -> None:
    with fnad.isolated_rules():
        fnad.defop(
            "demo.relu",
            impl=lambda x: 0.0 if x < 0.0 else x,
            partials=lambda x, out: (0.0 if value(x) <= 0.0 else 1.0,),
            samples=[1.5],
            array_impl=lambda x: np.where(x < 0.0, 0.0, x),
            array_partials=lambda x, out: (np.where(x < 0.0, 0.0, 1.0),),  # relu'(0) = 1
        )
        report = fnad.check_rules(ops=["demo.relu"])
    assert "at (0.0,): array partials give (1.0,), the scalar partials (0.0,)" in str(report)


def test_defop_refuses_malformed_array_forms() -> None:
    with fnad.isolated_rules():
        with pytest.raises(fnad.RuleError, match="array_impl must be callable"):
            softplus(array_impl="np.log1p")
        with pytest.raises(fnad.RuleError, match=r"array_partials\(x\) cannot be called with 2"):
            softplus(array_partials=lambda x: (x,))
        with pytest.raises(fnad.RuleError, match="array_partials returned 2 value"):
            softplus(array_partials=lambda x, out: (x, x))
        with pytest.raises(fnad.RuleError, match="array forms failed on the samples"):
            softplus(array_impl=lambda x: x.no_such_method())
        assert "demo.softplus" not in fnad.current_rules()  # nothing was registered


def test_a_custom_op_batches_through_its_array_forms() -> None:
    with fnad.isolated_rules():
        op = softplus(
            array_impl=lambda x: np.log1p(np.exp(x)),
            array_partials=lambda x, out: (1 / (1 + np.exp(-x)),),
        )
        program = fnad.compile(lambda x: op(x) * 2.0, 0.0)
        result = program.batch([[0.0], [1.0]])
    assert np.allclose(result.values, [2 * math.log(2), 2 * math.log1p(math.e)], rtol=1e-15)
    assert result.gradient is not None
    assert np.allclose(result.gradient[:, 0], [1.0, 2 / (1 + math.exp(-1))], rtol=1e-15)
