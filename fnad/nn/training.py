"""Training steps of :mod:`fnad.nn`: micrograd's moons step, eager or compiled and replayed.

>>> from fnad.nn.training import MOONS
>>> MOONS.steps
100
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from fnad.compiled.program import Program
from fnad.engine import Tape
from fnad.engine.rules import current_rules
from fnad.errors import OperandTypeError, OperandValueError
from fnad.nn import arrays
from fnad.nn.losses import accuracy, hinge_loss, l2
from fnad.nn.model import MLP

__all__ = ["MOONS", "MoonsSettings", "StepResult", "step_program", "train_step"]


@attrs.frozen
class MoonsSettings:
    """The settings of micrograd's moons demo, in one place.

    ``fnad demo``, :func:`train_step`'s default, ``examples/train_moons.py`` and the
    benchmarks all read :data:`MOONS`, so they train the same network the same way.

    >>> MOONS.layers, MOONS.alpha, MOONS.seed
    ((16, 16, 1), 0.0001, 1337)
    >>> MOONS.learning_rate(0, 100), MOONS.learning_rate(50, 100)
    (1.0, 0.55)
    """

    layers: tuple[int, ...] = (16, 16, 1)
    """The layer sizes after the 2 inputs: ``MLP(2, [16, 16, 1])``."""
    alpha: float = 1e-4
    """The weight α of the L2 regularisation ``α·Σ p²``."""
    lr_start: float = 1.0
    """The learning rate of the first step."""
    lr_drop: float = 0.9
    """How far the learning rate falls, linearly, over the run (to 0.1)."""
    steps: int = 100
    samples: int = 100
    """How many moons points."""
    noise: float = 0.1
    """The noise of the moons points."""
    seed: int = 1337
    """The seed of the data and of the initial weights."""

    def learning_rate(self, k: int, steps: int) -> float:
        """The rate of step ``k`` of ``steps``: micrograd's ``1.0 - 0.9·k/100``, stretched."""
        return self.lr_start - self.lr_drop * k / steps


MOONS = MoonsSettings()
"""micrograd's moons demo: ``MLP(2, [16, 16, 1])``, α = 1e-4, learning rate 1.0 → 0.1."""


class StepResult(NamedTuple):
    """What :func:`train_step` returns."""

    model: MLP[float]
    """The network after the step."""
    loss: float
    """The loss of the network *before* the step (what micrograd's demo prints)."""
    accuracy: float
    """Its training accuracy before the step."""


def train_step(
    model: MLP[float],
    points: Sequence[Sequence[float]],
    labels: Sequence[float],
    lr: float,
    alpha: float = MOONS.alpha,
    *,
    compiled: bool = True,
) -> StepResult:
    """One step of micrograd's moons demo: hinge loss + ``alpha``·L2, backward, SGD.

    The step's graph has the same structure at every step (only the parameters change),
    so by default it is traced once per network shape and data set, compiled to a
    :class:`fnad.Program` and replayed at the model's parameters: the loss, accuracy and
    gradients are bit for bit those of an eager trace, many times faster. The last few
    compiled steps are kept. ``compiled=False`` traces and differentiates the step
    eagerly, on a fresh tape that is closed before returning.

    >>> from fnad.nn.datasets import moons
    >>> points, labels = moons(20, noise=0.1, seed=0)
    >>> result = train_step(MLP(2, [8, 1], seed=0), points, labels, lr=0.5)
    >>> result.model.shape, round(result.loss, 4), result.accuracy
    ((2, 8, 1), 1.0241, 0.5)
    >>> train_step(MLP(2, [8, 1], seed=0), points, labels, lr=0.5, compiled=False) == result
    True

    ``points`` and ``labels`` may be NumPy arrays of shapes (n, inputs) and (n,).
    """
    points, labels = _data("train_step", model, points, labels)
    if compiled:
        replay = step_program(model, points, labels, alpha).evaluate(model._parameter_values())
        return StepResult(
            model.step(replay.gradient, lr), replay.value, accuracy(replay.aux, labels)
        )
    with Tape() as tape:
        net = model.trace()
        scores = [net(x) for x in points]
        loss = hinge_loss(scores, labels) + l2(net.parameters(), alpha)
        grads = net.gradient(loss.backward())
        result = StepResult(model.step(grads, lr), loss.data, accuracy(scores, labels))
    tape.close()
    return result


def _data(
    who: str, model: MLP[float], points: Any, labels: Any
) -> tuple[Sequence[Sequence[float]], Sequence[float]]:
    """Points and labels as sequences (from NumPy arrays too), one label per point."""
    if not isinstance(model, MLP):
        raise OperandTypeError(f"{who}: expected an fnad.nn.MLP, got {type(model).__name__}")
    if model.layers[-1].nout != 1:
        raise OperandValueError(
            f"{who}: the moons step trains a one-output network (one score per point), and "
            f"{model!r} has {model.layers[-1].nout} outputs; for several classes, compile "
            "softmax_cross_entropy yourself (docs/nn.md, 'Several classes')"
        )
    points = arrays.rows(points, who, "points", model.shape[0])
    labels = arrays.values(labels, who, "labels")
    arrays.check_lengths(who, "points", points, "labels", labels)
    return points, labels


_STEP_PROGRAMS: dict[tuple[Any, ...], Program] = {}
_KEPT_STEP_PROGRAMS = 4
_STEP_PROGRAMS_LOCK = threading.Lock()


def step_program(
    model: MLP[float],
    points: Sequence[Sequence[float]],
    labels: Sequence[float],
    alpha: float = 1e-4,
    *,
    hidden: bool = False,
) -> Program:
    """The compiled loss of :func:`train_step` for this network's structure and this data:
    inputs are the parameters (named by their labels), the output is the loss, and the
    auxiliary values are the scores.

    With ``hidden=True`` the auxiliary values also hold every hidden unit's output (after
    its activation) at every point, after the scores: point by point, layer by layer,
    neuron by neuron. The graph, and so the loss and gradients, are the same.

    >>> from fnad.nn.datasets import moons
    >>> points, labels = moons(4, seed=0)
    >>> prog = step_program(MLP(2, [2, 1], seed=0), points, labels)
    >>> prog.input_names[:3], len(prog.evaluate(MLP(2, [2, 1], seed=1).parameters()).aux)
    (('L0.N0.w0', 'L0.N0.w1', 'L0.N0.b'), 4)
    >>> len(step_program(MLP(2, [2, 1], seed=0), points, labels, hidden=True).evaluate(
    ...     MLP(2, [2, 1], seed=1).parameters()).aux)
    12
    """
    points, labels = _data("step_program", model, points, labels)
    structure = tuple((len(n.w), n.activation) for layer in model.layers for n in layer.neurons)
    data = (tuple(tuple(map(float, x)) for x in points), tuple(map(float, labels)))
    table = current_rules()
    # The rules themselves, not only the table: defop(..., replace=True) changes a rule in
    # place, and a program keeps the rules it was traced with.
    key = (
        structure,
        data,
        float(alpha),
        bool(hidden),
        id(table),
        tuple(table[name] for name in table),
    )
    with _STEP_PROGRAMS_LOCK:
        program = _STEP_PROGRAMS.pop(key, None)
    if program is None or program.rules is not current_rules():
        with Tape() as tape:
            net = model.trace()
            units: list[Any] | None = [] if hidden else None
            scores = [net.outputs(x, hidden=units)[0] for x in points]
            loss = hinge_loss(scores, labels) + l2(net.parameters(), alpha)
            program = Program.from_nodes(loss, net.parameters(), aux=scores + (units or []))
        tape.close()
    with _STEP_PROGRAMS_LOCK:
        _STEP_PROGRAMS[key] = program  # most recently used last
        while len(_STEP_PROGRAMS) > _KEPT_STEP_PROGRAMS:
            del _STEP_PROGRAMS[next(iter(_STEP_PROGRAMS))]
    return program
