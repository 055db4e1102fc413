"""The moons demo: micrograd's ``MLP(2, [16, 16, 1])`` learning two interleaving half moons.

Run it as ``fnad demo`` or ``python -m fnad.nn.demo``::

    fnad demo                      # 100 steps with a progress bar, then a summary
    fnad demo --plot moons.png     # also draw the decision boundary (.png, .svg or .pdf)
    fnad demo --flow flow.png      # also draw the gradient flow of every step (docs/flow.md)
    fnad demo --landscape l.png    # also draw the loss landscape around the trained model
    fnad demo --json               # only a JSON summary on stdout: steps, loss, accuracy, seconds

The setup is micrograd's: 100 points with noise 0.1, the hinge loss plus L2 regularisation
``mean(relu(1 - yᵢ·scoreᵢ)) + 1e-4·Σ p²`` on all the points at once, and plain gradient
descent whose learning rate falls linearly from 1.0 to 0.1 (``1.0 - 0.9·k/steps``). The
seed fixes both the data and the initial weights, so a run is reproducible.

The progress bar (tqdm) goes to stderr, and the picture needs matplotlib: both come with
``pip install 'fnad[demo]'``; ``--json`` needs neither. ``--json`` also reports the gradient
flow statistics of every step (:func:`fnad.nn.flow.flow_stats`) under ``"flow"``.

This module sits on top of :mod:`fnad.nn` and :mod:`fnad.nn.datasets`; ``fnad.cli`` wires
:func:`add_arguments` and :func:`run` into the ``fnad demo`` subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import attrs

from fnad._internal import format_of, positive_int
from fnad.errors import OutputFormatError
from fnad.nn.datasets import Point, moons
from fnad.nn.flow import FlowStats, flow_step, history_as_dict, plot_flow
from fnad.nn.landscape import loss_landscape, plot_landscape, score_program
from fnad.nn.losses import accuracy, hinge_loss, l2
from fnad.nn.model import MLP
from fnad.nn.training import MOONS, train_step

__all__ = [
    "ALPHA",
    "LAYERS",
    "Summary",
    "add_arguments",
    "check_plot_path",
    "learning_rate",
    "main",
    "plot",
    "plot_format",
    "positive_int",
    "run",
    "train",
]

LAYERS = MOONS.layers
"""The layer sizes of the demo's network (micrograd's; :data:`fnad.nn.MOONS`)."""
ALPHA = MOONS.alpha
"""The weight of the L2 regularisation (micrograd's; :data:`fnad.nn.MOONS`)."""
EXTRA_HINT = "pip install 'fnad[demo]'"

PLOT_SIZE = (640, 480)
"""Width and height of the ``--plot`` PNG, in pixels."""
_DPI = 100


def learning_rate(k: int, steps: int) -> float:
    """micrograd's schedule ``1.0 - 0.9·k/100``, stretched over ``steps`` steps.

    >>> learning_rate(0, 100), learning_rate(50, 100), round(learning_rate(99, 100), 3)
    (1.0, 0.55, 0.109)
    """
    return MOONS.learning_rate(k, steps)


@attrs.frozen
class Summary:
    """The outcome of a training run: what ``--json`` prints."""

    steps: int
    loss: float
    """The loss of the final model."""
    accuracy: float
    """The training accuracy of the final model, between 0 and 1."""
    seconds: float
    """Wall-clock time of the training loop."""
    seed: int
    samples: int
    noise: float

    def as_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict."""
        return attrs.asdict(self)


def train(
    model: MLP[float],
    points: Sequence[Point],
    labels: Sequence[int],
    steps: int,
    on_step: Callable[[int, float, float], None] | None = None,
    flows: list[FlowStats] | None = None,
    *,
    compiled: bool = True,
) -> MLP[float]:
    """Train ``model`` for ``steps`` steps of the demo and return the trained model.

    ``on_step(k, loss, accuracy)`` is called after step ``k`` with the loss and accuracy the
    model had when the step began, as micrograd's demo prints them. The step is compiled
    once and replayed (:func:`fnad.nn.train_step`); ``compiled=False`` traces every step.
    Given a list ``flows``, each step's gradient flow statistics are appended to it (the
    training is the same; the statistics are read from the compiled step's replay,
    :func:`fnad.nn.flow.flow_step`, or from each step's graph with ``compiled=False``).

    >>> from fnad.nn.datasets import moons
    >>> points, labels = moons(10, noise=0.1, seed=0)
    >>> trained = train(MLP(2, [4, 1], seed=0), points, labels, steps=2)
    >>> trained.shape
    (2, 4, 1)
    """
    for k in range(steps):
        if flows is None:
            model, loss, acc = train_step(
                model, points, labels, learning_rate(k, steps), ALPHA, compiled=compiled
            )
        else:
            (model, loss, acc), stats = flow_step(
                model, points, labels, learning_rate(k, steps), ALPHA, compiled=compiled
            )
            flows.append(stats)
        if on_step is not None:
            on_step(k, loss, acc)
    return model


def evaluate(
    model: MLP[float], points: Sequence[Point], labels: Sequence[int]
) -> tuple[float, float]:
    """The demo's loss and the accuracy of ``model`` on the data, computed on floats."""
    scores = [model(x) for x in points]
    loss = hinge_loss(scores, labels) + l2(model.parameters(), ALPHA)
    return loss, accuracy(scores, labels)


# --------------------------------------------------------------------------- picture


def plot(
    model: MLP[float],
    points: Sequence[Point],
    labels: Sequence[int],
    path: str | None = None,
    title: str = "",
    resolution: int = 100,
) -> Any:
    """Draw ``model``'s decision boundary with the data points on top; return the Figure.

    With a ``path``, the picture is also written there, as PNG, SVG or PDF by the path's
    extension (see :func:`plot_format`). In Jupyter the returned matplotlib ``Figure``
    displays itself. The picture is :data:`PLOT_SIZE` pixels; it is drawn through a bare
    ``Figure``, so no pyplot state or global backend is touched.
    """
    kind = plot_format(path) if path is not None else None
    try:
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
    except ImportError as error:
        raise _MissingExtra("matplotlib", "--plot") from error

    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs) - 0.5, max(xs) + 0.5
    y0, y1 = min(ys) - 0.5, max(ys) + 0.5
    gx = [x0 + (x1 - x0) * i / (resolution - 1) for i in range(resolution)]
    gy = [y0 + (y1 - y0) * j / (resolution - 1) for j in range(resolution)]
    # Every grid point at once: the model's score as a program, batched over NumPy arrays
    # (matplotlib needs NumPy, so it is there).
    import numpy as np

    mesh_x, mesh_y = np.meshgrid(gx, gy)
    batch = score_program(model).batch({"x0": mesh_x.ravel(), "x1": mesh_y.ravel()}, gradient=False)
    scores = batch.values.reshape(resolution, resolution).tolist()
    classes = [[1.0 if s > 0.0 else -1.0 for s in row] for row in scores]

    width, height = PLOT_SIZE
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    axes = figure.add_subplot()
    axes.contourf(
        gx, gy, classes, levels=[-2.0, 0.0, 2.0], cmap=ListedColormap(["#c6dbef", "#fcbba1"])
    )
    if any(c > 0 for row in classes for c in row) and any(c < 0 for row in classes for c in row):
        axes.contour(gx, gy, scores, levels=[0.0], colors="black", linewidths=1.0)
    for label, color, name in ((-1, "#2171b5", "y = -1"), (1, "#cb181d", "y = +1")):
        chosen = [p for p, y in zip(points, labels, strict=True) if y == label]
        axes.scatter(
            [p[0] for p in chosen],
            [p[1] for p in chosen],
            c=color,
            s=24,
            edgecolors="white",
            linewidths=0.5,
            label=name,
        )
    axes.set_xlim(x0, x1)
    axes.set_ylim(y0, y1)
    axes.set_xlabel("x₁")
    axes.set_ylabel("x₂")
    axes.legend(loc="upper right", fontsize="small")
    if title:
        axes.set_title(title, fontsize="medium")
    if path is not None:
        figure.savefig(path, format=kind, dpi=_DPI)
    return figure


PLOT_FORMATS = ("png", "svg", "pdf")
"""The picture formats of ``--plot``, chosen by the file's extension."""


def plot_format(path: str) -> str:
    """The picture format named by ``path``'s extension, or an OutputFormatError.

    >>> plot_format("moons.png"), plot_format("moons.PDF")
    ('png', 'pdf')
    >>> plot_format("moons.jpg")
    Traceback (most recent call last):
    ...
    fnad.errors.OutputFormatError: cannot write the plot to 'moons.jpg': its extension '.jpg' is not a picture format the demo writes; name the file .png, .svg or .pdf
    """
    return format_of(
        path,
        PLOT_FORMATS,
        "cannot write the plot to",
        "a picture format the demo writes",
        "name the file .png, .svg or .pdf",
    )


def check_plot_path(path: str) -> None:
    """Refuse, before any training, a plot path whose format or folder cannot be written."""
    plot_format(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputFormatError(
            f"cannot write the plot to {path!r}: folder {folder!r} does not exist"
        )
    if os.path.isdir(path):
        raise OutputFormatError(f"cannot write the plot to {path!r}: it is a folder")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise OutputFormatError(f"cannot write the plot to {path!r}: permission denied")


# --------------------------------------------------------------------------- command line


class _MissingExtra(ImportError):
    def __init__(self, module: str, feature: str) -> None:
        super().__init__(
            f"fnad demo: {feature} needs {module}, which is not installed; "
            f"install the demo extra: {EXTRA_HINT}"
        )


def _sample_count(text: str) -> int:
    number = positive_int(text)
    if number < 2:
        raise argparse.ArgumentTypeError(f"needs at least 2 points (one per moon), got {number}")
    return number


def _noise(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (number >= 0.0 and math.isfinite(number)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser`` (used by ``fnad demo`` and ``python -m fnad.nn.demo``).

    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["--steps", "5", "--json"])
    >>> args.steps, args.seed, args.json, args.plot, args.flow, args.landscape
    (5, 1337, True, None, None, None)
    """
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=MOONS.steps,
        help=f"training steps (default: {MOONS.steps})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=MOONS.seed,
        help=f"seed of the data and the initial weights (default: {MOONS.seed}, micrograd's)",
    )
    parser.add_argument(
        "--samples",
        type=_sample_count,
        default=MOONS.samples,
        help=f"number of moons points (default: {MOONS.samples})",
    )
    parser.add_argument(
        "--noise",
        type=_noise,
        default=MOONS.noise,
        help=f"noise of the moons points (default: {MOONS.noise})",
    )
    parser.add_argument(
        "--eager",
        action="store_true",
        help="trace and differentiate every step eagerly instead of replaying the compiled "
        "step (same numbers, much slower)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print only a JSON summary (steps, loss, accuracy, seconds, flow) on stdout; no progress bar",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="draw the decision boundary and the data points into FILE, as PNG, SVG or PDF "
        "by its extension (needs matplotlib)",
    )
    parser.add_argument(
        "--flow",
        metavar="FILE",
        default=None,
        help="draw the gradient flow of every step (|gradient| per layer, dead relu units) "
        "into FILE, as PNG, SVG or PDF by its extension (needs matplotlib)",
    )
    parser.add_argument(
        "--landscape",
        metavar="FILE",
        default=None,
        help="draw the loss landscape around the trained model (the training loss on a "
        "50x50 grid of two filter-normalised random directions, Li et al. 2018) into FILE, "
        "as PNG, SVG or PDF by its extension (needs matplotlib and numpy)",
    )


def run(
    args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the demo with parsed ``args``; return the exit status (0 on success).

    The progress bar goes to ``stderr`` (in Jupyter, tqdm.auto shows a widget), the summary
    to ``stdout`` (default: the ``sys`` streams). A missing optional dependency, or a plot
    file that cannot be written, is reported on stderr before any training, with the fix,
    and the status is 2 (see docs/cli.md).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    steps: int = args.steps
    try:
        if args.plot is not None:
            check_plot_path(args.plot)
            _require("matplotlib", "--plot")
        if args.flow is not None:
            check_plot_path(args.flow)
            _require("matplotlib", "--flow")
        if getattr(args, "landscape", None) is not None:
            check_plot_path(args.landscape)
            _require("matplotlib", "--landscape")
            _require("numpy", "--landscape")
        if not args.json:
            _require("tqdm", "the progress bar")
    except _MissingExtra as error:
        print(f"{error} (or pass --json, which needs no extra)", file=err)
        return 2
    except OutputFormatError as error:
        print(f"fnad demo: error: {error}", file=err)
        return 2

    points, labels = moons(args.samples, args.noise, args.seed)
    model = MLP(2, list(LAYERS), seed=args.seed)

    on_step: Callable[[int, float, float], None] | None = None
    bar: Any = None
    if not args.json:
        # importlib keeps mypy from needing tqdm's stubs (not part of the dev extra).
        # tqdm.auto: a widget in Jupyter (with ipywidgets), text on a terminal.
        tqdm = importlib.import_module("tqdm.auto").tqdm
        bar = tqdm(total=steps, desc="training", unit="step", file=err, dynamic_ncols=True)

        def on_step(k: int, loss: float, acc: float) -> None:
            bar.set_postfix(loss=f"{loss:.4f}", accuracy=f"{acc:.0%}", refresh=False)
            bar.update(1)

    # With --flow, the statistics come from the same compiled replay (its gradient and
    # the hidden units' outputs); --eager traces every step, with or without --flow.
    flows: list[FlowStats] | None = [] if args.flow is not None else None
    started = time.perf_counter()
    try:
        model = train(model, points, labels, steps, on_step, flows, compiled=not args.eager)
        seconds = time.perf_counter() - started
        # Each step reports the loss its model had *before* its update (as micrograd prints
        # it); the summary is the trained model's, after the last update. The bar ends on the
        # trained model's numbers too, so the two never disagree.
        loss, acc = evaluate(model, points, labels)
        if bar is not None:
            bar.set_postfix(loss=f"{loss:.4f}", accuracy=f"{acc:.0%}", refresh=True)
    finally:
        if bar is not None:
            bar.close()
    summary = Summary(steps, loss, acc, seconds, args.seed, args.samples, args.noise)

    if args.plot is not None:
        title = f"fnad {model!r}: {steps} steps, training accuracy {acc:.0%}"
        try:
            plot(model, points, labels, args.plot, title)
        except OSError as error:
            print(f"fnad demo: error: cannot write the plot to {args.plot!r}: {error}", file=err)
            return 2
    if args.flow is not None and flows is not None:
        title = f"gradient flow of {model!r} on the moons, {steps} steps"
        try:
            plot_flow(flows, args.flow, title)
        except OSError as error:
            print(
                f"fnad demo: error: cannot write the flow plot to {args.flow!r}: {error}", file=err
            )
            return 2

    landscape = getattr(args, "landscape", None)
    if landscape is not None:
        title = f"training loss around the trained {model!r} on the moons"
        try:
            plot_landscape(
                loss_landscape(model, points, labels, alpha=ALPHA, seed=args.seed),
                landscape,
                title,
            )
        except OSError as error:
            print(
                f"fnad demo: error: cannot write the landscape to {landscape!r}: {error}",
                file=err,
            )
            return 2

    if args.json:
        document = summary.as_dict()
        if flows is not None:
            document["flow"] = history_as_dict(flows)
        print(json.dumps(document), file=out)
    else:
        print(
            f"{model!r} on {args.samples} moons points (noise {args.noise}, seed {args.seed}): "
            f"{steps} steps in {seconds:.1f} s",
            file=out,
        )
        print(
            f"final loss {loss:.4f}, training accuracy {acc:.1%} (the trained model, after "
            f"step {steps})",
            file=out,
        )
        if args.plot is not None:
            print(f"wrote {args.plot}", file=out)
        if args.flow is not None:
            print(f"wrote {args.flow}", file=out)
        if landscape is not None:
            print(f"wrote {landscape}", file=out)
    return 0


def _require(module: str, feature: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as error:
        raise _MissingExtra(module, feature) from error


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fnad.nn.demo [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m fnad.nn.demo",
        description="Train micrograd's MLP(2, [16, 16, 1]) on the two-moons data with fnad.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
