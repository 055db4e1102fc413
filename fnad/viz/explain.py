"""Explain a gradient as the chain rule does: a sum over paths of products of local derivatives.

∂z/∂x is the sum, over every path from ``x`` to ``z`` in the recorded graph, of the
product of the local derivatives on the path's edges. :func:`explain` lists those paths,
largest contribution first, for the seed example::

    dz/dx = 7 = (2x · 1 · 1) + (y · 1 · 1) = 4 + 3

A path is a sequence of vertices; an argument used twice (``x * x``) is one edge whose
local derivative sums its positions (``x + x``). A graph can hold exponentially many
paths (``a = a.sin() + a.cos()`` repeated ``n`` times gives ``2**n``), so
``explain`` never enumerates them: it counts them exactly (dynamic programming over the
topological order) and keeps only the ``max_paths`` largest, found with a k-best pass over
the DAG in O(edges × max_paths) time, then says how much the paths it did not show add up
to. Nothing here is recursive.

At network scale the same question is asked of groups of vertices (see :mod:`fnad.viz.summary`):
:func:`explain_group` splits ∂z/∂(a group's vertices) into the part carried by the paths
that pass through another group and the rest, in one backward pass per group asked about.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import attrs

from fnad.engine import Node
from fnad.errors import OperandTypeError, TapeError
from fnad.graph.snapshot import Snapshot, snapshot
from fnad.viz.render import number, printable, vertex_title
from fnad.viz.summary import (
    CONST_GROUP,
    INPUT_GROUP,
    REST_GROUP,
    Grouping,
    assign_groups,
    euclidean_norm,
    select_groups,
)

__all__ = [
    "Explanation",
    "GradientPath",
    "GroupExplanation",
    "GroupRoute",
    "explain",
    "explain_group",
]


@attrs.frozen
class GradientPath:
    """One path from ``x`` to ``z``: its vertices, the local derivative of each hop, their product."""

    nodes: tuple[Node, ...]
    """``x`` first, ``z`` last."""
    factors: tuple[float, ...]
    """The local derivative ∂(next)/∂(previous) of each hop (summed over argument positions)."""
    product: float
    """The product of ``factors``: this path's contribution to ∂z/∂x."""
    ids: tuple[int, ...]
    """The vertex ids of ``nodes`` in :func:`fnad.to_networkx` (and :func:`fnad.to_json`) of z."""


def _magnitude(value: float) -> float:
    return math.inf if value != value else abs(value)


@attrs.frozen
class Explanation:
    """∂z/∂x as a sum over paths; ``str()`` prints it for a reader.

    ``paths`` holds the ``max_paths`` largest contributions, largest first;
    ``total_paths`` counts every path. When not all are shown, ``rest`` is what the others
    add up to (``grad`` minus the shown ones).
    """

    output: Node
    wrt: Node
    grad: float
    """∂z/∂x, bit-identical to ``x.grad`` after ``z.backward()``."""
    paths: tuple[GradientPath, ...]
    total_paths: int
    names: tuple[str, str] = ("z", "x")
    """What the text calls the output and ``wrt``: their labels (name an op's result with
    :meth:`Node.with_label <fnad.Node.with_label>`), else ``z`` and ``x``."""

    @property
    def truncated(self) -> bool:
        """Whether some paths are not listed."""
        return len(self.paths) < self.total_paths

    @property
    def shown_sum(self) -> float:
        """The sum of the listed paths' contributions (``math.fsum``)."""
        return math.fsum(path.product for path in self.paths)

    @property
    def rest(self) -> float:
        """What the unlisted paths contribute: ``grad - shown_sum`` (0.0 when all are listed)."""
        return self.grad - self.shown_sum if self.truncated else 0.0

    def __iter__(self) -> Iterator[GradientPath]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __str__(self) -> str:
        # Labels may come from a file (fnad.from_json): escaped before they reach a terminal.
        z_name, x_name = map(printable, self.names)
        head = f"∂{z_name}/∂{x_name} = {number(self.grad)}"
        if not self.total_paths:
            return f"{head}: {z_name} does not depend on {x_name} (no path from it)"
        count = f"{self.total_paths:,} path{'s' if self.total_paths != 1 else ''}"
        lines = [
            f"{head}, the sum over {count} from {x_name} to {z_name} of the product of the "
            "local derivatives along each path (largest first):"
        ]
        width = max(len(number(p.product)) for p in self.paths)
        for path in self.paths:
            hops = [printable(self.names[1])]  # every path starts at x
            for node, vertex, factor in zip(
                path.nodes[1:], path.ids[1:], path.factors, strict=True
            ):
                hops.append(f"─[{number(factor)}]→ {self._name(node, vertex)}")
            if len(hops) > 14:
                hops = [*hops[:7], f"… {len(hops) - 13:,} more hops …", *hops[-6:]]
            lines.append(f"  {number(path.product):>{width}}  =  {' '.join(hops)}")
        if self.truncated:
            hidden = self.total_paths - len(self.paths)
            lines.append(
                f"  (showing the {len(self.paths):,} largest of {self.total_paths:,} paths; "
                f"the other {hidden:,} add up to {number(self.rest)}; "
                "pass a larger max_paths to list more)"
            )
        return "\n".join(lines)

    def _name(self, node: Node, vertex: int) -> str:
        if node is self.output:
            return printable(self.names[0])
        if node is self.wrt:
            return printable(self.names[1])
        return printable(vertex_title(node, vertex))


def explain(z: Node, x: Node, *, max_paths: int = 20) -> Explanation:
    """The paths from ``x`` to ``z``, each with its product of local derivatives.

    The products of all paths sum to ∂z/∂x (up to floating-point rounding); at most
    ``max_paths`` of them, the largest in magnitude (nan first), are listed.

    >>> from fnad import Node
    >>> x, y = Node(2.0, label="x"), Node(3.0, label="y")
    >>> z = x * y + x**2 + y.relu()
    >>> print(explain(z, x))
    ∂z/∂x = 7, the sum over 2 paths from x to z of the product of the local derivatives along each path (largest first):
      4  =  x ─[4]→ pow ─[1]→ add ─[1]→ z
      3  =  x ─[3]→ mul ─[1]→ add ─[1]→ z
    >>> [path.product for path in explain(z, x)], x.grad
    ([4.0, 3.0], 0.0)
    """
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 1:
        raise OperandTypeError(f"explain: max_paths must be a positive int, got {max_paths!r}")
    if not isinstance(z, Node):
        raise OperandTypeError(
            f"explain: expected the output fnad.Node first, got {type(z).__name__} "
            f"({z!r:.60}); pass the node whose gradient you want explained, e.g. explain(z, x)"
        )
    if not isinstance(x, Node):
        raise OperandTypeError(
            f"explain: the second argument must be a fnad.Node, got {type(x).__name__}; "
            "pass the input node, e.g. explain(z, x) (for a group of vertices, such as a "
            "layer, use fnad.explain_group(z, 'L0', by='layer'))"
        )
    if x.tape is not z.tape:
        raise TapeError(
            f"explain: {x!r} was recorded on another tape than the output {z!r}, so z cannot "
            "depend on it; pass a node from z's own graph"
        )
    snap = snapshot(z)
    assert snap.nodes is not None  # the snapshot of a Node holds its Nodes
    source = snap.index().get(x)
    names = _names(z, x, snap.output, source, set(snap.labels))
    if source is None:
        return Explanation(z, x, 0.0, (), 0, names)

    # Paths are linked lists (product, vertex, factor, previous) so sharing prefixes is free.
    Entry = tuple[float, int, float, object]
    successors: dict[int, list[tuple[int, float]]] = {}
    for u, v, _, partial, _ in snap.edges():
        if u >= source:  # ids are topological: only vertices after x can be on a path
            successors.setdefault(u, []).append((v, partial))
    start: Entry = (1.0, source, 1.0, None)
    best: dict[int, list[Entry]] = {source: [start]}
    counts: dict[int, int] = {source: 1}
    for vertex in range(source, len(snap)):
        entries = best.pop(vertex, None)
        if entries is None:
            continue
        if len(entries) > max_paths:
            entries.sort(key=lambda e: -_magnitude(e[0]))  # stable: ties keep discovery order
            del entries[max_paths:]
        if vertex == snap.output:
            best[vertex] = entries
            break
        count = counts.pop(vertex)
        for target, factor in successors.get(vertex, ()):
            counts[target] = counts.get(target, 0) + count
            extended = [
                (factor if entry is start else entry[0] * factor, target, factor, entry)
                for entry in entries
            ]
            best.setdefault(target, []).extend(extended)
    finals = best.get(snap.output, [])
    finals.sort(key=lambda e: -_magnitude(e[0]))
    paths = []
    for entry in finals:
        product = entry[0]
        vertices: list[int] = []
        factors: list[float] = []
        link: object = entry
        while link is not start:
            assert isinstance(link, tuple)
            vertices.append(link[1])
            factors.append(link[2])
            link = link[3]
        vertices.append(source)
        vertices.reverse()
        factors.reverse()
        paths.append(
            GradientPath(
                tuple(snap.nodes[v] for v in vertices), tuple(factors), product, tuple(vertices)
            )
        )
    return Explanation(z, x, snap.grads[source], tuple(paths), counts.get(snap.output, 0), names)


def _names(z: Node, x: Node, output: int, source: int | None, taken: set[str]) -> tuple[str, str]:
    """What the text calls z and x: their labels, else ``z`` and ``x``, unless a vertex of the
    graph is labelled so (then ``f`` or ``output``, ``v`` for x: never a name twice)."""
    taken = taken | {x.label}
    z_name = z.label or _free(("z", "f", "output"), taken, output)
    if x is z:
        return z_name, z_name
    taken.add(z_name)
    return z_name, x.label or _free(("x", "v"), taken, source)


def _free(preferred: tuple[str, ...], taken: set[str], vertex: int | None) -> str:
    """The first of ``preferred`` that no label in the graph uses, else the last and the id."""
    for name in preferred:
        if name not in taken:
            return name
    return preferred[-1] if vertex is None else f"{preferred[-1]} #{vertex}"


# --------------------------------------------------------------------------- groups


@attrs.frozen
class GroupRoute:
    """The part of ∂z/∂(source vertices) carried by the paths that visit the group(s) ``via``."""

    name: str
    """The group, or prefix of groups, as asked (``"L1.N5"``, ``"L1"``)."""
    via: tuple[str, ...]
    """The groups it selects."""
    through: tuple[float, ...]
    """For each source vertex, the sum over its paths to z that visit ``via`` of the product of
    their local derivatives (all of ∂z/∂v for a vertex in ``via`` itself)."""
    share: float
    """⟨through, ∂z/∂source⟩ / ‖∂z/∂source‖²: the fraction of a gradient step's first-order
    decrease of z that this part accounts for. Shares of disjoint sets of paths add up to 1."""

    @property
    def norm(self) -> float:
        """‖through‖, the Euclidean norm over the source vertices."""
        return euclidean_norm(self.through)


@attrs.frozen
class GroupExplanation:
    """∂z/∂(the vertices of a group), split by the groups its paths pass through.

    ``str()`` prints it for a reader; the fields hold every number.
    """

    output: Node
    source: str
    """The source group, or prefix of groups, as asked."""
    groups: tuple[str, ...]
    """The groups ``source`` selects."""
    by: str
    """The grouping, described."""
    ids: tuple[int, ...]
    """The source vertices: their ids in :func:`fnad.to_networkx` of z."""
    labels: tuple[str, ...]
    grads: tuple[float, ...]
    """∂z/∂vertex for each source vertex, bit-identical to ``backward()``."""
    routes: tuple[GroupRoute, ...]
    """One per group asked about, largest ``norm`` first."""
    z_name: str = "z"

    @property
    def norm(self) -> float:
        """‖∂z/∂source‖, the Euclidean norm over the source vertices."""
        return euclidean_norm(self.grads)

    def __str__(self) -> str:
        z, x = self.z_name, self.source
        which = ", ".join(self.groups[:3]) + (" …" if len(self.groups) > 3 else "")
        count = f"{len(self.ids):,} " + ("vertex" if len(self.ids) == 1 else "vertices")
        lines = [
            f"∂{z}/∂{x} over {count} of {which} (grouped by {self.by}): "
            f"‖∂{z}/∂{x}‖ = {number(self.norm)}"
        ]
        if not self.routes:
            lines.append(f"  (no other group lies on a path from {x} to {z})")
            return "\n".join(lines)
        lines.append(
            "the part carried by the paths through each group (a path may pass several; "
            "share = ⟨part, ∂⟩ / ‖∂‖²):"
        )
        width = max(len(route.name) for route in self.routes)
        for route in self.routes:
            lines.append(
                f"  {route.name:<{width}}  ‖part‖ {number(route.norm):<12} share {route.share:.1%}"
            )
        if len(self.routes) == 1:
            route = self.routes[0]
            order = sorted(range(len(self.ids)), key=lambda i: -_magnitude(route.through[i]))[:5]
            lines.append(f"largest parts through {route.name}:")
            for i in order:
                name = self.labels[i] or f"#{self.ids[i]}"
                lines.append(
                    f"  ∂{z}/∂{name} = {number(self.grads[i])}: "
                    f"{number(route.through[i])} through {route.name}, "
                    f"{number(self.grads[i] - route.through[i])} elsewhere"
                )
        return "\n".join(lines)


def explain_group(
    z: Node, source: str, *, by: Grouping, via: str | Sequence[str] | None = None
) -> GroupExplanation:
    """How much of ∂z/∂``source`` came through each group in ``via``.

    Vertices are grouped as :func:`fnad.summarize` groups them (``by``). ``source`` and
    each ``via`` name a group, or a prefix selecting several (``"L0"`` selects ``L0.N0``
    … ``L0.N15`` under ``by="neuron"``). The source vertices are the ones the grouping put in
    the source groups itself (a layer's parameters, for the label presets), or all of
    them for the ``input``, ``const`` and ``rest`` groups. For each ``via``, one backward
    pass splits every ∂z/∂v into the paths that visit it and the others. Without ``via``,
    every group downstream of the source in the summary is asked about, except the one
    holding z (every path ends there), at one pass each.

    >>> import fnad
    >>> from fnad.nn.model import MLP, hinge_loss
    >>> with fnad.Tape():
    ...     net = MLP(2, [3, 3, 1], seed=0).trace()
    ...     loss = hinge_loss([net((1.0, -1.0)), net((0.5, 2.0))], [1, -1])
    >>> e = explain_group(loss, "L0", by="neuron", via="L1.N1")
    >>> e.groups, len(e.ids), e.routes[0].via
    (('L0.N0', 'L0.N1', 'L0.N2'), 9, ('L1.N1',))
    >>> all_routes = explain_group(loss, "L0", by="neuron", via=["L1.N0", "L1.N1", "L1.N2"])
    >>> round(sum(route.share for route in all_routes.routes), 12)  # every path passes one
    1.0
    """
    if not isinstance(z, Node):
        raise OperandTypeError(
            f"explain_group: expected the output fnad.Node first, got {type(z).__name__}; "
            "pass the loss, e.g. explain_group(loss, 'L0', by='layer')"
        )
    if not isinstance(source, str):
        raise OperandTypeError(
            f"explain_group: source must be a group name (str), got {type(source).__name__}; "
            "e.g. explain_group(loss, 'L0', by='layer'); for one vertex use fnad.explain"
        )
    table = snapshot(z)
    assignment = assign_groups(table, by)
    names = assignment.names
    groups = assignment.groups
    chosen = select_groups(names, source, "explain_group: the source")
    picked = set(chosen)
    members = [i for i, g in enumerate(groups) if g in picked]
    fallback = picked <= {INPUT_GROUP, CONST_GROUP, REST_GROUP}
    sources = members if fallback else [i for i in members if assignment.own[i]]
    if via is None:
        output_group = groups[table.output]
        downstream = _downstream(table, groups, picked)
        selections: list[tuple[str, tuple[str, ...]]] = [
            (name, (name,)) for name in names if name in downstream and name != output_group
        ]
    else:
        asked = [via] if isinstance(via, str) else list(via)
        for name in asked:
            if not isinstance(name, str):
                raise OperandTypeError(
                    f"explain_group: via must be a group name or a list of them, got "
                    f"{name!r} ({type(name).__name__})"
                )
        selections = [(name, select_groups(names, name, "explain_group: via")) for name in asked]
    grads = tuple(table.grads[i] for i in sources)
    squared = math.fsum(g * g for g in grads)
    routes = []
    for name, selected in selections:
        inside = set(selected)
        through = _through(table, [g in inside for g in groups], sources)
        dot = math.fsum(t * g for t, g in zip(through, grads, strict=True))
        share = dot / squared if squared else math.nan
        routes.append(GroupRoute(name, selected, through, share))
    routes.sort(key=lambda route: -_magnitude(route.norm))
    return GroupExplanation(
        output=z,
        source=source,
        groups=chosen,
        by=assignment.by,
        ids=tuple(sources),
        labels=tuple(table.labels[i] for i in sources),
        grads=grads,
        routes=tuple(routes),
        z_name=z.label or "z",
    )


def _downstream(table: Snapshot, groups: list[str], picked: set[str]) -> set[str]:
    """The groups of the vertices reachable from the ``picked`` groups' vertices."""
    reached = [g in picked for g in groups]
    found: set[str] = set()
    for i in range(len(table)):
        if not reached[i] and any(reached[a] for a in table.arguments(i)):
            reached[i] = True
            found.add(groups[i])
    return found - picked


def _through(table: Snapshot, inside: list[bool], sources: list[int]) -> tuple[float, ...]:
    """For each source vertex, the part of ∂z/∂v along paths that visit an ``inside`` vertex.

    One reverse pass carries two adjoints: the full one, and the one of the paths that have
    visited ``inside``, which a vertex inside starts with its full adjoint.
    """
    n = len(table)
    full = [0.0] * n
    part = [0.0] * n
    full[table.output] = 1.0
    arguments, partials = table.arguments, table.partials
    lowest = min(sources, default=n)
    for v in range(table.output, lowest - 1, -1):
        a = full[v]
        t = a if inside[v] else part[v]
        part[v] = t
        for u, p in zip(arguments(v), partials(v), strict=True):
            full[u] += a * p
            part[u] += t * p
    return tuple(table.grads[i] if inside[i] else part[i] for i in sources)
