"""Compiled replay (fnad.compile, fnad.Program): bit-for-bit equal to eager, custom ops,
strict mode, structure checks, bad inputs, scale, and no code generation anywhere."""

from __future__ import annotations

import ast
import builtins
import math
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
import fnad.compiled.folding
import fnad.compiled.program
from fnad import Node, Program
from fnad.compiled.instructions import SPECIALISED
from fnad.nn.datasets import moons
from fnad.nn.model import MLP, hinge_loss, l2, step_program
from tests.export_strategies import Expr, expressions, same

SPECIALS = [0.0, -0.0, 1.5, -2.25, 1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan]


def eager(expr: Expr, point: list[float]) -> tuple[float, list[float]]:
    """Trace ``expr`` at ``point`` and differentiate it: the oracle."""
    z, leaves = expr.build(dict(enumerate(point)))
    grads = z.backward()
    return z.data, [grads.get(leaf, 0.0) for leaf in leaves]


def compiled(expr: Expr) -> Program:
    z, leaves = expr.build()
    return Program.from_nodes(z, leaves, names=[f"v{i}" for i in range(len(leaves))])


@st.composite
def sums_of_products(draw: st.DrawFn, *, specials: bool = True) -> Expr:
    """DAGs made mostly of add chains over products, with activations, shared terms and
    constants: the shapes the replay folds into one instruction (see "folded sums"
    below), and the reuse that must stop a fold."""
    values = st.floats(-3.0, 3.0).map(lambda v: round(v, 2))
    if specials:
        values |= st.sampled_from(SPECIALS)
    leaves = tuple((f"v{i}", draw(values)) for i in range(draw(st.integers(1, 3))))
    steps: list[tuple[str, tuple[int | float, ...]]] = []
    for k in range(draw(st.integers(1, 24))):
        available = len(leaves) + k
        recent = st.integers(max(0, available - 2), available - 1)
        anywhere = st.integers(0, available - 1)
        op = draw(st.sampled_from(["add", "add", "add", "mul", "mul", "relu", "tanh", "sub"]))
        if op in ("relu", "tanh"):
            steps.append((op, (draw(recent),)))
        else:
            steps.append((op, (draw(recent), draw(anywhere | anywhere | values))))
    return Expr(leaves, tuple(steps))


@settings(max_examples=200)
@given(
    expressions() | sums_of_products(),
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(SPECIALS),
        min_size=3,
        max_size=3,
    ),
)
def test_replay_equals_eager_bit_for_bit(expr: Expr, raw: list[float]) -> None:
    program = compiled(expr)
    point = raw[: len(expr.leaves)]
    value, grads = eager(expr, point)
    result = program.evaluate(point)
    assert same(result.value, value)
    assert all(same(a, b) for a, b in zip(result.gradient, grads, strict=True)), (
        result.gradient,
        grads,
    )


@settings(max_examples=200)
@given(
    expressions(specials=False) | sums_of_products(specials=False),
    st.lists(st.floats(-3, 3), min_size=3, max_size=3),
)
def test_replay_jvp_equals_eager_jvp(expr: Expr, raw: list[float]) -> None:
    program = compiled(expr)
    point = raw[: len(expr.leaves)]
    tangents = [1.0 + i for i in range(len(point))]

    def f(*xs: Node) -> Node:
        nodes = list(xs)
        for op, args in expr.steps:
            operands = [nodes[a] if isinstance(a, int) else a for a in args]
            nodes.append(xs[0].tape.apply(op, *operands))
        return nodes[-1]

    value, tangent = fnad.jvp(f, point, tangents)
    replayed = program.jvp(point, tangents)
    assert same(replayed[0], value) and same(replayed[1], tangent)


@pytest.mark.parametrize("op", sorted(SPECIALISED))
def test_every_specialised_path_equals_its_rule(op: str) -> None:
    """The replay loops inline these ops; here each is checked against the rule table's
    forward function and partials, bit for bit, at ordinary and IEEE-special points."""
    rule = fnad.builtin_rules()[op]
    points = (
        [(a,) for a in SPECIALS]
        if rule.arity == 1
        else [(a, b) for a in SPECIALS for b in SPECIALS]
    )
    with fnad.Tape():
        leaves = [Node(1.0, label=f"a{i}") for i in range(rule.arity)]
        out = leaves[0].tape.apply(op, *leaves)
    program = Program.from_nodes(out, leaves)
    for point in points:
        value = rule.forward(*point)
        partials = rule.partials(*point, value)
        result = program.evaluate(list(point))
        assert same(result.value, value), (op, point)
        # The adjoint of an argument is -0.0 + 1.0 * partial, as eager accumulates it.
        assert all(
            same(g, -0.0 + 1.0 * p) for g, p in zip(result.gradient, partials, strict=True)
        ), (op, point, result.gradient, partials)


def test_an_inlined_op_whose_rule_was_replaced_uses_the_new_rule() -> None:
    """The fast path is taken only while the op's rule *is* the built-in one."""
    with fnad.isolated_rules():
        fnad.defop(
            "add", impl=lambda a, b: a + b, partials=lambda a, b, out: (2.0, 3.0), replace=True
        )
        program = fnad.compile(lambda x, y: x + y, 1.0, 2.0)
        assert program.grad(1.0, 2.0) == (2.0, 3.0)
    assert fnad.compile(lambda x, y: x + y, 1.0, 2.0).grad(1.0, 2.0) == (1.0, 1.0)


def test_repeated_arguments_and_shared_subexpressions() -> None:
    def f(x: Node, y: Node) -> Node:
        s = x * x
        return s * s + x / x - y**y + s

    program = fnad.compile(f, 1.5, 2.0)
    for point in [(1.5, 2.0), (-0.5, 3.0), (0.0, 1.0)]:
        result = program.evaluate(point)
        value, grads = fnad.value_and_grad(f, argnums=(0, 1))(*point)
        assert same(result.value, value)
        assert all(same(a, b) for a, b in zip(result.gradient, grads, strict=True))


def test_custom_ops_replay_through_the_rule_table() -> None:
    with fnad.isolated_rules():
        cube = fnad.defop("demo.cube", impl=lambda x: x**3, partials=lambda x, out: (3 * x * x,))
        lerp = fnad.defop(
            "demo.lerp",
            impl=lambda a, b, t: a + (b - a) * t,
            partials=lambda a, b, t, out: (1 - t, t, b - a),
        )
        program = fnad.compile(lambda x, y: lerp(cube(x), y, 0.25), 2.0, 1.0)
        for point in [(2.0, 1.0), (-1.0, 4.0)]:
            result = program.evaluate(point)
            assert (result.value, result.gradient) == fnad.value_and_grad(
                lambda x, y: lerp(cube(x), y, 0.25), argnums=(0, 1)
            )(*point)
            assert program.jvp(point, (1.0, 1.0)) == fnad.jvp(
                lambda x, y: lerp(cube(x), y, 0.25), point, (1.0, 1.0)
            )


def test_ieee_results_as_eager() -> None:
    program = fnad.compile(lambda x: (1 / x).log() + x.sqrt(), 1.0)
    value, grads = program.value_and_grad(0.0)
    eager_value, eager_grad = fnad.value_and_grad(lambda x: (1 / x).log() + x.sqrt())(0.0)
    assert same(value, eager_value) and same(grads["x"], eager_grad)


def test_strict_mode_raises_the_eager_error() -> None:
    program = fnad.compile(lambda x: x.log() * 2.0, 1.0)
    with fnad.strict():
        assert program(2.0) == 2 * math.log(2.0)
        with pytest.raises(fnad.NonFiniteError, match=r"op 'log' produced -inf from \(x=0.0\)"):
            program(0.0)
    with fnad.strict(), fnad.Tape():
        x = Node(0.0, label="x")
        with pytest.raises(fnad.NonFiniteError) as eager_error:
            _ = x.log() * 2.0
    with fnad.strict(), pytest.raises(fnad.NonFiniteError) as replay_error:
        program.value_and_grad(0.0)
    assert str(replay_error.value) == str(eager_error.value)


def test_strict_mode_on_gradients_as_eager() -> None:
    program = fnad.compile(lambda x: x.sqrt() * 0.0 + x, 0.0)
    assert program.value_and_grad(0.0).grads["x"] != program.value_and_grad(0.0).grads["x"]  # nan
    with fnad.strict(), pytest.raises(fnad.NonFiniteError, match="gradient of x"):
        program.value_and_grad(0.0)


def test_check_names_the_first_vertex_that_differs() -> None:
    def f(x: Node) -> Node:
        return x * x if x.data > 0 else -x

    program = fnad.compile(f, 2.0)
    program.check(5.0)
    with pytest.raises(
        fnad.ProgramMismatchError, match=r"vertex 1 is op 'neg' in the eager trace but 'mul'"
    ):
        program.check(-1.0)
    assert isinstance(fnad.ProgramMismatchError("x"), ValueError)


def test_check_needs_the_function() -> None:
    program = fnad.from_json(fnad.to_json(fnad.compile(lambda x: x * x, 1.0).as_node()))
    with pytest.raises(fnad.TransformError, match="needs the function"):
        program.check(1.0)


def test_check_reports_a_constant_baked_in_from_a_value() -> None:
    def f(x: Node) -> Node:
        return x * round(x.data)  # a number computed from a value: baked into the graph

    program = fnad.compile(f, 2.0)
    with pytest.raises(fnad.ProgramMismatchError, match="vertex 1"):
        program.check(3.0)


def test_bad_inputs_are_typed_errors_and_nothing_runs() -> None:
    calls = []

    def f(x: Node, y: Node) -> Node:
        calls.append(1)
        return x * y

    program = fnad.compile(f, 1.0, 2.0)
    assert calls == [1]
    with pytest.raises(fnad.ReplayInputError, match=r"takes 2 input\(s\) \(x, y\), got 3"):
        program(1.0, 2.0, 3.0)
    with pytest.raises(fnad.ReplayInputError, match="no input named 'z'; its inputs are 'x', 'y'"):
        program.value_and_grad(z=1.0)
    with pytest.raises(fnad.ReplayInputError, match="by position and by name"):
        program(1.0, x=2.0)
    with pytest.raises(fnad.OperandTypeError, match="input 'y'"):
        program(1.0, "2")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        program.sweep([[1.0, 2.0], [1.0, None]])  # type: ignore[list-item]
    with pytest.raises(fnad.ReplayInputError, match="one value per input"):
        program.evaluate([1.0])
    with pytest.raises(fnad.ReplayInputError, match="tangent"):
        program.jvp((1.0, 2.0), (1.0,))
    assert calls == [1]  # a replay never calls the function
    assert program.inputs == {"x": 1.0, "y": 2.0}  # stored values are unchanged


def test_compile_refuses_what_it_cannot_trace() -> None:
    with pytest.raises(fnad.TransformError, match="must be a function"):
        fnad.compile(3.0)  # type: ignore[call-overload]
    with pytest.raises(fnad.OperandTypeError):
        fnad.compile(lambda x: x, "1")  # type: ignore[call-overload]
    with pytest.raises(fnad.TransformError, match="returned"):
        fnad.compile(lambda x: [x], 1.0)  # type: ignore[arg-type,return-value]
    with pytest.raises(fnad.TransformError, match="pair"):
        fnad.compile(lambda x: x, 1.0, has_aux=True)


def test_compile_leaves_no_tape_behind() -> None:
    with fnad.Tape() as outer:
        fnad.compile(lambda x: x * 2.0, 1.0)
    assert len(outer) == 0


def test_aux_values_and_inputs_that_do_not_matter() -> None:
    def f(x: Node, y: Node, unused: Node) -> tuple[Node, list[Node]]:
        side = (y * 3.0).tanh()  # not on the way to the output
        return x * x, [x * 2.0, side]

    program = fnad.compile(f, 1.0, 2.0, 5.0, has_aux=True)
    result = program.evaluate([3.0, 0.5, 7.0])
    assert result.value == 9.0 and result.gradient == (6.0, 0.0, 0.0)
    assert result.aux == (6.0, math.tanh(1.5))


def test_names_follow_the_parameters() -> None:
    assert fnad.compile(lambda a, b: a - b, 1.0, 2.0).input_names == ("a", "b")
    assert fnad.compile(lambda *xs: xs[0] * xs[1], 1.0, 2.0).input_names == ("arg0", "arg1")


def test_sweep_reuses_the_order() -> None:
    program = fnad.compile(lambda x, y: x * y + y, 0.0, 0.0)
    results = program.sweep([(1.0, 2.0), {"y": 3.0}, [4.0, 5.0]])
    assert [r.value for r in results] == [4.0, 3.0, 25.0]
    assert [r.grads for r in results] == [
        {"x": 2.0, "y": 2.0},
        {"x": 3.0, "y": 1.0},
        {"x": 5.0, "y": 5.0},
    ]


def test_a_program_exports_renders_and_reloads() -> None:
    program = fnad.compile(lambda x, y: x * y + x**2 + y.relu(), 2.0, 3.0)
    text = fnad.to_json(program.as_node())
    loaded = fnad.from_json(text)
    assert isinstance(loaded, Program)
    assert loaded.value_and_grad(x=1.0, y=-1.0) == program.value_and_grad(x=1.0, y=-1.0)
    assert fnad.to_json(loaded.as_node()) == text


def test_programs_from_files_use_the_compiled_path() -> None:
    with fnad.Tape():
        x = Node(2.0, label="x")
        z = (x * x).tanh() + x
    loaded = fnad.from_json(fnad.to_json(z))
    assert loaded._main.steps  # it is a compiled program
    assert loaded.value_and_grad(x=0.5).grads["x"] == fnad.grad(lambda v: (v * v).tanh() + v)(0.5)


def test_memory_per_recorded_op_is_small() -> None:
    """Issue 9 (c): a compiled program costs at most 200 B per recorded op (tracemalloc)."""
    n = 20_000
    with fnad.Tape() as tape:
        x = Node(0.5, label="x")
        y = x
        for _ in range(n):
            y = (y * 1.0001).tanh()
    tape.position(x)  # the tape's own position index exists before we measure
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    program = Program.from_nodes(y, [x])
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    per_op = grown / (2 * n)  # every step records two ops (mul, tanh) and a const
    assert per_op <= 200, per_op
    assert program(0.5) == y.data
    tape.close()


@pytest.mark.slow
def test_a_million_node_chain_replays() -> None:
    n = 500_000
    with fnad.Tape() as tape:
        x = Node(0.3, label="x")
        y = x
        for _ in range(n):
            y = (y * 0.999999).tanh()
    expected = y.backward()[x]
    program = Program.from_nodes(y, [x])
    tape.close()
    assert len(program) == 3 * n + 1  # a million ops, their consts and the input
    result = program.evaluate([0.3])
    assert result.value == y.data and result.gradient == (expected,)


# --------------------------------------------------------------------------- no code generation

PACKAGE = Path(fnad.__file__).parent


def _calls_to_code_generators(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id not in defined:
            name = func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            name = func.attr if func.value.id in ("builtins", "types") else ""
        else:
            name = ""
        if name in ("exec", "eval", "compile", "__import__", "FunctionType", "CodeType"):
            found.append(f"{path.name}:{node.lineno}: {name}()")
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_code_generation_in_fnad(path: Path) -> None:
    """No exec/eval/compile (fnad.program's own `compile` is the only one, and it is ours)."""
    assert _calls_to_code_generators(path) == []


def test_the_code_generation_check_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(src):\n    return eval(src) + len(compile(src, 'x', 'exec').co_code)\n"
    )
    assert len(_calls_to_code_generators(sample)) == 2


@pytest.fixture
def no_code_generators(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("code generation called")

    for name in ("exec", "eval", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    yield


def test_replay_of_an_untrusted_file_runs_no_generated_code(no_code_generators: None) -> None:
    text = '{"directed": true, "multigraph": false, "graph": {"schema": "fnad.graph", "version": 1, "output": 2}, "nodes": [{"id": 0, "op": "", "label": "x", "data": 2.0}, {"id": 1, "op": "const", "label": "", "data": 3.0}, {"id": 2, "op": "mul", "label": "", "data": 6.0}], "edges": [{"source": 0, "target": 2, "positions": [0]}, {"source": 1, "target": 2, "positions": [1]}]}'
    program = fnad.from_json(text)
    assert program.value_and_grad(x=5.0) == (15.0, {"x": 3.0})


def test_exporters_take_a_program_in_place_of_a_node() -> None:
    program = fnad.compile(lambda x, y: x * y + x.tanh(), 1.0, 2.0)
    z = program.as_node()
    assert fnad.to_json(program) == fnad.to_json(z)
    assert nx_equal(fnad.to_networkx(program), fnad.to_networkx(z))
    assert fnad.to_dot(program) == fnad.to_dot(z)
    with pytest.raises(fnad.OperandTypeError, match=r"expected the output fnad\.Node"):
        fnad.to_json(3.0)  # type: ignore[arg-type]


def nx_equal(a: object, b: object) -> bool:
    import networkx as nx

    assert isinstance(a, nx.DiGraph) and isinstance(b, nx.DiGraph)
    return bool(nx.utils.graphs_equal(a, b))


# --------------------------------------------------------------------------- folded sums
# The replay folds a chain of adds over products (and the relu or tanh applied to it) into
# one instruction. These tests pin the folds to eager, bit for bit, where they happen.


def folded(program: Program) -> int:
    """How many recorded op vertices the replay loops no longer visit one by one."""
    return len(program._main.steps) - len(program._main.fused)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_a_neuron_is_one_instruction(activation: str) -> None:
    def neuron(b: Node, w1: Node, w2: Node, w3: Node) -> Node:
        total = b + w1 * 0.5 + w2 * -1.5 + w3 * 2.0
        return total.relu() if activation == "relu" else total.tanh()

    program = fnad.compile(neuron, 0.1, 0.2, 0.3, 0.4)
    assert len(program._main.steps) == 7 and len(program._main.fused) == 1
    for point in ([0.1, 0.2, 0.3, 0.4], [-2.0, 0.2, 0.3, -0.4], [0.0, -0.0, 0.0, 0.0]):
        value, grads = fnad.value_and_grad(neuron, argnums=(0, 1, 2, 3))(*point)
        result = program.evaluate(point)
        assert same(result.value, value)
        assert all(same(a, b) for a, b in zip(result.gradient, grads, strict=True))


def test_the_moons_network_folds_and_replays_as_eager() -> None:
    points, labels = moons(12, seed=3)
    model = MLP(2, [8, 8, 1], seed=4)
    program = step_program(model, points, labels)
    assert folded(program) > 0.8 * len(program._main.steps)
    with fnad.Tape():
        net = model.trace()
        scores = [net(x) for x in points]
        loss = hinge_loss(scores, labels) + l2(net.parameters(), 1e-4)
        grads = loss.backward()
        expected = [grads.get(p, 0.0) for p in net.parameters()]
        expected_scores = [s.data for s in scores]
    result = program.evaluate(model.parameters())
    assert same(result.value, loss.data)
    assert all(same(a, b) for a, b in zip(result.gradient, expected, strict=True))
    assert all(same(a, b) for a, b in zip(result.aux, expected_scores, strict=True))


def test_a_fold_that_would_reorder_a_gradient_sum_is_undone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Folding the penalty would add its x·x term to x's gradient before the x·3 term,
    the reverse of eager's order: float addition is not associative, so it stays unfolded
    (and the relu'd sum, which keeps the order, stays folded)."""
    undone: list[set[int]] = []
    check = fnad.compiled.folding.out_of_order

    def spy(*args: object) -> set[int]:
        late = check(*args)  # type: ignore[arg-type]
        undone.append(late)
        return late

    monkeypatch.setattr(fnad.compiled.folding, "out_of_order", spy)

    def f(x: Node, y: Node) -> Node:
        penalty = x * x + y * y + 1.0 + 2.0
        return (x * 3.0 + y).relu() + penalty

    program = fnad.compile(f, 0.5, -1.5)
    assert undone[0] and not undone[-1]
    assert 0 < folded(program) < 4
    for point in ([0.5, -1.5], [1e-8, 3.0], [0.1, 0.7], [-1e300, 1e300]):
        value, grads = fnad.value_and_grad(f, argnums=(0, 1))(*point)
        result = program.evaluate(point)
        assert same(result.value, value)
        assert all(same(a, b) for a, b in zip(result.gradient, grads, strict=True))


def test_an_inner_sum_asked_for_as_aux_is_not_folded_away() -> None:
    def f(x: Node, y: Node) -> tuple[Node, list[Node]]:
        partial = x * y + x
        return (partial + y * y).relu(), [partial]

    program = fnad.compile(f, 1.0, 2.0, has_aux=True)
    result = program.evaluate([3.0, -2.0])
    assert result == (1.0, (-1.0, -1.0), (-3.0,))
    assert program.evaluate([3.0, 2.0]) == (13.0, (3.0, 7.0), (9.0,))


def test_strict_mode_inside_a_folded_sum_raises_the_eager_error() -> None:
    def f(x: Node, y: Node) -> Node:
        return (x * y + y * y + x).tanh()

    program = fnad.compile(f, 1.0, 2.0)
    assert folded(program) > 0
    with fnad.strict(), fnad.Tape():
        x, y = Node(1e200, label="x"), Node(1e200, label="y")
        with pytest.raises(fnad.NonFiniteError) as eager_error:
            f(x, y)
    with fnad.strict(), pytest.raises(fnad.NonFiniteError) as replay_error:
        program(1e200, 1e200)
    assert str(replay_error.value) == str(eager_error.value)


# --------------------------------------------------------------------------- review findings


def test_strict_names_a_number_operand_as_eager_does() -> None:
    program = fnad.compile(lambda x: x * 1e308 + 1.0, 1.0)
    with fnad.strict(), fnad.Tape(), pytest.raises(fnad.NonFiniteError) as eager_error:
        _ = Node(10.0, label="x") * 1e308
    with fnad.strict(), pytest.raises(fnad.NonFiniteError) as replay_error:
        program.value_and_grad(10.0)
    assert str(replay_error.value) == str(eager_error.value)
    assert "(x=10.0, 1e+308)" in str(eager_error.value)


def test_strict_does_not_judge_a_vertex_computed_from_constants_alone() -> None:
    def f(x: Node) -> Node:
        k = x.tape.constant(1e-100) * x.tape.constant(1e-100)  # depends on no input
        return (x * k) * 1e300  # ∂/∂k = 1e300·x overflows at x = 1e200: nobody's gradient

    program = fnad.compile(f, 1.0)
    with fnad.strict():
        assert program.value_and_grad(1e200) == (1e300, {"x": 1e100})
        assert fnad.value_and_grad(f)(1e200) == (1e300, 1e100)
        with fnad.Tape():
            x = Node(1e200, label="x")
            assert f(x).backward()[x] == 1e100


def test_strict_judges_a_leaf_that_is_not_an_input() -> None:
    # The replay computes no adjoint for y; eager judges it, so the replay re-runs eagerly.
    with fnad.Tape():
        x, y = Node(1.0, label="x"), Node(0.0, label="y")
        z = x * y.sqrt()
    program = Program.from_nodes(z, [x])
    assert program.value_and_grad(2.0) == (0.0, {"x": 0.0})
    with (
        fnad.strict(),
        pytest.raises(fnad.NonFiniteError, match=r"gradient of y \(data=0.0\) became inf"),
    ):
        program.value_and_grad(2.0)


def test_check_compares_with_an_eager_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    program = fnad.compile(lambda x, y: (x * y + x).tanh(), 0.5, 0.25)
    program.check(0.5, -2.0)
    # A replay whose backward went wrong is caught: the oracle is eager, not another replay.
    monkeypatch.setattr(fnad.compiled.program, "backward", lambda block, values, adjoints: None)
    with pytest.raises(fnad.ProgramMismatchError, match=r"the gradient ∂/∂x replays as -0\.0"):
        program.check(0.5, -2.0)


def test_the_repr_of_a_program_with_many_inputs_stays_short() -> None:
    """A network's program has hundreds of inputs: its repr names five and counts the rest."""
    with fnad.Tape():
        leaves = [Node(float(i), label=f"w{i}") for i in range(337)]
        total = sum(leaves[1:], leaves[0])
    program = Program.from_nodes(total, leaves)
    assert repr(program) == (
        "Program(673 vertices, inputs (w0, w1, w2, w3, w4, … 332 more), output op 'add')"
    )
    assert "w4," in repr(program) and "w5" not in repr(program)
