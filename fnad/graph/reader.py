"""Reading graph documents back: JSON and GraphML, checked completely, in bounded time and memory.

This is the reader half of the ``fnad.graph`` format: the writer is :mod:`fnad.graph.writer`, the
format itself :mod:`fnad.graph.schema`, and :mod:`fnad.compiled.load` turns the :class:`CheckedGraph`
this module returns into a :class:`~fnad.Program`.

A document is untrusted input. Every problem is a :class:`~fnad.GraphFormatError` (a
ValueError) that names it, the vertex or edge, and the fix; nothing in a document is ever
evaluated as Python (ops are looked up by name in the rule table). The checks, in the order
they run:

1. what was passed (:func:`read_json` and :func:`read_graphml` take a path or the
   document's content, see :func:`document_source`), the file's kind (a regular file, never
   a FIFO or a device) and its size (``max_bytes``), before anything is parsed;
2. for GraphML, DOCTYPE and ENTITY declarations (refused before any XML is parsed) and UTF-8;
3. the header: the schema name and version, a directed graph without parallel edges;
4. every vertex, in document order, as it is read: an integer ``id`` not seen before, string
   ``op`` (in the rule table) and ``label``, numbers ``data`` and ``grad``; at most
   ``max_vertices`` of them;
5. every edge: declared ends, no self-loop, one edge per pair, into an op vertex, argument
   positions within the op's arity, each filled once;
6. every argument position has an edge; ``graph.output`` is a vertex;
7. no cycle (found by a walk along argument links, reported with its vertices), and every
   vertex feeds the output.

Bounded cost. A document within the limits is accepted or refused in time linear in its
size, and nothing recurses over it. The reader never materialises a document whole: JSON
vertices and edges are decoded a chunk at a time (about 1 MiB of text, 4 MiB at most),
GraphML is read line by line (the layout fnad writes) or element by element (any other),
and what is kept per vertex is a few machine words (see :class:`CheckedGraph`). JSON may
nest at most :data:`MAX_DEPTH` levels and one vertex, edge or ignored value may hold at
most :data:`MAX_ENTRY_VALUES` values, both checked before the JSON decoder (which is
recursive) sees the text. Peak memory is at most 2x the document's size when it is refused
at a malformed entry (the first one stops the reading) and at most 3.5x when it has to be
read to the end: its text, and about 60 bytes a vertex (``tests/test_hostile_documents.py``
checks both).
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import heapq
import json
import math
import operator
import os
import re
import stat
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from typing import Any, Literal, NamedTuple, Union, overload
from xml.parsers import expat

import attrs

from fnad.engine import CONST
from fnad.engine.rules import Rule, RuleTable, current_rules
from fnad.errors import GraphArgumentError, GraphFormatError
from fnad.graph.schema import (
    GRAPHML_KEYS,
    GRAPHML_NAMESPACE,
    INPUT,
    SCHEMA,
    SCHEMA_VERSION,
    decode_double,
    decode_float,
    decode_graphml_label,
)

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_ENTRY_VALUES",
    "MAX_VERTICES",
    "CheckedGraph",
    "Source",
    "Vertex",
    "check_document",
    "document_source",
    "read_graphml",
    "read_json",
]

MAX_BYTES = 3 * 2**29
"""Default limit on a document's size, 1.5 GiB: every graph of up to :data:`MAX_VERTICES`
vertices that fnad exports reads back (binary ops with 17-digit values and labels of a few
dozen characters take at most about 600 bytes a vertex in GraphML, 350 in JSON)."""

MAX_VERTICES = 2_000_000
"""Default limit on the number of vertices a document may declare."""

MAX_DEPTH = 16
"""How deeply a document may nest JSON arrays/objects; a fnad.graph document nests 4 deep."""

MAX_ENTRY_VALUES = 4096
"""How many JSON values one vertex, one edge or one ignored field may hold (keys, numbers,
strings, arrays and objects, nested ones included); a vertex holds about 10."""

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]
"""What the loaders take: a path, or the document's content (see :func:`document_source`)."""

_CHUNK = 1 << 20  # the most JSON text decoded at once (before the first check of a chunk)
_BATCH = 4096  # vertices or edges handed to the checks at once


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a document is read.

    Reading allocates many short-lived dicts and tuples but no reference cycles (reference
    counting frees all of it), so the collector would only scan each chunk's entries again
    and again: it triples the time. It is switched back on afterwards if it was on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fail(problem: str, fix: str) -> GraphFormatError:
    return GraphFormatError(f"graph document: {problem}; {fix}")


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 50:
        text = text[:47] + "..."
    return f"{text} ({type(value).__name__})"


def _vertex_name(vertex: int, label: str) -> str:
    return f"vertex {vertex} (label {label!r})" if label else f"vertex {vertex}"


def _too_large(size: int, limit: int, unit: str = "characters") -> GraphFormatError:
    return _fail(
        f"the document is {size:,} {unit}, above the limit of {limit:,}",
        "pass a larger max_bytes= if you trust this file",
    )


# --------------------------------------------------------------------------- the result


class Vertex(NamedTuple):
    """One vertex of a checked document."""

    op: str
    """:data:`~fnad.graph.schema.INPUT` (``""``), :data:`~fnad.graph.schema.CONST`, or a rule's name."""
    label: str
    data: float
    grad: float | None
    """The stored gradient, or None if the document has none (it is informational)."""
    rule: Rule | None
    """The op's rule in the loading rule table; None for inputs and consts."""


@attrs.frozen(eq=False)
class CheckedGraph:
    """A document that passed every check: what a :class:`~fnad.Program` is built from.

    The vertices are numbered ``0 .. n-1`` in a topological order (every argument before the
    ops that use it; the output last), the smallest document id first among the vertices
    that are ready, so a document fnad wrote keeps its numbering. Each field is a column
    with one entry per vertex; ``ids`` holds the document's own ids. The arguments of vertex
    ``v``, in argument order, are ``sources[starts[v]:starts[v + 1]]`` (vertex numbers; see
    :meth:`arguments`). Every vertex feeds the output.

    >>> from fnad import Node, to_json
    >>> x = Node(2.0, label="x")
    >>> graph = read_json(to_json(x * 3))
    >>> len(graph), graph.output, graph.arguments(2), graph.vertex(0)
    (3, 2, (0, 1), Vertex(op='', label='x', data=2.0, grad=3.0, rule=None))
    """

    ids: Sequence[int]
    """The document's id of each vertex."""
    ops: Sequence[str]
    labels: Sequence[str]
    data: Sequence[float]
    grads: Sequence[float]
    """The stored gradient of each vertex, nan where ``has_grad`` is 0."""
    has_grad: Sequence[int]
    rules: Sequence[Rule | None]
    """Each op vertex's rule (in the table the document was loaded with); None for leaves."""
    starts: Sequence[int]
    sources: Sequence[int]

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def output(self) -> int:
        """The output vertex: the last one."""
        return len(self.ops) - 1

    def arguments(self, vertex: int) -> tuple[int, ...]:
        """The argument vertices of ``vertex``, in argument order (empty for leaves)."""
        return tuple(self.sources[self.starts[vertex] : self.starts[vertex + 1]])

    def vertex(self, vertex: int) -> Vertex:
        """Everything the document says about ``vertex``."""
        grad = self.grads[vertex] if self.has_grad[vertex] else None
        return Vertex(
            self.ops[vertex], self.labels[vertex], self.data[vertex], grad, self.rules[vertex]
        )


# --------------------------------------------------------------------------- the checks

_MISSING: Any = object()


_VERTEX_FIELDS = operator.itemgetter("id", "op", "label", "data", "grad")
_ID_FIELD = operator.methodcaller("get", "id")
_REQUIRED_VERTEX_FIELDS = operator.itemgetter("id", "op", "data")
_EDGE_FIELDS = operator.itemgetter("source", "target", "positions")


class _NoGrad:
    """The ``grad`` of a vertex that has none (the field is optional)."""


_NO_GRAD = _NoGrad()
_NAN = array("d", [math.nan])


class _Builder:
    """The checks of steps 3-7, fed vertices and edges in document order, batch by batch.

    Columns are kept in document order: one entry per vertex, plus an argument slot per
    position of each op (``-1`` until an edge fills it).
    """

    def __init__(self, rules: RuleTable, max_vertices: int, json: bool = True) -> None:
        self.table = rules
        self.max_vertices = max_vertices
        self.json = json  # JSON spells non-finite numbers as strings; GraphML as doubles
        self.known: dict[str, Rule | None] = {INPUT: None, CONST: None}
        self.ids: list[int] = []  # filled only once ids stop being 0, 1, 2, ...
        self.index: dict[int, int] | None = None  # id -> position, once ids stop being 0, 1, ...
        self.increasing = True
        self.ops: list[str] = []
        self.labels: list[str] = []
        self.data = array("d")
        self.grads = array("d")
        self.has_grad = bytearray()
        self.rules: list[Rule | None] = []
        self.starts = array("q", [0])
        self.slots = array("q")
        self.topological = True  # every edge goes from an earlier vertex to a later one

    # ---------------------------------------------------------------- header

    @staticmethod
    def check_header(graph: Any) -> None:
        """The ``graph`` object: the schema name and a version this fnad reads."""
        if not isinstance(graph, dict):
            raise _fail(
                "missing the 'graph' object that holds the schema name and version",
                f'write "graph": {{"schema": "{SCHEMA}", "version": {SCHEMA_VERSION}, ...}}',
            )
        if graph.get("schema") != SCHEMA:
            raise _fail(
                f"graph.schema is {_describe(graph.get('schema'))}, expected {SCHEMA!r}",
                "load only documents written by fnad.to_json",
            )
        if "version" not in graph:
            raise _fail(
                "missing schema version (graph.version)",
                f"documents of this fnad carry version {SCHEMA_VERSION}; add it or re-export",
            )
        version = graph["version"]
        if type(version) is not int or version != SCHEMA_VERSION:
            newer = type(version) is int and version > SCHEMA_VERSION
            raise _fail(
                f"unsupported schema version {_describe(version)}; this fnad reads version "
                f"{SCHEMA_VERSION}",
                "upgrade fnad to read it" if newer else "re-export the graph with fnad.to_json",
            )

    @staticmethod
    def check_shape(directed: Any, multigraph: Any) -> None:
        if directed is not True or multigraph is not False:
            raise _fail(
                "a fnad.graph is a directed graph without parallel edges",
                'set "directed": true and "multigraph": false',
            )

    @staticmethod
    def check_lists(nodes: Any, edges: Any) -> None:
        """``nodes`` and ``edges`` are lists (pass ``[]`` for one that was read as a list)."""
        for key, value in (("nodes", nodes), ("edges", edges)):
            if not isinstance(value, list):
                raise _fail(f"{key!r} is {_describe(value)}, not a list", f'write "{key}": [...]')

    # ---------------------------------------------------------------- vertices

    def count(self, vertices: int, exact: bool) -> None:
        """Refuse more than ``max_vertices`` vertices (``exact``: the document's total)."""
        if vertices > self.max_vertices:
            many = f"{vertices:,}" if exact else f"at least {vertices:,}"
            raise _fail(
                f"{many} vertices, above the limit of {self.max_vertices:,}",
                "pass a larger max_vertices= if you trust this file",
            )

    def add_vertices(self, entries: list[Any], first: int) -> None:
        """Check ``entries`` (``nodes[first]``, ``nodes[first + 1]``, ...) and keep them."""
        self.count(first + len(entries), exact=False)
        if entries and first == len(self.ops) and self._vertices_at_once(entries):
            return
        vertex = self._vertex
        for n, entry in enumerate(entries, first):
            vertex(n, entry)

    def _vertices_at_once(self, entries: list[Any]) -> bool:
        """Check and keep a batch column by column (C-speed builtins), if it is all well-formed.

        Returns False, having changed nothing, when any entry needs a closer look; the
        entry-by-entry checks then find the first problem and name it.
        """
        if set(map(type, entries)) != {dict}:
            return False
        try:  # one C call per entry when every field is there, as fnad writes them
            ids, ops, labels, data, grads = zip(*map(_VERTEX_FIELDS, entries), strict=True)
        except KeyError:
            try:
                ids, ops, data = zip(*map(_REQUIRED_VERTEX_FIELDS, entries), strict=True)
            except KeyError:
                return False
            labels = tuple([entry.get("label", "") for entry in entries])
            grads = tuple([entry.get("grad", _NO_GRAD) for entry in entries])
        grad_types = set(map(type, grads))
        if not (
            set(map(type, ids)) == {int}
            and set(map(type, ops)) == {str}
            and set(map(type, labels)) == {str}
            and set(map(type, data)) == {float}
            and grad_types in ({float}, {_NoGrad})
            and all(map(math.isfinite, data))  # inf in JSON is a number too large: refused
            and (grad_types == {_NoGrad} or all(map(math.isfinite, grads)))
        ):
            return False
        return self.keep_vertices(ids, ops, labels, data, grads if grad_types == {float} else None)

    def keep_vertices(
        self,
        ids: Sequence[int],
        ops: Sequence[str],
        labels: Sequence[str],
        data: Sequence[float],
        grads: Sequence[float] | None,
    ) -> bool:
        """Keep the next vertices, given as columns of the right types, if all is well.

        Checks the ops and the ids; returns False, having changed nothing, if an op is not
        known yet or an id is repeated (the entry-by-entry checks then name the problem).
        """
        known = self.known
        rules = [known.get(op, _MISSING) for op in ops]
        if _MISSING in rules:
            return False
        first = len(self.ops)
        end = first + len(ids)
        if self.index is not None or not _counts_up(ids, first):
            index = self.index if self.index is not None else {v: v for v in range(first)}
            if len(set(ids)) != len(ids) or any(map(index.__contains__, ids)):
                return False
            if self.index is None:
                self.ids = list(range(first))
                self.index = index
            if (self.ids and self.ids[-1] >= ids[0]) or not all(map(operator.lt, ids, ids[1:])):
                self.increasing = False
            index.update(zip(ids, range(first, end), strict=True))
            self.ids.extend(ids)
        self.ops.extend(  # shared strings, not one per vertex
            rule.name if rule is not None else CONST if op == CONST else INPUT
            for rule, op in zip(rules, ops, strict=True)
        )
        self.labels.extend(labels)
        self.data.extend(data)
        if grads is not None:
            self.grads.extend(grads)
            self.has_grad.extend(b"\x01" * len(ids))
        else:
            self.grads.extend(_NAN * len(ids))
            self.has_grad.extend(bytes(len(ids)))
        self.rules.extend(rules)
        arities = [0 if rule is None else rule.arity for rule in rules]
        ends = accumulate(arities, initial=self.starts[-1])
        next(ends)
        self.starts.extend(ends)
        self.slots.extend(_UNFILLED[:1] * sum(arities))
        return True

    def check_shapes(self, entries: list[Any], first: int) -> None:
        """The first checks of vertices read before the header: objects with an integer id."""
        if set(map(type, entries)) == {dict} and set(map(type, map(_ID_FIELD, entries))) == {int}:
            return
        for n, entry in enumerate(entries, first):
            self._check_id(n, entry)

    def check_edge_shapes(self, entries: list[Any], first: int) -> None:
        """The first checks of edges read before the vertices: objects with both ends."""
        for e, entry in enumerate(entries, first):
            if type(entry) is not dict:
                raise _fail(
                    f"edges[{e}] is {_describe(entry)}, not an object", "write one object per edge"
                )
            for key in ("source", "target"):
                if key not in entry:
                    raise _fail(
                        f"edges[{e}] has no {key!r} field",
                        "give every edge a source and a target vertex id",
                    )

    @staticmethod
    def _check_id(n: int, entry: Any) -> int:
        if type(entry) is not dict:
            raise _fail(
                f"nodes[{n}] is {_describe(entry)}, not an object", "write one object per vertex"
            )
        vertex = entry.get("id", _MISSING)
        if type(vertex) is not int:
            if vertex is _MISSING:
                raise _fail(f"nodes[{n}] has no 'id' field", "give every vertex an integer id")
            raise _fail(f"nodes[{n}]: id is {_describe(vertex)}, not an integer", "use integer ids")
        return vertex

    def _vertex(self, n: int, entry: Any) -> None:
        vertex = self._check_id(n, entry)
        if self.index is not None or vertex != n:
            self._new_id(n, vertex)
        label = entry.get("label", "")
        if type(label) is not str:
            raise _fail(
                f"vertex {vertex}: label is {_describe(label)}, not a string", 'use "" for none'
            )
        op = entry.get("op", _MISSING)
        rule = self.known.get(op, _MISSING) if type(op) is str else _MISSING
        if rule is _MISSING:
            rule = self._rule(vertex, label, op)
        data = entry.get("data", _MISSING)
        if type(data) is not float or data - data != 0.0:
            data = self._number(vertex, label, "data", data)
        grad = entry.get("grad", _MISSING)
        if grad is _MISSING:
            self.grads.append(float("nan"))
            self.has_grad.append(0)
        else:
            if type(grad) is not float or grad - grad != 0.0:
                grad = self._number(vertex, label, "grad", grad)
            self.grads.append(grad)
            self.has_grad.append(1)
        self.ops.append(rule.name if rule is not None else CONST if op == CONST else INPUT)
        self.labels.append(label)
        self.data.append(data)
        self.rules.append(rule)
        arity = 0 if rule is None else rule.arity
        self.starts.append(self.starts[-1] + arity)
        self.slots.extend(_UNFILLED[:arity] if arity <= 8 else array("q", [-1]) * arity)

    def _new_id(self, n: int, vertex: int) -> None:
        if self.index is None:  # ids were 0, 1, ..., n-1 so far
            self.ids = list(range(n))
            self.index = {v: v for v in range(n)}
        if vertex in self.index:
            raise _fail(
                f"duplicate vertex id {vertex} (nodes[{n}])", "give every vertex its own id"
            )
        if self.ids and vertex < self.ids[-1]:
            self.increasing = False
        self.index[vertex] = n
        self.ids.append(vertex)

    def _rule(self, vertex: int, label: str, op: Any) -> Rule | None:
        name = _vertex_name(vertex, label)
        if op is _MISSING:
            raise _fail(
                f"{name} has no 'op' field", 'write "op": "" for an input, "const", or an op name'
            )
        if not isinstance(op, str):
            raise _fail(f"{name}: op is {_describe(op)}, not a string", "write the op's name")
        if op not in self.table:
            raise _fail(
                f"{name} has op {op!r}, which is not in the rule table",
                "register that op (fnad.defop) before loading, or check its spelling",
            )
        rule = self.table[op]
        self.known[op] = rule
        return rule

    def _number(self, vertex: int, label: str, key: str, value: Any) -> float:
        name = _vertex_name(vertex, label)
        if value is _MISSING:
            raise _fail(f"{name} has no {key!r} field", "write the vertex's value")
        if not self.json:  # GraphML: the reader made every double a float
            if type(value) is float:
                return value
            raise _fail(
                f"{name}: {key} is {_describe(value)}, not a number",
                "write an XML Schema double: 1.5, -2e-3, INF, -INF or NaN",
            )
        if type(value) is float:  # inf: a JSON number too large for a float, such as 1e999
            raise _fail(
                f"{name}: {key} is a number too large for a float (it reads as {value!r})",
                'write "inf" or "-inf" (strings) for infinite values, as fnad.to_json does',
            )
        result = decode_float(value)
        if result is None or isinstance(value, bool):
            raise _fail(
                f"{name}: {key} is {_describe(value)}, not a number",
                'write a JSON number, or "nan", "inf", "-inf" for non-finite values',
            )
        return result

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
            sources, targets, positions = zip(*map(_EDGE_FIELDS, entries), strict=True)
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
            raise _fail(
                f"edges[{e}] is {_describe(entry)}, not an object", "write one object per edge"
            )
        source = self._position(entry.get("source", _MISSING))
        target = self._position(entry.get("target", _MISSING))
        if source is None or target is None:
            self._bad_end(e, entry)
        assert source is not None and target is not None
        slots = self.slots
        first, last = self.starts[target], self.starts[target + 1]
        positions = entry.get("positions", _MISSING)
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
            end = entry.get(key, _MISSING)
            if end is _MISSING:
                raise _fail(
                    f"edges[{e}] has no {key!r} field",
                    "give every edge a source and a target vertex id",
                )
            if self._position(end) is None:
                raise _fail(
                    f"edges[{e}] has {key} {_describe(end)}, which is not a declared vertex id",
                    "declare the vertex in 'nodes' or fix the edge",
                )

    def _check_edge(self, e: int, source: int, target: int, positions: Any) -> None:
        """Every check of an edge, in order, each with its message; fill its positions."""
        where = f"edges[{e}]"
        name = _vertex_name(self._id(target), self.labels[target])
        if source == target:
            raise _fail(
                f"{where} is a self-loop on {name}",
                "an expression graph never feeds a vertex into itself; remove the edge",
            )
        first, last = self.starts[target], self.starts[target + 1]
        if source in self.slots[first:last]:
            raise _fail(
                f"{where} repeats the edge {self._id(source)} -> {self._id(target)}",
                "list every argument position of one pair in a single edge's 'positions'",
            )
        rule = self.rules[target]
        if rule is None:
            kind = "an input" if self.ops[target] == INPUT else "a const"
            raise _fail(
                f"{where} gives an argument to {name}, which is {kind} and takes none",
                "point the edge at the op vertex that uses the value",
            )
        if positions is _MISSING:
            raise _fail(f"{where} has no 'positions' field", "list the argument positions it fills")
        if type(positions) is not list or not positions:
            raise _fail(
                f"{where}: positions is {_describe(positions)}, not a non-empty list",
                "write the argument positions this edge fills, e.g. [0]",
            )
        arity = rule.arity
        for position in positions:
            if type(position) is not int or not 0 <= position < arity:
                raise _fail(
                    f"{where} fills position {_describe(position)} of {name}, but op "
                    f"{rule.name!r} takes {arity} argument(s) (positions 0..{arity - 1})",
                    "fix the position or the op",
                )
            filled = self.slots[first + position]
            if filled != -1:
                raise _fail(
                    f"argument {position} of {name} (op {rule.name!r}) is filled twice, "
                    f"by vertices {self._id(filled)} and {self._id(source)}",
                    "give each argument position exactly one edge",
                )
            self.slots[first + position] = source
        if source > target:
            self.topological = False

    # ---------------------------------------------------------------- the whole graph

    def finish(self, graph: dict[str, Any]) -> CheckedGraph:
        """Steps 6-7: arities, the output, cycles, reachability; the renumbered columns."""
        if not self.ops:
            raise _fail("the graph has no vertices", "export a graph with fnad.to_json(z)")
        self._check_arities()
        output = self._check_output(graph)
        order = self._order()
        self._check_reachability(order, output)
        return self._renumbered(order)

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
        raise _fail(
            f"{_vertex_name(self._id(vertex), self.labels[vertex])} (op {rule.name!r}) takes "
            f"{rule.arity} argument(s) but position(s) {missing} have no edge",
            "add an edge for every argument position",
        )

    def _check_output(self, graph: dict[str, Any]) -> int:
        if "output" not in graph:
            raise _fail("missing graph.output, the id of the output vertex", "add it or re-export")
        output = graph["output"]
        position = self._position(output)
        if position is None:
            raise _fail(
                f"graph.output is {_describe(output)}, which is not a declared vertex id",
                "set it to the id of the output vertex",
            )
        return position

    def _order(self) -> Sequence[int]:
        """Kahn's algorithm, smallest id first: a topological order, or the cycle that stops it.

        Everything is in flat arrays (no list per vertex), and every step is linear.
        """
        n = len(self.ops)
        if self.topological and self.increasing:
            return range(n)  # what Kahn's algorithm gives when ids are already topological
        starts, slots = self.starts, self.slots
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
        identity = self.index is None
        ids = self.ids
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
            raise self._cycle(waiting)
        return order

    def _cycle(self, waiting: array[int]) -> GraphFormatError:
        """Walk from a stuck vertex along stuck arguments until a vertex repeats: linear.

        A vertex Kahn's algorithm could not order waits for an argument it could not order
        either, so the walk never stops before it closes a cycle.
        """
        starts, slots = self.starts, self.slots
        vertex = next(v for v in range(len(self.ops)) if waiting[v])
        step = array("q", [-1]) * len(self.ops)  # where each vertex is on the walk
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
        cycle = [self._id(v) for v in [loop[0], *reversed(loop[1:])]]  # as values flow
        shown = " -> ".join(map(str, [*cycle[:8], cycle[0]] if len(cycle) <= 8 else cycle[:8]))
        return _fail(
            f"the edges form a cycle through vertices {shown}{' ...' if len(cycle) > 8 else ''}",
            "an expression graph is acyclic; remove an edge of the cycle",
        )

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
            raise _fail(
                f"{_vertex_name(self._id(stray), self.labels[stray])} does not feed the output "
                f"vertex {self._id(output)} ({missing} such vertices)",
                "export only the graph of one output (fnad.to_json(z)) or remove them",
            )

    def _renumbered(self, order: Sequence[int]) -> CheckedGraph:
        ids: Sequence[int] = range(len(self.ops)) if self.index is None else self.ids
        if isinstance(order, range):
            return CheckedGraph(
                ids,
                self.ops,
                self.labels,
                self.data,
                self.grads,
                self.has_grad,
                self.rules,
                self.starts,
                self.slots,
            )
        new = array("q", bytes(8 * len(order)))
        for number, vertex in enumerate(order):
            new[vertex] = number
        starts, slots = self.starts, self.slots
        new_starts = array("q", [0])
        new_slots = array("q")
        for vertex in order:
            new_slots.extend(new[s] for s in slots[starts[vertex] : starts[vertex + 1]])
            new_starts.append(len(new_slots))
        return CheckedGraph(
            [ids[v] for v in order],
            [self.ops[v] for v in order],
            [self.labels[v] for v in order],
            array("d", (self.data[v] for v in order)),
            array("d", (self.grads[v] for v in order)),
            bytearray(self.has_grad[v] for v in order),
            [self.rules[v] for v in order],
            new_starts,
            new_slots,
        )


_UNFILLED = array("q", [-1] * 8)


def _counts_up(ids: Sequence[int], first: int) -> bool:
    """Whether ``ids`` are ``first, first + 1, ...``: the ids of a document fnad wrote."""
    return (
        bool(ids)
        and ids[0] == first
        and ids[-1] == first + len(ids) - 1
        and all(map(operator.eq, ids, range(first, first + len(ids))))
    )


def check_document(
    doc: Any, rules: RuleTable | None = None, max_vertices: int = MAX_VERTICES
) -> CheckedGraph:
    """Check a ``fnad.graph`` document already in memory (``json.loads`` of the text).

    The same checks as :func:`read_json`, in the same order.

    >>> from fnad import Node
    >>> from fnad.graph.writer import to_document
    >>> graph = check_document(to_document(Node(2.0, label="x") * 3))
    >>> [graph.vertex(v).op for v in range(len(graph))], graph.arguments(2)
    (['', 'const', 'mul'], (0, 1))
    """
    builder = _Builder(_table(rules), _limit("max_vertices", max_vertices))
    if not isinstance(doc, dict):
        raise _fail(
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


# --------------------------------------------------------------------------- sources


def document_source(
    source: Any, *, what: str, opening: str, max_bytes: int
) -> bytes | bytearray | memoryview | str:
    """The document's content, by the rule :func:`read_json` and :func:`read_graphml` follow.

    - ``bytes``, ``bytearray`` or ``memoryview``: the document itself (UTF-8);
    - a ``str`` that is blank or whose first character after whitespace is one of
      ``opening`` (``{`` or ``[`` for JSON, ``<`` for GraphML): the document itself;
    - any other ``str``, and any ``os.PathLike`` (such as ``pathlib.Path``): the path of a
      file, which must be a regular file (never a FIFO, a socket or a device: those could
      block or never end) of at most ``max_bytes`` bytes;
    - anything else (a file descriptor, ``None``, an open file...) is a
      :class:`~fnad.GraphArgumentError`.

    >>> document_source("  {}", what="JSON", opening="{[", max_bytes=100)
    '  {}'
    >>> document_source(3, what="JSON", opening="{[", max_bytes=100)
    Traceback (most recent call last):
    ...
    fnad.errors.GraphArgumentError: expected the path or the content of a JSON document (str, os.PathLike, bytes), got int (3); pass a path such as 'graph.json' or pathlib.Path(...), or the text itself (file descriptors are not read)
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = source.nbytes if isinstance(source, memoryview) else len(source)
        if size > max_bytes:
            raise _too_large(size, max_bytes, "bytes")
        return source
    if isinstance(source, str):
        start = source.lstrip(" \t\r\n\ufeff")[:1]
        if not start or start in opening:
            if len(source) > max_bytes:
                raise _too_large(len(source), max_bytes)
            return source
        return _read_file(source, max_bytes)
    if isinstance(source, os.PathLike):
        return _read_file(os.fspath(source), max_bytes)
    suffix = "json" if what == "JSON" else "graphml"
    raise GraphArgumentError(
        f"expected the path or the content of a {what} document (str, os.PathLike, bytes), "
        f"got {type(source).__name__} ({source!r:.40}); pass a path such as 'graph.{suffix}' "
        "or pathlib.Path(...), or the text itself (file descriptors are not read)"
    )


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(path: Any, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise _fail(
        f"{os.fsdecode(path)!r} is {kind}, not a regular file",
        "save the document to a file and pass its path (fnad reads no pipes or devices)",
    )


def _read_file(path: str | bytes, max_bytes: int) -> bytes:
    """A regular file's bytes: its kind and size are checked before it is read."""
    _check_regular(path, os.stat(path).st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)  # non-blocking: a FIFO swapped in cannot hang us
    with open(descriptor, "rb", closefd=True) as file:
        info = os.fstat(descriptor)
        _check_regular(path, info.st_mode)
        if info.st_size > max_bytes:
            raise _too_large(info.st_size, max_bytes, "bytes")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes, "bytes")
    return data


def _table(rules: Any) -> RuleTable:
    if rules is None:
        return current_rules()
    if not isinstance(rules, RuleTable):
        raise GraphArgumentError(
            f"rules must be a fnad.RuleTable or None, got {type(rules).__name__}; "
            "pass fnad.current_rules() or a table from fnad.isolated_rules()"
        )
    return rules


def _limit(name: str, value: Any) -> int:
    if type(value) is not int or value < 0:
        raise GraphArgumentError(
            f"{name} must be a whole number >= 0, got {value!r} ({type(value).__name__}); "
            f"e.g. {name}=10_000_000"
        )
    return value


# --------------------------------------------------------------------------- JSON


def _reject_constant(token: str) -> Any:
    raise _fail(
        f"the JSON token {token} is not strict JSON",
        'write non-finite numbers as the strings "nan", "inf" and "-inf", as fnad.to_json does',
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, value in pairs:
            if key in seen:
                raise _fail(
                    f"the key {key!r} appears twice in one JSON object (value {value!r:.40})",
                    "keep one of them",
                )
            seen.add(key)
    return result


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
_WS = re.compile(r"[ \t\n\r]*")
# A string (or an unterminated one up to the end: every attempt at a quote succeeds, so a
# scan stays linear on text such as '\\"' * 10**6), or one structural character.
_STRUCTURE = re.compile(r'"(?:[^"\\]+|\\.|\\\Z)*(?:"|\Z)|[\[\]{},]', re.DOTALL)
_BOUNDARY = re.compile(r"\}[ \t\n\r]*,[ \t\n\r]*\{")


def read_json(
    source: Source,
    *,
    rules: RuleTable | None = None,
    max_bytes: int = MAX_BYTES,
    max_vertices: int = MAX_VERTICES,
) -> CheckedGraph:
    """Read and check a ``fnad.graph`` JSON document (a path, or its text or bytes).

    ``source`` follows the rule of :func:`document_source`. Ops are resolved by name in
    ``rules`` (default: :func:`fnad.current_rules`).

    >>> read_json('{"graph": {"schema": "fnad.graph", "version": 9}}')
    Traceback (most recent call last):
    ...
    fnad.errors.GraphFormatError: graph document: unsupported schema version 9 (int); this fnad reads version 1; upgrade fnad to read it
    """
    table = _table(rules)
    limit = _limit("max_bytes", max_bytes)
    builder = _Builder(table, _limit("max_vertices", max_vertices))
    content = document_source(source, what="JSON", opening='{["', max_bytes=limit)
    if isinstance(content, str):
        text = content
    else:
        try:
            text = codecs.decode(content, "utf-8-sig")
        except UnicodeDecodeError as error:
            raise _fail(f"the bytes are not UTF-8 ({error})", "save the file as UTF-8") from None
        del content
    reader = _JsonReader(text, builder)
    del text  # the reader lets go of it before the last checks, which need only the columns
    with _without_cyclic_gc():
        return reader.read()


class _JsonReader:
    """The top-level object member by member; vertices and edges decoded chunk by chunk.

    Vertices are checked as soon as the header has been read, edges once every vertex has
    been: an array that comes too early is skipped (and counted) and read again later.
    """

    def __init__(self, text: str, builder: _Builder) -> None:
        self.text = text
        self.builder = builder
        self.chunk = max(1 << 14, min(_CHUNK, len(text) // 64))
        self.slow_until = 0  # entries before this position are read one at a time
        self.members: dict[str, Any] = {}
        self.arrays: dict[str, int] = {}  # "nodes"/"edges" -> where the '[' is
        self.done: set[str] = set()

    def syntax(self, message: str, position: int) -> GraphFormatError:
        error = json.JSONDecodeError(message, self.text, position)
        return _fail(f"not valid JSON ({error})", "pass the text fnad.to_json wrote")

    def ws(self, position: int) -> int:
        match = _WS.match(self.text, position)
        assert match is not None
        return match.end()

    # ---------------------------------------------------------------- top level

    def read(self) -> CheckedGraph:
        text = self.text
        i = self.ws(0)
        if not text.startswith("{", i):
            kind = "list" if text.startswith("[", i) else type(self.value(i, 1)[0]).__name__
            raise _fail(
                f"the top level is {kind}, not an object",
                'a fnad.graph document is {"graph": ..., "nodes": [...], "edges": [...]}',
            )
        i = self.ws(i + 1)
        if text.startswith("}", i):
            i += 1
        else:
            i = self.members_from(i)
        if self.ws(i) != len(text):
            raise self.syntax("Extra data", self.ws(i))
        del text
        return self.finish()

    def members_from(self, i: int) -> int:
        """Read the members of the top-level object from ``i``; return the end of the object."""
        text = self.text
        while True:
            if not text.startswith('"', i):
                raise self.syntax("Expecting property name enclosed in double quotes", i)
            key, i = self.value(i, 1)
            i = self.ws(i)
            if not text.startswith(":", i):
                raise self.syntax("Expecting ':' delimiter", i)
            i = self.ws(i + 1)
            if key in self.members or key in self.arrays:
                value = self.value(i, 2, preview=True)[0]
                raise _fail(
                    f"the key {key!r} appears twice in one JSON object (value {value!r:.40})",
                    "keep one of them",
                )
            if key in ("nodes", "edges") and text.startswith("[", i):
                self.arrays[key] = i
                i = self.array(i, key, check=self.ready(key))
            else:
                self.members[key], i = self.value(i, 2, f"the value of {key!r}")
            i = self.ws(i)
            if text.startswith(",", i):
                i = self.ws(i + 1)
            elif text.startswith("}", i):
                return i + 1
            else:
                raise self.syntax("Expecting ',' delimiter", i)

    def ready(self, key: str) -> bool:
        """Whether ``key``'s entries can be checked now: the header first, vertices before edges."""
        if "graph" not in self.members or (key == "edges" and "nodes" not in self.done):
            return False
        self.check_header()
        return True

    def check_header(self) -> None:
        members = self.members
        self.builder.check_header(members.get("graph"))
        self.builder.check_shape(members.get("directed", True), members.get("multigraph", False))

    def finish(self) -> CheckedGraph:
        self.check_header()
        self.builder.check_lists(
            [] if "nodes" in self.arrays else self.members.get("nodes"),
            [] if "edges" in self.arrays else self.members.get("edges"),
        )
        for key in ("nodes", "edges"):
            if key not in self.done:
                self.array(self.arrays[key], key, check=True)
        self.text = ""
        return self.builder.finish(self.members["graph"])

    # ---------------------------------------------------------------- values

    def value(self, i: int, depth: int, what: str = "", preview: bool = False) -> tuple[Any, int]:
        """Decode the value at ``i`` (at nesting ``depth``) once its extent is known to be small."""
        text = self.text
        if text.startswith(("[", "{"), i):
            try:
                self.extent(i, depth, what or f"the value at character {i:,}")
            except GraphFormatError:
                if preview:
                    return ("[...]" if text[i] == "[" else "{...}"), i
                raise
        try:
            return _DECODER.raw_decode(text, i)
        except json.JSONDecodeError as error:
            raise _fail(f"not valid JSON ({error})", "pass the text fnad.to_json wrote") from None

    def extent(self, i: int, depth: int, what: str) -> int:
        """Scan the container at ``i`` without decoding it: its end, if shallow and small enough."""
        text = self.text
        level = count = 0
        for match in _STRUCTURE.finditer(text, i):
            char = text[match.start()]
            if char == '"':
                continue
            if char in "[{":
                level += 1
                count += 1
                if depth + level - 1 > MAX_DEPTH:
                    raise _fail(
                        f"the JSON nests more than {MAX_DEPTH} levels deep "
                        "(a fnad.graph document nests 4 levels)",
                        "this is not a document fnad.to_json wrote",
                    )
            elif char in "]}":
                level -= 1
                if level == 0:
                    return match.end()
            else:
                count += 1
            if count > MAX_ENTRY_VALUES:
                raise _fail(
                    f"{what} holds more than {MAX_ENTRY_VALUES:,} values (a vertex or an edge "
                    "holds about 10)",
                    "remove the large annotation; fnad ignores extra fields, but only small ones",
                )
        return len(text)  # unterminated: the decoder says so

    # ---------------------------------------------------------------- arrays

    def array(self, i: int, key: str, check: bool) -> int:
        """Read the array of vertices or edges at ``i``; check its entries if ``check``.

        Otherwise (it comes before what it needs) it is read again later; meanwhile its
        entries are counted and their shape is checked, so junk is refused at once.
        """
        text, builder = self.text, self.builder
        handle: Callable[[list[Any], int], None] = builder.check_shapes
        if check:
            handle = builder.add_vertices if key == "nodes" else builder.add_edges
            self.done.add(key)
        elif key == "edges":
            handle = builder.check_edge_shapes
        i = self.ws(i + 1)
        count = 0
        if text.startswith("]", i):
            return i + 1
        while True:
            batch, i = self.batch(i, f"{key}[{count}]")
            i = self.ws(i)
            if key == "nodes":  # exact when this batch ends the array
                builder.count(count + len(batch), exact=text.startswith("]", i))
            handle(batch, count)
            count += len(batch)
            if text.startswith("]", i):
                return i + 1
            if not text.startswith(",", i):
                raise self.syntax("Expecting ',' delimiter", i)
            i = self.ws(i + 1)

    def batch(self, i: int, where: str) -> tuple[list[Any], int]:
        """The entries from ``i`` on: about a chunk of them, or the next one alone.

        Returns them and where the last one ends (the array's ``]`` if it was reached). A
        chunk ends at the first ``},{`` after one chunk of text; its brackets are checked
        to nest at most :data:`MAX_DEPTH` deep before the decoder sees it. When a chunk
        does not decode (the ``},{`` was in a string or a nested value, or no chunk fits),
        the entries up to where it would have ended are read one at a time.
        """
        text = self.text
        if text.startswith("{", i) and i >= self.slow_until:
            chunk = self.chunk
            match = _BOUNDARY.search(text, i + chunk, i + 4 * chunk)
            stop = match.start() + 1 if match is not None else len(text)
            if match is not None or stop - i <= 4 * chunk:
                piece = text[i:stop]
                keys = _skeleton_keys(piece, MAX_DEPTH - 2)
                if keys is not None:
                    try:  # the array goes on after the piece
                        return _decode_chunk(f"[{piece}]", keys, whole=True), stop
                    except json.JSONDecodeError:
                        pass
                    try:  # the array ends in the piece
                        entries, end = _decode_chunk(f"[{piece}", keys, whole=False)
                        return entries, i + end - 2  # where its ']' is
                    except json.JSONDecodeError:
                        pass
            self.slow_until = min(stop, i + 4 * chunk)
        if text.startswith(("[", "{"), i):
            self.extent(i, 3, where)
        try:
            entry, end = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError as error:
            raise _fail(f"not valid JSON ({error})", "pass the text fnad.to_json wrote") from None
        return [entry], end


_KEEP = b'"[]{}:'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_QUOTED = re.compile(rb'"[^"]*"')


def _skeleton_keys(piece: str, rounds: int) -> int | None:
    """How many keys the JSON text ``piece`` holds, if it nests at most ``rounds`` levels
    before it closes more brackets than it opens (where a decoder stops); else None.

    Strings are set aside first, so nothing inside one counts; all at C speed.
    """
    raw = piece.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    if raw.count(b'"') % 2:
        return None  # ends inside a string
    skeleton = raw.translate(None, _DROP).replace(b'""', b"")  # no escapes: quotes pair up
    if b'"' in skeleton:
        skeleton = _QUOTED.sub(b"", skeleton)  # strings that hold brackets or colons
    keys = skeleton.count(b":")
    skeleton = skeleton.replace(b":", b"")
    for _ in range(rounds):
        reduced = skeleton.replace(b"{}", b"").replace(b"[]", b"")
        if reduced == skeleton:
            break
        skeleton = reduced
    return keys if not skeleton or skeleton[0] in b"]}" else None


_FAST_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


@overload
def _decode_chunk(text: str, keys: int, whole: Literal[True]) -> list[Any]: ...
@overload
def _decode_chunk(text: str, keys: int, whole: Literal[False]) -> tuple[list[Any], int]: ...


def _decode_chunk(text: str, keys: int, whole: bool) -> Any:
    """Decode a chunk of entries; a repeated key is found by counting keys, not by a hook.

    Decoding without a Python call per object is several times faster; when the keys of
    the entries do not add up to the ``keys`` in the text (a key repeated, or keys in
    nested objects or after the array's end), the chunk is decoded again with the check.
    """
    result = _FAST_DECODER.decode(text) if whole else _FAST_DECODER.raw_decode(text)
    entries = result if whole else result[0]
    if set(map(type, entries)) == {dict} and sum(map(len, entries)) == keys:
        return result
    return _DECODER.decode(text) if whole else _DECODER.raw_decode(text)


# --------------------------------------------------------------------------- GraphML


def read_graphml(
    source: Source,
    *,
    rules: RuleTable | None = None,
    max_bytes: int = MAX_BYTES,
    max_vertices: int = MAX_VERTICES,
) -> CheckedGraph:
    """Read and check a GraphML file written by :func:`fnad.to_graphml` (a path, or its content).

    ``source`` follows the rule of :func:`document_source` (XML content starts with ``<``).
    Before any XML is parsed, DOCTYPE and ENTITY declarations are refused (no entity is
    ever expanded, no external file read). The file is then read as GraphML: the exact
    layout fnad writes is recognised line by line (fast); any other layout (a file saved
    by networkx, yEd or Gephi) goes through an XML parser, element by element, in up to
    three passes (the header and the counts, the vertices, the edges), so the graph's
    attributes may come anywhere in it.
    """
    table = _table(rules)
    limit = _limit("max_bytes", max_bytes)
    vertex_limit = _limit("max_vertices", max_vertices)
    content = document_source(source, what="GraphML", opening="<", max_bytes=limit)
    if isinstance(content, str):
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as error:
            raise _fail(f"the GraphML text is not Unicode text ({error})", "pass UTF-8") from None
    else:
        data = bytes(content)
    del content
    _check_utf8(data)
    declaration = _FORBIDDEN_XML.search(data)
    if declaration is not None:
        token = declaration.group()[2:].decode().upper()
        raise _fail(
            f"the GraphML contains a {token} declaration, which fnad refuses "
            "(entity expansion can exhaust memory or read local files)",
            "remove the DOCTYPE/ENTITY declarations; fnad.to_graphml writes none",
        )
    with _without_cyclic_gc():
        graph = _fnad_layout(data, _Builder(table, vertex_limit, json=False))
        if graph is None:
            graph = _xml_layout(data, _Builder(table, vertex_limit, json=False))
    return graph


_FORBIDDEN_XML = re.compile(rb"<!(?i:doctype|entity)")
_GRAPHML = f"{GRAPHML_NAMESPACE} "  # how expat names elements with namespace_separator " "


def _check_utf8(data: bytes) -> None:
    if data.isascii():
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(data[start : start + _CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise _fail(f"the GraphML is not UTF-8 ({error})", "save it as UTF-8") from None


def _graphml_int(text: str | None) -> int | str | None:
    if text is not None and _INT.fullmatch(text):
        return int(text)
    return text


_INT = re.compile(r"-?[0-9]{1,18}")


def _graphml_number(text: str) -> float | str:
    """A GraphML double as a float (NaN and INF included); text that is not one stays as is."""
    value = decode_double(text)
    if value is None or (value - value != 0.0 and text.lstrip("+") not in _NON_FINITE_DOUBLES):
        return text  # not a double, or one too large for a float (1e999)
    return value


_NON_FINITE_DOUBLES = ("NaN", "INF", "-INF", "nan", "inf", "-inf")


def _converted(kind: str | None, text: str) -> Any:
    if kind in ("double", "float"):
        return _graphml_number(text)
    if kind in ("int", "long"):
        return _graphml_int(text)
    return text


def _graphml_vertex(n: int, entry: dict[str, Any]) -> dict[str, Any]:
    """Decode a label that fnad.to_graphml had to escape (``label_escaped`` is true)."""
    flag = entry.pop("label_escaped", None)
    if flag is None or flag in ("false", "0"):
        return entry
    label = entry.get("label", "")
    if flag not in ("true", "1") or not isinstance(label, str):
        raise _fail(f"nodes[{n}]: label_escaped is {_describe(flag)}", 'write "true" or "false"')
    decoded = decode_graphml_label(label)
    if decoded is None:
        raise _fail(
            f"nodes[{n}]: the escaped label {label!r:.60} has a malformed escape",
            "write \\\\, \\xNN or \\uNNNN escapes only, as fnad.to_graphml does",
        )
    entry["label"] = decoded
    return entry


def _graphml_edge(e: int, entry: dict[str, Any]) -> dict[str, Any]:
    positions = entry.get("positions")
    if isinstance(positions, str):
        # Counted before it is split: a string of ten million commas is refused at once.
        if positions.count(",") >= MAX_ENTRY_VALUES:
            raise _fail(
                f"edges[{e}] lists more than {MAX_ENTRY_VALUES:,} argument positions",
                'list the argument positions this edge fills, e.g. "0" or "0,1"',
            )
        parts = positions.split(",") if positions.strip() else []
        entry["positions"] = [_graphml_int(p) for p in parts]
    return entry


# ---------------------------------------------------------------- the layout fnad writes

# Each field as fnad writes it, strictly: a line that differs in any way (another number
# spelling, an attribute more, other whitespace) sends the whole file to the XML parser.
_TEXT = rb"((?:[^<>&\x00-\x08\x0b\x0c\x0e-\x1f\r]+|&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)*)"
_ID = rb"(-?[0-9]{1,18})"
_OP = rb"([A-Za-z0-9_.]*)"
_DOUBLE = rb"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:INF|inf)|NaN|nan)"


def _key_line(key: str, scope: str, name: str, kind: str) -> bytes:
    line = f'  <key id="{key}" for="{scope}" attr.name="{name}" attr.type="{kind}" />\n'
    return re.escape(line.encode())


_HEAD = re.compile(
    rb"<\?xml version='1\.0' encoding='utf-8'\?>\n"
    + re.escape(f'<graphml xmlns="{GRAPHML_NAMESPACE}">\n'.encode())
    + b"".join(_key_line(*key) for key in GRAPHML_KEYS)
    + rb'  <graph id="fnad" edgedefault="directed">\n'
    + rb'    <data key="g_schema">'
    + _TEXT
    + rb"</data>\n"
    + rb'    <data key="g_version">'
    + _TEXT
    + rb"</data>\n"
    + rb'    <data key="g_output">'
    + _TEXT
    + rb"</data>\n"
)
_NODE = re.compile(
    rb'    <node id="' + _ID + rb'"><data key="v_op">' + _OP + rb"</data>"
    rb'<data key="v_label">' + _TEXT + rb"</data>"
    rb'(<data key="v_label_escaped">true</data>)?'
    rb'<data key="v_data">'
    + _DOUBLE
    + rb'</data><data key="v_grad">'
    + _DOUBLE
    + rb"</data></node>\n"
)
_EDGE = re.compile(
    rb'    <edge source="' + _ID + rb'" target="' + _ID + rb'">'
    rb'<data key="e_positions">([0-9]{1,18}(?:,[0-9]{1,18})*)</data>'
    rb'<data key="e_partial">'
    + _TEXT
    + rb'</data><data key="e_flow">'
    + _TEXT
    + rb"</data></edge>\n"
)
_TAILS = (b"  </graph>\n</graphml>\n", b"  </graph>\n</graphml>")
_ANY_VERTEX = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?node[\s/>]")
_REFERENCE = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _NotFnadLayout(Exception):
    """The file is not laid out exactly as fnad.to_graphml writes it: parse it as XML."""


def _xml_char(match: re.Match[str]) -> str:
    name, decimal, hexadecimal = match.groups()
    if name:
        return _ENTITIES[name]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if not (
        code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF
    ) or code in (0xFFFE, 0xFFFF):
        raise _NotFnadLayout  # not well-formed: let the XML parser say so
    return chr(code)


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return _REFERENCE.sub(_xml_char, text) if "&" in text else text


def _fnad_layout(data: bytes, builder: _Builder) -> CheckedGraph | None:
    """Read a file laid out exactly as fnad.to_graphml writes it; None if it is not."""
    if b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:
        return None  # U+FFFE/U+FFFF: not XML characters; the XML parser refuses them
    tail = next((len(data) - len(t) for t in _TAILS if data.endswith(t)), None)
    try:
        head = _HEAD.match(data, 3 if data.startswith(codecs.BOM_UTF8) else 0)
        if head is None or tail is None:
            return None
        schema, version, output = (_text(raw) for raw in head.groups())
        graph = {"schema": schema, "version": _graphml_int(version), "output": _graphml_int(output)}
        builder.check_header(graph)
        position = _fnad_nodes(data, head.end(), builder)
        # Edges are checked against every vertex: no vertex may come after them.
        if _ANY_VERTEX.search(data, position, tail) is not None:
            return None
        if _fnad_edges(data, position, builder) != tail:
            return None
    except _NotFnadLayout:
        return None
    return builder.finish(graph)


def _fnad_nodes(data: bytes, position: int, builder: _Builder) -> int:
    """Read the vertex lines from ``position`` on, in batches; return where they end."""
    match_node = _NODE.match
    rows: list[tuple[bytes, ...]] = []
    count = 0
    while (match := match_node(data, position)) is not None:
        position = match.end()
        rows.append(match.groups())
        if len(rows) == _BATCH:
            _vertex_rows(rows, count, builder)
            count += len(rows)
            rows = []
    _vertex_rows(rows, count, builder)
    return position


def _vertex_rows(rows: list[tuple[bytes, ...]], first: int, builder: _Builder) -> None:
    """Check vertex lines column by column (the template made every field well-formed)."""
    if not rows:
        return
    ids, ops, labels, escaped, data, grads = zip(*rows, strict=True)
    if not any(escaped):
        values = list(map(float, data))
        gradients = list(map(float, grads))
        if _spelled_non_finite(data, values) and _spelled_non_finite(grads, gradients):
            texts = [_text(label) for label in labels]
            names = list(map(bytes.decode, ops))
            if builder.keep_vertices(list(map(int, ids)), names, texts, values, gradients):
                return
    entries = []
    for n, (vertex, op, label, flag, value, grad) in enumerate(rows, first):
        entry = {
            "id": int(vertex),
            "label": _text(label),
            "op": op.decode(),
            "data": _graphml_number(value.decode()),
            "grad": _graphml_number(grad.decode()),
        }
        if flag:
            entry["label_escaped"] = "true"
        entries.append(_graphml_vertex(n, entry))
    builder.add_vertices(entries, first)


def _spelled_non_finite(texts: Sequence[bytes], values: Sequence[float]) -> bool:
    """Whether every non-finite value was spelled NaN, INF or -INF (not 1e999, too large)."""
    if all(map(math.isfinite, values)):
        return True
    return all(
        text.lstrip(b"+").decode() in _NON_FINITE_DOUBLES
        for text, value in zip(texts, values, strict=True)
        if not math.isfinite(value)
    )


def _fnad_edges(data: bytes, position: int, builder: _Builder) -> int:
    """Read the edge lines from ``position`` on, in batches; return where they end."""
    match_edge = _EDGE.match
    rows: list[tuple[bytes, ...]] = []
    count = 0
    while (match := match_edge(data, position)) is not None:
        position = match.end()
        rows.append(match.group(1, 2, 3))
        if len(rows) == _BATCH:
            _edge_rows(rows, count, builder)
            count += len(rows)
            rows = []
    _edge_rows(rows, count, builder)
    return position


def _edge_rows(rows: list[tuple[bytes, ...]], first: int, builder: _Builder) -> None:
    """Check edge lines column by column if each fills one position, else line by line."""
    if not rows:
        return
    sources, targets, positions = zip(*rows, strict=True)
    if b"," not in b"".join(positions) and builder.keep_edges(
        list(map(int, sources)), list(map(int, targets)), list(map(int, positions))
    ):
        return
    entries = []
    for e, (source, target, places) in enumerate(rows, first):
        entry = {"source": int(source), "target": int(target), "positions": places.decode()}
        entries.append(_graphml_edge(e, entry))
    builder.add_edges(entries, first)


# ---------------------------------------------------------------- any other layout


class _Pass:
    """expat handlers shared by the passes: element depth, namespace, ``<data>`` fields."""

    def __init__(self, keys: dict[Any, tuple[Any, Any, Any]], ns: str) -> None:
        self.keys = keys
        self.ns = ns
        self.depth = 0
        self.field: tuple[str, str | None] | None = None  # (name, kind) of the <data> being read
        self.field_depth = 0
        self.text: list[str] = []

    def local(self, name: str) -> str | None:
        """The element's name if it is in the file's GraphML namespace, else None."""
        if self.ns:
            return name[len(self.ns) :] if name.startswith(self.ns) else None
        return None if " " in name else name

    def characters(self, text: str) -> None:
        # Only the text before a <data> element's first child counts, as ElementTree's .text.
        if self.field is not None and self.depth == self.field_depth:
            self.text.append(text)

    def open_field(self, attributes: dict[str, str]) -> None:
        _, name, kind = self.keys.get(attributes.get("key"), (None, None, None))
        if name is not None:
            self.field, self.field_depth, self.text = (name, kind), self.depth, []

    def close_field(self, target: dict[str, Any]) -> None:
        if self.field is not None:
            name, kind = self.field
            target[name] = _converted(kind, "".join(self.text))
            self.field = None

    def child_started(self) -> None:
        if self.field is not None and self.depth > self.field_depth:
            self.field_depth = -1  # text after a child is not the field's text

    def run(self, data: bytes) -> None:
        parser = expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
        parser.buffer_text = True
        parser.buffer_size = 1 << 16
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.characters
        try:
            for offset in range(0, len(data), _CHUNK):
                parser.Parse(data[offset : offset + _CHUNK], False)
            parser.Parse(b"", True)
        except expat.ExpatError as error:
            raise _fail(
                f"not well-formed XML ({error})", "pass a file fnad.to_graphml wrote"
            ) from None

    def start(self, name: str, attributes: dict[str, str]) -> None:
        raise NotImplementedError

    def end(self, name: str) -> None:
        raise NotImplementedError


class _HeaderPass(_Pass):
    """Pass 1: the keys, the graph's attributes, the number of graphs and of vertices."""

    def __init__(self, builder: _Builder) -> None:
        super().__init__({}, "")
        self.builder = builder
        self.graphs = 0
        self.in_graph = False
        self.edgedefault = "directed"
        self.meta: dict[str, Any] = {}
        self.vertices = 0
        self.edges = 0
        self.vertex_after_edge = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        self.child_started()
        if self.depth == 1:
            if name not in (_GRAPHML + "graphml", "graphml"):
                namespace, _, bare = name.rpartition(" ")
                tag = f"{{{namespace}}}{bare}" if namespace else bare
                raise _fail(f"the root element is <{tag}>, not <graphml>", "pass a GraphML file")
            self.ns = _GRAPHML if name.startswith(_GRAPHML) else ""
        elif self.depth == 2:
            local = self.local(name)
            if local == "key":
                self.keys[attributes.get("id")] = (
                    attributes.get("for"),
                    attributes.get("attr.name"),
                    attributes.get("attr.type"),
                )
            elif local == "graph":
                self.graphs += 1
                self.in_graph = self.graphs == 1
                edgedefault = attributes.get("edgedefault")
                if self.in_graph and edgedefault is not None:
                    self.edgedefault = edgedefault
        elif self.depth == 3 and self.in_graph:
            local = self.local(name)
            if local == "data":
                self.open_field(attributes)
            elif local == "node":
                # A vertex without an integer id is refused at once, not after the file.
                vertex = _graphml_int(attributes.get("id"))
                if type(vertex) is not int:
                    raise _fail(
                        f"nodes[{self.vertices}]: id is {_describe(vertex)}, not an integer",
                        "use integer ids",
                    )
                self.vertices += 1
                self.vertex_after_edge = self.vertex_after_edge or self.edges > 0
                self.builder.count(self.vertices, exact=False)
            elif local == "edge":
                self.edges += 1

    def end(self, name: str) -> None:
        if self.depth == 3 and self.in_graph:
            self.close_field(self.meta)
        elif self.depth == 2:
            self.in_graph = False
        self.depth -= 1


class _EntryPass(_Pass):
    """Passes 2 and 3: the vertices and/or the edges, in batches, to the checks."""

    def __init__(self, header: _HeaderPass, builder: _Builder, kinds: str) -> None:
        super().__init__(header.keys, header.ns)
        self.builder = builder
        self.kinds = kinds  # "node", "edge" or "node edge"
        self.in_graph = False
        self.graphs = 0
        self.entry: dict[str, Any] | None = None
        self.is_vertex = False
        self.vertices: list[Any] = []
        self.edges: list[Any] = []
        self.vertex_count = self.edge_count = 0
        self.commas = 0

    def characters(self, text: str) -> None:
        super().characters(text)
        if self.field is not None and self.field[0] == "positions" and not self.is_vertex:
            # Counted as it arrives: ten million commas are refused before they are kept.
            self.commas += text.count(",")
            if self.commas >= MAX_ENTRY_VALUES:
                _graphml_edge(self.edge_count + len(self.edges), {"positions": "," * self.commas})

    def open_field(self, attributes: dict[str, str]) -> None:
        super().open_field(attributes)
        self.commas = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        self.child_started()
        if self.depth == 2:
            if self.local(name) == "graph":
                self.graphs += 1
                self.in_graph = self.graphs == 1
        elif self.depth == 3 and self.in_graph:
            local = self.local(name)
            if local == "node" and "node" in self.kinds:
                self.entry = {"id": _graphml_int(attributes.get("id")), "label": ""}
                self.is_vertex = True
            elif local == "edge" and "edge" in self.kinds:
                self.entry = {
                    "source": _graphml_int(attributes.get("source")),
                    "target": _graphml_int(attributes.get("target")),
                }
                self.is_vertex = False
        elif self.depth == 4 and self.entry is not None and self.local(name) == "data":
            self.open_field(attributes)

    def end(self, name: str) -> None:
        depth = self.depth
        self.depth -= 1
        entry = self.entry
        if depth == 2:
            self.in_graph = False
        if entry is None:
            return
        if depth == 4:
            self.close_field(entry)
        elif depth == 3:
            self.entry = None
            if self.is_vertex:
                n = self.vertex_count + len(self.vertices)
                self.vertices.append(_graphml_vertex(n, entry))
                if len(self.vertices) == _BATCH:
                    self.flush_vertices()
            else:
                self.flush_vertices()  # every vertex comes before the first edge
                e = self.edge_count + len(self.edges)
                self.edges.append(_graphml_edge(e, entry))
                if len(self.edges) == _BATCH:
                    self.flush_edges()

    def flush_vertices(self) -> None:
        if self.vertices:
            self.builder.add_vertices(self.vertices, self.vertex_count)
            self.vertex_count += len(self.vertices)
            self.vertices = []

    def flush_edges(self) -> None:
        if self.edges:
            self.builder.add_edges(self.edges, self.edge_count)
            self.edge_count += len(self.edges)
            self.edges = []


def _xml_layout(data: bytes, builder: _Builder) -> CheckedGraph:
    """Any GraphML layout, through expat: the header and the counts first, then the entries."""
    header = _HeaderPass(builder)
    header.run(data)
    if header.graphs != 1:
        raise _fail(
            f"the file holds {header.graphs} graphs", "a fnad GraphML file holds exactly one"
        )
    builder.check_header(header.meta)
    builder.check_shape(header.edgedefault == "directed", False)
    builder.count(header.vertices, exact=True)
    for kinds in ("node", "edge") if header.vertex_after_edge else ("node edge",):
        entries = _EntryPass(header, builder, kinds)
        entries.run(data)
        entries.flush_vertices()
        entries.flush_edges()
    return builder.finish(header.meta)
