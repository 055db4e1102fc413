"""fnad.nn.losses: values and gradients against sympy, finite differences and hand values;
stability at ±1000 logits; NumPy arrays in; errors that name the problem."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
from fnad import Node
from fnad.nn import accuracy, bce_with_logits, hinge_loss, mse, softmax_cross_entropy

np = pytest.importorskip("numpy")


def value_and_grads(
    loss: Callable[[list[Node]], Node], xs: Sequence[float]
) -> tuple[float, list[float]]:
    with fnad.Tape():
        leaves = [Node(x) for x in xs]
        out = loss(leaves)
        grads = out.backward()
        return out.data, [grads.get(leaf, 0.0) for leaf in leaves]


def central_differences(f: Callable[[list[float]], float], xs: list[float]) -> list[float]:
    result = []
    for i in range(len(xs)):
        h = 1e-6 * max(1.0, abs(xs[i]))
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        result.append((f(up) - f(down)) / (2 * h))
    return result


# --------------------------------------------------------------------------- mse


def test_mse_by_hand_and_its_gradient() -> None:
    assert mse([1.0, 2.0, 4.0], [1.0, 0.0, 1.0]) == (0.0 + 4.0 + 9.0) / 3
    value, grads = value_and_grads(lambda p: mse(p, [1.0, 0.0, 1.0]), [1.0, 2.0, 4.0])
    assert value == pytest.approx(13 / 3, rel=1e-15)
    assert grads == pytest.approx([0.0, 2 * 2.0 / 3, 2 * 3.0 / 3], rel=1e-15)


# --------------------------------------------------------------------------- binary


def test_bce_with_logits_matches_sympy_value_and_gradient() -> None:
    zs = sympy.symbols("z0:4")
    logits = [0.3, -2.5, 7.0, -0.01]
    labels = [1, 0, -1, 1]
    ts = [1 if y == 1 else 0 for y in labels]
    sigma = [1 / (1 + sympy.exp(-z)) for z in zs]
    expression = -sum(
        t * sympy.log(s) + (1 - t) * sympy.log(1 - s) for t, s in zip(ts, sigma, strict=True)
    ) / len(zs)
    point = dict(zip(zs, map(sympy.Rational, logits), strict=True))
    value, grads = value_and_grads(lambda z: bce_with_logits(z, labels), logits)
    assert value == pytest.approx(float(expression.evalf(30, subs=point)), rel=1e-14)
    for z, grad in zip(zs, grads, strict=True):
        assert grad == pytest.approx(
            float(sympy.diff(expression, z).evalf(30, subs=point)), rel=1e-13
        )
    assert grads == pytest.approx(
        central_differences(lambda x: bce_with_logits(x, labels), logits), rel=1e-6
    )


def test_bce_with_logits_is_stable_at_1000() -> None:
    # log(sigmoid(1000)) is log(1.0) = 0 and log(1 - sigmoid(1000)) is log(0) = -inf: the
    # naive formula gives inf or nan; the softplus form gives the exact values.
    assert bce_with_logits([1000.0], [1]) == 0.0
    assert bce_with_logits([-1000.0], [0]) == 0.0
    assert bce_with_logits([1000.0], [0]) == 1000.0
    assert bce_with_logits([-1000.0], [1]) == 1000.0
    value, grads = value_and_grads(
        lambda z: bce_with_logits(z, [1, 0, 0, 1]), [1000.0, 1000.0, -1000.0, -1000.0]
    )
    assert value == 500.0
    # d/dz = (sigmoid(z) - t) / n, exactly 0 or ±1/4 here
    assert grads == [0.0, 0.25, 0.0, -0.25]


def test_bce_labels_zero_and_minus_one_are_the_same_class() -> None:
    assert bce_with_logits([0.5, -1.5], [0, 1]) == bce_with_logits([0.5, -1.5], [-1, 1])
    with pytest.raises(fnad.OperandValueError, match="label 1 is 2; binary labels are 1"):
        bce_with_logits([0.5, 0.5], [1, 2])
    with pytest.raises(fnad.OperandValueError, match="2 logits but 3 labels"):
        bce_with_logits([0.5, 0.5], [1, 0, 1])
    with pytest.raises(fnad.OperandValueError, match="no scores given"):
        bce_with_logits([], [])


# --------------------------------------------------------------------------- several classes


def test_softmax_cross_entropy_matches_sympy() -> None:
    zs = sympy.symbols("z0:6")
    rows = [[0.5, -1.0, 2.0], [3.0, 0.25, -0.5]]
    labels = [2, 1]
    symbols = [list(zs[:3]), list(zs[3:])]
    expression = (
        sum(
            sympy.log(sum(sympy.exp(z) for z in row)) - row[y]
            for row, y in zip(symbols, labels, strict=True)
        )
        / 2
    )
    flat = [z for row in rows for z in row]
    point = dict(zip(zs, map(sympy.Rational, flat), strict=True))

    def loss(leaves: list[Node]) -> Node:
        return softmax_cross_entropy([leaves[:3], leaves[3:]], labels)

    value, grads = value_and_grads(loss, flat)
    assert value == pytest.approx(float(expression.evalf(30, subs=point)), rel=1e-14)
    for z, grad in zip(zs, grads, strict=True):
        expected = float(sympy.diff(expression, z).evalf(30, subs=point))
        assert grad == pytest.approx(expected, rel=1e-13, abs=1e-16)
    assert grads == pytest.approx(
        central_differences(lambda x: softmax_cross_entropy([x[:3], x[3:]], labels), flat),
        rel=1e-6,
    )


def test_softmax_cross_entropy_is_stable_at_1000() -> None:
    assert softmax_cross_entropy([[1000.0, -1000.0, 0.0]], [0]) == 0.0
    assert softmax_cross_entropy([[1000.0, -1000.0, 0.0]], [1]) == 2000.0
    assert softmax_cross_entropy([[-1000.0, -1000.0]], [0]) == math.log(2.0)
    value, grads = value_and_grads(
        lambda z: softmax_cross_entropy([z], [1]), [1000.0, -1000.0, 0.0]
    )
    # softmax(z) - onehot(1): (1, 0, e^-1000 = 0) - (0, 1, 0)
    assert (value, grads) == (2000.0, [1.0, -1.0, 0.0])


def test_softmax_cross_entropy_refuses_bad_rows_and_labels() -> None:
    with pytest.raises(fnad.OperandValueError, match="label 0 is 3, but there are 3 classes"):
        softmax_cross_entropy([[1.0, 2.0, 3.0]], [3])
    with pytest.raises(fnad.OperandTypeError, match="labels are class indices"):
        softmax_cross_entropy([[1.0, 2.0]], [0.5])  # type: ignore[list-item]
    with pytest.raises(fnad.OperandValueError, match="row 1 has 3 scores, row 0 has 2"):
        softmax_cross_entropy([[1.0, 2.0], [1.0, 2.0, 3.0]], [0, 0])
    with pytest.raises(fnad.OperandTypeError, match="not a sequence of class scores"):
        softmax_cross_entropy([1.0, 2.0], [0, 0])  # type: ignore[list-item]


# --------------------------------------------------------------------------- accuracy


def test_accuracy_of_several_classes_is_the_argmax() -> None:
    assert accuracy([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0]], [1, 2, 2]) == 2 / 3
    assert accuracy([0.5, -0.5], [1, 0]) == 1.0  # 0/1 labels as sklearn gives them


# --------------------------------------------------------------------------- NumPy in


def test_losses_and_accuracy_take_numpy_arrays() -> None:
    scores = np.array([0.5, -2.0, 3.0])
    labels = np.array([1, -1, -1])
    assert hinge_loss(scores, labels) == hinge_loss([0.5, -2.0, 3.0], [1, -1, -1])
    assert bce_with_logits(scores, np.array([1, 0, 0])) == bce_with_logits(
        [0.5, -2.0, 3.0], [1, 0, 0]
    )
    assert mse(scores, np.zeros(3)) == mse([0.5, -2.0, 3.0], [0.0, 0.0, 0.0])
    rows = np.array([[0.0, 1.0], [2.0, -1.0]])
    assert softmax_cross_entropy(rows, np.array([1, 0])) == softmax_cross_entropy(
        [[0.0, 1.0], [2.0, -1.0]], [1, 0]
    )
    assert accuracy(rows, np.array([1, 1])) == 0.5
    assert accuracy(scores, labels) == 2 / 3


def test_numpy_shapes_that_disagree_are_named() -> None:
    with pytest.raises(fnad.OperandValueError, match=r"labels is an array of shape \(3, 1\)"):
        hinge_loss(np.ones(3), np.ones((3, 1)))
    with pytest.raises(fnad.OperandValueError, match="3 logits rows but 2 labels"):
        softmax_cross_entropy(np.zeros((3, 2)), np.array([0, 1]))


# --------------------------------------------------------------------------- any logits

logits = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(logits, st.sampled_from([0, 1])), min_size=1, max_size=6))
def test_bce_is_finite_with_gradients_sigmoid_minus_target(pairs: list[tuple[float, int]]) -> None:
    zs = [z for z, _ in pairs]
    ts = [t for _, t in pairs]
    value, grads = value_and_grads(lambda z: bce_with_logits(z, ts), zs)
    assert math.isfinite(value) and value >= 0.0
    n = len(zs)
    for z, t, g in zip(zs, ts, grads, strict=True):
        # sigmoid(z) - 1 is -sigmoid(-z): written so, the oracle does not cancel (z = 11).
        expected = _sigmoid(z) if t == 0 else -_sigmoid(-z)
        assert g == pytest.approx(expected / n, rel=1e-12, abs=1e-300)


def _sigmoid(z: float) -> float:
    """The logistic function without overflow or cancellation, as an oracle."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z) if z > -745 else 0.0
    return e / (1.0 + e)


@settings(max_examples=200, deadline=None)
@given(st.lists(logits, min_size=2, max_size=5), st.data())
def test_softmax_cross_entropy_is_finite_with_gradients_softmax_minus_onehot(
    row: list[float], data: st.DataObject
) -> None:
    label = data.draw(st.integers(0, len(row) - 1))
    value, grads = value_and_grads(lambda z: softmax_cross_entropy([z], [label]), row)
    assert math.isfinite(value) and value >= 0.0
    top = max(row)
    weights = [math.exp(z - top) for z in row]
    total = math.fsum(weights)
    for k, g in enumerate(grads):
        expected = weights[k] / total - (1.0 if k == label else 0.0)
        assert g == pytest.approx(expected, rel=1e-9, abs=1e-15)
