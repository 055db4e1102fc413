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
import re
import sys
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

from fnad.compiled import Program, ValueAndGrad
from fnad.engine import Gradients, Node, Tape, set_display_hook
from fnad.errors import FnadError, RenderError
from fnad.graph.snapshot import snapshot
from fnad.viz.explain import Explanation
from fnad.viz.render import (
    MAX_RENDER_NODES,
    Drawing,
    dot_to_svg,
    printable,
    render,
    shorten,
    to_dot,
)
from fnad.viz.summary import summarize, summary_to_dot

__all__ = [
    "GRADIENT_ROWS",
    "PRESETS_LAYER",
    "TEXT_VERTICES",
    "graph_text",
    "last_backward",
    "mime_bundle",
    "node_svg",
    "register_ipython",
]

TEXT_VERTICES = 40
"""How many vertices (nearest the output) the text form of a graph lists."""

GRADIENT_ROWS = 20
"""How many inputs the table of a :class:`~fnad.Gradients` lists."""

PRESETS_LAYER = re.compile(r"L\d+")
"""A group name of the "layer" grouping: an nn network's layer."""

_SVG = "image/svg+xml"
_HTML = "text/html"


# --------------------------------------------------------------------------- text


def _number(value: float) -> str:
    return f"{value + 0.0:.6g}"  # 0, never -0, for people


def graph_text(
    z: Node, limit: int = TEXT_VERTICES, *, gradients: Mapping[Node, float] | None = None
) -> str:
    """``z``'s graph as text, one vertex a line: the ``limit`` vertices recorded last.

    Each line shows the vertex id (as in :func:`fnad.to_networkx`), its label or its op
    with its arguments in order, its value and its gradient ∂z/∂vertex (or, given
    ``gradients``, the gradient they hold for it, 0 if none: see :func:`fnad.render.to_dot`).
    Labels are shortened and escaped as in pictures.
    """
    snap = snapshot(z)
    total = len(snap)
    first = max(0, total - limit)
    rows: list[tuple[str, str, str, str]] = []
    for vertex in range(first, total):
        label = printable(shorten(snap.labels[vertex]))
        op = printable(shorten(snap.ops[vertex]))
        if op == "":
            name, kind = label, "input"
        elif op == "const":
            name, kind = label or _number(snap.values[vertex]), "const"
        else:
            arguments = sorted(
                (position, source)
                for source, _, positions, _, _ in snap.edges((vertex,))
                for position in positions
            )
            name = f"{op}({', '.join(f'v{source}' for _, source in arguments)})"
            kind = f'"{label}"' if label else ""
        grad = snap.grads[vertex]
        if gradients is not None and snap.nodes is not None:
            grad = gradients.get(snap.nodes[vertex], 0.0)
        values = f"data {_number(snap.values[vertex])}  grad {_number(grad)}"
        rows.append((f"v{vertex}", name, kind, values))
    width = max(len(name) for _, name, _, _ in rows)
    lines = [] if not first else [f"… {first:,} earlier vertices (of {total:,}) not listed"]
    lines.extend(
        f"{vertex:<3} {name:<{width}} {kind:<6}  {values}" for vertex, name, kind, values in rows
    )
    if gradients is None:
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
    whose graph cannot be drawn falls back to text, and one whose tape was closed (or whose
    graph fails in any other way) to its plain ``repr``.
    """
    try:
        if isinstance(obj, Node):
            return _node_bundle(obj, include, exclude)
        if isinstance(obj, Gradients) and _wanted(_HTML, include, exclude):
            return {_HTML: _gradients_html(obj), "text/plain": repr(obj)}
    except Exception:
        return None
    return None


def _node_bundle(
    z: Node, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, Any] | None:
    note = ""
    recorded = last_backward(z)
    if _wanted(_SVG, include, exclude):
        try:
            return {_SVG: node_svg(z, recorded), "text/plain": repr(z)}
        except RenderError as error:
            note = f"{error} — showing the graph as text instead."
        except Exception as error:
            note = f"the graph could not be drawn ({type(error).__name__}) — showing it as text."
    if _wanted(_HTML, include, exclude):
        gradients = None if recorded is None else recorded[0]
        if recorded is not None:
            note = (note + " " if note else "") + _recorded_caption(recorded[1])
        return {_HTML: _pre(graph_text(z, gradients=gradients), note), "text/plain": repr(z)}
    return None


def last_backward(z: Node) -> tuple[Mapping[Node, float], Node] | None:
    """The gradients of the tape's last ``backward()`` and its output, when that output is
    not ``z`` (so ``z``'s own picture, which takes ``z`` as the output, would contradict
    ``node.grad``); else None."""
    recorded: Mapping[Node, float] = z.tape._grads  # what node.grad reads
    if not recorded:
        return None
    position = z.tape.position
    output = max(recorded, key=position)  # every other vertex is its ancestor: recorded before
    return None if output is z else (recorded, output)


def _recorded_caption(output: Node) -> str:
    name = shorten(output.label or output.op or "an input")
    return (
        f"grad = ∂f/∂v for f = {name} (data {_number(output.data)}), the output of the last "
        "backward(), as node.grad reads it"
    )


def node_svg(z: Node, recorded: tuple[Mapping[Node, float], Node] | None = None) -> str:
    """The SVG a notebook shows for ``z``: its graph as :func:`fnad.render` draws it, with the
    gradients of ``recorded`` (:func:`last_backward`) if given; an nn network's graph above
    ``MAX_RENDER_NODES`` vertices as its summary by layer (:func:`fnad.summarize`)."""
    total = len(z.tape.backward_order(z))
    if total > MAX_RENDER_NODES:
        summary = summarize(z, by="layer")
        if any(PRESETS_LAYER.fullmatch(name) for name in summary):
            caption = (
                f"{total:,} vertices, too many to draw one by one: grouped by layer "
                f"(fnad.summarize(z, by='layer')); fnad.render(z) draws the "
                f"{MAX_RENDER_NODES} nearest the output"
            )
            return dot_to_svg(summary_to_dot(summary, caption=caption)).decode("utf-8")
    if recorded is None:
        return render(z).svg
    dot = to_dot(
        z,
        max_nodes=MAX_RENDER_NODES,
        gradients=recorded[0],
        caption=_recorded_caption(recorded[1]),
    )
    return Drawing(dot).svg


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


def _names(names: list[str], shown: int = 5) -> str:
    """The first ``shown`` names, escaped and shortened, and how many more there are."""
    listed = ", ".join(printable(shorten(name)) for name in names[:shown])
    return listed + (f", … {len(names) - shown:,} more" if len(names) > shown else "")


def _program_html(program: Program) -> str:
    inputs = list(program.inputs.items())
    rows = [(printable(shorten(name)), _number(value)) for name, value in inputs[:GRADIENT_ROWS]]
    more = len(inputs) - len(rows)
    footer = f"<div>… and {more:,} more inputs</div>" if more > 0 else ""
    title = (
        f"fnad.Program with {len(inputs):,} input{'s' if len(inputs) != 1 else ''} "
        f"({_names([name for name, _ in inputs])})"
    )
    return (
        f"<div><code>{html.escape(title)}</code>: value {_number(program.value)} at "
        "the stored inputs; call it, or .value_and_grad(name=value, …)</div>"
        + _table(("input", "stored value"), rows)
        + footer
    )


def _value_and_grad_html(result: ValueAndGrad) -> str:
    grads = list(result.grads.items())
    rows = [(printable(shorten(name)), _number(grad)) for name, grad in grads[:GRADIENT_ROWS]]
    more = len(grads) - len(rows)
    footer = f"<div>… and {more:,} more inputs</div>" if more > 0 else ""
    return (
        f"<div>value {html.escape(_number(result.value))}; the gradient, ∂value/∂input:</div>"
        + _table(("input", "gradient"), rows)
        + footer
    )


def _adam_state(optimizer: Any) -> str:
    state = f"{len(optimizer.m):,} parameters" if optimizer.m else "no step taken yet"
    return (
        f"Adam(lr={optimizer.lr!r}, beta1={optimizer.beta1!r}, beta2={optimizer.beta2!r}, "
        f"eps={optimizer.eps!r}, t={optimizer.t!r}; moments of {state})"
    )


def _adam_html(optimizer: Any) -> str:
    return f"<code>{html.escape(_adam_state(optimizer))}</code>"


def _adam_text(optimizer: Any, printer: Any, cycle: bool) -> None:
    printer.text(_adam_state(optimizer))


def _explanation_html(explanation: Explanation) -> str:
    return _pre(str(explanation))


def _explanation_text(explanation: Explanation, printer: Any, cycle: bool) -> None:
    printer.text(str(explanation))


def _mlp_html(model: Any) -> str:
    rows = []
    for index, layer in enumerate(model.layers):
        activation = str(layer.neurons[0].activation).replace("relu", "ReLU")
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
    formatters[_HTML].for_type(ValueAndGrad, _value_and_grad_html)
    formatters[_HTML].for_type_by_name("fnad.nn.optim", "Adam", _adam_html)
    formatters["text/plain"].for_type_by_name("fnad.nn.optim", "Adam", _adam_text)
    return True


set_display_hook(mime_bundle)
register_ipython()
