"""fnad.nn: immutable models, gradients equal to a hand-built network, training, memory."""

from __future__ import annotations

import gc
import itertools
import math
import random
import tracemalloc
import weakref
from collections.abc import Sequence
from typing import assert_type

import attrs
import pytest

import fnad
import fnad.nn.training
from fnad import Node
from fnad.nn import MLP, Adam, Layer, Neuron, accuracy, hinge_loss, l2, train_step
from fnad.nn.datasets import moons

# --------------------------------------------------------------------------- helpers


def hand_built_loss(
    weights: Sequence[Node],
    sizes: Sequence[int],
    points: Sequence[Sequence[float]],
    labels: Sequence[int],
    alpha: float,
) -> Node:
    """micrograd's demo loss written out with raw Nodes, sharing no code with fnad.nn."""
    layers: list[list[tuple[list[Node], Node]]] = []
    position = 0
    for nin, nout in itertools.pairwise(sizes):
        neurons = []
        for _ in range(nout):
            w = list(weights[position : position + nin])
            b = weights[position + nin]
            position += nin + 1
            neurons.append((w, b))
        layers.append(neurons)
    assert position == len(weights)
    total = None
    for x, y in zip(points, labels, strict=True):
        values: list[Node] = [fnad.current_tape().constant(v) for v in x]
        for depth, neurons in enumerate(layers):
            outputs = []
            for w, b in neurons:
                act = b
                for wi, xi in zip(w, values, strict=True):
                    act = act + wi * xi
                outputs.append(act if depth == len(layers) - 1 else act.relu())
            values = outputs
        margin = (1 - y * values[0]).relu()
        total = margin if total is None else total + margin
    assert total is not None
    data_loss = total * (1.0 / len(points))
    reg = weights[0] * weights[0]
    for p in weights[1:]:
        reg = reg + p * p
    return data_loss + alpha * reg


def float_loss(
    model: MLP[float], points: Sequence[Sequence[float]], labels: Sequence[int]
) -> float:
    scores = [model(x) for x in points]
    return hinge_loss(scores, labels) + l2(model.parameters(), 1e-4)


# --------------------------------------------------------------------------- construction


def test_mlp_matches_micrograd_shape_and_init() -> None:
    model = MLP(2, [16, 16, 1], seed=1337)
    assert model.shape == (2, 16, 16, 1)
    assert len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    assert repr(model) == "MLP(2, [16, 16, 1])"
    assert [n.nonlin for layer in model.layers for n in layer.neurons[:1]] == [True, True, False]
    for layer in model.layers:
        for neuron in layer.neurons:
            assert neuron.b == 0.0
            assert all(-1.0 <= w <= 1.0 for w in neuron.w)
    assert all(isinstance(p, float) for p in model.parameters())
    assert all(type(p) is float for p in model._parameter_values())


def test_construction_is_deterministic_per_seed() -> None:
    assert MLP(2, [16, 16, 1], seed=3) == MLP(2, [16, 16, 1], seed=3)
    assert MLP(2, [16, 16, 1], seed=3) != MLP(2, [16, 16, 1], seed=4)
    rng_a, rng_b = random.Random(9), random.Random(9)
    assert Layer(3, 4, seed=rng_a) == Layer(3, 4, seed=rng_b)
    random.seed(0)
    unseeded = MLP(2, [3, 1])
    random.seed(0)
    assert MLP(2, [3, 1]) != unseeded  # None draws fresh entropy, not the global state


def test_models_are_immutable() -> None:
    model = MLP(2, [3, 1], seed=0)
    neuron = model.layers[0].neurons[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        model.layers = ()  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        neuron.b = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        neuron.w[0] = 1.0  # type: ignore[index]
    before = model.parameters()
    stepped = model.step([1.0] * len(before), lr=0.1)
    assert model.parameters() == before
    assert stepped.parameters() == tuple(p - 0.1 for p in before)
    assert hash(model) == hash(MLP(2, [3, 1], seed=0))


def test_with_parameters_round_trips_in_micrograd_order() -> None:
    model = MLP(3, [2, 1], seed=0)
    assert model.with_parameters(model.parameters()) == model
    numbered = model.with_parameters([float(i) for i in range(len(model.parameters()))])
    first = numbered.layers[0].neurons[0]
    assert first.w == (0.0, 1.0, 2.0) and first.b == 3.0
    assert numbered.layers[1].neurons[0].w == (8.0, 9.0)
    assert numbered.layers[1].neurons[0].b == 10.0
    assert model.labels()[:4] == ("L0.N0.w0", "L0.N0.w1", "L0.N0.w2", "L0.N0.b")
    with pytest.raises(fnad.OperandValueError, match="got 3 values for 11 parameters"):
        model.with_parameters([1.0, 2.0, 3.0])


def test_micrograd_style_constructors_and_of() -> None:
    neuron = Neuron.of([0.5, -2.0], 1.0)
    assert neuron((2.0, 1.0)) == 0.0  # relu(1 + 1 - 2)
    assert Neuron.of([0.5, -2.0], 1.5)((2.0, 1.0)) == 0.5
    assert Neuron.of([1.0], -3.0, nonlin=False)((1.0,)) == -2.0
    assert repr(neuron) == "ReLUNeuron(2)"
    layer = Layer.of([neuron, Neuron.of([1.0, 1.0], 0.0, nonlin=False)])
    assert layer((1.0, 1.0)) == (0.0, 2.0)
    with pytest.raises(fnad.OperandValueError, match="same inputs"):
        Layer.of([neuron, Neuron.of([1.0], 0.0)])
    with pytest.raises(fnad.OperandValueError, match="sizes must match"):
        MLP.of([layer, Layer(3, 1, seed=0)])


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: MLP(2, "16"), fnad.OperandTypeError, "layer sizes"),  # type: ignore[arg-type]
        (lambda: MLP(2, []), fnad.OperandTypeError, "layer sizes"),
        (lambda: MLP(0, [1]), fnad.OperandValueError, "nin must be >= 1"),
        (lambda: MLP(2, [4, 0]), fnad.OperandValueError, "each layer size must be >= 1"),
        (lambda: MLP(2, [2.5]), fnad.OperandTypeError, "must be an int"),  # type: ignore[list-item]
        (lambda: Neuron(True), fnad.OperandTypeError, "nin must be an int"),
        (lambda: MLP(2, [1], seed="x"), fnad.OperandTypeError, "seed must be"),  # type: ignore[arg-type]
    ],
)
def test_bad_construction_is_a_clear_fnad_error(
    make: object, error: type[Exception], message: str
) -> None:
    assert callable(make)
    with pytest.raises(error, match=message):
        make()


def test_forward_errors_name_the_fix() -> None:
    model = MLP(2, [3, 2], seed=0)
    with pytest.raises(fnad.OperandValueError, match=r"2 outputs; .*model\.outputs\(x\)"):
        model((1.0, 2.0))
    assert len(model.outputs((1.0, 2.0))) == 2
    with pytest.raises(
        fnad.OperandValueError, match="the input has 3 numbers, the network reads 2"
    ):
        model.outputs((1.0, 2.0, 3.0))
    with pytest.raises(fnad.OperandTypeError, match="argument 2 is '2'"):
        model.outputs((1.0, "2"))  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandValueError, match="2 gradients for 17"):
        MLP(2, [4, 1], seed=0).step([1.0, 2.0], lr=0.1)


# --------------------------------------------------------------------------- forward and gradients


def test_float_and_traced_forward_agree() -> None:
    model = MLP(2, [16, 16, 1], seed=5)
    rng = random.Random(0)
    with fnad.Tape():
        net = model.trace()
        for _ in range(20):
            x = (rng.uniform(-2, 2), rng.uniform(-2, 2))
            assert net(x).data == model(x)
            assert net([Node(x[0]), Node(x[1])]).data == model(x)
    assert net.detach() == model


def test_trace_records_labelled_leaves_on_the_current_tape() -> None:
    model = MLP(2, [2, 1], seed=0)
    with fnad.Tape() as tape:
        net = model.trace()
        assert len(tape) == len(model.parameters())
        assert [p.label for p in net.parameters()] == list(model.labels())
        assert all(p.op == "" and p.tape is tape for p in net.parameters())
        score = net((1.0, 2.0))
        # the two inputs are recorded once each, not once per neuron reading them
        assert sum(1 for n in tape.graph if n.op == "const") == 2
    assert score.tape is tape
    other = fnad.Tape()
    assert model.trace(other).parameters()[0].tape is other
    with other, pytest.raises(fnad.TapeError):
        net([Node(1.0), Node(2.0)])


@pytest.mark.parametrize("sizes", [[1], [4, 1], [16, 16, 1], [3, 3, 3, 1]])
def test_gradients_equal_a_hand_built_network(sizes: list[int]) -> None:
    points, labels = moons(12, noise=0.1, seed=2)
    model = MLP(2, sizes, seed=11)
    with fnad.Tape():
        net = model.trace()
        loss = hinge_loss([net(x) for x in points], labels) + l2(net.parameters(), 1e-4)
        ours = net.gradient(loss.backward())
    with fnad.Tape():
        weights = [Node(p) for p in model.parameters()]
        reference = hand_built_loss(weights, [2, *sizes], points, labels, 1e-4)
        grads = reference.backward()
        theirs = tuple(grads.get(w, 0.0) for w in weights)
    assert reference.data == loss.data
    assert ours == theirs
    assert any(g != 0.0 for g in ours)


def test_gradients_match_finite_differences() -> None:
    points, labels = moons(10, noise=0.1, seed=4)
    model = MLP(2, [5, 1], seed=3)
    with fnad.Tape():
        net = model.trace()
        loss = hinge_loss([net(x) for x in points], labels) + l2(net.parameters(), 1e-4)
        grads = net.gradient(loss.backward())
    params = list(model.parameters())
    h = 1e-6
    for i, g in enumerate(grads):
        up = params.copy()
        down = params.copy()
        up[i] += h
        down[i] -= h
        estimate = (
            float_loss(model.with_parameters(up), points, labels)
            - float_loss(model.with_parameters(down), points, labels)
        ) / (2 * h)
        assert math.isclose(g, estimate, rel_tol=1e-4, abs_tol=1e-7), (i, g, estimate)


def test_unused_parameters_get_zero_gradient() -> None:
    model = MLP(1, [2, 1], seed=0)
    with fnad.Tape():
        net = model.trace()
        out = net.layers[0].neurons[0]((1.0,))
        grads = net.gradient(out.backward())
    assert grads[2:] == (0.0,) * (len(grads) - 2)


# --------------------------------------------------------------------------- losses


def test_hinge_loss_and_l2_on_floats_and_nodes() -> None:
    scores, labels = [2.0, 0.5, -1.0, -0.25], [1, 1, 1, -1]
    expected = (0.0 + 0.5 + 2.0 + 0.75) / 4
    assert hinge_loss(scores, labels) == expected
    with fnad.Tape():
        nodes = [Node(s) for s in scores]
        loss = hinge_loss(nodes, labels)
        assert loss.data == expected
        grads = loss.backward()
        # ∂/∂sᵢ = -yᵢ/n where the margin is active, 0 where it is not
        assert [grads[n] for n in nodes] == [0.0, -0.25, -0.25, 0.25]
        reg = l2(nodes, 0.5)
    assert isinstance(reg, Node) and reg.data == 0.5 * (4.0 + 0.25 + 1.0 + 0.0625)
    assert l2([], 0.1) == 0.0
    with pytest.raises(fnad.OperandValueError, match="one label per score"):
        hinge_loss([1.0], [1, -1])
    with pytest.raises(fnad.OperandValueError):
        hinge_loss([], [])


def test_accuracy_counts_sign_agreement() -> None:
    assert accuracy([0.3, -2.0, 0.0, 5.0], [1, 1, -1, -1]) == 0.5
    with fnad.Tape():
        assert accuracy([Node(1.0), Node(-1.0)], [1, -1]) == 1.0
    with pytest.raises(ValueError):
        accuracy([1.0], [1, 1])


# --------------------------------------------------------------------------- training


def test_train_step_lowers_the_loss_and_returns_a_new_model() -> None:
    points, labels = moons(20, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], seed=0)
    losses = []
    for k in range(15):
        result = train_step(model, points, labels, lr=1.0 - 0.9 * k / 15)
        assert result.model is not model
        assert result.loss == pytest.approx(float_loss(model, points, labels), rel=1e-12)
        losses.append(result.loss)
        model = result.model
    assert losses[-1] < losses[0] / 2
    assert accuracy([model(x) for x in points], labels) >= 0.85


def test_the_compiled_step_follows_a_rule_replaced_in_place() -> None:
    # defop(..., replace=True) changes the current table in place: the step program cached
    # before it must not be reused after it.
    points, labels = moons(8, seed=0)
    model = MLP(2, [4, 1], seed=0)
    with fnad.isolated_rules():
        before = train_step(model, points, labels, lr=0.1)
        fnad.defop(
            "relu",
            impl=lambda x: x if x > 0 else 0.1 * x,
            partials=lambda x, out: (1.0 if x > 0 else 0.1,),
            replace=True,
        )
        compiled = train_step(model, points, labels, lr=0.1)
        eager = train_step(model, points, labels, lr=0.1, compiled=False)
    assert compiled == eager and compiled.loss != before.loss


def test_train_step_leaves_no_graph_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    points, labels = moons(6, noise=0.1, seed=0)
    default = fnad.current_tape()
    before = len(default)
    tapes: list[weakref.ref[fnad.Tape]] = []

    class Spy(fnad.Tape):
        def __enter__(self) -> fnad.Tape:
            tapes.append(weakref.ref(self))
            return super().__enter__()

    monkeypatch.setattr(fnad.nn.training, "Tape", Spy)
    result = train_step(MLP(2, [4, 1], seed=0), points, labels, lr=0.1)
    del result
    gc.collect()
    assert tapes and all(ref() is None for ref in tapes)
    assert len(default) == before


def test_memory_stays_flat_over_a_long_run() -> None:
    # Each step's tape is freed by the cyclic GC (Node <-> Tape cycles), so collect
    # before each measured step: what is left over then is what training retains.
    points, labels = moons(6, noise=0.1, seed=1)
    model = MLP(2, [3, 1], seed=1)
    checkpoints = {10, 100, 250, 400, 600}
    peaks: dict[int, int] = {}
    retained: dict[int, int] = {}
    gc.collect()
    tracemalloc.start()
    try:
        for k in range(1, max(checkpoints) + 1):
            if k in checkpoints:
                gc.collect()
                retained[k] = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
            model = train_step(model, points, labels, lr=0.05).model
            if k in checkpoints:
                peaks[k] = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for k in checkpoints:
        assert peaks[k] <= 1.1 * peaks[10], (k, peaks)
        assert retained[k] <= retained[10] + 4096, (k, retained)


def test_adam_matches_the_update_rule_and_trains() -> None:
    model = MLP(1, [1], seed=0)
    w, b = model.parameters()
    opt = Adam(lr=0.1)
    stepped, opt = opt.step(model, [2.0, -0.5])
    # after one step Adam moves every parameter by lr against the sign of its gradient
    assert stepped.parameters() == pytest.approx((w - 0.1, b + 0.1), rel=1e-6)
    assert opt.t == 1
    assert opt.m == pytest.approx((0.2, -0.05))
    assert opt.v == pytest.approx((0.004, 0.00025))
    assert model.parameters() == (w, b)

    points, labels = moons(20, noise=0.1, seed=0)
    model, opt = MLP(2, [8, 1], seed=0), Adam(lr=0.05)
    first = float_loss(model, points, labels)
    for _ in range(20):
        with fnad.Tape():
            net = model.trace()
            loss = hinge_loss([net(x) for x in points], labels) + l2(net.parameters(), 1e-4)
            grads = net.gradient(loss.backward())
        model, opt = opt.step(model, grads)
    assert float_loss(model, points, labels) < first / 2
    with pytest.raises(fnad.OperandValueError, match="fresh Adam"):
        opt.step(MLP(2, [1], seed=0), [0.0, 0.0, 0.0])


# --------------------------------------------------------------------------- typing


def test_static_types() -> None:
    model = MLP(2, [3, 1], seed=0)
    assert_type(model, MLP[float])
    assert_type(model((1.0, 2.0)), float)
    assert_type(model.outputs((1.0, 2.0)), tuple[float, ...])
    assert_type(model.parameters(), tuple[float, ...])
    with fnad.Tape():
        net = model.trace()
        assert_type(net, MLP[Node])
        score = net((1.0, Node(2.0)))
        assert_type(score, Node)
        assert_type(hinge_loss([score], [1]), Node)
        assert_type(net.gradient(score.backward()), tuple[float, ...])
    assert_type(hinge_loss([1.0], [1]), float)
    assert_type(model.step([0.0] * 13, 0.1), MLP[float])
    assert_type(Neuron(2, seed=0), Neuron[float])
    assert_type(Layer(2, 2, seed=0)((0.0, 1.0)), tuple[float, ...])
