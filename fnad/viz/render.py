"""Drawing a recorded graph: DOT text (:func:`to_dot`) and SVG through graphviz (:func:`render`).

Everything about how a graph is *drawn* lives here; the lossless data exports (networkx,
JSON, GraphML) are :mod:`fnad.graph.writer`, and the file format is :mod:`fnad.graph.schema`.

Each vertex shows its label (or op), its value and its gradient ∂z/∂v. Each edge ends in
its own row of the op's box, which shows the argument position, the local derivative (the
chain-rule factor) and the gradient the edge carries back: a number drawn as an edge label
would float mid-edge, where crossing edges leave a reader guessing whose it is.
:func:`to_dot` builds the DOT text; graphviz's ``dot`` program lays it out.
That needs the optional ``graphviz`` Python package (``pip install 'fnad[viz]'``) and the
``dot`` binary (Debian: ``apt-get install graphviz``); nothing else in fnad does.

Graphs above ``max_nodes`` vertices are drawn collapsed (the vertices nearest the output,
plus one dashed vertex standing for the rest), or refused with
:class:`~fnad.GraphSizeError` when ``collapse=False``: never an unreadable hairball, and
never a layout that runs for an hour.
"""

from __future__ import annotations

import os
import subprocess
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any, overload

import attrs

from fnad._internal import INVISIBLE, Vertex, format_of, printable
from fnad.engine import CONST, Node
from fnad.errors import GraphSizeError, OperandTypeError, RenderError
from fnad.graph.schema import SCHEMA, SCHEMA_VERSION
from fnad.graph.snapshot import GraphLike, Snapshot, snapshot

__all__ = [
    "FILL",
    "FORMATS",
    "MAX_ATTRIBUTE_CHARS",
    "MAX_LABEL_CHARS",
    "MAX_RENDER_NODES",
    "Drawing",
    "dot_quote",
    "dot_to_svg",
    "html_text",
    "number",
    "output_format",
    "printable",
    "render",
    "shorten",
    "to_dot",
    "to_svg",
    "vertex_title",
    "visible",
]

MAX_RENDER_NODES = 200
"""Default vertex limit for :func:`render`; dot lays out a 200-vertex DAG in a few seconds at most."""

FILL = {"input": "#dbeafe", "const": "#f1f5f9", "op": "#ffffff", "output": "#fef3c7"}
"""The fill colour of each kind of vertex: inputs blue, consts grey, ops white, the output yellow."""


# --------------------------------------------------------------------------- text


def dot_quote(text: str) -> str:
    """``text`` as a DOT double-quoted string that graphviz shows literally.

    Quotes and backslashes are escaped (so graphviz's ``\\N``-style escapes cannot
    fire), newlines become line breaks, and other control characters, and every character
    a reader could not see or that changes the direction of the text (:func:`visible`), are
    shown as ``\\xNN`` or ``\\uNNNN``.

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
        elif ch != " " and not visible(ch):  # bidi controls, zero-width, lone surrogates
            out.append(f"\\\\x{code:02x}" if code < 0x100 else f"\\\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def html_text(text: str) -> str:
    r"""``text`` as the content of a graphviz HTML-like label, shown literally.

    ``& < > "`` become entities, newlines become line breaks, a backslash is doubled
    (graphviz expands ``\N`` and ``\G`` even here, and reads ``\\`` as one backslash), and
    characters an XML parser would refuse or a reader could not see are shown as ``\xNN``
    or ``\uNNNN``.

    >>> print(html_text('<b>x</b> & "y"\nz\x07\\N'))
    &lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;<br/>z\\x07\\N
    """
    out = []
    for ch in text:
        if ch in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[ch])
        elif ch == " " or visible(ch):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\\\x{code:02x}" if code < 0x100 else f"\\\\u{code:04x}")
    return "".join(out)


_HTML_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\\": "\\\\",
    "\n": "<br/>",
}


def visible(ch: str) -> bool:
    """Whether a character shows as itself: not a control, format (bidi controls such as
    U+202E, U+2066; zero-width characters), separator other than the space, surrogate or
    unassigned character, nor a printable-but-blank filler such as U+3164.

    >>> visible("θ"), visible("\u202e"), visible("\u200b"), visible("\u3164"), visible(" ")
    (True, False, False, False, False)
    """
    return ch.isprintable() and ch != " " and ch not in INVISIBLE


MAX_LABEL_CHARS = 60
"""Longest label (or op name) a picture shows whole; longer ones are shortened to this many
characters plus a marker saying how many were left out. Exports keep every label whole."""

MAX_ATTRIBUTE_CHARS = 2_000
"""Longest label a DOT attribute (``name``, ``op``) carries; graphviz refuses any quoted
string above 16 KiB, and escaping may grow a character to 7."""


def shorten(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``text``, or its first ``limit`` characters and a visible marker of what is left out.

    >>> shorten("w" * 100)
    'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww… (+40 characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit:,} characters)"


def number(value: float) -> str:
    """A value as a learner reads it: 6 significant digits, ``7`` rather than ``7.0``, and
    ``0`` for both signed zeros (exports keep the sign).

    >>> number(7.0), number(0.1 + 0.2), number(float("-inf")), number(1e-12), number(-0.0)
    ('7', '0.3', '-inf', '1e-12', '0')
    """
    return f"{value + 0.0:.6g}"  # -0.0 + 0.0 is 0.0; every other value is unchanged


def vertex_title(node: Node | Vertex, vertex: int) -> str:
    """How a vertex is named to a reader: its label, else the op, else ``input #id``
    (shortened above :data:`MAX_LABEL_CHARS`)."""
    if node.label:
        return shorten(node.label)
    if node.op == CONST:
        return number(node.data)
    return shorten(node.op) or f"input #{vertex}"


# --------------------------------------------------------------------------- DOT


def to_dot(
    z: GraphLike,
    *,
    max_nodes: int | None = None,
    gradients: Mapping[Node, float] | None = None,
    caption: str = "",
) -> str:
    """``z``'s graph in graphviz DOT: every id and label quoted and escaped.

    Each vertex shows its label (or op), its kind, its value and its gradient ∂z/∂v.
    An op vertex is an HTML-like table with one row per argument, on its left: the edge
    from that argument ends there (port ``a<first position>``, entered from the west),
    and the row shows the argument position(s), the local derivative ∂op/∂arg and the
    gradient the edge carries back (grad of the op × local derivative), so the chain rule
    can be read off the picture and every number sits where its edge arrives. Exact
    values ride along as the extra attributes ``op``, ``name``, ``data``, ``grad``
    (vertices) and ``positions``, ``partial``, ``flow`` (edges), written with ``repr`` so
    nothing is lost.

    With ``max_nodes``, a larger graph is collapsed: the ``max_nodes`` vertices nearest
    the output are drawn and the rest become one dashed "hidden" vertex.

    ``gradients`` shows other gradients than ∂z/∂v: for instance the tape's last
    ``backward()``, from an output downstream of ``z``, as ``node.grad`` reads them (a vertex
    it lacks shows 0). Then ``z`` is drawn as what it is (an input or an op), not as the
    output, and each edge's ``grad ←`` is that gradient times the local derivative.
    ``caption`` is a line of text over the picture.

    >>> from fnad import Node
    >>> x = Node(2.0, label="x")
    >>> print(to_dot(x * 3))  # doctest: +NORMALIZE_WHITESPACE
    digraph fnad {
      graph [rankdir=LR, fontname="Helvetica", schema="fnad.graph", version="1"];
      node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];
      edge [fontname="Helvetica", fontsize=9, color="#475569"];
      "v0" [label="x\\ninput\\ndata 2\\ngrad 3", fillcolor="#dbeafe", op="", name="x", data="2.0", grad="3.0"];
      "v1" [label="3\\nconst\\ndata 3", fillcolor="#f1f5f9", op="const", name="", data="3.0", grad="2.0"];
      "v2" [label=<<table border="0" cellborder="0" cellspacing="0" cellpadding="4" color="#94a3b8">
        <tr><td port="a0" border="1" sides="RB" align="left" balign="left"><font point-size="9">arg 0<br/>local ∂ 3<br/>grad ← 3</font></td><td rowspan="2">mul<br/>output<br/>data 6<br/>grad 1</td></tr>
        <tr><td port="a1" border="1" sides="R" align="left" balign="left"><font point-size="9">arg 1<br/>const</font></td></tr>
      </table>>, fillcolor="#fef3c7", margin=0, penwidth=2, op="mul", name="", data="6.0", grad="1.0"];
      "v0" -> "v2":a0:w [positions="0", partial="3.0", flow="3.0"];
      "v1" -> "v2":a1:w [positions="1", partial="2.0", flow="2.0"];
    }
    """
    snap = snapshot(z)
    is_output = gradients is None
    if gradients is not None:
        if snap.nodes is None:
            raise OperandTypeError(
                f"to_dot: gradients= are looked up by Node, and {type(z).__name__} holds no "
                "Nodes; pass the output Node (prog.as_node() records one)"
            )
        snap = attrs.evolve(snap, grads=[gradients.get(node, 0.0) for node in snap.nodes])
    total = len(snap)
    shown: list[int] | None = None  # None: draw every vertex
    if max_nodes is not None and total > max_nodes:
        shown = _nearest(snap, max(1, max_nodes))
    lines = _header(total, shown, caption)
    edges: list[str] = []
    hidden: list[tuple[int, int]] = []  # (target, port) of each argument not drawn
    visible = None if shown is None else set(shown)
    for vertex in range(total) if shown is None else shown:
        arguments = _arguments(snap, vertex)
        lines.append(_vertex_line(snap, vertex, arguments, is_output))
        for source, positions, partial, flow in arguments:
            if visible is not None and source not in visible:
                hidden.append((vertex, positions[0]))
                continue
            edges.append(
                f'  "v{source}" -> "v{vertex}":a{positions[0]}:w '
                f'[positions="{",".join(map(str, positions))}", '
                f'partial="{partial!r}", flow="{flow!r}"];'
            )
    lines.extend(edges)
    if shown is not None:
        lines.extend(_hidden_lines(total - len(shown), hidden))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _nearest(snap: Snapshot, limit: int) -> list[int]:
    """The ``limit`` vertices closest to the output (breadth first over arguments)."""
    kept = {snap.output}
    queue = deque([snap.output])
    while queue and len(kept) < limit:
        for vertex in snap.arguments(queue.popleft()):
            if vertex not in kept:
                kept.add(vertex)
                queue.append(vertex)
                if len(kept) >= limit:
                    break
    return sorted(kept)


def _header(total: int, shown: list[int] | None, text: str = "") -> list[str]:
    """The ``digraph`` line and the default attributes; a caption when collapsed."""
    notes = [text] if text else []
    if shown is not None:
        notes.append(f"showing {len(shown)} of {total:,} vertices, those nearest the output")
    caption = f", labelloc=t, label={dot_quote(chr(10).join(notes))}" if notes else ""
    return [
        "digraph fnad {",
        f'  graph [rankdir=LR, fontname="Helvetica", schema="{SCHEMA}", '
        f'version="{SCHEMA_VERSION}"{caption}];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#475569"];',
    ]


def _kind(snap: Snapshot, vertex: int, is_output: bool = True) -> str:
    """``"output"``, ``"input"``, ``"const"`` or ``"op"``: the key of :data:`FILL`."""
    if vertex == snap.output and is_output:
        return "output"
    if not snap.arguments(vertex):
        return "const" if snap.ops[vertex] == CONST else "input"
    return "op"


Argument = tuple[int, tuple[int, ...], float, float]
"""One argument of an op vertex: (source vertex, positions, local derivative, flow)."""


def _arguments(snap: Snapshot, vertex: int) -> list[Argument]:
    """The distinct arguments of ``vertex``, in the order of their first position."""
    return [(u, positions, p, f) for u, _, positions, p, f in snap.edges((vertex,))]


def _vertex_line(
    snap: Snapshot, vertex: int, arguments: list[Argument], is_output: bool = True
) -> str:
    """One vertex: title, kind (and op), value and gradient, plus the exact values.

    An op vertex is a table: one row per argument on its left, where that argument's edge
    ends (port ``a<first position>``), with the local derivative and the gradient it sends
    back; so each number sits where its edge arrives, never between crossing edges.
    """
    node = snap.vertex(vertex)
    kind = _kind(snap, vertex, is_output)
    title = vertex_title(node, vertex)
    op = shorten(node.op)
    second = kind if kind != "op" else ("" if title == op else f"op {op}")
    if kind == "output" and title != op and arguments:
        second = f"output, op {op}"
    grad = snap.grads[vertex]
    # Constants are not variables: backward gives them no gradient, and nor does the picture.
    shown = "" if kind == "const" else f"grad {number(grad)}"
    parts = (title, second, f"data {number(node.data)}", shown)
    text = "\n".join(part for part in parts if part)
    if arguments:
        constants = {u for u, *_ in arguments if snap.ops[u] == CONST}
        several = len(arguments) > 1 or len(arguments[0][1]) > 1  # arguments, not edges
        label = "<" + _table(text, arguments, several, constants) + ">"
        extra = ", margin=0"
    else:
        label = dot_quote(text)
        extra = ""
    extra += ", penwidth=2" if vertex == snap.output else ""
    return (
        f'  "v{vertex}" [label={label}, fillcolor="{FILL[kind]}"{extra}, '
        f"op={dot_quote(shorten(node.op, MAX_ATTRIBUTE_CHARS))}, "
        f"name={dot_quote(shorten(node.label, MAX_ATTRIBUTE_CHARS))}, "
        f'data="{node.data!r}", grad="{grad!r}"];'
    )


def _table(text: str, arguments: list[Argument], several: bool, constants: set[int]) -> str:
    """An op vertex's HTML-like label: a row per argument, beside the vertex's own text
    (a constant argument's row says so, with no derivative: nothing flows back to it)."""
    rows = []
    for i, (source, positions, partial, flow) in enumerate(arguments):
        if source in constants:
            lines = ["const"]
        else:
            lines = [f"local ∂ {number(partial)}", f"grad ← {number(flow)}"]
        if several:
            which = "args " if len(positions) > 1 else "arg "
            lines.insert(0, which + ",".join(map(str, positions)))
        sides = "RB" if i < len(arguments) - 1 else "R"  # lines between the rows
        cell = (
            f'<td port="a{positions[0]}" border="1" sides="{sides}" align="left" '
            f'balign="left"><font point-size="9">{"<br/>".join(lines)}</font></td>'
        )
        if not i:
            cell += f'<td rowspan="{len(arguments)}">{html_text(text)}</td>'
        rows.append(f"    <tr>{cell}</tr>\n")
    return (
        '<table border="0" cellborder="0" cellspacing="0" cellpadding="4" color="#94a3b8">\n'
        + "".join(rows)
        + "  </table>"
    )


def _hidden_lines(hidden: int, ports: list[tuple[int, int]]) -> list[str]:
    """The dashed vertex standing for the ``hidden`` vertices not drawn, and its edges."""
    note = (
        f"… {hidden:,} more vertices\n(pass a larger max_nodes to draw them,\n"
        "or analyse the export with networkx)"
    )
    return [
        f'  "hidden" [label={dot_quote(note)}, style="dashed,rounded", fillcolor="#ffffff"];',
        *(f'  "hidden" -> "v{t}":a{port}:w [style=dashed];' for t, port in ports),
    ]


# --------------------------------------------------------------------------- SVG


@overload
def render(
    z: GraphLike, path: None = None, *, max_nodes: int = ..., collapse: bool = ...
) -> Drawing: ...
@overload
def render(
    z: GraphLike, path: str | os.PathLike[str], *, max_nodes: int = ..., collapse: bool = ...
) -> Path: ...
def render(
    z: GraphLike,
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
        total = len(snapshot(z))
        if total > max_nodes:
            raise GraphSizeError(
                f"render: the graph of this output has {total:,} vertices, above "
                f"max_nodes={max_nodes:,}; a drawing that large is unreadable and slow to lay "
                "out. Pass collapse=True to draw the vertices nearest the output, raise "
                "max_nodes, or analyse it with fnad.to_networkx(z)"
            )
    drawing = Drawing(to_dot(z, max_nodes=max_nodes))
    return drawing if path is None else drawing.save(path)


def to_svg(z: GraphLike, *, max_nodes: int = MAX_RENDER_NODES, collapse: bool = True) -> bytes:
    """The SVG :func:`render` draws, as bytes (the same limits and errors).

    >>> from fnad import Node
    >>> to_svg(Node(1.0) * 2, max_nodes=0)
    Traceback (most recent call last):
    ...
    fnad.errors.GraphSizeError: render: max_nodes must be a positive int, got 0
    """
    return render(z, max_nodes=max_nodes, collapse=collapse).svg.encode("utf-8")


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
            f"graphviz's dot failed with exit status {error.returncode}: "
            f"{printable(' '.join(detail.split()))[:500] or 'no message'}; "
            "please report this with the graph (fnad.to_json(z))"
        ) from None
    except OSError as error:  # dot died before reading its input: a broken pipe
        raise RenderError(
            f"graphviz's dot could not be run on this graph ({type(error).__name__}: "
            f"{error.strerror or error}); please report this with the graph (fnad.to_json(z))"
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
    return format_of(
        path,
        FORMATS,
        "cannot draw a graph into",
        "a format fnad draws",
        "name the file .svg, .png or .pdf (or write DOT text with fnad.to_dot)",
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
