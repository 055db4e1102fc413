"""Recorded graphs as lossless data: networkx, JSON (node-link) and GraphML exports.

Every function takes the output ``z`` first (a Node, or a :class:`fnad.Program`) and exports
the graph of ``z`` and its ancestors, as :func:`fnad.graph.snapshot.snapshot` numbers and
differentiates it from its graph table, with vertex ids ``0 .. n-1`` in a topological order (every argument has a
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

The format (``fnad.graph`` version 1: schema name and version, number codecs, GraphML
keys) is defined once in :mod:`fnad.graph.schema`, which the reader :mod:`fnad.compiled.load` shares,
and described in ``docs/graph-format.md``; :func:`fnad.from_json` loads a document back as
a replayable :class:`fnad.Program`. Drawing (DOT, SVG) is :mod:`fnad.viz.render`.

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
import os
from typing import Any
from xml.sax.saxutils import escape

import networkx as nx

from fnad.graph.schema import (
    GRAPHML_KEYS,
    GRAPHML_NAMESPACE,
    SCHEMA,
    SCHEMA_VERSION,
    encode_double,
    encode_float,
    encode_graphml_label,
)
from fnad.graph.snapshot import Graphable, GraphLike, Snapshot, snapshot

__all__ = [
    "GraphLike",
    "Graphable",
    "Snapshot",
    "snapshot",
    "to_document",
    "to_graphml",
    "to_json",
    "to_networkx",
]

# --------------------------------------------------------------------------- networkx


def to_networkx(z: GraphLike) -> nx.DiGraph[int]:
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
        (i, {"op": op, "label": label, "data": value, "grad": grad})
        for i, (op, label, value, grad) in enumerate(
            zip(snap.ops, snap.labels, snap.values, snap.grads, strict=True)
        )
    )
    graph.add_edges_from(
        (source, target, {"positions": positions, "partial": partial, "flow": flow})
        for source, target, positions, partial, flow in snap.edges()
    )
    return graph


# --------------------------------------------------------------------------- JSON


def to_document(z: GraphLike) -> dict[str, Any]:
    """The JSON document of ``z``'s graph as Python objects (see :func:`to_json`)."""
    snap = snapshot(z)
    nodes = [
        {
            "id": i,
            "op": op,
            "label": label,
            "data": encode_float(value),
            "grad": encode_float(grad),
        }
        for i, (op, label, value, grad) in enumerate(
            zip(snap.ops, snap.labels, snap.values, snap.grads, strict=True)
        )
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


def to_json(z: GraphLike, *, indent: int | None = None) -> str:
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


def _graphml_label(label: str) -> str:
    text, escaped = encode_graphml_label(label)
    flag = '<data key="v_label_escaped">true</data>' if escaped else ""
    return f'<data key="v_label">{escape(text, _CARRIAGE_RETURN)}</data>{flag}'


_CARRIAGE_RETURN = {"\r": "&#13;"}


def to_graphml(z: GraphLike, path: str | os.PathLike[str]) -> None:
    """Write ``z``'s graph as GraphML, readable by ``networkx.read_graphml``, yEd and Gephi.

    Attributes are scalars, as GraphML requires: ``op`` and ``label`` strings, ``data`` and
    ``grad`` doubles on vertices; ``positions`` (a string such as ``"0,1"``), ``partial``
    and ``flow`` on edges; ``schema``, ``version`` and ``output`` on the graph. Vertex ids
    are ``"0" .. "n-1"`` (read them with ``node_type=int``). Doubles keep every bit
    (nan/±inf as ``NaN``/``INF``/``-INF``). Labels survive byte for byte: a carriage
    return is written as ``&#13;`` (XML readers would turn a raw one into a newline), and a
    label with characters XML 1.0 cannot hold at all (control characters other than tab
    and newlines) is written with ``\\xNN`` escapes and marked ``label_escaped`` (see
    :func:`fnad.graph.schema.encode_graphml_label`); :func:`fnad.from_graphml` undoes both.

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
        f'<graphml xmlns="{GRAPHML_NAMESPACE}">',
    ]
    for key, scope, name, kind in GRAPHML_KEYS:
        lines.append(f'  <key id="{key}" for="{scope}" attr.name="{name}" attr.type="{kind}" />')
    lines.append('  <graph id="fnad" edgedefault="directed">')
    lines.append(f'    <data key="g_schema">{SCHEMA}</data>')
    lines.append(f'    <data key="g_version">{SCHEMA_VERSION}</data>')
    lines.append(f'    <data key="g_output">{snap.output}</data>')
    for i, (op, label, value, grad) in enumerate(
        zip(snap.ops, snap.labels, snap.values, snap.grads, strict=True)
    ):
        lines.append(
            f'    <node id="{i}"><data key="v_op">{escape(op)}</data>'
            f"{_graphml_label(label)}"
            f'<data key="v_data">{encode_double(value)}</data>'
            f'<data key="v_grad">{encode_double(grad)}</data></node>'
        )
    for source, target, positions, partial, flow in snap.edges():
        lines.append(
            f'    <edge source="{source}" target="{target}">'
            f'<data key="e_positions">{",".join(map(str, positions))}</data>'
            f'<data key="e_partial">{encode_double(partial)}</data>'
            f'<data key="e_flow">{encode_double(flow)}</data></edge>'
        )
    lines.append("  </graph>")
    lines.append("</graphml>")
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write("\n".join(lines) + "\n")
