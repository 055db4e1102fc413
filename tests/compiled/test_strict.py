"""strict() agrees everywhere: eager backward (float and create_graph), the transforms, the
compiled replay and forward mode raise exactly when a value or gradient the user can see is
nan or ±inf, with the same error text, at every order (issue 21, item 1); and Program.check
compares bit for bit (item 5)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import fnad
from fnad import Node, Program
from tests.compiled.test_program import SPECIALS, sums_of_products
from tests.export_strategies import Expr, expressions

# --------------------------------------------------------------------------- helpers


def error_of(call: Callable[[], object]) -> str | None:
    """The text of the NonFiniteError ``call`` raises under strict(), or None if it passes."""
    try:
        with fnad.strict():
            call()
    except fnad.NonFiniteError as error:
        return str(error)
    return None


def whole(expr: Expr) -> Expr:
    """``expr`` with its leaves named arg0, arg1, … (as the transforms and fnad.compile name a
    function's ``*xs``) and every dead step added into the output, so that the output's
    graph is everything an eager trace computes (a program drops dead code)."""
    leaves = tuple((f"arg{i}", v) for i, (_, v) in enumerate(expr.leaves))
    count = len(leaves) + len(expr.steps)
    used = {a for _, args in expr.steps for a in args if isinstance(a, int)}
    sinks = [k for k in range(len(leaves), count - 1) if k not in used]
    steps = list(expr.steps)
    for sink in sinks:
        steps.append(("add", (len(leaves) + len(steps) - 1, sink)))
    return Expr(leaves, tuple(steps))


def function(expr: Expr) -> Callable[..., Node]:
    def f(*xs: Node) -> Node:
        nodes = list(xs)
        tape = xs[0].tape
        for op, args in expr.steps:
            nodes.append(tape.apply(op, *[nodes[a] if isinstance(a, int) else a for a in args]))
        return nodes[-1]

    return f


def varying(order: Sequence[Node]) -> set[Node]:
    """The vertices of a reversed topological order that depend on a leaf variable."""
    found: set[Node] = set()
    for node in reversed(order):
        if (not node.inputs and node.op != "const") or any(a in found for a in node.inputs):
            found.add(node)
    return found


def visible_non_finite(expr: Expr, point: list[float]) -> bool:
    """The oracle, outside strict(): is a value of an op, or the gradient of a vertex that
    depends on a variable, nan or ±inf?"""
    z, _ = expr.build(dict(enumerate(point)))
    order = z.tape.backward_order(z)
    if any(not math.isfinite(n.data) for n in order if n.inputs):
        return True
    grads = z.backward()
    return any(not math.isfinite(grads[n]) for n in varying(order))


def eager_backward(expr: Expr, point: list[float], *, create_graph: bool) -> Callable[[], object]:
    def run() -> object:
        z, _ = expr.build(dict(enumerate(point)))
        return z.backward(create_graph=create_graph)

    return run


@st.composite
def gradient_traps(draw: st.DrawFn) -> Expr:
    """DAGs whose values tend to stay finite where a partial does not: roots and powers at
    0 and below it, constant exponents, large factors whose products overflow only in a
    gradient (1e160·1e160), vertices of constants alone."""
    values = st.sampled_from([0.0, -0.0, -2.0, 0.5, 3.0, 1e160, -1e-160])
    leaves = tuple((f"v{i}", draw(values)) for i in range(draw(st.integers(1, 3))))
    steps: list[tuple[str, tuple[int | float, ...]]] = []
    exponents = st.sampled_from([0.5, 2.0, 3.0, -1.0, 0.0, 1.5])
    for k in range(draw(st.integers(1, 8))):
        index = st.integers(0, len(leaves) + k - 1)
        op = draw(st.sampled_from(["pow", "pow", "sqrt", "mul", "mul", "truediv", "add", "abs"]))
        if op in ("sqrt", "abs"):
            steps.append((op, (draw(index),)))
        elif op == "pow":
            base: int | float = draw(index | st.sampled_from([0.0, -2.0]))
            exponent = draw(exponents | index) if isinstance(base, int) else draw(index)
            steps.append((op, (base, exponent)))
        else:
            steps.append((op, (draw(index), draw(index | values))))
    return Expr(leaves, tuple(steps))


points = st.lists(
    st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(SPECIALS),
    min_size=3,
    max_size=3,
)


# --------------------------------------------------------------------------- Hypothesis


@settings(max_examples=300, deadline=None)
@given(expressions() | sums_of_products() | gradient_traps(), points | st.just([]))
def test_strict_raises_iff_a_visible_value_or_gradient_is_not_finite(
    raw: Expr, numbers: list[float]
) -> None:
    expr = whole(raw)
    point = [*numbers, *(v for _, v in expr.leaves)][: len(expr.leaves)]  # or the drawn leaves
    f = function(expr)
    program = fnad.compile(f, *point)
    argnums = tuple(range(len(point)))
    eager = error_of(eager_backward(expr, point, create_graph=False))
    event("passes" if eager is None else "a gradient" if "gradient of" in eager else "a value")
    assert (eager is not None) == visible_non_finite(expr, point), eager
    assert error_of(eager_backward(expr, point, create_graph=True)) == eager
    assert error_of(lambda: program.value_and_grad(*point)) == eager
    assert error_of(lambda: program.sweep([point])) == eager
    assert error_of(lambda: fnad.value_and_grad(f, argnums=argnums)(*point)) == eager
    # Forward mode judges values and tangents; both engines name the same error.
    tangents = [1.0 - 2.0 * i for i in range(len(point))]
    forward = error_of(lambda: fnad.jvp(f, tuple(point), tuple(tangents)))
    assert error_of(lambda: program.jvp(point, tangents)) == forward
    if forward is None:
        assert math.isfinite(fnad.jvp(f, tuple(point), tuple(tangents))[1])


def one_leaf(expr: Expr) -> Expr:
    """``expr`` with every leaf read as its first leaf."""
    n = len(expr.leaves)
    steps = tuple(
        (op, tuple(a if not isinstance(a, int) else 0 if a < n else a - n + 1 for a in args))
        for op, args in expr.steps
    )
    return Expr(expr.leaves[:1], steps)


@settings(max_examples=200, deadline=None)
@given(
    expressions(max_steps=6) | gradient_traps(), st.floats(-3.0, 3.0) | st.sampled_from(SPECIALS)
)
def test_second_order_strict_raises_iff_a_visible_value_or_gradient_is_not_finite(
    raw: Expr, x: float
) -> None:
    expr = whole(one_leaf(raw))
    f = function(expr)

    def eager() -> object:
        z, (leaf,) = expr.build({0: x})
        return z.backward(create_graph=True)[leaf].backward()

    z, (leaf,) = expr.build({0: x})  # the oracle, outside strict()
    first = z.backward(create_graph=True)[leaf]
    second = first.backward()
    order = first.tape.backward_order(first)
    visible = visible_non_finite(expr, [x]) or any(
        not math.isfinite(second[n]) for n in varying(order)
    )
    expected = error_of(eager)
    assert (expected is not None) == visible, expected
    # A nested transform's graph holds a copy of its variable (an identity vertex), so its
    # topological order may differ from eager's: both raise, naming the same kind of error.
    nested = error_of(lambda: fnad.grad(fnad.grad(f))(x))
    assert (nested is None) == (expected is None), (nested, expected)
    if nested is None:
        with fnad.strict():
            assert math.isfinite(fnad.grad(fnad.grad(f))(x))
    else:
        assert ("gradient of" in nested) == ("gradient of" in str(expected))


# --------------------------------------------------------------------------- the reported cases


@pytest.mark.parametrize(
    ("f", "point", "expected"),
    [
        (lambda x: x**2, (-3.0,), (9.0, (-6.0,))),
        (lambda x: x**3, (-2.0,), (-8.0, (12.0,))),
        (lambda x: x**-1, (-2.0,), (-0.5, (-0.25,))),
        (lambda w, x, y: (w * x - y) ** 2, (1.0, -2.0, 3.0), (25.0, (20.0, -10.0, 10.0))),
        (lambda x: 0.0**x, (0.5,), (0.0, (0.0,))),  # ∂/∂base is inf, and the base a constant
    ],
)
def test_a_replay_passes_where_eager_passes(
    f: Callable[..., Node], point: tuple[float, ...], expected: tuple[float, tuple[float, ...]]
) -> None:
    program = fnad.compile(f, *point)
    value, grads = expected
    argnums = tuple(range(len(point)))
    with fnad.strict():
        assert fnad.value_and_grad(f, argnums=argnums)(*point) == (value, grads)
        assert program.value_and_grad(*point) == (
            value,
            dict(zip(program.input_names, grads, strict=True)),
        )
        assert program.grad(*point) == grads
        assert program.evaluate(list(point)) == (value, grads, ())
        assert [tuple(r.grads.values()) for r in program.sweep([point])] == [grads]
        tangents = (1.0,) * len(point)
        assert program.jvp(point, tangents) == fnad.jvp(f, point, tangents)


def test_higher_orders_do_not_judge_vertices_computed_from_constants() -> None:
    with fnad.strict():
        # d/dx (2·x^(2-1)): the exponent 2-1 is a vertex of constants whose adjoint is nan.
        assert fnad.grad(fnad.grad(lambda x: x**2))(-3.0) == 2.0
        assert fnad.hessian(lambda x: x**3)(-2.0) == -12.0
        with fnad.Tape():
            x = Node(-3.0, label="x")
            dydx = (x**2).backward(create_graph=True)[x]
            assert dydx.backward()[x] == 2.0


def test_every_engine_names_the_same_error() -> None:
    def f(x: Node) -> Node:
        return 0.0**x

    program = fnad.compile(f, 1.0)
    expected = (
        "fnad.strict: op 'pow' produced inf from (0.0, x=-2.0); check the inputs to this op, "
        "or leave the strict() block to get IEEE inf/nan"
    )
    with fnad.Tape():
        assert error_of(lambda: f(Node(-2.0, label="x"))) == expected
    assert error_of(lambda: fnad.value_and_grad(f)(-2.0)) == expected
    assert error_of(lambda: fnad.jvp(f, (-2.0,), (1.0,))) == expected
    assert error_of(lambda: program.value_and_grad(-2.0)) == expected
    assert error_of(lambda: program.jvp((-2.0,), (1.0,))) == expected


def test_every_order_names_the_same_gradient_error() -> None:
    expected = (
        "fnad.strict: the gradient of x (data=0.0) became inf in backward through op 'pow'; "
        "its local derivative is not finite there, so check the value fed to that op, or "
        "leave the strict() block to get IEEE inf/nan"
    )

    def f(x: Node) -> Node:
        return x**0.5

    def eager(create_graph: bool) -> Callable[[], object]:
        def run() -> object:
            with fnad.Tape():
                x = Node(0.0, label="x")
                return f(x).backward(create_graph=create_graph)

        return run

    assert error_of(eager(False)) == expected
    assert error_of(eager(True)) == expected  # it named op 'mul', the gradient node's op
    assert error_of(lambda: fnad.grad(f)(0.0)) == expected
    assert error_of(lambda: fnad.grad(fnad.grad(f))(0.0)) == expected
    assert error_of(lambda: fnad.compile(f, 1.0).grad(0.0)) == expected


def test_create_graph_passes_on_the_nan_of_a_zero_adjoint() -> None:
    # z = x ** ((-2)**x) at x = 0: ∂z/∂((-2)**x) is 0, then 0 · ∂((-2)**x)/∂x = 0 · nan.
    def build() -> tuple[Node, Node]:
        x = Node(0.0, label="x")
        return x ** ((-2.0) ** x), x

    with fnad.Tape():
        z, x = build()
        assert math.isnan(z.backward()[x])
        assert math.isnan(z.backward(create_graph=True)[x].data)  # it was 1.0
    with fnad.Tape():
        expected = error_of(lambda: build()[0].backward())
        assert expected is not None and "gradient of x (data=0.0) became nan" in expected
        assert error_of(lambda: build()[0].backward(create_graph=True)) == expected


def test_forward_mode_names_the_same_error_in_a_replay() -> None:
    program = fnad.compile(lambda x: x.sqrt(), 1.0)
    expected = error_of(lambda: fnad.jvp(lambda x: x.sqrt(), (0.0,), (1.0,)))
    assert expected is not None and "forward mode through sqrt' produced inf from (x=0.0)" in (
        expected
    )
    assert error_of(lambda: program.jvp((0.0,), (1.0,))) == expected


# --------------------------------------------------------------------------- Program.check


def test_check_sees_a_constant_that_differs_in_the_sign_of_zero() -> None:
    def f(x: Node) -> Node:
        return x * (0.0 if x.data > 0 else -0.0)

    program = fnad.compile(f, 1.0)
    program.check(2.0)
    with pytest.raises(
        fnad.ProgramMismatchError,
        match=r"vertex 1 \(op 'const'\) reads -0\.0 in the eager trace but 0\.0 in the program",
    ):
        program.check(-1.0)


def test_check_takes_a_computed_nan_for_the_nan_it_is() -> None:
    def f(x: Node) -> Node:
        return x * (x.data - x.data)  # nan at ±inf, baked in as a constant

    program = fnad.compile(f, math.inf)
    program.check(math.inf)
    program.check(-math.inf)
    assert math.isnan(program(math.inf))


def test_check_compares_values_bit_for_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    program = fnad.compile(lambda x: x * 0.0, -1.0)
    program.check(-1.0)
    real = Program.evaluate

    def flipped(self: Program, point: Sequence[float], *, gradient: bool = True) -> object:
        result = real(self, point, gradient=gradient)
        return result._replace(value=-result.value)

    monkeypatch.setattr(Program, "evaluate", flipped)
    with pytest.raises(
        fnad.ProgramMismatchError,
        match=r"the value replays as 0\.0 but an eager trace gives -0\.0",
    ):
        program.check(-1.0)
