"""Neural networks in micrograd's style, as immutable values: ``Neuron``, ``Layer``, ``MLP``.

A model holds its parameters as plain floats and never changes. Training is functional:

1. ``net = model.trace()`` inside a ``with fnad.Tape():`` block gives the same model with
   every parameter a leaf :class:`~fnad.Node` on that tape (labelled ``L0.N3.w1`` and so on);
2. calling ``net`` on inputs records the forward pass; a loss is one more Node;
3. ``net.gradient(loss.backward())`` reads ∂loss/∂parameter for every parameter, in the
   order of ``parameters()``;
4. ``model.step(grads, lr)`` returns a *new* model, one SGD step further.

One tape per step is the point: when the step ends, nothing refers to the tape any more and
the whole graph is freed, so a thousand steps use the memory of one. (A Node keeps its tape
alive and the tape its Nodes, so it is the cyclic garbage collector that frees them.)

>>> import fnad
>>> from fnad.nn.model import MLP, hinge_loss
>>> model = MLP(2, [4, 1], seed=0)
>>> len(model.parameters())
17
>>> with fnad.Tape():
...     net = model.trace()
...     loss = hinge_loss([net((1.0, -1.0)), net((0.5, 2.0))], [1, -1])
...     grads = net.gradient(loss.backward())
>>> stepped = model.step(grads, lr=0.1)
>>> stepped is model, stepped.shape == model.shape
(False, True)

A model whose parameters are floats also runs on floats, fast, with no graph at all:

>>> model((1.0, -1.0)) == net((1.0, -1.0)).data
True

The loss :func:`hinge_loss` plus :func:`l2` is the one of micrograd's demo,
``mean(relu(1 - yᵢ·scoreᵢ)) + α·Σ p²``; :func:`train_step` is one step of that demo.

This module uses only fnad's public API (``Node``, ``Tape``, the ops); it depends on
:mod:`fnad.engine.core`, :mod:`fnad.engine.ops` and :mod:`fnad.errors`, and nothing depends on it.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar, overload

import attrs

from fnad.compiled.program import Program
from fnad.engine import Node, Operand, Tape, current_tape, to_float
from fnad.engine.ops import relu, value
from fnad.engine.rules import current_rules
from fnad.errors import ImmutableError, MissingAttributeError, OperandTypeError, OperandValueError

__all__ = [
    "MLP",
    "MOONS",
    "Adam",
    "Layer",
    "MoonsSettings",
    "Neuron",
    "StepResult",
    "accuracy",
    "hinge_loss",
    "l2",
    "step_program",
    "train_step",
]

P = TypeVar("P", float, Node)
"""What a model's parameters are: floats (a model at rest) or Nodes (a traced model)."""
Q = TypeVar("Q", float, Node)
S = TypeVar("S", float, Node)

Seed = int | random.Random | None
"""An int seed, a ``random.Random`` to draw from, or None for an unseeded generator."""


def _rng(seed: Seed) -> random.Random:
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise OperandTypeError(
            f"seed must be an int, a random.Random or None, got {seed!r} ({type(seed).__name__})"
        )
    return random.Random(seed)


def _count(name: str, what: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise OperandTypeError(f"{name}: {what} must be an int, got {n!r} ({type(n).__name__})")
    if n < 1:
        raise OperandValueError(f"{name}: {what} must be >= 1, got {n}")
    return n


def _float_relu(x: float) -> float:
    # The relu rule's forward (fnad._floats.relu), inlined: nan and -0.0 stay what they are.
    return 0.0 if x < 0.0 else x


def _leaf(tape: Tape, data: float, label: str) -> Node:
    with tape:
        return Node(data, label=label)


# --------------------------------------------------------------------------- Neuron


@attrs.frozen(init=False)
class Neuron(Generic[P]):
    """``act = b + Σ wᵢ·xᵢ``, then ``relu(act)`` if ``nonlin``: micrograd's neuron, immutable.

    ``Neuron(nin)`` draws the weights uniformly from [-1, 1] and sets the bias to 0, as
    micrograd does; ``seed`` makes that reproducible.

    >>> n = Neuron(3, seed=0)
    >>> n.nin, n.b, len(n.parameters())
    (3, 0.0, 4)
    >>> n((0.0, 0.0, 0.0))
    0.0
    >>> Neuron(2, nonlin=False, seed=0) == Neuron(2, nonlin=False, seed=0)
    True
    """

    w: tuple[P, ...]
    """The weights, one per input."""
    b: P
    """The bias."""
    nonlin: bool
    """Whether a relu follows (micrograd's hidden neurons) or not (its output neuron)."""

    def __init__(self: Neuron[float], nin: int, *, nonlin: bool = True, seed: Seed = None) -> None:
        rng = _rng(seed)
        nin = _count("Neuron", "nin", nin)
        self.__attrs_init__(tuple(rng.uniform(-1.0, 1.0) for _ in range(nin)), 0.0, bool(nonlin))

    @classmethod
    def of(cls, w: Sequence[Q], b: Q, nonlin: bool = True) -> Neuron[Q]:
        """A neuron with exactly these parameters (floats or Nodes).

        >>> Neuron.of([0.5, -2.0], 1.0, nonlin=False)((2.0, 1.0))
        0.0
        """
        neuron: Neuron[Q] = object.__new__(Neuron)
        neuron.__attrs_init__(tuple(w), b, nonlin)
        return neuron

    @property
    def nin(self) -> int:
        """The number of inputs."""
        return len(self.w)

    def parameters(self) -> tuple[P, ...]:
        """The weights, then the bias."""
        # mypy cannot check (*self.w, self.b) over the constrained TypeVar P
        return self.w + (self.b,)  # noqa: RUF005

    @overload
    def __call__(self: Neuron[float], x: Sequence[float]) -> float: ...
    @overload
    def __call__(self: Neuron[Node], x: Sequence[Operand]) -> Node: ...
    def __call__(self, x: Sequence[Any]) -> Any:
        """The neuron's output for the inputs ``x``: a Node if anything is a Node."""
        if len(x) != len(self.w):
            raise OperandValueError(
                f"Neuron: expected {len(self.w)} inputs, got {len(x)}: {_preview(x)}; "
                "pass one value per weight"
            )
        act: Any = self.b
        for wi, xi in zip(self.w, x, strict=True):
            act = act + wi * xi
        if not self.nonlin:
            return act
        return _float_relu(act) if type(act) is float else act.relu()

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


def _preview_value(x: object) -> str:
    text = repr(x)
    return (
        f"{text[:40]}... ({type(x).__name__})" if len(text) > 43 else f"{text} ({type(x).__name__})"
    )


def _preview(x: Sequence[Any]) -> str:
    text = repr(tuple(x))
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- Layer


@attrs.frozen(init=False)
class Layer(Generic[P]):
    """``nout`` neurons reading the same ``nin`` inputs; calling it returns their outputs.

    >>> layer = Layer(2, 3, seed=0)
    >>> layer.nin, layer.nout, len(layer.parameters())
    (2, 3, 9)
    >>> len(layer((0.5, -0.5)))
    3
    """

    neurons: tuple[Neuron[P], ...]

    def __init__(
        self: Layer[float], nin: int, nout: int, *, nonlin: bool = True, seed: Seed = None
    ) -> None:
        rng = _rng(seed)
        nout = _count("Layer", "nout", nout)
        self.__attrs_init__(tuple(Neuron(nin, nonlin=nonlin, seed=rng) for _ in range(nout)))

    @classmethod
    def of(cls, neurons: Sequence[Neuron[Q]]) -> Layer[Q]:
        """A layer of exactly these neurons (all with the same number of inputs)."""
        if not neurons:
            raise OperandValueError("Layer.of: a layer needs at least one neuron")
        if len({n.nin for n in neurons}) != 1:
            raise OperandValueError(
                f"Layer.of: all neurons must read the same inputs, got nin "
                f"{[n.nin for n in neurons]}"
            )
        layer: Layer[Q] = object.__new__(Layer)
        layer.__attrs_init__(tuple(neurons))
        return layer

    @property
    def nin(self) -> int:
        """The number of inputs."""
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        """The number of outputs (neurons)."""
        return len(self.neurons)

    def parameters(self) -> tuple[P, ...]:
        """Every neuron's parameters, neuron after neuron."""
        return tuple(p for n in self.neurons for p in n.parameters())

    @overload
    def __call__(self: Layer[float], x: Sequence[float]) -> tuple[float, ...]: ...
    @overload
    def __call__(self: Layer[Node], x: Sequence[Operand]) -> tuple[Node, ...]: ...
    def __call__(self, x: Sequence[Any]) -> tuple[Any, ...]:
        """Each neuron's output for the inputs ``x``."""
        return tuple(neuron(x) for neuron in self.neurons)

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(repr(n) for n in self.neurons)}]"


# --------------------------------------------------------------------------- MLP


@attrs.frozen(init=False)
class MLP(Generic[P]):
    """A multi-layer perceptron: relu hidden layers and a linear output layer.

    ``MLP(2, [16, 16, 1])`` is the network of micrograd's moons demo: 2 inputs, two hidden
    layers of 16 relu neurons, one linear output neuron (337 parameters).

    >>> model = MLP(2, [16, 16, 1], seed=1337)
    >>> model.shape, len(model.parameters())
    ((2, 16, 16, 1), 337)
    >>> model
    MLP(2, [16, 16, 1])
    >>> isinstance(model((0.5, 0.25)), float)
    True

    ``model(x)`` returns the single output of a one-output network; ``model.outputs(x)``
    returns all the outputs of any network.
    """

    layers: tuple[Layer[P], ...]

    def __init__(self: MLP[float], nin: int, nouts: Sequence[int], *, seed: Seed = None) -> None:
        rng = _rng(seed)
        nin = _count("MLP", "nin", nin)
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise OperandTypeError(
                f"MLP: nouts must be a non-empty list of layer sizes like [16, 16, 1], got {nouts!r}"
            )
        sizes = [nin, *(_count("MLP", "each layer size", n) for n in nouts)]
        last = len(nouts) - 1
        self.__attrs_init__(
            tuple(
                Layer(sizes[i], sizes[i + 1], nonlin=i != last, seed=rng) for i in range(len(nouts))
            )
        )

    @classmethod
    def of(cls, layers: Sequence[Layer[Q]]) -> MLP[Q]:
        """A network of exactly these layers (each reading the previous one's outputs)."""
        if not layers:
            raise OperandValueError("MLP.of: a network needs at least one layer")
        for before, after in itertools.pairwise(layers):
            if before.nout != after.nin:
                raise OperandValueError(
                    f"MLP.of: a layer with {before.nout} outputs feeds a layer with "
                    f"{after.nin} inputs; the sizes must match"
                )
        model: MLP[Q] = object.__new__(MLP)
        model.__attrs_init__(tuple(layers))
        return model

    # -- shape and parameters --------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """``(nin, *nouts)``: the width of the input and of every layer."""
        return (self.layers[0].nin, *(layer.nout for layer in self.layers))

    def parameters(self) -> tuple[P, ...]:
        """Every parameter, layer by layer, neuron by neuron, weights then bias.

        The same order as micrograd's ``MLP.parameters()``, and the order of the
        gradients that :meth:`gradient` returns and :meth:`step` takes.
        """
        return tuple(p for layer in self.layers for p in layer.parameters())

    def labels(self) -> tuple[str, ...]:
        """A name per parameter, in the order of :meth:`parameters`: ``L1.N3.w0``, ``L1.N3.b``.

        >>> MLP(2, [1], seed=0).labels()
        ('L0.N0.w0', 'L0.N0.w1', 'L0.N0.b')
        """
        names: list[str] = []
        for i, layer in enumerate(self.layers):
            for j, neuron in enumerate(layer.neurons):
                names.extend(f"L{i}.N{j}.w{k}" for k in range(neuron.nin))
                names.append(f"L{i}.N{j}.b")
        return tuple(names)

    def with_parameters(self, values: Iterable[Q]) -> MLP[Q]:
        """The same network with ``values`` as its parameters, in :meth:`parameters` order.

        >>> model = MLP(2, [2, 1], seed=0)
        >>> zeros = model.with_parameters([0.0] * len(model.parameters()))
        >>> zeros((3.0, 4.0))
        0.0
        """
        given = tuple(values)
        expected = sum(len(n.w) + 1 for layer in self.layers for n in layer.neurons)
        if len(given) != expected:
            raise OperandValueError(
                f"MLP.with_parameters: got {len(given)} values for {expected} parameters of "
                f"{self!r}; pass one value per parameter, in parameters() order"
            )
        it: Iterator[Q] = iter(given)
        layers = []
        for layer in self.layers:
            neurons = []
            for neuron in layer.neurons:
                w = tuple(next(it) for _ in neuron.w)
                neurons.append(Neuron.of(w, next(it), neuron.nonlin))
            layers.append(Layer.of(neurons))
        return MLP.of(layers)

    def trace(self: MLP[float], tape: Tape | None = None) -> MLP[Node]:
        """The same network with each parameter a labelled leaf Node on ``tape``.

        ``tape`` defaults to the current one: call this inside ``with fnad.Tape():`` so the
        step's graph is dropped when the block ends (the default tape never is).

        >>> import fnad
        >>> with fnad.Tape() as tape:
        ...     net = MLP(2, [1], seed=0).trace()
        >>> [(p.label, p.op) for p in net.parameters()][-1], len(tape)
        (('L0.N0.b', ''), 3)
        """
        target = tape if tape is not None else current_tape()
        with target:
            return self.with_parameters(
                Node(p, label=name)
                for p, name in zip(self.parameters(), self.labels(), strict=True)
            )

    def gradient(self: MLP[Node], grads: Mapping[Node, float]) -> tuple[float, ...]:
        """∂loss/∂parameter for each parameter, from the result of ``loss.backward()``.

        A parameter the loss does not depend on gets 0.0.
        """
        params = self.parameters()
        if type(params[0]) is not Node:
            raise OperandTypeError(
                f"{self!r}.gradient(): this model's parameters are floats, so no loss depends "
                "on them and every gradient would be 0. Differentiate the traced network: "
                "with fnad.Tape(): net = model.trace(); loss = ...; "
                "grads = net.gradient(loss.backward()); then model = model.step(grads, lr)"
            )
        if isinstance(grads, Node):
            raise OperandTypeError(
                f"{self!r}.gradient() takes the gradients, got the loss {grads!r}; "
                "pass what backward returns: net.gradient(loss.backward())"
            )
        if not isinstance(grads, Mapping):
            raise OperandTypeError(
                f"{self!r}.gradient() takes the mapping loss.backward() returns, got "
                f"{type(grads).__name__}; pass net.gradient(loss.backward())"
            )
        return tuple(grads.get(p, 0.0) for p in params)

    def detach(self: MLP[Node]) -> MLP[float]:
        """The network with each parameter Node replaced by its float value."""
        return self.with_parameters(p.data for p in self.parameters())

    # -- forward -----------------------------------------------------------------------

    @overload
    def outputs(self: MLP[float], x: Sequence[float]) -> tuple[float, ...]: ...
    @overload
    def outputs(self: MLP[Node], x: Sequence[Operand]) -> tuple[Node, ...]: ...
    def outputs(self, x: Sequence[Any]) -> tuple[Any, ...]:
        """Every output of the last layer for the input ``x``.

        On a traced network, numbers in ``x`` are recorded once as constants (not once per
        neuron that reads them); on a float network ``x`` must be numbers.
        """
        if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
            raise OperandTypeError(
                f"{self!r}: the input is {_preview_value(x)}, not a sequence of "
                f"{self.layers[0].nin} numbers; pass e.g. model([0.5, -1.0])"
            )
        values: Sequence[Any]
        first = self.layers[0].neurons[0].b
        if type(first) is Node:
            tape = first.tape
            values = [xi if type(xi) is Node else tape.constant(xi) for xi in x]
        else:
            if any(type(xi) is Node for xi in x):
                raise OperandTypeError(
                    f"{self!r} holds float parameters and computes on floats, but its input "
                    "holds a fnad.Node; to record a graph, call the traced network: "
                    "net = model.trace() (inside `with fnad.Tape():`), then net(x)"
                )
            values = [
                xi if type(xi) is float else to_float(xi, "MLP", i) for i, xi in enumerate(x, 1)
            ]
        for layer in self.layers:
            values = layer(values)
        return tuple(values)

    @overload
    def __call__(self: MLP[float], x: Sequence[float]) -> float: ...
    @overload
    def __call__(self: MLP[Node], x: Sequence[Operand]) -> Node: ...
    def __call__(self, x: Sequence[Any]) -> Any:
        """The output of a one-output network (a score) for the input ``x``."""
        if self.layers[-1].nout != 1:
            raise OperandValueError(
                f"{self!r} has {self.layers[-1].nout} outputs; model(x) returns the output of "
                "a one-output network, use model.outputs(x) to get all of them"
            )
        return self.outputs(x)[0]

    # -- training ----------------------------------------------------------------------

    def step(self: MLP[float], grads: Sequence[float], lr: float) -> MLP[float]:
        """One step of gradient descent: a new network with ``p - lr * grad`` for each p.

        >>> model = MLP(1, [1], seed=0)
        >>> w, b = model.parameters()
        >>> w2, b2 = model.step([1.0, -2.0], lr=0.5).parameters()
        >>> round(w - w2, 12), b2
        (0.5, 1.0)
        """
        params = self.parameters()
        if len(grads) != len(params):
            raise OperandValueError(
                f"MLP.step: got {len(grads)} gradients for {len(params)} parameters; pass "
                "net.gradient(loss.backward()), one gradient per parameter"
            )
        rate = to_float(lr, "MLP.step")
        return self.with_parameters(
            p - rate * to_float(g, "MLP.step") for p, g in zip(params, grads, strict=True)
        )

    def __repr__(self) -> str:
        nin, *nouts = self.shape
        return f"MLP({nin}, {nouts})"


# --------------------------------------------------------------------------- habits


def _refuse_model_assignment(model: object, name: str, value: object = None) -> None:
    raise ImmutableError(
        f"{model!r} is immutable: {type(model).__name__}.{name} cannot be assigned or "
        "deleted. Get a new model instead: model.step(grads, lr) for a gradient step, "
        "model.with_parameters(values) for any other parameters"
    )


def _model_habits(model: object, name: str) -> Any:
    if name == "zero_grad":
        raise MissingAttributeError(
            f"{model!r} has no zero_grad(): a model holds floats, not gradients, and fnad "
            "never accumulates them. Each step computes fresh ones: with fnad.Tape(): "
            "net = model.trace(); loss = ...; grads = net.gradient(loss.backward()); then "
            "model = model.step(grads, lr)"
        )
    raise AttributeError(
        f"{type(model).__name__!r} object has no attribute {name!r}", name=name, obj=model
    )


# attrs refuses a frozen class with its own __setattr__, so the models' are set afterwards:
# still attrs' FrozenInstanceError, with a message that names the fix. __getattr__ (only
# called when normal lookup fails) answers zero_grad; mypy does not see it, so it still
# reports model.zero_grad() as an error.
for _model_class in (Neuron, Layer, MLP):
    _model_class.__setattr__ = _refuse_model_assignment  # type: ignore[method-assign]
    _model_class.__delattr__ = _refuse_model_assignment  # type: ignore[method-assign]
    if not TYPE_CHECKING:
        _model_class.__getattr__ = _model_habits
del _model_class


# --------------------------------------------------------------------------- losses


def hinge_loss(scores: Sequence[S], labels: Sequence[float]) -> S:
    """The mean hinge loss ``mean(relu(1 - yᵢ·scoreᵢ))`` for labels ``yᵢ`` of ±1.

    A Node if the scores are Nodes, a float if they are floats.

    >>> hinge_loss([2.0, 0.5, -1.0], [1, 1, 1])
    0.8333333333333333
    """
    if len(scores) != len(labels) or not scores:
        raise OperandValueError(
            f"hinge_loss: got {len(scores)} scores and {len(labels)} labels; "
            "pass one label per score, at least one of each"
        )
    for position, label in enumerate(labels):
        if isinstance(label, bool) or label not in (-1, 1):
            raise OperandValueError(
                f"hinge_loss: label {position} is {label!r}; labels must be -1 or +1 (the hinge "
                "loss is for ±1 labels). For 0/1 labels, as sklearn's make_moons gives, pass "
                "[2 * y - 1 for y in labels]"
            )
    total: S | None = None
    for score, label in zip(scores, labels, strict=True):
        margin = relu(1 - label * score)
        total = margin if total is None else total + margin
    assert total is not None
    return total * (1.0 / len(scores))


def l2(parameters: Iterable[S], alpha: float) -> S | float:
    """The L2 regularisation ``alpha · Σ p²`` (0.0 for no parameters).

    >>> l2([1.0, 2.0], 0.5)
    2.5
    """
    total: S | None = None
    for p in parameters:
        square = p * p
        total = square if total is None else total + square
    if total is None:
        return 0.0
    return alpha * total


def accuracy(scores: Iterable[float | Node], labels: Iterable[float]) -> float:
    """The fraction of scores whose sign matches the ±1 label (a score of 0 counts as -1).

    >>> accuracy([0.3, -2.0, 0.0], [1, 1, -1])
    0.6666666666666666
    """
    scores, labels = list(scores), list(labels)
    if len(scores) != len(labels):
        raise OperandValueError(
            f"accuracy: got {len(scores)} scores and {len(labels)} labels; pass one label per score"
        )
    pairs = [(value(s) > 0.0) == (y > 0) for s, y in zip(scores, labels, strict=True)]
    if not pairs:
        raise OperandValueError("accuracy: no scores given")
    return sum(pairs) / len(pairs)


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
    """
    if compiled:
        replay = step_program(model, points, labels, alpha).evaluate(model.parameters())
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


_STEP_PROGRAMS: dict[tuple[Any, ...], Program] = {}
_KEPT_STEP_PROGRAMS = 4
_STEP_PROGRAMS_LOCK = threading.Lock()


def step_program(
    model: MLP[float],
    points: Sequence[Sequence[float]],
    labels: Sequence[float],
    alpha: float = 1e-4,
) -> Program:
    """The compiled loss of :func:`train_step` for this network's structure and this data:
    inputs are the parameters (named by their labels), the output is the loss, and the
    auxiliary values are the scores.

    >>> from fnad.nn.datasets import moons
    >>> points, labels = moons(4, seed=0)
    >>> prog = step_program(MLP(2, [2, 1], seed=0), points, labels)
    >>> prog.input_names[:3], len(prog.evaluate(MLP(2, [2, 1], seed=1).parameters()).aux)
    (('L0.N0.w0', 'L0.N0.w1', 'L0.N0.b'), 4)
    """
    structure = tuple((len(n.w), n.nonlin) for layer in model.layers for n in layer.neurons)
    data = (tuple(tuple(map(float, x)) for x in points), tuple(map(float, labels)))
    table = current_rules()
    # The rules themselves, not only the table: defop(..., replace=True) changes a rule in
    # place, and a program keeps the rules it was traced with.
    key = (structure, data, float(alpha), id(table), tuple(table[name] for name in table))
    with _STEP_PROGRAMS_LOCK:
        program = _STEP_PROGRAMS.pop(key, None)
    if program is None or program.rules is not current_rules():
        with Tape() as tape:
            net = model.trace()
            scores = [net(x) for x in points]
            loss = hinge_loss(scores, labels) + l2(net.parameters(), alpha)
            program = Program.from_nodes(loss, net.parameters(), aux=scores)
        tape.close()
    with _STEP_PROGRAMS_LOCK:
        _STEP_PROGRAMS[key] = program  # most recently used last
        while len(_STEP_PROGRAMS) > _KEPT_STEP_PROGRAMS:
            del _STEP_PROGRAMS[next(iter(_STEP_PROGRAMS))]
    return program


# --------------------------------------------------------------------------- Adam


@attrs.frozen
class Adam:
    """The Adam optimizer as an immutable value: ``step`` returns the new model *and* optimizer.

    >>> model = MLP(2, [4, 1], seed=0)
    >>> opt = Adam(lr=0.01)
    >>> grads = [1.0] * len(model.parameters())
    >>> model2, opt2 = opt.step(model, grads)
    >>> opt2.t, round(model.parameters()[0] - model2.parameters()[0], 6)
    (1, 0.01)
    """

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    """Steps taken so far."""
    m: tuple[float, ...] = ()
    """First-moment estimates, one per parameter (empty before the first step)."""
    v: tuple[float, ...] = ()
    """Second-moment estimates."""

    def step(self, model: MLP[float], grads: Sequence[float]) -> tuple[MLP[float], Adam]:
        """One Adam update of ``model`` for ``grads`` (in ``parameters()`` order)."""
        params = model.parameters()
        if len(grads) != len(params):
            raise OperandValueError(
                f"Adam.step: got {len(grads)} gradients for {len(params)} parameters"
            )
        m = self.m or (0.0,) * len(params)
        v = self.v or (0.0,) * len(params)
        if len(m) != len(params):
            raise OperandValueError(
                f"Adam.step: this optimizer state is for {len(m)} parameters, the model has "
                f"{len(params)}; start a fresh Adam() for a different model"
            )
        t = self.t + 1
        b1, b2 = self.beta1, self.beta2
        new_m = tuple(b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True))
        new_v = tuple(b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True))
        c1, c2 = 1 - b1**t, 1 - b2**t
        new_params = tuple(
            p - self.lr * (mi / c1) / (math.sqrt(vi / c2) + self.eps)
            for p, mi, vi in zip(params, new_m, new_v, strict=True)
        )
        return model.with_parameters(new_params), attrs.evolve(self, t=t, m=new_m, v=new_v)
