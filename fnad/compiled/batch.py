"""The batched interpreter: replay a Program at N points at once, over NumPy arrays.

One more small interpreter over the same instructions as the scalar loops
(:mod:`fnad.compiled.scalar`): each instruction runs as NumPy operations over a whole chunk
of points. Values live in a ``(slots + 1, chunk)`` float64 matrix (one row per vertex of
the program, plus the 1.0 that folded sums multiply plain terms by), adjoints in another of
the same shape; a row is one vertex at every point of the chunk.

Invariants this module keeps:

- **Scalar semantics, elementwise.** Every op runs through its rule's array forms
  (:attr:`fnad.Rule.array_forward`, :attr:`~fnad.Rule.array_partials`), or point by point
  through the scalar rule where an op has none; the inlined ops (mul, add, sub, neg, relu,
  tanh) are written out as the scalar loops write them. Adjoints are accumulated in the
  scalar replay's order, per slot: a folded sum's products are gathered into one
  ``(terms, chunk)`` array and added left to right (not with ``np.sum``, which adds
  pairwise), and repeated targets go through ``np.add.at`` (which adds in index order).
  So the results equal :meth:`fnad.Program.evaluate` bit for bit wherever the array forms
  do (docs/batch.md has the per-op table).
- **Bounded memory.** Points are processed ``chunk`` at a time: the two matrices take
  ``16·(slots + 1)·chunk`` bytes, the temporaries of one instruction a few
  ``8·terms·chunk``; only the inputs and the results grow with N.
- **Strict mode as the scalar replay.** Under :func:`fnad.strict`, the points of a chunk
  where a value or an adjoint is not finite are re-run through the scalar replay, in order:
  the first that raises raises its exact error.
- **No warnings.** All of it runs under ``numpy.errstate(all="ignore")``: IEEE results.

This module imports NumPy; :meth:`fnad.Program.batch` imports it on first use, so
``import fnad`` does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from numpy.typing import NDArray

from fnad._internal import check_arity, describe, float_partials, run_forward
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
    B_RULE,
    B_SUB,
    B_SUB_A,
    B_SUB_B,
    B_SUM,
    B_SUM_RELU,
    B_SUM_TANH,
    B_TANH,
    BINARY,
    MUL,
    NEG,
    RELU,
    SUB,
    SUM,
    SUM_RELU,
    SUM_TANH,
    TANH,
    UNARY,
    Instructions,
)
from fnad.engine.core import CONST, is_strict
from fnad.engine.rules import Rule, array_errors
from fnad.errors import ReplayInputError

if TYPE_CHECKING:
    from fnad.compiled.program import Program

__all__ = [
    "DEFAULT_ELEMENTS",
    "BatchResult",
    "chunk_size",
    "run_batch",
]

Array = NDArray[np.float64]

_NARROW = 64  # up to this many points, np.cumsum adds a sum's terms faster than a loop

DEFAULT_ELEMENTS = 1 << 21
"""The default chunk holds at most this many floats per matrix (values, adjoints): 16 MiB
each, so ``chunk = DEFAULT_ELEMENTS // (slots + 1)`` points, between 16 and 4096."""


@attrs.frozen(eq=False)
class BatchResult:
    """What :meth:`fnad.Program.batch` returns: one row per point.

    >>> import fnad
    >>> result = fnad.compile(lambda x, y: x * y, 0.0, 0.0).batch([[1.0, 2.0], [3.0, 4.0]])
    >>> result.values
    array([ 2., 12.])
    >>> result.gradient
    array([[2., 1.],
           [4., 3.]])
    """

    input_names: tuple[str, ...]
    """The names of the gradient's columns, in the program's input order."""
    values: Array
    """The output's value at each point, shape ``(N,)``."""
    gradient: Array | None
    """∂output/∂input, shape ``(N, inputs)``; None for ``gradient=False``."""
    aux: Array
    """The auxiliary values (``has_aux``), shape ``(N, aux)``; ``(N, 0)`` without any."""

    def __len__(self) -> int:
        return len(self.values)


def chunk_size(slots: int, points: int) -> int:
    """The default chunk: :data:`DEFAULT_ELEMENTS` floats per matrix, 16 to 4096 points,
    and never more than there are points.

    >>> chunk_size(980, 10_000), chunk_size(65_000, 10_000), chunk_size(10, 3)
    (2139, 32, 3)
    """
    return max(1, min(points, max(16, min(4096, DEFAULT_ELEMENTS // (slots + 1)))))


# --------------------------------------------------------------------------- inputs


def _as_float_array(value: object, what: str) -> Array:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ReplayInputError(
            f"Program.batch: {what} is not an array of numbers ({error}); pass an (N, k) "
            "array, a list of rows, or {input name: 1-D array}"
        ) from None
    if array.dtype.kind not in "fiu":
        raise ReplayInputError(
            f"Program.batch: {what} holds {array.dtype} values (e.g. {describe(array.flat[0]) if array.size else 'nothing'}); "
            "points are real numbers (float or int arrays)"
        )
    result: Array = array.astype(np.float64, copy=False)
    return result


def points_of(program: Program, X: object) -> Array:
    """``X`` as an ``(N, k)`` float64 array in :attr:`~fnad.Program.input_names` order."""
    names = program.input_names
    k = len(names)
    if isinstance(X, Mapping):
        index = {name: i for i, name in enumerate(names)}
        columns: dict[int, Array] = {}
        for name, column in X.items():
            i = index.get(name)
            if i is None:
                known = ", ".join(map(repr, names)) or "(none)"
                raise ReplayInputError(
                    f"Program.batch: the program has no input named {name!r}; its inputs "
                    f"are {known}"
                )
            array = _as_float_array(column, f"input {name!r}")
            if array.ndim != 1:
                raise ReplayInputError(
                    f"Program.batch: input {name!r} has shape {array.shape}; give each "
                    "input as a 1-D array of N values"
                )
            columns[i] = array
        if not columns:
            raise ReplayInputError(
                "Program.batch: the mapping names no input, so the number of points is "
                "unknown; give at least one input as a 1-D array"
            )
        lengths = {names[i]: len(a) for i, a in columns.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{name!r}: ({n},)" for name, n in lengths.items())
            raise ReplayInputError(
                f"Program.batch: the inputs have different shapes ({shown}); give every "
                "input the same number of points"
            )
        n = next(iter(lengths.values()))
        stored = [program._values[slot] for slot in program._inputs]
        points = np.empty((n, k))
        for i in range(k):
            points[:, i] = columns[i] if i in columns else stored[i]
        return points
    points = _as_float_array(X, "X")
    if points.ndim != 2 or points.shape[1] != k:
        raise ReplayInputError(
            f"Program.batch: X has shape {points.shape}, expected (N, {k}): one row per "
            f"point, one column per input ({', '.join(names) or 'none'}); or pass "
            "{input name: 1-D array}"
        )
    return points


# --------------------------------------------------------------------------- the plan


class _Folded:
    """A folded sum, ready for arrays: its terms' slots, and its adjoint additions
    (target, factor) in the scalar loop's order, pairs first."""

    __slots__ = ("factors", "left", "right", "targets", "unique")

    def __init__(self, terms: Sequence[tuple[int, int]], additions: list[tuple[int, int]]):
        self.left, self.right = np.array(terms, dtype=np.intp).reshape(-1, 2).T
        self.targets, self.factors = np.array(additions, dtype=np.intp).reshape(-1, 2).T
        self.unique = len(set(self.targets.tolist())) == len(additions)


def _folded(block: Instructions) -> dict[int, _Folded]:
    plans: dict[int, _Folded] = {}
    for slot, (terms, pairs, singles) in block.sums.items():
        additions = [a for x, y in pairs for a in ((x, y), (y, x))]
        additions.extend(singles)
        plans[slot] = _Folded(terms, additions)
    return plans


class _Plan:
    """What a batch of a program needs beyond its instructions, made once per program."""

    __slots__ = ("aux", "extra", "inputs", "judged", "main", "reached", "reached_slots", "values")

    def __init__(self, program: Program) -> None:
        self.main, self.extra = _folded(program._main), _folded(program._extra)
        self.inputs = np.array(program._inputs, dtype=np.intp)
        self.reached = [i for i, r in enumerate(program._reached) if r]
        self.reached_slots = self.inputs[self.reached]
        self.aux = np.array(program._aux, dtype=np.intp)
        self.values = np.array([*program._values, 1.0])  # 1.0: plain terms' factor
        self.judged = np.array([op != CONST for op in program._ops] + [False])


def _plan(program: Program) -> _Plan:
    plan: _Plan | None = getattr(program, "_batch_plan", None)
    if plan is None:
        plan = _Plan(program)
        program._batch_plan = plan
    return plan


# --------------------------------------------------------------------------- the loops


def _per_point_forward(rule: Rule, columns: list[Array]) -> list[float]:
    """An op without an array form: its scalar forward at each point."""
    return [run_forward(rule, point) for point in zip(*(c.tolist() for c in columns))]


def forward(block: Instructions, plans: dict[int, _Folded], V: Array) -> None:
    """The forward pass over a chunk: ``V`` is ``(slots + 1, chunk)``."""
    rules = block.rules
    for code, _, i, a, b in block.fused:
        if code >= SUM:
            plan = plans[i]
            products = V[plan.left]
            products *= V[plan.right]
            total = V[a]
            # Left to right, as the scalar loop adds (np.sum adds pairwise): a cumulative
            # sum down the terms for a narrow chunk, else row after row in place. The
            # first product is the sum's start: -0.0 + p is p.
            if products.shape[1] <= _NARROW:
                np.cumsum(products, axis=0, out=products)
                total[...] = products[-1]
            else:
                total[...] = products[0]
                for row in products[1:]:
                    total += row
            if code == SUM_RELU:
                V[i] = np.where(total < 0.0, 0.0, total)
            elif code == SUM_TANH:
                np.tanh(total, out=V[i])
        elif code == MUL:
            np.multiply(V[a], V[b], out=V[i])
        elif code == ADD:
            np.add(V[a], V[b], out=V[i])
        elif code == RELU:
            x = V[a]
            V[i] = np.where(x < 0.0, 0.0, x)
        elif code == TANH:
            np.tanh(V[a], out=V[i])
        elif code == SUB:
            np.subtract(V[a], V[b], out=V[i])
        elif code == NEG:
            np.negative(V[a], out=V[i])
        else:
            rule = rules[i]
            if code == UNARY:
                args = [V[a]]
            elif code == BINARY:
                args = [V[a], V[b]]
            else:
                args = [V[j] for j in block.nary[i]]
            if rule.array_forward is not None:
                V[i] = rule.array_forward(*args)
            else:
                V[i] = _per_point_forward(rule, args)


def _partials(rule: Rule, args: list[Array], out: Array) -> Sequence[Any]:
    if rule.array_partials is not None:
        return check_arity(rule.name, rule.array_partials(*args, out), len(args))
    rows = [
        float_partials(rule, point, value)
        for point, value in zip(zip(*(c.tolist() for c in args)), out.tolist())
    ]
    return [np.array(column) for column in zip(*rows)] if rows else [0.0] * len(args)


def backward(block: Instructions, plans: dict[int, _Folded], V: Array, adj: Array) -> None:
    """The reverse pass over a chunk, adding to each slot in the scalar loop's order."""
    for step in reversed(block.fused):
        _, code, i, a, b = step
        g = adj[i]
        if code >= B_SUM:
            if code == B_SUM_RELU:
                g = -0.0 + g * np.where(V[a] <= 0.0, 0.0, 1.0)
            elif code == B_SUM_TANH:
                out = V[i]
                g = -0.0 + g * (1 - out * out)
            plan = plans[i]
            contributions = V[plan.factors]
            contributions *= g
            if plan.unique:
                adj[plan.targets] += contributions
            else:
                np.add.at(adj, plan.targets, contributions)  # in index order
        elif code == B_MUL:
            adj[a] += g * V[b]
            adj[b] += g * V[a]
        elif code == B_ADD:
            adj[a] += g
            adj[b] += g
        elif code == B_MUL_A:
            adj[a] += g * V[b]
        elif code == B_ADD_A:
            adj[a] += g
        elif code == B_RELU:
            adj[a] += g * np.where(V[a] <= 0.0, 0.0, 1.0)
        elif code == B_TANH:
            out = V[i]
            adj[a] += g * (1 - out * out)
        elif code == B_MUL_B:
            adj[b] += g * V[a]
        elif code == B_ADD_B:
            adj[b] += g
        elif code == B_SUB:
            adj[a] += g
            adj[b] -= g
        elif code == B_SUB_A:
            adj[a] += g
        elif code == B_SUB_B:
            adj[b] -= g
        elif code == B_NEG:
            adj[a] -= g
        else:
            assert code == B_RULE
            args = block.arguments(step)
            parts = _partials(block.rules[i], [V[j] for j in args], V[i])
            wanted = block.wanted.get(i)
            for n, (j, partial) in enumerate(zip(args, parts, strict=True)):
                if wanted is None or wanted[n]:
                    adj[j] += g * partial


# --------------------------------------------------------------------------- the driver


def run_batch(
    program: Program, X: object, *, gradient: bool = True, chunk: int | None = None
) -> BatchResult:
    """:meth:`fnad.Program.batch`: the program at every row of ``X``, ``chunk`` at a time."""
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ReplayInputError(
            f"Program.batch: chunk must be a whole number of points >= 1, got {describe(chunk)}"
        )
    points = points_of(program, X)
    n, k = points.shape
    rows = len(program._values) + 1
    size = chunk_size(rows, n) if chunk is None else min(chunk, max(n, 1))
    out_values = np.empty(n)
    out_gradient = np.zeros((n, k)) if gradient else None
    out_aux = np.empty((n, len(program._aux)))
    if n == 0:
        return BatchResult(program.input_names, out_values, out_gradient, out_aux)
    main, extra = program._main, program._extra
    plan = _plan(program)
    main_plans, extra_plans = plan.main, plan.extra
    inputs, reached, reached_slots, aux = plan.inputs, plan.reached, plan.reached_slots, plan.aux
    output = program._output
    strict_mode = is_strict()
    V_full: Array = np.empty((rows, size))
    V_full[...] = plan.values[:, None]  # vertices no input reaches keep their values
    adj_full: Array = np.empty((rows, size)) if gradient else V_full
    with array_errors():
        for start in range(0, n, size):
            stop = min(start + size, n)
            c = stop - start
            V = V_full[:, :c]
            V[inputs] = points[start:stop].T
            forward(main, main_plans, V)
            if extra.steps:
                forward(extra, extra_plans, V)
            bad = ~np.isfinite(V[:-1]).all(axis=0) if strict_mode else None
            out_values[start:stop] = V[output]
            out_aux[start:stop] = V[aux].T
            if out_gradient is None:
                if bad is not None:
                    _judge(program, points[start:stop], bad, False)
                continue
            adj = adj_full[:, :c]
            adj.fill(-0.0)  # the IEEE additive identity, as the scalar replay starts
            adj[output] = 1.0
            backward(main, main_plans, V, adj)
            out_gradient[start:stop, reached] = adj[reached_slots].T
            if bad is not None:
                bad |= program._unjudged or ~np.isfinite(adj[plan.judged]).all(axis=0)
                _judge(program, points[start:stop], bad, True)
    return BatchResult(program.input_names, out_values, out_gradient, out_aux)


def _judge(program: Program, points: Array, bad: NDArray[np.bool_], gradient: bool) -> None:
    """strict(): re-run the points marked ``bad`` through the scalar replay, in order; the
    first that meets a non-finite value raises its error (as a loop of evaluate would)."""
    for row in np.flatnonzero(bad).tolist():
        program.evaluate(points[row].tolist(), gradient=gradient)
