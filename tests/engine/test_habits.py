"""micrograd's and PyTorch's habits get an fnad error that names the fix, or just work.

Each error is checked by type (an fnad.FnadError that is also the standard exception code
catches) and by message (the fix it names), and leaves the tape unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest

import fnad
from fnad import Node
from fnad.errors import ImmutableError, MissingAttributeError
from fnad.nn.model import MLP, Layer, Neuron, hinge_loss, l2


def leaf_on_a_tape() -> tuple[fnad.Tape, Node]:
    with fnad.Tape() as tape:
        x = Node(2.0, label="x")
    return tape, x


# --------------------------------------------------------------------------- assignment


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("data", "model = model.step(net.gradient(loss.backward()), lr)"),
        ("grad", "every backward() replaces it"),
        ("label", 'fnad.Node(2.0, label="w")'),
        ("op", "compute a new node instead"),
        ("inputs", "compute a new node instead"),
        ("tape", "compute a new node instead"),
        ("requires_grad", "a dict keyed by the node"),
    ],
)
def test_assigning_any_attribute_is_an_fnad_frozen_error(name: str, fix: str) -> None:
    tape, x = leaf_on_a_tape()
    with pytest.raises(ImmutableError) as info:
        setattr(x, name, 0.0)
    error = info.value
    assert isinstance(error, fnad.FnadError)
    assert isinstance(error, attrs.exceptions.FrozenInstanceError)
    assert isinstance(error, AttributeError)
    assert fix in str(error) and "label='x'" in str(error)
    assert error.args == (str(error),)
    with pytest.raises(ImmutableError, match=fix.replace("(", r"\(").replace(")", r"\)")):
        delattr(x, name)
    assert (x.data, x.label, x.op, len(tape)) == (2.0, "x", "", 1)


def test_micrograds_update_line_names_the_functional_step() -> None:
    model = MLP(2, [3, 1], seed=0)
    with fnad.Tape():
        net = model.trace()
        loss = net((1.0, -1.0)) ** 2
        loss.backward()
        with pytest.raises(attrs.exceptions.FrozenInstanceError) as info:
            for p in net.parameters():
                p.data -= 0.1 * p.grad  # type: ignore[misc]
    assert "model.step(" in str(info.value) and "read-only" in str(info.value)
    with pytest.raises(AttributeError, match="nothing to reset"):
        for p in net.parameters():
            p.grad = 0  # type: ignore[misc]


def test_micrograds_label_line_names_with_label_and_that_works() -> None:
    # micrograd's lecture names every intermediate: e = a*b; e.label = "e"
    with fnad.Tape() as tape:
        a, b = Node(2.0, label="a"), Node(-3.0, label="b")
        e = a * b
        with pytest.raises(ImmutableError) as info:
            e.label = "e"  # type: ignore[misc]
        assert len(tape) == 3 and e.label == ""
        fix = 'e = (a * b).with_label("e")'
        assert fix in str(info.value)
        named = eval(fix.split(" = ", 1)[1], {"a": a, "b": b})  # what the message says works
    assert isinstance(named, Node)
    assert (named.label, named.op, named.data, named.inputs) == ("e", "mul", -6.0, (a, b))
    assert tape.graph.nodes[named] == {"data": -6.0, "op": "mul", "label": "e"}


def test_with_label_records_a_labelled_copy_and_changes_nothing_else() -> None:
    with fnad.Tape() as tape:
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        z = x * y + x**2 + y.relu()
        before = len(tape)
        f = z.with_label("f")
        twice = (x * x).with_label("sq")  # one edge, both argument positions
    assert len(tape) == before + 3  # f, x * x and its labelled copy
    assert f is not z and z.label == "" and f.inputs == z.inputs and f.op == z.op
    assert f.data == z.data and tape.position(f) == before
    assert list(tape.graph.predecessors(f)) == list(tape.graph.predecessors(z))
    assert dict(f.backward()) == {
        node: grad for node, grad in z.backward().items() if node is not z
    } | {f: 1.0}
    assert twice.inputs == (x, x) and twice.backward()[x] == 4.0
    assert tape.graph.edges[x, twice]["positions"] == (0, 1)
    with fnad.Tape():
        leaf = Node(1.5, label="w")
        other = leaf.with_label("u")
        out = leaf * other
    assert (other.op, other.inputs, other.data) == ("", (), 1.5)  # a new leaf: a variable
    assert out.backward()[leaf] == 1.5 and out.backward()[other] == 1.5


def test_with_label_refuses_what_it_cannot_record_and_records_nothing() -> None:
    with fnad.Tape() as tape:
        x = Node(2.0, label="x")
        z = x * x
        with pytest.raises(fnad.OperandTypeError, match="with_label: label must be a str, got"):
            z.with_label(1)  # type: ignore[arg-type]
        with pytest.raises(fnad.OperandTypeError, match="mul: label must be a str"):
            tape.apply("mul", x, x, label=None)  # type: ignore[arg-type]
        assert len(tape) == 2
        assert tape.apply("mul", x, 3, label="t").label == "t"
        assert tape.apply("sin", x, label="s").label == "s"
        labelled = tape.apply("maximum", x, 5, label="m")
        assert (labelled.label, labelled.data, len(tape)) == ("m", 5.0, 7)
        assert tape.graph.nodes[labelled]["label"] == "m"
    tape.close()
    with pytest.raises(fnad.TapeError, match=r"with_label: .* was closed"):
        z.with_label("z")


def test_models_refuse_assignment_with_the_fix() -> None:
    model = MLP(2, [3, 1], seed=0)
    for target, name in (
        (model, "layers"),
        (model.layers[0], "neurons"),
        (model.layers[0].neurons[0], "b"),
    ):
        with pytest.raises(ImmutableError, match=r"model\.step\(grads, lr\)") as info:
            setattr(target, name, ())
        assert isinstance(info.value, attrs.exceptions.FrozenInstanceError)
    assert model == MLP(2, [3, 1], seed=0)


# --------------------------------------------------------------------------- zero_grad


def test_zero_grad_on_a_node_teaches_that_backward_replaces() -> None:
    _, x = leaf_on_a_tape()
    with pytest.raises(MissingAttributeError) as info:
        x.zero_grad()  # type: ignore[attr-defined]
    assert isinstance(info.value, AttributeError) and isinstance(info.value, fnad.FnadError)
    assert "backward() replaces" in str(info.value) and "nothing to reset" in str(info.value)


@pytest.mark.parametrize("make", [lambda: MLP(2, [3, 1]), lambda: Layer(2, 3), lambda: Neuron(2)])
def test_zero_grad_on_a_model_teaches_the_training_step(make: Any) -> None:
    model = make()
    with pytest.raises(MissingAttributeError) as info:
        model.zero_grad()
    message = str(info.value)
    assert isinstance(info.value, AttributeError)
    assert "net.gradient(loss.backward())" in message and "model.step(grads, lr)" in message


@pytest.mark.parametrize(
    ("name", "fix"),
    [("_prev", "x.prev"), ("_op", "x.op"), ("_backward", "rule"), ("item", "x.data")],
)
def test_other_micrograd_and_pytorch_names_point_to_fnads(name: str, fix: str) -> None:
    _, x = leaf_on_a_tape()
    with pytest.raises(MissingAttributeError, match=fix):
        getattr(x, name)


def test_a_misspelt_attribute_is_a_plain_attribute_error() -> None:
    _, x = leaf_on_a_tape()
    with pytest.raises(AttributeError) as info:
        x.dat  # type: ignore[attr-defined]  # noqa: B018
    assert not isinstance(info.value, fnad.FnadError)
    assert (info.value.name, info.value.obj) == ("dat", x)  # so Python suggests 'data'
    assert not hasattr(x, "_repr_latex_") and getattr(x, "__deepcopy__", None) is None


# --------------------------------------------------------------------------- comparisons


def test_ordering_compares_values_and_records_nothing() -> None:
    with fnad.Tape() as tape:
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        before = len(tape)
        results = [x < y, x <= y, x > y, x >= y, x < 3, x <= 2, x > 1.5, 3 > x, 2 >= x, 1 < x]  # noqa: SIM300
        assert results == [True, True, False, False, True, True, True, True, True, True]
        assert all(type(r) is bool for r in results)
        assert max(x, y) is y and min(x, y) is x and sorted([y, x]) == [x, y]
        assert (x > 0) and not (Node(float("nan")) > 0)
        assert len(tape) == before + 1  # only the nan leaf


def test_equality_stays_identity() -> None:
    with fnad.Tape():
        a, b = Node(2.0), Node(2.0)
    assert a <= b and a >= b  # equal values
    assert a != b and a == a and len({a, b}) == 2  # but two vertices
    assert (a == 2.0) is False  # type: ignore[comparison-overlap]


def test_comparing_with_a_non_number_is_an_operand_error() -> None:
    tape, x = leaf_on_a_tape()
    with pytest.raises(fnad.OperandTypeError, match="<: argument 2 is 'a' \\(str\\)"):
        x < "a"  # type: ignore[operator]  # noqa: B015
    with pytest.raises(TypeError):
        x >= None  # type: ignore[operator]  # noqa: B015
    assert len(tape) == 1


# --------------------------------------------------------------------------- conversions


@pytest.mark.parametrize(
    ("convert", "call"),
    [
        (float, "float() or math.*"),
        (int, "int()"),
        (round, "round()"),
        (math.exp, "float() or math.*"),
        (math.sqrt, "float() or math.*"),
        (math.isfinite, "float() or math.*"),
    ],
    ids=["float", "int", "round", "math.exp", "math.sqrt", "math.isfinite"],
)
def test_float_and_math_on_a_node_point_to_data_and_fnad_functions(convert: Any, call: str) -> None:
    tape, x = leaf_on_a_tape()
    with pytest.raises(fnad.OperandTypeError) as info:
        convert(x)
    message = str(info.value)
    assert isinstance(info.value, TypeError)
    assert message.startswith(f"{call} on Node(data=2.0")
    assert "x.data" in message and "fnad.exp(x)" in message
    assert len(tape) == 1


# --------------------------------------------------------------------------- nn


def test_gradient_of_the_loss_instead_of_backward() -> None:
    with fnad.Tape():
        net = MLP(2, [3, 1], seed=0).trace()
        loss = net((1.0, 2.0)) ** 2
        with pytest.raises(fnad.OperandTypeError, match=r"net\.gradient\(loss\.backward\(\)\)"):
            net.gradient(loss)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="got list"):
            net.gradient([1.0])  # type: ignore[arg-type]
        assert len(net.gradient(loss.backward())) == 13


def test_gradient_on_the_float_model_is_an_error_not_zeros() -> None:
    model = MLP(2, [3, 1], seed=0)
    with fnad.Tape():
        net = model.trace()
        loss = hinge_loss([net((1.0, 2.0))], [1]) + l2(net.parameters(), 1e-4)
        grads = loss.backward()
        with pytest.raises(fnad.OperandTypeError) as info:
            model.gradient(grads)  # type: ignore[misc]
    assert "model.trace()" in str(info.value) and "every gradient would be 0" in str(info.value)
    assert any(g != 0.0 for g in net.gradient(grads))


def test_a_float_model_called_on_nodes_mentions_trace() -> None:
    model = MLP(2, [3, 1], seed=0)
    with fnad.Tape() as tape:
        x = Node(1.0)
        with pytest.raises(fnad.OperandTypeError, match=r"net = model\.trace\(\)"):
            model((x, 2.0))  # type: ignore[arg-type]
    assert len(tape) == 1


@pytest.mark.parametrize("labels", [[0, 1], [1, 2], [True, -1], [1.0, 0.5]])
def test_hinge_loss_refuses_labels_outside_plus_minus_one(labels: list[float]) -> None:
    with pytest.raises(fnad.OperandValueError, match="labels must be -1 or \\+1") as info:
        hinge_loss([0.5, -0.5], labels)
    assert "2 * y - 1" in str(info.value)
    assert hinge_loss([0.5, -0.5], [1.0, -1]) == 0.5


def test_a_gradient_the_output_does_not_have_is_an_fnad_key_error() -> None:
    with fnad.Tape():
        x, unused = Node(1.0, label="x"), Node(2.0, label="w")
        grads = (x * 2).backward()
    with pytest.raises(fnad.NoGradientError) as info:
        grads[unused]
    assert isinstance(info.value, KeyError) and isinstance(info.value, fnad.FnadError)
    assert str(info.value).startswith("Node(data=2.0, grad=0.0, label='w') is not an ancestor")
    assert "grads.get(node, 0.0)" in str(info.value)
    assert grads.get(unused, 0.0) == 0.0 and unused not in grads  # still a Mapping
