"""Shared helpers for the export tests: random expression DAGs and bitwise float equality."""

from __future__ import annotations

import math
import os
import shutil
import struct
from dataclasses import dataclass

import pytest
from hypothesis import strategies as st

import fnad
from fnad import Node

BINARY = ("add", "sub", "mul", "truediv", "pow")
UNARY = ("neg", "exp", "log", "sin", "cos", "tanh", "sigmoid", "sqrt", "relu", "abs")


def same(a: float, b: float) -> bool:
    """Bit-identical floats, except that every nan equals every nan (JSON keeps no payload)."""
    if a != a and b != b:
        return True
    return struct.pack("<d", a) == struct.pack("<d", b)


@dataclass(frozen=True)
class Expr:
    """Leaves ``(label, value)``, then steps ``(op, args)``; an int arg indexes earlier
    values, a float arg is a number the op wraps as a const."""

    leaves: tuple[tuple[str, float], ...]
    steps: tuple[tuple[str, tuple[int | float, ...]], ...]

    def build(self, values: dict[int, float] | None = None) -> tuple[Node, list[Node]]:
        """Record the expression on a fresh tape; return the output and the leaves."""
        with fnad.Tape() as tape:
            nodes = [
                Node(values.get(i, v) if values else v, label=label)
                for i, (label, v) in enumerate(self.leaves)
            ]
            leaves = list(nodes)
            for op, args in self.steps:
                operands = [nodes[a] if isinstance(a, int) else a for a in args]
                nodes.append(tape.apply(op, *operands))
        return nodes[-1], leaves


labels = st.sampled_from(["x", "y", "", "θ", "x", "a b", 'q"uote', "\\N"])
finite = st.floats(-3.0, 3.0, allow_nan=False).map(lambda v: round(v, 3))
special = st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 1e300, -1e-300])


@st.composite
def expressions(draw: st.DrawFn, *, specials: bool = True, max_steps: int = 9) -> Expr:
    """A random DAG: shared subexpressions, reused leaves, repeated arguments, consts."""
    values = (finite | special) if specials else finite
    leaves = tuple(
        draw(st.lists(st.tuples(labels, values), min_size=1, max_size=3)),
    )
    steps: list[tuple[str, tuple[int | float, ...]]] = []
    for k in range(draw(st.integers(1, max_steps))):
        available = len(leaves) + k
        op = draw(st.sampled_from(BINARY + UNARY))
        arity = 2 if op in BINARY else 1
        index = st.integers(max(0, available - 3), available - 1) | st.integers(0, available - 1)
        args: tuple[int | float, ...] = tuple(
            draw(index | values) if arity == 2 and position == 1 else draw(index)
            for position in range(arity)
        )
        steps.append((op, args))
    return Expr(leaves, tuple(steps))


def need_dot() -> str:
    """The path of graphviz's dot; skip the test without it, unless FNAD_REQUIRE_DOT=1."""
    dot = shutil.which("dot")
    if dot is None:
        if os.environ.get("FNAD_REQUIRE_DOT") == "1":
            pytest.fail("FNAD_REQUIRE_DOT=1 but graphviz's `dot` is not on PATH")
        pytest.skip("graphviz's `dot` is not installed (apt-get install graphviz)")
    return dot


def need_graphviz_package() -> None:
    """Skip without the graphviz Python package, unless FNAD_REQUIRE_DOT=1."""
    try:
        import graphviz  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        if os.environ.get("FNAD_REQUIRE_DOT") == "1":
            pytest.fail(
                "FNAD_REQUIRE_DOT=1 but the graphviz package is missing: pip install 'fnad[viz]'"
            )
        pytest.skip("the graphviz Python package is not installed (pip install 'fnad[viz]')")
