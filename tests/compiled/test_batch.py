"""Batched replay (Program.batch): the scalar replay's results at every point, bit for bit
where the array forms are exact, in bounded chunks; inputs, errors, strict mode, custom ops,
per-example gradients and memory."""

from __future__ import annotations

import functools
import math
import pickle
import tracemalloc
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
from fnad import Node, Program
from fnad.nn.datasets import moons
from fnad.nn.model import MLP
from tests.compiled.test_program import SPECIALS, compiled, sums_of_products
from tests.export_strategies import Expr, expressions, same

np: Any = pytest.importorskip("numpy")

from fnad.compiled.batch import GROUP, BatchResult, chunk_size  # noqa: E402

# The ops of the random graphs whose NumPy forms may differ from the C library's by an ulp
# (their bound is tested op by op in tests/engine/test_array_forms.py). With their array
# forms taken away they run point by point through the scalar rule, so the interpreter
# itself must then reproduce the scalar replay bit for bit on every graph.
INEXACT = ("exp", "log", "sin", "cos", "tanh", "sigmoid", "pow")
EXACT_UNARY = ("neg", "sqrt", "relu", "abs")
EXACT_BINARY = ("add", "sub", "mul", "truediv")


@contextmanager
def scalar_forms(ops: Sequence[str] = INEXACT) -> Iterator[fnad.RuleTable]:
    """A private rule table where ``ops`` have no array forms (a batch runs them per point)."""
    with fnad.isolated_rules() as table:
        for name in ops:
            table.register(
                attrs.evolve(table[name], array_forward=None, array_partials=None), replace=True
            )
        yield table


def gradient_of(result: BatchResult) -> Any:
    assert result.gradient is not None
    return result.gradient


def scalar_replay(
    program: Program, X: Any, gradient: bool = True
) -> tuple[list[float], list[list[float]], list[list[float]]]:
    rows = [program.evaluate(p, gradient=gradient) for p in np.asarray(X, float).tolist()]
    return [r.value for r in rows], [list(r.gradient) for r in rows], [list(r.aux) for r in rows]


def assert_same_as_scalar(program: Program, X: Any, *, chunk: int | None = None) -> None:
    result = program.batch(X, chunk=chunk)
    values, grads, aux = scalar_replay(program, X)
    assert all(map(same, result.values.tolist(), values)), (result.values, values)
    for mine, theirs in zip(gradient_of(result).tolist(), grads, strict=True):
        assert all(map(same, mine, theirs)), (mine, theirs)
    for mine, theirs in zip(result.aux.tolist(), aux, strict=True):
        assert all(map(same, mine, theirs)), (mine, theirs)


point_values = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(SPECIALS)
point_sets = st.lists(st.lists(point_values, min_size=3, max_size=3), min_size=1, max_size=5)
# Chunk layouts: one point at a time, narrow chunks (a folded sum's terms added by
# np.cumsum), and a chunk over 64 points (added row after row in place).
layouts = st.sampled_from([(1, None), (3, 2), (70, None), (130, 65)])


def batch_points(raw: list[list[float]], k: int, length: int) -> Any:
    rows = [raw[i % len(raw)][:k] for i in range(length)]
    return np.array(rows, dtype=float).reshape(length, k)


@settings(max_examples=150, deadline=None)
@given(expressions() | sums_of_products(), point_sets, layouts)
def test_batch_equals_the_scalar_replay_bit_for_bit(
    expr: Expr, raw: list[list[float]], layout: tuple[int, int | None]
) -> None:
    """Every op through its array form where that is exact, point by point elsewhere."""
    with scalar_forms():
        program = compiled(expr)
    length, chunk = layout
    assert_same_as_scalar(program, batch_points(raw, len(expr.leaves), length), chunk=chunk)


@st.composite
def exact_expressions(draw: st.DrawFn) -> Expr:
    """Random DAGs of the ops whose array forms IEEE makes exact, with specials and consts."""
    values = st.floats(-3.0, 3.0).map(lambda v: round(v, 2)) | st.sampled_from(SPECIALS)
    leaves = tuple((f"v{i}", draw(values)) for i in range(draw(st.integers(1, 3))))
    steps: list[tuple[str, tuple[int | float, ...]]] = []
    for k in range(draw(st.integers(1, 16))):
        available = len(leaves) + k
        index = st.integers(max(0, available - 3), available - 1) | st.integers(0, available - 1)
        op = draw(st.sampled_from(EXACT_UNARY + EXACT_BINARY + EXACT_BINARY))
        if op in EXACT_UNARY:
            steps.append((op, (draw(index),)))
        else:
            steps.append((op, (draw(index), draw(index | index | values))))
    return Expr(leaves, tuple(steps))


@settings(max_examples=150, deadline=None)
@given(exact_expressions(), point_sets, layouts)
def test_exact_ops_through_their_array_forms_bit_for_bit(
    expr: Expr, raw: list[list[float]], layout: tuple[int, int | None]
) -> None:
    program = compiled(expr)
    length, chunk = layout
    assert_same_as_scalar(program, batch_points(raw, len(expr.leaves), length), chunk=chunk)


@settings(max_examples=100, deadline=None)
@given(
    expressions(specials=False) | sums_of_products(specials=False),
    st.lists(st.lists(st.floats(-3, 3), min_size=3, max_size=3), min_size=1, max_size=5),
)
def test_inexact_ops_through_numpy_are_close(expr: Expr, raw: list[list[float]]) -> None:
    """With NumPy's exp, tanh, ... the results differ from the scalar replay's by a few
    ulps per op, carried through the graph: close, and the same nan and inf."""
    program = compiled(expr)
    X = batch_points(raw, len(expr.leaves), 7)
    result = program.batch(X)
    values, grads, _ = scalar_replay(program, X)
    for mine, theirs in zip(
        [*result.values.tolist(), *gradient_of(result).ravel().tolist()],
        [*values, *(g for row in grads for g in row)],
        strict=True,
    ):
        if math.isfinite(theirs) and math.isfinite(mine):
            assert abs(mine - theirs) <= 1e-9 * max(1.0, abs(theirs)), (mine, theirs)


def test_a_folded_sum_adds_left_to_right() -> None:
    """Terms whose sum depends on the order of the additions: np.sum (pairwise) would not
    give the scalar replay's bits, in narrow or wide chunks."""
    weights = [1e16, 1.0, -1e16, 3.0, 1e-3, 7.0, -5e15, 0.1, 2.5e15, 1.0, 1.0, 1e-7, 9.0]
    weights = weights * 2

    def f(x: Node, y: Node) -> Node:
        total = x * weights[0]
        for i, w in enumerate(weights[1:]):
            total = total + (x if i % 2 else y) * w
        return total.relu()

    program = fnad.compile(f, 1.0, 1.0)
    assert len(program._main.fused) == 1  # one folded SUM_RELU instruction
    X = np.random.default_rng(0).uniform(-3.0, 3.0, (150, 2))
    for chunk in (1, 7, 64, 100, None):
        assert_same_as_scalar(program, X, chunk=chunk)


# --------------------------------------------------------------------------- the moons network


def decision_program(seed: int = 1337) -> Program:
    """micrograd's MLP 2-16-16-1 as a function of its two inputs (the decision boundary)."""
    model = MLP(2, [16, 16, 1], seed=seed)
    return fnad.compile(lambda x, y: model.trace()((x, y)), 0.0, 0.0)


def test_moons_network_equals_the_scalar_replay_bit_for_bit() -> None:
    program = decision_program()
    points, _ = moons(200, noise=0.1, seed=0)
    specials = [[a, b] for a in SPECIALS for b in (0.5, -1e300, math.nan)]
    X = np.array([*points, *specials])
    for chunk in (None, 1, 50, 200):
        assert_same_as_scalar(program, X, chunk=chunk)
    # A layer's neurons run as one group: products gathered at once, or term by term once
    # the chunk is wide (here for the second layer, not the first).
    steps = program._batch_plan.main  # type: ignore[attr-defined]
    assert [len(step[5].outputs) for step in steps if step[0] == GROUP] == [16, 16]
    wide = np.random.default_rng(1).uniform(-3.0, 3.0, (1200, 2))
    assert_same_as_scalar(program, wide, chunk=600)


@functools.cache
def moons_boundary() -> Program:
    return decision_program()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(point_values, point_values | st.floats(-3.0, 3.0)), min_size=1, max_size=90),
    st.sampled_from([None, 1, 7, 65]),
)
def test_moons_network_at_random_points_with_specials(
    points: list[tuple[float, float]], chunk: int | None
) -> None:
    assert_same_as_scalar(moons_boundary(), np.array(points, dtype=float), chunk=chunk)


def test_a_program_loaded_from_a_file_batches_the_same() -> None:
    program = fnad.compile(lambda x, y: (x * y).relu() + x.exp() / y, 1.0, 2.0)
    loaded = fnad.from_json(fnad.to_json(program))
    X = np.random.default_rng(2).uniform(-2.0, 2.0, (50, 2))
    mine, theirs = program.batch(X), loaded.batch(X)
    assert np.array_equal(mine.values, theirs.values)
    assert np.array_equal(gradient_of(mine), gradient_of(theirs))


def per_example_program(model: MLP[float]) -> Program:
    """The hinge loss of one labelled point, as a function of the parameters and the point."""
    with fnad.Tape() as tape:
        net = model.trace()
        x, y, label = Node(0.0, label="x"), Node(0.0, label="y"), Node(1.0, label="label")
        loss = (1 - label * net((x, y))).relu()
        program = Program.from_nodes(loss, [*net.parameters(), x, y, label])
    tape.close()
    assert program.input_names == (*model.labels(), "x", "y", "label")
    return program


def test_per_example_gradients_of_the_moons_network() -> None:
    model = MLP(2, [16, 16, 1], seed=1337)
    program = per_example_program(model)
    points, labels = moons(40, noise=0.1, seed=0)
    X = np.array(points)
    result = program.batch({"x": X[:, 0], "y": X[:, 1], "label": np.array(labels, float)})
    P = len(model.parameters())
    per_example = gradient_of(result)[:, :P]
    assert per_example.shape == (40, P)
    # Each row is that point's scalar replay, bit for bit (the other inputs broadcast).
    for row, (x, y), label in zip(per_example.tolist(), points, labels, strict=True):
        expected = program.evaluate([*model.parameters(), x, y, float(label)]).gradient[:P]
        assert all(map(same, row, expected))
    # Their mean is the gradient of the mean loss (an eager trace), up to rounding.
    with fnad.Tape():
        net = model.trace()
        terms = [(1 - label * net(p)).relu() for p, label in zip(points, labels, strict=True)]
        mean = sum(terms[1:], terms[0]) / len(terms)
        eager = net.gradient(mean.backward())
    assert np.allclose(per_example.mean(axis=0), eager, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- inputs and results


def test_inputs_as_arrays_lists_mappings_and_ints() -> None:
    program = fnad.compile(lambda x, y: x * y + y, 2.0, 10.0)
    rows = [[1.0, 2.0], [3.0, -1.0]]
    expected = np.array([4.0, -4.0])
    assert np.array_equal(program.batch(np.array(rows)).values, expected)
    assert np.array_equal(program.batch(rows).values, expected)
    assert np.array_equal(program.batch(np.array([[1, 2], [3, -1]])).values, expected)
    assert np.array_equal(program.batch({"x": [1.0, 3.0], "y": [2.0, -1.0]}).values, expected)
    # Inputs left out keep their stored values, broadcast to every point.
    left_out = program.batch({"x": np.array([1.0, 3.0])})
    assert np.array_equal(left_out.values, [20.0, 40.0])
    assert np.array_equal(gradient_of(left_out), [[10.0, 2.0], [10.0, 4.0]])


def test_the_result_is_frozen_and_pickles() -> None:
    program = fnad.compile(lambda x: (x.tanh(), [x * 2.0]), 0.0, has_aux=True)
    result = program.batch([[0.5], [-1.0]])
    assert isinstance(result, BatchResult) and len(result) == 2
    assert result.input_names == ("x",) and result.aux.shape == (2, 1)
    assert np.array_equal(result.aux[:, 0], [1.0, -2.0])
    with pytest.raises(AttributeError):
        result.values = np.zeros(2)  # type: ignore[misc]
    again = pickle.loads(pickle.dumps(result))
    for name in ("values", "gradient", "aux"):
        assert np.array_equal(getattr(again, name), getattr(result, name))
    only_values = program.batch([[0.5]], gradient=False)
    assert only_values.gradient is None and only_values.values[0] == math.tanh(0.5)


def test_no_points() -> None:
    result = fnad.compile(lambda x, y: x * y, 0.0, 0.0).batch(np.empty((0, 2)))
    assert result.values.shape == (0,) and gradient_of(result).shape == (0, 2)


def test_shapes_that_disagree_are_typed_errors_naming_them() -> None:
    program = fnad.compile(lambda x, y: x * y, 0.0, 0.0)
    with pytest.raises(fnad.ReplayInputError, match=r"X has shape \(3,\), expected \(N, 2\)"):
        program.batch([1.0, 2.0, 3.0])
    with pytest.raises(fnad.ReplayInputError, match=r"shape \(4, 3\), expected \(N, 2\).*x, y"):
        program.batch(np.zeros((4, 3)))
    with pytest.raises(
        fnad.ReplayInputError, match=r"different shapes \('x': \(3,\), 'y': \(2,\)\)"
    ):
        program.batch({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]})
    with pytest.raises(fnad.ReplayInputError, match=r"input 'x' has shape \(2, 1\)"):
        program.batch({"x": [[1.0], [2.0]]})
    with pytest.raises(fnad.ReplayInputError, match="no input named 'z'; its inputs are 'x', 'y'"):
        program.batch({"z": [1.0]})
    with pytest.raises(fnad.ReplayInputError, match="names no input"):
        program.batch({})
    with pytest.raises(fnad.ReplayInputError, match="holds <U1 values"):
        program.batch([["a", "b"]])
    with pytest.raises(fnad.ReplayInputError, match="holds bool values"):
        program.batch(np.array([[True, False]]))
    with pytest.raises(fnad.ReplayInputError, match="holds complex128"):
        program.batch(np.array([[1j, 2.0]]))
    with pytest.raises(fnad.ReplayInputError, match="not an array of numbers"):
        program.batch([[1.0, 2.0], [3.0]])
    with pytest.raises(fnad.ReplayInputError, match="chunk must be a whole number"):
        program.batch([[1.0, 2.0]], chunk=0)


def test_chunk_size_is_bounded_by_memory_not_by_points() -> None:
    assert chunk_size(980, 10**6) == (1 << 21) // 980
    assert chunk_size(10, 10**6) == 4096 and chunk_size(10**6, 10**6) == 16
    assert chunk_size(980, 5) == 5


def test_no_warnings_from_ieee_specials() -> None:
    program = fnad.compile(
        lambda x, y: (x / y).log() + (x * 1e300).exp() + y.sqrt() + x**y + fnad.atanh(x), 1.0, 1.0
    )
    X = np.array([[a, b] for a in SPECIALS for b in SPECIALS])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = program.batch(X)
    assert np.isnan(result.values).any() and np.isinf(gradient_of(result)).any()


# --------------------------------------------------------------------------- strict mode


def test_strict_mode_raises_the_scalar_error_for_the_first_offending_point() -> None:
    program = fnad.compile(lambda x: x.log() * 2.0, 1.0)
    with fnad.strict(), pytest.raises(fnad.NonFiniteError) as scalar:
        program.evaluate([0.0])
    with fnad.strict(), pytest.raises(fnad.NonFiniteError) as batched:
        program.batch([[1.0], [0.0], [-1.0]])
    assert str(batched.value) == str(scalar.value)
    with fnad.strict():
        assert np.array_equal(program.batch([[1.0], [math.e]]).values, [0.0, 2.0])


def test_strict_mode_judges_values_and_gradients_in_point_order() -> None:
    program = fnad.compile(lambda x: x.sqrt() + x, 1.0)  # sqrt'(0) = inf; sqrt(-1) = nan
    with fnad.strict(), pytest.raises(fnad.NonFiniteError, match="gradient of x"):
        program.batch([[4.0], [0.0], [-1.0]])  # the gradient at point 1 comes first
    with fnad.strict(), pytest.raises(fnad.NonFiniteError, match="op 'sqrt' produced nan"):
        program.batch([[4.0], [-1.0], [0.0]])
    with fnad.strict():  # values only: the infinite gradient is not computed
        assert program.batch([[0.0]], gradient=False).values[0] == 0.0


# --------------------------------------------------------------------------- custom ops


def test_a_custom_op_without_array_forms_runs_point_by_point() -> None:
    calls: list[float] = []

    def impl(x: float) -> float:
        calls.append(x)
        return x**3

    with fnad.isolated_rules():
        cube = fnad.defop("demo.cube", impl=impl, partials=lambda x, out: (3 * x * x,))
        program = fnad.compile(lambda x: cube(x) + x, 2.0)
        calls.clear()
        result = program.batch([[1.0], [2.0], [-3.0]])
    assert calls == [1.0, 2.0, -3.0]
    assert np.array_equal(result.values, [2.0, 10.0, -30.0])
    assert np.array_equal(gradient_of(result)[:, 0], [4.0, 13.0, 28.0])


def test_a_custom_op_with_array_forms_runs_them_once_per_chunk() -> None:
    calls: list[int] = []

    def array_impl(x: Any) -> Any:
        calls.append(len(x))
        return x**3

    with fnad.isolated_rules():
        cube = fnad.defop(
            "demo.cube",
            impl=lambda x: x**3,
            partials=lambda x, out: (3 * x * x,),
            array_impl=array_impl,
            array_partials=lambda x, out: (3 * x * x,),
            samples=[1.5],
        )
        program = fnad.compile(lambda x: cube(x), 2.0)
        calls.clear()
        result = program.batch(np.arange(10.0).reshape(10, 1), chunk=4)
    assert calls == [4, 4, 2]
    assert np.array_equal(gradient_of(result)[:, 0], 3 * np.arange(10.0) ** 2)


# --------------------------------------------------------------------------- memory


def excess_memory(program: Program, n: int, chunk: int) -> int:
    """Peak memory of a batch beyond its inputs and results (which grow with N)."""
    X = np.random.default_rng(0).uniform(-1, 1, (n, 2))
    tracemalloc.start()
    try:
        result = program.batch(X, chunk=chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return int(peak - result.values.nbytes - gradient_of(result).nbytes - result.aux.nbytes)


def test_memory_is_bounded_by_the_chunk_not_by_n() -> None:
    program = decision_program()
    small, large = excess_memory(program, 20_000, 500), excess_memory(program, 100_000, 500)
    bound = 3 * 8 * (len(program) + 1) * 500  # values, adjoints, and room for temporaries
    assert small < bound and large < bound, (small, large, bound)
    assert abs(large - small) < 0.1 * bound


@pytest.mark.slow
def test_a_million_points_in_bounded_memory() -> None:
    program = decision_program()
    excess = excess_memory(program, 1_000_000, 2048)
    assert excess < 3 * 8 * (len(program) + 1) * 2048, excess
