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
from typing import Any, overload

from fnad.core import Node
from fnad.errors import GraphSizeError, OutputFormatError, RenderError
from fnad.export import snapshot, to_dot

__all__ = ["FORMATS", "MAX_RENDER_NODES", "Drawing", "output_format", "render"]

MAX_RENDER_NODES = 200
"""Default vertex limit for :func:`render`; dot lays out a 200-vertex DAG in a few seconds at most."""


@overload
def render(
    z: Node, path: None = None, *, max_nodes: int = ..., collapse: bool = ...
) -> Drawing: ...
@overload
def render(
    z: Node, path: str | os.PathLike[str], *, max_nodes: int = ..., collapse: bool = ...
) -> Path: ...
def render(
    z: Node,
    path: str | os.PathLike[str] | None = None,
    *,
    max_nodes: int = MAX_RENDER_NODES,
    collapse: bool = True,
) -> Drawing | Path:
    """Draw ``z``'s graph: a :class:`Drawing` that shows itself in Jupyter, or a file at ``path``.

    The file's format follows its extension: ``.svg``, ``.png`` or ``.pdf`` (any other is an
    :class:`~fnad.OutputFormatError`, raised before anything is drawn); the path is returned.
    Without a path, the :class:`Drawing` displays inline and can be saved later, like
    ``graphviz.Source``. Above ``max_nodes`` vertices the drawing is collapsed to the
    ``max_nodes`` vertices nearest the output, or, with ``collapse=False``, refused with
    :class:`~fnad.GraphSizeError`. Missing graphviz pieces raise :class:`~fnad.RenderError`
    saying how to install them.

    >>> import os, tempfile
    >>> from fnad import Node
    >>> x, y = Node(2.0, label="x"), Node(3.0, label="y")
    >>> z = x * y + x**2 + y.relu()
    >>> drawing = render(z)  # doctest: +SKIP
    >>> drawing.svg.startswith("<?xml")  # doctest: +SKIP
    True
    >>> png = drawing.save(os.path.join(tempfile.mkdtemp(), "seed.png"))  # doctest: +SKIP
    >>> png.read_bytes()[:4]  # doctest: +SKIP
    b'\\x89PNG'
    """
    if path is not None:
        output_format(path)  # a cheap check first: refuse a .jpg before drawing anything
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
    drawing = Drawing(to_dot(z, max_nodes=max_nodes))
    return drawing if path is None else drawing.save(path)


def dot_to_svg(text: str) -> bytes:
    """Lay out DOT text with graphviz's ``dot`` and return the SVG bytes."""
    return dot_to(text, "svg")


def dot_to(text: str, kind: str) -> bytes:
    """Lay out DOT text with graphviz's ``dot`` and return the bytes of format ``kind`` (svg, png, pdf)."""
    try:
        import graphviz  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        raise RenderError(
            "render() needs the graphviz Python package, which is not installed; "
            "install the viz extra: pip install 'fnad[viz]' (plus the dot program: "
            "apt-get install graphviz, brew install graphviz, or https://graphviz.org)"
        ) from None
    try:
        drawn: bytes = graphviz.Source(text).pipe(format=kind)
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
    return drawn


# --------------------------------------------------------------------------- drawings

FORMATS = {"svg": "SVG", "png": "PNG", "pdf": "PDF"}
"""The file formats :func:`render` writes, by extension (graphviz's names)."""


def output_format(path: str | os.PathLike[str]) -> str:
    """The format named by ``path``'s extension, or :class:`~fnad.OutputFormatError`.

    >>> output_format("graph.SVG"), output_format("out/seed.png")
    ('svg', 'png')
    >>> output_format("graph.jpg")
    Traceback (most recent call last):
    ...
    fnad.errors.OutputFormatError: cannot draw a graph into 'graph.jpg': its extension '.jpg' is not a format fnad draws; name the file .svg, .png or .pdf (or write DOT text with fnad.to_dot)
    """
    suffix = Path(path).suffix
    if suffix.lower().lstrip(".") in FORMATS:
        return suffix.lower().lstrip(".")
    problem = (
        f"its extension {suffix!r} is not a format fnad draws"
        if suffix
        else "the name has no extension to tell the format"
    )
    raise OutputFormatError(
        f"cannot draw a graph into {os.fspath(path)!r}: {problem}; "
        "name the file .svg, .png or .pdf (or write DOT text with fnad.to_dot)"
    )


class Drawing:
    """A laid-out graph that shows itself in Jupyter and saves as SVG, PNG or PDF.

    What :func:`render` returns without a path, like ``graphviz.Source``: ``svg`` is the
    picture, ``dot`` its DOT text, and :meth:`save` writes a file whose format follows its
    extension.
    """

    __slots__ = ("dot", "svg")

    def __init__(self, dot: str) -> None:
        self.dot = dot
        """The DOT text (graphviz's input)."""
        self.svg = dot_to_svg(dot).decode("utf-8")
        """The SVG picture, as text."""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the drawing to ``path`` as SVG, PNG or PDF, by its extension; return the path."""
        kind = output_format(path)
        data = self.svg.encode("utf-8") if kind == "svg" else dot_to(self.dot, kind)
        target = Path(path)
        target.write_bytes(data)
        return target

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"image/svg+xml": self.svg, "text/plain": repr(self)}

    def __repr__(self) -> str:
        vertices = self.svg.count('class="node"')
        return f"<fnad.render.Drawing: {vertices} vertices; .save('graph.png'), .svg, .dot>"
