"""Static types of the core API, checked by mypy (mypy.ini covers tests/) and run by pytest."""

from __future__ import annotations

from typing import assert_type

import fnad
from fnad import Gradients, Node


def test_operators_and_functions_have_precise_types() -> None:
    with fnad.Tape() as tape:
        x = Node(2.0, label="x")
        assert_type(x + 1.0, Node)
        assert_type(1 + x, Node)
        assert_type(x * x, Node)
        assert_type(2**x, Node)
        assert_type(x**2, Node)
        assert_type(-x, Node)
        assert_type(abs(x), Node)
        assert_type(x.tanh(), Node)
        assert_type(sum([x, x], Node(0.0)), Node)
        assert_type(fnad.tanh(x), Node)
        assert_type(fnad.tanh(2.0), float)
        assert_type(fnad.exp(1), float)
        assert_type(fnad.power(x, 2), Node)
        assert_type(fnad.power(2, x), Node)
        assert_type(fnad.power(2.0, 3), float)
        assert_type(tape.apply("mul", x, 3), Node)
        assert_type(x.data, float)
        assert_type(x.grad, float)
        assert_type(x.prev, frozenset[Node])
        assert_type(x.inputs, tuple[Node, ...])
        y = x * x
        assert_type(y.backward(), Gradients[float])
        assert_type(y.backward()[x], float)
        assert_type(y.backward(create_graph=True), Gradients[Node])
        assert_type(y.backward(create_graph=True)[x], Node)


def test_scalar_typevar_checks_partials_for_floats_and_nodes() -> None:
    def partials(a: fnad.Scalar, out: fnad.Scalar) -> tuple[fnad.Scalar]:
        return (2 * a * fnad.cos(a),)

    assert partials(1.0, 0.0) == (2 * fnad.cos(1.0),)
    with fnad.Tape():
        (node,) = partials(Node(1.0), Node(0.0))
        assert_type(node, Node)


def test_math_library_functions_and_methods_have_precise_types() -> None:
    import math

    with fnad.Tape():
        x = Node(0.5, label="x")
        assert_type(fnad.tan(x), Node)
        assert_type(fnad.tan(0.5), float)
        assert_type(fnad.atan2(x, 1.0), Node)
        assert_type(fnad.atan2(1.0, x), Node)
        assert_type(fnad.atan2(1.0, 2), float)
        assert_type(fnad.mod(x, 2), Node)
        assert_type(fnad.maximum(0.0, x), Node)
        assert_type(fnad.leaky_relu(x), Node)
        assert_type(fnad.leaky_relu(x, 0.2), Node)
        assert_type(fnad.leaky_relu(-1.0, x), Node)
        assert_type(fnad.leaky_relu(-1.0), float)
        assert_type(fnad.gelu(x), Node)
        assert_type(x % 2, Node)
        assert_type(2 % x, Node)
        assert_type(math.floor(x), Node)
        assert_type(math.ceil(x), Node)
        assert_type(x.atan2(1.0), Node)
        assert_type(x.arctan2(x), Node)
        assert_type(x.arcsin(), Node)
        assert_type(x.leaky_relu(), Node)
        assert_type(x.leaky_relu(x), Node)
        assert_type(x.fabs(), Node)
