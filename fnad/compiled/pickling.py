"""How a :class:`~fnad.compiled.program.Program` pickles: as its graph table, compiled again on load.

A program is its :class:`~fnad.engine.table.GraphTable` (flat columns of numbers and
strings, the input names, the rule of each op) plus the interpreter's instructions, which
:meth:`Program.from_table` derives from the table in linear time. So a pickle holds the
table, whether the program has aux values, and the function it was compiled from when
that function pickles by reference (a module-level ``def`` in an importable module);
unpickling compiles the table again. The rules pickle by reference
(:mod:`fnad.engine.pickling`): built-in ops by name, custom ops by their functions' names.

The compiled function only serves :meth:`Program.check`; one that cannot be imported by
name (a lambda, a nested function, one defined in ``__main__`` — a notebook or the
script that runs, which a worker process may not have) is left out, and ``check`` on
the unpickled program says so.

Unpickling imports modules and calls the functions named in the data: unpickle only
what you trust. ``fnad.to_json`` / ``fnad.from_json`` is the format for untrusted data.

>>> import pickle, fnad
>>> prog = fnad.compile(lambda x, y: x * y + y.tanh(), 2.0, 3.0)
>>> again = pickle.loads(pickle.dumps(prog))
>>> again.value_and_grad(1.0, 2.0) == prog.value_and_grad(1.0, 2.0)
True
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fnad._internal import name_of
from fnad.compiled.program import Program
from fnad.engine.pickling import importable
from fnad.engine.table import GraphTable

__all__ = ["copy_program", "reduce_program", "restore_program"]


def reduce_program(program: Program) -> tuple[Callable[..., Program], tuple[Any, ...]]:
    """What ``pickle`` stores for ``program`` (:meth:`Program.__reduce__`)."""
    function = program._function
    lost = program._lost_function
    if function is not None and (
        getattr(function, "__module__", None) == "__main__" or not importable(function)
    ):
        lost = f"{name_of(function)} (module {getattr(function, '__module__', '?')!r})"
        function = None
    return restore_program, (program.table, program._has_aux, function, lost)


def restore_program(
    table: GraphTable, has_aux: bool, function: Callable[..., Any] | None, lost: str
) -> Program:
    """A program again, compiled from its pickled table (:func:`reduce_program`)."""
    program = Program.from_table(table)
    program._function = function
    program._has_aux = has_aux
    program._lost_function = lost
    return program


def copy_program(program: Program, memo: dict[int, object]) -> Program:
    """``copy.deepcopy(program)``: a new program from a copy of its table, with the
    compiled function kept (a copy stays in this process)."""
    return restore_program(
        copy.deepcopy(program.table, memo),
        program._has_aux,
        program._function,
        program._lost_function,
    )
