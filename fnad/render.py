"""Render a recorded graph as SVG through graphviz: the chain rule, drawn.

Each vertex shows its label (or op), its value and its gradient ∂z/∂v; each edge shows
the argument position, the local derivative (the chain-rule factor) and the gradient it
carries back. The DOT text comes from :func:`fnad.to_dot`; graphviz's ``dot`` program
lays it out. This needs the optional ``graphviz`` Python package (``pip install
'fnad[viz]'``) and the ``dot`` binary (Debian: ``apt-get install graphviz``); nothing
else in fnad does.

Graphs above ``max_nodes`` vertices are drawn collapsed (the vertices nearest the output,
plus one dashed vertex standing for the rest), or refused with
:class:`~fnad.GraphSizeError` when ``collapse=False``: never an unreadable hairball, and
never a layout that runs for an hour.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fnad.core import Node
from fnad.errors import GraphSizeError, RenderError
from fnad.export import snapshot, to_dot

__all__ = ["MAX_RENDER_NODES", "render"]

MAX_RENDER_NODES = 200
"""Default vertex limit for :func:`render`; dot lays out a 200-vertex DAG in a few seconds at most."""


def render(
    z: Node,
    path: str | os.PathLike[str],
    *,
    max_nodes: int = MAX_RENDER_NODES,
    collapse: bool = True,
) -> Path:
    """Draw ``z``'s graph into an SVG file at ``path``; return the path.

    Above ``max_nodes`` vertices the drawing is collapsed to the ``max_nodes`` vertices
    nearest the output, or, with ``collapse=False``, refused with
    :class:`~fnad.GraphSizeError`. Missing graphviz pieces raise
    :class:`~fnad.RenderError` saying how to install them.

    >>> import os, tempfile
    >>> from fnad import Node
    >>> x, y = Node(2.0, label="x"), Node(3.0, label="y")
    >>> z = x * y + x**2 + y.relu()
    >>> svg = render(z, os.path.join(tempfile.mkdtemp(), "seed.svg"))  # doctest: +SKIP
    >>> "<svg" in svg.read_text()  # doctest: +SKIP
    True
    """
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise GraphSizeError(f"render: max_nodes must be a positive int, got {max_nodes!r}")
    if not collapse:
        total = len(snapshot(z).nodes)
        if total > max_nodes:
            raise GraphSizeError(
                f"render: the graph of this output has {total:,} vertices, above "
                f"max_nodes={max_nodes:,}; a drawing that large is unreadable and slow to lay "
                "out. Pass collapse=True to draw the vertices nearest the output, raise "
                "max_nodes, or analyse it with fnad.to_networkx(z)"
            )
    text = to_dot(z, max_nodes=max_nodes)
    svg = dot_to_svg(text)
    target = Path(path)
    target.write_bytes(svg)
    return target


def dot_to_svg(text: str) -> bytes:
    """Lay out DOT text with graphviz's ``dot`` and return the SVG bytes."""
    try:
        import graphviz  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        raise RenderError(
            "render() needs the graphviz Python package, which is not installed; "
            "install the viz extra: pip install 'fnad[viz]' (plus the dot program: "
            "apt-get install graphviz, brew install graphviz, or https://graphviz.org)"
        ) from None
    try:
        svg: bytes = graphviz.Source(text).pipe(format="svg")
    except graphviz.ExecutableNotFound:
        raise RenderError(
            "render() needs graphviz's `dot` program, which is not on PATH; install it "
            "(apt-get install graphviz, brew install graphviz, or https://graphviz.org)"
        ) from None
    except subprocess.CalledProcessError as error:
        detail = error.stderr.decode("utf-8", "replace").strip() if error.stderr else ""
        raise RenderError(
            f"graphviz's dot failed with exit status {error.returncode}: {detail or 'no message'}; "
            "please report this with the graph (fnad.to_json(z))"
        ) from None
    return svg
