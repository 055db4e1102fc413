"""A replay under :func:`fnad.strict`: it judges what eager judges, and raises what eager raises.

Eager strict mode raises at the first nan or ±inf value or adjoint with an error that names
the op and the node. A replay has no nodes to name, so when it meets a non-finite value it
re-runs the point eagerly (:func:`rerun_eagerly`): that raises exactly when eager does, with
exactly the eager error. The replay judges the values, and the adjoints of the vertices that
depend on an input, never the inner terms of a partial, as eager ``backward()`` does.

>>> import fnad
>>> prog = fnad.compile(lambda x: fnad.log(x), 1.0)
>>> with fnad.strict():
...     prog(0.0)
Traceback (most recent call last):
...
fnad.errors.NonFiniteError: ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fnad.compiled.scalar import all_finite, backward, forward
from fnad.engine import CONST, is_strict, judging_off
from fnad.errors import NonFiniteError

if TYPE_CHECKING:
    from fnad.compiled.program import Program

__all__ = ["judged_backward", "judged_forward", "rerun_eagerly"]


def judged_forward(
    program: Program, point: Sequence[float], values: list[float], *, unfolded: bool = False
) -> None:
    """The forward replay as eager judges it: on an error from a custom rule's own strict
    arithmetic, or under strict() on a nan or ±inf value, the point is re-run eagerly,
    which raises the eager error; if that passes (a folded sum's terms keep stale values,
    and are checked through the sum), the replay's values stand. ``unfolded`` computes
    every vertex, the terms of a folded sum included (what forward mode reads)."""
    try:
        if unfolded:
            forward(program._main, values, program._main.steps)
        else:
            forward(program._main, values)
            if program._extra.steps:
                forward(program._extra, values)
    except NonFiniteError:
        rerun_eagerly(program, point, gradient=False)
        raise
    if is_strict() and not all_finite(values):
        rerun_eagerly(program, point, gradient=False)


def judged_backward(
    program: Program, point: Sequence[float], values: list[float], adjoints: list[float]
) -> None:
    """The reverse replay under strict(): it judges the adjoints, not the inner terms of
    the partials. The replay writes the adjoints of the vertices that depend on an input
    (the others stay -0.0): the ones eager backward() judges. On a nan or ±inf among them
    the point is re-run eagerly, for the eager error."""
    with judging_off():
        backward(program._main, values, adjoints)
    if program._unjudged or not all_finite(
        a for a, op in zip(adjoints, program._ops, strict=False) if op != CONST
    ):
        rerun_eagerly(program, point, gradient=True)


def rerun_eagerly(program: Program, point: Sequence[float], *, gradient: bool) -> None:
    """Re-run ``point`` on a tape: under strict() this raises the eager error."""
    output, _ = program.trace(**dict(zip(program._names, point, strict=True)))
    try:
        if gradient:
            output.backward()
    finally:
        output.tape.close()
