"""Every number type overflows the same way, and odd inputs are fnad errors."""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

import fnad
from fnad.nn.model import MLP, accuracy


@pytest.mark.parametrize(
    "value", [10**400, -(10**400), Decimal("1e400"), Fraction(10**400, 3)], ids=repr
)
def test_a_finite_number_too_large_for_a_float_is_refused_whatever_its_type(value: Any) -> None:
    with fnad.Tape() as tape, pytest.raises(fnad.OperandValueError, match="too large for a float"):
        fnad.Node(value)
    assert len(tape) == 0


@pytest.mark.parametrize("value", [math.inf, Decimal("Infinity"), Decimal("-Infinity")], ids=repr)
def test_an_infinite_number_is_accepted(value: Any) -> None:
    assert math.isinf(fnad.Node(value).data)


def test_a_real_whose_float_conversion_fails_is_an_fnad_error() -> None:
    class Broken(numbers.Real):  # a numbers.Real whose __float__ raises
        def __float__(self) -> float:
            raise RuntimeError("boom")

    for name in sorted(Broken.__abstractmethods__):
        setattr(Broken, name, lambda *args: 0)
    Broken.__abstractmethods__ = frozenset()
    with pytest.raises(fnad.OperandValueError, match="RuntimeError: boom") as caught:
        fnad.Node(Broken())  # type: ignore[abstract]
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_model_and_accuracy_refuse_wrong_inputs_with_fnad_errors() -> None:
    with pytest.raises(fnad.OperandTypeError, match="not a sequence of 2 numbers"):
        MLP(2, [1], seed=0)(None)  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandValueError, match="1 scores and 2 labels"):
        accuracy([1.0], [1, 2])
