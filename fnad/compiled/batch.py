"""The batched interpreter: replay a Program at N points at once, over NumPy arrays.

One more small interpreter over the same instructions as the scalar loops
(:mod:`fnad.compiled.scalar`): each instruction runs as NumPy operations over a whole chunk
of points. Values live in a ``(rows, chunk)`` float64 matrix, adjoints in another of the
same shape; a row is one vertex at every point of the chunk. Only the vertices the loops
read or write get a row: those no input reaches (a network's weights) are numbers, the
coefficients of the folded sums. Consecutive folded sums that read none of each other's
results (a layer's neurons) run as one group step.

Invariants this module keeps:

- **Scalar semantics, elementwise.** Every op runs through its rule's array forms
  (:attr:`fnad.Rule.array_forward`, :attr:`~fnad.Rule.array_partials`), or point by point
  through the scalar rule where an op has none; the inlined ops (mul, add, sub, neg, relu,
  tanh) are written out as the scalar loops write them. Adjoints are accumulated in the
  scalar replay's order, per slot: a folded sum's products are gathered into one
  ``(terms, chunk)`` array (``(sums, terms, chunk)`` for a group) and added left to right
  (not with ``np.sum``, which adds pairwise), and repeated targets go through
  ``np.add.at`` (which adds in index order).
  So the results equal :meth:`fnad.Program.evaluate` bit for bit wherever the array forms
  do (docs/batch.md has the per-op table).
- **Bounded memory.** Points are processed ``chunk`` at a time: the two matrices take
  ``16·rows·chunk`` bytes, the temporaries of one instruction a few ``8·terms·chunk`` (of a
  group, at most ``8·_IN_CACHE`` bytes of products or a few ``8·sums·chunk``); only the
  inputs and the results grow with N.
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
    NARY,
    NEG,
    RELU,
    SUB,
    SUM,
    SUM_RELU,
    SUM_TANH,
    TANH,
    UNARY,
    Instructions,
    Sum,
)
from fnad.engine import CONST, is_strict
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
_IN_CACHE = 1 << 17  # products (floats) a group gathers at once; beyond, term by term

DEFAULT_ELEMENTS = 1 << 21
"""The default chunk holds at most this many floats per matrix (values, adjoints): 16 MiB
each, so ``chunk = DEFAULT_ELEMENTS // rows`` points, between 16 and 4096."""


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


def chunk_size(rows: int, points: int) -> int:
    """The default chunk for a program of ``rows`` rows: :data:`DEFAULT_ELEMENTS` floats
    per matrix, 16 to 4096 points, and never more than there are points.

    >>> chunk_size(980, 10_000), chunk_size(65_000, 10_000), chunk_size(10, 3)
    (2139, 32, 3)
    """
    return max(1, min(points, max(16, min(4096, DEFAULT_ELEMENTS // rows))))


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
    """A folded sum, ready for arrays (rows of the chunk matrices, not slots).

    Forward, its products are ``V[rows] · coefficients`` (then ``· V[second]`` at the
    positions ``both``): a factor that is the same at every point (a weight) is a number,
    not a row to gather, and ``x·w`` is ``w·x`` in IEEE 754. Backward, its additions are
    ``adjoint[targets] += g · V[factor_rows] · factor_coefficients`` in the scalar loop's
    order (pairs first), one of the two factors being 1.0.
    """

    __slots__ = (
        "both",
        "coefficients",
        "factor_coefficients",
        "factor_rows",
        "factors_fixed",
        "rows",
        "scaled",
        "second",
        "targets",
        "unique",
    )

    def __init__(
        self, folded: Sum, values: Sequence[float], active: set[int], row: dict[int, int]
    ) -> None:
        terms, pairs, singles = folded
        additions = [a for x, y in pairs for a in ((x, y), (y, x))]
        additions.extend(singles)
        one = row[len(values) - 1]  # the row of the 1.0
        rows, coefficients, both, second = [], [], [], []
        for n, (p, q) in enumerate(terms):
            if p in active and q in active:
                rows.append(row[p])
                coefficients.append(1.0)
                both.append(n)
                second.append(row[q])
            elif p in active or q in active:
                varying, fixed = (p, q) if p in active else (q, p)
                rows.append(row[varying])
                coefficients.append(values[fixed])
            else:
                rows.append(one)
                coefficients.append(values[p] * values[q])
        self.rows = np.array(rows, dtype=np.intp)
        self.coefficients = np.array(coefficients)[:, None]
        self.scaled = any(c != 1.0 for c in coefficients)
        self.both = np.array(both, dtype=np.intp)
        self.second = np.array(second, dtype=np.intp)
        self.targets = np.array([row[t] for t, _ in additions], dtype=np.intp)
        self.factor_rows = np.array(
            [row[f] if f in active else one for _, f in additions], dtype=np.intp
        )
        self.factor_coefficients = np.array(
            [1.0 if f in active else values[f] for _, f in additions]
        )
        self.factors_fixed = not any(f in active for _, f in additions)
        self.unique = len(set(self.targets.tolist())) == len(additions)


Step = tuple[int, int, int, int, int, Any]
"""An instruction over rows: ``(code, backward code, output row, row a, row b, detail)``,
the detail a :class:`_Folded` for sums, ``(rule, argument rows, wanted)`` for rule calls."""


GROUP = -1
"""The code of a :class:`_Group` step (forward and backward)."""
_GROUP_TERMS = 4096  # at most this many products per group (its temporaries: 8·this·chunk B)


class _Group:
    """Consecutive folded sums that read none of each other's results (a layer's neurons),
    of one kind and one size, run as one: their products are one ``(sums, terms, chunk)``
    array, added left to right along the terms; backward, each sum's additions are made in
    the scalar loop's order (the last sum's first)."""

    __slots__ = (
        "code",
        "coefficients",
        "columns",
        "factor_coefficients",
        "factor_rows",
        "factors_fixed",
        "outputs",
        "rows",
        "shared",
        "sums",
        "targets",
        "unique",
    )

    def __init__(self, members: list[Step]) -> None:
        folded: list[_Folded] = [m[5] for m in members]
        self.code = members[0][0]
        self.outputs = np.array([m[2] for m in members], dtype=np.intp)
        self.sums = np.array([m[3] for m in members], dtype=np.intp)
        self.rows = np.stack([f.rows for f in folded])
        # A dense layer's sums read the same row at each term position (one input), and
        # all add to the same rows backward: then a row is read once, not gathered per sum.
        self.columns = [
            int(column[0]) if (column == column[0]).all() else column.copy()
            for column in self.rows.T
        ]
        self.coefficients = np.stack([f.coefficients for f in folded])
        self.targets = [f.targets for f in reversed(folded)]
        self.unique = [f.unique for f in reversed(folded)]
        self.factor_rows = np.stack([f.factor_rows for f in reversed(folded)])
        self.factor_coefficients = np.stack([f.factor_coefficients for f in reversed(folded)])[
            :, :, None
        ]
        self.factors_fixed = all(f.factors_fixed for f in folded)
        first = self.targets[0]
        self.shared = all(self.unique) and all(np.array_equal(t, first) for t in self.targets)

    @property
    def size(self) -> int:
        return int(self.rows.size)


def _grouped(steps: list[Step]) -> list[Step]:
    """``steps`` with each run of independent folded sums of one kind and size as one step."""
    result: list[Step] = []
    run: list[Step] = []
    written: set[int] = set()

    def close() -> None:
        if len(run) > 1:
            result.append((GROUP, GROUP, -1, -1, -1, _Group(run)))
        else:
            result.extend(run)
        run.clear()
        written.clear()

    for step in steps:
        code, _, i, a, _, detail = step
        fits = (
            code >= SUM
            and not len(detail.both)
            and bool(run)
            and code == run[0][0]
            and len(detail.rows) == len(run[0][5].rows)
            and len(detail.targets) == len(run[0][5].targets)
            and (len(run) + 1) * len(detail.rows) <= _GROUP_TERMS
            and written.isdisjoint(detail.rows.tolist())
            and written.isdisjoint(detail.factor_rows.tolist())
        )
        if not fits:
            close()
        if code >= SUM and not len(detail.both):
            run.append(step)
            written.update((i, a))
        else:
            result.append(step)
    close()
    return result


def _active(program: Program) -> set[int]:
    """The slots whose values differ from point to point: inputs and what ops compute."""
    active = set(program._inputs)
    for block in (program._main, program._extra):
        for _, _, i, a, _ in block.fused:
            active.update((i, a))
    return active


class _Plan:
    """A program as the batched loops run it, made once per program: only the slots the
    loops read or write get a row of the chunk matrices (a network's weights are numbers
    in its sums' coefficients, not rows), and instructions name rows."""

    __slots__ = (
        "active",
        "aux",
        "extra",
        "inputs",
        "judged",
        "main",
        "output",
        "reached",
        "reached_rows",
        "rows",
        "start",
        "unseen_bad",
    )

    def __init__(self, program: Program) -> None:
        values = [*program._values, 1.0]  # 1.0: what plain terms of a sum are multiplied by
        active = _active(program)
        needed = {*active, len(values) - 1, program._output, *program._aux}
        for block in (program._main, program._extra):
            for step in block.fused:
                if step[0] < SUM:  # a sum's factors are rows only where they vary
                    needed.update(block.arguments(step))
        slots = sorted(needed)
        row = {slot: r for r, slot in enumerate(slots)}
        self.rows = len(slots)
        self.start = np.array([values[slot] for slot in slots])[:, None]
        self.main = self._steps(program._main, values, active, row)
        self.extra = self._steps(program._extra, values, active, row)
        self.inputs = np.array([row[k] for k in program._inputs], dtype=np.intp)
        self.output = row[program._output]
        self.reached = [i for i, r in enumerate(program._reached) if r]
        self.reached_rows = self.inputs[self.reached]
        self.aux = np.array([row[k] for k in program._aux], dtype=np.intp)
        # The adjoints a reverse pass touches: the others stay -0.0, as in the scalar loop.
        self.active = np.array(sorted(row[k] for k in active | {program._output}), np.intp)
        self.judged = np.array(
            [row[k] for k in sorted(active) if program._ops[k] != CONST], dtype=np.intp
        )
        # strict(): the scalar replay also judges the values without a row (the same at
        # every point); if one is not finite, every point is re-run through it.
        self.unseen_bad = any(v - v for k, v in enumerate(values) if k not in row)

    @staticmethod
    def _steps(
        block: Instructions, values: Sequence[float], active: set[int], row: dict[int, int]
    ) -> list[Step]:
        steps: list[Step] = []
        for step in block.fused:
            code, bcode, i, a, b = step
            detail: Any = None
            if code >= SUM:
                detail = _Folded(block.sums[i], values, active, row)
            elif code in (UNARY, BINARY, NARY):
                args = tuple(row[j] for j in block.arguments(step))
                detail = (block.rules[i], args, block.wanted.get(i))
            steps.append((code, bcode, row[i], row[a], row[b], detail))
        return _grouped(steps)


def _plan(program: Program) -> _Plan:
    plan: _Plan | None = getattr(program, "_batch_plan", None)
    if plan is None:
        plan = _Plan(program)
        object.__setattr__(program, "_batch_plan", plan)  # a slot of Program
    return plan


# --------------------------------------------------------------------------- the loops


def _per_point_forward(rule: Rule, columns: list[Array]) -> list[float]:
    """An op without an array form: its scalar forward at each point."""
    return [run_forward(rule, point) for point in zip(*(c.tolist() for c in columns), strict=False)]


def forward(steps: list[Step], V: Array) -> None:
    """The forward pass over a chunk: ``V`` is ``(rows, chunk)``."""
    for code, _, i, a, b, detail in steps:
        if code == GROUP:
            _group_forward(detail, V)
        elif code >= SUM:
            plan = detail
            products = V[plan.rows]
            if plan.scaled:
                products *= plan.coefficients
            if len(plan.both):
                products[plan.both] *= V[plan.second]
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
            rule, rows, _ = detail
            args = [V[j] for j in rows]
            if rule.array_forward is not None:
                V[i] = rule.array_forward(*args)
            else:
                V[i] = _per_point_forward(rule, args)


def _group_forward(group: _Group, V: Array) -> None:
    terms = group.rows.shape[1]
    if V.shape[1] * group.size <= _IN_CACHE:  # one (sums, terms, chunk) array of products
        products = V[group.rows]
        products *= group.coefficients
        if products.shape[2] <= _NARROW:
            np.cumsum(products, axis=1, out=products)
            total = products[:, -1, :]
        else:
            total = products[:, 0, :].copy()
            for t in range(1, terms):  # left to right, as the scalar loop adds
                total += products[:, t, :]
    else:  # term by term: a (sums, chunk) array at a time stays in cache
        columns, coefficients = group.columns, group.coefficients
        total = coefficients[:, 0] * V[columns[0]]  # x·w is w·x in IEEE 754
        for t in range(1, terms):
            total += coefficients[:, t] * V[columns[t]]
    V[group.sums] = total
    if group.code == SUM_RELU:
        V[group.outputs] = np.where(total < 0.0, 0.0, total)
    elif group.code == SUM_TANH:
        V[group.outputs] = np.tanh(total)


def _group_backward(group: _Group, V: Array, adj: Array) -> None:
    g = adj[group.outputs[::-1]]  # the last sum first, as the reverse pass meets them
    if group.code == SUM_RELU:
        g = -0.0 + g * np.where(V[group.sums[::-1]] <= 0.0, 0.0, 1.0)
    elif group.code == SUM_TANH:
        out = V[group.outputs[::-1]]
        g = -0.0 + g * (1 - out * out)
    shared = group.shared
    block = adj[group.targets[0]] if shared else adj  # a dense layer's inputs, gathered once
    for j, (targets, unique) in enumerate(zip(group.targets, group.unique, strict=True)):
        if group.factors_fixed:
            added = group.factor_coefficients[j] * g[j]
        else:
            added = V[group.factor_rows[j]]
            added *= group.factor_coefficients[j]
            added *= g[j]
        if shared:
            block += added
        elif unique:
            adj[targets] += added
        else:
            np.add.at(adj, targets, added)
    if shared:
        adj[group.targets[0]] = block


def _partials(rule: Rule, args: list[Array], out: Array) -> Sequence[Any]:
    if rule.array_partials is not None:
        return check_arity(rule.name, rule.array_partials(*args, out), len(args))
    rows = [
        float_partials(rule, point, value)
        for point, value in zip(
            zip(*(c.tolist() for c in args), strict=False), out.tolist(), strict=False
        )
    ]
    return [np.array(column) for column in zip(*rows, strict=False)] if rows else [0.0] * len(args)


def backward(steps: list[Step], V: Array, adj: Array) -> None:
    """The reverse pass over a chunk, adding to each row in the scalar loop's order."""
    for _, code, i, a, b, detail in reversed(steps):
        if code == GROUP:
            _group_backward(detail, V, adj)
            continue
        g = adj[i]
        if code >= B_SUM:
            if code == B_SUM_RELU:
                g = -0.0 + g * np.where(V[a] <= 0.0, 0.0, 1.0)
            elif code == B_SUM_TANH:
                out = V[i]
                g = -0.0 + g * (1 - out * out)
            plan = detail
            if plan.factors_fixed:
                contributions = np.multiply.outer(plan.factor_coefficients, g)
            else:
                contributions = V[plan.factor_rows]
                contributions *= plan.factor_coefficients[:, None]
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
            rule, rows, wanted = detail
            parts = _partials(rule, [V[j] for j in rows], V[i])
            for n, (j, partial) in enumerate(zip(rows, parts, strict=True)):
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
    out_values = np.empty(n)
    out_gradient = np.zeros((n, k)) if gradient else None
    out_aux = np.empty((n, len(program._aux)))
    if n == 0:
        return BatchResult(program.input_names, out_values, out_gradient, out_aux)
    plan = _plan(program)
    size = chunk_size(plan.rows, n) if chunk is None else min(chunk, n)
    inputs, output, reached, aux = plan.inputs, plan.output, plan.reached, plan.aux
    strict_mode = is_strict()
    V_full: Array = np.empty((plan.rows, size))
    V_full[...] = plan.start  # rows no input reaches keep their values
    adj_full: Array = np.empty((plan.rows, size)) if gradient else V_full
    with array_errors():
        for start in range(0, n, size):
            stop = min(start + size, n)
            c = stop - start
            V = V_full[:, :c]
            V[inputs] = points[start:stop].T
            forward(plan.main, V)
            if plan.extra:
                forward(plan.extra, V)
            bad = None
            if strict_mode:
                bad = plan.unseen_bad | ~np.isfinite(V).all(axis=0)
            out_values[start:stop] = V[output]
            out_aux[start:stop] = V[aux].T
            if out_gradient is None:
                if bad is not None:
                    _judge(program, points[start:stop], bad, False)
                continue
            adj = adj_full[:, :c]
            adj[plan.active] = -0.0  # the IEEE additive identity, as the scalar replay starts
            adj[output] = 1.0
            backward(plan.main, V, adj)
            out_gradient[start:stop, reached] = adj[plan.reached_rows].T
            if bad is not None:
                bad |= program._unjudged | ~np.isfinite(adj[plan.judged]).all(axis=0)
                _judge(program, points[start:stop], bad, True)
    return BatchResult(program.input_names, out_values, out_gradient, out_aux)


def _judge(
    program: Program, points: Array, bad: NDArray[np.bool_] | np.bool_, gradient: bool
) -> None:
    """strict(): re-run the points marked ``bad`` through the scalar replay, in order; the
    first that meets a non-finite value raises its error (as a loop of evaluate would)."""
    for row in np.flatnonzero(bad).tolist():
        program.evaluate(points[row].tolist(), gradient=gradient)
