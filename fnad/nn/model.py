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
>>> from fnad.nn.model import MLP
>>> from fnad.nn.losses import hinge_loss
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

Hidden layers apply relu, tanh or sigmoid (``activation``); the output layer is linear.
``model.save(path)`` / ``MLP.load(path)`` keep a model as JSON (:mod:`fnad.nn.files`).
The losses live in :mod:`fnad.nn.losses`, training steps in :mod:`fnad.nn.training` and
optimizers in :mod:`fnad.nn.optim`; their names still import from here, as before the split.

This module records through ``Node`` and ``Tape`` only; it depends on
:mod:`fnad.engine`, :mod:`fnad._floats` (the activations on floats), :mod:`fnad.errors`
and :mod:`fnad.nn.arrays` (NumPy inputs, without importing NumPy).
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import attrs

from fnad import _floats
from fnad.engine import Node, Operand, Tape, current_tape, to_float
from fnad.errors import ImmutableError, MissingAttributeError, OperandTypeError, OperandValueError
from fnad.nn import arrays

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Layer",
    "Neuron",
]

P = TypeVar("P", float, Node)
"""What a model's parameters are: floats (a model at rest) or Nodes (a traced model)."""
Q = TypeVar("Q", float, Node)

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


ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
"""The activations a neuron can apply to its weighted sum (``linear``: none)."""

_ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}


def _activation(who: str, activation: object) -> str:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise OperandValueError(
            f"{who}: activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got "
            f"{activation!r}"
        )
    return activation


def _hidden(activation: str) -> str:
    # Neuron.of's activation for a neuron that is not linear ("relu" for a linear one, which
    # nonlin=False overrides).
    return "relu" if activation == "linear" else activation


def _leaf(tape: Tape, data: float, label: str) -> Node:
    with tape:
        return Node(data, label=label)


# --------------------------------------------------------------------------- Neuron


@attrs.frozen(init=False)
class Neuron(Generic[P]):
    """``act = b + Σ wᵢ·xᵢ``, then its activation: micrograd's neuron, immutable.

    ``Neuron(nin)`` draws the weights uniformly from [-1, 1] and sets the bias to 0, as
    micrograd does; ``seed`` makes that reproducible. The activation is relu (micrograd's
    hidden neurons) unless ``activation`` says ``"tanh"``, ``"sigmoid"`` or ``"linear"``;
    ``nonlin=False`` is micrograd's spelling of ``"linear"``.

    >>> n = Neuron(3, seed=0)
    >>> n.nin, n.b, len(n.parameters())
    (3, 0.0, 4)
    >>> n((0.0, 0.0, 0.0))
    0.0
    >>> Neuron(2, nonlin=False, seed=0) == Neuron(2, nonlin=False, seed=0)
    True
    >>> import math
    >>> Neuron.of([1.0], 0.0, activation="tanh")((0.5,)) == math.tanh(0.5)
    True
    """

    w: tuple[P, ...]
    """The weights, one per input."""
    b: P
    """The bias."""
    activation: str
    """What follows the weighted sum: one of :data:`ACTIVATIONS`."""

    def __init__(
        self: Neuron[float],
        nin: int,
        *,
        nonlin: bool = True,
        activation: str = "relu",
        seed: Seed = None,
    ) -> None:
        rng = _rng(seed)
        nin = _count("Neuron", "nin", nin)
        act = _activation("Neuron", activation) if nonlin else "linear"
        self.__attrs_init__(tuple(rng.uniform(-1.0, 1.0) for _ in range(nin)), 0.0, act)

    @classmethod
    def of(
        cls, w: Sequence[Q], b: Q, nonlin: bool = True, *, activation: str = "relu"
    ) -> Neuron[Q]:
        """A neuron with exactly these parameters (floats or Nodes).

        >>> Neuron.of([0.5, -2.0], 1.0, nonlin=False)((2.0, 1.0))
        0.0
        """
        act = _activation("Neuron.of", activation) if nonlin else "linear"
        neuron: Neuron[Q] = object.__new__(Neuron)
        neuron.__attrs_init__(tuple(w), b, act)
        return neuron

    @property
    def nonlin(self) -> bool:
        """Whether an activation follows the weighted sum (micrograd's name), i.e. not linear."""
        return self.activation != "linear"

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
                f"Neuron: expected {len(self.w)} inputs, got {len(x)}: {arrays.preview(x)}; "
                "pass one value per weight"
            )
        act: Any = self.b
        for wi, xi in zip(self.w, x, strict=True):
            act = act + wi * xi
        activation = self.activation
        if activation == "relu":
            return _float_relu(act) if type(act) is float else act.relu()
        if activation == "linear":
            return act
        if type(act) is float:
            return _floats.tanh(act) if activation == "tanh" else _floats.sigmoid(act)
        return act.tanh() if activation == "tanh" else act.sigmoid()

    def __repr__(self) -> str:
        return f"{_ACTIVATION_NAMES[self.activation]}Neuron({len(self.w)})"


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
        self: Layer[float],
        nin: int,
        nout: int,
        *,
        nonlin: bool = True,
        activation: str = "relu",
        seed: Seed = None,
    ) -> None:
        rng = _rng(seed)
        nout = _count("Layer", "nout", nout)
        act = _activation("Layer", activation)
        self.__attrs_init__(
            tuple(Neuron(nin, nonlin=nonlin, activation=act, seed=rng) for _ in range(nout))
        )

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
    """A multi-layer perceptron: hidden layers with an activation, and a linear output layer.

    ``MLP(2, [16, 16, 1])`` is the network of micrograd's moons demo: 2 inputs, two hidden
    layers of 16 relu neurons, one linear output neuron (337 parameters).
    ``activation="tanh"`` (or ``"sigmoid"``, ``"linear"``) changes the hidden layers'; the
    output layer stays linear, so its outputs are scores (logits) for any loss.

    >>> model = MLP(2, [16, 16, 1], seed=1337)
    >>> model.shape, len(model.parameters())
    ((2, 16, 16, 1), 337)
    >>> model
    MLP(2, [16, 16, 1])
    >>> isinstance(model((0.5, 0.25)), float)
    True

    ``model(x)`` returns the single output of a one-output network; ``model.outputs(x)``
    returns all the outputs of any network.

    >>> MLP(2, [8, 3], activation="tanh", seed=0)
    MLP(2, [8, 3], activation='tanh')
    """

    layers: tuple[Layer[P], ...]

    def __init__(
        self: MLP[float],
        nin: int,
        nouts: Sequence[int],
        *,
        activation: str = "relu",
        seed: Seed = None,
    ) -> None:
        rng = _rng(seed)
        activation = _activation("MLP", activation)
        nin = _count("MLP", "nin", nin)
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise OperandTypeError(
                f"MLP: nouts must be a non-empty list of layer sizes like [16, 16, 1], got {nouts!r}"
            )
        sizes = [nin, *(_count("MLP", "each layer size", n) for n in nouts)]
        last = len(nouts) - 1
        self.__attrs_init__(
            tuple(
                Layer(sizes[i], sizes[i + 1], nonlin=i != last, activation=activation, seed=rng)
                for i in range(len(nouts))
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

        A float model's parameters are floats (a float subclass that prints and computes
        as one), values rather than variables: micrograd's ``p.data -= lr * p.grad`` has
        nothing to update, and says how fnad does it instead.

        >>> model = MLP(2, [2, 1], seed=0)
        >>> p = model.parameters()[0]
        >>> p == model.layers[0].neurons[0].w[0], isinstance(p, float)
        (True, True)
        >>> p.data -= 0.1 * p.grad
        Traceback (most recent call last):
        ...
        fnad.errors.MissingAttributeError: MLP(...).parameters() are plain floats, ...
        """
        params = self._parameter_values()
        if params and type(params[0]) is float:
            return tuple(map(_FloatParameter, params))
        return params

    def _parameter_values(self) -> tuple[P, ...]:
        """:meth:`parameters` as stored: builtin floats (or Nodes), for the fast paths."""
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
        # builtin floats, not the float subclass parameters() hands out
        given = tuple(float(v) if type(v) is _FloatParameter else v for v in values)
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
                neurons.append(
                    Neuron.of(w, next(it), neuron.nonlin, activation=_hidden(neuron.activation))
                )
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
                for p, name in zip(self._parameter_values(), self.labels(), strict=True)
            )

    def gradient(self: MLP[Node], grads: Mapping[Node, float]) -> tuple[float, ...]:
        """∂loss/∂parameter for each parameter, from the result of ``loss.backward()``.

        A parameter the loss does not depend on gets 0.0.
        """
        _check_gradient_call(self, grads)
        return tuple(grads.get(p, 0.0) for p in self.parameters())

    def detach(self: MLP[Node]) -> MLP[float]:
        """The network with each parameter Node replaced by its float value."""
        return self.with_parameters(p.data for p in self.parameters())

    # -- forward -----------------------------------------------------------------------

    @overload
    def outputs(
        self: MLP[float], x: Sequence[float], *, hidden: list[Any] | None = None
    ) -> tuple[float, ...]: ...
    @overload
    def outputs(
        self: MLP[Node], x: Sequence[Operand], *, hidden: list[Any] | None = None
    ) -> tuple[Node, ...]: ...
    def outputs(self, x: Sequence[Any], *, hidden: list[Any] | None = None) -> tuple[Any, ...]:
        """Every output of the last layer for the input ``x``.

        On a traced network, numbers in ``x`` are recorded once as constants (not once per
        neuron that reads them); on a float network ``x`` must be numbers. ``x`` may be a
        1-D NumPy array (a row of sklearn's ``make_moons`` output, say). Given a list
        ``hidden``, the outputs of every hidden layer (after their activation), layer by
        layer, are appended to it (the gradient-flow statistics read them).

        >>> hidden = []
        >>> MLP(2, [3, 2, 1], seed=0).outputs((1.0, 2.0), hidden=hidden) and len(hidden)
        5
        """
        x = arrays.point(x, f"{self!r}", self.layers[0].nin)
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
            if hidden is not None and layer is not self.layers[-1]:
                hidden.extend(values)
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
        params = self._parameter_values()
        if len(grads) != len(params):
            raise OperandValueError(
                f"MLP.step: got {len(grads)} gradients for {len(params)} parameters; pass "
                "net.gradient(loss.backward()), one gradient per parameter"
            )
        rate = to_float(lr, "MLP.step")
        return self.with_parameters(
            p - rate * to_float(g, "MLP.step") for p, g in zip(params, grads, strict=True)
        )

    # -- files ---------------------------------------------------------------------------

    def save(self: MLP[float], path: str | os.PathLike[str]) -> None:
        """Write the model to ``path`` as JSON (:mod:`fnad.nn.files`): no pickle, exact floats.

        >>> import os, tempfile
        >>> model = MLP(2, [4, 1], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
        >>> model.save(path)
        >>> MLP.load(path) == model
        True
        """
        from fnad.nn import files  # files builds models, so it imports this module

        files.save(self, path)

    @staticmethod
    def load(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> MLP[float]:
        """The model saved at ``path`` by :meth:`save`, bit for bit.

        The file is untrusted input: it is size-bounded (``max_bytes``, default
        :data:`fnad.nn.files.MAX_MODEL_BYTES`) and checked field by field, and anything
        wrong is a :class:`~fnad.errors.ModelFileError` naming the place. Nothing is run.
        """
        from fnad.nn import files

        if max_bytes is None:
            return files.load(path)
        return files.load(path, max_bytes=max_bytes)

    @property
    def activation(self) -> str:
        """The hidden layers' activation (``"relu"`` for micrograd's network; the output layer
        is linear). A network built with :meth:`of` from layers of different activations
        says ``"mixed"``."""
        hidden = {n.activation for layer in self.layers[:-1] for n in layer.neurons}
        if not hidden:
            return "relu"  # a single layer: no hidden activation to name
        return hidden.pop() if len(hidden) == 1 else "mixed"

    def __repr__(self) -> str:
        nin, *nouts = self.shape
        activation = self.activation
        if activation == "relu":
            return f"MLP({nin}, {nouts})"
        return f"MLP({nin}, {nouts}, activation={activation!r})"


# --------------------------------------------------------------------------- habits


class _FloatParameter(float):
    """A float model's parameter: a float that explains, when asked for ``.data`` or
    ``.grad``, that fnad's models are values updated by returning new ones."""

    __slots__ = ()

    def __repr__(self) -> str:
        return float.__repr__(self)

    def _refuse(self, name: str) -> MissingAttributeError:
        return MissingAttributeError(
            f"MLP(...).parameters() are plain floats, not micrograd Values: a parameter has "
            f"no .{name}, and a model is never updated in place. The fnad way: with "
            "fnad.Tape(): net = model.trace(); loss = ...; grads = net.gradient("
            "loss.backward()); then model = model.step(grads, lr) (a new model). "
            "fnad.nn.train_step(model, points, labels, lr) does a whole step, compiled"
        )

    @property
    def data(self) -> float:
        raise self._refuse("data")

    @property
    def grad(self) -> float:
        raise self._refuse("grad")

    def __setattr__(self, name: str, value: object) -> None:
        raise self._refuse(name)


def _check_gradient_call(model: MLP[Any], grads: object) -> None:
    """Refuse ``net.gradient(...)`` called the micrograd way: on the float model, with the
    loss, or with anything but the mapping ``loss.backward()`` returns."""
    if type(model.layers[0].neurons[0].parameters()[0]) is not Node:
        raise OperandTypeError(
            f"{model!r}.gradient(): this model's parameters are floats, so no loss depends "
            "on them and every gradient would be 0. Differentiate the traced network: "
            "with fnad.Tape(): net = model.trace(); loss = ...; "
            "grads = net.gradient(loss.backward()); then model = model.step(grads, lr)"
        )
    if isinstance(grads, Node):
        raise OperandTypeError(
            f"{model!r}.gradient() takes the gradients, got the loss {grads!r}; "
            "pass what backward returns: net.gradient(loss.backward())"
        )
    if not isinstance(grads, Mapping):
        raise OperandTypeError(
            f"{model!r}.gradient() takes the mapping loss.backward() returns, got "
            f"{type(grads).__name__}; pass net.gradient(loss.backward())"
        )


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


# --------------------------------------------------------------------------- old paths

# The losses, training steps and optimizers lived here before fnad.nn was split by role;
# ``from fnad.nn.model import train_step`` keeps working (read lazily: those modules import
# this one).
_MOVED = {
    "hinge_loss": "fnad.nn.losses",
    "l2": "fnad.nn.losses",
    "accuracy": "fnad.nn.losses",
    "MOONS": "fnad.nn.training",
    "MoonsSettings": "fnad.nn.training",
    "StepResult": "fnad.nn.training",
    "train_step": "fnad.nn.training",
    "step_program": "fnad.nn.training",
    "Adam": "fnad.nn.optim",
}

if TYPE_CHECKING:
    from fnad.nn.losses import accuracy as accuracy
    from fnad.nn.losses import hinge_loss as hinge_loss
    from fnad.nn.losses import l2 as l2
    from fnad.nn.optim import Adam as Adam
    from fnad.nn.training import MOONS as MOONS
    from fnad.nn.training import MoonsSettings as MoonsSettings
    from fnad.nn.training import StepResult as StepResult
    from fnad.nn.training import step_program as step_program
    from fnad.nn.training import train_step as train_step
else:

    def __getattr__(name: str) -> Any:
        home = _MOVED.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(home), name)
