"""Rich display in Jupyter: a Node shows its graph, the other values a compact summary.

In a notebook, a cell that ends with

- a :class:`~fnad.Node` shows the Node's graph as SVG, drawn by :func:`fnad.render` (values,
  gradients, local derivatives; collapsed above ``fnad.render.MAX_RENDER_NODES`` vertices as
  ``render`` does). Without graphviz it shows the vertices nearest the output as text, and
  says how to get the picture;
- :class:`~fnad.Gradients` shows a table of the inputs' gradients;
- a :class:`~fnad.Tape`, a :class:`~fnad.Program`, an :class:`~fnad.Explanation` or a
  ``fnad.nn.MLP`` shows a short HTML summary (and an Explanation its text, not its fields).

``fnad.render(z)`` itself returns a :class:`fnad.render.Drawing`, which displays inline.

How it plugs in, with dependencies pointing one way (core never imports the renderer):
``Node`` and ``Gradients`` have ``_repr_mimebundle_``, Jupyter's display protocol, which
asks a hook that this module installs with :func:`fnad.engine.node.set_display_hook` when fnad is
imported. Tape, Program, Explanation and MLP are registered with IPython's display
formatters (``for_type``, IPython's API for showing types one does not own) when fnad is
imported inside IPython, or when :func:`register_ipython` is called. Nothing here runs, and
nothing is imported from IPython, outside a notebook.

>>> import fnad
>>> with fnad.Tape():
...     x = fnad.Node(2.0, label="x")
...     y = x * x
>>> print(graph_text(y))
v0  x       input         data 2  grad 4
v1  mul(v0, v0)           data 4  grad 1  (output)
"""

from __future__ import annotations

import contextlib
import html
import sys
from collections.abc import Callable, Container, Iterable
from typing import Any

from fnad.compiled import Program
from fnad.engine import Gradients, Node, Tape, set_display_hook
from fnad.errors import FnadError, RenderError
from fnad.graph.writer import to_networkx
from fnad.viz.explain import Explanation
from fnad.viz.render import render

__all__ = ["GRADIENT_ROWS", "TEXT_VERTICES", "graph_text", "mime_bundle", "register_ipython"]

TEXT_VERTICES = 40
"""How many vertices (nearest the output) the text form of a graph lists."""

GRADIENT_ROWS = 20
"""How many inputs the table of a :class:`~fnad.Gradients` lists."""

_SVG = "image/svg+xml"
_HTML = "text/html"


# --------------------------------------------------------------------------- text


def _number(value: float) -> str:
    return f"{value:.6g}"


def graph_text(z: Node, limit: int = TEXT_VERTICES) -> str:
    """``z``'s graph as text, one vertex a line: the ``limit`` vertices recorded last.

    Each line shows the vertex id (as in :func:`fnad.to_networkx`), its label or its op
    with its arguments in order, its value and its gradient ∂z/∂vertex.
    """
    graph = to_networkx(z)
    total = graph.number_of_nodes()
    first = max(0, total - limit)
    rows: list[tuple[str, str, str, str]] = []
    for vertex in range(first, total):
        attributes = graph.nodes[vertex]
        op, label = attributes["op"], attributes["label"]
        if op == "":
            name, kind = label, "input"
        elif op == "const":
            name, kind = label or _number(attributes["data"]), "const"
        else:
            arguments: list[tuple[int, int]] = []
            for source in graph.predecessors(vertex):
                positions: tuple[int, ...] = graph.edges[source, vertex]["positions"]
                arguments.extend((position, source) for position in positions)
            name = f"{op}({', '.join(f'v{source}' for _, source in sorted(arguments))})"
            kind = f'"{label}"' if label else ""
        grad = attributes.get("grad")  # constants may carry none
        values = f"data {_number(attributes['data'])}" + (
            "" if grad is None else f"  grad {_number(grad)}"
        )
        rows.append((f"v{vertex}", name, kind, values))
    width = max(len(name) for _, name, _, _ in rows)
    lines = [] if not first else [f"… {first:,} earlier vertices (of {total:,}) not listed"]
    lines.extend(
        f"{vertex:<3} {name:<{width}} {kind:<6}  {values}" for vertex, name, kind, values in rows
    )
    lines[-1] += "  (output)"
    return "\n".join(lines)


def _pre(text: str, note: str = "") -> str:
    footer = f'<div style="color:#64748b">{html.escape(note)}</div>' if note else ""
    return f"<pre>{html.escape(text)}</pre>{footer}"


# --------------------------------------------------------------------------- Node, Gradients


def _wanted(mime: str, include: Container[str] | None, exclude: Container[str] | None) -> bool:
    return (not include or mime in include) and not (exclude and mime in exclude)


def mime_bundle(
    obj: object, include: Container[str] | None = None, exclude: Container[str] | None = None
) -> dict[str, Any] | None:
    """Jupyter's display data for a Node (its graph) or Gradients (a table), else None.

    The hook :mod:`fnad.engine.node` calls from ``_repr_mimebundle_``. It never raises: a node
    whose graph cannot be drawn falls back to text, and one whose tape was closed to its
    plain ``repr``.
    """
    try:
        if isinstance(obj, Node):
            return _node_bundle(obj, include, exclude)
        if isinstance(obj, Gradients) and _wanted(_HTML, include, exclude):
            return {_HTML: _gradients_html(obj), "text/plain": repr(obj)}
    except FnadError:  # e.g. a closed tape: there is no graph left to show
        return None
    return None


def _node_bundle(
    z: Node, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, Any] | None:
    note = ""
    if _wanted(_SVG, include, exclude):
        try:
            return {_SVG: render(z).svg, "text/plain": repr(z)}
        except RenderError as error:
            note = f"{error} — showing the graph as text instead."
    if _wanted(_HTML, include, exclude):
        return {_HTML: _pre(graph_text(z), note), "text/plain": repr(z)}
    return None


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _gradients_html(grads: Gradients[Any]) -> str:
    inputs = [node for node in grads if node.op == ""]
    with contextlib.suppress(FnadError):  # a closed tape has no order left: keep grads'
        inputs.sort(key=grads.output.tape.position)
    rows = []
    for node in inputs[:GRADIENT_ROWS]:
        grad = grads[node]
        value = grad.data if isinstance(grad, Node) else grad
        rows.append((node.label or "(unlabelled)", _number(node.data), _number(value)))
    more = len(inputs) - len(rows)
    title = (
        f"Gradients of {grads.output!r}: ∂/∂v for {len(grads):,} nodes; "
        f"the {len(inputs):,} input{'s' if len(inputs) != 1 else ''}:"
    )
    footer = f"<div>… and {more:,} more inputs</div>" if more > 0 else ""
    return f"<div>{html.escape(title)}</div>" + _table(("input", "data", "gradient"), rows) + footer


# --------------------------------------------------------------------------- summaries


def _tape_html(tape: Tape) -> str:
    state = "closed" if tape.closed else "its graph is tape.graph, a networkx.DiGraph"
    return f"<code>{html.escape(repr(tape))}</code>: {html.escape(state)}"


def _program_html(program: Program) -> str:
    rows = [(name, _number(value)) for name, value in program.inputs.items()]
    return (
        f"<div><code>{html.escape(repr(program))}</code>: value {_number(program.value)} at "
        "the stored inputs; call it, or .value_and_grad(name=value, …)</div>"
        + _table(("input", "stored value"), rows)
    )


def _explanation_html(explanation: Explanation) -> str:
    return _pre(str(explanation))


def _explanation_text(explanation: Explanation, printer: Any, cycle: bool) -> None:
    printer.text(str(explanation))


def _mlp_html(model: Any) -> str:
    rows = []
    for index, layer in enumerate(model.layers):
        activation = "ReLU" if layer.neurons[0].nonlin else "linear"
        count = len(layer.parameters())
        rows.append((f"L{index}", str(layer.nin), str(layer.nout), activation, f"{count:,}"))
    total = len(model.parameters())
    kind = "traced: parameters are Nodes" if type(model.parameters()[0]) is Node else "floats"
    return (
        f"<div><code>{html.escape(repr(model))}</code>: {total:,} parameters ({kind})</div>"
        + _table(("layer", "inputs", "neurons", "activation", "parameters"), rows)
    )


def register_ipython(display_formatter: Any = None) -> bool:
    """Register the HTML summaries with IPython's display formatters; True if done.

    ``display_formatter`` defaults to the running IPython shell's; without one (no IPython
    running) nothing happens. fnad calls this when it is imported.
    """
    if display_formatter is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is None:
            return False
        display_formatter = shell.display_formatter
    formatters = display_formatter.formatters
    summaries: list[tuple[type[Any], Callable[..., str]]] = [
        (Tape, _tape_html),
        (Program, _program_html),
        (Explanation, _explanation_html),
    ]
    for kind, summary in summaries:
        formatters[_HTML].for_type(kind, summary)
    formatters["text/plain"].for_type(Explanation, _explanation_text)
    # fnad.nn is imported on demand: register MLP by name, so this does not import it.
    formatters[_HTML].for_type_by_name("fnad.nn.model", "MLP", _mlp_html)
    return True


set_display_hook(mime_bundle)
register_ipython()
