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
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import attrs

from fnad.core import Node
from fnad.errors import OperandTypeError, TapeError
from fnad.export import snapshot
from fnad.render import number, printable, vertex_title

__all__ = ["Explanation", "GradientPath", "explain"]


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
            hops = [self._name(path.nodes[0], path.ids[0])]
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
    snap = snapshot(z)
    if not isinstance(x, Node):
        raise OperandTypeError(
            f"explain: the second argument must be a fnad.Node, got {type(x).__name__}; "
            "pass the input node, e.g. explain(z, x)"
        )
    if x.tape is not z.tape:
        raise TapeError(
            f"explain: {x!r} was recorded on another tape than the output {z!r}, so z cannot "
            "depend on it; pass a node from z's own graph"
        )
    names = (z.label or "z", x.label or "x")
    source = snap.index.get(x)
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
    for vertex in range(source, len(snap.nodes)):
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
