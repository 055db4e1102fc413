"""Which tape is current, and strict mode: the engine's per-context state.

``with fnad.Tape() as tape:`` makes ``tape`` current for the block; outside any block, new
leaves go on the current context's default tape. Both are per thread and per asyncio task
(:mod:`contextvars`), as is :func:`strict`.

Dependencies inside the engine: none at import. Node and Tape read its context variables;
the one call upward is deliberate: :func:`current_tape` imports the Tape class when a
context needs its first default tape (a Node needs the current tape; a Tape makes Nodes).
"""

from __future__ import annotations

import sys
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, TypeAlias

from fnad.errors import TapeGrowthWarning

if TYPE_CHECKING:
    from fnad.engine.tape import Tape

__all__ = ["DEFAULT_TAPE_WARNING", "current_tape", "is_strict", "judging_off", "strict"]

tape_var: ContextVar[Tape | None] = ContextVar("fnad_tape", default=None)
"""The innermost ``with tape:`` block's tape, else this context's default tape (or None yet)."""
strict_var: ContextVar[bool] = ContextVar("fnad_strict", default=False)
"""Whether a :func:`strict` block is active."""
# The `with tape:` blocks open in this context, innermost first: (tape, token, outer blocks).
# Per context, so tasks and threads that enter one tape each restore their own state.
Entered: TypeAlias = "tuple[Tape, Token[Tape | None], Entered] | None"
entered_var: ContextVar[Entered] = ContextVar("fnad_entered", default=None)


def current_tape() -> Tape:
    """The tape new leaves go on: the innermost ``with Tape()`` block, else this context's default.

    Each thread and each asyncio task (contextvars) has its own default tape.
    """
    tape = tape_var.get()
    if tape is None:
        from fnad.engine.tape import Tape  # the deliberate call upward (module docstring)

        tape = Tape()
        tape_var.set(tape)
        _unwarned_default_tapes.add(tape)
    return tape


DEFAULT_TAPE_WARNING = 250_000
"""Vertices on a default tape at which fnad warns, once, that it keeps growing (~1 KB each).

A default tape keeps every node it ever recorded, so a training loop written without
``with fnad.Tape():`` grows by a whole graph per step (micrograd's moons demo: 65,814
vertices, ~65 MB, per step; 100 steps would need ~6.5 GB). Rather than free nodes behind
the user's back (the tape's graph is an artefact users export, and knowing what nobody can
reach would take weak references on the recording hot path), fnad warns when a leaf is
created or ``backward()`` runs on a default tape this large: the two things every training
step does. The demo loop meets it in its 4th step, at ~260 MB.
"""

_unwarned_default_tapes: weakref.WeakSet[Tape] = weakref.WeakSet()

# Python hides ResourceWarning by default; show this one (once per tape) unless the user
# chose warning filters on the command line (-W, PYTHONWARNINGS).
if not sys.warnoptions:
    warnings.filterwarnings("default", category=TapeGrowthWarning)


def default_tape_grows(tape: Tape) -> None:
    """Warn (once per default tape) that ``tape``, at least DEFAULT_TAPE_WARNING large, grows."""
    if tape in _unwarned_default_tapes:
        _unwarned_default_tapes.discard(tape)
        warnings.warn(
            f"the default tape now holds {len(tape):,} nodes (about 1 KB each) and keeps every "
            "node it ever recorded, so a loop that builds a graph per step outside a tape block "
            "grows without bound. Open one tape per step, `with fnad.Tape(): net = model.trace(); "
            "...`, or use fnad.nn.train_step, and each step's graph is freed with it. (Shown "
            "once; if one large graph on the default tape is what you want, ignore it.)",
            TapeGrowthWarning,
            stacklevel=3,
        )


@contextmanager
def strict() -> Iterator[None]:
    """Raise :class:`~fnad.NonFiniteError` at the first value or gradient that is nan or ±inf.

    Like NumPy's ``errstate(all="raise")`` or JAX's ``debug_nans``, it judges the value of
    every op recorded, and in ``backward()`` (at any order, in the transforms and in a
    compiled replay alike) the gradient of every vertex that depends on a variable: not
    constants, nor vertices computed from constants alone, nor the inner terms of a local
    derivative. Outside the block fnad follows IEEE 754 and returns inf/nan.

    >>> import fnad
    >>> x = fnad.Node(0.0, label="x")
    >>> x.log().data
    -inf
    >>> with fnad.strict():
    ...     x.log()
    Traceback (most recent call last):
    ...
    fnad.errors.NonFiniteError: fnad.strict: op 'log' produced -inf from (x=0.0); check the inputs to this op, or leave the strict() block to get IEEE inf/nan
    """
    token = strict_var.set(True)
    try:
        yield
    finally:
        strict_var.reset(token)


def is_strict() -> bool:
    """Whether a :func:`strict` block is active in this context."""
    return strict_var.get()


@contextmanager
def judging_off() -> Iterator[None]:
    """A block that :func:`strict` does not look into: the inner terms of a rule's partials.

    The chain rule judges the adjoints it accumulates, not the arithmetic inside a local
    derivative (``x**2``'s partial towards its exponent is ``x² ln x``, ``nan`` at
    ``x < 0``, and no gradient ever uses it): every interpreter that evaluates partials
    under strict() evaluates them in here, as :func:`backpropagate` does.

    >>> import fnad
    >>> with fnad.strict(), judging_off():
    ...     fnad.log(-1.0)
    nan
    """
    token = strict_var.set(False)
    try:
        yield
    finally:
        strict_var.reset(token)
