"""Every built-in rule against two independent oracles: sympy's symbolic derivative and
central finite differences, at the sample points each rule declares."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import sympy

import fnad
from fnad import Node
from fnad.engine.rules import Rule, builtin_rules

a_, b_ = sympy.symbols("a b", real=True)


class _Floor(sympy.Function):  # type: ignore[misc]  # sympy is untyped
    """⌊x⌋ with its derivative: 0 away from the integers (sympy leaves floor's unevaluated)."""

    @classmethod
    def eval(cls, x: sympy.Expr) -> sympy.Expr | None:
        return sympy.floor(x) if x.is_Number else None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.S.Zero


class _Ceiling(_Floor):
    @classmethod
    def eval(cls, x: sympy.Expr) -> sympy.Expr | None:
        return sympy.ceiling(x) if x.is_Number else None


class _Trunc(_Floor):
    @classmethod
    def eval(cls, x: sympy.Expr) -> sympy.Expr | None:
        return sympy.Integer(int(x)) if x.is_Number else None


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
    "tan": sympy.tan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "asinh": sympy.asinh,
    "acosh": sympy.acosh,
    "atanh": sympy.atanh,
    "atan2": sympy.atan2,
    "hypot": lambda a, b: sympy.sqrt(a**2 + b**2),
    "log1p": lambda x: sympy.log(1 + x),
    "expm1": lambda x: sympy.exp(x) - 1,
    "log2": lambda x: sympy.log(x, 2),
    "log10": lambda x: sympy.log(x, 10),
    "exp2": lambda x: 2**x,
    "erf": sympy.erf,
    "sign": sympy.sign,
    "floor": _Floor,
    "ceil": _Ceiling,
    "fmod": lambda a, b: a - b * _Trunc(a / b),
    "mod": lambda a, b: a - b * _Floor(a / b),
    "minimum": sympy.Min,
    "maximum": sympy.Max,
    "softplus": lambda x: sympy.log(1 + sympy.exp(x)),
    "leaky_relu": lambda x, slope: sympy.Piecewise((x, x > 0), (slope * x, True)),
    "gelu": lambda x: x / 2 * (1 + sympy.erf(x / sympy.sqrt(2))),
    "silu": lambda x: x / (1 + sympy.exp(-x)),
}

BUILTIN = sorted(SYMPY)


def test_every_builtin_op_has_an_oracle() -> None:
    registered = set(builtin_rules())
    assert set(BUILTIN) <= registered
    from fnad.engine import ops

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


UNARY = sorted(name for name in BUILTIN if builtin_rules()[name].arity == 1 and name != "neg")
BINARY = ["atan2", "hypot", "fmod", "mod", "minimum", "maximum", "leaky_relu"]


def test_module_functions_match_methods() -> None:
    for name in UNARY:
        function = getattr(fnad, name)
        with fnad.Tape():
            x = Node(0.7)
            via_method = getattr(x, name)()
            via_function = function(x)
        assert isinstance(via_function, Node)
        assert via_function.op == via_method.op == name
        assert function(0.7) == via_method.data or math.isnan(via_method.data)  # acosh(0.7)
        assert isinstance(function(0.7), float)


def test_power_function_on_floats_and_nodes() -> None:
    assert fnad.power(2, 10) == 1024.0
    assert math.isnan(fnad.power(-8.0, 1 / 3))
    with fnad.Tape():
        x = Node(3.0)
        assert fnad.power(x, 2).data == 9.0
        assert fnad.power(2, x).data == 8.0


def test_binary_module_functions_match_methods() -> None:
    for name in BINARY:
        function = getattr(fnad, name)
        with fnad.Tape():
            x, y = Node(-0.7), Node(0.3)
            via_method = getattr(x, name)(y)
            via_function = function(x, y)
            with_number = function(-0.7, y)
        assert isinstance(via_function, Node) and isinstance(with_number, Node)
        assert via_function.op == via_method.op == with_number.op == name
        assert function(-0.7, 0.3) == via_method.data == with_number.data
        assert isinstance(function(-0.7, 0.3), float)


def test_leaky_relu_slope_defaults_to_pytorchs() -> None:
    assert fnad.leaky_relu(-2.0) == fnad.leaky_relu(-2.0, 0.01) == -0.02
    assert fnad.leaky_relu(3.0) == 3.0
    with fnad.Tape():
        x = Node(-2.0)
        y = x.leaky_relu()
        slope = y.inputs[1]
        assert (slope.op, slope.data) == ("const", 0.01)
        assert y.backward()[x] == 0.01
        z = fnad.leaky_relu(x, 0.2)
        assert z.data == -0.4 and z.backward()[x] == 0.2


def test_operators_mod_floor_ceil() -> None:
    with fnad.Tape():
        x = Node(5.5, label="x")
        assert (x % 2).op == "mod" and (x % 2).data == 1.5
        assert (-x % 2).data == 0.5  # Python's sign convention: the sign of the divisor
        assert (7 % x).op == "mod" and (7 % x).data == 1.5
        assert (x % -2).backward()[x] == 1.0
        assert math.floor(x).op == "floor" and math.floor(x).data == 5.0
        assert math.ceil(x).op == "ceil" and math.ceil(x).data == 6.0
        assert fnad.mod(-5.5, 2) == -5.5 % 2 and fnad.fmod(-5.5, 2) == math.fmod(-5.5, 2)
