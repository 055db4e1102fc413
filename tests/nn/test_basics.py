"""fnad.nn basics: activations, saving and loading, SGD with momentum, schedules, NumPy in,
the spirals, and micrograd's in-place update habit."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
from fnad.errors import MissingAttributeError, ModelFileError
from fnad.nn import (
    MLP,
    MOONS,
    SGD,
    Adam,
    accuracy,
    bce_with_logits,
    linear_decay,
    moons,
    softmax_cross_entropy,
    spirals,
    step_program,
    train_step,
)
from fnad.nn.files import dumps, loads

# --------------------------------------------------------------------------- activations


@pytest.mark.parametrize(
    ("activation", "function"),
    [
        ("relu", lambda a: max(a, 0.0)),
        ("tanh", math.tanh),
        ("sigmoid", lambda a: 1.0 / (1.0 + math.exp(-a))),
        ("linear", lambda a: a),
    ],
)
def test_hidden_activation_by_hand(activation: str, function: object) -> None:
    model = MLP(2, [3, 1], activation=activation, seed=4)
    x = (0.7, -1.3)
    hidden = [
        function(n.b + n.w[0] * x[0] + n.w[1] * x[1])  # type: ignore[operator]
        for n in model.layers[0].neurons
    ]
    out = model.layers[1].neurons[0]
    expected = out.b + sum(w * h for w, h in zip(out.w, hidden, strict=True))
    assert model(x) == pytest.approx(expected, rel=1e-14)
    assert {n.activation for n in model.layers[0].neurons} == {activation}
    assert model.layers[-1].neurons[0].activation == "linear"  # the output stays linear


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "linear"])
def test_every_activation_trains_compiled_as_eager(activation: str) -> None:
    points, labels = moons(12, noise=0.1, seed=2)
    model = MLP(2, [5, 1], activation=activation, seed=2)
    eager = train_step(model, points, labels, lr=0.3, compiled=False)
    compiled = train_step(model, points, labels, lr=0.3)
    assert eager == compiled
    assert repr(model) == f"MLP(2, [5, 1], activation={activation!r})"


def test_an_unknown_activation_names_the_choices() -> None:
    with pytest.raises(fnad.OperandValueError, match="'relu', 'tanh', 'sigmoid', 'linear'"):
        MLP(2, [3, 1], activation="gelu")


def test_traced_tanh_network_records_tanh() -> None:
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    with fnad.Tape():
        net = model.trace()
        out = net((0.5, 0.5))
        ops = {n.op for n in out.tape.graph}
    assert "tanh" in ops and "relu" not in ops
    assert out.data == model((0.5, 0.5))


# --------------------------------------------------------------------------- files


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=13, max_size=13),
    st.sampled_from(["relu", "tanh", "sigmoid", "linear"]),
)
def test_save_load_round_trip_is_exact(values: list[float], activation: str) -> None:
    model = MLP(2, [3, 1], activation=activation, seed=0).with_parameters(values)
    loaded = loads(dumps(model))
    assert loaded.shape == model.shape and repr(loaded) == repr(model)
    for a, b in zip(model.parameters(), loaded.parameters(), strict=True):
        assert (math.isnan(a) and math.isnan(b)) or bits(a) == bits(b)
    assert [n.activation for layer in loaded.layers for n in layer.neurons] == [
        n.activation for layer in model.layers for n in layer.neurons
    ]


def test_save_and_load_a_file(tmp_path: Path) -> None:
    model = MLP(2, list(MOONS.layers), seed=MOONS.seed)
    path = tmp_path / "moons.json"
    model.save(path)
    assert MLP.load(path) == model
    assert MLP.load(str(path)) == model
    document = json.loads(path.read_text())
    assert document["format"] == "fnad.nn.MLP" and document["shape"] == [2, 16, 16, 1]
    assert "pickle" not in path.read_text()


def good() -> Any:
    return json.loads(dumps(MLP(2, [2, 1], seed=0)))


def doc_with(change: object) -> str:
    document = good()
    change(document)  # type: ignore[operator]
    return json.dumps(document)


BAD_FILES = [
    ("not json {", "not valid JSON"),
    ("[1, 2]", "a saved model is a JSON object, got [1, 2] (list)"),
    (json.dumps({"format": "fnad.graph"}), "its \"format\" is 'fnad.graph'"),
    (doc_with(lambda d: d.update(version=2)), "version is 2; this fnad reads version 1"),
    (doc_with(lambda d: d.update(layers=[])), "layers is [] (list); expected a non-empty list"),
    (doc_with(lambda d: d["layers"][0][0].update(w=[1.0])), "layers[0][1].w has 2 weights, but"),
    (
        doc_with(lambda d: d["layers"][1][0].update(w=[1.0])),
        "layers[1][0].w has 1 weights, but the layer reads 2",
    ),
    (
        doc_with(lambda d: d["layers"][0][1].update(b=True)),
        "layers[0][1].b is True (bool), not a number",
    ),
    (
        doc_with(lambda d: d["layers"][0][1].update(activation="gelu")),
        "layers[0][1].activation is 'gelu'",
    ),
    (doc_with(lambda d: d["layers"][0][1].update(code="os.system")), "unknown field 'code'"),
    (doc_with(lambda d: d["layers"][0][1].pop("b")), "layers[0][1] has no b"),
    (
        doc_with(lambda d: d.update(shape=[2, 3, 1])),
        "says shape [2, 3, 1] but its layers are [2, 2, 1]",
    ),
    (
        '{"format": "fnad.nn.MLP", "version": 1, "layers": [[{"w": [NaN], "b": 0, "activation": "relu"}]]}',
        "bare JSON constant NaN",
    ),
    ("[" * 100_000 + "]" * 100_000, "nests deeper than a saved model"),
    (b"\xff\xfe{}", "not UTF-8 text"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_a_bad_model_file_is_a_clear_error(text: str | bytes, message: str) -> None:
    with pytest.raises(ModelFileError) as caught:
        loads(text)
    assert message in str(caught.value)


def test_loading_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    MLP(2, [16, 16, 1], seed=0).save(path)
    with pytest.raises(ModelFileError, match="larger than 1,000 bytes"):
        MLP.load(path, max_bytes=1000)
    with pytest.raises(ModelFileError, match="more than 100 parameters"):
        loads(path.read_text(), max_parameters=100)
    with pytest.raises(ModelFileError, match="cannot read the model file"):
        MLP.load(tmp_path / "missing.json")


def test_saving_a_traced_network_says_detach() -> None:
    with fnad.Tape():
        net = MLP(2, [2, 1], seed=0).trace()
        with pytest.raises(fnad.OperandTypeError, match=r"net\.detach"):
            dumps(net)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- optimizers


def test_sgd_without_momentum_is_model_step_bit_for_bit() -> None:
    model = MLP(2, [4, 1], seed=3)
    grads = [0.1 * k - 0.7 for k in range(len(model.parameters()))]
    stepped, opt = SGD(lr=0.3).step(model, grads)
    assert stepped == model.step(grads, 0.3) and opt.t == 1


def test_sgd_momentum_by_hand() -> None:
    model = MLP(1, [1], seed=0)
    w, b = model.parameters()
    opt = SGD(lr=0.1, momentum=0.5)
    g1, g2 = [1.0, -2.0], [3.0, 0.5]
    m1, opt = opt.step(model, g1)
    m2, opt = opt.step(m1, g2)
    v2 = [0.5 * a + c for a, c in zip(g1, g2, strict=True)]
    assert opt.velocity == tuple(v2)
    assert m2.parameters() == (w - 0.1 * g1[0] - 0.1 * v2[0], b - 0.1 * g1[1] - 0.1 * v2[1])


def test_a_schedule_is_a_function_of_the_step() -> None:
    rates: list[int] = []

    def schedule(t: int) -> float:
        rates.append(t)
        return 1.0 / (t + 1)

    model = MLP(1, [1], seed=0)
    opt = SGD(lr=schedule)
    for _ in range(3):
        model, opt = opt.step(model, [1.0, 1.0])
    assert rates == [0, 1, 2]
    assert linear_decay(1.0, 0.1, 100)(37) == MOONS.learning_rate(37, 100)
    _, adam = Adam(lr=lambda t: 0.0).step(model, [1.0, 1.0])
    assert adam.t == 1
    with pytest.raises(fnad.OperandTypeError, match="the learning-rate schedule returned 'fast'"):
        SGD(lr=lambda t: "fast").step(model, [1.0, 1.0])  # type: ignore[arg-type,return-value]


def test_optimizer_state_for_another_model() -> None:
    _, opt = SGD(lr=0.1, momentum=0.9).step(MLP(1, [1], seed=0), [1.0, 1.0])
    with pytest.raises(fnad.OperandValueError, match=r"start a fresh SGD\(\)"):
        opt.step(MLP(2, [1], seed=0), [1.0, 1.0, 1.0])


# --------------------------------------------------------------------------- spirals


def test_spirals_train_with_softmax_cross_entropy() -> None:
    points, labels = spirals(60, classes=3, noise=0.1, seed=1)
    assert sorted(set(labels)) == [0, 1, 2] and labels.count(0) == 20
    model = MLP(2, [12, 3], activation="tanh", seed=1)

    def loss(*params: fnad.Node) -> fnad.Node:
        net = model.with_parameters(params)
        return softmax_cross_entropy([net.outputs(x) for x in points], labels)

    program = fnad.compile(loss, *model.parameters())
    first = program(*model.parameters())
    opt = Adam(lr=0.05)
    for _ in range(60):
        model, opt = opt.step(model, program.grad(*model.parameters()))
    assert program(*model.parameters()) < 0.6 * first
    assert accuracy([model.outputs(x) for x in points], labels) > 0.6


# --------------------------------------------------------------------------- habits


def test_micrograds_in_place_update_explains_the_fnad_way() -> None:
    points, labels = moons(10, noise=0.1, seed=0)
    model = MLP(2, [4, 1], seed=0)
    lr = 0.1
    with pytest.raises(MissingAttributeError) as caught:
        for p in model.parameters():
            p.data -= lr * p.grad  # type: ignore[attr-defined]
    message = str(caught.value)
    assert "not micrograd Values" in message and "model.step(grads, lr)" in message
    assert "fnad.nn.train_step(model, points, labels, lr)" in message
    with pytest.raises(MissingAttributeError, match=r"has no \.grad"):
        model.parameters()[0].grad = 0.0  # type: ignore[attr-defined]
    # the fix the message names runs
    assert train_step(model, points, labels, lr).model != model
    assert repr(model.parameters()[0]) == repr(model.layers[0].neurons[0].w[0])


# --------------------------------------------------------------------------- NumPy in


def test_numpy_points_and_labels_train_as_lists() -> None:
    np = pytest.importorskip("numpy")
    points, labels = moons(20, noise=0.1, seed=5)
    X, y = np.array(points), np.array(labels)
    model = MLP(2, [4, 1], seed=5)
    assert model(X[0]) == model(points[0])
    assert train_step(model, X, y, 0.5) == train_step(model, points, labels, 0.5)
    assert train_step(model, X, y, 0.5, compiled=False) == train_step(model, points, labels, 0.5)
    assert step_program(model, X, y) is step_program(model, points, labels)
    scores = np.array([model(x) for x in X])
    assert accuracy(scores, y) == accuracy([model(x) for x in points], labels)
    sklearn_labels = (y + 1) // 2  # 0 and 1
    assert accuracy(scores, sklearn_labels) == accuracy(scores, y)


def test_numpy_shapes_that_disagree_are_named() -> None:
    np = pytest.importorskip("numpy")
    model = MLP(2, [4, 1], seed=5)
    with pytest.raises(fnad.OperandTypeError, match=r"array of shape \(3, 2\), not one point"):
        model(np.zeros((3, 2)))
    with pytest.raises(
        fnad.OperandValueError, match="the input has 3 numbers, the network reads 2"
    ):
        model(np.zeros(3))
    with pytest.raises(
        fnad.OperandValueError,
        match=r"points is an array of shape \(5, 3\); expected shape \(n, 2\)",
    ):
        train_step(model, np.zeros((5, 3)), np.ones(5), 0.1)
    with pytest.raises(fnad.OperandValueError, match="5 points but 4 labels"):
        train_step(model, np.zeros((5, 2)), np.ones(4), 0.1)


def test_numpy_is_not_imported_by_fnad() -> None:
    code = "import sys, fnad, fnad.nn, fnad.nn.demo; print('numpy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------- types


def test_the_new_api_has_precise_types(tmp_path: Path) -> None:
    from typing import assert_type

    from fnad.nn import mse

    assert_type(bce_with_logits([0.0], [1]), float)
    assert_type(mse([1.0], [0.0]), float)
    assert_type(softmax_cross_entropy([[0.0, 1.0]], [1]), float)
    with fnad.Tape():
        z = fnad.Node(0.5)
        assert_type(bce_with_logits([z], [1]), fnad.Node)
        assert_type(softmax_cross_entropy([[z, z]], [0]), fnad.Node)
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    assert_type(SGD(lr=0.1).step(model, [0.0] * 13), tuple[MLP[float], SGD])
    assert_type(Adam().step(model, [0.0] * 13), tuple[MLP[float], Adam])
    model.save(tmp_path / "m.json")
    assert_type(MLP.load(tmp_path / "m.json"), MLP[float])


def test_parameters_given_back_are_stored_as_builtin_floats() -> None:
    model = MLP(2, [3, 1], seed=0)
    again = model.with_parameters(model.parameters())
    assert again == model
    assert all(type(p) is float for p in again._parameter_values())
