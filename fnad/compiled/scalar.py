"""The scalar interpreter: replay one point's values, adjoints and tangents over flat lists.

The loops dispatch on instruction codes (:mod:`fnad.compiled.instructions`), inline the
specialised ops and call every other op's rule, accumulating adjoints in the reverse of the
recorded networkx order, exactly as eager ``backward()`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fnad._internal import (
    Vertex,
    as_result,
    float_partials,
    non_finite_value,
    run_forward,
)
from fnad.compiled.instructions import (
    ADD,
    B_ADD,
    B_ADD_A,
    B_ADD_B,
    B_MUL,
    B_MUL_A,
    B_MUL_B,
    B_NEG,
    B_RELU,
    B_SUB,
    B_SUB_A,
    B_SUB_B,
    B_SUM,
    B_SUM_RELU,
    B_SUM_TANH,
    B_TANH,
    BINARY,
    BUILTIN,
    MUL,
    NEG,
    RELU,
    SPECIALISED_NAME,
    SUB,
    SUM,
    SUM_RELU,
    SUM_TANH,
    TANH,
    UNARY,
    Instructions,
    math_tanh,
)
from fnad.engine import (
    is_strict,
    judging_off,
)

__all__ = [
    "all_finite",
    "backward",
    "forward",
    "push_tangents",
]


def all_finite(values: Iterable[float]) -> bool:
    return not any(x - x for x in values)  # x - x is 0.0 for finite x, nan otherwise


def forward(
    block: Instructions, v: list[float], steps: list[tuple[int, int, int, int, int]] | None = None
) -> None:
    """The forward pass: each op's rule, in topological order, over flat values; by default
    the fused instructions (which leave a folded chain's inner sums and products unset)."""
    mul, add, relu, sub, neg, tanh = MUL, ADD, RELU, SUB, NEG, TANH  # fast locals
    sum_, sum_relu, sum_tanh = SUM, SUM_RELU, SUM_TANH
    sums = block.sums
    for code, _, i, a, b in block.fused if steps is None else steps:
        if code >= sum_:  # SUM, SUM_RELU, SUM_TANH: one test for all three
            total = -0.0  # -0.0 + p is p: the first product starts the sum unchanged
            for p, q in sums[i].terms:
                total = total + v[p] * v[q]
            v[a] = total
            if code is sum_relu:
                v[i] = 0.0 if total < 0.0 else total
            elif code is sum_tanh:
                v[i] = math_tanh(total)
        elif code is mul:
            v[i] = v[a] * v[b]
        elif code is add:
            v[i] = v[a] + v[b]
        elif code is relu:
            x = v[a]
            v[i] = 0.0 if x < 0.0 else x
        elif code is tanh:
            v[i] = math_tanh(v[a])
        elif code is sub:
            v[i] = v[a] - v[b]
        elif code is neg:
            v[i] = -v[a]
        else:
            rule = block.rules[i]
            if code is UNARY:
                args: tuple[float, ...] = (v[a],)
            elif code is BINARY:
                args = (v[a], v[b])
            else:
                args = tuple(v[j] for j in block.nary[i])
            try:
                result = rule.forward(*args)
            except (ArithmeticError, ValueError):
                result = run_forward(rule, args)
            v[i] = result if type(result) is float else as_result(result, rule)


def backward(block: Instructions, v: list[float], adj: list[float]) -> None:
    """The reverse pass: the chain rule in the reverse of the forward order, accumulated
    exactly as :func:`fnad.engine.backward.backpropagate` does (so the bits agree)."""
    mul, add, mul_a, add_a, relu, tanh = B_MUL, B_ADD, B_MUL_A, B_ADD_A, B_RELU, B_TANH
    sum_, sum_relu, sum_tanh, sums = B_SUM, B_SUM_RELU, B_SUM_TANH, block.sums
    for step in reversed(block.fused):
        _, code, i, a, b = step
        g = adj[i]
        if code >= sum_:  # B_SUM, B_SUM_RELU, B_SUM_TANH: one test for all three
            if code is sum_relu:  # the activation's step, as eager adds it to the sum
                g = -0.0 + g * (0.0 if v[a] <= 0.0 else 1.0)
            elif code is sum_tanh:
                out = v[i]
                g = -0.0 + g * (1 - out * out)
            _, pairs, singles = sums[i]
            for x, y in pairs:
                adj[x] += g * v[y]
                adj[y] += g * v[x]
            for t, f in singles:
                adj[t] += g * v[f]
        elif code is mul:
            adj[a] += g * v[b]
            adj[b] += g * v[a]
        elif code is add:
            adj[a] += g
            adj[b] += g
        elif code is mul_a:
            adj[a] += g * v[b]
        elif code is add_a:
            adj[a] += g
        elif code is relu:
            adj[a] += g * (0.0 if v[a] <= 0.0 else 1.0)
        elif code is tanh:
            out = v[i]
            adj[a] += g * (1 - out * out)
        elif code is B_MUL_B:
            adj[b] += g * v[a]
        elif code is B_ADD_B:
            adj[b] += g
        elif code is B_SUB:
            adj[a] += g
            adj[b] -= g
        elif code is B_SUB_A:
            adj[a] += g
        elif code is B_SUB_B:
            adj[b] -= g
        elif code is B_NEG:
            adj[a] -= g
        else:
            args = block.arguments(step)
            parts = float_partials(block.rules[i], [v[j] for j in args], v[i])
            wanted = block.wanted.get(i)
            for n, (j, partial) in enumerate(zip(args, parts, strict=True)):
                if wanted is None or wanted[n]:
                    adj[j] += g * partial


def push_tangents(
    block: Instructions,
    ops_of: Sequence[str],
    labels_of: Sequence[str],
    v: list[float],
    tangent: dict[int, float],
) -> None:
    """Forward mode over the block: Σ partialᵢ·tangentᵢ over the arguments that have a
    tangent, in argument order, as :func:`fnad.jvp` computes it. Under strict() the first
    tangent that is nan or ±inf raises the error :func:`fnad.jvp` raises (the partials' own
    terms are not judged, as there)."""
    strict_mode = is_strict()
    with judging_off():
        for step in block.steps:
            i = step[2]
            if i in tangent:
                continue
            args = block.arguments(step)
            rule = block.rules.get(i) or BUILTIN[SPECIALISED_NAME[step[0]]]
            parts = float_partials(rule, [v[j] for j in args], v[i])
            total: float | None = None
            for j, partial in zip(args, parts, strict=True):
                incoming = tangent.get(j)
                if incoming is not None:
                    term = partial * incoming
                    total = term if total is None else total + term
            if total is not None:
                if strict_mode and total - total:
                    shown = [Vertex(v[j], ops_of[j], labels_of[j]) for j in args]
                    raise non_finite_value(f"forward mode through {ops_of[i]}", shown, total)
                tangent[i] = total
