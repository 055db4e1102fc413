"""Module-level functions and a custom op for the pickling, process and Dask tests.

Pickle stores functions by their importable names, so what a worker process must find
lives here, at module level: ``tests.compiled.pickle_helpers.softplus_impl`` and so on.
The custom op is registered in a private rule table (``TABLE``), not in the built-in one
that every other test sees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import fnad
from fnad import Node, Program
from fnad.engine.ops import Scalar

TABLE = fnad.builtin_rules().copy()


def softplus_impl(x: float) -> float:
    """``log(1 + e**x)``, without overflow."""
    return math.log1p(math.exp(-math.fabs(x))) + max(x, 0.0)


def softplus_partials(x: Scalar, out: Scalar) -> tuple[Scalar]:
    return (fnad.sigmoid(x),)


def softplus_array(x: Any) -> Any:
    """The array form: the same formula over NumPy arrays."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def softplus_array_partials(x: Any, out: Any) -> tuple[Any]:
    return (1.0 / (1.0 + np.exp(-x)),)


softplus = fnad.defop(
    "helpers.softplus",
    impl=softplus_impl,
    partials=softplus_partials,
    samples=[0.5, -1.5],
    table=TABLE,
    array_impl=softplus_array,
    array_partials=softplus_array_partials,
)


def network(x: Node, y: Node) -> Node:
    """A small graph with a custom op, built-in ops, a repeated argument and a constant."""
    return softplus(x * y - 0.5) + (x - y).tanh() * x + (y * y).relu()


def compiled_network() -> Program:
    with fnad.use_rules(TABLE):
        return fnad.compile(network, 0.5, -1.0)


def replay_batch(program: Program, points: Any) -> Any:
    """What a worker process runs: the program's batch at every point."""
    return program.batch(points)


def replay(program: Program, points: Sequence[Sequence[float]]) -> list[fnad.Evaluation]:
    """What a worker process runs: the program at every point."""
    return [program.evaluate(point) for point in points]
