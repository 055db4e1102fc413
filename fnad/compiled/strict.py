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

from fnad.compiled.scalar import all_finite, forward
from fnad.errors import NonFiniteError

if TYPE_CHECKING:
    from fnad.compiled.program import Program

__all__ = ["judged_forward", "rerun_eagerly"]


def judged_forward(program: Program, point: Sequence[float], values: list[float]) -> None:
    """The forward replay under strict(): on a nan or ±inf value (or an error from a
    custom rule's own strict arithmetic), the point is re-run eagerly, which raises
    the eager error; if that passes (a folded sum's terms keep stale values, and are
    checked through the sum), the replay's values stand."""
    try:
        forward(program._main, values)
        if program._extra.steps:
            forward(program._extra, values)
    except NonFiniteError:
        rerun_eagerly(program, point, gradient=False)
        raise
    if not all_finite(values):
        rerun_eagerly(program, point, gradient=False)


def rerun_eagerly(program: Program, point: Sequence[float], *, gradient: bool) -> None:
    """Re-run ``point`` on a tape: under strict() this raises the eager error."""
    output, _ = program.trace(**dict(zip(program._names, point, strict=True)))
    try:
        if gradient:
            output.backward()
    finally:
        output.tape.close()
