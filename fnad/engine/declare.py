"""How :mod:`fnad.engine.ops` declares a built-in op, and the op functions it makes.

The cheat sheet in :mod:`fnad.engine.ops` is written with the decorators here: ``@rule``
registers an op's forward function and partials in the built-in rule table, ``@unary`` or
``@binary`` above it makes the op the function ``fnad.<name>`` (a :class:`UnaryOp` or
:class:`BinaryOp`: a Node in, a recorded Node out; numbers in, a float out), and
``@arrays`` below it gives the op its array forms for the batched replay. Partials are
written over :data:`Scalar` and branch on :func:`value`. :mod:`fnad.transforms.custom`
builds a user's op functions on the same classes.

Dependencies inside the engine: :mod:`fnad.engine.rules`, :mod:`fnad.engine.scope` and
:mod:`fnad.engine.node`. Tape is imported for type checkers only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, SupportsFloat, TypeVar, overload

import attrs

from fnad._floats import IEEEFloat
from fnad._internal import non_finite_value, run_forward
from fnad.engine.node import Node, Operand, to_float
from fnad.engine.rules import (
    ArrayForward,
    ArrayPartials,
    Forward,
    Partials,
    Rule,
    builtin_rules,
    current_rules,
)
from fnad.engine.scope import is_strict
from fnad.errors import RuleError

if TYPE_CHECKING:
    from fnad.engine.tape import Tape

__all__ = [
    "BinaryOp",
    "Scalar",
    "UnaryOp",
    "arrays",
    "binary",
    "evaluate",
    "rule",
    "unary",
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
    tape's; :mod:`fnad.transforms.custom` overrides the two hooks to use the op's own rule.
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

    >>> from fnad.engine.ops import tanh
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
        result = self._on_numbers((to_float(x, self.name, 1),))
        # A partial rerun on IEEE floats (see fnad._floats) stays IEEE through op functions.
        return IEEEFloat(result) if isinstance(x, IEEEFloat) else result


class BinaryOp(_OpFunction):
    """A two-argument op as a function; a Node on either side records it.

    >>> from fnad.engine.ops import power
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
        result = self._on_numbers((to_float(a, self.name, 1), to_float(b, self.name, 2)))
        return IEEEFloat(result) if isinstance(a, IEEEFloat) or isinstance(b, IEEEFloat) else result


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


def unary(doc: str, name: str | None = None) -> Callable[[Partials], UnaryOp]:
    """Make the op registered by the ``@rule`` below a function: ``fnad.<name>``, documented.

    The decorated function's name is the op's unless ``name`` says otherwise."""
    return lambda partials: _op_function(UnaryOp, 1, name or partials.__name__, doc, partials)


def binary(doc: str, name: str | None = None) -> Callable[[Partials], BinaryOp]:
    """As :func:`unary`, for a two-argument op."""
    return lambda partials: _op_function(BinaryOp, 2, name or partials.__name__, doc, partials)


OpFunction = TypeVar("OpFunction", UnaryOp, BinaryOp)


def _op_function(
    kind: type[OpFunction], arity: int, name: str, doc: str, partials: Partials
) -> OpFunction:
    registered = builtin_rules()[name]
    if registered.partials is not partials or registered.arity != arity:
        raise RuleError(
            f"@{'unary' if arity == 1 else 'binary'} over op {name!r}: put it right above the @rule "
            f"that registers {name!r} with arity {arity} (pass name=... if the function's name "
            "is not the op's)"
        )
    return kind(name, doc)


def arrays(name: str, forward: ArrayForward) -> Callable[[ArrayPartials], ArrayPartials]:
    """Give built-in op ``name`` its array forms: ``forward`` and the decorated partials."""

    def register(partials: ArrayPartials) -> ArrayPartials:
        table = builtin_rules()
        rule = attrs.evolve(table[name], array_forward=forward, array_partials=partials)
        table.register(rule, replace=True)
        return partials

    return register
