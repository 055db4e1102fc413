"""A recorded graph summarised by structure: one vertex per group of vertices (a quotient graph).

A network's loss has tens of thousands of vertices; a picture of them is a hairball. Group
the vertices — by the layer or neuron prefix of the :mod:`fnad.nn` labels (``L0.N3.w1``), by
op, by a label pattern or by a function of your own — and :func:`summarize` gives the
*quotient graph*: one vertex per group, with how many vertices it holds, the range of
their values and statistics of their gradients, and one edge per pair of groups, with
the total gradient that flows back along the vertex edges between them.

How vertices are grouped is :mod:`fnad.viz.grouping`'s part: a preset, a label pattern or a
function gives some vertices a group of their own, and one placement rule puts the rest.

For the moons loss that gives ``L0`` → ``L1`` → ``L2`` → ``rest`` (the loss itself: the
hinge terms, the sum, the regularisation), fed by ``const`` (the data points):

>>> import fnad
>>> from fnad.nn.model import MLP, hinge_loss
>>> with fnad.Tape():
...     net = MLP(2, [4, 4, 1], seed=0).trace()
...     loss = hinge_loss([net((1.0, -1.0)), net((0.5, 2.0))], [1, -1])
>>> layers = summarize(loss, by="layer")
>>> list(layers)
['L0', 'L1', 'L2', 'const', 'rest']
>>> sorted(layers.edges)
[('L0', 'L1'), ('L1', 'L2'), ('L2', 'rest'), ('const', 'L0'), ('const', 'rest')]
>>> layers.nodes["L1"]["count"], layers.nodes["L1"]["own"], layers.nodes["L1"]["ops"]
(92, 20, {'input': 20, 'mul': 32, 'add': 32, 'relu': 8})
>>> layers.graph["output"]
'rest'

The result follows :func:`fnad.to_networkx`'s conventions (``op`` and ``label`` on
vertices, ``flow`` on edges, ``schema``/``version``/``output`` on the graph) and adds the
statistics listed in ``docs/flow.md``. :func:`summary_to_dot` and :func:`render_summary`
draw it. Everything here is a loop over the vertices and edges: linear in the graph's
size and never recursive (the test suite summarises a million vertices).
"""

from __future__ import annotations

import html
import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import networkx as nx

from fnad.engine import CONST, GraphTable, Node
from fnad.errors import GraphFormatError, GraphSizeError, OperandTypeError
from fnad.graph.reader import check_document
from fnad.graph.schema import encode_float
from fnad.graph.snapshot import Graphable, Snapshot, snapshot
from fnad.viz.grouping import (
    CONST_GROUP,
    INPUT_GROUP,
    PRESETS,
    REST_GROUP,
    GroupAssignment,
    Grouping,
    VertexInfo,
    assign_groups,
    place,
    select_groups,
)
from fnad.viz.render import (
    FILL,
    MAX_ATTRIBUTE_CHARS,
    dot_quote,
    dot_to,
    dot_to_svg,
    output_format,
    printable,
    shorten,
)

__all__ = [
    "CONST_GROUP",
    "INPUT_GROUP",
    "PRESETS",
    "REST_GROUP",
    "SUMMARY_SCHEMA",
    "GradStats",
    "GroupAssignment",
    "Grouping",
    "Summary",
    "VertexInfo",
    "assign_groups",
    "euclidean_norm",
    "place",
    "read_source",
    "render_summary",
    "select_groups",
    "summarize",
    "summary_to_dot",
]

SUMMARY_SCHEMA = "fnad.summary"
"""The ``schema`` graph attribute of every summary (``version`` is 1)."""

# --------------------------------------------------------------------------- the result

if TYPE_CHECKING:
    _SummaryBase = nx.DiGraph[str]
else:
    _SummaryBase = nx.DiGraph


class Summary(_SummaryBase):
    """What :func:`summarize` returns: a ``networkx.DiGraph`` of groups that also shows
    itself in Jupyter (the picture :func:`render_summary` draws, or a table of the groups
    without graphviz)."""

    def __repr__(self) -> str:
        by = self.graph.get("by", "?")
        return (
            f"<fnad summary by {by}: {self.number_of_nodes():,} groups of "
            f"{self.graph.get('vertices', 0):,} vertices; fnad.render_summary(s, 'summary.svg')>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Jupyter's display: the summary drawn as SVG, else a table; never raises."""
        text = repr(self)
        try:
            if self.number_of_nodes() <= MAX_DISPLAY_GROUPS:
                svg = dot_to_svg(summary_to_dot(self)).decode("utf-8")
                return {"image/svg+xml": svg, "text/plain": text}
        except Exception:
            pass
        try:
            return {"text/html": _summary_table(self), "text/plain": text}
        except Exception:
            return {"text/plain": text}


MAX_DISPLAY_GROUPS = 200
"""Above this many groups a :class:`Summary` shows itself as a table, not a picture."""


def _summary_table(summary: nx.DiGraph[str]) -> str:
    rows = []
    for name, attributes in summary.nodes(data=True):
        cells = (
            shorten(printable(str(name))),
            f"{attributes['count']:,}",
            _short(attributes["grad_mean_abs"]),
            _short(attributes["grad_max_abs"]),
            f"{attributes['blocked']:,}",
        )
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{html.escape(h)}</th>"
        for h in ("group", "vertices", "mean |grad|", "largest |grad|", "gradient stops")
    )
    return (
        f"<div>{html.escape(repr(summary))}</div><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# --------------------------------------------------------------------------- the graph


SummarySource: TypeAlias = "Node | GraphTable | Graphable | nx.DiGraph[Any]"
"""What :func:`summarize` reads: an output Node, a Program, a graph table, or a networkx
graph in :func:`fnad.to_networkx`'s format."""


def read_source(source: SummarySource, what: str = "summarize") -> tuple[Snapshot, Sequence[int]]:
    """The :class:`~fnad.graph.snapshot.Snapshot` of ``source`` and the id each of its
    vertices has in ``source`` (those of :func:`fnad.to_networkx` for an output Node).

    A networkx graph goes through the same checks as a file (:func:`fnad.graph.check_document`):
    ops must be known rules, arguments complete, every vertex must feed the output; its
    gradients and partials are computed again from its values, as for an output Node.
    """
    if isinstance(source, nx.DiGraph):
        if source.is_multigraph():
            raise OperandTypeError(
                f"{what}: a multigraph is not in fnad.to_networkx's format (one edge per "
                "argument, its positions listed on it); pass fnad.to_networkx(z)"
            )
        return _of_graph(source, what)
    try:
        snap = snapshot(source)
    except OperandTypeError:
        raise OperandTypeError(
            f"{what}: expected an output fnad.Node, a Program or a networkx.DiGraph in "
            f"fnad.to_networkx's format, got {type(source).__name__} ({source!r:.60}); pass "
            "the loss node, e.g. summarize(loss, by='layer')"
        ) from None
    return snap, range(len(snap))


def _of_graph(graph: nx.DiGraph[Any], what: str) -> tuple[Snapshot, Sequence[int]]:
    ids = list(graph)
    for name in ids:
        if isinstance(name, bool) or not isinstance(name, int):
            raise GraphFormatError(
                f"{what}: vertex {name!r} is not an int id; pass fnad.to_networkx(z), or a "
                "graph with its attributes (see docs/graph-format.md)"
            )
    ids.sort()
    for u, v in graph.edges:
        if u >= v:  # ids in recording order, as fnad writes them: ours keep them
            raise GraphFormatError(
                f"{what}: the edge {u} -> {v} goes backwards (ids must be topological); pass "
                "fnad.to_networkx(z), or a graph with its attributes (see docs/graph-format.md)"
            )

    def vertex(v: int, attributes: dict[str, Any]) -> dict[str, Any]:
        entry = {**attributes, "id": v}
        entry.pop("grad", None)  # computed again: a stale one changes nothing
        if isinstance(value := entry.get("data"), float):
            entry["data"] = encode_float(value)  # nan and ±inf as the format writes them
        return entry

    def edge(u: int, v: int, attributes: dict[str, Any]) -> dict[str, Any]:
        positions = attributes.get("positions")
        return {
            "source": u,
            "target": v,
            "positions": list(positions) if isinstance(positions, tuple) else positions,
        }

    document = {
        "graph": dict(graph.graph),
        "nodes": [vertex(v, attributes) for v, attributes in graph.nodes(data=True)],
        "edges": [edge(u, v, attributes) for u, v, attributes in graph.edges(data=True)],
    }
    try:
        table = check_document(document)
    except GraphFormatError as error:
        raise GraphFormatError(f"{what}: {error}") from None
    # The reader records the smallest id first among the ready vertices, so with edges going
    # forward, recording order is id order: the snapshot's vertex i is ids[i].
    return Snapshot.of_table(table), ids


# --------------------------------------------------------------------------- summarize


def _total(values: list[float]) -> float:
    """The exact sum (``math.fsum``), or the IEEE one when that is inf or nan."""
    try:
        return math.fsum(values)
    except (ValueError, OverflowError):  # inf - inf, or an intermediate overflow
        return sum(values, 0.0)


def euclidean_norm(values: Sequence[float]) -> float:
    """The Euclidean norm, without overflow (``math.hypot``), and nan if any value is nan.

    >>> euclidean_norm([3.0, -4.0]), euclidean_norm([3e300, 4e300]), euclidean_norm([])
    (5.0, 5e+300, 0.0)
    >>> euclidean_norm([float("inf"), float("nan")])
    nan
    """
    norm = math.hypot(*values)
    return math.nan if norm == math.inf and any(v != v for v in values) else norm


def _finite_range(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if v == v]
    return (min(finite), max(finite)) if finite else (math.nan, math.nan)


@attrs.frozen
class GradStats:
    """Magnitudes of a set of gradients; a nan among them makes every statistic but
    ``count`` and ``zero`` nan.

    >>> GradStats.of([3.0, -4.0, 0.0])
    GradStats(count=3, mean_abs=2.3333333333333335, max_abs=4.0, norm=5.0, zero=1)
    """

    count: int
    mean_abs: float
    """Mean of |gradient| (0.0 for no gradients)."""
    max_abs: float
    norm: float
    """Euclidean norm (see :func:`euclidean_norm`)."""
    zero: int
    """How many are exactly 0."""

    @classmethod
    def of(cls, grads: Sequence[float]) -> GradStats:
        """The statistics of ``grads``."""
        magnitudes = [abs(g) for g in grads]
        count = len(magnitudes)
        largest = max(magnitudes, default=0.0)
        if largest == largest and any(m != m for m in magnitudes):
            largest = math.nan  # max() with a nan depends on the order
        return cls(
            count=count,
            mean_abs=_total(magnitudes) / count if count else 0.0,
            max_abs=largest,
            norm=euclidean_norm(grads),
            zero=magnitudes.count(0.0),
        )


def _grad_stats(prefix: str, grads: list[float]) -> dict[str, float | int]:
    stats = GradStats.of(grads)
    return {
        f"{prefix}_norm": stats.norm,
        f"{prefix}_mean_abs": stats.mean_abs,
        f"{prefix}_max_abs": stats.max_abs,
        f"{prefix}_zero": stats.zero,
    }


def summarize(source: SummarySource, *, by: Grouping) -> Summary:
    """The quotient graph of ``source``'s graph under the grouping ``by``.

    ``source`` is an output Node or a Program (its graph is read as :func:`fnad.to_networkx`
    reads it: ∂source/∂v is computed, nothing is recorded), or a graph in ``to_networkx``'s
    format (checked as a file is: see :func:`read_source`).
    Vertices are group names, in order of each group's first vertex; each carries

    ``label`` the group name; ``op`` its vertices' op if they share one, else ``"group"``;
    ``count``, ``own`` (how many vertices the grouping put there itself), ``ops`` (count
    per op, ``"input"`` for inputs), ``members`` (their vertex ids), ``data_min``,
    ``data_max`` (nan ignored), ``grad_norm``, ``grad_mean_abs``, ``grad_max_abs``,
    ``grad_zero`` over all its vertices and ``own_grad_*`` over its own ones (a layer's
    parameters), ``blocked`` and ``blocked_ops`` (ops whose local derivatives are all 0,
    such as relu at a negative input: no gradient passes them), ``internal_edges`` and
    ``internal_flow`` (the edges inside the group and the gradient along them).

    Each edge ``A -> B`` stands for the vertex edges from A to B and carries ``edges``
    (how many), ``flow`` (the sum of their gradient flows, ``grad(target) × partial``) and
    ``abs_flow`` (the sum of their magnitudes). The graph attributes are ``schema``
    (``"fnad.summary"``), ``version``, ``output`` (the output's group), ``by``,
    ``vertices`` and ``edges`` (of the summarised graph).

    >>> from fnad import Node
    >>> x, y = Node(2.0, label="x"), Node(3.0, label="y")
    >>> by_op = summarize(x * y + x**2 + y.relu(), by="op")
    >>> list(by_op.nodes(data="count"))
    [('input', 2), ('mul', 1), ('const', 1), ('pow', 1), ('add', 2), ('relu', 1)]
    >>> by_op.edges["input", "mul"]["flow"], by_op.nodes["add"]["internal_flow"]
    (5.0, 1.0)
    """
    snap, ids = read_source(source)
    return quotient(snap, assign_groups(snap, by, ids), ids)


def _common_op(kinds: dict[str, int]) -> str:
    """The ``op`` of a group: its vertices' op if they share one (``""`` for inputs)."""
    if len(kinds) != 1:
        return "group"
    (kind,) = kinds
    return "" if kind == INPUT_GROUP else kind


def quotient(
    snap: Snapshot, assignment: GroupAssignment, ids: Sequence[int] | None = None
) -> Summary:
    """The quotient graph of ``snap`` under ``assignment`` (see :func:`summarize`); members
    are named by ``ids`` (default ``0 .. n-1``)."""
    names = assignment.names
    number_of = {name: k for k, name in enumerate(names)}
    group = [number_of[name] for name in assignment.groups]
    members: list[list[int]] = [[] for _ in names]
    for i, g in enumerate(group):
        members[g].append(i)
    ops = Counter(zip(group, [op or INPUT_GROUP for op in snap.ops], strict=True))
    blocked: Counter[tuple[int, str]] = Counter()
    internal: list[list[float]] = [[] for _ in names]
    crossing: dict[tuple[int, int], list[float]] = {}
    table_grads = snap.grads
    starts, sources, partials = snap.edge_starts, snap.edge_sources, snap.edge_partials
    edge_count = len(sources)
    for i in range(len(snap)):
        first, last = starts[i], starts[i + 1]
        if first == last:
            continue
        g = group[i]
        grad = table_grads[i]
        if not any(partials[first:last]):  # every local derivative is 0 (nan counts as not 0)
            blocked[g, snap.ops[i]] += 1
        for e in range(first, last):
            partial = partials[e]
            h = group[sources[e]]
            if h == g:
                internal[g].append(grad * partial)
            else:
                flows = crossing.get((h, g))
                if flows is None:
                    crossing[h, g] = flows = []
                flows.append(grad * partial)
    kinds: list[dict[str, int]] = [{} for _ in names]
    for (g, op), count in ops.items():
        kinds[g][op] = count
    stopped: list[dict[str, int]] = [{} for _ in names]
    for (g, op), count in sorted(blocked.items()):
        stopped[g][op] = count

    summary = Summary(
        schema=SUMMARY_SCHEMA,
        version=1,
        output=assignment.groups[snap.output],
        by=assignment.by,
        vertices=len(snap),
        edges=edge_count,
    )
    ids = range(len(snap)) if ids is None else ids
    data, own = snap.values, assignment.own
    for k, name in enumerate(names):
        vertices = members[k]
        low, high = _finite_range([data[i] for i in vertices])
        grads = [table_grads[i] for i in vertices]
        summary.add_node(
            name,
            label=name,
            op=_common_op(kinds[k]),
            count=len(vertices),
            own=sum(own[i] for i in vertices),
            ops=kinds[k],
            members=tuple([ids[i] for i in vertices]),
            data_min=low,
            data_max=high,
            **_grad_stats("grad", grads),
            **_grad_stats("own_grad", [table_grads[i] for i in vertices if own[i]]),
            blocked=sum(stopped[k].values()),
            blocked_ops=stopped[k],
            internal_edges=len(internal[k]),
            internal_flow=_total(internal[k]),
        )
    for (h, g), flows in crossing.items():
        summary.add_edge(
            names[h],
            names[g],
            edges=len(flows),
            flow=_total(flows),
            abs_flow=_total([abs(f) for f in flows]),
        )
    return summary


# --------------------------------------------------------------------------- drawing
# The drawing reads only the summary's attributes, so the shared DOT path of full graphs
# (fnad.render) can take it over: see summary_to_dot.

MAX_EDGE_LABELS = 40
"""Above this many edges, :func:`summary_to_dot` draws edges without labels (their width and
tooltip still show the flow)."""


def _kind(summary: nx.DiGraph[str], name: str) -> str:
    if name == summary.graph.get("output"):
        return "output"
    ops = set(summary.nodes[name]["ops"])
    if ops == {CONST}:
        return "const"
    if ops == {INPUT_GROUP}:
        return "input"
    return "op"


def _short(value: float) -> str:
    return f"{value + 0.0:.3g}"  # 0, never -0, in a picture


def _group_text(attributes: dict[str, Any], kind: str) -> str:
    count, own = attributes["count"], attributes["own"]
    ops = sorted(attributes["ops"].items(), key=lambda item: (-item[1], item[0]))
    lines = [shorten(str(attributes["label"])) + ("  (output)" if kind == "output" else "")]
    if count == 1:
        lines.append(f"1 vertex: {shorten(ops[0][0])}")
    else:
        lines.append(f"{count:,} vertices" + (f" ({own:,} by name)" if 0 < own < count else ""))
        shown = [f"{shorten(op)} {n:,}" for op, n in ops[:4]] + (["…"] if len(ops) > 4 else [])
        lines.append(" · ".join(shown))
    low, high = attributes["data_min"], attributes["data_max"]
    lines.append(f"data {_short(low)}" if low == high else f"data {_short(low)} … {_short(high)}")
    named = 0 < own < count
    prefix, which = ("own_grad", f"|grad| of the {own:,} by name") if named else ("grad", "|grad|")
    lines.append(
        f"{which}: mean {_short(attributes[prefix + '_mean_abs'])}, "
        f"max {_short(attributes[prefix + '_max_abs'])}"
    )
    stopped = sorted(attributes["blocked_ops"].items())
    if stopped:
        lines.append(
            "gradient stops at "
            + ", ".join(f"{shorten(op)} {n:,} of {attributes['ops'][op]:,}" for op, n in stopped)
        )
    return "\n".join(lines)


LEGEND = (
    "How to read it: each box is a group of vertices of the graph (by {by}).",
    "N vertices (K by name): K were put in the group by their name (a layer's parameters),",
    "    the others are the ops computed from them.",
    "|grad|: the size of the gradient ∂output/∂vertex, its mean and largest over the group.",
    "gradient stops at relu 3 of 8: 3 of the group's 8 relu ops have a local derivative of 0",
    "    (a negative input), so no gradient passes them.",
    "Each arrow: the gradient carried back along the edges between two groups (their sum;",
    "    'sizes add to' when signs cancel); wider is more. Dashed: into constants (unused).",
)
"""The legend under a summary picture; ``{by}`` is the grouping."""


def _legend(by: str) -> str:
    """The legend as a DOT graph label, one left-aligned line each (``\\l``)."""
    lines = [line.format(by=by) for line in LEGEND]
    return '"' + "\\l".join(dot_quote(line)[1:-1] for line in lines) + '\\l"'


def summary_to_dot(
    summary: nx.DiGraph[str],
    *,
    edge_labels: bool | None = None,
    legend: bool = True,
    caption: str = "",
) -> str:
    """A :func:`summarize` graph in graphviz DOT, laid out left to right like full graphs.

    Each group shows its name, how many vertices of which ops it holds, its value range,
    the mean and largest gradient magnitude (of its own vertices, when it has both own and
    placed ones: a layer's parameters) and the ops in it whose local derivatives are all 0
    (relu at a negative input: the gradient stops there). Each edge shows how many vertex
    edges it stands for and the gradient they carry back (``grad ←``, plus the sum of
    magnitudes when signs cancel); its width grows with that magnitude, on a log scale
    over four decades.
    Edges out of a group of constants are dashed: gradient that reaches a number is not
    used. Edge labels are left out above :data:`MAX_EDGE_LABELS` edges unless
    ``edge_labels`` says otherwise (the SVG tooltip still has them). Groups named
    ``prefix.name`` that share a prefix are boxed together (the neurons of a layer).
    With ``legend`` (the default) the picture ends with :data:`LEGEND`, which says all this
    in plain words; ``caption`` is a line of text over it.

    >>> from fnad import Node
    >>> x = Node(2.0, label="x")
    >>> print(summary_to_dot(summarize(x * 3.0, by="op"), legend=False), end="")
    digraph fnad_summary {
      graph [rankdir=LR, fontname="Helvetica", schema="fnad.summary", version="1", by="op"];
      node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];
      edge [fontname="Helvetica", fontsize=9, color="#475569"];
      "g0" [label="input\\n1 vertex: input\\ndata 2\\n|grad|: mean 3, max 3", fillcolor="#dbeafe", name="input"];
      "g1" [label="const\\n1 vertex: const\\ndata 3\\n|grad|: mean 2, max 2", fillcolor="#f1f5f9", name="const"];
      "g2" [label="mul  (output)\\n1 vertex: mul\\ndata 6\\n|grad|: mean 1, max 1", fillcolor="#fef3c7", penwidth=2, name="mul"];
      "g0" -> "g2" [label="1 edge\\ngrad ← 3", penwidth=5.0, flow="3.0", abs_flow="3.0", edges="1"];
      "g1" -> "g2" [label="1 edge\\ngrad ← 2", style=dashed, color="#94a3b8", penwidth=1.0, flow="2.0", abs_flow="2.0", edges="1"];
    }
    >>> summary_to_dot(summarize(x * 3.0, by="op")).count("How to read it")
    1
    """
    names = list(summary)
    key = {name: f"g{k}" for k, name in enumerate(names)}
    show_labels = (
        summary.number_of_edges() <= MAX_EDGE_LABELS if edge_labels is None else edge_labels
    )
    by = str(summary.graph.get("by", ""))
    lines = [
        "digraph fnad_summary {",
        f'  graph [rankdir=LR, fontname="Helvetica", schema="{SUMMARY_SCHEMA}", version="1", '
        f"by={dot_quote(shorten(by, MAX_ATTRIBUTE_CHARS))}];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#475569"];',
    ]
    kinds = {name: _kind(summary, name) for name in names}
    clusters: dict[str, list[str]] = {}
    for name in names:
        if "." in name:
            clusters.setdefault(name.rsplit(".", 1)[0], []).append(name)
    boxed = {prefix: group for prefix, group in clusters.items() if len(group) > 1}
    inside = {name for group in boxed.values() for name in group}

    def vertex(name: str, indent: str) -> str:
        kind = kinds[name]
        extra = ", penwidth=2" if kind == "output" else ""
        text = _group_text(summary.nodes[name], kind)
        return (
            f"{indent}{dot_quote(key[name])} [label={dot_quote(text)}, "
            f'fillcolor="{FILL[kind]}"{extra}, '
            f"name={dot_quote(shorten(str(name), MAX_ATTRIBUTE_CHARS))}];"
        )

    for k, (prefix, group) in enumerate(boxed.items()):
        lines.append(f'  subgraph "cluster_{k}" {{')
        lines.append(f'    label={dot_quote(shorten(prefix))}; style="rounded"; color="#94a3b8";')
        lines.extend(vertex(name, "    ") for name in group)
        lines.append("  }")
    lines.extend(vertex(name, "  ") for name in names if name not in inside)
    largest = max(
        (
            float(data["abs_flow"])
            for source, _, data in summary.edges(data=True)
            if kinds[source] != "const"
        ),
        default=0.0,
    )
    widest = 5.0 if show_labels else 2.5  # a bundle of many wide edges is a black wall
    for source, target, attributes in summary.edges(data=True):
        flow, abs_flow, count = attributes["flow"], attributes["abs_flow"], attributes["edges"]
        text = f"{count:,} edge{'s' if count != 1 else ''}\ngrad ← {_short(flow)}"
        if not math.isclose(abs(flow), abs_flow, rel_tol=1e-9):
            text += f"\n(sizes add to {_short(abs_flow)})"
        label = f"label={dot_quote(text)}" if show_labels else f"tooltip={dot_quote(text)}"
        if kinds[source] == "const":
            style = ', style=dashed, color="#94a3b8", penwidth=1.0'
        else:
            style = f", penwidth={_width(abs_flow, largest, widest):.1f}"
        lines.append(
            f"  {dot_quote(key[source])} -> {dot_quote(key[target])} [{label}{style}, "
            f'flow="{flow!r}", abs_flow="{abs_flow!r}", edges="{count}"];'
        )
    if caption:
        lines.append(f"  labelloc=t; label={dot_quote(caption)};")
    if legend:
        lines.append(
            '  "legend" [class="legend", shape=plaintext, style="", fontsize=10, '
            'fontcolor="#475569", '
            f"label={_legend(shorten(by))}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _width(value: float, largest: float, widest: float) -> float:
    """Edge width from 0.5 (no flow, or 10⁻⁴ of the largest) to ``widest`` (the largest), on
    a log scale."""
    if value != value or value == math.inf:
        return widest
    if not (value > 0.0 and 0.0 < largest < math.inf):
        return 0.5
    decades = math.log10(min(value / largest, 1.0))  # <= 0
    return 0.5 + (widest - 0.5) * max(0.0, 1.0 + decades / 4.0)


def render_summary(
    summary: nx.DiGraph[str],
    path: str | os.PathLike[str],
    *,
    max_groups: int = 200,
    legend: bool = True,
) -> Path:
    """Draw a :func:`summarize` graph into a file at ``path`` (see :func:`summary_to_dot`);
    return the path.

    The file's format follows its extension, as for :func:`fnad.render`: ``.svg``, ``.png``
    or ``.pdf`` (any other is an :class:`~fnad.OutputFormatError`, raised before anything is
    drawn). A summary of more than ``max_groups`` groups is refused with
    :class:`~fnad.GraphSizeError` (choose a coarser grouping). ``legend=False`` leaves out
    the lines that say how to read the picture. Like :func:`fnad.render`, this needs the
    graphviz package and its ``dot`` program.
    """
    kind = output_format(path)
    if summary.graph.get("schema") != SUMMARY_SCHEMA:
        raise OperandTypeError(
            f"render_summary: expected a graph from fnad.summarize, got one with schema "
            f"{summary.graph.get('schema')!r}; summarise first: "
            "render_summary(fnad.summarize(loss, by='layer'), path), or draw a Node with "
            "fnad.render"
        )
    if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 1:
        raise GraphSizeError(
            f"render_summary: max_groups must be a positive int, got {max_groups!r}"
        )
    if summary.number_of_nodes() > max_groups:
        raise GraphSizeError(
            f"render_summary: the summary has {summary.number_of_nodes():,} groups, above "
            f"max_groups={max_groups:,}; group more coarsely (by='layer' rather than "
            "by='neuron') or raise max_groups"
        )
    target = Path(path)
    target.write_bytes(dot_to(summary_to_dot(summary, legend=legend), kind))
    return target
