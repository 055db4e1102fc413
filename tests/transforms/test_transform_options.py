"""Transform options as in JAX (issue 12 item 2): keyword arguments, has_aux, argnums as
any sequence, hessian's default, and the TypeError for a non-scalar output; and a bad
argument of a nested transform leaving the caller's tape unchanged (issue 14 item 6)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import pytest

import fnad
from fnad import Node, Tape
from fnad.errors import FnadError, OutputTypeError, TransformError

# --------------------------------------------------------------------------- keyword arguments


def test_keyword_arguments_pass_through_undifferentiated() -> None:
    f = lambda a, b, c=1.0: a * b + c
    assert fnad.grad(f)(2.0, 3.0, c=5.0) == 3.0
    assert fnad.grad(f, argnums=(0, 1))(2.0, 3.0, c=5.0) == (3.0, 2.0)
    assert fnad.value_and_grad(f)(2.0, 3.0, c=5.0) == (11.0, 3.0)
    assert fnad.hessian(lambda x, p=2: x**p)(3.0, p=3) == 18.0
    # anything can be a keyword argument: it reaches f as it is
    seen: list[object] = []

    def g(x: Node, *, mode: str, table: dict[str, float]) -> Node:
        seen.append((mode, table))
        return x * table[mode]

    table = {"double": 2.0}
    assert fnad.grad(g)(1.0, mode="double", table=table) == 2.0
    assert seen == [("double", table)] and seen[0][1] is table  # type: ignore[index]
    # nested: a keyword argument reaches the inner f too
    assert fnad.grad(lambda x: fnad.grad(lambda y, k: y * y * k)(x, k=3.0))(2.0) == 6.0


def test_a_missing_or_unexpected_keyword_is_pythons_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'd'"):
        fnad.grad(lambda a, c=1.0: a * c)(2.0, d=1.0)


# --------------------------------------------------------------------------- has_aux


def test_has_aux_returns_the_aux_value_as_jax_does() -> None:
    def loss(w: Node, x: Node) -> tuple[Node, dict[str, Any]]:
        pred = w * x
        err = pred - 1.0
        return err * err, {"pred": pred, "note": "ok", "parts": [err, 2.0]}

    g, aux = fnad.grad(loss, has_aux=True)(2.0, 3.0)
    assert g == 2 * 5.0 * 3.0
    assert aux == {"pred": 6.0, "note": "ok", "parts": [5.0, 2.0]}
    assert type(aux["pred"]) is float and type(aux["parts"][0]) is float
    (value, aux2), grads = fnad.value_and_grad(loss, argnums=[0, 1], has_aux=True)(2.0, 3.0)
    assert value == 25.0 and grads == (30.0, 20.0) and aux2 == aux
    # JAX's shape ((value, aux), grad), so code ported from JAX cannot swap grad and aux
    result = fnad.value_and_grad(lambda x: (x * x, "aux"), has_aux=True)(3.0)
    assert result == ((9.0, "aux"), 6.0)
    # tuples, named tuples, other objects
    Pair = namedtuple("Pair", "a b")
    marker = object()
    _, aux3 = fnad.grad(lambda x: (x * x, (Pair(x, marker), x + 1)), has_aux=True)(3.0)
    assert aux3 == (Pair(3.0, marker), 4.0) and type(aux3[0]) is Pair and aux3[0].b is marker


def test_has_aux_keeps_nodes_when_nested_and_foreign_nodes_as_they_are() -> None:
    with Tape() as tape:
        x = Node(3.0)
        g, aux = fnad.grad(lambda v: (v * v, v * 2), has_aux=True)(x)
        assert isinstance(g, Node) and isinstance(aux, Node) and aux.tape is tape
        assert g.backward()[x] == 2.0 and aux.data == 6.0
    _, aux = fnad.grad(lambda v: (v * v, x), has_aux=True)(1.0)
    assert aux is x  # a Node of another (live) tape: returned untouched


def test_has_aux_inside_an_enclosing_transform_follows_the_closure_rule() -> None:
    seen: list[Any] = []

    def fun(x: Node) -> Any:
        g, aux = fnad.grad(lambda y: (x * y, (x * y, y * y)), has_aux=True)(2.0)
        seen.append(aux)
        return g * aux[0]

    assert fnad.grad(fun)(3.0) == 2 * 2 * 3.0  # d/dx (x * 2x)
    depends, own = seen[0]
    assert isinstance(depends, Node) and type(own) is float and own == 4.0


def test_has_aux_needs_a_pair() -> None:
    for returned in (lambda x: x, lambda x: (x, 1, 2), lambda x: [x]):
        with pytest.raises(OutputTypeError, match=r"with has_aux=True it must return a pair"):
            fnad.grad(returned, has_aux=True)(1.0)
    with pytest.raises(OutputTypeError, match="returned 'a'"):
        fnad.value_and_grad(lambda x: ("a", x), has_aux=True)(1.0)


# --------------------------------------------------------------------------- argnums


def test_argnums_accepts_any_sequence_of_ints() -> None:
    f = lambda x, y, z: x * y * z
    assert fnad.grad(f, argnums=[0, 2])(1.0, 2.0, 3.0) == (6.0, 2.0)
    assert fnad.grad(f, argnums=range(3))(1.0, 2.0, 3.0) == (6.0, 3.0, 2.0)
    assert fnad.grad(f, argnums=[1])(1.0, 2.0, 3.0) == (3.0,)
    assert fnad.value_and_grad(f, argnums=[2, -3])(1.0, 2.0, 3.0) == (6.0, (2.0, 6.0))
    assert fnad.hessian(f, argnums=[0, 1])(1.0, 2.0, 3.0) == ((0.0, 3.0), (3.0, 0.0))
    for bad in ("01", [], [True], [0.5], [0, None], b"\x00", None):
        with pytest.raises(TransformError, match="argnums must be an int or a non-empty sequence"):
            fnad.grad(f, argnums=bad)  # type: ignore[arg-type]


def test_hessian_defaults_to_the_first_argument_like_grad() -> None:
    assert fnad.hessian(lambda x: x**3)(2.0) == 12.0
    assert fnad.hessian(lambda x, y: x * x * y)(2.0, 3.0) == 6.0
    assert fnad.hessian(lambda x, y: x * x * y, argnums=1)(2.0, 3.0) == 0.0
    assert fnad.hessian(lambda x, y: x * x * y, argnums=(0, 1))(2.0, 3.0) == (
        (6.0, 4.0),
        (4.0, 0.0),
    )


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize(
    ("returned", "hint"),
    [
        (lambda x: (x, x), r"\(tuple\).*use has_aux=True .*or transform one function per output"),
        (lambda x: [x, x], r"\(list\).*use has_aux=True"),
        (lambda x: None, r"returned None .*did it forget to `return`"),
        (lambda x: True, r"returned True \(bool\).*A bool is not a number here"),
        (lambda x: "1.0", r"convert text with float"),
        (lambda x: 1j, r"fnad is real-valued"),
    ],
)
def test_a_non_scalar_output_is_a_type_error_with_a_fitting_hint(returned: Any, hint: str) -> None:
    for transform in (
        lambda: fnad.grad(returned)(1.0),
        lambda: fnad.value_and_grad(returned)(1.0),
        lambda: fnad.hessian(returned)(1.0),
        lambda: fnad.jvp(returned, (1.0,), (1.0,)),
        lambda: fnad.vjp(returned, 1.0),
    ):
        with pytest.raises(OutputTypeError, match=hint) as caught:
            transform()
        error = caught.value
        assert isinstance(error, TypeError) and isinstance(error, FnadError)
        assert isinstance(error, TransformError)  # what fnad raised before: still caught


# --------------------------------------------------------------------------- state on error


def test_a_nested_transform_with_a_bad_argument_leaves_the_tape_unchanged() -> None:
    # Issue 14.6: the first argument's identity node was recorded before the second failed.
    with Tape() as tape:
        x = Node(2.0, label="x")
        size = len(tape)
        with pytest.raises(fnad.OperandTypeError, match=r"fnad.grad: argument 2 is '2'"):
            fnad.grad(lambda a, b: a * b, argnums=(0, 1))(x, "2")  # type: ignore[call-overload]
        with pytest.raises(fnad.OperandTypeError, match=r"fnad.hessian: argument 3 is None"):
            fnad.hessian(lambda a, b, c: a * b * c, argnums=[0, 2])(x, 1.0, None)  # type: ignore[call-overload]
        with pytest.raises(fnad.OperandTypeError, match=r"fnad.vjp: argument 2 is True"):
            fnad.vjp(lambda a, b: a * b, x, True)
        with pytest.raises(fnad.OperandTypeError, match=r"fnad.jvp: argument 2 is 'y'"):
            fnad.jvp(lambda a, b: a * b, (x, "y"), (1.0, 0.0))  # type: ignore[arg-type]
        with pytest.raises(TransformError, match="argnums contains 2"):
            fnad.value_and_grad(lambda a, b: a * b, argnums=(0, 2))(x, 1.0)
        with Tape():
            foreign = Node(1.0)
        with pytest.raises(fnad.TapeError, match="keyword argument k="):
            fnad.grad(lambda a, k: a * k)(x, k=foreign)
        assert len(tape) == size
