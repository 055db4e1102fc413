"""Load an exported graph back as a :class:`Program`: re-evaluate and differentiate it.

A document is untrusted input. :mod:`fnad.graph.reader` checks the whole of it before anything is
built, in time linear in its size and memory a small multiple of it, and raises
:class:`~fnad.GraphFormatError` (a ValueError) naming the problem, the vertex or edge, and
the fix (the list of checks is in :mod:`fnad.graph.reader`). Ops are resolved by name in the rule
table, never as Python.

A loaded document is never traced: the reader gives its :class:`~fnad.engine.table.GraphTable`
(in the order an eager trace of it would have), each op's value is computed again through
its rule, and :meth:`fnad.Program.from_table` compiles it (see :mod:`fnad.compiled.program`);
the program replays it through the rule table and, at the document's own inputs, gives back
the exported values and gradients bit for bit.

>>> from fnad import Node, to_json
>>> x, y = Node(2.0, label="x"), Node(3.0, label="y")
>>> prog = from_json(to_json(x * y + x**2 + y.relu()))
>>> prog.input_names
('x', 'y')
>>> prog.value_and_grad(x=2.0, y=3.0)
ValueAndGrad(value=13.0, grads={'x': 7.0, 'y': 3.0})
>>> print(prog.value_and_grad(x=1.0))
value = 7.0
∂/∂x = 5.0
∂/∂y = 2.0
"""

from __future__ import annotations

import math
from array import array

import attrs

from fnad._internal import run_forward
from fnad.compiled.program import Program, ValueAndGrad
from fnad.engine import is_strict
from fnad.engine.rules import RuleTable
from fnad.engine.table import GraphTable, record
from fnad.graph.reader import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_VERTICES,
    Source,
    read_graphml,
    read_json,
)

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VERTICES",
    "Program",
    "ValueAndGrad",
    "from_graphml",
    "from_json",
]


def from_json(
    source: Source,
    *,
    rules: RuleTable | None = None,
    max_bytes: int = MAX_BYTES,
    max_vertices: int = MAX_VERTICES,
) -> Program:
    """Check a ``fnad.graph`` JSON document completely, then load it as a :class:`Program`.

    ``source`` is the document's text (a ``str`` starting with ``{``), its bytes, or the
    path of a file (any other ``str``, or a ``pathlib.Path``): the rule is
    :func:`fnad.graph.reader.document_source`'s. Ops are resolved by name in ``rules`` (default:
    :func:`fnad.current_rules`), so custom ops must be registered before loading. Every
    problem with the document is a :class:`~fnad.GraphFormatError` that names it; a
    ``source`` or limit of the wrong type is a :class:`~fnad.GraphArgumentError`.

    >>> from_json('{"graph": {"schema": "fnad.graph", "version": 9}}')
    Traceback (most recent call last):
    ...
    fnad.errors.GraphFormatError: graph document: unsupported schema version 9 (int); this fnad reads version 1; upgrade fnad to read it
    """
    return _program(read_json(source, rules=rules, max_bytes=max_bytes, max_vertices=max_vertices))


def from_graphml(
    source: Source,
    *,
    rules: RuleTable | None = None,
    max_bytes: int = MAX_BYTES,
    max_vertices: int = MAX_VERTICES,
) -> Program:
    """Load a file written by :func:`fnad.to_graphml` as a Program: a path, or its content.

    ``source`` is the path of the file (a ``str`` or a ``pathlib.Path``), or the GraphML
    itself as bytes or as a ``str`` starting with ``<`` (see
    :func:`fnad.graph.reader.document_source`). The same checks as :func:`from_json` apply,
    and before any XML is parsed, DOCTYPE and ENTITY declarations are refused (no entity
    expansion, no external entities). Labels come back exactly as they were exported.

    >>> import os, tempfile
    >>> from fnad import Node, to_graphml
    >>> x = Node(2.0, label="x")
    >>> path = os.path.join(tempfile.mkdtemp(), "g.graphml")
    >>> to_graphml(x * x + 1, path)
    >>> from_graphml(path).value_and_grad(x=3.0)
    ValueAndGrad(value=10.0, grads={'x': 6.0})
    """
    return _program(
        read_graphml(source, rules=rules, max_bytes=max_bytes, max_vertices=max_vertices)
    )


# --------------------------------------------------------------------------- compiling


def _program(table: GraphTable) -> Program:
    """Compile a checked document's table: no Node, no tape.

    Every op vertex's value is computed again by its rule from its arguments, in table
    order, as an eager trace of the document computes it (the document's stored values
    are kept for inputs and constants only), so a program is the one eager tracing would
    give. Under :func:`fnad.strict`, a non-finite value is recorded on a tape instead, to
    raise exactly the eager error.
    """
    values = array("d", table.values)
    ops, rules, starts, sources = table.ops, table.rules, table.starts, table.sources
    for k, op in enumerate(ops):
        first, last = starts[k], starts[k + 1]
        if first == last:
            continue
        if last - first == 1:
            value = run_forward(rules[op], (values[sources[first]],))
        elif last - first == 2:
            value = run_forward(rules[op], (values[sources[first]], values[sources[first + 1]]))
        else:
            value = run_forward(rules[op], [values[a] for a in sources[first:last]])
        values[k] = value
    computed = attrs.evolve(table, values=values)
    if is_strict() and not all(map(math.isfinite, values)):
        record(computed)  # raises the NonFiniteError an eager trace raises
    return Program.from_table(computed)
