"""What callers hand a :class:`~fnad.compiled.program.Program`, checked before anything runs.

The inputs of one call, by position and by name, are bound into a point (one float per
input, the stored values for the inputs left out), and :meth:`Program.jvp`'s tangents into
one float per input; the nodes given to :meth:`Program.from_nodes` must be leaves and
nodes of the output's one graph. A wrong name, count or node is a
:class:`~fnad.errors.ReplayInputError`, a value that is not a number
:func:`~fnad.engine.to_float`'s error; each names the input and the fix.

>>> import fnad
>>> prog = fnad.compile(lambda x, y: x * y, 2.0, 3.0)
>>> bind_point(prog, (5.0,), {})
[5.0, 3.0]
>>> bind_point(prog, (), {"z": 1.0})
Traceback (most recent call last):
...
fnad.errors.ReplayInputError: the program has no input named 'z'; its inputs are 'x', 'y'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from fnad._internal import describe
from fnad.engine import CONST, Node, to_float
from fnad.errors import ReplayInputError

if TYPE_CHECKING:
    from fnad.compiled.program import Program

__all__ = ["bind_point", "bind_tangents", "check_nodes"]


def bind_point(
    program: Program, args: Sequence[object], kwargs: Mapping[str, object]
) -> list[float]:
    """The input values of one call: positions, then names, then the stored values."""
    names = program._names
    if len(args) > len(names):
        raise ReplayInputError(
            f"the program takes {len(names)} input(s) ({', '.join(names) or 'none'}), "
            f"got {len(args)} positional arguments"
        )
    point = [program._values[k] for k in program._inputs]
    for position, value in enumerate(args):
        point[position] = to_float(value, f"input {names[position]!r}")
    if kwargs:
        index = {name: i for i, name in enumerate(names)}
        for name, value in kwargs.items():
            i = index.get(name)
            if i is None:
                known = ", ".join(map(repr, names)) or "(none)"
                raise ReplayInputError(
                    f"the program has no input named {name!r}; its inputs are {known}"
                )
            if i < len(args):
                raise ReplayInputError(
                    f"input {name!r} was given by position and by name; give it once"
                )
            point[i] = to_float(value, f"input {name!r}")
    return point


def bind_tangents(point: Sequence[float], tangents: Sequence[object]) -> list[float]:
    """:meth:`Program.jvp`'s tangents: one number per input, as floats."""
    if len(tangents) != len(point):
        raise ReplayInputError(
            f"jvp: {len(point)} primal(s) but {len(tangents)} tangent(s); give one "
            "tangent per input (0.0 for inputs that do not move)"
        )
    return [to_float(t, "jvp: tangent", i) for i, t in enumerate(tangents, 1)]


def check_nodes(
    output: Node,
    inputs: Sequence[Node],
    aux: Sequence[Node],
    names: Sequence[str] | None,
) -> None:
    """:meth:`Program.from_nodes`' arguments: an output, its leaves and aux nodes on its tape."""
    if not isinstance(output, Node):
        raise ReplayInputError(
            f"Program.from_nodes: the output must be a fnad.Node, got {describe(output)}"
        )
    tape = output.tape
    for role, nodes in (("input", inputs), ("aux", aux)):
        for node in nodes:
            if not isinstance(node, Node) or node.tape is not tape:
                raise ReplayInputError(
                    f"Program.from_nodes: {role} {describe(node)} is not a Node on the "
                    f"output's tape {tape!r}; pass leaves and nodes of that one graph"
                )
    for node in inputs:
        if node.inputs or node.op == CONST:
            raise ReplayInputError(
                f"Program.from_nodes: input {describe(node)} is not a leaf made with "
                "fnad.Node(...); a program's inputs are its graph's variables"
            )
    if len(set(inputs)) != len(inputs):
        raise ReplayInputError("Program.from_nodes: an input is listed twice; list each once")
    if names is not None and (len(names) != len(inputs) or len(set(names)) != len(names)):
        raise ReplayInputError(
            f"Program.from_nodes: {len(names)} names for {len(inputs)} inputs; give "
            "each input one unique name"
        )
