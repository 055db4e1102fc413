"""Hypothesis: random expression DAGs (shared subexpressions, reused leaves) differentiate
exactly as sympy says they should."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

import fnad
from fnad import Node

# op name -> (arity, sympy builder, domain check on argument values)
OPS: dict[str, tuple[int, Callable[..., sympy.Expr], Callable[..., bool]]] = {
    "add": (2, lambda a, b: a + b, lambda a, b: True),
    "sub": (2, lambda a, b: a - b, lambda a, b: True),
    "mul": (2, lambda a, b: a * b, lambda a, b: True),
    "truediv": (2, lambda a, b: a / b, lambda a, b: abs(b) > 0.2),
    "pow": (2, lambda a, b: a**b, lambda a, b: 0.2 < a < 5 and abs(b) < 3),
    "neg": (1, lambda x: -x, lambda x: True),
    "exp": (1, sympy.exp, lambda x: x < 5),
    "log": (1, sympy.log, lambda x: x > 0.2),
    "sin": (1, sympy.sin, lambda x: True),
    "cos": (1, sympy.cos, lambda x: True),
    "tanh": (1, sympy.tanh, lambda x: True),
    "sigmoid": (1, lambda x: 1 / (1 + sympy.exp(-x)), lambda x: True),
    "sqrt": (1, sympy.sqrt, lambda x: x > 0.2),
    "relu": (1, lambda x: sympy.Max(0, x), lambda x: abs(x) > 1e-3),
    "abs": (1, sympy.Abs, lambda x: abs(x) > 1e-3),
}


@dataclass(frozen=True)
class Program:
    """Leaf values, then instructions (op, argument indices into everything before)."""

    leaves: tuple[float, ...]
    steps: tuple[tuple[str, tuple[int, ...]], ...]


@st.composite
def programs(draw: st.DrawFn) -> Program:
    leaves = tuple(
        draw(st.lists(st.floats(-2.0, 2.0).map(lambda v: round(v, 3)), min_size=1, max_size=3))
    )
    steps = []
    for k in range(draw(st.integers(1, 7))):
        available = len(leaves) + k
        name = draw(st.sampled_from(sorted(OPS)))
        arity = OPS[name][0]
        # bias towards recent values so the DAG is deep, and allow repeats (x*x, a-a)
        args = tuple(
            draw(st.integers(max(0, available - 3), available - 1) | st.integers(0, available - 1))
            for _ in range(arity)
        )
        steps.append((name, args))
    return Program(leaves, tuple(steps))


def run_fnad(program: Program) -> tuple[float, list[float]] | None:
    with fnad.Tape() as tape:
        values: list[Node] = [Node(v, label=f"x{i}") for i, v in enumerate(program.leaves)]
        for name, args in program.steps:
            _, _, domain = OPS[name]
            if not domain(*(values[i].data for i in args)):
                return None
            values.append(tape.apply(name, *(values[i] for i in args)))
        out = values[-1]
        if not math.isfinite(out.data) or abs(out.data) > 1e12:
            return None
        grads = out.backward()
        return out.data, [grads.get(leaf, 0.0) for leaf in values[: len(program.leaves)]]


def run_sympy(program: Program) -> tuple[float, list[float]]:
    symbols = sympy.symbols(f"x0:{len(program.leaves)}", real=True)
    exprs: list[sympy.Expr] = list(symbols)
    for name, args in program.steps:
        exprs.append(OPS[name][1](*(exprs[i] for i in args)))
    out = exprs[-1]
    at = {s: sympy.Float(v, 40) for s, v in zip(symbols, program.leaves, strict=True)}
    value = float(out.evalf(40, subs=at))
    return value, [float(sympy.diff(out, s).evalf(40, subs=at)) for s in symbols]


@given(programs())
def test_random_dag_gradients_match_sympy(program: Program) -> None:
    result = run_fnad(program)
    assume(result is not None)
    assert result is not None
    value, grads = result
    assume(all(math.isfinite(g) and abs(g) < 1e10 for g in grads))
    expected_value, expected_grads = run_sympy(program)
    assert value == pytest.approx(expected_value, rel=1e-9, abs=1e-12)
    assert grads == pytest.approx(expected_grads, rel=1e-8, abs=1e-10)


@given(programs())
def test_random_dag_backward_is_deterministic_and_idempotent(program: Program) -> None:
    first = run_fnad(program)
    second = run_fnad(program)
    assert first == second or (first is None and second is None)
