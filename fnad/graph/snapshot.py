"""The graph of an output as documents and pictures show it: a renumbering view of its table.

Export (:mod:`fnad.graph.writer`), pictures, summaries and explain (:mod:`fnad.viz`) all
read one :class:`Snapshot`. It is made from a :class:`~fnad.engine.table.GraphTable` — of an
output Node, of a Program, or of a checked document — by two passes over the table's
columns:

1. the chain rule, once (:func:`~fnad.engine.table.backpropagate_table`): ∂output/∂v for
   every vertex and the local partial of every argument, bit-identical to
   ``output.backward()`` and recording nothing;
2. the renumbering: the table is in ``networkx.topological_sort`` order (the order
   ``backward()`` walks), a document in **recording order** (also topological), so ids read
   like the program: ``x`` is 0, ``y`` is 1, … and the output is last. Each vertex's
   arguments become its *edges*: one per distinct argument, in order of its first argument
   position, with the positions it fills and its partials summed over them (``x * x`` is one
   edge with positions ``(0, 1)``), as the format stores them.

>>> from fnad import Node
>>> x, y = Node(2.0, label="x"), Node(3.0, label="y")
>>> snap = snapshot(x * y + x)
>>> snap.ops, snap.grads, snap.output
(('', '', 'mul', 'add'), (4.0, 2.0, 1.0, 1.0), 3)
>>> list(snap.edges())
[(0, 2, (0,), 3.0, 3.0), (1, 2, (1,), 2.0, 2.0), (2, 3, (0,), 1.0, 1.0), (0, 3, (1,), 1.0, 1.0)]

Nothing here is recursive: a chain of a million vertices is two loops.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, TypeAlias, runtime_checkable

import attrs

from fnad._internal import Vertex
from fnad.engine import GraphTable, Node, backpropagate_table, vertices_of
from fnad.errors import OperandTypeError

__all__ = ["GraphLike", "Graphable", "Snapshot", "snapshot"]


@runtime_checkable
class Graphable(Protocol):
    """Anything that stands for a recorded graph through ``as_node()``: every exporter (and
    render) accepts one in place of a Node. An object that also has a ``table`` (a
    :class:`~fnad.engine.table.GraphTable`), such as a compiled :class:`fnad.Program`, is
    read from that table, without recording Nodes."""

    def as_node(self) -> Node:
        """The output node of the graph, recorded on a tape."""
        ...


GraphLike: TypeAlias = "Node | GraphTable | Graphable"
"""The output whose graph is exported or drawn: a Node, a Program, or a graph table."""


@attrs.frozen(eq=False)
class Snapshot:
    """The graph of an output, numbered and differentiated once for every exporter.

    Vertices ``0 .. n-1`` are in recording order, the output last. ``grads[i]`` is
    ∂output/∂vertex. The edges into vertex ``i`` are ``edge_starts[i] .. edge_starts[i+1]``
    of the edge columns: ``edge_sources`` (the distinct arguments, in order of their first
    position), ``edge_positions`` and ``edge_partials`` (the local derivative summed over the
    positions). ``nodes`` holds the Nodes for an output Node's snapshot (None for a table's),
    so pictures and explain can name vertices by their Nodes.
    """

    ops: Sequence[str]
    labels: Sequence[str]
    values: Sequence[float]
    grads: Sequence[float]
    edge_starts: Sequence[int]
    edge_sources: Sequence[int]
    edge_positions: Sequence[tuple[int, ...]]
    edge_partials: Sequence[float]
    nodes: Sequence[Node] | None = None

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def output(self) -> int:
        """The id of the output vertex: the last one."""
        return len(self.ops) - 1

    def vertex(self, i: int) -> Vertex:
        """Vertex ``i``'s value, op and label, as messages and titles name a vertex."""
        return Vertex(self.values[i], self.ops[i], self.labels[i])

    def arguments(self, i: int) -> Sequence[int]:
        """The distinct arguments of vertex ``i``, in order of their first position."""
        return self.edge_sources[self.edge_starts[i] : self.edge_starts[i + 1]]

    def partials(self, i: int) -> Sequence[float]:
        """The local derivative along each of :meth:`arguments`, summed over positions."""
        return self.edge_partials[self.edge_starts[i] : self.edge_starts[i + 1]]

    def edges(
        self, targets: Iterable[int] | None = None
    ) -> Iterator[tuple[int, int, tuple[int, ...], float, float]]:
        """``(source, target, positions, partial, flow)`` for every edge into ``targets``
        (all edges by default, grouped by target in id order); ``flow`` is the gradient the
        edge carries back, ``grads[target] * partial``."""
        starts, sources, positions, partials, grads = (
            self.edge_starts,
            self.edge_sources,
            self.edge_positions,
            self.edge_partials,
            self.grads,
        )
        for target in range(len(self.ops)) if targets is None else targets:
            grad = grads[target]
            for e in range(starts[target], starts[target + 1]):
                partial = partials[e]
                yield sources[e], target, positions[e], partial, grad * partial

    def index(self) -> dict[Node, int]:
        """The id of each Node of an output Node's snapshot (raises for a table's)."""
        if self.nodes is None:
            raise OperandTypeError(
                "this graph came from a table (a Program or a file), which holds no Nodes; "
                "pass the output Node to name vertices by their Nodes"
            )
        return {node: i for i, node in enumerate(self.nodes)}

    @classmethod
    def of_table(cls, table: GraphTable, nodes: Sequence[Node] | None = None) -> Snapshot:
        """The snapshot of ``table``'s output and its ancestors (``nodes``: the table's
        vertices as Nodes, when it was made from a tape)."""
        grads, partials = backpropagate_table(table)
        output = table.output
        ids = table.ids
        # Recording order, a topological order: each vertex's arguments come first.
        order: Sequence[int] = (
            range(output + 1) if ids is None else sorted(range(output + 1), key=ids.__getitem__)
        )
        number = array("i", bytes(4 * (output + 1)))
        for i, v in enumerate(order):
            number[v] = i
        starts, sources = table.starts, table.sources
        edge_starts = array("i", [0])
        edge_sources: list[int] = []
        edge_positions: list[tuple[int, ...]] = []
        edge_partials: list[float] = []
        add_source, add_positions, add_partial = (
            edge_sources.append,
            edge_positions.append,
            edge_partials.append,
        )
        add_start = edge_starts.append
        for v in order:
            first, last = starts[v], starts[v + 1]
            if last - first == 1:
                add_source(number[sources[first]])
                add_positions(_FIRST)
                add_partial(partials[first])
            elif last - first == 2 and sources[first] != sources[first + 1]:
                add_source(number[sources[first]])
                add_source(number[sources[first + 1]])
                add_positions(_FIRST)
                add_positions(_SECOND)
                add_partial(partials[first])
                add_partial(partials[first + 1])
            elif last > first:  # a repeated argument (x * x): one edge, its partials summed
                merged: dict[int, tuple[list[int], float]] = {}
                for slot in range(first, last):
                    a, position, partial = sources[slot], slot - first, partials[slot]
                    if a in merged:
                        positions, total = merged[a]
                        positions.append(position)
                        merged[a] = (positions, total + partial)
                    else:
                        merged[a] = ([position], partial)
                for a, (positions, total) in merged.items():
                    add_source(number[a])
                    add_positions(tuple(positions))
                    add_partial(total)
            add_start(len(edge_sources))
        return cls(
            ops=tuple([table.ops[v] for v in order]),
            labels=tuple([table.labels[v] for v in order]),
            values=tuple([table.values[v] for v in order]),
            grads=tuple([grads[v] for v in order]),
            edge_starts=edge_starts,
            edge_sources=edge_sources,
            edge_positions=edge_positions,
            edge_partials=edge_partials,
            nodes=None if nodes is None else [nodes[v] for v in order],
        )


_FIRST, _SECOND = (0,), (1,)


def snapshot(z: GraphLike) -> Snapshot:
    """Number ``z``'s graph and compute ∂z/∂v and every local partial, without recording.

    ``z`` is an output Node (its table is made from its tape), an object with a ``table``
    (a :class:`fnad.Program`: read at its stored values, never traced back to Nodes), a
    :class:`~fnad.engine.table.GraphTable`, or a :class:`Graphable`. The gradients are
    bit-identical to ``z.backward()``; the tape's recorded gradients are left alone.
    """
    if isinstance(z, Node):
        vertices = vertices_of(z)
        return Snapshot.of_table(GraphTable.of(z, vertices=vertices), vertices)
    if isinstance(z, GraphTable):
        return Snapshot.of_table(z)
    table = getattr(z, "table", None)
    if isinstance(table, GraphTable):
        return Snapshot.of_table(table)
    if isinstance(z, Graphable):
        return snapshot(z.as_node())
    raise OperandTypeError(
        f"export: expected the output fnad.Node first, got {type(z).__name__} ({z!r:.60}); "
        "pass the node whose graph you want, e.g. to_json(z)"
    )
