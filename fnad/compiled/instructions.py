"""The compiled form of a recorded graph: one instruction tuple per replayed vertex.

An instruction is ``(forward code, backward code, output slot, first argument, second
argument)``; the scalar loops (:mod:`fnad.compiled.scalar`) and the batched loops iterate
these tuples. A few common ops are inlined by code (:data:`SPECIALISED`), only while the
program's rule for that op *is* the built-in one; every other op calls its rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from fnad.engine import ops
from fnad.engine.rules import Rule, builtin_rules

__all__ = [
    "SPECIALISED",
    "Instructions",
    "Sum",
]

# Forward instruction codes, tested in this order by the loop: most frequent first.
# SUM is a chain of adds over products folded into one instruction after the trace (see
# fuse); SUM_RELU and SUM_TANH apply the op that is the sum's one use, as a neuron does.
# The sums' codes come last, forward and backward: the loops test ``code >= SUM``.
MUL, ADD, RELU, SUB, NEG, TANH, UNARY, BINARY, NARY, SUM, SUM_RELU, SUM_TANH = range(12)
ONE_ARGUMENT = frozenset({RELU, NEG, TANH, UNARY})
# Backward codes: _A / _B accumulate into the first / second argument only (the other one
# does not depend on an input, so no one reads its adjoint); RULE calls the partials.
(
    B_MUL,
    B_ADD,
    B_MUL_A,
    B_ADD_A,
    B_RELU,
    B_MUL_B,
    B_ADD_B,
    B_SUB,
    B_SUB_A,
    B_SUB_B,
    B_NEG,
    B_TANH,
    B_RULE,
    B_SUM,
    B_SUM_RELU,
    B_SUM_TANH,
) = range(16)
BACKWARD = {  # (forward code, first argument active, second argument active) -> code
    (MUL, True, True): B_MUL,
    (MUL, True, False): B_MUL_A,
    (MUL, False, True): B_MUL_B,
    (ADD, True, True): B_ADD,
    (ADD, True, False): B_ADD_A,
    (ADD, False, True): B_ADD_B,
    (SUB, True, True): B_SUB,
    (SUB, True, False): B_SUB_A,
    (SUB, False, True): B_SUB_B,
    (RELU, True, True): B_RELU,
    (NEG, True, True): B_NEG,
    (TANH, True, True): B_TANH,
}

SPECIALISED: Mapping[str, int] = {
    "mul": MUL,
    "add": ADD,
    "relu": RELU,
    "sub": SUB,
    "neg": NEG,
    "tanh": TANH,
}
"""Ops whose forward and partials the replay loops inline (while the rule is the built-in)."""

BUILTIN = {name: builtin_rules()[name] for name in SPECIALISED}
SPECIALISED_NAME = {code: name for name, code in SPECIALISED.items()}
math_tanh = math.tanh  # the built-in tanh rule's forward (fnad._floats.tanh) is math.tanh
assert ops.relu.name == "relu"  # the built-in rules above are registered by fnad.ops


class Instructions:
    """The op vertices that depend on an input, in topological order, one tuple each:
    ``(forward code, backward code, output slot, first argument, second argument)`` (the
    first argument again for one-argument ops). One list of tuples is what the replay
    loops iterate fastest; rules, and the arguments of ops of three or more, are kept
    aside for the instructions that call their rule.

    ``steps`` is the recorded graph, one instruction per vertex; ``fused`` is what the
    replay loops run: ``steps`` with chains of adds over products folded into ``SUM``
    instructions (:func:`fuse`), or ``steps`` itself when nothing folds."""

    __slots__ = ("fused", "nary", "rules", "steps", "sums", "wanted")

    def __init__(self) -> None:
        self.steps: list[tuple[int, int, int, int, int]] = []
        self.rules: dict[int, Rule] = {}  # the rule of every instruction not inlined
        self.nary: dict[int, tuple[int, ...]] = {}  # the arguments of ops of arity >= 3
        self.wanted: dict[int, tuple[bool, ...]] = {}  # B_RULE: which adjoints to add to
        self.fused = self.steps
        self.sums: dict[int, Sum] = {}  # the terms of each SUM instruction, by its slot

    def add(self, k: int, rule: Rule, op: str, args: list[int], active: list[bool]) -> None:
        code = SPECIALISED.get(op)
        if code is None or BUILTIN.get(op) is not rule:
            code = UNARY if len(args) == 1 else BINARY if len(args) == 2 else NARY
            self.rules[k] = rule
        if code is NARY:
            self.nary[k] = tuple(args)
        bcode = BACKWARD.get((code, active[0], active[-1]), B_RULE)
        if bcode is B_RULE and not all(active):
            self.wanted[k] = tuple(active)
        self.steps.append((code, bcode, k, args[0], args[1] if len(args) > 1 else args[0]))

    def arguments(self, step: tuple[int, int, int, int, int]) -> tuple[int, ...]:
        """The argument slots of one instruction."""
        code, _, k, a, b = step
        if code is NARY:
            return self.nary[k]
        if code in ONE_ARGUMENT:
            return (a,)
        return (a, b)

    def targets(self, step: tuple[int, int, int, int, int]) -> tuple[int, ...]:
        """The slots one instruction's backward adds to, in the order it adds to them."""
        bcode, k, a, b = step[1:]
        if bcode is B_RULE:
            wanted = self.wanted.get(k)
            args = self.arguments(step)
            return (
                args if wanted is None else tuple(j for j, w in zip(args, wanted, strict=True) if w)
            )
        if bcode in (B_MUL, B_ADD, B_SUB):
            return (a, b)
        if bcode in (B_MUL_B, B_ADD_B, B_SUB_B):
            return (b,)
        return (a,)


class Sum(NamedTuple):
    """One ``SUM`` instruction: ``value = ((x₀·y₀ + x₁·y₁) + x₂·y₂) + …`` over ``terms``
    (a plain term is ``x·1.0``); backward, ``adjoint[x] += g·value[y]`` then
    ``adjoint[y] += g·value[x]`` for each of ``pairs`` (products of two variables), then
    ``adjoint[t] += g·value[f]`` for each of ``singles``."""

    terms: tuple[tuple[int, int], ...]
    pairs: tuple[tuple[int, int], ...]
    singles: tuple[tuple[int, int], ...]
