"""Closures over an enclosing transform's variable (docs/transforms.md): autograd's
test_enclosing_scope_ref cases, deeper and mixed nestings against sympy, the result types a
user sees, and perturbation confusion staying impossible."""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

import pytest
import sympy

import fnad
from fnad import Node, Tape
from fnad.transforms import tracer

X, Y, Z = sympy.symbols("x y z", real=True)


def test_enclosing_scope_ref() -> None:
    # autograd tests/test_scope.py: the inner derivative d/dy (x*y) = x depends on x
    def fun(x: Node) -> Node:
        return x * fnad.grad(lambda y: x * y)(2.0)

    assert fnad.grad(fun)(1.0) == 2.0  # d/dx x*x
    assert fnad.grad(fnad.grad(fun))(1.0) == 2.0
    assert fnad.jvp(fun, (1.5,), (1.0,)) == (2.25, 3.0)
    # against central differences of fun on floats (the inner grad then closes over a float)
    h = 1e-4
    fd = (float(fun(1.5 + h)) - float(fun(1.5 - h))) / (2 * h)  # type: ignore[arg-type]
    assert fnad.grad(fun)(1.5) == pytest.approx(fd, rel=1e-8)


def test_enclosing_scope_ref_2() -> None:
    def fun(x: Node) -> Node | float:
        return fnad.grad(lambda y: y * x)(2.0)

    assert fnad.grad(fun)(1.0) == 1.0
    assert fnad.value_and_grad(fun)(3.0) == (3.0, 1.0)


def test_three_levels_against_sympy() -> None:
    # g(x) = d/dy [ d/dz (y * sin(x*y*z)) at z=3 ] at y=2
    def g(x: Node) -> Any:
        def mid(y: Node) -> Any:
            return fnad.grad(lambda z: y * (x * y * z).sin())(3.0)

        return fnad.grad(mid)(2.0)

    expr = sympy.diff(sympy.diff(Y * sympy.sin(X * Y * Z), Z).subs(Z, 3), Y).subs(Y, 2)
    for x0 in (0.7, -1.3):
        d1 = float(sympy.diff(expr, X).subs(X, x0))
        d2 = float(sympy.diff(expr, X, 2).subs(X, x0))
        assert fnad.grad(g)(x0) == pytest.approx(d1, rel=1e-12)
        assert fnad.grad(fnad.grad(g))(x0) == pytest.approx(d2, rel=1e-12)
        assert fnad.jvp(g, (x0,), (1.0,))[1] == pytest.approx(d1, rel=1e-12)
    # the plain product: d/dx d/dy d/dz (x*y*z) = 1
    assert fnad.grad(lambda x: fnad.grad(lambda y: fnad.grad(lambda z: x * y * z)(3.0))(2.0))(
        1.0
    ) == pytest.approx(1.0)


def test_closures_in_hessian_jvp_and_vjp() -> None:
    expr = X * sympy.exp(X * Y) * Y**3  # closed over: X; inner variable: Y at 0.5
    x0, y0 = 0.3, 0.5

    def sym(e: sympy.Expr) -> float:
        return float(e.subs({X: x0, Y: y0}))

    # hessian (second derivative in y) as a function of x, then d/dx
    h = lambda x: fnad.hessian(lambda y: x * (x * y).exp() * y**3)(y0)
    assert fnad.grad(h)(x0) == pytest.approx(sym(sympy.diff(expr, Y, 2, X)), rel=1e-12)
    # jvp (first derivative in y) as a function of x
    j = lambda x: fnad.jvp(lambda y: x * (x * y).exp() * y**3, (y0,), (1.0,))[1]
    assert fnad.grad(j)(x0) == pytest.approx(sym(sympy.diff(expr, Y, X)), rel=1e-12)
    # vjp with the cotangent 2
    v = lambda x: fnad.vjp(lambda y: x * (x * y).exp() * y**3, y0)[1](2.0)[0]
    assert fnad.grad(v)(x0) == pytest.approx(2 * sym(sympy.diff(expr, Y, X)), rel=1e-12)

    # value_and_grad: both parts depend on x
    def vg(x: Node) -> Any:
        value, slope = fnad.value_and_grad(lambda y: x * y * y)(3.0)
        return value + slope

    assert fnad.grad(vg)(2.0) == 9.0 + 6.0


def test_perturbation_confusion_stays_impossible() -> None:
    # the existing nesting case: x passed as the inner argument
    assert fnad.grad(lambda x: fnad.grad(lambda y: x * y)(x))(3.0) == 1.0
    # Siskind & Pearlmutter's example with a closure: d/dx (x * (d/dy (x + y) at y=1)) = 1
    assert fnad.grad(lambda x: x * fnad.grad(lambda y: x + y)(1.0))(5.0) == 1.0
    # both at once: the closure and the argument are the same outer variable
    assert fnad.grad(lambda x: fnad.grad(lambda y: x * y * y)(x))(3.0) == 2 * 3.0 + 2 * 3.0
    # the inner variable is independent of the outer one even when it starts at its value
    assert fnad.grad(lambda x: fnad.grad(lambda y: y * y)(3.0) * x)(1.0) == 6.0


def test_what_the_inner_call_returns() -> None:
    seen: list[object] = []

    def fun(x: Node) -> Any:
        depends = fnad.grad(lambda y: x * y)(2.0)  # = x: a Node, recorded
        constant = fnad.grad(lambda y: y * y)(3.0)  # no closure: a float, as always
        value, slope = fnad.value_and_grad(lambda y: x + y * y)(3.0)  # value depends, slope not
        seen.extend([depends, constant, value, slope])
        return depends * constant + value + slope

    assert fnad.grad(fun)(2.0) == 6.0 + 1.0
    depends, constant, value, slope = seen
    assert isinstance(depends, Node) and depends.data == 2.0
    assert type(constant) is float and constant == 6.0
    assert isinstance(value, Node) and value.data == 11.0
    assert type(slope) is float and slope == 6.0
    # a top-level call is unchanged: floats, on a private tape
    assert type(fnad.grad(lambda y: y * y)(3.0)) is float
    assert tracer.tracing_tapes.get() == ()


def test_a_closure_over_a_users_tape_through_a_nested_transform() -> None:
    with Tape() as tape:
        a = Node(2.0, label="a")
        # r(a) = d/dx [x * d/dy (a*y)] at x=a = a, so dr/da = 1
        r = fnad.grad(lambda x: x * fnad.grad(lambda y: a * y)(1.0))(a)
        assert isinstance(r, Node) and r.tape is tape and r.data == 2.0
        assert r.backward()[a] == 1.0


def test_a_node_keyword_argument_joins_its_tape() -> None:
    with Tape() as tape:
        c = Node(3.0, label="c")
        size = len(tape)
        slope: object = fnad.grad(lambda x, c: x * x * c)(2.0, c=c)
        assert isinstance(slope, Node) and slope.data == 12.0
        assert slope.backward()[c] == 4.0  # d/dc (2 x c) at x=2
        unrelated: object = fnad.grad(lambda x, c: x * x)(2.0, c=c)
        assert type(unrelated) is float and unrelated == 4.0
    assert len(tape) > size


def test_the_tracing_stack_is_restored_after_errors_and_per_thread() -> None:
    def broken(x: Node) -> Node:
        fnad.grad(lambda y: x * y)(1.0)
        raise RuntimeError("user error")

    with pytest.raises(RuntimeError, match="user error"):
        fnad.grad(broken)(1.0)
    assert tracer.tracing_tapes.get() == ()
    results: list[float] = []

    def work(x0: float) -> None:
        for _ in range(20):
            results.append(fnad.grad(lambda x: x * fnad.grad(lambda y: x * y)(2.0))(x0))

    threads = [threading.Thread(target=work, args=(float(i),)) for i in range(1, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(results)) == [2.0, 4.0, 6.0] and len(results) == 60

    async def task(x0: float) -> float:
        await asyncio.sleep(0)
        return fnad.grad(lambda x: x * fnad.grad(lambda y: x * y)(2.0))(x0)

    async def main() -> list[float]:
        return list(await asyncio.gather(*(task(v) for v in (1.0, 2.0, 3.0))))

    assert asyncio.run(main()) == [2.0, 4.0, 6.0]


def test_a_closure_over_a_closed_or_foreign_tape_is_a_clear_error() -> None:
    with Tape():
        other = Node(1.0, label="w")
    with pytest.raises(fnad.TapeError, match=r"pass that Node as an argument to the outermost"):
        fnad.grad(lambda x: x * fnad.grad(lambda y: other * y)(1.0))(2.0)
    assert tracer.tracing_tapes.get() == ()
    assert math.isfinite(fnad.grad(lambda x: x * x)(2.0))
