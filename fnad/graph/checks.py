"""The checks every reader shares; they produce a :class:`~fnad.engine.table.GraphTable`.

The limits (:data:`MAX_BYTES`, :data:`MAX_VERTICES`, :data:`MAX_DEPTH`,
:data:`MAX_ENTRY_VALUES`), the error helpers, the result and the checks of the header and
of the vertices. The edges and the whole graph are checked in :mod:`fnad.graph.builder`;
the list of checks, in order, is in :mod:`fnad.graph.reader`.
"""

from __future__ import annotations

import contextlib
import gc
import math
import operator
import os
from array import array
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Any, NamedTuple, Union

from fnad.engine import CONST
from fnad.engine.rules import Rule, RuleTable
from fnad.engine.table import GraphTable
from fnad.errors import GraphFormatError
from fnad.graph.schema import INPUT, SCHEMA, SCHEMA_VERSION, decode_float

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_ENTRY_VALUES",
    "MAX_VERTICES",
    "CheckedGraph",
    "Source",
    "Vertex",
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

CHUNK = 1 << 20  # the most JSON text decoded at once (before the first check of a chunk)
BATCH = 4096  # vertices or edges handed to the checks at once


@contextlib.contextmanager
def without_cyclic_gc() -> Iterator[None]:
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


def fail(problem: str, fix: str) -> GraphFormatError:
    return GraphFormatError(f"graph document: {problem}; {fix}")


def describe(value: object) -> str:
    text = repr(value)
    if len(text) > 50:
        text = text[:47] + "..."
    return f"{text} ({type(value).__name__})"


def vertex_name(vertex: int, label: str) -> str:
    return f"vertex {vertex} (label {label!r})" if label else f"vertex {vertex}"


def too_large(size: int, limit: int, unit: str = "characters") -> GraphFormatError:
    return fail(
        f"the document is {size:,} {unit}, above the limit of {limit:,}",
        "pass a larger max_bytes= if you trust this file",
    )


# --------------------------------------------------------------------------- the result


class Vertex(NamedTuple):
    """One vertex of a checked graph, as :meth:`of` reads it from the table."""

    op: str
    """:data:`~fnad.graph.schema.INPUT` (``""``), :data:`~fnad.graph.schema.CONST`, or a rule's name."""
    label: str
    data: float
    """The value the document stores."""
    grad: float | None
    """The table's gradient, or None (a document's gradients are checked, not kept)."""
    rule: Rule | None
    """The op's rule in the loading rule table; None for inputs and consts."""

    @classmethod
    def of(cls, table: GraphTable, vertex: int) -> Vertex:
        """Everything ``table`` says about ``vertex``.

        >>> from fnad import Node, to_json
        >>> from fnad.graph.reader import read_json
        >>> x = Node(2.0, label="x")
        >>> graph = read_json(to_json(x * 3))
        >>> len(graph), graph.output, graph.arguments(2), Vertex.of(graph, 0)
        (3, 2, (0, 1), Vertex(op='', label='x', data=2.0, grad=None, rule=None))
        """
        op = table.ops[vertex]
        grad = None if table.grads is None else table.grads[vertex]
        return cls(op, table.labels[vertex], table.values[vertex], grad, table.rules.get(op))


CheckedGraph = GraphTable
"""What the readers return: a document that passed every check, as the
:class:`~fnad.engine.table.GraphTable` a :class:`~fnad.Program` compiles (this name is the
readers' result from before the table; it is the same class)."""


# --------------------------------------------------------------------------- the checks

MISSING: Any = object()


_VERTEX_FIELDS = operator.itemgetter("id", "op", "label", "data", "grad")
_ID_FIELD = operator.methodcaller("get", "id")
_REQUIRED_VERTEX_FIELDS = operator.itemgetter("id", "op", "data")
EDGE_FIELDS = operator.itemgetter("source", "target", "positions")


class _NoGrad:
    """The ``grad`` of a vertex that has none (the field is optional)."""


_NO_GRAD = _NoGrad()
_NAN = array("d", [math.nan])


class VertexChecks:
    """The checks of steps 3-4 (the header and the vertices), fed in document order, batch by batch.

    Columns are kept in document order: one entry per vertex, plus an argument slot per
    position of each op (``-1`` until an edge fills it). :class:`fnad.graph.builder._Builder`
    adds the edges and the checks of the whole graph.
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
            raise fail(
                "missing the 'graph' object that holds the schema name and version",
                f'write "graph": {{"schema": "{SCHEMA}", "version": {SCHEMA_VERSION}, ...}}',
            )
        if graph.get("schema") != SCHEMA:
            raise fail(
                f"graph.schema is {describe(graph.get('schema'))}, expected {SCHEMA!r}",
                "load only documents written by fnad.to_json",
            )
        if "version" not in graph:
            raise fail(
                "missing schema version (graph.version)",
                f"documents of this fnad carry version {SCHEMA_VERSION}; add it or re-export",
            )
        version = graph["version"]
        if type(version) is not int or version != SCHEMA_VERSION:
            newer = type(version) is int and version > SCHEMA_VERSION
            raise fail(
                f"unsupported schema version {describe(version)}; this fnad reads version "
                f"{SCHEMA_VERSION}",
                "upgrade fnad to read it" if newer else "re-export the graph with fnad.to_json",
            )

    @staticmethod
    def check_shape(directed: Any, multigraph: Any) -> None:
        if directed is not True or multigraph is not False:
            raise fail(
                "a fnad.graph is a directed graph without parallel edges",
                'set "directed": true and "multigraph": false',
            )

    @staticmethod
    def check_lists(nodes: Any, edges: Any) -> None:
        """``nodes`` and ``edges`` are lists (pass ``[]`` for one that was read as a list)."""
        for key, value in (("nodes", nodes), ("edges", edges)):
            if not isinstance(value, list):
                raise fail(f"{key!r} is {describe(value)}, not a list", f'write "{key}": [...]')

    # ---------------------------------------------------------------- vertices

    def count(self, vertices: int, exact: bool) -> None:
        """Refuse more than ``max_vertices`` vertices (``exact``: the document's total)."""
        if vertices > self.max_vertices:
            many = f"{vertices:,}" if exact else f"at least {vertices:,}"
            raise fail(
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
        rules = [known.get(op, MISSING) for op in ops]
        if MISSING in rules:
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
                raise fail(
                    f"edges[{e}] is {describe(entry)}, not an object", "write one object per edge"
                )
            for key in ("source", "target"):
                if key not in entry:
                    raise fail(
                        f"edges[{e}] has no {key!r} field",
                        "give every edge a source and a target vertex id",
                    )

    @staticmethod
    def _check_id(n: int, entry: Any) -> int:
        if type(entry) is not dict:
            raise fail(
                f"nodes[{n}] is {describe(entry)}, not an object", "write one object per vertex"
            )
        vertex = entry.get("id", MISSING)
        if type(vertex) is not int:
            if vertex is MISSING:
                raise fail(f"nodes[{n}] has no 'id' field", "give every vertex an integer id")
            raise fail(f"nodes[{n}]: id is {describe(vertex)}, not an integer", "use integer ids")
        return vertex

    def _vertex(self, n: int, entry: Any) -> None:
        vertex = self._check_id(n, entry)
        if self.index is not None or vertex != n:
            self._new_id(n, vertex)
        label = entry.get("label", "")
        if type(label) is not str:
            raise fail(
                f"vertex {vertex}: label is {describe(label)}, not a string", 'use "" for none'
            )
        op = entry.get("op", MISSING)
        rule = self.known.get(op, MISSING) if type(op) is str else MISSING
        if rule is MISSING:
            rule = self._rule(vertex, label, op)
        data = entry.get("data", MISSING)
        if type(data) is not float or data - data != 0.0:
            data = self._number(vertex, label, "data", data)
        grad = entry.get("grad", MISSING)
        if grad is MISSING:
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
            raise fail(f"duplicate vertex id {vertex} (nodes[{n}])", "give every vertex its own id")
        if self.ids and vertex < self.ids[-1]:
            self.increasing = False
        self.index[vertex] = n
        self.ids.append(vertex)

    def _rule(self, vertex: int, label: str, op: Any) -> Rule | None:
        name = vertex_name(vertex, label)
        if op is MISSING:
            raise fail(
                f"{name} has no 'op' field", 'write "op": "" for an input, "const", or an op name'
            )
        if not isinstance(op, str):
            raise fail(f"{name}: op is {describe(op)}, not a string", "write the op's name")
        if op not in self.table:
            raise fail(
                f"{name} has op {op!r}, which is not in the rule table",
                "register that op (fnad.defop) before loading, or check its spelling",
            )
        rule = self.table[op]
        self.known[op] = rule
        return rule

    def _number(self, vertex: int, label: str, key: str, value: Any) -> float:
        name = vertex_name(vertex, label)
        if value is MISSING:
            raise fail(f"{name} has no {key!r} field", "write the vertex's value")
        if not self.json:  # GraphML: the reader made every double a float
            if type(value) is float:
                return value
            raise fail(
                f"{name}: {key} is {describe(value)}, not a number",
                "write an XML Schema double: 1.5, -2e-3, INF, -INF or NaN",
            )
        if type(value) is float:  # inf: a JSON number too large for a float, such as 1e999
            raise fail(
                f"{name}: {key} is a number too large for a float (it reads as {value!r})",
                'write "inf" or "-inf" (strings) for infinite values, as fnad.to_json does',
            )
        result = decode_float(value)
        if result is None or isinstance(value, bool):
            raise fail(
                f"{name}: {key} is {describe(value)}, not a number",
                'write a JSON number, or "nan", "inf", "-inf" for non-finite values',
            )
        return result


_UNFILLED = array("q", [-1] * 8)


def _counts_up(ids: Sequence[int], first: int) -> bool:
    """Whether ``ids`` are ``first, first + 1, ...``: the ids of a document fnad wrote."""
    return (
        bool(ids)
        and ids[0] == first
        and ids[-1] == first + len(ids) - 1
        and all(map(operator.eq, ids, range(first, first + len(ids))))
    )
