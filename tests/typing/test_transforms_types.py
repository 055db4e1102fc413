"""Static types of transforms, custom ops and the checker, checked by mypy (mypy.ini covers
tests/) and run by pytest."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, SupportsFloat, assert_type

import pytest

import fnad
from fnad import CustomBinaryOp, CustomNaryOp, CustomUnaryOp, Node, Transformed


@pytest.fixture(autouse=True)
def private_rules() -> Iterator[fnad.RuleTable]:
    with fnad.isolated_rules() as table:
        yield table


def f(x: Node, y: Node) -> Node:
    return x * y + x**2


def test_grad_types() -> None:
    assert_type(fnad.grad(f), Transformed[float, Node])
    assert_type(fnad.grad(f)(1.0, 2.0), float)
    assert_type(fnad.grad(lambda x: x * x)(1.0), float)
    assert_type(fnad.grad(f, argnums=(0, 1))(1.0, 2.0), tuple[float, ...])
    assert_type(fnad.grad(fnad.grad(lambda x: x * x * x))(1.0), float)
    assert_type(fnad.value_and_grad(f)(1.0, 2.0), tuple[float, float])
    assert_type(fnad.value_and_grad(f, (0, 1))(1.0, 2.0), tuple[float, tuple[float, ...]])
    assert_type(fnad.hessian(f)(1.0, 2.0), float)
    assert_type(fnad.hessian(f, (0, 1))(1.0, 2.0), tuple[tuple[float, ...], ...])
    assert_type(fnad.hessian(f, argnums=0)(1.0, 2.0), float)
    assert fnad.grad(f)(1.0, 2.0) == 4.0


def test_option_types() -> None:
    # keyword arguments pass through; any sequence of ints is an argnums
    assert_type(fnad.grad(f)(1.0, y=2.0), float)
    assert_type(fnad.grad(f, argnums=[0, 1])(1.0, 2.0), tuple[float, ...])
    assert_type(fnad.grad(f, argnums=range(2)), Transformed[tuple[float, ...], tuple[Node, ...]])
    assert_type(fnad.hessian(f, [0, 1])(1.0, 2.0), tuple[tuple[float, ...], ...])

    def with_aux(x: Node) -> tuple[Node, dict[str, Node]]:
        return x * x, {"x": x}

    assert_type(fnad.grad(with_aux, has_aux=True), Transformed[tuple[float, Any], tuple[Node, Any]])
    assert_type(fnad.grad(with_aux, has_aux=True)(1.0), tuple[float, Any])
    assert_type(fnad.grad(with_aux, argnums=[0], has_aux=True)(1.0), tuple[tuple[float, ...], Any])
    assert_type(fnad.value_and_grad(with_aux, has_aux=True)(1.0), tuple[tuple[float, Any], float])
    assert_type(
        fnad.value_and_grad(with_aux, (0,), has_aux=True)(1.0),
        tuple[tuple[float, Any], tuple[float, ...]],
    )
    (value, aux), slope = fnad.value_and_grad(with_aux, has_aux=True)(3.0)
    assert (value, slope, aux) == (9.0, 6.0, {"x": 3.0})
    with fnad.Tape():
        x = Node(1.0)
        assert_type(fnad.grad(with_aux, has_aux=True)(x), tuple[Node, Any])
        assert_type(fnad.value_and_grad(with_aux, has_aux=True)(x), tuple[tuple[Node, Any], Node])
    error: type[TypeError] = fnad.OutputTypeError
    assert issubclass(error, fnad.TransformError)


def test_nested_calls_are_nodes() -> None:
    with fnad.Tape():
        x = Node(1.0)
        assert_type(fnad.grad(f)(x, x), Node)
        assert_type(fnad.grad(f)(x, 2.0), Node)
        assert_type(fnad.grad(f, argnums=(0, 1))(x, x), tuple[Node, ...])
        assert_type(fnad.value_and_grad(f)(x, 2.0), tuple[Node, Node])
        assert_type(fnad.hessian(f)(x, x), Node)
        assert_type(fnad.hessian(f, [0, 1])(x, x), tuple[tuple[Node, ...], ...])
        assert_type(fnad.jvp(f, (x, 2.0), (1.0, 0.0)), tuple[Node, Node])
        value, vjp_fn = fnad.vjp(f, x, 2.0)
        assert_type(value, Node)
        assert_type(vjp_fn(1.0), tuple[Node, ...])
        assert isinstance(fnad.grad(f)(x, 2.0), Node)


def test_jvp_and_vjp_types() -> None:
    assert_type(fnad.jvp(f, (1.0, 2.0), (1.0, 0.0)), tuple[float, float])
    value, vjp_fn = fnad.vjp(f, 1.0, 2.0)
    assert_type(value, float)
    assert_type(vjp_fn, Callable[[SupportsFloat], tuple[float, ...]])
    assert_type(vjp_fn(1.0), tuple[float, ...])
    assert vjp_fn(1.0) == (4.0, 1.0)


def test_custom_op_types_are_precise() -> None:
    softplus = fnad.defop(
        "typing.softplus",
        impl=lambda x: math.log1p(math.exp(x)),
        partials=lambda x, out: (fnad.sigmoid(x),),
    )
    assert_type(softplus, CustomUnaryOp)
    assert_type(softplus(1.0), float)
    hypot = fnad.defop(
        "typing.hypot",
        impl=lambda a, b: math.hypot(a, b),
        partials=lambda a, b, out: (a / out, b / out),
    )
    assert_type(hypot, CustomBinaryOp)
    assert_type(hypot(3.0, 4.0), float)
    lerp = fnad.defop(
        "typing.lerp",
        impl=lambda a, b, t: a + t * (b - a),
        partials=lambda a, b, t, out: (1 - t, t, b - a),
    )
    assert_type(lerp, CustomNaryOp)
    assert_type(lerp(1.0, 2.0, 0.5), float)
    with fnad.Tape():
        x = Node(1.0)
        assert_type(softplus(x), Node)
        assert_type(hypot(x, 4.0), Node)
        assert_type(hypot(3.0, x), Node)
        assert_type(lerp(x, 2.0, 0.5), Node)
    assert_type(fnad.grad(softplus)(0.0), float)
    assert fnad.grad(softplus)(0.0) == 0.5


def test_checker_types() -> None:
    assert_type(fnad.check_grad(f, 1.0, 2.0), None)
    report = fnad.check_rules(ops=["mul"])
    assert_type(report, fnad.RuleCheckReport)
    assert_type(report.ok, bool)
    assert report.ok
