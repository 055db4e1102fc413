"""Each built-in op is declared once, and everything else about it is derived: the function
``fnad.<name>`` is its entry in fnad/engine/ops.py, its Node method is one line of
fnad/engine/methods.py, fnad's ``__all__`` is ops' ``__all__``, and NumPy's ufunc of a
method's name records that method's op. These tests hold the derived parts to the table."""

from __future__ import annotations

import pytest

import fnad
from fnad import Node
from fnad.engine import declare, methods, ops
from fnad.engine.rules import builtin_rules


def test_every_public_op_function_is_the_registered_op_of_its_arity() -> None:
    functions = {
        n: getattr(ops, n) for n in ops.__all__ if isinstance(getattr(ops, n), declare._OpFunction)
    }
    assert len(functions) == 37
    for name, function in functions.items():
        rule = builtin_rules()[function.name]
        assert rule.arity == (1 if isinstance(function, ops.UnaryOp) else 2), name
        assert getattr(fnad, name) is function and name in fnad.__all__


def test_fnad_exports_exactly_what_ops_declares_and_nothing_twice() -> None:
    assert set(ops.__all__) <= set(fnad.__all__)
    assert len(fnad.__all__) == len(set(fnad.__all__))
    assert {"evaluate", "LEAKY_RELU_SLOPE"}.isdisjoint(fnad.__all__)


@pytest.mark.parametrize(("method", "op"), sorted(methods.NUMPY_UFUNCS.items()))
def test_every_method_and_numpy_name_records_a_registered_op(method: str, op: str) -> None:
    rule = builtin_rules()[op]
    if method in methods.OPERATOR_UFUNCS:
        return  # np.add & co.: checked through NumPy in test_numpy.py
    with fnad.Tape():
        x = Node(0.5)
        out = getattr(x, method)() if rule.arity == 1 else getattr(x, method)(0.25)
    assert out.op == op and out.inputs[0] is x


def test_an_op_function_must_sit_on_the_rule_it_names() -> None:
    def tanh(x: float, out: float) -> tuple[float]:  # not the registered partials of "tanh"
        return (1 - out * out,)

    with pytest.raises(fnad.RuleError, match=r"@unary over op 'tanh': put it right above"):
        declare.unary("Hyperbolic tangent.")(tanh)
    with pytest.raises(fnad.RuleError, match=r"@binary over op 'tanh'"):
        declare.binary("?", name="tanh")(builtin_rules()["tanh"].partials)
    assert (
        declare.unary("Hyperbolic tangent.", name="tanh")(builtin_rules()["tanh"].partials).name
        == "tanh"
    )
