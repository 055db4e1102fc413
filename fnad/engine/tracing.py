"""What a traced function returned: the one check every tracer (the transforms, ``fnad.compile``)
applies to a user function's result, so they all answer a wrong return value the same way."""

from __future__ import annotations

import numbers
from decimal import Decimal

from fnad._internal import describe, name_of
from fnad.engine.node import Node, to_float
from fnad.engine.tape import Tape
from fnad.errors import OutputTypeError, TapeError

__all__ = ["check_output"]


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
