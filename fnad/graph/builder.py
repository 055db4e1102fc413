"""The checks of the edges and of the whole graph (steps 5-7), and :func:`check_document`.

:class:`Builder` takes the vertices from :class:`fnad.graph.checks._VertexChecks`, then
the edges, then orders the graph (Kahn's algorithm over flat arrays), finds a cycle by a
linear walk and checks that every vertex feeds the output.
"""

from __future__ import annotations

import heapq
import operator
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from fnad.engine.rules import RuleTable
from fnad.engine.table import INPUT, GraphTable, input_names
from fnad.errors import GraphFormatError
from fnad.graph.checks import (
    EDGE_FIELDS,
    MAX_VERTICES,
    MISSING,
    VertexChecks,
    describe,
    fail,
    vertex_name,
)
from fnad.graph.sources import checked_limit, rule_table

__all__ = ["check_document", "eager_order"]


class Builder(VertexChecks):
    """The checks of steps 5-7 over the columns :class:`VertexChecks` keeps."""

    # ---------------------------------------------------------------- edges

    def _position(self, vertex: Any) -> int | None:
        if type(vertex) is not int:
            return None
        if self.index is None:
            return vertex if 0 <= vertex < len(self.ops) else None
        return self.index.get(vertex)

    def _id(self, position: int) -> int:
        return position if self.index is None else self.ids[position]

    def add_edges(self, entries: list[Any], first: int) -> None:
        """Check ``entries`` (``edges[first]``, ...) and fill the argument slots they name."""
        if entries and self._edges_at_once(entries):
            return
        edge = self._edge
        for e, entry in enumerate(entries, first):
            edge(e, entry)

    def _edges_at_once(self, entries: list[Any]) -> bool:
        """Check a batch of edges column by column, if each fills one position (as fnad writes).

        Returns False, having changed nothing, when any edge needs a closer look.
        """
        if set(map(type, entries)) != {dict}:
            return False
        try:
            sources, targets, positions = zip(*map(EDGE_FIELDS, entries), strict=True)
        except KeyError:
            return False
        if not (set(map(type, positions)) == {list} and set(map(len, positions)) == {1}):
            return False
        return self.keep_edges(sources, targets, list(map(operator.itemgetter(0), positions)))

    def keep_edges(
        self, sources: Sequence[Any], targets: Sequence[Any], places: Sequence[Any]
    ) -> bool:
        """Fill one argument slot per edge (document ids and positions), if all is well.

        For edges into unary and binary ops; returns False, having changed nothing, when
        any edge needs a closer look (the entry-by-entry checks then name the problem).
        """
        if not (
            set(map(type, sources)) == {int}
            and set(map(type, targets)) == {int}
            and set(map(type, places)) == {int}
        ):
            return False
        if self.index is not None:
            index = self.index
            sources = [index.get(v, -1) for v in sources]
            targets = [index.get(v, -1) for v in targets]
        n = len(self.ops)
        if min(sources) < 0 or min(targets) < 0 or max(sources) >= n or max(targets) >= n:
            return False
        starts, slots = self.starts, self.slots
        firsts = list(map(starts.__getitem__, targets))
        lasts = list(map(starts.__getitem__, map((1).__add__, targets)))
        arities = list(map(operator.sub, lasts, firsts))
        if min(places) < 0 or not all(map(operator.lt, places, arities)) or max(arities) > 2:
            return False
        filled = list(map(operator.add, firsts, places))
        # the other argument slot of a binary op, the only one of a unary op:
        # first + last - 1 - filled
        others = map(operator.sub, map(operator.add, firsts, lasts), map((1).__add__, filled))
        if (
            any(map(operator.eq, sources, targets))
            or len(set(filled)) != len(filled)
            or set(map(slots.__getitem__, filled)) != {-1}
            or any(map(operator.eq, map(slots.__getitem__, others), sources))
            or len(set(zip(sources, targets, strict=True))) != len(sources)
        ):
            return False
        for k, source in zip(filled, sources, strict=True):
            slots[k] = source
        if self.topological and not all(map(operator.lt, sources, targets)):
            self.topological = False
        return True

    def _edge(self, e: int, entry: Any) -> None:
        if type(entry) is not dict:
            raise fail(
                f"edges[{e}] is {describe(entry)}, not an object", "write one object per edge"
            )
        source = self._position(entry.get("source", MISSING))
        target = self._position(entry.get("target", MISSING))
        if source is None or target is None:
            self._bad_end(e, entry)
        assert source is not None and target is not None
        slots = self.slots
        first, last = self.starts[target], self.starts[target + 1]
        positions = entry.get("positions", MISSING)
        if source != target and type(positions) is list and len(positions) == 1:
            position = positions[0]
            if (
                type(position) is int
                and 0 <= position < last - first
                and slots[first + position] == -1
                and source not in slots[first:last]
            ):
                slots[first + position] = source
                if source > target:
                    self.topological = False
                return
        self._check_edge(e, source, target, positions)

    def _bad_end(self, e: int, entry: dict[str, Any]) -> None:
        for key in ("source", "target"):
            end = entry.get(key, MISSING)
            if end is MISSING:
                raise fail(
                    f"edges[{e}] has no {key!r} field",
                    "give every edge a source and a target vertex id",
                )
            if self._position(end) is None:
                raise fail(
                    f"edges[{e}] has {key} {describe(end)}, which is not a declared vertex id",
                    "declare the vertex in 'nodes' or fix the edge",
                )

    def _check_edge(self, e: int, source: int, target: int, positions: Any) -> None:
        """Every check of an edge, in order, each with its message; fill its positions."""
        where = f"edges[{e}]"
        name = vertex_name(self._id(target), self.labels[target])
        if source == target:
            raise fail(
                f"{where} is a self-loop on {name}",
                "an expression graph never feeds a vertex into itself; remove the edge",
            )
        first, last = self.starts[target], self.starts[target + 1]
        if source in self.slots[first:last]:
            raise fail(
                f"{where} repeats the edge {self._id(source)} -> {self._id(target)}",
                "list every argument position of one pair in a single edge's 'positions'",
            )
        rule = self.rules[target]
        if rule is None:
            kind = "an input" if self.ops[target] == INPUT else "a const"
            raise fail(
                f"{where} gives an argument to {name}, which is {kind} and takes none",
                "point the edge at the op vertex that uses the value",
            )
        if positions is MISSING:
            raise fail(f"{where} has no 'positions' field", "list the argument positions it fills")
        if type(positions) is not list or not positions:
            raise fail(
                f"{where}: positions is {describe(positions)}, not a non-empty list",
                "write the argument positions this edge fills, e.g. [0]",
            )
        arity = rule.arity
        for position in positions:
            if type(position) is not int or not 0 <= position < arity:
                raise fail(
                    f"{where} fills position {describe(position)} of {name}, but op "
                    f"{rule.name!r} takes {arity} argument(s) (positions 0..{arity - 1})",
                    "fix the position or the op",
                )
            filled = self.slots[first + position]
            if filled != -1:
                raise fail(
                    f"argument {position} of {name} (op {rule.name!r}) is filled twice, "
                    f"by vertices {self._id(filled)} and {self._id(source)}",
                    "give each argument position exactly one edge",
                )
            self.slots[first + position] = source
        if source > target:
            self.topological = False

    # ---------------------------------------------------------------- the whole graph

    def finish(self, graph: dict[str, Any]) -> GraphTable:
        """Steps 6-7: arities, the output, cycles, reachability; the graph's table."""
        if not self.ops:
            raise fail("the graph has no vertices", "export a graph with fnad.to_json(z)")
        self._check_arities()
        output = self._check_output(graph)
        order = _kahn(self)
        self._check_reachability(order, output)
        return self._table(order, output)

    def _check_arities(self) -> None:
        try:
            slot = self.slots.index(-1)
        except ValueError:
            return
        vertex = bisect_right(self.starts, slot) - 1
        first = self.starts[vertex]
        rule = self.rules[vertex]
        assert rule is not None
        missing = [p for p in range(rule.arity) if self.slots[first + p] == -1]
        raise fail(
            f"{vertex_name(self._id(vertex), self.labels[vertex])} (op {rule.name!r}) takes "
            f"{rule.arity} argument(s) but position(s) {missing} have no edge",
            "add an edge for every argument position",
        )

    def _check_output(self, graph: dict[str, Any]) -> int:
        if "output" not in graph:
            raise fail("missing graph.output, the id of the output vertex", "add it or re-export")
        output = graph["output"]
        position = self._position(output)
        if position is None:
            raise fail(
                f"graph.output is {describe(output)}, which is not a declared vertex id",
                "set it to the id of the output vertex",
            )
        return position

    def _check_reachability(self, order: Sequence[int], output: int) -> None:
        """Every vertex must feed the output: walk back from it, in reverse topological order."""
        starts, slots = self.starts, self.slots
        reached = bytearray(len(self.ops))
        reached[output] = 1
        for vertex in reversed(order):
            if reached[vertex]:
                for p in range(starts[vertex], starts[vertex + 1]):
                    reached[slots[p]] = 1
        missing = reached.count(0)
        if missing:
            stray = reached.index(0)
            raise fail(
                f"{vertex_name(self._id(stray), self.labels[stray])} does not feed the output "
                f"vertex {self._id(output)} ({missing} such vertices)",
                "export only the graph of one output (fnad.to_json(z)) or remove them",
            )

    def _table(self, order: Sequence[int], output: int) -> GraphTable:
        """The checked graph as a :class:`~fnad.engine.table.GraphTable`, in the order an
        eager trace of it would have: what :func:`fnad.compiled.load` compiles.

        The document is recorded (in ``order``, smallest id first among the ready vertices)
        the way ``fnad.from_json`` recorded it on a tape before, and the table's order is
        ``networkx.topological_sort`` of that tape's graph (:func:`eager_order`), so a
        program replays values and gradients bit for bit as ``backward()`` would.
        """
        n = len(self.ops)
        starts, slots = self.starts, self.slots
        recorded = array("i", bytes(4 * n))  # each vertex's place in recording order
        for place, vertex in enumerate(order):
            recorded[vertex] = place
        table_order = eager_order(starts, slots, order, output)
        number = array("i", bytes(4 * n))  # each vertex's place in the table
        for k, vertex in enumerate(table_order):
            number[vertex] = k
        new_starts = array("i", [0])
        new_sources = array("i")
        for vertex in table_order:
            first, last = starts[vertex], starts[vertex + 1]
            if last > first:
                new_sources.extend([number[a] for a in slots[first:last]])
            new_starts.append(len(new_sources))
        ids: Sequence[int] = range(n) if self.index is None else self.ids
        ops, labels, data = self.ops, self.labels, self.data
        leaves = sorted((ids[v], v) for v in range(n) if ops[v] == INPUT)
        names = input_names([(vertex_id, labels[v]) for vertex_id, v in leaves])
        return GraphTable(
            ops=[ops[v] for v in table_order],
            labels=[labels[v] for v in table_order],
            values=array("d", [data[v] for v in table_order]),
            starts=new_starts,
            sources=new_sources,
            rules={rule.name: rule for rule in self.known.values() if rule is not None},
            inputs=tuple(number[v] for _, v in leaves),
            names=tuple(names.values()),
            outputs=(number[output],),
            ids=array("i", [recorded[v] for v in table_order]),
        )


def eager_order(
    starts: Sequence[int], slots: Sequence[int], recorded: Sequence[int], output: int
) -> list[int]:
    """``networkx.topological_sort`` of the graph a tape holds after recording the vertices
    in the order ``recorded``, restricted to ``output``'s ancestors: the order of
    ``Tape.backward_order(output)``, reversed (every vertex here is an ancestor).

    networkx's result depends on the order of the graph's vertices (the tape's subgraph
    lists them as a walk back from the output finds them, each vertex's arguments in order)
    and on each vertex's successors (in the order they were recorded). This runs networkx's
    algorithm (``topological_generations``: the vertices without arguments in vertex order,
    then generation by generation, each vertex's users in order) over flat arrays with
    exactly those orders: a ``DiGraph`` holds a dict per vertex and per edge, ~500 bytes a
    vertex, 4x a document's size. ``tests/graph/test_table_order.py`` checks the result
    against a tape sorted by networkx itself.
    """
    n = len(recorded)
    # Each vertex's distinct arguments, in argument order (a tape keeps one edge per pair).
    distinct = array("i", bytes(4 * n))
    for vertex in range(n):
        first, last = starts[vertex], starts[vertex + 1]
        distinct[vertex] = (
            last - first
            if last - first < 2 or (last - first == 2 and slots[first] != slots[first + 1])
            else len(set(slots[first:last]))
        )
    # The walk fnad.engine.digraph.ancestors_subgraph makes from the output: its vertex order.
    found = bytearray(n)
    found[output] = 1
    walk = array("i", [output])
    stack = [output]
    while stack:
        vertex = stack.pop()
        for p in range(starts[vertex], starts[vertex + 1]):
            argument = slots[p]
            if not found[argument]:
                found[argument] = 1
                walk.append(argument)
                stack.append(argument)
    # Each vertex's users in recording order, in one flat array (a counting sort).
    ends = array("i", bytes(4 * (n + 1)))
    for vertex in range(n):
        for argument in _distinct(slots, starts[vertex], starts[vertex + 1], distinct[vertex]):
            ends[argument + 1] += 1
    for vertex in range(n):
        ends[vertex + 1] += ends[vertex]
    fill = ends[:-1]
    users = array("i", bytes(4 * ends[n]))
    for vertex in recorded:
        for argument in _distinct(slots, starts[vertex], starts[vertex + 1], distinct[vertex]):
            users[fill[argument]] = vertex
            fill[argument] += 1
    # networkx's topological_generations, step for step.
    waiting = distinct
    generation = [vertex for vertex in walk if not waiting[vertex]]
    order: list[int] = []
    while generation:
        order.extend(generation)
        following: list[int] = []
        for vertex in generation:
            for p in range(ends[vertex], ends[vertex + 1]):
                user = users[p]
                waiting[user] -= 1
                if not waiting[user]:
                    following.append(user)
        generation = following
    return order


def _distinct(slots: Sequence[int], first: int, last: int, count: int) -> Sequence[int]:
    """The distinct arguments in ``slots[first:last]``, in order (``count`` of them)."""
    if count == last - first:
        return slots[first:last]
    return list(dict.fromkeys(slots[first:last]))


def _kahn(builder: Builder) -> Sequence[int]:
    """Kahn's algorithm, smallest id first: a topological order, or the cycle that stops it.

    Everything is in flat arrays (no list per vertex), and every step is linear.
    """
    n = len(builder.ops)
    if builder.topological and builder.increasing:
        return range(n)  # what Kahn's algorithm gives when ids are already topological
    starts, slots = builder.starts, builder.slots
    # Each argument slot is one link, so x * x counts twice both ways.
    waiting = array("q", map(operator.sub, starts[1:], starts[:-1]))
    # The users of each vertex, in one flat array: a counting sort of the links.
    first_user = array("q", bytes(8 * (n + 1)))
    for source in slots:
        first_user[source + 1] += 1
    first_user = array("q", accumulate(first_user))  # where each vertex's users end
    users = array("q", bytes(8 * len(slots)))
    for vertex in range(n - 1, -1, -1):
        for p in range(starts[vertex + 1] - 1, starts[vertex] - 1, -1):
            source = slots[p] + 1
            first_user[source] -= 1
            users[first_user[source]] = vertex
    first_user.pop(0)  # now where each vertex's users start, and then the end
    first_user.append(len(users))
    identity = builder.index is None
    ids = builder.ids
    ready: list[Any] = [v if identity else (ids[v], v) for v in range(n) if not waiting[v]]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        vertex = heapq.heappop(ready)
        if not identity:
            vertex = vertex[1]
        order.append(vertex)
        for p in range(first_user[vertex], first_user[vertex + 1]):
            user = users[p]
            waiting[user] -= 1
            if not waiting[user]:
                heapq.heappush(ready, user if identity else (ids[user], user))
    if len(order) < n:
        raise _cycle(builder, waiting)
    return order


def _cycle(builder: Builder, waiting: array[int]) -> GraphFormatError:
    """Walk from a stuck vertex along stuck arguments until a vertex repeats: linear.

    A vertex Kahn's algorithm could not order waits for an argument it could not order
    either, so the walk never stops before it closes a cycle.
    """
    starts, slots = builder.starts, builder.slots
    vertex = next(v for v in range(len(builder.ops)) if waiting[v])
    step = array("q", [-1]) * len(builder.ops)  # where each vertex is on the walk
    path = array("q")
    while step[vertex] < 0:
        step[vertex] = len(path)
        path.append(vertex)
        first, last = starts[vertex], starts[vertex + 1]
        if last - first == 1:  # its only argument
            vertex = slots[first]
        else:
            vertex = next(slots[p] for p in range(first, last) if waiting[slots[p]])
    loop = path[step[vertex] :]  # each vertex's argument follows it
    cycle = [builder._id(v) for v in [loop[0], *reversed(loop[1:])]]  # as values flow
    shown = " -> ".join(map(str, [*cycle[:8], cycle[0]] if len(cycle) <= 8 else cycle[:8]))
    return fail(
        f"the edges form a cycle through vertices {shown}{' ...' if len(cycle) > 8 else ''}",
        "an expression graph is acyclic; remove an edge of the cycle",
    )


def check_document(
    doc: Any, rules: RuleTable | None = None, max_vertices: int = MAX_VERTICES
) -> GraphTable:
    """Check a ``fnad.graph`` document already in memory (``json.loads`` of the text).

    The same checks as :func:`read_json`, in the same order.

    >>> from fnad import Node
    >>> from fnad.graph.writer import to_document
    >>> graph = check_document(to_document(Node(2.0, label="x") * 3))
    >>> list(graph.ops), graph.arguments(2), graph.names
    (['', 'const', 'mul'], (0, 1), ('x',))
    """
    builder = Builder(rule_table(rules), checked_limit("max_vertices", max_vertices))
    if not isinstance(doc, dict):
        raise fail(
            f"the top level is {type(doc).__name__}, not an object",
            'a fnad.graph document is {"graph": ..., "nodes": [...], "edges": [...]}',
        )
    builder.check_header(doc.get("graph"))
    builder.check_shape(doc.get("directed", True), doc.get("multigraph", False))
    nodes, edges = doc.get("nodes"), doc.get("edges")
    builder.check_lists(nodes, edges)
    assert isinstance(nodes, list) and isinstance(edges, list)
    builder.count(len(nodes), exact=True)
    builder.add_vertices(nodes, 0)
    builder.add_edges(edges, 0)
    return builder.finish(doc["graph"])
