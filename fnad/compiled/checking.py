"""Checking a compiled function: :meth:`Program.check` compares a replay with a fresh eager trace.

A program compiled from a function froze the function's Python control flow at the example
arguments, like ``jax.jit``. :func:`check_program` compiles the function again at a point and
compares the two graphs vertex by vertex (another op or other arguments: a branch went the
other way); when the graphs agree, it compares the replay's value and gradients with an eager
trace's ``backward()``, bit for bit. The first difference is a
:class:`~fnad.compiled.program.ProgramMismatchError` that names the vertex or the value.

>>> import fnad
>>> prog = fnad.compile(lambda x: x * x if x.data > 0 else -x, 2.0)
>>> check_program(prog, (3.0,), {})
>>> _first_difference(prog, fnad.compile(lambda x: -x, 2.0))
"vertex 1 is op 'neg' in the eager trace but 'mul' in the program"
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from fnad._internal import name_of
from fnad.compiled.arguments import bind_point
from fnad.compiled.program import Program, ProgramMismatchError
from fnad.compiled.program import compile as compile_program
from fnad.engine import CONST
from fnad.errors import TransformError

__all__ = ["check_program"]


def check_program(program: Program, args: Sequence[object], inputs: Mapping[str, object]) -> None:
    """:meth:`Program.check`: raise :class:`ProgramMismatchError` at the first difference."""
    if program._function is None and program._lost_function:
        raise TransformError(
            "Program.check needs the function the program was compiled from, and this "
            f"program was unpickled without it: {program._lost_function} cannot be imported "
            "by name (a lambda, a nested function, or one in __main__), so pickle left it "
            "out. Call check where the program was compiled, or compile a function "
            "defined at module level in an importable module"
        )
    if program._function is None:
        raise TransformError(
            "Program.check needs the function the program was compiled from; programs "
            "loaded from a file have none (compare prog.value_and_grad with your own oracle)"
        )
    point = bind_point(program, args, inputs)
    fresh = compile_program(program._function, *point, has_aux=program._has_aux)
    where = _first_difference(program, fresh)
    if where is None:
        # The oracle is eager: the same graph traced again at the point, then backward().
        ours = program.evaluate(point)
        output, leaves = fresh.trace()
        try:
            grads = output.backward()
        finally:
            output.tape.close()
        theirs = (output.data, *(grads.get(leaves[name], 0.0) for name in program._names))
        names = ("the value", *(f"the gradient ∂/∂{name}" for name in program._names))
        for name, mine, eager in zip(names, (ours.value, *ours.gradient), theirs, strict=True):
            if not _same(mine, eager):
                where = f"{name} replays as {mine!r} but an eager trace gives {eager!r}"
                break
    if where is not None:
        raise ProgramMismatchError(
            f"the program compiled from {name_of(program._function)} no longer matches it at "
            f"this point: {where}. Python control flow that depends on values was fixed "
            "when the program was traced; compile again at this point, or use fnad.grad / "
            "fnad.value_and_grad, which trace every call"
        )


def _first_difference(program: Program, fresh: Program) -> str | None:
    """Where two programs' graphs first differ, in words, or None if they are the same."""
    mine, theirs = _structure(program), _structure(fresh)
    for k, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a[0] != b[0] or not (
            _same(a[1], b[1]) if type(a[1]) is float and type(b[1]) is float else a[1] == b[1]
        ):
            label = program.table.labels[k]
            named = f" (label {label!r})" if label else ""
            if a[0] != b[0]:
                return (
                    f"vertex {k}{named} is op {b[0]!r} in the eager trace but {a[0]!r} in "
                    "the program"
                )
            return (
                f"vertex {k}{named} (op {a[0]!r}) reads {b[1]} in the eager trace but "
                f"{a[1]} in the program"
            )
    if len(mine) != len(theirs):
        return f"the eager trace has {len(theirs)} vertices, the program {len(mine)}"
    return None


def _same(a: float, b: float) -> bool:
    """Equal as a replay is to eager: bit for bit (``0.0`` is not ``-0.0``), any nan to any nan.

    >>> _same(0.0, -0.0), _same(float("nan"), -float("nan")), _same(2.0, 2.0)
    (False, True, True)
    """
    if a != a:
        return b != b
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _structure(program: Program) -> list[tuple[str, object]]:
    """Each vertex as (op, its argument slots, or a constant's value, or "input")."""
    table = program.table
    return [
        (op, table.arguments(k) or (value if op == CONST else "input"))
        for k, (op, value) in enumerate(zip(table.ops, table.values, strict=True))
    ]
