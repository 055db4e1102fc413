"""Losses of :mod:`fnad.nn` and the accuracy, on floats or on Nodes.

>>> from fnad.nn.losses import hinge_loss
>>> hinge_loss([2.0, -1.0], [1, 1])
1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from fnad.engine.core import Node
from fnad.engine.ops import relu, value
from fnad.errors import OperandValueError

__all__ = ["accuracy", "hinge_loss", "l2"]

S = TypeVar("S", float, Node)


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
