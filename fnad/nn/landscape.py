"""Loss landscapes: the training loss over a 2-D slice through parameter space.

Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets": around the trained
parameters ``θ``, draw two random directions ``δ`` and ``η`` and evaluate the loss at
``θ + a·δ + b·η`` on a grid of ``(a, b)``. Random directions alone mislead, because a
network's function does not change when a relu neuron's incoming weights are scaled up and
its outgoing ones down; so each direction is *filter-normalised*: the part of ``δ`` for one
neuron's incoming weights is rescaled to the norm of that neuron's weights in ``θ``. A
direction's bias entries are 0 (the paper's ``ignore biasbn`` option), so the slice moves
the weights only, each neuron by as much as its own scale.

:func:`loss_landscape` computes the demo's training loss (hinge + α·L2) on the grid with
:meth:`fnad.Program.batch`: one compiled program of the network's score for one point
(its inputs: the point and the parameters), run over every (grid point, data point) pair
as NumPy arrays, and the loss's mean and penalty taken per grid point. :func:`plot_landscape`
draws it as a contour plot; ``fnad demo --landscape FILE.png`` does both for the moons.

>>> from fnad.nn import MLP, moons
>>> points, labels = moons(20, noise=0.1, seed=0)
>>> model = MLP(2, [4, 1], seed=0)
>>> land = loss_landscape(model, points, labels, resolution=5, seed=1)
>>> len(land.xs), len(land.losses), len(land.losses[0])
(5, 5, 5)
>>> land.xs[2], land.ys[2], land.losses[2][2] == land.center
(0.0, 0.0, True)

NumPy is needed (``pip install numpy``); matplotlib too for the picture.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Sequence
from typing import Any

import attrs

from fnad.compiled.program import Program
from fnad.engine import Node, Tape
from fnad.errors import OperandTypeError, OperandValueError, RenderError
from fnad.nn import arrays
from fnad.nn.losses import hinge_loss, l2
from fnad.nn.model import MLP
from fnad.nn.training import MOONS

__all__ = [
    "LANDSCAPE_PLOT_SIZE",
    "Landscape",
    "filter_normalized_direction",
    "loss_landscape",
    "plot_landscape",
    "score_program",
]

LANDSCAPE_PLOT_SIZE = (640, 520)
"""Width and height of the :func:`plot_landscape` PNG, in pixels."""
_DPI = 100
_ROWS_PER_BATCH = 2048  # (grid point, data point) rows per Program.batch call: ~5.5 MiB of inputs


@attrs.frozen
class Landscape:
    """The loss on a grid ``θ + a·δ + b·η``: ``losses[j][i]`` is at ``(xs[i], ys[j])``."""

    xs: tuple[float, ...]
    """The coordinates ``a`` along the first direction."""
    ys: tuple[float, ...]
    """The coordinates ``b`` along the second direction."""
    losses: tuple[tuple[float, ...], ...]
    """One row per ``b``, one loss per ``a``."""
    center: float
    """The loss of the model itself (``a = b = 0``), computed on floats."""
    directions: tuple[tuple[float, ...], tuple[float, ...]]
    """``δ`` and ``η``, in ``model.parameters()`` order."""

    @property
    def lowest(self) -> float:
        """The smallest loss on the grid (nan values are skipped)."""
        return min((x for row in self.losses for x in row if x == x), default=math.nan)


def filter_normalized_direction(model: MLP[float], rng: random.Random) -> tuple[float, ...]:
    """A Gaussian direction in parameter space, filter-normalised (Li et al. 2018).

    Each neuron's incoming-weight part is scaled to the norm of the neuron's weights; the
    biases' parts are 0. In ``model.parameters()`` order.

    >>> from fnad.nn import MLP
    >>> model = MLP(2, [3, 1], seed=0)
    >>> d = filter_normalized_direction(model, random.Random(0))
    >>> w = model.layers[0].neurons[0].w
    >>> round(math.hypot(*d[:2]) - math.hypot(*w), 12), d[2]
    (0.0, 0.0)
    """
    direction: list[float] = []
    for layer in model.layers:
        for neuron in layer.neurons:
            raw = [rng.gauss(0.0, 1.0) for _ in neuron.w]
            size = math.sqrt(math.fsum(x * x for x in raw))
            scale = math.sqrt(math.fsum(float(w) * float(w) for w in neuron.w))
            factor = scale / size if size > 0.0 else 0.0
            direction.extend(x * factor for x in raw)
            direction.append(0.0)
    return tuple(direction)


def score_program(model: MLP[float]) -> Program:
    """The network's score at one point as a program: inputs ``x0``, ``x1``, … (the point)
    then the parameters (named by their labels), stored at ``model``'s values.

    Run it over many points at once with :meth:`fnad.Program.batch`; inputs left out keep
    ``model``'s parameters, so ``prog.batch({"x0": xs, "x1": ys}, gradient=False)`` is the
    model's score at every ``(x, y)``.

    >>> from fnad.nn import MLP
    >>> model = MLP(2, [3, 1], seed=0)
    >>> prog = score_program(model)
    >>> prog.input_names[:4], prog(0.5, -1.0) == model((0.5, -1.0))
    (('x0', 'x1', 'L0.N0.w0', 'L0.N0.w1'), True)
    """
    if not isinstance(model, MLP) or model.layers[-1].nout != 1:
        raise OperandTypeError(
            f"score_program: expected a one-output fnad.nn.MLP, got {model!r:.60}"
        )
    with Tape() as tape:
        point = [Node(0.0, label=f"x{i}") for i in range(model.shape[0])]
        net = model.trace()
        program = Program.from_nodes(net.outputs(point)[0], [*point, *net.parameters()])
    tape.close()
    return program


def loss_landscape(
    model: MLP[float],
    points: Sequence[Sequence[float]],
    labels: Sequence[float],
    *,
    alpha: float = MOONS.alpha,
    resolution: int = 50,
    span: float = 1.0,
    seed: int = 0,
) -> Landscape:
    """The demo's training loss (hinge + ``alpha``·L2) on a ``resolution``² grid of
    ``θ + a·δ + b·η`` with ``a, b`` from ``-span`` to ``span``, ``δ, η`` filter-normalised
    random directions drawn from ``seed``.

    An odd ``resolution`` puts the model itself at the grid's centre. The losses come from
    :meth:`fnad.Program.batch` over (grid point, data point) pairs; each equals the loss the
    scalar model gives there to within the last bits of the mean (NumPy adds the hinge
    terms in another order than fnad's left-to-right sum).
    """
    try:
        import numpy as np
    except ImportError:
        raise OperandTypeError(
            "loss_landscape needs NumPy, which is not installed; pip install numpy"
        ) from None
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise OperandValueError(
            f"loss_landscape: resolution must be an int >= 2, got {resolution!r}"
        )
    if not (isinstance(span, (int, float)) and 0.0 < span < math.inf):
        raise OperandValueError(f"loss_landscape: span must be a number > 0, got {span!r}")
    if not isinstance(model, MLP) or model.layers[-1].nout != 1:
        raise OperandTypeError(
            f"loss_landscape: expected a one-output fnad.nn.MLP, got {model!r:.60}"
        )
    points = arrays.rows(points, "loss_landscape", "points", model.shape[0])
    labels = arrays.values(labels, "loss_landscape", "labels")
    arrays.check_lengths("loss_landscape", "points", points, "labels", labels)
    center = float(hinge_loss([model(x) for x in points], labels)) + float(
        l2(model.parameters(), alpha)
    )

    rng = random.Random(seed)
    first = filter_normalized_direction(model, rng)
    second = filter_normalized_direction(model, rng)
    theta = np.array(model._parameter_values(), dtype=np.float64)
    d1, d2 = np.array(first), np.array(second)
    coordinates = np.linspace(-float(span), float(span), resolution)
    a, b = np.meshgrid(coordinates, coordinates)  # a varies along a row, b down the columns
    weights = theta + a.reshape(-1, 1) * d1 + b.reshape(-1, 1) * d2  # (grid, parameters)

    data = np.array(points, dtype=np.float64)
    y = np.array(labels, dtype=np.float64)
    n = len(data)
    program = score_program(model)
    per_call = max(1, _ROWS_PER_BATCH // n)
    losses = np.empty(len(weights))
    for start in range(0, len(weights), per_call):
        block = weights[start : start + per_call]
        rows = np.concatenate([np.tile(data, (len(block), 1)), np.repeat(block, n, axis=0)], axis=1)
        scores = program.batch(rows, gradient=False).values.reshape(len(block), n)
        hinge = np.maximum(1.0 - y * scores, 0.0).mean(axis=1)
        losses[start : start + per_call] = hinge + alpha * (block * block).sum(axis=1)
    grid = losses.reshape(resolution, resolution)
    if resolution % 2:
        grid[resolution // 2, resolution // 2] = center  # the model itself, exactly
    return Landscape(
        xs=tuple(coordinates.tolist()),
        ys=tuple(coordinates.tolist()),
        losses=tuple(tuple(row) for row in grid.tolist()),
        center=center,
        directions=(first, second),
    )


def plot_landscape(
    landscape: Landscape, path: str | os.PathLike[str] | None = None, title: str = ""
) -> Any:
    """Draw ``landscape`` as a contour plot (log-spaced levels); return the Figure.

    The model itself is the white cross at ``(0, 0)``. With a ``path``, the picture is
    also written there as PNG, SVG or PDF by the extension. Drawn through a bare matplotlib
    ``Figure`` (no pyplot state), :data:`LANDSCAPE_PLOT_SIZE` pixels.
    """
    if not isinstance(landscape, Landscape):
        raise OperandTypeError(
            f"plot_landscape: expected a Landscape (loss_landscape(...)), got "
            f"{type(landscape).__name__}"
        )
    kind = None
    if path is not None:
        from fnad.nn.demo import plot_format

        kind = plot_format(os.fspath(path))
    try:
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure
        from matplotlib.ticker import LogLocator
    except ImportError:
        raise RenderError(
            "plot_landscape() needs matplotlib, which is not installed; install the demo "
            "extra: pip install 'fnad[demo]'"
        ) from None
    import numpy as np

    grid = np.array(landscape.losses)
    finite = grid[np.isfinite(grid) & (grid > 0)]
    low = float(finite.min()) if finite.size else 1e-3
    high = float(finite.max()) if finite.size else 1.0
    high = max(high, low * 10)
    levels = np.geomspace(low, high, 25)
    shown = np.clip(np.where(np.isfinite(grid), grid, high), low, high)

    width, height = LANDSCAPE_PLOT_SIZE
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, layout="constrained")
    axes = figure.add_subplot()
    filled = axes.contourf(
        landscape.xs, landscape.ys, shown, levels=levels, norm=LogNorm(low, high), cmap="viridis"
    )
    axes.contour(
        landscape.xs,
        landscape.ys,
        shown,
        levels=levels[::3],
        colors="white",
        linewidths=0.5,
        alpha=0.6,
    )
    axes.plot([0.0], [0.0], marker="x", color="white", markersize=9, markeredgewidth=2)
    axes.annotate(
        f"the model, loss {landscape.center:.4g}",
        (0.0, 0.0),
        xytext=(8, 8),
        textcoords="offset points",
        color="white",
        fontsize="small",
    )
    bar = figure.colorbar(filled, ax=axes, ticks=LogLocator())
    bar.set_label("training loss (log scale)")
    axes.set_xlabel("a (along direction δ)")
    axes.set_ylabel("b (along direction η)")
    axes.set_title(title or "training loss at θ + a·δ + b·η", fontsize="medium")
    if path is not None:
        figure.savefig(os.fspath(path), format=kind, dpi=_DPI)
    return figure
