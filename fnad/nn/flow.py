"""Gradient flow statistics of :mod:`fnad.nn` networks: per layer, per neuron, step after step.

What people ask of a network's gradients: how much reaches each layer, which ReLU units
pass none at all (dead), and whether the gradient shrinks or grows from layer to layer
(vanishing or exploding). :func:`flow_stats` answers from one step's graph, in one call
after ``loss.backward()``:

>>> import fnad
>>> from fnad.nn import MLP, hinge_loss
>>> from fnad.nn.flow import flow_stats
>>> with fnad.Tape():
...     net = MLP(2, [4, 4, 1], seed=1).trace()
...     loss = hinge_loss([net((1.0, -1.0)), net((0.5, 2.0))], [1, -1])
...     stats = flow_stats(net, loss.backward())
>>> print(stats)
gradient flow of a loss of 1.42044 over 2 samples
layer  units     mean|∂w|   max|∂w|   mean|∂b|  max|∂b|   ‖∂‖       ratio  dead
L0     4 relu    0.289803   0.62255   0.285093  0.62255   1.32854   1.67   0 of 4 (0%)
L1     4 relu    0.0632922  0.479159  0.206788  0.470959  0.796452  1.07   1 of 4 (25%)
L2     1 linear  0.282609   0.55804   0         0         0.747144  –      –
>>> stats.layers[1].dead, stats.layers[-1].ratio
(1, None)

``ratio`` is ‖∂loss/∂(layer i)‖ / ‖∂loss/∂(layer i+1)‖ (norms over all the parameters of a
layer): how the gradient's size changes as it flows back one layer. Far below 1 layer after
layer, the gradient vanishes before it reaches the first layers; far above 1, it explodes.
A ReLU unit is *dead* on the batch when its relu passes no gradient for any sample (its
input is ≤ 0 every time): its incoming weights get no gradient from the data.

Over training, keep one value per step (a list is enough) and draw them with
:func:`plot_flow`; :func:`flow_step` is :func:`fnad.nn.train_step` that also returns the
step's statistics, and ``fnad demo --flow flow.png`` does it for the moons demo.

The statistics read the step's graph through public API only: the gradients ``backward()``
returned, the tape's vertices in recording order, and :func:`fnad.viz.summary.place`'s rules
to find the relu vertices of each neuron. The cost is one pass over the tape (a few percent
of a training step), nothing recursive.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import attrs

from fnad._internal import format_of
from fnad.engine import Gradients, Node, Tape
from fnad.errors import OperandTypeError, RenderError, TapeError
from fnad.graph.schema import encode_float
from fnad.nn.losses import accuracy, hinge_loss, l2
from fnad.nn.model import MLP
from fnad.nn.training import StepResult, step_program
from fnad.viz.render import number
from fnad.viz.summary import GradStats, euclidean_norm, place

__all__ = [
    "FLOW_PLOT_SIZE",
    "FlowStats",
    "GradStats",
    "LayerFlow",
    "NeuronFlow",
    "flow_stats",
    "flow_step",
    "history_as_dict",
    "plot_flow",
]

FLOW_PLOT_SIZE = (640, 560)
"""Width and height of the :func:`plot_flow` PNG, in pixels."""
_DPI = 100


# --------------------------------------------------------------------------- values


@attrs.frozen
class NeuronFlow:
    """One neuron on one batch: its gradients and how often its relu let gradient through."""

    name: str
    """``L1.N3``: neuron 3 of layer 1, as in the parameters' labels."""
    weights: GradStats
    bias: float
    """∂loss/∂b."""
    relu: bool
    """Whether a relu follows (hidden neurons) or not (the linear output)."""
    active: int
    """For how many of its relu evaluations the relu passed gradient (input > 0)."""
    evaluations: int
    """How many times the batch evaluated its relu (the number of samples); 0 if linear."""

    @property
    def dead(self) -> bool:
        """A relu unit that passed no gradient for any sample of the batch."""
        return self.relu and self.active == 0


@attrs.frozen
class LayerFlow:
    """One layer on one batch."""

    name: str
    """``L0``, ``L1``, …"""
    relu: bool
    units: int
    """Its number of neurons."""
    weights: GradStats
    biases: GradStats
    norm: float
    """‖∂loss/∂(every weight and bias of the layer)‖."""
    ratio: float | None
    """``norm`` / the next layer's ``norm`` (IEEE: inf or nan when that is 0); None for the
    last layer. Far below 1: the gradient shrinks flowing back one layer (vanishing); far
    above: it grows (exploding)."""
    dead: int
    """How many of its relu units are dead on the batch (0 for a linear layer)."""
    neurons: tuple[NeuronFlow, ...] = ()
    """Per neuron, when :func:`flow_stats` was asked for them."""

    @property
    def dead_fraction(self) -> float | None:
        """``dead / units`` for a relu layer, None for a linear one."""
        return self.dead / self.units if self.relu else None


@attrs.frozen
class FlowStats:
    """The gradient flow of one step: a :class:`LayerFlow` per layer, input side first."""

    layers: tuple[LayerFlow, ...]
    loss: float
    """The value of the loss differentiated."""
    samples: int
    """Evaluations per relu unit: the batch size (0 for a network without relu)."""

    def __str__(self) -> str:
        lines = [f"gradient flow of a loss of {number(self.loss)} over {self.samples:,} samples"]
        rows = [["layer", "units", "mean|∂w|", "max|∂w|", "mean|∂b|", "max|∂b|", "‖∂‖"]]
        tails = [["ratio", "dead"]]
        for layer in self.layers:
            rows.append(
                [
                    layer.name,
                    f"{layer.units} {'relu' if layer.relu else 'linear'}",
                    number(layer.weights.mean_abs),
                    number(layer.weights.max_abs),
                    number(layer.biases.mean_abs),
                    number(layer.biases.max_abs),
                    number(layer.norm),
                ]
            )
            fraction = layer.dead_fraction
            tails.append(
                [
                    "–" if layer.ratio is None else f"{layer.ratio:.3g}",
                    "–" if fraction is None else f"{layer.dead} of {layer.units} ({fraction:.0%})",
                ]
            )
        table = [row + tail for row, tail in zip(rows, tails, strict=True)]
        widths = [max(len(row[k]) for row in table) for k in range(len(table[0]))]
        for k, row in enumerate(table):
            lines.append(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
            layer_index = k - 1
            if layer_index >= 0:
                lines.extend(_neuron_lines(self.layers[layer_index]))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every number (non-finite ones as strings, as fnad's JSON)."""
        layers = []
        for layer in self.layers:
            entry = attrs.asdict(layer, recurse=True)
            entry["dead_fraction"] = layer.dead_fraction
            if not layer.neurons:
                del entry["neurons"]
            else:
                for neuron, data in zip(layer.neurons, entry["neurons"], strict=True):
                    data["dead"] = neuron.dead
            layers.append(entry)
        result: dict[str, Any] = _jsonable(
            {"loss": self.loss, "samples": self.samples, "layers": layers}
        )
        return result


def _neuron_lines(layer: LayerFlow) -> list[str]:
    lines = []
    for neuron in layer.neurons:
        if neuron.relu:
            activity = f"relu passed gradient for {neuron.active} of {neuron.evaluations}"
            activity += " (dead)" if neuron.dead else ""
        else:
            activity = "linear"
        lines.append(
            f"  {neuron.name}: mean|∂w| {number(neuron.weights.mean_abs)}, "
            f"max|∂w| {number(neuron.weights.max_abs)}, ∂b {number(neuron.bias)}; {activity}"
        )
    return lines


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def history_as_dict(history: Sequence[FlowStats]) -> dict[str, Any]:
    """A run's statistics as one JSON-ready dict: ``{"layers": [names], "steps": [...]}``,
    where ``steps[k]`` is ``history[k].as_dict()`` (what ``fnad demo --json`` prints under
    ``"flow"``)."""
    names = [layer.name for layer in history[0].layers] if history else []
    return {"layers": names, "steps": [stats.as_dict() for stats in history]}


# --------------------------------------------------------------------------- computing


def flow_stats(net: MLP[Node], grads: Gradients[float], *, neurons: bool = False) -> FlowStats:
    """The gradient flow of one step, from a traced network and ``loss.backward()``.

    ``net`` is the network traced for this step (``model.trace()``) and ``grads`` what
    ``loss.backward()`` returned. With ``neurons=True`` each layer also lists its neurons.
    Nothing is recorded and the gradients are not recomputed.
    """
    if not isinstance(net, MLP) or not all(type(p) is Node for p in net.parameters()):
        raise OperandTypeError(
            f"flow_stats: expected the traced network of this step (model.trace()), got "
            f"{net!r:.60}; trace the model inside the step's tape block and pass it"
        )
    if not isinstance(grads, Gradients):
        raise OperandTypeError(
            f"flow_stats: expected the result of loss.backward(), got {type(grads).__name__}; "
            "pass grads = loss.backward()"
        )
    loss = grads.output
    tape = loss.tape
    if type(grads[loss]) is not float:
        raise OperandTypeError(
            "flow_stats: these gradients are Nodes (backward(create_graph=True)); pass the "
            "float gradients of loss.backward()"
        )
    if tape.closed:
        raise TapeError(
            f"flow_stats: {tape!r} was closed, so the step's graph is gone; call flow_stats "
            "inside the step, before the tape is closed (fnad.flow.flow_step does)"
        )
    parameters: list[Node] = list(net.parameters())
    if parameters[0].tape is not tape:
        raise TapeError(
            f"flow_stats: the network was traced on another tape than the loss {loss!r}; pass "
            "the network traced in the same step as the loss"
        )

    # Which neuron each parameter belongs to, in parameters() order.
    owner: dict[Node, str] = {}
    for i, layer in enumerate(net.layers):
        for j, neuron in enumerate(layer.neurons):
            for p in neuron.parameters():
                owner[p] = f"L{i}.N{j}"

    # The loss's ancestors in recording order (a topological order), grouped by neuron with
    # the placement rules of fnad.summary, to find the relu vertices of each neuron.
    ancestors = tape.ancestors_graph(loss)  # constants too, which get no gradient
    order = [node for node in tape.graph if node in ancestors]
    groups = place(order, owner, attrgetter("inputs"), attrgetter("op"))
    active: dict[str, int] = {}
    evaluations: dict[str, int] = {}
    for node, group in groups.items():
        if node.op == "relu":
            evaluations[group] = evaluations.get(group, 0) + 1
            if tape.local_derivatives(node)[0] != 0.0:
                active[group] = active.get(group, 0) + 1

    return _assemble(net, net.gradient(grads), active, evaluations, loss.data, neurons)


def _assemble(
    model: MLP[Any],
    gradient: Sequence[float],
    active: dict[str, int],
    evaluations: dict[str, int],
    loss: float,
    neurons: bool,
) -> FlowStats:
    """The statistics of a step from its gradient (in ``parameters()`` order) and, per relu
    neuron named ``L1.N3``, how many of its evaluations passed gradient."""
    layers: list[LayerFlow] = []
    norms: list[float] = []
    position = 0
    samples = 0
    for i, layer in enumerate(model.layers):
        relu = layer.neurons[0].activation == "relu"
        weight_grads: list[float] = []
        bias_grads: list[float] = []
        per_neuron = []
        for j, neuron in enumerate(layer.neurons):
            name = f"L{i}.N{j}"
            w = list(gradient[position : position + neuron.nin])
            b = gradient[position + neuron.nin]
            position += neuron.nin + 1
            weight_grads.extend(w)
            bias_grads.append(b)
            is_relu = neuron.activation == "relu"
            per_neuron.append(
                NeuronFlow(
                    name=name,
                    weights=GradStats.of(w),
                    bias=b,
                    relu=is_relu,
                    active=active.get(name, 0) if is_relu else 0,
                    evaluations=evaluations.get(name, 0) if is_relu else 0,
                )
            )
        # Only relu units count: the hinge loss's own relus sit in the output neuron's group.
        samples = max(samples, *(n.evaluations for n in per_neuron))
        norm = euclidean_norm(weight_grads + bias_grads)
        norms.append(norm)
        layers.append(
            LayerFlow(
                name=f"L{i}",
                relu=relu,
                units=layer.nout,
                weights=GradStats.of(weight_grads),
                biases=GradStats.of(bias_grads),
                norm=norm,
                ratio=None,
                dead=sum(n.dead for n in per_neuron),
                neurons=tuple(per_neuron) if neurons else (),
            )
        )
    for i in range(len(layers) - 1):
        layers[i] = attrs.evolve(layers[i], ratio=_ratio(norms[i], norms[i + 1]))
    return FlowStats(tuple(layers), loss, samples)


def _ratio(a: float, b: float) -> float:
    if b == 0.0:
        return math.nan if a == 0.0 or a != a else math.inf
    return a / b


def flow_step(
    model: MLP[float],
    points: Sequence[Sequence[float]],
    labels: Sequence[float],
    lr: float,
    alpha: float = 1e-4,
    *,
    neurons: bool = False,
    compiled: bool = True,
) -> tuple[StepResult, FlowStats]:
    """:func:`fnad.nn.train_step` (same arithmetic, same result) plus the step's
    :func:`flow_stats`.

    By default the step is the compiled one (:func:`fnad.nn.step_program` with the hidden
    units' outputs as auxiliary values) and the statistics are read from the replay's
    numbers: its gradient and, for the dead units, each relu's output at each point (a relu
    passes gradient exactly where its output is not ≤ 0). They equal the statistics of an
    eager step, which ``compiled=False`` computes from the traced graph.

    >>> from fnad.nn.datasets import moons
    >>> from fnad.nn.training import train_step
    >>> points, labels = moons(20, noise=0.1, seed=0)
    >>> result, stats = flow_step(MLP(2, [8, 1], seed=0), points, labels, lr=0.5)
    >>> result == train_step(MLP(2, [8, 1], seed=0), points, labels, lr=0.5)
    True
    >>> [layer.name for layer in stats.layers], stats.samples
    (['L0', 'L1'], 20)
    >>> flow_step(MLP(2, [8, 1], seed=0), points, labels, lr=0.5, compiled=False)[1] == stats
    True
    """
    if compiled:
        return _compiled_flow_step(model, points, labels, lr, alpha, neurons)
    with Tape() as tape:
        net = model.trace()
        scores = [net(x) for x in points]
        loss = hinge_loss(scores, labels) + l2(net.parameters(), alpha)
        backward = loss.backward()
        stats = flow_stats(net, backward, neurons=neurons)
        grads = net.gradient(backward)
        result = StepResult(model.step(grads, lr), loss.data, accuracy(scores, labels))
    tape.close()
    return result, stats


def _compiled_flow_step(
    model: MLP[float],
    points: Sequence[Sequence[float]],
    labels: Sequence[float],
    lr: float,
    alpha: float,
    neurons: bool,
) -> tuple[StepResult, FlowStats]:
    program = step_program(model, points, labels, alpha, hidden=True)
    replay = program.evaluate(model._parameter_values())
    hidden = model.layers[:-1]
    width = sum(layer.nout for layer in hidden)
    count = len(replay.aux) // (1 + width)  # aux: the scores, then width values per point
    scores, units = replay.aux[:count], replay.aux[count:]
    active: dict[str, int] = {}
    evaluations: dict[str, int] = {}
    offset = 0
    for i, layer in enumerate(hidden):
        for j, neuron in enumerate(layer.neurons):
            if neuron.activation != "relu":
                continue
            name = f"L{i}.N{j}"
            outputs = units[offset + j :: width]
            evaluations[name] = len(outputs)
            # relu'(x) is 0 where x <= 0 and 1 elsewhere (nan included); relu(x) <= 0
            # exactly where x <= 0
            active[name] = sum(1 for out in outputs if not out <= 0.0)
        offset += layer.nout
    stats = _assemble(model, replay.gradient, active, evaluations, replay.value, neurons)
    result = StepResult(model.step(replay.gradient, lr), replay.value, accuracy(scores, labels))
    return result, stats


# --------------------------------------------------------------------------- picture


def plot_flow(history: Sequence[FlowStats], path: str | os.PathLike[str], title: str = "") -> Any:
    """Draw a run's gradient flow, one statistics value per training step, into ``path``
    (PNG, SVG or PDF by its extension).

    Top: the loss at each step (log scale). Middle: the mean |gradient| of each layer's
    weights against the step (log scale), so a layer whose gradient vanishes or explodes
    stands out. Bottom: the fraction of dead relu units of each hidden layer, up to the most
    seen (at least 25%). Returns the matplotlib ``Figure`` (which shows itself in Jupyter). The picture is :data:`FLOW_PLOT_SIZE` pixels, drawn with
    matplotlib's Agg renderer through a bare ``Figure`` (no pyplot state is touched).
    """
    if not history:
        raise OperandTypeError(
            "plot_flow: the history is empty; record flow_stats(...) at every step first"
        )
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise RenderError(
            "plot_flow() needs matplotlib, which is not installed; install the demo extra: "
            "pip install 'fnad[demo]'"
        ) from None
    kind = format_of(
        os.fspath(path),
        ("png", "svg", "pdf"),
        "cannot write the flow plot to",
        "a picture format fnad writes",
        "name the file .png, .svg or .pdf",
    )
    names = [layer.name for layer in history[0].layers]
    steps = list(range(len(history)))
    width, height = FLOW_PLOT_SIZE
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, layout="constrained")
    losses_axes, top, bottom = figure.subplots(3, 1, sharex=True, height_ratios=[2, 3, 1.6])
    losses_axes.plot(
        steps, [_positive(stats.loss) for stats in history], color="#252525", linewidth=1.5
    )
    losses_axes.set_yscale("log")
    losses_axes.set_ylabel("loss")
    losses_axes.grid(True, which="major", alpha=0.3)
    colors = ["#2171b5", "#cb181d", "#238b45", "#6a51a3", "#d94801", "#525252"]
    most_dead = 0.0
    for k, name in enumerate(names):
        color = colors[k % len(colors)]
        means = [_positive(stats.layers[k].weights.mean_abs) for stats in history]
        top.plot(steps, means, color=color, linewidth=1.5, label=f"{name} mean |∂w|")
        maxima = [_positive(stats.layers[k].weights.max_abs) for stats in history]
        top.plot(steps, maxima, color=color, linewidth=0.8, linestyle=":", alpha=0.8)
        if history[0].layers[k].relu:
            dead = [stats.layers[k].dead_fraction or 0.0 for stats in history]
            most_dead = max(most_dead, *dead)
            bottom.step(steps, dead, where="mid", color=color, linewidth=1.5, label=f"{name}")
    top.set_yscale("log")
    top.set_ylabel("|∂loss/∂weight|\n(dotted: max)")
    top.legend(loc="upper right", fontsize="small")
    top.grid(True, which="major", alpha=0.3)
    # Up to the most dead units seen (at least 25%), so a few dead units are not a flat
    # line at the bottom of an empty panel.
    bottom.set_ylim(-0.02, min(1.0, max(0.25, most_dead * 1.25)) + 0.02)
    bottom.set_ylabel("dead relu\nunits")
    bottom.set_xlabel("training step")
    bottom.yaxis.set_major_formatter("{x:.0%}")
    bottom.grid(True, alpha=0.3)
    if any(layer.relu for layer in history[0].layers):
        bottom.legend(loc="upper right", fontsize="small")
    if title:
        figure.suptitle(title, fontsize="medium")
    figure.savefig(os.fspath(path), format=kind, dpi=_DPI)
    return figure


def _positive(value: float) -> float:
    # A log scale cannot show 0 (or nan): leave a gap in the line there.
    return value if value > 0.0 and value == value else math.nan
