"""What every tracer (the transforms, ``fnad.compile``) does alike: name a traced function's
arguments (:func:`parameter_names`) and check what it returned (:func:`check_output`), so a
graph traced by any of them reads, and answers a wrong return value, the same way.

Dependencies inside the engine: :mod:`fnad.engine.node` and :mod:`fnad.engine.tape`.
"""

from __future__ import annotations

import contextlib
import inspect
import numbers
import weakref
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fnad._internal import describe, name_of
from fnad.engine.node import Node, to_float
from fnad.engine.tape import Tape
from fnad.errors import OutputTypeError, TapeError

__all__ = ["check_output", "parameter_names"]

# f -> the names of its leading positional parameters; inspect.signature costs more than a
# small trace, and a transformed function is called again and again.
_positional: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def parameter_names(f: Callable[..., Any], count: int) -> list[str]:
    """Names for ``count`` positional arguments of ``f``: its parameters' names, then
    ``arg{i}`` (past them, or for ``*args``). The labels of a traced function's inputs,
    so that every message about them (strict() errors included) names them alike.

    >>> parameter_names(lambda x, y, *rest: x, 4)
    ['x', 'y', 'arg2', 'arg3']
    """
    try:
        known = _positional.get(f)
    except TypeError:  # not weakly referenceable
        known = None
    if known is None:
        try:
            parameters = list(inspect.signature(f).parameters.values())
        except (TypeError, ValueError):
            parameters = []
        leading: list[str] = []
        for p in parameters:
            if p.kind is p.VAR_POSITIONAL:
                break
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                leading.append(p.name)
        known = tuple(leading)
        with contextlib.suppress(TypeError):  # not weakly referenceable: computed each time
            _positional[f] = known
    names = list(known[:count])
    names.extend(f"arg{i}" for i in range(len(names), count))
    return names


def check_output(name: str, f: object, tape: Tape, out: object) -> Node | float:
    """What ``f`` returned when traced on ``tape`` by ``fnad.<name>``: a Node of that tape
    or a number (as a float), else an error that says what a transform needs."""
    if isinstance(out, Node):
        if out.tape is not tape:
            raise TapeError(
                f"fnad.{name}: {name_of(f)} returned a Node recorded on {out.tape!r}, not on the "
                f"tape it was traced on, {tape!r}; compute the result from the function's "
                "arguments, or pass that Node to the transformed function as an argument (a "
                "keyword argument, say) so that the trace runs on its tape"
            )
        return out
    if isinstance(out, bool) or not isinstance(out, (numbers.Real, Decimal)):
        raise OutputTypeError(
            f"fnad.{name}: {name_of(f)} returned {describe(out)}; it must return one scalar "
            f"(a fnad.Node or a real number){_output_hint(out)}"
        )
    return to_float(out, f"fnad.{name}: the result of {name_of(f)}")


def _output_hint(out: object) -> str:
    if out is None:
        return "; did it forget to `return` its result?"
    if isinstance(out, bool):
        return (
            ". A bool is not a number here (a comparison of Nodes gives one, and has no "
            "derivative): return a Node computed from the arguments, or 1.0/0.0 for a constant"
        )
    if isinstance(out, str):
        return "; convert text with float(...)"
    if isinstance(out, complex):
        return "; fnad is real-valued: return value.real or abs(value)"
    return (
        ". fnad is scalar-valued: for several outputs use has_aux=True (return (output, aux): "
        "the output is differentiated, aux comes back as it is) or transform one function "
        "per output"
    )
