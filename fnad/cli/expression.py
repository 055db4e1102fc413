"""A parsed expression: the postfix program :func:`fnad.cli.parser.parse` makes, and its run.

An :class:`Expression` is a flat program of instructions (a number, a variable, or an op
with its arity), which :meth:`Expression.build` runs with a loop and a stack, recording
every op on the current :class:`~fnad.Tape`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import SupportsFloat

import attrs

from fnad.engine import Node, Tape, current_tape
from fnad.errors import ExpressionError

__all__ = ["NUM", "OP", "VAR", "Expression", "Instruction"]

# Instructions of the postfix program.
NUM = 0  # (NUM, value, column)
VAR = 1  # (VAR, name, column)
OP = 2  # (OP, op name, column, arity)

Instruction = tuple[int, float | str, int, int]


@attrs.frozen
class Expression:
    """A parsed expression: a postfix program over numbers, variables and registered ops.

    Build it on the current tape with :meth:`build`, or get the value and gradient at
    a point with :meth:`value_and_grad`.

    >>> from fnad.cli.parser import parse
    >>> expr = parse("tanh(w*x + b)")
    >>> expr.variables, expr.functions
    (('w', 'x', 'b'), ('tanh',))
    >>> value, grads = expr.value_and_grad(w=0.5, x=2.0, b=0.0)
    >>> round(value, 6), round(grads["b"], 6)
    (0.761594, 0.419974)
    """

    text: str
    """The source text."""
    program: tuple[Instruction, ...] = attrs.field(repr=False)
    """The postfix program: ``(kind, number or name, column, arity)`` per instruction."""
    variables: tuple[str, ...]
    """The variable names, in order of first appearance."""
    functions: tuple[str, ...]
    """The op names called by name, in order of first appearance."""

    def build(self, values: Mapping[str, SupportsFloat]) -> tuple[Node, dict[str, Node]]:
        """Record the expression on the current tape; return its output and its leaves.

        ``values`` must give exactly the expression's variables. Each variable becomes
        one leaf :class:`~fnad.Node` labelled with its name (used as often as it appears);
        each number becomes a ``const`` node, as ``x * 2`` does in Python.

        >>> from fnad.cli.parser import parse
        >>> import fnad
        >>> with fnad.Tape():
        ...     z, leaves = parse("x*x + 1").build({"x": 3.0})
        >>> z.data, z.backward()[leaves["x"]]
        (10.0, 6.0)
        """
        self._check_values(values)
        tape: Tape = current_tape()
        leaves = {name: Node(values[name], label=name) for name in self.variables}
        stack: list[Node] = []
        for kind, payload, _column, arity in self.program:
            if kind == NUM:
                assert isinstance(payload, float)
                stack.append(tape.constant(payload))
            elif kind == VAR:
                assert isinstance(payload, str)
                stack.append(leaves[payload])
            else:
                assert isinstance(payload, str)
                args = stack[len(stack) - arity :]
                del stack[len(stack) - arity :]
                stack.append(tape.apply(payload, *args))
        (output,) = stack
        return output, leaves

    def value_and_grad(self, **values: SupportsFloat) -> tuple[float, dict[str, float]]:
        """The value at ``values`` and the partial derivative for each variable.

        Traced on a fresh private tape, like :func:`fnad.value_and_grad`.

        >>> from fnad.cli.parser import parse
        >>> parse("x**-1").value_and_grad(x=2)
        (0.5, {'x': -0.25})
        """
        with Tape():
            output, leaves = self.build(values)
            grads = output.backward()
            return output.data, {name: grads.get(leaf, 0.0) for name, leaf in leaves.items()}

    def _check_values(self, values: Mapping[str, SupportsFloat]) -> None:
        used = set(self.variables)
        unknown = [name for name in values if name not in used]
        if unknown:
            uses = ", ".join(self.variables) if self.variables else "no variables"
            raise ExpressionError(
                f"value given for {unknown[0]!r}, which the expression does not use "
                f"(it uses {uses}); remove it or check its spelling"
            )
        for name in self.variables:
            if name not in values:
                column = next(c for k, p, c, _ in self.program if k == VAR and p == name)
                raise ExpressionError(
                    f"no value for variable {name!r} (column {column}); give it as {name}=VALUE",
                    column,
                )
