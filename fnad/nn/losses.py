"""Losses of :mod:`fnad.nn` and the accuracy, on floats or on Nodes.

Each loss is the mean over the points, written with fnad's ops, so it gives a float for
float scores and a recorded Node for Nodes (then ``loss.backward()``). Scores and labels may
be sequences or NumPy arrays (1-D, or 2-D for several classes).

- :func:`hinge_loss` (micrograd's demo) for ±1 labels, and :func:`l2` regularisation;
- :func:`mse`, the mean squared error, for regression;
- :func:`bce_with_logits`, binary cross-entropy on scores (logits): ``softplus(-y·z)``,
  stable for any logit (``1000`` gives exactly 0, never ``log(0)``);
- :func:`softmax_cross_entropy` for several classes: ``logsumexp(z) - z[y]``, with the
  largest logit taken out first so nothing overflows.

>>> from fnad.nn.losses import bce_with_logits, hinge_loss, softmax_cross_entropy
>>> hinge_loss([2.0, -1.0], [1, 1])
1.0
>>> bce_with_logits([1000.0, -1000.0], [1, -1]), bce_with_logits([0.0], [1])
(0.0, 0.6931471805599453)
>>> softmax_cross_entropy([[1000.0, -1000.0, 0.0]], [0])
0.0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from fnad.engine import Node
from fnad.engine.ops import exp, log, relu, softplus, value
from fnad.errors import OperandTypeError, OperandValueError
from fnad.nn import arrays

__all__ = [
    "accuracy",
    "bce_with_logits",
    "hinge_loss",
    "l2",
    "mse",
    "softmax_cross_entropy",
]

S = TypeVar("S", float, Node)


def hinge_loss(scores: Sequence[S], labels: Sequence[float]) -> S:
    """The mean hinge loss ``mean(relu(1 - yᵢ·scoreᵢ))`` for labels ``yᵢ`` of ±1.

    A Node if the scores are Nodes, a float if they are floats.

    >>> hinge_loss([2.0, 0.5, -1.0], [1, 1, 1])
    0.8333333333333333
    """
    scores = arrays.values(scores, "hinge_loss", "scores")
    labels = arrays.values(labels, "hinge_loss", "labels")
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


def _mean(who: str, terms: Iterable[Any]) -> Any:
    total: Any = None
    count = 0
    for term in terms:
        total = term if total is None else total + term
        count += 1
    if total is None:
        raise OperandValueError(f"{who}: no scores given; pass at least one")
    return total * (1.0 / count)


def mse(predictions: Sequence[S], targets: Sequence[float]) -> S:
    """The mean squared error ``mean((predictionᵢ - targetᵢ)²)``.

    >>> mse([1.0, 2.0, 4.0], [1.0, 0.0, 1.0])
    4.333333333333333
    """
    predictions = arrays.values(predictions, "mse", "predictions")
    targets = arrays.values(targets, "mse", "targets")
    arrays.check_lengths("mse", "predictions", predictions, "targets", targets)
    result: S = _mean("mse", ((p - t) * (p - t) for p, t in zip(predictions, targets, strict=True)))
    return result


def _signs(who: str, labels: Sequence[Any]) -> list[float]:
    signs = []
    for position, label in enumerate(labels):
        if isinstance(label, bool) or label not in (-1, 0, 1):
            raise OperandValueError(
                f"{who}: label {position} is {label!r}; binary labels are 1 for the positive "
                "class and 0 or -1 for the negative one"
            )
        signs.append(1.0 if label == 1 else -1.0)
    return signs


def bce_with_logits(logits: Sequence[S], labels: Sequence[float]) -> S:
    """Binary cross-entropy on logits (scores): ``mean(softplus(-yᵢ·zᵢ))`` with ``yᵢ = ±1``.

    The same number as ``-[t·log σ(z) + (1-t)·log(1-σ(z))]`` for ``t`` = 0 or 1, but never
    through ``log(σ(z))``, which is ``log(0) = -inf`` once σ rounds to 0 or 1 (|z| ≳ 37):
    ``softplus`` is computed without overflow and its derivative is ``sigmoid``, so the
    gradient ``(σ(z) - t)/n`` is exact too. Labels are 1 (positive) and 0 or -1 (negative),
    so both sklearn's 0/1 labels and the moons' ±1 go in as they are.

    >>> bce_with_logits([0.0, 2.0], [0, 1])
    0.4100375958014589
    """
    logits = arrays.values(logits, "bce_with_logits", "logits")
    labels = arrays.values(labels, "bce_with_logits", "labels")
    arrays.check_lengths("bce_with_logits", "logits", logits, "labels", labels)
    signs = _signs("bce_with_logits", labels)
    result: S = _mean(
        "bce_with_logits", (softplus(-s * z) for z, s in zip(logits, signs, strict=True))
    )
    return result


def _class_rows(who: str, logits: Any) -> list[Sequence[Any]]:
    rows = arrays.rows(logits, who, "logits", None)
    checked = []
    for position, row in enumerate(rows):
        row = arrays.values(row, who, "logits")
        if isinstance(row, (str, bytes, Node)) or not isinstance(row, Sequence) or not row:
            raise OperandTypeError(
                f"{who}: logits row {position} is {row!r:.60}, not a sequence of class scores; "
                "pass one row of scores per point, e.g. model.outputs(x)"
            )
        checked.append(row)
    return checked


def softmax_cross_entropy(logits: Sequence[Sequence[S]], labels: Sequence[int]) -> S:
    """Cross-entropy of the softmax of each row of ``logits`` against a class index.

    ``mean(logsumexp(zᵢ) - zᵢ[yᵢ])``, where ``logsumexp(z) = m + log Σⱼ exp(zⱼ - m)`` with
    ``m = max(z)`` taken as a constant: every exponent is ≤ 0, so nothing overflows and the
    sum is ≥ 1 (its log is finite). Its gradient is ``(softmax(zᵢ) - onehot(yᵢ))/n`` either
    way, since m cancels. Rows are :meth:`fnad.nn.MLP.outputs` of a network with one output
    per class; labels are class indices 0, 1, …

    >>> softmax_cross_entropy([[0.0, 0.0], [3.0, -1.0]], [1, 0])
    0.35...
    """
    rows = _class_rows("softmax_cross_entropy", logits)
    labels = arrays.values(labels, "softmax_cross_entropy", "labels")
    arrays.check_lengths("softmax_cross_entropy", "logits rows", rows, "labels", labels)
    classes = len(rows[0]) if rows else 0
    for position, (row, label) in enumerate(zip(rows, labels, strict=True)):
        if len(row) != classes:
            raise OperandValueError(
                f"softmax_cross_entropy: logits row {position} has {len(row)} scores, row 0 "
                f"has {classes}; every row needs one score per class"
            )
        if isinstance(label, bool) or (not isinstance(label, int) and not _integral(label)):
            raise OperandTypeError(
                f"softmax_cross_entropy: label {position} is {label!r}; labels are class "
                f"indices, ints from 0 to {classes - 1}"
            )
        if not 0 <= label < classes:
            raise OperandValueError(
                f"softmax_cross_entropy: label {position} is {label}, but there are "
                f"{classes} classes (0 to {classes - 1})"
            )

    def term(row: Sequence[Any], label: int) -> Any:
        top = max(value(z) for z in row)
        if top != top or top in (float("inf"), float("-inf")):
            top = 0.0  # nothing to take out: let nan and ±inf flow through as IEEE says
        total: Any = None
        for z in row:
            e = exp(z - top)
            total = e if total is None else total + e
        # m - z[y] first: exact when z[y] is the largest logit, so no digits of the log
        # are lost to a large m.
        return log(total) + (top - row[int(label)])

    result: S = _mean(
        "softmax_cross_entropy", (term(row, label) for row, label in zip(rows, labels, strict=True))
    )
    return result


def _integral(label: object) -> bool:
    # NumPy integers (sklearn's labels) are not int, but index like one.
    return hasattr(label, "__index__")


def accuracy(scores: Iterable[Any], labels: Iterable[float]) -> float:
    """The fraction of points classified right.

    One score per point: right when its sign matches the label's (labels ±1 or 0/1; a score
    of 0 counts as negative). A row of scores per point (several classes, as
    ``model.outputs(x)`` gives): right when the largest score's index is the label.

    >>> accuracy([0.3, -2.0, 0.0], [1, 1, -1])
    0.6666666666666666
    >>> accuracy([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]], [1, 2])
    0.5
    """
    if arrays.is_array(scores):
        scores = (
            arrays.rows(scores, "accuracy", "scores", None)
            if getattr(scores, "ndim", 1) == 2
            else arrays.values(scores, "accuracy", "scores")
        )
    scores = list(scores)
    labels = list(arrays.values(labels, "accuracy", "labels"))
    if len(scores) != len(labels):
        raise OperandValueError(
            f"accuracy: got {len(scores)} scores and {len(labels)} labels; pass one label per score"
        )
    pairs = [_right(s, y) for s, y in zip(scores, labels, strict=True)]
    if not pairs:
        raise OperandValueError("accuracy: no scores given")
    return sum(pairs) / len(pairs)


def _right(score: Any, label: Any) -> bool:
    if isinstance(score, (Node, float, int)) or not isinstance(score, Sequence):
        return bool((value(score) > 0.0) == (label > 0))
    numbers = [value(z) for z in score]
    return bool(max(range(len(numbers)), key=numbers.__getitem__) == label)
