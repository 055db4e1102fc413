"""Load an exported graph back as a :class:`Program`: re-evaluate and differentiate it.

A document is untrusted input. :mod:`fnad.graph.reader` checks the whole of it before anything is
built, in time linear in its size and memory a small multiple of it, and raises
:class:`~fnad.GraphFormatError` (a ValueError) naming the problem, the vertex or edge, and
the fix (the list of checks is in :mod:`fnad.graph.reader`). Ops are resolved by name in the rule
table, never as Python.

A loaded document is traced once and compiled to a :class:`fnad.Program` (see
:mod:`fnad.compiled.program`), which replays it through the rule table; at the document's own inputs
it gives back the exported values and gradients bit for bit.

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

from fnad.compiled.program import Program, ValueAndGrad
from fnad.engine import CONST, Node, Tape
from fnad.engine.rules import RuleTable, current_rules
from fnad.graph.reader import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_VERTICES,
    CheckedGraph,
    Source,
    read_graphml,
    read_json,
)
from fnad.graph.schema import INPUT, input_names

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
    graph = read_json(source, rules=rules, max_bytes=max_bytes, max_vertices=max_vertices)
    return _program(graph, rules)


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
    graph = read_graphml(source, rules=rules, max_bytes=max_bytes, max_vertices=max_vertices)
    return _program(graph, rules)


# --------------------------------------------------------------------------- compiling


def _program(graph: CheckedGraph, rules: RuleTable | None) -> Program:
    """Trace a checked document once on a private tape and compile it to a Program.

    The document's inputs are named by their labels (:func:`fnad.graph.schema.input_names`, with
    the document's own ids for unlabelled or repeated ones), in document-id order.
    """
    table = rules if rules is not None else current_rules()
    nodes: list[Node] = []
    leaves: list[tuple[int, Node]] = []
    with Tape(table) as tape:
        for vertex in range(len(graph)):
            op, label, data = graph.ops[vertex], graph.labels[vertex], graph.data[vertex]
            if op == INPUT:
                node = Node(data, label=label)
                leaves.append((graph.ids[vertex], node))
            elif op == CONST:
                node = tape.constant(data, label=label)
            else:
                node = tape.apply(op, *[nodes[a] for a in graph.arguments(vertex)], label=label)
            nodes.append(node)
    leaves.sort(key=lambda leaf: leaf[0])
    names = input_names([(vertex, node.label) for vertex, node in leaves])
    try:
        return Program.from_nodes(
            nodes[graph.output], [node for _, node in leaves], names=list(names.values())
        )
    finally:
        tape.close()
