"""Load an exported graph back as a :class:`Program`: re-evaluate and differentiate it.

A document is untrusted input. :mod:`fnad.reader` checks the whole of it before anything is
built, in time linear in its size and memory a small multiple of it, and raises
:class:`~fnad.GraphFormatError` (a ValueError) naming the problem, the vertex or edge, and
the fix (the list of checks is in :mod:`fnad.reader`). Ops are resolved by name in the rule
table, never as Python.

A :class:`Program` replays the graph on a fresh private tape through the rule table, so
at the document's own inputs it gives back the exported values and gradients bit for bit.

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

from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple, SupportsFloat

from fnad.core import CONST, Node, Tape, to_float
from fnad.errors import ReplayInputError
from fnad.reader import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_VERTICES,
    CheckedGraph,
    Source,
    Vertex,
    read_graphml,
    read_json,
)
from fnad.render import printable
from fnad.rules import RuleTable, current_rules
from fnad.schema import INPUT, input_names

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VERTICES",
    "Program",
    "ValueAndGrad",
    "from_graphml",
    "from_json",
]


# --------------------------------------------------------------------------- Program


class ValueAndGrad(NamedTuple):
    """What :meth:`Program.value_and_grad` returns: the value and ``{input name: gradient}``."""

    value: float
    grads: dict[str, float]

    def __str__(self) -> str:
        lines = [f"value = {self.value!r}"]
        # Input names are labels from a file: escaped, so none can forge a line or
        # send the terminal an escape sequence.
        lines.extend(f"∂/∂{printable(name)} = {grad!r}" for name, grad in self.grads.items())
        return "\n".join(lines)


class Program:
    """A loaded graph: evaluate and differentiate it at new inputs through the rule table.

    Inputs are the document's ``op == ""`` vertices, named by :attr:`input_names` (their
    labels; see :func:`fnad.schema.input_names` for unlabelled or repeated ones). Inputs
    left out of a call keep the value stored in the document. Build one with
    :func:`from_json`.
    """

    __slots__ = ("_inputs", "_names", "_order", "_output", "_rules", "_vertices")

    def __init__(
        self,
        vertices: Mapping[int, Vertex],
        inputs: Mapping[int, Sequence[int]],
        output: int,
        order: Sequence[int],
        rules: RuleTable,
    ) -> None:
        self._vertices = vertices
        self._inputs = inputs
        self._output = output
        self._order = order
        self._rules = rules
        leaves = sorted((v, vertices[v].label) for v in order if vertices[v].op == INPUT)
        self._names = input_names(leaves)

    @property
    def input_names(self) -> tuple[str, ...]:
        """The names to pass to :meth:`value_and_grad`, in vertex-id order."""
        return tuple(self._names.values())

    @property
    def inputs(self) -> dict[str, float]:
        """The input values stored in the document."""
        return {name: self._vertices[v].data for v, name in self._names.items()}

    @property
    def value(self) -> float:
        """The output's value stored in the document."""
        return self._vertices[self._output].data

    @property
    def rules(self) -> RuleTable:
        """The rule table the program's ops were resolved in (and replay with)."""
        return self._rules

    def __len__(self) -> int:
        return len(self._vertices)

    def __repr__(self) -> str:
        op = self._vertices[self._output].op or "input"
        return (
            f"Program({len(self._vertices)} vertices, "
            f"inputs ({printable(', '.join(self.input_names))}), "
            f"output op {op!r})"
        )

    def _values(self, given: Mapping[str, SupportsFloat]) -> dict[int, float]:
        ids = {name: v for v, name in self._names.items()}
        values: dict[int, float] = {}
        for name, value in given.items():
            vertex = ids.get(name)
            if vertex is None:
                known = ", ".join(map(repr, ids)) or "(none)"
                raise ReplayInputError(
                    f"the program has no input named {name!r}; its inputs are {known}"
                )
            values[vertex] = to_float(value, f"input {name!r}")
        return values

    def trace(self, /, **inputs: SupportsFloat) -> tuple[Node, dict[str, Node]]:
        """Rebuild the graph on a fresh tape; return the output node and the input nodes.

        >>> from fnad import Node, to_json
        >>> x = Node(3.0, label="x")
        >>> z, leaves = from_json(to_json(x * x)).trace(x=4.0)
        >>> z.data, z.backward()[leaves["x"]]
        (16.0, 8.0)
        """
        values = self._values(inputs)
        nodes: dict[int, Node] = {}
        with Tape(self._rules) as tape:
            for vertex in self._order:
                entry = self._vertices[vertex]
                if entry.op == INPUT:
                    nodes[vertex] = Node(values.get(vertex, entry.data), label=entry.label)
                elif entry.op == CONST:
                    nodes[vertex] = tape.constant(entry.data, label=entry.label)
                else:
                    args = [nodes[a] for a in self._inputs[vertex]]
                    nodes[vertex] = tape.apply(entry.op, *args)
        return nodes[self._output], {name: nodes[v] for v, name in self._names.items()}

    def __call__(self, /, **inputs: SupportsFloat) -> float:
        """The output's value at ``inputs``."""
        return self.trace(**inputs)[0].data

    def value_and_grad(self, /, **inputs: SupportsFloat) -> ValueAndGrad:
        """The output's value and its gradient with respect to every input, at ``inputs``.

        >>> from fnad import Node, to_json
        >>> a, b = Node(5.0, label="a"), Node(2.0, label="b")
        >>> from_json(to_json(a - b)).value_and_grad(a=1.0, b=10.0)
        ValueAndGrad(value=-9.0, grads={'a': 1.0, 'b': -1.0})
        """
        output, leaves = self.trace(**inputs)
        grads = output.backward()
        return ValueAndGrad(
            output.data, {name: grads.get(node, 0.0) for name, node in leaves.items()}
        )


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
    :func:`fnad.reader.document_source`'s. Ops are resolved by name in ``rules`` (default:
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
    :func:`fnad.reader.document_source`). The same checks as :func:`from_json` apply,
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


# --------------------------------------------------------------------------- adapter


def _program(graph: CheckedGraph, rules: RuleTable | None) -> Program:
    """The Program of a checked graph, seen through document ids, without copying it."""
    table = rules if rules is not None else current_rules()
    positions = _Positions(graph.ids)
    return Program(
        _Vertices(graph, positions),
        _Arguments(graph, positions),
        graph.ids[graph.output],
        graph.ids,
        table,
    )


class _Positions:
    """Document id -> vertex number of a checked graph (no dict when the ids are 0..n-1)."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.index = None if isinstance(ids, range) else {v: i for i, v in enumerate(ids)}

    def __call__(self, vertex: int) -> int:
        return vertex if self.index is None else self.index[vertex]


class _Vertices(Mapping[int, Vertex]):
    def __init__(self, graph: CheckedGraph, positions: _Positions) -> None:
        self.graph, self.positions = graph, positions

    def __getitem__(self, vertex: int) -> Vertex:
        return self.graph.vertex(self.positions(vertex))

    def __iter__(self) -> Iterator[int]:
        return iter(self.graph.ids)

    def __len__(self) -> int:
        return len(self.graph)


class _Arguments(Mapping[int, Sequence[int]]):
    def __init__(self, graph: CheckedGraph, positions: _Positions) -> None:
        self.graph, self.positions = graph, positions

    def __getitem__(self, vertex: int) -> Sequence[int]:
        ids = self.graph.ids
        return [ids[a] for a in self.graph.arguments(self.positions(vertex))]

    def __iter__(self) -> Iterator[int]:
        graph = self.graph
        return (graph.ids[v] for v in range(len(graph)) if graph.rules[v] is not None)

    def __len__(self) -> int:
        return sum(rule is not None for rule in self.graph.rules)
