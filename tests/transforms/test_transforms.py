"""fnad.grad, value_and_grad, jvp, vjp, hessian: values against sympy and finite
differences, nesting to third order, forward mode that never runs reverse mode, memory that
stays flat, chains of 100k nodes, and an error message for each misuse."""

from __future__ import annotations

import gc
import math
import tracemalloc
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
from fnad import Node, Tape
from fnad.errors import OperandTypeError, TapeError, TransformError
from fnad.transforms import functional as tr
from fnad.transforms import tracer

# --------------------------------------------------------------------------- the numbers


def cube(x: Node) -> Node:
    return x * x * x


def test_derivatives_of_x_cubed_to_third_order() -> None:
    assert fnad.grad(cube)(2.0) == 12.0
    assert fnad.grad(fnad.grad(cube))(2.0) == 12.0
    assert fnad.grad(fnad.grad(fnad.grad(cube)))(2.0) == 6.0
    assert fnad.grad(fnad.grad(fnad.grad(fnad.grad(cube))))(2.0) == 0.0


def test_hessian_of_xy_plus_x_squared() -> None:
    h = fnad.hessian(lambda x, y: x * y + x**2, argnums=(0, 1))(2.0, 3.0)
    assert h == ((2.0, 1.0), (1.0, 0.0))
    assert fnad.hessian(lambda x, y: x * y + x**2, argnums=0)(2.0, 3.0) == 2.0
    assert fnad.hessian(lambda x, y: x * y + x**2, argnums=(1, 0))(2.0, 3.0) == (
        (0.0, 1.0),
        (1.0, 2.0),
    )


def test_results_are_plain_floats_and_tuples() -> None:
    f = lambda x, y: (x * y).sin()
    assert type(fnad.grad(f)(1.0, 2.0)) is float
    value, grads = fnad.value_and_grad(f, argnums=(0, 1))(1.0, 2.0)
    assert type(value) is float and type(grads) is tuple
    assert all(type(g) is float for g in grads)
    primal, tangent = fnad.jvp(f, (1.0, 2.0), (1.0, 0.0))
    assert type(primal) is float and type(tangent) is float
    out, vjp_fn = fnad.vjp(f, 1, 2)  # ints are real numbers too
    assert type(out) is float and all(type(g) is float for g in vjp_fn(1))
    assert all(type(v) is float for row in fnad.hessian(f, (0, 1))(1.0, 2.0) for v in row)


def test_value_and_grad_and_argnums() -> None:
    f = lambda x, y, z: x * y * z + fnad.exp(y)
    assert fnad.value_and_grad(f)(1.0, 0.0, 3.0) == (1.0, 0.0)
    assert fnad.grad(f, argnums=1)(1.0, 0.0, 3.0) == 4.0
    assert fnad.grad(f, argnums=-1)(1.0, 2.0, 3.0) == 2.0
    assert fnad.grad(f, argnums=(2, 0))(1.0, 2.0, 3.0) == (2.0, 6.0)
    # arguments that are not differentiated reach f untouched
    assert fnad.grad(lambda x, k: x * k, argnums=0)(5.0, 3) == 3.0


def test_constant_and_identity_functions() -> None:
    assert fnad.grad(lambda x: 3.0)(1.0) == 0.0
    assert fnad.value_and_grad(lambda x: 3)(1.0) == (3.0, 0.0)
    assert fnad.grad(lambda x: x)(1.0) == 1.0
    assert fnad.grad(lambda x, y: y, argnums=(0, 1))(1.0, 2.0) == (0.0, 1.0)
    assert fnad.hessian(lambda x: x)(1.0) == 0.0
    assert fnad.hessian(lambda x: x, argnums=[0])(1.0) == ((0.0,),)
    assert fnad.grad(fnad.grad(lambda x: x))(4.0) == 0.0
    assert fnad.jvp(lambda x: 3.0, (1.0,), (1.0,)) == (3.0, 0.0)
    assert fnad.jvp(lambda x: x, (1.0,), (5.0,)) == (1.0, 5.0)
    assert fnad.vjp(lambda x, y: 2.0, 1.0, 1.0)[1](1.0) == (0.0, 0.0)


def test_functions_of_shared_subexpressions_and_repeated_arguments() -> None:
    def f(x: Node, y: Node) -> Node:
        s = x * y
        return s * s + s / y - x / x

    # d/dx = 2 s y + 1 = 2 x y² + 1 ; d/dy = 2 s x = 2 x² y   (s/y == x)
    assert fnad.grad(f, argnums=(0, 1))(1.5, -2.0) == pytest.approx((13.0, -9.0))
    assert fnad.jvp(f, (1.5, -2.0), (1.0, 1.0))[1] == pytest.approx(4.0)


# --------------------------------------------------------------------------- nesting


def test_nested_transforms_do_not_confuse_perturbations() -> None:
    # d/dx [ d/dy (x*y) at y=x ] = d/dx [x] = 1   (not d/dx of x*x)
    assert fnad.grad(lambda x: fnad.grad(lambda y: x * y)(x))(3.0) == 1.0

    # Siskind & Pearlmutter's example: d/dx ( x * d/dy (x + y) at y=1 ) = 1
    def inner(x: Node) -> Node:
        return fnad.grad(lambda y, x_: x_ + y)(1.0, x)

    assert fnad.grad(lambda x: x * inner(x))(5.0) == 1.0
    # the inner argument is another function of the outer one
    assert fnad.grad(lambda x: fnad.grad(lambda y, z: y * z * z, argnums=0)(x * x, x))(
        2.0
    ) == pytest.approx(4.0)


def test_partial_derivatives_treat_arguments_as_independent() -> None:
    # y is computed from x outside f; grad w.r.t. x must hold y fixed
    def outer(x: Node) -> Node:
        y = x * x
        return fnad.grad(lambda a, b: a * b, argnums=0)(x, y)

    assert fnad.grad(outer)(3.0) == 6.0  # d/dx (y) = 2x


def test_mixing_forward_and_reverse_to_third_order() -> None:
    f = lambda x: (x * 0.5).tanh() * x.exp()
    x0 = 0.7
    third = fnad.grad(fnad.grad(fnad.grad(f)))(x0)
    fwd = _fwd
    assert fwd(fwd(fwd(f)))(x0) == pytest.approx(third, rel=1e-12)
    assert fwd(fnad.grad(fwd(f)))(x0) == pytest.approx(third, rel=1e-12)
    assert fnad.grad(fwd(fnad.grad(f)))(x0) == pytest.approx(third, rel=1e-12)
    assert fnad.jvp(fnad.grad(fnad.grad(f)), (x0,), (1.0,))[1] == pytest.approx(third, rel=1e-12)


def test_hessian_nests_and_matches_grad_of_grad() -> None:
    f = lambda x, y: (x * y).sin() + x**3 * y
    h = fnad.hessian(f, argnums=(0, 1))(0.4, -1.3)
    for i in range(2):
        for j in range(2):
            expected = fnad.grad(fnad.grad(f, argnums=i), argnums=j)(0.4, -1.3)
            assert h[i][j] == pytest.approx(expected, rel=1e-12)
    # a third derivative through a nested hessian
    d3 = fnad.grad(lambda x, y: fnad.hessian(f)(x, y))(0.4, -1.3)
    x_, y_ = sympy.symbols("x y")
    expr = sympy.sin(x_ * y_) + x_**3 * y_
    assert d3 == pytest.approx(float(sympy.diff(expr, x_, 3).subs({x_: 0.4, y_: -1.3})))


def test_node_arguments_give_differentiable_nodes_on_their_tape() -> None:
    with Tape() as tape:
        x = Node(2.0, label="x")
        d = fnad.grad(cube)(x)
        assert isinstance(d, Node) and d.tape is tape and d.data == 12.0
        assert d.backward()[x] == 12.0
        value, vjp_fn = fnad.vjp(cube, x)
        assert isinstance(value, Node) and value.data == 8.0
        (g,) = vjp_fn(2.0)
        assert g.data == 24.0 and g.backward()[x] == 24.0
        primal, tangent = fnad.jvp(cube, (x,), (1.0,))
        assert primal.data == 8.0 and tangent.data == 12.0
        assert tangent.backward()[x] == 12.0
        h = fnad.hessian(cube)(x)
        assert h.data == 12.0 and h.backward()[x] == 6.0
        # a zero derivative is still a Node on the tape
        zero = fnad.grad(lambda a: 1.0)(x)
        assert isinstance(zero, Node) and zero.data == 0.0


def test_tangents_may_be_nodes() -> None:
    # d/dt of jvp(f, (x,), (t,)) is f'(x): the tangent enters linearly
    f = lambda x: x.sin()
    dt = fnad.grad(lambda x, t: fnad.jvp(f, (x,), (t,))[1], argnums=1)(0.3, 5.0)
    assert dt == pytest.approx(math.cos(0.3))


def test_custom_partials_returning_constants_nest() -> None:
    # relu/abs partials are plain floats; their second derivative is 0, not an error
    assert fnad.grad(fnad.grad(lambda x: x.relu() * 3.0))(2.0) == 0.0
    assert fnad.hessian(lambda x, y: abs(x) * y, (0, 1))(-2.0, 3.0) == ((0.0, -1.0), (-1.0, 0.0))


# --------------------------------------------------------------------------- forward mode is forward


def test_jvp_never_runs_reverse_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> Any:
        raise AssertionError("reverse mode used by jvp")

    monkeypatch.setattr(tr, "reverse_floats", forbidden)
    monkeypatch.setattr(tr, "reverse_nodes", forbidden)
    monkeypatch.setattr(Tape, "backward", forbidden)
    monkeypatch.setattr(tracer, "backpropagate", forbidden)
    f = lambda x, y: (x * y).tanh() + x.sqrt()
    value, tangent = fnad.jvp(f, (0.5, 2.0), (1.0, -1.0))
    x_, y_ = sympy.symbols("x y")
    expr = sympy.tanh(x_ * y_) + sympy.sqrt(x_)
    point = {x_: 0.5, y_: 2.0}
    expected = float((sympy.diff(expr, x_) - sympy.diff(expr, y_)).subs(point))
    assert value == pytest.approx(float(expr.subs(point)))
    assert tangent == pytest.approx(expected, rel=1e-12)
    second = fnad.jvp(lambda x: fnad.jvp(lambda u: u.sin(), (x,), (1.0,))[1], (0.4,), (1.0,))
    assert second[1] == pytest.approx(-math.sin(0.4))


def test_jvp_uses_the_rule_table_partials(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    rule = fnad.builtin_rules()["sin"]
    original = rule.partials

    def spy(*args: Any) -> Any:
        calls.append("sin")
        return original(*args)

    with fnad.isolated_rules() as table:
        table.register(fnad.Rule("sin", 1, rule.forward, spy, rule.samples), replace=True)
        assert fnad.jvp(lambda x: x.sin(), (0.0,), (1.0,)) == (0.0, 1.0)
    assert calls == ["sin"]


def test_strict_mode_covers_forward_mode() -> None:
    f = lambda x: x.sqrt()
    assert fnad.jvp(f, (0.0,), (1.0,)) == (0.0, math.inf)
    with fnad.strict(), pytest.raises(fnad.NonFiniteError, match="forward mode through sqrt"):
        fnad.jvp(f, (0.0,), (1.0,))


def test_ieee_results_in_transforms() -> None:
    assert fnad.grad(lambda x: x.log())(0.0) == math.inf
    assert math.isnan(fnad.grad(lambda x: x.sqrt())(-1.0))
    assert fnad.grad(lambda x: 1 / x)(0.0) == -math.inf
    assert fnad.grad(lambda x: x.tanh())(1000.0) == 0.0


# --------------------------------------------------------------------------- nothing retained


def test_each_call_uses_a_fresh_tape_and_keeps_nothing() -> None:
    tapes: list[Tape] = []

    def f(x: Node) -> Node:
        tapes.append(x.tape)
        assert fnad.current_tape() is x.tape  # Node(...) inside f lands on the same tape
        return x * Node(2.0)

    before = fnad.current_tape()
    size = len(before)
    assert fnad.grad(f)(1.0) == 2.0
    assert fnad.grad(f)(1.0) == 2.0
    assert fnad.current_tape() is before and len(before) == size
    assert tapes[0] is not tapes[1]
    assert all(tape.closed and len(tape) == 0 for tape in tapes)  # closed on return
    seen = [weakref.ref(tape) for tape in tapes]
    tapes.clear()
    gc.collect()
    assert all(ref() is None for ref in seen)


def test_vjp_keeps_its_tape_only_while_vjp_fn_lives() -> None:
    seen: list[weakref.ref[Tape]] = []

    def f(x: Node) -> Node:
        seen.append(weakref.ref(x.tape))
        return x * x

    _, vjp_fn = fnad.vjp(f, 3.0)
    gc.collect()
    assert seen[0]() is not None
    assert vjp_fn(1.0) == (6.0,)
    del vjp_fn
    gc.collect()
    assert seen[0]() is None


def test_ten_thousand_grad_calls_keep_memory_flat() -> None:
    df = fnad.grad(lambda x, y: (x * y).tanh() + x.exp() * y)
    for _ in range(200):  # warm up caches (interned edge data, networkx dispatch)
        df(0.3, 0.2)
    gc.collect()
    tracemalloc.start()
    try:
        gc.collect()
        start, _ = tracemalloc.get_traced_memory()
        for i in range(10_000):
            df(0.3 + i * 1e-6, 0.2)
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one retained trace would be several kB; 10,000 of them would be tens of MB
    assert end - start < 64_000, f"memory grew by {end - start} bytes over 10,000 calls"


# --------------------------------------------------------------------------- scale


@pytest.mark.parametrize(
    "n", [10_000, pytest.param(100_000, marks=pytest.mark.slow)], ids=["10k", "100k"]
)
def test_a_long_chain_in_every_mode(n: int) -> None:
    def chain(x: Node) -> Node:
        for _ in range(n):
            x = x * 0.99999
        return x

    expected = 0.99999**n
    assert fnad.grad(chain)(1.0) == pytest.approx(expected, rel=1e-9)
    assert fnad.jvp(chain, (1.0,), (1.0,))[1] == pytest.approx(expected, rel=1e-9)
    assert fnad.vjp(chain, 1.0)[1](1.0)[0] == pytest.approx(expected, rel=1e-9)


def test_second_order_through_a_long_chain() -> None:
    n = 20_000

    def chain(x: Node) -> Node:
        for _ in range(n):
            x = (x * 0.5).sin()
        return x

    x0 = 0.3
    eps = 1e-4
    d1 = fnad.grad(chain)
    expected = (d1(x0 + eps) - d1(x0 - eps)) / (2 * eps)
    assert fnad.grad(fnad.grad(chain))(x0) == pytest.approx(expected, rel=1e-5, abs=1e-300)


# --------------------------------------------------------------------------- misuse


def test_bad_argnums_are_reported() -> None:
    with pytest.raises(TransformError, match=r"fnad.grad: argnums must be an int or a non-empty"):
        fnad.grad(cube, argnums="0")  # type: ignore[arg-type]
    with pytest.raises(TransformError, match="argnums must be"):
        fnad.grad(cube, argnums=())
    with pytest.raises(TransformError, match="argnums must be"):
        fnad.value_and_grad(cube, argnums=True)
    with pytest.raises(
        TransformError,
        match=r"fnad.grad: argnums contains 1, but the function was called with 1 positional "
        r"argument\(s\); use indices 0..0 \(or -1..-1\)",
    ):
        fnad.grad(cube, argnums=1)(2.0)
    with pytest.raises(TransformError, match=r"names argument 0 twice"):
        fnad.grad(lambda x, y: x * y, argnums=(0, -2))(1.0, 2.0)
    with pytest.raises(TransformError, match="called with no arguments"):
        fnad.grad(lambda: Node(1.0))()
    with pytest.raises(TransformError, match=r"fnad\.hessian: argnums=0, but the function was"):
        fnad.hessian(lambda: Node(1.0))()


def test_bad_arguments_and_results_are_reported() -> None:
    with pytest.raises(OperandTypeError, match=r"fnad.grad: argument 1 is '2' \(str\)"):
        fnad.grad(cube)("2")  # type: ignore[call-overload]
    with pytest.raises(OperandTypeError, match="booleans are not numbers"):
        fnad.grad(cube)(True)
    with pytest.raises(TransformError, match=r"returned \(Node\(.* \(tuple\); it must return one"):
        fnad.grad(lambda x: (x, x))(1.0)  # type: ignore[arg-type,return-value]
    with pytest.raises(TransformError, match="returned None"):
        fnad.grad(lambda x: None)(1.0)  # type: ignore[arg-type,return-value]


def test_jvp_and_vjp_misuse_is_reported() -> None:
    with pytest.raises(TransformError, match=r"fnad\.jvp: primals must be a tuple"):
        fnad.jvp(cube, 1.0, (1.0,))  # type: ignore[call-overload]
    with pytest.raises(TransformError, match=r"fnad.jvp: 2 primal\(s\) but 1 tangent\(s\)"):
        fnad.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(OperandTypeError, match=r"fnad\.jvp: tangent: argument 1"):
        fnad.jvp(cube, (1.0,), ("a",))  # type: ignore[arg-type]
    _, vjp_fn = fnad.vjp(cube, 1.0)
    with pytest.raises(TransformError, match="vjp_fn got a Node cotangent"):
        vjp_fn(Node(1.0))  # type: ignore[arg-type]
    with pytest.raises(OperandTypeError, match="vjp_fn's cotangent"):
        vjp_fn("1")  # type: ignore[arg-type]


def test_closures_over_another_tape_explain_a_fix_that_keeps_the_derivative() -> None:
    # a closure over an enclosing transform's variable works (tests/test_closures.py)
    assert fnad.grad(lambda y: fnad.grad(lambda x: x * y)(1.0))(2.0) == 1.0
    with Tape():
        other = Node(3.0)
    with pytest.raises(TapeError, match="pass that Node as an argument to the outermost") as e:
        fnad.grad(lambda x: x * other)(1.0)
    assert "fresh leaves" not in str(e.value) and "Node(x.data)" not in str(e.value)
    # the fix the message suggests works, and keeps the dependence on `other`
    with Tape():
        # statically a float: mypy cannot see that a Node reaches f through a keyword
        slope: object = fnad.grad(lambda x, c: x * c)(1.0, c=other)
        assert isinstance(slope, Node) and slope.data == 3.0 and slope.backward()[other] == 1.0
    with pytest.raises(TapeError, match="returned a Node recorded on"):
        fnad.grad(lambda x: other)(1.0)
    with Tape():
        a = Node(1.0)
    with Tape():
        b = Node(2.0)
    with pytest.raises(TapeError, match=r"fnad\.grad: argument 2"):
        fnad.grad(lambda x, y: x * y)(a, b)


def test_nesting_needs_the_identity_op() -> None:
    table = fnad.RuleTable({k: v for k, v in fnad.builtin_rules().items() if k != "identity"})
    with Tape(rules=table):
        x = Node(1.0)
        with pytest.raises(fnad.RuleError, match="nesting needs the built-in op 'identity'"):
            fnad.grad(cube)(x)


def test_transformed_functions_describe_themselves() -> None:
    df = fnad.grad(cube, argnums=0)
    assert repr(df) == "<fnad.grad of cube argnums=0>"
    assert df.__name__ == "grad_cube" and df.__wrapped__ is cube
    assert repr(fnad.hessian(cube)) == "<fnad.hessian of cube argnums=0>"
    assert (
        repr(fnad.grad(cube, [0], has_aux=True)) == "<fnad.grad of cube argnums=[0], has_aux=True>"
    )


# --------------------------------------------------------------------------- sympy oracles

X = sympy.Symbol("x", real=True)
Y = sympy.Symbol("y", real=True)

# name -> (fnad function of one Node, sympy expression in X, strategy for x)
UNARY: dict[str, tuple[Callable[[Node], Node], sympy.Expr, st.SearchStrategy[float]]] = {
    "tanh": (lambda x: x.tanh(), sympy.tanh(X), st.floats(-3.0, 3.0)),
    "exp": (lambda x: x.exp(), sympy.exp(X), st.floats(-3.0, 3.0)),
    "log": (lambda x: x.log(), sympy.log(X), st.floats(0.1, 10.0)),
    "sigmoid": (lambda x: x.sigmoid(), 1 / (1 + sympy.exp(-X)), st.floats(-5.0, 5.0)),
    "sin": (lambda x: x.sin(), sympy.sin(X), st.floats(-4.0, 4.0)),
    "cos": (lambda x: x.cos(), sympy.cos(X), st.floats(-4.0, 4.0)),
    "sqrt": (lambda x: x.sqrt(), sympy.sqrt(X), st.floats(0.1, 10.0)),
    "pow_const_exponent": (lambda x: x**2.5, X**2.5, st.floats(0.1, 4.0)),
    "pow_const_base": (lambda x: 1.7**x, sympy.Float(1.7) ** X, st.floats(-3.0, 3.0)),
    "pow_int_exponent": (lambda x: x**3, X**3, st.floats(-3.0, 3.0)),
}

_DERIVATIVES = {
    name: [sympy.lambdify(X, sympy.diff(expr, X, k), "math") for k in range(4)]
    for name, (_, expr, _) in UNARY.items()
}


def close(actual: float, expected: float, rel: float = 1e-9) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-9)


def _fwd(g: Callable[..., Any]) -> Callable[..., Any]:
    return lambda x: fnad.jvp(g, (x,), (1.0,))[1]


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_orders_one_to_three_against_sympy(name: str, data: st.DataObject) -> None:
    f, _, domain = UNARY[name]
    x0 = data.draw(domain)
    d = _DERIVATIVES[name]
    rev: Callable[..., Any] = f
    fwd: Callable[..., Any] = f
    for order in (1, 2, 3):
        rev = fnad.grad(rev)
        fwd = _fwd(fwd)
        expected = float(d[order](x0))
        assert close(rev(x0), expected), (name, order, "rev", x0)
        assert close(fwd(x0), expected), (name, order, "fwd", x0)
    # mixed: forward over reverse over reverse, reverse over forward over reverse
    assert close(_fwd(fnad.grad(fnad.grad(f)))(x0), float(d[3](x0)))
    assert close(fnad.grad(_fwd(fnad.grad(f)))(x0), float(d[3](x0)))
    assert close(fnad.hessian(f, argnums=0)(x0), float(d[2](x0)))


_POW = X**Y
_POW_DERIVATIVES = {
    path: sympy.lambdify((X, Y), sympy.diff(_POW, *[(X, Y)[i] for i in path]), "math")
    for path in [
        (0,),
        (1,),
        (0, 0),
        (0, 1),
        (1, 1),
        (0, 0, 0),
        (0, 0, 1),
        (0, 1, 1),
        (1, 1, 1),
    ]
}


@settings(max_examples=60, deadline=None)
@given(st.floats(0.2, 4.0), st.floats(-2.5, 2.5))
def test_pow_of_two_variables_to_third_order(a: float, b: float) -> None:
    f = lambda x, y: x**y
    for path, derivative in _POW_DERIVATIVES.items():
        g: Callable[..., Any] = f
        for i in path:
            g = fnad.grad(g, argnums=i)
        assert close(g(a, b), float(derivative(a, b))), path
    h = fnad.hessian(f, argnums=(0, 1))(a, b)
    assert close(h[0][1], float(_POW_DERIVATIVES[(0, 1)](a, b)))
    assert h[0][1] == h[1][0] or close(h[0][1], h[1][0], 1e-12)


# Random expression DAGs: every op keeps values in its domain by construction.
UNARY_OPS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "sin": (lambda a: a.sin(), sympy.sin),
    "cos": (lambda a: a.cos(), sympy.cos),
    "tanh": (lambda a: a.tanh(), sympy.tanh),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: 1 / (1 + sympy.exp(-a))),
    "exp_tanh": (lambda a: a.tanh().exp(), lambda a: sympy.exp(sympy.tanh(a))),
    "log1sq": (lambda a: (1 + a * a).log(), lambda a: sympy.log(1 + a * a)),
    "sqrt1sq": (lambda a: (1 + a * a).sqrt(), lambda a: sympy.sqrt(1 + a * a)),
    "neg": (lambda a: -a, lambda a: -a),
}
BINARY_OPS: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (1 + b * b), lambda a, b: a / (1 + b * b)),
    "pow": (lambda a, b: (1 + a * a) ** b.tanh(), lambda a, b: (1 + a * a) ** sympy.tanh(b)),
}


@dataclass(frozen=True)
class Dag:
    point: tuple[float, ...]
    steps: tuple[tuple[str, tuple[int, ...]], ...]

    def run(self, args: tuple[Any, ...], sym: bool) -> Any:
        values = list(args)
        for name, inputs in self.steps:
            table: dict[str, Any] = UNARY_OPS if name in UNARY_OPS else BINARY_OPS
            op = table[name][1 if sym else 0]
            values.append(op(*(values[i] for i in inputs)))
        # sum the last two values so that more than one path reaches the output
        return values[-1] + values[-2] if len(values) > 1 else values[-1]


@st.composite
def dags(draw: st.DrawFn) -> Dag:
    n = draw(st.integers(1, 3))
    point = tuple(draw(st.floats(-1.5, 1.5)) for _ in range(n))
    steps = []
    for k in range(draw(st.integers(1, 7))):
        available = n + k
        name = draw(st.sampled_from(sorted(UNARY_OPS) + sorted(BINARY_OPS)))
        arity = 1 if name in UNARY_OPS else 2
        inputs = tuple(draw(st.integers(0, available - 1)) for _ in range(arity))
        steps.append((name, inputs))
    return Dag(point, tuple(steps))


@settings(max_examples=80, deadline=None)
@given(dags(), st.data())
def test_jvp_and_vjp_agree_with_each_other_and_with_sympy(dag: Dag, data: st.DataObject) -> None:
    n = len(dag.point)
    symbols = sympy.symbols(f"x0:{n}", real=True)
    expr = dag.run(tuple(symbols), sym=True)
    subs = dict(zip(symbols, dag.point, strict=True))
    gradient = [float(sympy.diff(expr, s).evalf(subs=subs)) for s in symbols]
    f = lambda *xs: dag.run(xs, sym=False)

    value, vjp_fn = fnad.vjp(f, *dag.point)
    assert close(value, float(expr.evalf(subs=subs)))
    cotangent = data.draw(st.floats(-2.0, 2.0))
    pulled = vjp_fn(cotangent)
    assert all(close(p, cotangent * g) for p, g in zip(pulled, gradient, strict=True))

    tangents = tuple(data.draw(st.floats(-2.0, 2.0)) for _ in range(n))
    primal, pushed = fnad.jvp(f, dag.point, tangents)
    assert close(primal, value)
    assert close(pushed, sum(t * g for t, g in zip(tangents, gradient, strict=True)))
    # <vjp(1), v> == jvp(v): the two modes are transposes of each other
    assert close(sum(t * g for t, g in zip(tangents, vjp_fn(1.0), strict=True)), pushed)
    # and grad is vjp with cotangent 1
    assert fnad.grad(f, argnums=tuple(range(n)))(*dag.point) == vjp_fn(1.0)


# --------------------------------------------------------------------------- plain (non-differentiated) arguments


@pytest.mark.parametrize("transform", [fnad.grad, fnad.hessian])
def test_a_method_on_an_undifferentiated_float_argument_says_what_happened_and_the_fix(
    transform: Any,
) -> None:
    def f(x: Node, y: Any) -> Node:
        result: Node = x * y.relu()
        return result

    name = transform.__name__
    with pytest.raises(fnad.MissingAttributeError) as caught:
        transform(f)(0.5, 1.5)
    message = str(caught.value)
    assert isinstance(caught.value, AttributeError)  # code catching AttributeError still works
    assert message.startswith(f"fnad.{name}: f asked its argument 1 (1.5) for .relu")
    assert "a plain float, not a Node" in message
    assert "argnums=(0, 1)" in message and "fnad.relu(y)" in message
    # both fixes it names work
    assert transform(lambda x, y: x * fnad.relu(y))(0.5, 1.5) == (1.5 if name == "grad" else 0.0)
    assert transform(f, argnums=(0, 1))(0.5, 1.5) == (
        (1.5, 0.5) if name == "grad" else ((0.0, 1.0), (1.0, 0.0))
    )


def test_other_attribute_errors_in_f_are_left_alone() -> None:
    with pytest.raises(AttributeError) as caught:
        fnad.grad(lambda x, y: x * y.no_such_thing)(0.5, 1.5)
    assert not isinstance(caught.value, fnad.FnadError)
    with pytest.raises(
        fnad.MissingAttributeError, match=r"keyword argument s=1\.5 .*fnad\.tanh\(s\)"
    ):
        fnad.grad(lambda x, s=1.0: x * s.tanh())(0.5, s=1.5)
