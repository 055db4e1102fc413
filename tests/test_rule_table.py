"""Every built-in rule against two independent oracles: sympy's symbolic derivative and
central finite differences, at the sample points each rule declares."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import sympy

import fnad
from fnad import Node
from fnad.rules import Rule, builtin_rules

a_, b_ = sympy.symbols("a b", real=True)

# The symbolic twin of each built-in op: sympy's derivative is the oracle.
SYMPY: dict[str, Callable[..., sympy.Expr]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "neg": lambda x: -x,
    "exp": sympy.exp,
    "log": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tanh": sympy.tanh,
    "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
    "sqrt": sympy.sqrt,
    "relu": lambda x: sympy.Max(0, x),
    "abs": sympy.Abs,
}

BUILTIN = sorted(SYMPY)


def test_every_builtin_op_has_an_oracle() -> None:
    registered = set(builtin_rules())
    assert set(BUILTIN) <= registered
    from fnad import ops

    defined_in_ops = {
        rule.name for rule in builtin_rules().values() if rule.partials.__module__ == ops.__name__
    }
    assert defined_in_ops == set(BUILTIN), "a built-in op without a sympy oracle in this test"


@pytest.mark.parametrize("name", sorted(builtin_rules()))
def test_every_registered_op_declares_sample_points(name: str) -> None:
    rule = builtin_rules()[name]
    assert len(rule.samples) >= 2, f"op {name!r} declares no (or one) sample point"


def _cases() -> list[tuple[str, tuple[float, ...]]]:
    return [(name, point) for name in BUILTIN for point in builtin_rules()[name].samples]


def _sympy_partials(name: str, point: tuple[float, ...]) -> list[float]:
    symbols = (a_, b_)[: len(point)]
    expr = SYMPY[name](*symbols)
    at = dict(zip(symbols, [sympy.Float(p, 30) for p in point], strict=True))
    return [float(sympy.diff(expr, s).evalf(30, subs=at)) for s in symbols]


def _sympy_value(name: str, point: tuple[float, ...]) -> float:
    symbols = (a_, b_)[: len(point)]
    at = dict(zip(symbols, [sympy.Float(p, 30) for p in point], strict=True))
    return float(SYMPY[name](*symbols).evalf(30, subs=at))


def _engine(rule: Rule, point: tuple[float, ...]) -> tuple[float, list[float]]:
    with fnad.Tape() as tape:
        leaves = [Node(p, label=f"arg{i}") for i, p in enumerate(point)]
        out = tape.apply(rule.name, *leaves)
        grads = out.backward()
    return out.data, [grads[leaf] for leaf in leaves]


@pytest.mark.parametrize(("name", "point"), _cases())
def test_rule_matches_sympy(name: str, point: tuple[float, ...]) -> None:
    value, partials = _engine(builtin_rules()[name], point)
    assert value == pytest.approx(_sympy_value(name, point), rel=1e-14, abs=1e-300)
    assert partials == pytest.approx(_sympy_partials(name, point), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize(("name", "point"), _cases())
def test_rule_matches_central_differences(name: str, point: tuple[float, ...]) -> None:
    rule = builtin_rules()[name]
    _, partials = _engine(rule, point)
    for i, analytic in enumerate(partials):
        h = 1e-6 * max(1.0, abs(point[i]))
        up = list(point)
        down = list(point)
        up[i] += h
        down[i] -= h
        numeric = (rule.forward(*up) - rule.forward(*down)) / (2 * h)
        assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-8), (name, point, i)


@pytest.mark.parametrize(("name", "point"), _cases())
def test_second_order_matches_sympy(name: str, point: tuple[float, ...]) -> None:
    """The partials evaluated on Nodes are recorded, so they differentiate again."""
    rule = builtin_rules()[name]
    symbols = (a_, b_)[: len(point)]
    expr = SYMPY[name](*symbols)
    at = dict(zip(symbols, [sympy.Float(p, 30) for p in point], strict=True))
    with fnad.Tape() as tape:
        leaves = [Node(p) for p in point]
        out = tape.apply(rule.name, *leaves)
        first = out.backward(create_graph=True)
        for i, si in enumerate(symbols):
            d_i = first[leaves[i]]
            second = d_i.backward()
            for j, sj in enumerate(symbols):
                expected = float(sympy.diff(expr, si, sj).evalf(30, subs=at))
                assert second.get(leaves[j], 0.0) == pytest.approx(
                    expected, rel=1e-10, abs=1e-12
                ), (name, point, i, j)


def test_module_functions_match_methods() -> None:
    for name in ("exp", "log", "sin", "cos", "tanh", "sigmoid", "sqrt", "relu", "abs"):
        function = getattr(fnad, name)
        with fnad.Tape():
            x = Node(0.7)
            via_method = getattr(x, name)()
            via_function = function(x)
        assert isinstance(via_function, Node)
        assert via_function.op == via_method.op == name
        assert function(0.7) == via_method.data
        assert isinstance(function(0.7), float)


def test_power_function_on_floats_and_nodes() -> None:
    assert fnad.power(2, 10) == 1024.0
    assert math.isnan(fnad.power(-8.0, 1 / 3))
    with fnad.Tape():
        x = Node(3.0)
        assert fnad.power(x, 2).data == 9.0
        assert fnad.power(2, x).data == 8.0
