"""Built-in ops: the derivative cheat sheet.

Each entry below is one op of the rule table: its name, its forward function on floats
(under ``@rule``) and, as the function body, its local partial derivatives ∂out/∂argᵢ.
A partials function receives the op's arguments and its output ``out``; it is written once
over :data:`Scalar` (``float`` or :class:`~fnad.Node`) and mypy checks it for both, so
the one function serves reverse mode on floats, forward mode and higher orders.

Kinks follow PyTorch: ``relu'(0) == 0`` and ``abs'(0) == 0``. All arithmetic is IEEE 754
(see :mod:`fnad._floats`): ``log(0) == -inf``, ``sqrt(-1)`` is nan, nothing raises.

The ops are also functions here (``fnad.tanh(x)``): given a Node they record it, given a
number they return a float.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import SupportsFloat, TypeVar, overload

from fnad import _floats
from fnad._internal import non_finite_value, run_forward
from fnad.core import Node, Operand, Tape, is_strict, to_float
from fnad.rules import Forward, Partials, Rule, builtin_rules, current_rules

__all__ = [
    "BinaryOp",
    "Scalar",
    "UnaryOp",
    "abs",
    "cos",
    "evaluate",
    "exp",
    "log",
    "power",
    "relu",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
    "value",
]

Scalar = TypeVar("Scalar", float, Node)
"""What a partials function computes with: plain floats, or Nodes for higher orders."""


def value(x: float | Node) -> float:
    """The number inside ``x``: for piecewise rules, which branch applies.

    >>> value(2.5), value(Node(2.5))
    (2.5, 2.5)
    """
    return x.data if isinstance(x, Node) else x


def evaluate(rule: Rule, args: tuple[float, ...]) -> float:
    """``rule``'s forward on floats: IEEE results, and strict() judges the value."""
    result = run_forward(rule, args)
    if result - result and is_strict():
        raise non_finite_value(rule.name, args, result)
    return result


class _OpFunction:
    """What UnaryOp and BinaryOp share: how an op runs on numbers and on Nodes.

    Built-in ops resolve by name, on numbers in the current rule table and on Nodes in the
    tape's; :mod:`fnad.custom` overrides the two hooks to use the op's own rule.
    """

    def __init__(self, name: str, doc: str = "") -> None:
        self.name = name
        self.__doc__ = doc

    def _on_numbers(self, args: tuple[float, ...]) -> float:
        return evaluate(current_rules()[self.name], args)

    def _on_tape(self, tape: Tape, args: tuple[Operand, ...]) -> Node:
        return tape.apply(self.name, *args)

    def __repr__(self) -> str:
        return f"<fnad op {self.name!r}>"


class UnaryOp(_OpFunction):
    """A one-argument op as a function: a Node in, a recorded Node out; a number in, a float out.

    >>> tanh(0.0), tanh(Node(0.0)).op
    (0.0, 'tanh')
    """

    @overload
    def __call__(self, x: Node, /) -> Node: ...
    @overload
    def __call__(self, x: SupportsFloat, /) -> float: ...
    def __call__(self, x: Operand, /) -> Node | float:
        if isinstance(x, Node):
            return self._on_tape(x.tape, (x,))
        return self._on_numbers((to_float(x, self.name, 1),))


class BinaryOp(_OpFunction):
    """A two-argument op as a function; a Node on either side records it.

    >>> power(2.0, 10), power(Node(2.0), 10).data
    (1024.0, 1024.0)
    """

    @overload
    def __call__(self, a: Node, b: Operand, /) -> Node: ...
    @overload
    def __call__(self, a: SupportsFloat, b: Node, /) -> Node: ...
    @overload
    def __call__(self, a: SupportsFloat, b: SupportsFloat, /) -> float: ...
    def __call__(self, a: Operand, b: Operand, /) -> Node | float:
        if isinstance(a, Node):
            return self._on_tape(a.tape, (a, b))
        if isinstance(b, Node):
            return self._on_tape(b.tape, (a, b))
        return self._on_numbers((to_float(a, self.name, 1), to_float(b, self.name, 2)))


def rule(
    name: str, arity: int, forward: Forward, *samples: tuple[float, ...]
) -> Callable[[Partials], Partials]:
    """Register the decorated partials function as op ``name`` in the built-in table."""

    def register(partials: Partials) -> Partials:
        builtin_rules().register(
            Rule(name, arity, forward, partials, samples=samples, doc=partials.__doc__ or "")
        )
        return partials

    return register


exp = UnaryOp("exp", "``e ** x``.")
log = UnaryOp("log", "Natural logarithm; ``log(0) == -inf``, nan below 0.")
sin = UnaryOp("sin", "Sine.")
cos = UnaryOp("cos", "Cosine.")
tanh = UnaryOp("tanh", "Hyperbolic tangent.")
sigmoid = UnaryOp("sigmoid", "Logistic function ``1 / (1 + exp(-x))``.")
sqrt = UnaryOp("sqrt", "Square root; nan below 0.")
relu = UnaryOp("relu", "``max(x, 0)``.")
abs = UnaryOp("abs", "Absolute value.")  # noqa: A001 - fnad.abs mirrors math-style naming
power = BinaryOp("pow", "``a ** b`` with IEEE results (nan for a negative base to a fraction).")


# ------------------------------------------------------------------ the cheat sheet
#     name        arity  forward on floats                 sample points (away from kinks)


@rule("add", 2, lambda a, b: a + b, (1.5, -2.0), (0.3, 4.0))
def _add(a: Scalar, b: Scalar, out: Scalar) -> tuple[float, float]:
    """∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1"""
    return 1.0, 1.0


@rule("sub", 2, lambda a, b: a - b, (1.5, -2.0), (0.3, 4.0))
def _sub(a: Scalar, b: Scalar, out: Scalar) -> tuple[float, float]:
    """∂(a-b)/∂a = 1, ∂(a-b)/∂b = -1"""
    return 1.0, -1.0


@rule("mul", 2, lambda a, b: a * b, (1.5, -2.0), (0.3, 4.0))
def _mul(a: Scalar, b: Scalar, out: Scalar) -> tuple[Scalar, Scalar]:
    """∂(a·b)/∂a = b, ∂(a·b)/∂b = a"""
    return b, a


@rule("truediv", 2, lambda a, b: a / b, (1.5, -2.0), (0.3, 4.0), (-2.0, 0.5))
def _truediv(a: Scalar, b: Scalar, out: Scalar) -> tuple[Scalar, Scalar]:
    """∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = -a/b²"""
    return 1 / b, -a / (b * b)


@rule("pow", 2, _floats.pow, (1.5, 2.0), (0.7, -1.5), (2.0, 0.5), (2.5, 3.0), (3.0, -2.0))
def _pow(a: Scalar, b: Scalar, out: Scalar) -> tuple[Scalar | float, Scalar | float]:
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a  (both 0 where PyTorch masks them)"""
    # Masked only where b·a^(b-1) is 0·inf: elsewhere at b == 0 it is an exact 0 whose own
    # derivative (∂²/∂a∂b = 1/a) higher orders need.
    d_base = 0.0 if value(b) == 0.0 and value(a) == 0.0 else b * power(a, b - 1)
    d_exponent = 0.0 if value(a) == 0.0 and value(b) >= 0.0 else out * log(a)
    return d_base, d_exponent


@rule("neg", 1, lambda x: -x, (1.5,), (-0.3,))
def _neg(x: Scalar, out: Scalar) -> tuple[float]:
    """∂(-x)/∂x = -1"""
    return (-1.0,)


@rule("exp", 1, _floats.exp, (0.5,), (-1.2,), (2.0,))
def _exp(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂eˣ/∂x = eˣ"""
    return (out,)


@rule("log", 1, _floats.log, (0.5,), (1.7,), (10.0,))
def _log(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂ln x/∂x = 1/x"""
    return (1 / x,)


@rule("sin", 1, _floats.sin, (0.5,), (-1.2,), (2.5,))
def _sin(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂sin x/∂x = cos x"""
    return (cos(x),)


@rule("cos", 1, _floats.cos, (0.5,), (-1.2,), (2.5,))
def _cos(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂cos x/∂x = -sin x"""
    return (-sin(x),)


@rule("tanh", 1, _floats.tanh, (0.5,), (-1.2,), (2.0,))
def _tanh(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂tanh x/∂x = 1 - tanh²x"""
    return (1 - out * out,)


@rule("sigmoid", 1, _floats.sigmoid, (0.5,), (-1.2,), (3.0,))
def _sigmoid(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂σ(x)/∂x = σ(x)·(1 - σ(x))"""
    return (out * (1 - out),)


@rule("sqrt", 1, _floats.sqrt, (0.5,), (2.0,), (9.0,))
def _sqrt(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂√x/∂x = 1/(2√x)"""
    return (0.5 / out,)


@rule("relu", 1, _floats.relu, (0.5,), (-1.2,), (3.0,))
def _relu(x: Scalar, out: Scalar) -> tuple[float]:
    """∂relu(x)/∂x = 1 if x > 0 else 0"""
    return (1.0 if value(x) > 0.0 else 0.0,)


@rule("abs", 1, math.fabs, (0.5,), (-1.2,), (3.0,))
def _abs(x: Scalar, out: Scalar) -> tuple[float]:
    """∂|x|/∂x = sign(x), 0 at 0"""
    v = value(x)
    return (1.0 if v > 0.0 else -1.0 if v < 0.0 else 0.0,)
