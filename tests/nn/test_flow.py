"""fnad.flow: per-layer gradient statistics of fnad.nn networks, against a brute-force
computation from backward() and a float forward pass."""

from __future__ import annotations

import json
import math
import struct
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
from fnad import Node
from fnad.nn.datasets import moons
from fnad.nn.flow import (
    FLOW_PLOT_SIZE,
    FlowStats,
    flow_stats,
    flow_step,
    history_as_dict,
    plot_flow,
)
from fnad.nn.model import MLP, Layer, Neuron, hinge_loss, l2, train_step
from fnad.viz.render import number
from fnad.viz.summary import GradStats


def traced_step(
    model: MLP[float], points: Sequence[Sequence[float]], labels: Sequence[int], alpha: float
) -> tuple[FlowStats, FlowStats, dict[Node, float], MLP[Node]]:
    with fnad.Tape():
        net = model.trace()
        loss = hinge_loss([net(x) for x in points], labels) + l2(net.parameters(), alpha)
        grads = loss.backward()
        return (
            flow_stats(net, grads),
            flow_stats(net, grads, neurons=True),
            dict(grads),
            net,
        )


def pre_activations(model: MLP[float], point: Sequence[float]) -> list[list[float]]:
    """Each layer's pre-activations for one input, computed on floats by hand."""
    values = list(point)
    layers = []
    for layer in model.layers:
        acts = [n.b + sum(w * x for w, x in zip(n.w, values, strict=True)) for n in layer.neurons]
        layers.append(acts)
        values = [max(a, 0.0) if n.nonlin else a for a, n in zip(acts, layer.neurons, strict=True)]
    return layers


def brute_force_check(
    model: MLP[float], points: Sequence[Sequence[float]], labels: Sequence[int], alpha: float
) -> None:
    stats, detailed, grads, net = traced_step(model, points, labels, alpha)
    acts = [pre_activations(model, p) for p in points]
    norms = []
    for i, (layer, traced, flow) in enumerate(
        zip(model.layers, net.layers, stats.layers, strict=True)
    ):
        weights = [grads.get(w, 0.0) for n in traced.neurons for w in n.w]
        biases = [grads.get(n.b, 0.0) for n in traced.neurons]
        assert flow.name == f"L{i}" and flow.units == layer.nout
        assert flow.weights.count == len(weights) and flow.biases.count == len(biases)
        assert flow.weights.mean_abs == pytest.approx(sum(map(abs, weights)) / len(weights))
        assert flow.weights.max_abs == max(map(abs, weights))
        assert flow.biases.max_abs == max(map(abs, biases))
        norm = math.sqrt(sum(g * g for g in weights + biases))
        assert flow.norm == pytest.approx(norm)
        norms.append(norm)
        if layer.neurons[0].nonlin:
            alive = [sum(a[i][j] > 0.0 for a in acts) for j in range(layer.nout)]
            assert flow.dead == alive.count(0)
            assert flow.dead_fraction == alive.count(0) / layer.nout
            for j, neuron in enumerate(detailed.layers[i].neurons):
                assert neuron.name == f"L{i}.N{j}"
                assert (neuron.active, neuron.evaluations) == (alive[j], len(points))
                assert neuron.dead == (alive[j] == 0)
                assert neuron.bias == grads.get(traced.neurons[j].b, 0.0)
        else:
            assert flow.dead == 0 and flow.dead_fraction is None
    for i, flow in enumerate(stats.layers):
        if i + 1 < len(norms) and norms[i + 1] == 0.0:  # IEEE: x/0 is inf, 0/0 is nan
            assert flow.ratio is not None
            assert math.isnan(flow.ratio) if norms[i] == 0.0 else flow.ratio == math.inf
        elif i + 1 < len(norms):
            assert flow.ratio == pytest.approx(norms[i] / norms[i + 1])
        else:
            assert flow.ratio is None
    assert stats.samples == (len(points) if len(model.layers) > 1 else 0)
    assert detailed.layers[0].weights == stats.layers[0].weights
    assert stats.layers[0].neurons == () and len(detailed.layers[0].neurons) == model.layers[0].nout


@settings(max_examples=15)
@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
    st.integers(0, 10_000),
    st.integers(2, 6),
    st.sampled_from([0.0, 1e-2]),
)
def test_statistics_match_backward_and_a_float_forward_pass(
    hidden: list[int], seed: int, samples: int, alpha: float
) -> None:
    points, labels = moons(samples, noise=0.2, seed=seed)
    brute_force_check(MLP(2, [*hidden, 1], seed=seed), points, labels, alpha)


def dead_model() -> MLP[float]:
    """A 2-3-1 network whose first hidden neuron can never fire (bias -100)."""
    model = MLP(2, [3, 1], seed=0)
    first, *rest = model.layers[0].neurons
    layer0 = Layer.of([Neuron.of(first.w, -100.0), *rest])
    return MLP.of([layer0, model.layers[1]])


def test_a_neuron_with_a_huge_negative_bias_is_dead() -> None:
    points, labels = moons(8, noise=0.1, seed=1)
    stats, detailed, _, _ = traced_step(dead_model(), points, labels, alpha=0.0)
    assert stats.layers[0].dead == 1
    neuron = detailed.layers[0].neurons[0]
    assert neuron.dead and neuron.active == 0 and neuron.evaluations == 8
    # no gradient reaches its weights or bias from the data
    assert neuron.weights == GradStats(count=2, mean_abs=0.0, max_abs=0.0, norm=0.0, zero=2)
    assert neuron.bias == 0.0
    brute_force_check(dead_model(), points, labels, alpha=0.0)
    assert "L0.N0: mean|∂w| 0, max|∂w| 0, ∂b 0; relu passed gradient for 0 of 8 (dead)" in str(
        detailed
    )


def test_text_form_is_a_readable_table() -> None:
    points, labels = moons(6, noise=0.1, seed=2)
    stats, detailed, _, _ = traced_step(MLP(2, [4, 4, 1], seed=2), points, labels, 1e-4)
    lines = str(stats).splitlines()
    assert lines[0] == f"gradient flow of a loss of {number(stats.loss)} over 6 samples"
    assert lines[1].split() == [
        "layer",
        "units",
        "mean|∂w|",
        "max|∂w|",
        "mean|∂b|",
        "max|∂b|",
        "‖∂‖",
        "ratio",
        "dead",
    ]
    assert [line.split()[0] for line in lines[2:]] == ["L0", "L1", "L2"]
    assert lines[-1].split()[-2:] == ["–", "–"]  # the linear output: no ratio, no relu
    assert len(str(detailed).splitlines()) == len(lines) + 4 + 4 + 1


def test_as_dict_is_strict_json_and_round_trips_the_numbers() -> None:
    points, labels = moons(6, noise=0.1, seed=2)
    stats, detailed, _, _ = traced_step(MLP(2, [4, 1], seed=2), points, labels, 1e-4)
    document = json.loads(json.dumps(detailed.as_dict(), allow_nan=False))
    assert document["samples"] == 6 and document["loss"] == stats.loss
    layer = document["layers"][0]
    assert layer["name"] == "L0" and layer["weights"]["max_abs"] == stats.layers[0].weights.max_abs
    assert layer["dead_fraction"] == stats.layers[0].dead_fraction
    assert [n["name"] for n in layer["neurons"]] == ["L0.N0", "L0.N1", "L0.N2", "L0.N3"]
    assert "neurons" not in stats.as_dict()["layers"][0]
    assert (
        document["layers"][1]["ratio"] is None
        and document["layers"][0]["ratio"] == stats.layers[0].ratio
    )
    history = history_as_dict([stats, stats])
    assert history["layers"] == ["L0", "L1"] and len(history["steps"]) == 2


def test_non_finite_gradients_are_encoded_not_raised() -> None:
    model = MLP(1, [2, 1], seed=0).with_parameters([1e308, 0.0, 1e308, 0.0, 1e308, 1e308, 0.0])
    with fnad.Tape():
        net = model.trace()
        loss = net((10.0,)) * 1e308  # overflows: inf, and inf - inf = nan further back
        stats = flow_stats(net, loss.backward())
    text = json.dumps(stats.as_dict(), allow_nan=False)
    assert '"inf"' in text or '"nan"' in text
    assert "inf" in str(stats) or "nan" in str(stats)


def test_flow_step_is_train_step_plus_statistics() -> None:
    points, labels = moons(10, noise=0.1, seed=4)
    model = MLP(2, [4, 4, 1], seed=4)
    result, stats = flow_step(model, points, labels, lr=0.5, alpha=1e-3)
    assert result == train_step(model, points, labels, lr=0.5, alpha=1e-3)
    expected, _, _, _ = traced_step(model, points, labels, alpha=1e-3)
    assert stats == expected


def test_statistics_cost_little_next_to_the_step() -> None:
    points, labels = moons(30, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    with fnad.Tape():
        net = model.trace()
        loss = hinge_loss([net(x) for x in points], labels) + l2(net.parameters(), 1e-4)
        started = time.perf_counter()
        grads = loss.backward()
        backward = time.perf_counter() - started
        started = time.perf_counter()
        flow_stats(net, grads)
        statistics = time.perf_counter() - started
    assert statistics < 2 * backward + 0.05  # one pass over the tape, no second backward


def test_errors_name_the_fix() -> None:
    points, labels = moons(4, noise=0.1, seed=0)
    model = MLP(2, [2, 1], seed=0)
    with fnad.Tape():
        net = model.trace()
        loss = hinge_loss([net(x) for x in points], labels)
        grads = loss.backward()
    with pytest.raises(fnad.OperandTypeError, match=r"trace the model inside the step's tape"):
        flow_stats(model, grads)  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandTypeError, match=r"pass grads = loss\.backward\(\)"):
        flow_stats(net, dict(grads))  # type: ignore[arg-type]
    with fnad.Tape():
        other = model.trace()
    with pytest.raises(fnad.TapeError, match="traced on another tape than the loss"):
        flow_stats(other, grads)
    with fnad.Tape() as tape:
        net = model.trace()
        loss = hinge_loss([net(x) for x in points], labels)
        with pytest.raises(fnad.OperandTypeError, match=r"these gradients are Nodes"):
            flow_stats(net, loss.backward(create_graph=True))  # type: ignore[arg-type]
        grads = loss.backward()
    tape.close()
    with pytest.raises(fnad.TapeError, match="was closed, so the step's graph is gone"):
        flow_stats(net, grads)
    with pytest.raises(fnad.OperandTypeError, match="the history is empty"):
        plot_flow([], "never.png")


def test_plot_flow_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    points, labels = moons(12, noise=0.1, seed=0)
    model = MLP(2, [4, 4, 1], seed=0)
    history = []
    for _ in range(4):
        result, stats = flow_step(model, points, labels, lr=0.5)
        model = result.model
        history.append(stats)
    picture = tmp_path / "flow.png"
    plot_flow(history, picture, title="four steps")
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == FLOW_PLOT_SIZE
    chunks = []
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunks.append(
            (data[position + 4 : position + 8], data[position + 8 : position + 8 + length])
        )
        position += 12 + length
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(set(pixels)) > 20  # a picture, not a blank canvas


# --------------------------------------------------------------------------- compiled


@pytest.mark.parametrize(
    ("layers", "activation", "seed"),
    [
        ([4, 4, 1], "relu", 1),  # a dead unit at the first step (see the module's doctest)
        ([16, 16, 1], "relu", 1337),  # the demo's network
        ([6, 1], "tanh", 2),
        ([5, 3, 1], "sigmoid", 3),
        ([1], "relu", 4),  # no hidden layer
    ],
)
def test_compiled_flow_equals_eager_flow_step_after_step(
    layers: list[int], activation: str, seed: int
) -> None:
    points, labels = moons(24, noise=0.2, seed=seed)
    eager_model = compiled_model = MLP(2, layers, activation=activation, seed=seed)
    for k in range(4):
        lr = 1.0 - 0.2 * k
        (eager_model, *eager_numbers), eager = flow_step(
            eager_model, points, labels, lr, neurons=True, compiled=False
        )
        (compiled_model, *compiled_numbers), compiled = flow_step(
            compiled_model, points, labels, lr, neurons=True
        )
        assert compiled == eager  # every figure, bit for bit
        assert compiled_numbers == eager_numbers and compiled_model == eager_model
    assert compiled_model == train_step_n(
        MLP(2, layers, activation=activation, seed=seed), points, labels, 4
    )


def train_step_n(model: MLP[float], points: object, labels: object, steps: int) -> MLP[float]:
    for k in range(steps):
        model = train_step(model, points, labels, 1.0 - 0.2 * k).model  # type: ignore[arg-type]
    return model


def test_compiled_flow_counts_dead_units_as_eager() -> None:
    # A network whose first layer is dead on every point: all biases very negative.
    points, labels = moons(8, noise=0.1, seed=0)
    model = MLP(2, [3, 2, 1], seed=0)
    values = list(model.parameters())
    for j in range(3):
        values[j * 3 + 2] = -100.0
    model = model.with_parameters(values)
    _, compiled = flow_step(model, points, labels, 0.1, neurons=True)
    _, eager = flow_step(model, points, labels, 0.1, neurons=True, compiled=False)
    assert compiled == eager
    assert compiled.layers[0].dead == 3 and compiled.layers[0].neurons[0].evaluations == 8


def test_plot_flow_shows_the_loss_and_sizes_the_dead_units_panel(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    points, labels = moons(20, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], seed=0)
    history = []
    for _ in range(4):
        (model, _, _), stats = flow_step(model, points, labels, 0.5)
        history.append(stats)
    figure = plot_flow(history, tmp_path / "flow.svg")
    assert (tmp_path / "flow.svg").read_bytes().startswith(b"<?xml")
    loss_axes, gradients, dead_axes = figure.axes[:3]
    assert gradients.get_yscale() == "log"
    assert loss_axes.get_ylabel() == "loss"
    assert list(loss_axes.lines[0].get_ydata()) == [stats.loss for stats in history]
    most = max(layer.dead_fraction or 0.0 for stats in history for layer in stats.layers)
    assert most < 0.5 and dead_axes.get_ylim()[1] <= max(0.25, most * 1.25) + 0.02
