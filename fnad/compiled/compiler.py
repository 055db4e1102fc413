"""The compile pass: a :class:`~fnad.engine.table.GraphTable` becomes replay instructions.

Only vertices that depend on an input are replayed: the others' values are the same at every
point, computed once when the graph was recorded (the rules are deterministic). The output's
ancestors (table vertices ``0 .. output``) run forward and backward; vertices only inputs and
aux values need run forward only, after them, so they cannot touch the output's adjoints.
Chains of adds over products are then folded (:mod:`fnad.compiled.folding`).
"""

from __future__ import annotations

from typing import NamedTuple

from fnad.compiled.folding import fuse
from fnad.compiled.instructions import Instructions
from fnad.engine import CONST
from fnad.engine.table import GraphTable

__all__ = ["Compiled", "compile_table"]


class Compiled(NamedTuple):
    """What :func:`compile_table` makes of a table."""

    main: Instructions
    """The output's ancestors that depend on an input, run forward and backward."""
    extra: Instructions
    """The vertices only inputs and aux values need, run forward only."""
    unjudged: bool
    """Whether the output has a leaf that is not an input among its ancestors: eager strict()
    judges its gradient, a replay adds no adjoint into it, so a strict replay with a gradient
    re-runs the point eagerly."""


def compile_table(table: GraphTable) -> Compiled:
    """The instructions that replay ``table`` with its inputs as the variables.

    >>> import fnad
    >>> x = fnad.Node(3.0, label="x")
    >>> compiled = compile_table(GraphTable.of((x * 2.0).tanh(), [x]))
    >>> len(compiled.main.steps), len(compiled.extra.steps), compiled.unjudged
    (2, 0, False)
    """
    output, ops, rules = table.output, table.ops, table.rules
    starts, sources = table.starts, table.sources
    main, extra = Instructions(), Instructions()
    active = [False] * len(table)
    for k in table.inputs:
        active[k] = True
    uses = [0] * len(table)  # how many arguments each vertex is, and of which vertex
    users = [0] * len(table)
    unjudged = False
    # One int object per vertex, shared by every instruction that names it: slot numbers
    # read from the table's arrays would each be a new int (28 bytes).
    slots = list(range(len(table)))
    for k in slots:
        args = [slots[j] for j in sources[starts[k] : starts[k + 1]]]
        if not args:
            unjudged = unjudged or (k <= output and ops[k] != CONST and not active[k])
            continue
        for a in args:
            uses[a] += 1
            users[a] = k
        wanted = [active[a] for a in args]
        if any(wanted):
            active[k] = True
            block = main if k <= output else extra
            block.add(k, rules[ops[k]], ops[k], args, wanted)
    fuse(main, uses, users, {output, *table.aux, *table.inputs})
    return Compiled(main, extra, unjudged)
