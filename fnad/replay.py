"""Load an exported graph back as a :class:`Program`: re-evaluate and differentiate it.

A document is untrusted input. :func:`from_json` checks the whole of it before building
anything and raises :class:`~fnad.GraphFormatError` (a ValueError) naming the problem,
the vertex or edge, and the fix: size and nesting limits (checked before the JSON parser,
which recurses, ever sees the text), strict JSON (no ``NaN`` tokens, no duplicate keys),
the schema name and version, vertex ids, ops (resolved by name in the rule table, never
as Python), values, edges, argument positions against each op's arity, self-loops and
cycles, and that every vertex feeds the output. All checks are loops; nothing recurses
over the graph.

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

import heapq
import json
import os
import re
import xml.etree.ElementTree as ET
from itertools import accumulate
from typing import Any, NamedTuple

import networkx as nx

from fnad.core import CONST, Node, Tape
from fnad.errors import GraphFormatError
from fnad.program import Program, ValueAndGrad
from fnad.rules import Rule, RuleTable, current_rules
from fnad.schema import INPUT, SCHEMA, SCHEMA_VERSION, decode_float, encode_float, input_names

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VERTICES",
    "CheckedGraph",
    "Program",
    "ValueAndGrad",
    "Vertex",
    "check_document",
    "from_graphml",
    "from_json",
]

MAX_BYTES = 256 * 2**20
"""Default limit on a document's size (256 MiB: about a million vertices)."""

MAX_VERTICES = 2_000_000
"""Default limit on the number of vertices a document may declare."""

MAX_DEPTH = 16
"""How deeply a document may nest JSON arrays/objects; a fnad.graph document nests 4 deep."""

# A JSON string, or an unterminated one up to the end of the text: every match attempt
# at a quote succeeds, so stripping strings stays linear even on hostile text such as
# '\\"' * 10**6 (a pattern that can fail would be retried at every quote: quadratic).
_STRING = re.compile(r'"(?:[^"\\]+|\\.|\\\Z)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _fail(problem: str, fix: str) -> GraphFormatError:
    return GraphFormatError(f"graph document: {problem}; {fix}")


def _nesting(text: str) -> int:
    """How deep the text's brackets nest, outside strings: a loop, never a recursion."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _reject_constant(token: str) -> Any:
    raise _fail(
        f"the JSON token {token} is not strict JSON",
        'write non-finite numbers as the strings "nan", "inf" and "-inf", as fnad.to_json does',
    )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _fail(
                f"the key {key!r} appears twice in one JSON object (value {value!r:.40})",
                "keep one of them",
            )
        result[key] = value
    return result


def parse(text: str | bytes, *, max_bytes: int = MAX_BYTES) -> Any:
    """Strict, bounded JSON parsing: size and nesting checked before ``json.loads`` runs."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > max_bytes:
            raise _too_large(len(text), max_bytes)
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise _fail(f"the bytes are not UTF-8 ({error})", "save the file as UTF-8") from None
    if not isinstance(text, str):
        raise _fail(
            f"expected the JSON text (str or bytes), got {type(text).__name__}",
            "read the file first, e.g. from_json(path.read_text())",
        )
    if len(text) > max_bytes:
        raise _too_large(len(text), max_bytes)
    depth = _nesting(text)
    if depth > MAX_DEPTH:
        raise _fail(
            f"the JSON nests {depth} levels deep, above the limit of {MAX_DEPTH} "
            "(a fnad.graph document nests 4 levels)",
            "this is not a document fnad.to_json wrote",
        )
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except ValueError as error:
        if isinstance(error, GraphFormatError):
            raise
        raise _fail(f"not valid JSON ({error})", "pass the text fnad.to_json wrote") from None


def _too_large(size: int, limit: int) -> GraphFormatError:
    return _fail(
        f"the document is {size:,} characters, above the limit of {limit:,}",
        "pass a larger max_bytes= to from_json if you trust this file",
    )


# --------------------------------------------------------------------------- validation


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 50:
        text = text[:47] + "..."
    return f"{text} ({type(value).__name__})"


def _is_int(value: object) -> bool:
    return type(value) is int


def _vertex_name(vertex: int, label: str) -> str:
    return f"vertex {vertex} (label {label!r})" if label else f"vertex {vertex}"


def _field(entry: dict[str, Any], key: str, where: str, fix: str) -> Any:
    if key not in entry:
        raise _fail(f"{where} has no {key!r} field", fix)
    return entry[key]


def _number(value: object, where: str, key: str) -> float:
    result = decode_float(value)
    if result is None or isinstance(value, bool):
        raise _fail(
            f"{where}: {key} is {_describe(value)}, not a number",
            'write a JSON number, or "nan", "inf", "-inf" for non-finite values',
        )
    return result


class Vertex(NamedTuple):
    """One vertex of a checked document."""

    op: str
    """:data:`~fnad.schema.INPUT` (``""``), :data:`~fnad.schema.CONST`, or a rule's name."""
    label: str
    data: float
    grad: float | None
    """The stored gradient, or None if the document has none (it is informational)."""
    rule: Rule | None
    """The op's rule in the loading rule table; None for inputs and consts."""


class CheckedGraph(NamedTuple):
    """A document that passed every check: what a :class:`Program` is built from.

    Vertex ids are the document's own. ``arguments[v]`` lists the argument ids of op vertex
    ``v`` in argument order (one per position of its rule's arity; inputs and consts have
    no entry). ``order`` is a topological order of every vertex (arguments first), the
    smallest ready id first, so a document fnad wrote comes back in id order; ``output``
    is the last vertex that matters: every vertex feeds it.
    """

    vertices: dict[int, Vertex]
    arguments: dict[int, tuple[int, ...]]
    output: int
    order: list[int]


def check_document(doc: Any, rules: RuleTable, max_vertices: int = MAX_VERTICES) -> CheckedGraph:
    """Check a parsed ``fnad.graph`` document completely; raise GraphFormatError naming the problem.

    One check per step, in this order (the first problem found is the one reported): the
    header (top-level shape, schema, version), the vertex count, every vertex, every
    edge, each op's arity, the output, cycles, and that every vertex feeds the output.

    >>> from fnad import Node, current_rules
    >>> from fnad.export import to_document
    >>> x = Node(2.0, label="x")
    >>> graph = check_document(to_document(x * 3), current_rules())
    >>> graph.arguments, graph.output, graph.order
    ({2: (0, 1)}, 2, [0, 1, 2])
    """
    graph, nodes, edges = _check_header(doc)
    _check_count(nodes, max_vertices)
    vertices = _check_vertices(nodes, rules)
    slots, successors = _check_edges(edges, vertices)
    arguments = _check_arities(vertices, slots)
    output = _check_output(graph, vertices)
    order = _topological_order(vertices, arguments, successors)
    _check_reachability(vertices, arguments, output)
    return CheckedGraph(vertices, arguments, output, order)


def _check_header(doc: Any) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """The top-level shape, the schema name and version; return graph, nodes and edges."""
    if not isinstance(doc, dict):
        raise _fail(
            f"the top level is {type(doc).__name__}, not an object",
            'a fnad.graph document is {"graph": ..., "nodes": [...], "edges": [...]}',
        )
    graph = doc.get("graph")
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
    _check_version(graph)
    if doc.get("directed", True) is not True or doc.get("multigraph", False) is not False:
        raise _fail(
            "a fnad.graph is a directed graph without parallel edges",
            'set "directed": true and "multigraph": false',
        )
    nodes, edges = doc.get("nodes"), doc.get("edges")
    for key, value in (("nodes", nodes), ("edges", edges)):
        if not isinstance(value, list):
            raise _fail(f"{key!r} is {_describe(value)}, not a list", f'write "{key}": [...]')
    assert isinstance(nodes, list) and isinstance(edges, list)
    return graph, nodes, edges


def _check_version(graph: dict[str, Any]) -> None:
    if "version" not in graph:
        raise _fail(
            "missing schema version (graph.version)",
            f"documents of this fnad carry version {SCHEMA_VERSION}; add it or re-export",
        )
    version = graph["version"]
    if not _is_int(version) or version != SCHEMA_VERSION:
        newer = _is_int(version) and version > SCHEMA_VERSION
        raise _fail(
            f"unsupported schema version {_describe(version)}; this fnad reads version "
            f"{SCHEMA_VERSION}",
            "upgrade fnad to read it" if newer else "re-export the graph with fnad.to_json",
        )


def _check_count(nodes: list[Any], max_vertices: int) -> None:
    if len(nodes) > max_vertices:
        raise _fail(
            f"{len(nodes):,} vertices, above the limit of {max_vertices:,}",
            "pass a larger max_vertices= to from_json if you trust this file",
        )
    if not nodes:
        raise _fail("the graph has no vertices", "export a graph with fnad.to_json(z)")


def _check_vertices(nodes: list[Any], rules: RuleTable) -> dict[int, Vertex]:
    """Every vertex: an object with a unique integer id, string op and label, numbers."""
    vertices: dict[int, Vertex] = {}
    for n, entry in enumerate(nodes):
        where = f"nodes[{n}]"
        if not isinstance(entry, dict):
            raise _fail(
                f"{where} is {_describe(entry)}, not an object", "write one object per vertex"
            )
        vertex = _field(entry, "id", where, "give every vertex an integer id")
        if not _is_int(vertex):
            raise _fail(f"{where}: id is {_describe(vertex)}, not an integer", "use integer ids")
        if vertex in vertices:
            raise _fail(f"duplicate vertex id {vertex} ({where})", "give every vertex its own id")
        vertices[vertex] = _check_vertex(vertex, entry, rules)
    return vertices


def _check_vertex(vertex: int, entry: dict[str, Any], rules: RuleTable) -> Vertex:
    label = entry.get("label", "")
    if not isinstance(label, str):
        raise _fail(
            f"vertex {vertex}: label is {_describe(label)}, not a string", 'use "" for none'
        )
    name = _vertex_name(vertex, label)
    op = _field(entry, "op", name, 'write "op": "" for an input, "const", or an op name')
    if not isinstance(op, str):
        raise _fail(f"{name}: op is {_describe(op)}, not a string", "write the op's name")
    rule: Rule | None = None
    if op not in (INPUT, CONST):
        rule = rules.lookup.get(op)
        if rule is None:
            raise _fail(
                f"{name} has op {op!r}, which is not in the rule table",
                "register that op (fnad.defop) before loading, or check its spelling",
            )
    data = _number(_field(entry, "data", name, "write the vertex's value"), name, "data")
    grad = _number(entry["grad"], name, "grad") if "grad" in entry else None
    return Vertex(op, label, data, grad, rule)


def _check_edges(
    edges: list[Any], vertices: dict[int, Vertex]
) -> tuple[dict[int, dict[int, int]], dict[int, list[int]]]:
    """Every edge; return each op vertex's ``{position: argument}`` and each vertex's users."""
    slots: dict[int, dict[int, int]] = {v: {} for v in vertices}
    successors: dict[int, list[int]] = {v: [] for v in vertices}
    pairs: set[tuple[int, int]] = set()
    for e, entry in enumerate(edges):
        where = f"edges[{e}]"
        if not isinstance(entry, dict):
            raise _fail(
                f"{where} is {_describe(entry)}, not an object", "write one object per edge"
            )
        source, target = _check_ends(entry, where, vertices)
        if (source, target) in pairs:
            raise _fail(
                f"{where} repeats the edge {source} -> {target}",
                "list every argument position of one pair in a single edge's 'positions'",
            )
        pairs.add((source, target))
        _check_positions(entry, where, source, target, vertices[target], slots[target])
        successors[source].append(target)
    return slots, successors


def _check_ends(entry: dict[str, Any], where: str, vertices: dict[int, Vertex]) -> tuple[int, int]:
    """The source and target: declared vertex ids, not a self-loop, into an op vertex."""
    ends = []
    for key in ("source", "target"):
        end = _field(entry, key, where, "give every edge a source and a target vertex id")
        if not _is_int(end) or end not in vertices:
            raise _fail(
                f"{where} has {key} {_describe(end)}, which is not a declared vertex id",
                "declare the vertex in 'nodes' or fix the edge",
            )
        ends.append(end)
    source, target = ends
    if source == target:
        raise _fail(
            f"{where} is a self-loop on {_vertex_name(target, vertices[target].label)}",
            "an expression graph never feeds a vertex into itself; remove the edge",
        )
    return source, target


def _check_positions(
    entry: dict[str, Any],
    where: str,
    source: int,
    target: int,
    op_vertex: Vertex,
    slots: dict[int, int],
) -> None:
    """The argument positions an edge fills: within the op's arity, each filled once."""
    name = _vertex_name(target, op_vertex.label)
    if op_vertex.rule is None:
        kind = "an input" if op_vertex.op == INPUT else "a const"
        raise _fail(
            f"{where} gives an argument to {name}, which is {kind} and takes none",
            "point the edge at the op vertex that uses the value",
        )
    positions = _field(entry, "positions", where, "list the argument positions it fills")
    if not isinstance(positions, list) or not positions:
        raise _fail(
            f"{where}: positions is {_describe(positions)}, not a non-empty list",
            "write the argument positions this edge fills, e.g. [0]",
        )
    arity = op_vertex.rule.arity
    for position in positions:
        if not _is_int(position) or not 0 <= position < arity:
            raise _fail(
                f"{where} fills position {_describe(position)} of {name}, but op "
                f"{op_vertex.op!r} takes {arity} argument(s) (positions 0..{arity - 1})",
                "fix the position or the op",
            )
        if position in slots:
            raise _fail(
                f"argument {position} of {name} (op {op_vertex.op!r}) is filled twice, "
                f"by vertices {slots[position]} and {source}",
                "give each argument position exactly one edge",
            )
        slots[position] = source


def _check_arities(
    vertices: dict[int, Vertex], slots: dict[int, dict[int, int]]
) -> dict[int, tuple[int, ...]]:
    """Every argument position of every op has an edge; return the ordered arguments."""
    arguments: dict[int, tuple[int, ...]] = {}
    for vertex, filled in slots.items():
        rule = vertices[vertex].rule
        if rule is None:
            continue
        missing = [p for p in range(rule.arity) if p not in filled]
        if missing:
            raise _fail(
                f"{_vertex_name(vertex, vertices[vertex].label)} (op {rule.name!r}) takes "
                f"{rule.arity} argument(s) but position(s) {missing} have no edge",
                "add an edge for every argument position",
            )
        arguments[vertex] = tuple(filled[p] for p in range(rule.arity))
    return arguments


def _check_output(graph: dict[str, Any], vertices: dict[int, Vertex]) -> int:
    if "output" not in graph:
        raise _fail("missing graph.output, the id of the output vertex", "add it or re-export")
    output = graph["output"]
    if not _is_int(output) or output not in vertices:
        raise _fail(
            f"graph.output is {_describe(output)}, which is not a declared vertex id",
            "set it to the id of the output vertex",
        )
    assert isinstance(output, int)
    return output


def _topological_order(
    vertices: dict[int, Vertex],
    arguments: dict[int, tuple[int, ...]],
    successors: dict[int, list[int]],
) -> list[int]:
    """Kahn's algorithm: a topological order, or the proof that there is a cycle."""
    waiting = {v: len(set(args)) for v, args in arguments.items()}
    # Smallest id first: a document whose ids are already topological (every one fnad
    # writes) replays in id order, so a re-export numbers the vertices the same way.
    ready = [v for v in vertices if v not in waiting]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        vertex = heapq.heappop(ready)
        order.append(vertex)
        for successor in successors[vertex]:
            waiting[successor] -= 1
            if waiting[successor] == 0:
                heapq.heappush(ready, successor)
    if len(order) < len(vertices):
        stuck = [v for v in vertices if waiting.get(v, 0) > 0]
        cycle_graph: nx.DiGraph[int] = nx.DiGraph()
        cycle_graph.add_edges_from(
            (arguments[v][p], v) for v in stuck for p in range(len(arguments[v]))
        )
        cycle = [edge[0] for edge in nx.find_cycle(cycle_graph.subgraph(stuck))]
        shown = " -> ".join(map(str, [*cycle[:8], cycle[0]] if len(cycle) <= 8 else cycle[:8]))
        raise _fail(
            f"the edges form a cycle through vertices {shown}{' ...' if len(cycle) > 8 else ''}",
            "an expression graph is acyclic; remove an edge of the cycle",
        )
    return order


def _check_reachability(
    vertices: dict[int, Vertex], arguments: dict[int, tuple[int, ...]], output: int
) -> None:
    """Every vertex must feed the output: walk back from it."""
    reached = {output}
    stack = [output]
    while stack:
        for argument in arguments.get(stack.pop(), ()):
            if argument not in reached:
                reached.add(argument)
                stack.append(argument)
    if len(reached) < len(vertices):
        stray = next(v for v in vertices if v not in reached)
        raise _fail(
            f"{_vertex_name(stray, vertices[stray].label)} does not feed the output "
            f"vertex {output} ({len(vertices) - len(reached)} such vertices)",
            "export only the graph of one output (fnad.to_json(z)) or remove them",
        )


# --------------------------------------------------------------------------- Program


def _program(graph: CheckedGraph, rules: RuleTable) -> Program:
    """Trace a checked document once on a private tape and compile it to a Program."""
    nodes: dict[int, Node] = {}
    leaves: list[Node] = []
    with Tape(rules) as tape:
        for vertex in graph.order:
            entry = graph.vertices[vertex]
            if entry.op == INPUT:
                nodes[vertex] = Node(entry.data, label=entry.label)
                leaves.append(nodes[vertex])
            elif entry.op == CONST:
                nodes[vertex] = tape.constant(entry.data, label=entry.label)
            else:
                args = [nodes[a] for a in graph.arguments[vertex]]
                nodes[vertex] = tape.apply(entry.op, *args)
    ids = {node: vertex for vertex, node in nodes.items()}
    leaves.sort(key=ids.__getitem__)
    names = input_names([(ids[leaf], leaf.label) for leaf in leaves])
    try:
        return Program.from_nodes(nodes[graph.output], leaves, names=list(names.values()))
    finally:
        tape.close()


def from_json(
    text: str | bytes,
    *,
    rules: RuleTable | None = None,
    max_bytes: int = MAX_BYTES,
    max_vertices: int = MAX_VERTICES,
) -> Program:
    """Validate a ``fnad.graph`` JSON document completely, then load it as a :class:`Program`.

    Ops are resolved by name in ``rules`` (default: :func:`fnad.current_rules`), so custom
    ops must be registered before loading. Every problem is a
    :class:`~fnad.GraphFormatError` that names it.

    >>> from_json('{"graph": {"schema": "fnad.graph", "version": 9}}')
    Traceback (most recent call last):
    ...
    fnad.errors.GraphFormatError: graph document: unsupported schema version 9 (int); this fnad reads version 1; upgrade fnad to read it
    """
    table = rules if rules is not None else current_rules()
    graph = check_document(parse(text, max_bytes=max_bytes), table, max_vertices)
    return _program(graph, table)


# --------------------------------------------------------------------------- GraphML

_GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"
_FORBIDDEN_XML = ("<!doctype", "<!entity")


def _graphml_number(text: str | None) -> float | str | None:
    """A GraphML double as the JSON document spells it; unparsable text stays as is."""
    if text is None:
        return None
    try:
        value = float(text)  # XML Schema's NaN/INF/-INF included
    except ValueError:
        return text
    return encode_float(value)


def _graphml_int(text: str | None) -> int | str | None:
    if text is not None and re.fullmatch(r"-?[0-9]{1,18}", text.strip()):
        return int(text)
    return text


def _graphml_document(data: bytes, max_bytes: int) -> dict[str, Any]:
    """The GraphML text as the equivalent ``fnad.graph`` JSON document (not yet validated)."""
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _fail(f"the GraphML is not UTF-8 ({error})", "save it as UTF-8") from None
    lowered = text.lower()
    for token in _FORBIDDEN_XML:
        if token in lowered:
            raise _fail(
                f"the GraphML contains a {token[2:].upper()} declaration, which fnad refuses "
                "(entity expansion can exhaust memory or read local files)",
                "remove the DOCTYPE/ENTITY declarations; fnad.to_graphml writes none",
            )
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise _fail(f"not well-formed XML ({error})", "pass a file fnad.to_graphml wrote") from None
    if root.tag not in (f"{_GRAPHML}graphml", "graphml"):
        raise _fail(f"the root element is <{root.tag}>, not <graphml>", "pass a GraphML file")
    ns = _GRAPHML if root.tag.startswith("{") else ""
    keys: dict[str | None, tuple[str | None, str | None, str | None]] = {
        key.get("id"): (key.get("for"), key.get("attr.name"), key.get("attr.type"))
        for key in root.findall(f"{ns}key")
    }
    graphs = root.findall(f"{ns}graph")
    if len(graphs) != 1:
        raise _fail(f"the file holds {len(graphs)} graphs", "a fnad GraphML file holds exactly one")
    graph = graphs[0]

    def fields(element: ET.Element) -> dict[str, tuple[str | None, str]]:
        found: dict[str, tuple[str | None, str]] = {}
        for item in element.findall(f"{ns}data"):
            _, name, kind = keys.get(item.get("key"), (None, None, None))
            if name is not None:
                found[name] = (kind, item.text or "")
        return found

    def converted(kind: str | None, text: str) -> Any:
        if kind in ("double", "float"):
            return _graphml_number(text)
        if kind in ("int", "long"):
            return _graphml_int(text)
        return text

    meta = {name: converted(kind, text) for name, (kind, text) in fields(graph).items()}
    nodes = []
    for vertex in graph.findall(f"{ns}node"):
        entry: dict[str, Any] = {"id": _graphml_int(vertex.get("id")), "label": ""}
        for name, (kind, text) in fields(vertex).items():
            entry[name] = converted(kind, text)
        nodes.append(entry)
    edges = []
    for edge in graph.findall(f"{ns}edge"):
        link: dict[str, Any] = {
            "source": _graphml_int(edge.get("source")),
            "target": _graphml_int(edge.get("target")),
        }
        for name, (kind, text) in fields(edge).items():
            if name == "positions":
                parts = [_graphml_int(p) for p in text.split(",")] if text.strip() else []
                link[name] = parts
            else:
                link[name] = converted(kind, text)
        edges.append(link)
    return {
        "directed": graph.get("edgedefault", "directed") == "directed",
        "multigraph": False,
        "graph": meta,
        "nodes": nodes,
        "edges": edges,
    }


def from_graphml(
    source: str | os.PathLike[str] | bytes,
    *,
    rules: RuleTable | None = None,
    max_bytes: int = MAX_BYTES,
    max_vertices: int = MAX_VERTICES,
) -> Program:
    """Load a file written by :func:`fnad.to_graphml` (a path, or its bytes) as a Program.

    The same checks as :func:`from_json` apply, and before any XML is parsed, DOCTYPE and
    ENTITY declarations are refused (no entity expansion, no external entities). Labels
    keep the ``\\xNN`` escapes GraphML needed for control characters.

    >>> import os, tempfile
    >>> from fnad import Node, to_graphml
    >>> x = Node(2.0, label="x")
    >>> path = os.path.join(tempfile.mkdtemp(), "g.graphml")
    >>> to_graphml(x * x + 1, path)
    >>> from_graphml(path).value_and_grad(x=3.0)
    ValueAndGrad(value=10.0, grads={'x': 6.0})
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        with open(source, "rb") as file:
            data = file.read(max_bytes + 1)  # one byte more tells "too large" without reading all
    table = rules if rules is not None else current_rules()
    graph = check_document(_graphml_document(data, max_bytes), table, max_vertices)
    return _program(graph, table)
