"""Pickling and copying: programs, rules, tapes, gradients and models round-trip bit for bit,
custom ops pickle by their functions' names (or say why not), and programs run in spawned
processes with the results of this one."""

from __future__ import annotations

import copy
import math
import multiprocessing
import pickle
import struct
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
import fnad.engine.ops
from fnad import Node, Program
from fnad.compiled.batch import BatchResult
from fnad.engine.rules import RuleTable, builtin_rules
from fnad.nn.datasets import moons
from fnad.nn.model import MLP, Adam, step_program, train_step
from tests.compiled import pickle_helpers as helpers
from tests.compiled.test_program import SPECIALS, compiled, sums_of_products
from tests.export_strategies import Expr, expressions

SUBNORMALS = [5e-324, -5e-324, 2.2250738585072014e-308 / 3]
EDGES = [0.0, -0.0, math.inf, -math.inf, math.nan, *SUBNORMALS, 1e308, -1e-300]


def bits(x: float) -> bytes:
    """The float's 8 bytes: -0.0 differs from 0.0, and a nan keeps its payload."""
    return struct.pack("<d", x)


def same_floats(a: Any, b: Any) -> bool:
    return len(a) == len(b) and all(bits(x) == bits(y) for x, y in zip(a, b, strict=True))


def same_evaluation(a: fnad.Evaluation, b: fnad.Evaluation) -> bool:
    return (
        bits(a.value) == bits(b.value)
        and same_floats(a.gradient, b.gradient)
        and same_floats(a.aux, b.aux)
    )


def round_trips(program: Program) -> list[Program]:
    """The program through pickle (every protocol from 2 on) and through deepcopy."""
    copies = [
        pickle.loads(pickle.dumps(program, protocol))
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1)
    ]
    return [*copies, copy.deepcopy(program)]


def same_table(a: Program, b: Program) -> None:
    ta, tb = a.table, b.table
    assert tuple(ta.ops) == tuple(tb.ops)
    assert tuple(ta.labels) == tuple(tb.labels)
    assert same_floats(ta.values, tb.values)
    assert list(ta.starts) == list(tb.starts) and list(ta.sources) == list(tb.sources)
    assert tuple(ta.inputs) == tuple(tb.inputs) and tuple(ta.outputs) == tuple(tb.outputs)
    assert tuple(ta.names) == tuple(tb.names) == a.input_names == b.input_names
    assert dict(ta.rules) == dict(tb.rules)  # Rule is attrs: equal fields (functions by identity)


# --------------------------------------------------------------------------- programs


@settings(max_examples=150, deadline=None)
@given(
    expressions() | sums_of_products(),
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(SPECIALS + EDGES),
        min_size=3,
        max_size=3,
    ),
)
def test_a_program_round_trips_bit_for_bit(expr: Expr, raw: list[float]) -> None:
    program = compiled(expr)
    point = raw[: len(expr.leaves)]
    expected = program.evaluate(point)
    for again in round_trips(program):
        assert again is not program
        same_table(program, again)
        assert same_evaluation(again.evaluate(point), expected)
        assert same_evaluation(
            again.evaluate(point, gradient=False), program.evaluate(point, gradient=False)
        )
        assert same_floats(list(again.inputs.values()), list(program.inputs.values()))


@pytest.mark.parametrize("stored", EDGES)
def test_stored_special_values_keep_their_bits(stored: float) -> None:
    with fnad.Tape():
        x = Node(stored, label="x")
        y = Node(-stored, label="y")
        z = x * y + fnad.Node(1.0) * stored
    program = Program.from_nodes(z, [x, y])
    for again in round_trips(program):
        same_table(program, again)
        assert same_evaluation(
            again.evaluate([stored, -stored]), program.evaluate([stored, -stored])
        )


def test_built_in_rules_pickle_by_name_and_keep_their_identity() -> None:
    program = fnad.compile(lambda x, y: (x * y).tanh() + x.relu() - y / 2.0, 1.0, 2.0)
    pickled = pickle.dumps(program)
    assert b"builtin_rule" in pickled and b"rule_from_fields" not in pickled  # by name
    again = pickle.loads(pickled)
    for op, rule in again.table.rules.items():
        assert rule is builtin_rules()[op]
    tanh = builtin_rules()["tanh"]
    assert pickle.loads(pickle.dumps(tanh)) is tanh
    assert copy.copy(tanh) is tanh and copy.deepcopy(tanh) is tanh


BUILT_IN_OPS = sorted(
    {"add", "sub", "mul", "truediv", "neg"}
    | {
        op.name
        for op in (getattr(fnad.engine.ops, name) for name in fnad.engine.ops.__all__)
        if isinstance(op, (fnad.UnaryOp, fnad.BinaryOp))
    }
)


@pytest.mark.parametrize("op", BUILT_IN_OPS)
def test_every_built_in_rule_pickles_as_itself(op: str) -> None:
    rule = builtin_rules()[op]
    pickled = pickle.dumps(rule)
    assert pickle.loads(pickled) is rule
    assert b"builtin_rule" in pickled and len(pickled) < 100  # a name, not a function


def test_a_built_in_name_replaced_by_a_custom_op_pickles_the_custom_rule() -> None:
    with fnad.isolated_rules() as table:
        fnad.defop(
            "tanh",
            impl=helpers.softplus_impl,
            partials=helpers.softplus_partials,
            replace=True,
            table=table,
        )
        program = fnad.compile(lambda x: x.tanh(), 1.0)
    again = pickle.loads(pickle.dumps(program))
    rule = again.table.rules["tanh"]
    assert rule is not builtin_rules()["tanh"]
    assert rule.forward.__wrapped__ is helpers.softplus_impl
    assert again(1.0) == helpers.softplus_impl(1.0) == program(1.0)


def test_a_program_is_compiled_again_from_its_table() -> None:
    program = helpers.compiled_network()
    again = pickle.loads(pickle.dumps(program))
    assert repr(again) == repr(program)
    assert len(again) == len(program)
    assert copy.copy(program) is program  # nothing in a program changes once compiled
    for x, y in [(0.5, -1.0), (2.0, 3.0), (-0.0, 0.0), (math.inf, 1.0), (math.nan, 2.0)]:
        assert same_evaluation(again.evaluate([x, y]), program.evaluate([x, y]))
        assert again.jvp((x, y), (1.0, -2.0)) == pytest.approx(
            program.jvp((x, y), (1.0, -2.0)), nan_ok=True
        )


@settings(max_examples=60, deadline=None)
@given(
    expressions() | sums_of_products(),
    st.lists(
        st.lists(
            st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(EDGES),
            min_size=3,
            max_size=3,
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_a_batch_and_its_result_round_trip_bit_for_bit(expr: Expr, rows: list[list[float]]) -> None:
    program = compiled(expr)
    X = np.array([row[: len(expr.leaves)] for row in rows])
    result = program.batch(X)
    for again in round_trips(program):
        same_batch(again.batch(X), result)
    same_batch(pickle.loads(pickle.dumps(result)), result)
    same_batch(copy.deepcopy(result), result)
    values_only = program.batch(X, gradient=False)
    same_batch(pickle.loads(pickle.dumps(values_only)), values_only)


def same_batch(a: BatchResult, b: BatchResult) -> None:
    assert a.input_names == b.input_names
    assert a.values.tobytes() == b.values.tobytes() and a.aux.tobytes() == b.aux.tobytes()
    assert a.values.shape == b.values.shape and a.aux.shape == b.aux.shape
    if a.gradient is None or b.gradient is None:
        assert a.gradient is None and b.gradient is None
    else:
        assert a.gradient.shape == b.gradient.shape
        assert a.gradient.tobytes() == b.gradient.tobytes()


def test_aux_values_round_trip() -> None:
    def f(x: Node, y: Node) -> tuple[Node, list[Node]]:
        s = x * y
        return s.tanh(), [s, x + 1.0]

    program = fnad.compile(f, 0.3, -0.7, has_aux=True)
    for again in round_trips(program):
        assert same_evaluation(again.evaluate([1.5, 2.0]), program.evaluate([1.5, 2.0]))
        assert len(again.evaluate([1.5, 2.0]).aux) == 2


# --------------------------------------------------------------------------- custom ops


def test_a_custom_op_with_importable_functions_pickles_by_their_names() -> None:
    program = helpers.compiled_network()
    pickled = pickle.dumps(program)
    assert b"softplus_impl" in pickled and b"softplus_partials" in pickled
    rule = pickle.loads(pickled).table.rules["helpers.softplus"]
    original = program.table.rules["helpers.softplus"]
    assert rule is not original
    assert (rule.name, rule.arity, rule.samples, rule.doc) == (
        original.name,
        original.arity,
        original.samples,
        original.doc,
    )
    # defop's checking wrappers are made again around the same module-level functions.
    assert rule.forward.__wrapped__ is helpers.softplus_impl
    assert rule.partials.__wrapped__ is helpers.softplus_partials
    assert rule.forward.__qualname__ == original.forward.__qualname__
    assert rule.partials(0.5, 1.0) == original.partials(0.5, 1.0)


def make_lambda_op(table: RuleTable) -> Callable[..., Any]:
    return fnad.defop(
        "mylib.square", impl=lambda x: x * x, partials=lambda x, out: (2 * x,), table=table
    )


def make_nested_op(table: RuleTable) -> Callable[..., Any]:
    def cube(x: float) -> float:
        return x * x * x

    return fnad.defop("mylib.cube", impl=cube, partials=helpers.softplus_partials, table=table)


@pytest.mark.parametrize(
    ("make", "op", "shown"),
    [(make_lambda_op, "mylib.square", "<lambda>"), (make_nested_op, "mylib.cube", "cube")],
)
def test_a_custom_op_that_cannot_be_imported_by_name_says_which_and_how_to_fix_it(
    make: Callable[[RuleTable], Any], op: str, shown: str
) -> None:
    with fnad.isolated_rules() as table:
        square = make(table)
        program = fnad.compile(lambda x: square(x) + 1.0, 2.0)
    with pytest.raises(fnad.UnpicklableError) as caught:
        pickle.dumps(program)
    message = str(caught.value)
    assert f"op {op!r} cannot be pickled" in message
    assert shown in message and "impl" in message
    assert "at module level in an importable module" in message
    assert "fnad.to_json" in message
    assert isinstance(caught.value, pickle.PicklingError)  # what multiprocessing expects
    # A copy stays in this process: nothing has to be imported, so it works.
    twin = copy.deepcopy(program)
    assert same_evaluation(twin.evaluate([3.0]), program.evaluate([3.0]))


# --------------------------------------------------------------------------- check()


def test_check_survives_a_pickle_when_the_function_is_importable() -> None:
    again = pickle.loads(pickle.dumps(helpers.compiled_network()))
    with fnad.use_rules(helpers.TABLE):
        again.check(1.0, 2.0)


def test_check_on_an_unpickled_program_says_why_it_has_no_function() -> None:
    program = fnad.compile(lambda x: x * x, 2.0)
    program.check(3.0)
    again = pickle.loads(pickle.dumps(program))
    with pytest.raises(fnad.TransformError, match=r"unpickled without it: <lambda> \(module"):
        again.check(3.0)
    copy.deepcopy(program).check(3.0)  # a copy keeps it
    # ...and a second pickle keeps the reason.
    with pytest.raises(fnad.TransformError, match="unpickled without it: <lambda>"):
        pickle.loads(pickle.dumps(again)).check(3.0)


def test_a_program_from_a_file_still_says_it_has_no_function() -> None:
    program = fnad.from_json(fnad.to_json(fnad.compile(lambda x: x * x, 2.0)))
    with pytest.raises(fnad.TransformError, match="loaded from a file"):
        pickle.loads(pickle.dumps(program)).check(1.0)


# --------------------------------------------------------------------------- rule tables


def test_rule_tables_pickle_and_copy_without_their_lock() -> None:
    assert pickle.loads(pickle.dumps(builtin_rules())) is builtin_rules()
    table = RuleTable({"tanh": builtin_rules()["tanh"]})
    again = pickle.loads(pickle.dumps(table))
    assert again is not table and again["tanh"] is builtin_rules()["tanh"]
    for twin in (copy.copy(table), copy.deepcopy(table)):
        assert twin is not table and dict(twin) == dict(table)
    assert copy.deepcopy(builtin_rules()) is not builtin_rules()  # an independent table


# --------------------------------------------------------------------------- tapes, gradients


def test_a_tape_and_its_gradients_round_trip() -> None:
    with fnad.Tape() as tape:
        x = Node(-0.0, label="x")
        y = Node(5e-324, label="y")
        z = (x * y + x.exp()).tanh() + y / x
        grads = z.backward()
    for again in (pickle.loads(pickle.dumps(grads)), copy.deepcopy(grads)):
        assert again.output.tape is not tape
        assert bits(again.output.data) == bits(z.data)
        assert len(again) == len(grads)
        mine = sorted(((n.label, n.op, bits(g)) for n, g in grads.items()), key=repr)
        theirs = sorted(((n.label, n.op, bits(g)) for n, g in again.items()), key=repr)
        assert mine == theirs
        assert all(node.tape is again.output.tape for node in again)
        # The tape came along: backward again gives the same gradients.
        (x2,) = [n for n in again if n.label == "x"]
        assert bits(again.output.backward()[x2]) == bits(grads[x])


def test_gradients_of_gradients_round_trip() -> None:
    with fnad.Tape():
        x = Node(0.7, label="x")
        grads = (x * x.sin()).backward(create_graph=True)
    again = pickle.loads(pickle.dumps(grads))
    (x2,) = [n for n in again if n.label == "x"]
    assert isinstance(again[x2], Node)
    assert bits(again[x2].data) == bits(grads[x].data)
    assert bits(again[x2].backward()[x2]) == bits(grads[x].backward()[x])


# --------------------------------------------------------------------------- models


def test_micrograds_moons_network_round_trips() -> None:
    points, labels = moons(8, seed=1)
    model = MLP(2, [16, 16, 1], seed=2)
    optimizer = Adam(lr=0.05)
    for _ in range(2):
        model, optimizer = optimizer.step(
            model, step_program(model, points, labels).evaluate(model.parameters()).gradient
        )
    for again in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert again is not model and again.shape == model.shape
        assert same_floats(again.parameters(), model.parameters())
        assert same_floats([again(p) for p in points], [model(p) for p in points])
        ours = train_step(model, points, labels, lr=0.1, compiled=False)
        theirs = train_step(again, points, labels, lr=0.1, compiled=False)
        assert bits(ours.loss) == bits(theirs.loss)
        assert same_floats(ours.model.parameters(), theirs.model.parameters())
    program = step_program(model, points, labels)
    again_program = pickle.loads(pickle.dumps(program))
    params = list(model.parameters())
    assert same_evaluation(again_program.evaluate(params), program.evaluate(params))
    twin_optimizer = pickle.loads(pickle.dumps(optimizer))
    assert twin_optimizer == optimizer


def test_a_traced_model_round_trips_with_its_tape() -> None:
    model = MLP(2, [3, 1], seed=0)
    with fnad.Tape():
        net = model.trace()
        out = net([0.5, -1.0])
    again_net, again_out = pickle.loads(pickle.dumps((net, out)))
    assert again_out.tape is again_net.parameters()[0].tape
    assert bits(again_out.data) == bits(out.data)
    assert same_floats(again_net.gradient(again_out.backward()), net.gradient(out.backward()))


# --------------------------------------------------------------------------- processes


def test_programs_run_in_spawned_processes_with_the_same_results() -> None:
    program = helpers.compiled_network()
    points = [[0.5, -1.0], [2.0, 3.0], [-0.0, 0.0], [math.inf, 1.0], [math.nan, 2.0], [1e-310, 7.0]]
    expected = helpers.replay(program, points)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        results = pool.submit(helpers.replay, program, points).result(timeout=120)
        twice = list(pool.map(helpers.replay, [program, program], [points[:2], points[2:]]))
        batch = pool.submit(helpers.replay_batch, program, np.array(points)).result(timeout=120)
    same_batch(batch, program.batch(np.array(points)))
    assert all(same_evaluation(a, b) for a, b in zip(results, expected, strict=True))
    assert all(same_evaluation(a, b) for a, b in zip(twice[0] + twice[1], expected, strict=True))


@pytest.mark.slow
def test_a_long_chain_pickles_without_recursion() -> None:
    n = 100_000  # 300,001 vertices: each step is a mul, its constant and a tanh
    with fnad.Tape() as tape:
        x = Node(0.3, label="x")
        y = x
        for _ in range(n):
            y = (y * 0.999999).tanh()
    program = Program.from_nodes(y, [x])
    tape.close()
    assert len(program) == 3 * n + 1
    expected = program.evaluate([0.25])
    for again in (pickle.loads(pickle.dumps(program)), copy.deepcopy(program)):
        assert same_evaluation(again.evaluate([0.25]), expected)
