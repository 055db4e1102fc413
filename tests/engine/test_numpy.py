"""NumPy and fnad: ufuncs on Nodes record fnad's ops, object arrays of Nodes work element by
element, and a NumPy array next to a Node is refused from either side, recording nothing."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import pytest

import fnad
from fnad import Node
from fnad.engine.methods import NUMPY_UFUNCS

np: Any = pytest.importorskip("numpy")

# ufunc name -> fnad op, for every op fnad has a NumPy name for
UNARY_UFUNCS = {
    "exp": "exp",
    "log": "log",
    "sin": "sin",
    "cos": "cos",
    "tanh": "tanh",
    "sqrt": "sqrt",
    "tan": "tan",
    "sinh": "sinh",
    "cosh": "cosh",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "log1p": "log1p",
    "expm1": "expm1",
    "log2": "log2",
    "log10": "log10",
    "exp2": "exp2",
    "sign": "sign",
    "floor": "floor",
    "ceil": "ceil",
    "absolute": "abs",
    "fabs": "abs",
    "negative": "neg",
}
BINARY_UFUNCS = {
    "arctan2": "atan2",
    "hypot": "hypot",
    "fmod": "fmod",
    "remainder": "mod",
    "minimum": "minimum",
    "maximum": "maximum",
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "divide": "truediv",
    "power": "pow",
}
# On object arrays NumPy computes these with comparisons, not with a method of the element:
# use fnad.sign / fnad.minimum / fnad.maximum for arrays of Nodes.
BY_COMPARISON = {"sign", "minimum", "maximum"}


def test_the_tables_cover_every_ufunc_fnad_maps() -> None:
    """fnad's map is derived from Node's methods (a method named as a NumPy ufunc records its
    op): the ufuncs NumPy actually has among those names are exactly the tables above."""
    aliases = {"float_power": "pow"}
    mapped: dict[str, str] = {}
    for name, op in NUMPY_UFUNCS.items():
        ufunc = getattr(np, name, None)
        if isinstance(ufunc, np.ufunc):  # np.asin is np.arcsin (NumPy 2): same name, same op
            assert mapped.setdefault(ufunc.__name__, op) == op, name
    assert mapped == {**UNARY_UFUNCS, **BINARY_UFUNCS, **aliases}


@pytest.mark.parametrize(("ufunc", "op"), sorted(UNARY_UFUNCS.items()))
def test_unary_ufunc_on_a_node_and_on_an_object_array(ufunc: str, op: str) -> None:
    with fnad.Tape() as tape:
        x = Node(1.6 if ufunc == "arccosh" else 0.6)
        direct = getattr(np, ufunc)(x)
        assert isinstance(direct, Node) and direct.op == op
        assert direct.data == tape.apply(op, x).data
        if ufunc in BY_COMPARISON:
            return
        (element,) = getattr(np, ufunc)(np.array([x], dtype=object))
        assert isinstance(element, Node) and element.op == op
        assert element.data == direct.data
        assert element.backward()[x] == direct.backward()[x]


@pytest.mark.parametrize(("ufunc", "op"), sorted(BINARY_UFUNCS.items()))
def test_binary_ufunc_on_nodes_and_on_object_arrays(ufunc: str, op: str) -> None:
    f = getattr(np, ufunc)
    with fnad.Tape():
        x, y = Node(0.6), Node(-1.7)
        for direct in (f(x, y), f(x, -1.7), f(0.6, y), f(np.float64(0.6), y)):
            assert isinstance(direct, Node) and direct.op == op
            assert direct.data == x.tape.apply(op, 0.6, -1.7).data
        if ufunc in BY_COMPARISON:
            return
        (element,) = f(np.array([x], dtype=object), np.array([y], dtype=object))
        assert isinstance(element, Node) and element.op == op
        assert element.data == f(x, y).data


def test_the_seed_example_on_object_arrays() -> None:
    with fnad.Tape():
        xs = np.array([Node(0.5, label="a"), Node(-0.25, label="b")], dtype=object)
        loss = np.sum(np.tanh(xs) * np.exp(xs) + np.arctan2(xs, 2.0))
        grads = loss.backward()
    for node in xs:
        v = node.data
        expected = (1 - math.tanh(v) ** 2) * math.exp(v) + math.tanh(v) * math.exp(v)
        expected += 2.0 / (v * v + 4.0)
        assert grads[node] == pytest.approx(expected, rel=1e-14)


ARRAY_OPERATORS: list[Callable[[Any, Any], Any]] = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.pow,
    operator.mod,
]


@pytest.mark.parametrize("apply", ARRAY_OPERATORS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("array", [[1.0], [[1.0, 2.0]], 2.0], ids=["1-d", "2-d", "0-d"])
def test_arrays_are_refused_from_both_sides_and_record_nothing(
    apply: Callable[[Any, Any], Any], array: Any
) -> None:
    a = np.array(array)
    with fnad.Tape() as tape:
        x = Node(2.0, label="x")
        before = (len(tape), tape.graph.number_of_edges())
        with pytest.raises(fnad.OperandTypeError) as left:
            apply(a, x)
        with pytest.raises(fnad.OperandTypeError) as right:
            apply(x, a)
        assert (len(tape), tape.graph.number_of_edges()) == before
    assert isinstance(left.value, TypeError) and "ndarray" in str(left.value)
    assert "ndarray" in str(right.value)
    assert "object array" in str(left.value)  # how to do it instead


def test_ufuncs_with_an_array_argument_are_refused() -> None:
    with fnad.Tape() as tape:
        x = Node(2.0)
        before = len(tape)
        with pytest.raises(fnad.OperandTypeError, match=r"numpy\.arctan2: argument 2 is array"):
            np.arctan2(x, np.array([1.0, 2.0]))
        with pytest.raises(fnad.OperandTypeError, match=r"numpy\.hypot: argument 1 is array"):
            np.hypot(np.array([1.0]), x)
        assert len(tape) == before


def test_ufuncs_fnad_has_no_op_for_and_keywords_are_clear_errors() -> None:
    with fnad.Tape() as tape:
        x = Node(2.0)
        before = len(tape)
        with pytest.raises(fnad.OperandTypeError, match=r"numpy\.cbrt: not supported .* arcsin"):
            np.cbrt(x)
        with pytest.raises(fnad.OperandTypeError, match=r"numpy\.exp\(\.\.\., out=\)"):
            np.exp(x, out=np.empty(()))
        with pytest.raises(fnad.OperandTypeError, match=r"numpy\.add\.accumulate"):
            np.add.accumulate(x)
        assert len(tape) == before


def test_numpy_scalars_combine_and_compare_without_recording_comparisons() -> None:
    with fnad.Tape() as tape:
        x = Node(0.5)
        y = np.float64(2.0) * x
        assert isinstance(y, Node) and y.op == "mul" and y.data == 1.0
        before = len(tape)
        assert bool(np.float64(1.0) > x) and not bool(np.float64(1.0) < x)
        assert bool(np.float64(0.5) <= x) and bool(np.float64(0.5) >= x)
        assert not bool(np.float64(0.5) == x)  # Nodes compare by identity
        assert bool(np.float64(0.5) != x)
        assert len(tape) == before
