"""Recorded graphs as artefacts: networkx, JSON (node-link), GraphML and DOT exports.

Every function takes the output node ``z`` first and exports the graph of ``z`` and its
ancestors, with vertex ids ``0 .. n-1`` in a topological order (every argument has a
smaller id than the op that uses it; the output has the largest id). Each vertex carries

``op``     ``""`` for an input (a user leaf), ``"const"`` for a number an op wrapped, else
           the rule-table name of the op;
``label``  the node's label (``""`` if none);
``data``   its value;
``grad``   ∂z/∂vertex, computed for this export (the tape's recorded gradients, which may
           belong to another output, are neither read nor changed);

and each edge ``argument -> op`` carries

``positions``  the argument positions the source fills (``x * x``: one edge, ``(0, 1)``);
``partial``    the local derivative ∂op/∂argument, summed over those positions: the
               chain-rule factor of the edge;
``flow``       the gradient the edge carries back: ``grad`` of its target × ``partial``.

The JSON schema (``fnad.graph`` version 1) is described in ``docs/graph-format.md``;
:func:`fnad.from_json` loads it back as a replayable :class:`fnad.Program`.

Nothing here is recursive: a chain of 100k nodes exports like a chain of 3.

>>> from fnad import Node
>>> x = Node(2.0, label="x")
>>> z = x * x + 1
>>> graph = to_networkx(z)
>>> [(v, graph.nodes[v]["op"], graph.nodes[v]["grad"]) for v in graph]
[(0, '', 4.0), (1, 'mul', 1.0), (2, 'const', 1.0), (3, 'add', 1.0)]
>>> graph.edges[0, 1]
{'positions': (0, 1), 'partial': 4.0, 'flow': 4.0}
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

import attrs
import networkx as nx

from fnad.core import CONST, Node, backpropagate
from fnad.errors import OperandTypeError

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "input_names",
    "to_dot",
    "to_graphml",
    "to_json",
    "to_networkx",
]

SCHEMA = "fnad.graph"
"""The ``graph.schema`` field of every document :func:`to_json` writes."""

SCHEMA_VERSION = 1
"""The ``graph.version`` field; :func:`fnad.from_json` reads exactly this version."""

INPUT = ""
"""``op`` of an input vertex (a leaf the user created)."""


# --------------------------------------------------------------------------- snapshot


@attrs.frozen
class Snapshot:
    """The graph of an output, numbered and differentiated once for every exporter.

    ``nodes[i]`` is vertex ``i`` (topological order, output last); ``grads[i]`` is
    ∂output/∂vertex; ``partials[i]`` the local derivatives of vertex ``i`` with respect to
    each argument position (empty for inputs and consts).
    """

    nodes: list[Node]
    index: dict[Node, int]
    grads: list[float]
    partials: list[tuple[float, ...]]

    @property
    def output(self) -> int:
        """The id of the output vertex."""
        return len(self.nodes) - 1

    def edges(
        self, targets: Iterable[int] | None = None
    ) -> Iterable[tuple[int, int, tuple[int, ...], float, float]]:
        """``(source, target, positions, partial, flow)`` for every edge into ``targets``.

        All edges by default, grouped by target in id order.
        """
        index = self.index
        for target in range(len(self.nodes)) if targets is None else targets:
            inputs = self.nodes[target].inputs
            if not inputs:
                continue
            parts = self.partials[target]
            grad = self.grads[target]
            seen: dict[int, list[int]] = {}
            for position, argument in enumerate(inputs):
                seen.setdefault(index[argument], []).append(position)
            for source, positions in seen.items():
                partial = parts[positions[0]]
                for position in positions[1:]:
                    partial += parts[position]
                yield source, target, tuple(positions), partial, grad * partial


def snapshot(z: Node) -> Snapshot:
    """Number ``z``'s ancestors and compute ∂z/∂v and every local partial, without recording.

    The accumulation visits nodes in ``tape.backward_order(z)`` and adds contributions in
    argument order, exactly as ``z.backward()`` does, so the gradients are bit-identical
    to it. The tape's recorded gradients are left alone.
    """
    if not isinstance(z, Node):
        raise OperandTypeError(
            f"export: expected the output fnad.Node first, got {type(z).__name__} ({z!r:.60}); "
            "pass the node whose graph you want, e.g. to_json(z)"
        )
    order = z.tape.backward_order(z)
    partials: dict[Node, tuple[float, ...]] = {}
    # The same pass as z.backward(), keeping each node's local derivatives for the edges;
    # the tape's own gradient record is left alone.
    grads = backpropagate(order, z, local=partials, constants=True, judge=False)
    # Number the vertices in recording order (a topological order by construction), so
    # ids read like the program: x is 0, y is 1, ... and the output is last.
    position = z.tape.position
    order.sort(key=position)
    return Snapshot(
        nodes=order,
        index={node: i for i, node in enumerate(order)},
        grads=[grads[node] for node in order],
        partials=[partials.get(node, ()) for node in order],
    )


def input_names(leaves: Sequence[tuple[int, str]]) -> dict[int, str]:
    """The replay name of each input vertex, given ``(id, label)`` pairs.

    An input is named by its label when no other input has that label; an unlabelled
    input, or one whose label is shared, is named ``label#id`` (``#3`` when unlabelled),
    so every name is unique.

    >>> input_names([(0, "x"), (1, "y"), (2, "y"), (5, ""), (6, "z")])
    {0: 'x', 1: 'y#1', 2: 'y#2', 5: '#5', 6: 'z'}
    """
    counts: dict[str, int] = {}
    for _, label in leaves:
        counts[label] = counts.get(label, 0) + 1
    names: dict[int, str] = {}
    taken: set[str] = set()
    for vertex, label in leaves:
        if label and counts[label] == 1:
            names[vertex] = label
            taken.add(label)
    for vertex, label in leaves:
        if vertex in names:
            continue
        name = f"{label}#{vertex}"
        while name in taken:  # a unique label that happens to read "y#1"
            name = f"{name}#{vertex}"
        names[vertex] = name
        taken.add(name)
    return {vertex: names[vertex] for vertex, _ in leaves}


# --------------------------------------------------------------------------- networkx


def to_networkx(z: Node) -> nx.DiGraph[int]:
    """A standalone ``networkx.DiGraph`` of ``z`` and its ancestors: a copy, safe to modify.

    Vertices are ids ``0 .. n-1`` in topological order (``z`` is ``n-1``) with attributes
    ``op``, ``label``, ``data``, ``grad`` (∂z/∂vertex); edges carry ``positions``,
    ``partial`` (the local derivative) and ``flow`` (the gradient along the edge). The
    graph attributes ``schema``, ``version`` and ``output`` name the format and ``z``.

    >>> from fnad import Node
    >>> x, y = Node(2.0, label="x"), Node(3.0, label="y")
    >>> g = to_networkx(x * y + x**2 + y.relu())
    >>> g.graph["output"], g.nodes[g.graph["output"]]["data"]
    (7, 13.0)
    >>> sum(flow for _, target, flow in g.out_edges(0, data="flow"))
    7.0
    """
    snap = snapshot(z)
    graph: nx.DiGraph[int] = nx.DiGraph(schema=SCHEMA, version=SCHEMA_VERSION, output=snap.output)
    graph.add_nodes_from(
        (i, {"op": node.op, "label": node.label, "data": node.data, "grad": snap.grads[i]})
        for i, node in enumerate(snap.nodes)
    )
    graph.add_edges_from(
        (source, target, {"positions": positions, "partial": partial, "flow": flow})
        for source, target, positions, partial, flow in snap.edges()
    )
    return graph


# --------------------------------------------------------------------------- JSON

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode_float(value: float) -> float | str:
    """A float as strict JSON allows it: finite numbers as is, else ``"nan"``/``"inf"``/``"-inf"``.

    >>> encode_float(1.5), encode_float(float("-inf")), encode_float(float("nan"))
    (1.5, '-inf', 'nan')
    """
    if value - value == 0.0:
        return value
    if value != value:
        return "nan"
    return "inf" if value > 0 else "-inf"


def decode_float(value: object) -> float | None:
    """The float a JSON value encodes (see :func:`encode_float`), or None if it is none."""
    if type(value) is float:
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            return None
    if type(value) is str:
        return _NON_FINITE.get(value)
    return None


def to_document(z: Node) -> dict[str, Any]:
    """The JSON document of ``z``'s graph as Python objects (see :func:`to_json`)."""
    snap = snapshot(z)
    nodes = [
        {
            "id": i,
            "op": node.op,
            "label": node.label,
            "data": encode_float(node.data),
            "grad": encode_float(snap.grads[i]),
        }
        for i, node in enumerate(snap.nodes)
    ]
    edges = [
        {
            "source": source,
            "target": target,
            "positions": list(positions),
            "partial": encode_float(partial),
            "flow": encode_float(flow),
        }
        for source, target, positions, partial, flow in snap.edges()
    ]
    return {
        "directed": True,
        "multigraph": False,
        "graph": {"schema": SCHEMA, "version": SCHEMA_VERSION, "output": snap.output},
        "nodes": nodes,
        "edges": edges,
    }


def to_json(z: Node, *, indent: int | None = None) -> str:
    """``z``'s graph as a ``fnad.graph`` version 1 JSON document (networkx node-link).

    The text is strict JSON (non-finite numbers are the strings ``"nan"``, ``"inf"``,
    ``"-inf"``; non-ASCII is escaped), and :func:`fnad.from_json` loads it back exactly.
    ``networkx.node_link_graph(json.loads(text), edges="edges")`` reads it too.

    >>> import json
    >>> from fnad import Node
    >>> x = Node(0.0, label="x")
    >>> doc = json.loads(to_json(x.log()))
    >>> doc["graph"], [v["data"] for v in doc["nodes"]]
    ({'schema': 'fnad.graph', 'version': 1, 'output': 1}, [0.0, '-inf'])
    >>> doc["edges"]
    [{'source': 0, 'target': 1, 'positions': [0], 'partial': 'inf', 'flow': 'inf'}]
    """
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(to_document(z), allow_nan=False, indent=indent, separators=separators)


# --------------------------------------------------------------------------- GraphML

_GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
# XML 1.0 cannot hold these characters at all, not even as character references.
_XML_INVALID = frozenset(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF]
)


def _xml_text(text: str) -> str:
    if not any(ord(ch) in _XML_INVALID for ch in text):
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if code not in _XML_INVALID:
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def _xsd_double(value: float) -> str:
    # XML Schema spells the non-finite doubles NaN, INF and -INF (yEd and Gephi read those).
    if value != value:
        return "NaN"
    if value - value != 0.0:
        return "INF" if value > 0 else "-INF"
    return repr(value)


def to_graphml(z: Node, path: str | os.PathLike[str]) -> None:
    """Write ``z``'s graph as GraphML, readable by ``networkx.read_graphml``, yEd and Gephi.

    Attributes are scalars, as GraphML requires: ``op`` and ``label`` strings, ``data`` and
    ``grad`` doubles on vertices; ``positions`` (a string such as ``"0,1"``), ``partial``
    and ``flow`` on edges; ``schema``, ``version`` and ``output`` on the graph. Vertex ids
    are ``"0" .. "n-1"`` (read them with ``node_type=int``). Doubles keep every bit
    (nan/±inf as ``NaN``/``INF``/``-INF``). Characters XML 1.0 cannot hold at all
    (control characters other than tab and newlines) are written as ``\\xNN`` escapes.

    >>> import os, tempfile, networkx as nx
    >>> from fnad import Node
    >>> x = Node(2.0, label="x")
    >>> path = os.path.join(tempfile.mkdtemp(), "g.graphml")
    >>> to_graphml(x * x, path)
    >>> g = nx.read_graphml(path, node_type=int)
    >>> g.nodes[0], g.edges[0, 1]["positions"]
    ({'op': '', 'label': 'x', 'data': 2.0, 'grad': 4.0}, '0,1')
    """
    snap = snapshot(z)
    lines = [
        "<?xml version='1.0' encoding='utf-8'?>",
        f'<graphml xmlns="{_GRAPHML_NS}">',
    ]
    for key, scope, name, kind in _GRAPHML_KEYS:
        lines.append(f'  <key id="{key}" for="{scope}" attr.name="{name}" attr.type="{kind}" />')
    lines.append('  <graph id="fnad" edgedefault="directed">')
    lines.append(f'    <data key="g_schema">{SCHEMA}</data>')
    lines.append(f'    <data key="g_version">{SCHEMA_VERSION}</data>')
    lines.append(f'    <data key="g_output">{snap.output}</data>')
    for i, node in enumerate(snap.nodes):
        lines.append(
            f'    <node id="{i}"><data key="v_op">{escape(node.op)}</data>'
            f'<data key="v_label">{escape(_xml_text(node.label))}</data>'
            f'<data key="v_data">{_xsd_double(node.data)}</data>'
            f'<data key="v_grad">{_xsd_double(snap.grads[i])}</data></node>'
        )
    for source, target, positions, partial, flow in snap.edges():
        lines.append(
            f'    <edge source="{source}" target="{target}">'
            f'<data key="e_positions">{",".join(map(str, positions))}</data>'
            f'<data key="e_partial">{_xsd_double(partial)}</data>'
            f'<data key="e_flow">{_xsd_double(flow)}</data></edge>'
        )
    lines.append("  </graph>")
    lines.append("</graphml>")
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write("\n".join(lines) + "\n")


_GRAPHML_KEYS = (
    ("g_schema", "graph", "schema", "string"),
    ("g_version", "graph", "version", "int"),
    ("g_output", "graph", "output", "int"),
    ("v_op", "node", "op", "string"),
    ("v_label", "node", "label", "string"),
    ("v_data", "node", "data", "double"),
    ("v_grad", "node", "grad", "double"),
    ("e_positions", "edge", "positions", "string"),
    ("e_partial", "edge", "partial", "double"),
    ("e_flow", "edge", "flow", "double"),
)


# --------------------------------------------------------------------------- DOT


def dot_quote(text: str) -> str:
    """``text`` as a DOT double-quoted string that graphviz shows literally.

    Quotes and backslashes are escaped (so graphviz's ``\\N``-style escapes cannot
    fire), newlines become line breaks, and other control characters are shown as
    ``\\xNN``.

    >>> print(dot_quote('x"]; evil -> x [label="'))
    "x\\"]; evil -> x [label=\\""
    """
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\\\x{code:02x}")
        elif 0xD800 <= code < 0xE000:  # lone surrogates cannot be written as UTF-8
            out.append(f"\\\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def number(value: float) -> str:
    """A value as a learner reads it: 6 significant digits, ``7`` rather than ``7.0``.

    >>> number(7.0), number(0.1 + 0.2), number(float("-inf")), number(1e-12)
    ('7', '0.3', '-inf', '1e-12')
    """
    return f"{value:.6g}"


def vertex_title(node: Node, vertex: int) -> str:
    """How a vertex is named to a reader: its label, else the op, else ``input #id``."""
    if node.label:
        return node.label
    if node.op == CONST:
        return number(node.data)
    return node.op or f"input #{vertex}"


_FILL = {"input": "#dbeafe", "const": "#f1f5f9", "op": "#ffffff", "output": "#fef3c7"}


def _nearest(snap: Snapshot, limit: int) -> list[int]:
    """The ``limit`` vertices closest to the output (breadth first over arguments)."""
    kept = {snap.output}
    queue = deque([snap.output])
    index = snap.index
    while queue and len(kept) < limit:
        for argument in snap.nodes[queue.popleft()].inputs:
            vertex = index[argument]
            if vertex not in kept:
                kept.add(vertex)
                queue.append(vertex)
                if len(kept) >= limit:
                    break
    return sorted(kept)


def to_dot(z: Node, *, max_nodes: int | None = None) -> str:
    """``z``'s graph in graphviz DOT: every id and label quoted and escaped.

    Each vertex shows its label (or op), its kind, its value and its gradient ∂z/∂v;
    each edge (argument → op) its argument position(s), its local derivative ∂op/∂arg
    and the gradient it carries back (grad of the op × local derivative), so the chain
    rule can be read off the picture. Exact values ride along as the extra attributes
    ``op``, ``name``, ``data``, ``grad`` (vertices) and ``positions``, ``partial``,
    ``flow`` (edges), written with ``repr`` so nothing is lost.

    With ``max_nodes``, a larger graph is collapsed: the ``max_nodes`` vertices nearest
    the output are drawn and the rest become one dashed "hidden" vertex.

    >>> from fnad import Node
    >>> x = Node(2.0, label="x")
    >>> print(to_dot(x * 3))  # doctest: +NORMALIZE_WHITESPACE
    digraph fnad {
      graph [rankdir=LR, fontname="Helvetica", schema="fnad.graph", version="1"];
      node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];
      edge [fontname="Helvetica", fontsize=9, color="#475569"];
      "v0" [label="x\\ninput\\ndata 2\\ngrad 3", fillcolor="#dbeafe", op="", name="x", data="2.0", grad="3.0"];
      "v1" [label="3\\nconst\\ndata 3\\ngrad 2", fillcolor="#f1f5f9", op="const", name="", data="3.0", grad="2.0"];
      "v2" [label="mul\\noutput\\ndata 6\\ngrad 1", fillcolor="#fef3c7", penwidth=2, op="mul", name="", data="6.0", grad="1.0"];
      "v0" -> "v2" [label="arg 0\\nlocal ∂ 3\\ngrad ← 3", positions="0", partial="3.0", flow="3.0"];
      "v1" -> "v2" [label="arg 1\\nlocal ∂ 2\\ngrad ← 2", positions="1", partial="2.0", flow="2.0"];
    }
    """
    snap = snapshot(z)
    total = len(snap.nodes)
    shown: list[int] | None = None
    if max_nodes is not None and total > max_nodes:
        shown = _nearest(snap, max(1, max_nodes))
    visible = set(shown) if shown is not None else None
    lines = [
        "digraph fnad {",
        f'  graph [rankdir=LR, fontname="Helvetica", schema="{SCHEMA}", version="{SCHEMA_VERSION}"'
        + (
            f", labelloc=t, label={dot_quote(f'showing {len(visible)} of {total:,} vertices, those nearest the output')}"
            if visible is not None
            else ""
        )
        + "];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#475569"];',
    ]
    for i in shown if shown is not None else range(total):
        node = snap.nodes[i]
        if i == snap.output:
            kind = "output"
        elif not node.inputs:
            kind = "const" if node.op == CONST else "input"
        else:
            kind = "op"
        title = vertex_title(node, i)
        second = kind if kind != "op" else ("" if title == node.op else f"op {node.op}")
        if kind == "output" and title != node.op and node.inputs:
            second = f"output, op {node.op}"
        text = "\n".join(
            part
            for part in (
                title,
                second,
                f"data {number(node.data)}",
                f"grad {number(snap.grads[i])}",
            )
            if part
        )
        extra = ", penwidth=2" if kind == "output" else ""
        lines.append(
            f'  "v{i}" [label={dot_quote(text)}, fillcolor="{_FILL[kind]}"{extra}, '
            f"op={dot_quote(node.op)}, name={dot_quote(node.label)}, "
            f'data="{node.data!r}", grad="{snap.grads[i]!r}"];'
        )
    hidden_targets: list[int] = []
    for source, target, positions, partial, flow in snap.edges(shown):
        if visible is not None and source not in visible:
            if not hidden_targets or hidden_targets[-1] != target:
                hidden_targets.append(target)
            continue
        arity = len(snap.nodes[target].inputs)
        parts = []
        if arity > 1:
            parts.append(
                ("args " if len(positions) > 1 else "arg ") + ",".join(map(str, positions))
            )
        parts.append(f"local ∂ {number(partial)}")
        parts.append(f"grad ← {number(flow)}")
        lines.append(
            f'  "v{source}" -> "v{target}" [label={dot_quote(chr(10).join(parts))}, '
            f'positions="{",".join(map(str, positions))}", '
            f'partial="{partial!r}", flow="{flow!r}"];'
        )
    if visible is not None:
        hidden = total - len(visible)
        note = (
            f"… {hidden:,} more vertices\n(pass a larger max_nodes to draw them,\n"
            "or analyse the export with networkx)"
        )
        lines.append(
            f'  "hidden" [label={dot_quote(note)}, style="dashed,rounded", fillcolor="#ffffff"];'
        )
        lines.extend(f'  "hidden" -> "v{t}" [style=dashed];' for t in hidden_targets)
    lines.append("}")
    return "\n".join(lines) + "\n"
