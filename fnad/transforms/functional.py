"""Functional transforms: ``grad``, ``value_and_grad``, ``jvp``, ``vjp`` and ``hessian``.

A transform takes a function of scalars and returns numbers, the way JAX's do::

    >>> import fnad
    >>> fnad.grad(lambda x: x * x * x)(2.0)
    12.0
    >>> fnad.grad(fnad.grad(lambda x: x * x * x))(2.0)
    12.0
    >>> fnad.jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
    (6.0, 3.0)

Invariants this module keeps:

- **Floats in, floats out, nothing retained.** Called with plain numbers (outside any
  other transform), a transform traces ``f`` on its own fresh :class:`~fnad.Tape` and
  returns floats; the tape is closed once the call returns (``vjp`` keeps it only as long
  as its ``vjp_fn`` has not run).
- **Nodes in, Nodes out: that is nesting.** Called with :class:`~fnad.Node` arguments (as
  an outer transform does), a transform traces on those Nodes' tape and records its own
  derivative computation there, so its results are Nodes that can be differentiated
  again: ``grad(grad(f))``, ``jvp`` of ``grad``, ``hessian``.
- **Closures join the enclosing trace.** Called with plain numbers while another
  transform is tracing a function (or with a Node keyword argument), a transform traces
  on that tape, so a Node ``f`` takes from its closure joins in:
  ``grad(lambda x: x * grad(lambda y: x * y)(2.0))(1.0)`` is 2.0. Each result is a float
  unless it depends on such a Node; then it is a Node, recorded, so the enclosing
  derivative sees the dependence.
- **Each nesting level has its own variables.** A Node argument enters ``f`` through a
  fresh ``identity`` node (a number through a fresh leaf), and derivatives flow only along
  paths from those variables to the output. So
  ``grad(lambda x: grad(lambda y: x * y)(x))(3.0)`` is 1.0, the derivative of ``x``, not
  of ``x * x`` (no "perturbation confusion").
- **Arguments are checked before anything is recorded**, so a bad argument leaves the
  caller's tape as it was.
- **One rule table for every mode.** Reverse mode multiplies adjoints by the rules'
  partials, forward mode (``jvp``) pushes tangents forward with the very same partials,
  in ``networkx.topological_sort`` order; higher orders evaluate those partials on Nodes.
- **Nothing recursive.** Every pass is a loop over a topological order, so a chain of a
  million nodes needs no change to the recursion limit.

The tracing and the passes every transform shares are in :mod:`fnad.transforms.tracer`;
this module is the transforms themselves and the checks of their arguments.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any, Generic, Literal, SupportsFloat, TypeAlias, TypeVar, cast, overload

from fnad._internal import describe, name_of
from fnad.engine import Node, Operand, to_float
from fnad.errors import TapeError, TransformError
from fnad.transforms.tracer import (
    Trace,
    as_node,
    forward_tangent,
    reverse_floats,
    reverse_nodes,
    trace_call,
)

__all__ = [
    "ScalarFunction",
    "Transformed",
    "grad",
    "hessian",
    "jvp",
    "value_and_grad",
    "vjp",
]

ScalarFunction: TypeAlias = Callable[..., Operand]
"""What a transform differentiates: scalars (Nodes) in, one scalar (a Node or a number) out."""

Argnums: TypeAlias = "int | Sequence[int]"


F_co = TypeVar("F_co", covariant=True)
N_co = TypeVar("N_co", covariant=True)


class Transformed(Generic[F_co, N_co]):
    """A transformed function, e.g. ``fnad.grad(f)``: floats in, ``F_co`` out; Nodes in, ``N_co``.

    ``fnad.grad(f)`` is a ``Transformed[float, Node]``: called with numbers it returns a
    float, called with Nodes (as an enclosing transform does) it returns a Node.

    >>> import fnad
    >>> df = fnad.grad(lambda x: x.sin())
    >>> df
    <fnad.grad of <lambda> argnums=0>
    >>> df(0.0)
    1.0
    >>> with fnad.Tape():
    ...     df(fnad.Node(0.0))
    Node(data=1.0, grad=0.0, op='cos')
    """

    def __init__(
        self,
        impl: Callable[[tuple[Operand, ...], dict[str, Any]], Any],
        kind: str,
        f: Callable[..., Any],
        detail: str,
    ) -> None:
        self._impl = impl
        name = name_of(f)
        self.__name__ = f"{kind}_{name}"
        self.__qualname__ = self.__name__
        self.__wrapped__ = f
        self.__doc__ = f"fnad.{kind} of {name} ({detail})."
        self._repr = f"<fnad.{kind} of {name} {detail}>"

    @overload
    def __call__(self, *args: SupportsFloat, **kwargs: Any) -> F_co: ...
    @overload
    def __call__(self, *args: Operand, **kwargs: Any) -> N_co: ...
    # The overlap is deliberate: all-number calls match the first signature and return
    # floats; any call with a Node argument is nested and returns Nodes. (Keyword arguments
    # pass through to f undifferentiated; see the closure rule in the module docstring.)
    def __call__(self, *args: Operand, **kwargs: Any) -> F_co | N_co:
        return cast("F_co | N_co", self._impl(args, kwargs))

    def __repr__(self) -> str:
        return self._repr


def _is_index(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _normalize_argnums(name: str, argnums: object) -> tuple[tuple[int, ...], bool]:
    """``(indices, single)``; checked for type here and for range at call time."""
    if _is_index(argnums):
        return (operator.index(cast(int, argnums)),), True
    if (
        isinstance(argnums, Sequence)
        and not isinstance(argnums, (str, bytes))
        and len(argnums) > 0
        and all(_is_index(i) for i in argnums)
    ):
        return tuple(operator.index(i) for i in argnums), False
    raise TransformError(
        f"fnad.{name}: argnums must be an int or a non-empty sequence of ints, got "
        f"{describe(argnums)}; e.g. argnums=0 or argnums=(0, 1)"
    )


def _resolve(name: str, argnums: tuple[int, ...], count: int) -> tuple[int, ...]:
    resolved: list[int] = []
    for i in argnums:
        if not -count <= i < count:
            raise TransformError(
                f"fnad.{name}: argnums contains {i}, but the function was called with {count} "
                f"positional argument(s); use indices 0..{count - 1} (or -{count}..-1)"
                if count
                else f"fnad.{name}: argnums={i}, but the function was called with no arguments"
            )
        index = i % count
        if index in resolved:
            raise TransformError(
                f"fnad.{name}: argnums {argnums} names argument {index} twice; list each once"
            )
        resolved.append(index)
    return tuple(resolved)


def _value(trace: Trace) -> Node | float:
    return trace.export(trace.out)


def _gradient(trace: Trace) -> list[Node | float]:
    """∂out/∂variable for each variable, exported for the caller (see Trace.export)."""
    if trace.graphs:
        grads: list[Node] | list[float] = reverse_nodes(trace.tape, trace.out, trace.variables)
    else:
        grads = reverse_floats(trace.tape, trace.out, trace.variables)
    return [trace.export(g) for g in grads]


def _detail(argnums: object, has_aux: bool) -> str:
    return f"argnums={argnums!r}" + (", has_aux=True" if has_aux else "")


# --------------------------------------------------------------------------- grad


@overload
def grad(
    f: ScalarFunction, argnums: int = 0, *, has_aux: Literal[False] = False
) -> Transformed[float, Node]: ...
@overload
def grad(
    f: ScalarFunction, argnums: Sequence[int], *, has_aux: Literal[False] = False
) -> Transformed[tuple[float, ...], tuple[Node, ...]]: ...
@overload
def grad(
    f: Callable[..., Any], argnums: int = 0, *, has_aux: Literal[True]
) -> Transformed[tuple[float, Any], tuple[Node, Any]]: ...
@overload
def grad(
    f: Callable[..., Any], argnums: Sequence[int], *, has_aux: Literal[True]
) -> Transformed[tuple[tuple[float, ...], Any], tuple[tuple[Node, ...], Any]]: ...
def grad(
    f: Callable[..., Any], argnums: Argnums = 0, *, has_aux: bool = False
) -> Transformed[Any, Any]:
    """The derivative of ``f`` with respect to argument ``argnums`` (reverse mode).

    ``f`` receives :class:`~fnad.Node` arguments and returns a Node (or a number, if it
    is constant). With a sequence ``argnums`` the result is a tuple of partial
    derivatives. Keyword arguments reach ``f`` as they are, undifferentiated. With
    ``has_aux=True``, ``f`` returns a pair ``(output, aux)`` and the transformed function
    returns ``(derivative, aux)``; Nodes in ``aux`` come back as floats from a top-level
    call (the call's tape is gone by then), and as they are from a nested one.

    >>> import fnad
    >>> f = lambda x, y: x * y + x**2
    >>> fnad.grad(f)(2.0, 3.0)
    7.0
    >>> fnad.grad(f, argnums=(0, 1))(2.0, 3.0)
    (7.0, 2.0)
    >>> fnad.grad(fnad.grad(fnad.grad(lambda x: x * x * x)))(2.0)
    6.0
    >>> fnad.grad(lambda a, b, c=1.0: a * b + c)(2.0, 3.0, c=5.0)
    3.0
    >>> fnad.grad(lambda x: (x**2, {"x2": x**2}), has_aux=True)(3.0)
    (6.0, {'x2': 9.0})
    """
    nums, single = _normalize_argnums("grad", argnums)

    def impl(args: tuple[Operand, ...], kwargs: dict[str, Any]) -> Any:
        trace = trace_call(
            "grad", f, args, _resolve("grad", nums, len(args)), kwargs, has_aux=has_aux
        )
        try:
            grads = _gradient(trace)
            result = grads[0] if single else tuple(grads)
            return (result, trace.export_aux()) if has_aux else result
        finally:
            trace.release()

    return Transformed(impl, "grad", f, _detail(argnums, has_aux))


@overload
def value_and_grad(
    f: ScalarFunction, argnums: int = 0, *, has_aux: Literal[False] = False
) -> Transformed[tuple[float, float], tuple[Node, Node]]: ...
@overload
def value_and_grad(
    f: ScalarFunction, argnums: Sequence[int], *, has_aux: Literal[False] = False
) -> Transformed[tuple[float, tuple[float, ...]], tuple[Node, tuple[Node, ...]]]: ...
@overload
def value_and_grad(
    f: Callable[..., Any], argnums: int = 0, *, has_aux: Literal[True]
) -> Transformed[tuple[tuple[float, Any], float], tuple[tuple[Node, Any], Node]]: ...
@overload
def value_and_grad(
    f: Callable[..., Any], argnums: Sequence[int], *, has_aux: Literal[True]
) -> Transformed[
    tuple[tuple[float, Any], tuple[float, ...]], tuple[tuple[Node, Any], tuple[Node, ...]]
]: ...
def value_and_grad(
    f: Callable[..., Any], argnums: Argnums = 0, *, has_aux: bool = False
) -> Transformed[Any, Any]:
    """``f``'s value and its :func:`grad`, from one trace.

    With ``has_aux=True`` the result is ``((value, aux), grad)``, as in JAX
    (``(value, aux), grad = fnad.value_and_grad(loss, has_aux=True)(w)``). Before fnad 0.2 it
    was ``((value, grad), aux)``, which JAX code unpacked without error, swapping the two.

    >>> import fnad
    >>> fnad.value_and_grad(lambda x: x.exp())(0.0)
    (1.0, 1.0)
    >>> fnad.value_and_grad(lambda x, y: x / y, argnums=(0, 1))(1.0, 2.0)
    (0.5, (0.5, -0.25))
    >>> fnad.value_and_grad(lambda x: (x * x, x + 1), has_aux=True)(3.0)
    ((9.0, 4.0), 6.0)
    """
    nums, single = _normalize_argnums("value_and_grad", argnums)

    def impl(args: tuple[Operand, ...], kwargs: dict[str, Any]) -> Any:
        resolved = _resolve("value_and_grad", nums, len(args))
        trace = trace_call("value_and_grad", f, args, resolved, kwargs, has_aux=has_aux)
        try:
            grads = _gradient(trace)
            gradient = grads[0] if single else tuple(grads)
            if has_aux:  # JAX's shape: ((value, aux), grad)
                return (_value(trace), trace.export_aux()), gradient
            return _value(trace), gradient
        finally:
            trace.release()

    return Transformed(impl, "value_and_grad", f, _detail(argnums, has_aux))


# --------------------------------------------------------------------------- hessian


@overload
def hessian(f: ScalarFunction, argnums: int = 0) -> Transformed[float, Node]: ...
@overload
def hessian(
    f: ScalarFunction, argnums: Sequence[int]
) -> Transformed[tuple[tuple[float, ...], ...], tuple[tuple[Node, ...], ...]]: ...
def hessian(f: ScalarFunction, argnums: Argnums = 0) -> Transformed[Any, Any]:
    """Second derivatives ∂²f/∂xᵢ∂xⱼ (reverse over reverse).

    Like :func:`grad`, with respect to argument 0 by default, giving the single second
    derivative ∂²f/∂x²; with a sequence ``argnums``, the matrix as a tuple of rows.
    (Before fnad 0.2 the default was every positional argument.)

    >>> import fnad
    >>> fnad.hessian(lambda x: x**3)(2.0)
    12.0
    >>> f = lambda x, y: x * y + x**2
    >>> fnad.hessian(f, argnums=(0, 1))(2.0, 3.0)
    ((2.0, 1.0), (1.0, 0.0))
    """
    nums, single = _normalize_argnums("hessian", argnums)

    def impl(args: tuple[Operand, ...], kwargs: dict[str, Any]) -> Any:
        trace = trace_call("hessian", f, args, _resolve("hessian", nums, len(args)), kwargs)
        tape, variables = trace.tape, trace.variables
        try:
            first = reverse_nodes(tape, trace.out, variables)
            rows: list[list[Node]] | list[list[float]]
            if trace.graphs:
                rows = [reverse_nodes(tape, g, variables) for g in first]
            else:
                rows = [reverse_floats(tape, g, variables) for g in first]
            matrix = tuple(tuple(trace.export(v) for v in row) for row in rows)
            return matrix[0][0] if single else matrix
        finally:
            trace.release()

    return Transformed(impl, "hessian", f, f"argnums={argnums!r}")


# --------------------------------------------------------------------------- jvp, vjp


def _arguments(name: str, role: str, values: object) -> tuple[Any, ...]:
    if isinstance(values, (tuple, list)):
        return tuple(values)
    raise TransformError(
        f"fnad.{name}: {role} must be a tuple with one value per argument of the function, "
        f"got {describe(values)}; e.g. fnad.jvp(f, (1.0,), (1.0,))"
    )


@overload
def jvp(  # type: ignore[overload-overlap]
    f: ScalarFunction, primals: Sequence[SupportsFloat], tangents: Sequence[SupportsFloat]
) -> tuple[float, float]: ...
@overload
def jvp(
    f: ScalarFunction, primals: Sequence[Operand], tangents: Sequence[Operand]
) -> tuple[Node, Node]: ...
def jvp(
    f: ScalarFunction, primals: Sequence[Operand], tangents: Sequence[Operand]
) -> tuple[float, float] | tuple[Node, Node]:
    """Forward mode: ``f(*primals)`` and its directional derivative along ``tangents``.

    The tangent is Σᵢ ∂f/∂xᵢ · tangentᵢ, pushed forward through the graph in topological
    order with the same rule partials that reverse mode uses (no reverse pass involved).

    >>> import fnad
    >>> fnad.jvp(lambda x: x.sin(), (0.0,), (2.0,))
    (0.0, 2.0)
    >>> fnad.jvp(fnad.grad(lambda x: x**3), (2.0,), (1.0,))  # f'' by forward over reverse
    (12.0, 12.0)
    """
    primal_args = _arguments("jvp", "primals", primals)
    tangent_args = _arguments("jvp", "tangents", tangents)
    if len(primal_args) != len(tangent_args):
        raise TransformError(
            f"fnad.jvp: {len(primal_args)} primal(s) but {len(tangent_args)} tangent(s); give "
            "one tangent per primal (0.0 for arguments that do not move)"
        )
    seeds: list[Node | float] = []
    for position, tangent in enumerate(tangent_args, 1):
        if isinstance(tangent, Node):
            seeds.append(tangent)
        else:
            seeds.append(to_float(tangent, "fnad.jvp: tangent", position))
    trace = trace_call("jvp", f, primal_args, tuple(range(len(primal_args))), extra=tangent_args)
    try:
        tangent_out = forward_tangent(
            trace.tape, trace.out, trace.variables, seeds, create_graph=trace.graphs
        )
        return cast("tuple[float, float]", (_value(trace), trace.export(tangent_out)))
    finally:
        trace.release()


@overload
def vjp(  # type: ignore[overload-overlap]
    f: ScalarFunction, *primals: SupportsFloat
) -> tuple[float, Callable[[SupportsFloat], tuple[float, ...]]]: ...
@overload
def vjp(
    f: ScalarFunction, *primals: Operand
) -> tuple[Node, Callable[[Operand], tuple[Node, ...]]]: ...
def vjp(
    f: ScalarFunction, *primals: Operand
) -> (
    tuple[float, Callable[[SupportsFloat], tuple[float, ...]]]
    | tuple[Node, Callable[[Operand], tuple[Node, ...]]]
):
    """Reverse mode: ``f(*primals)`` and ``vjp_fn``, mapping a cotangent c to c·∇f.

    ``vjp_fn`` returns one value per primal. It keeps the traced tape alive for as long as
    it is referenced; the gradient is computed once, on its first call.

    >>> import fnad
    >>> value, vjp_fn = fnad.vjp(lambda x, y: x * y, 2.0, 3.0)
    >>> value, vjp_fn(1.0), vjp_fn(10.0)
    (6.0, (3.0, 2.0), (30.0, 20.0))
    """
    trace = trace_call("vjp", f, primals, tuple(range(len(primals))))
    tape = trace.tape

    def cotangent_of(cotangent: Operand) -> Node | float:
        if isinstance(cotangent, Node):
            if cotangent.tape is not tape:
                raise TapeError(
                    f"fnad.vjp: the cotangent (data={cotangent.data!r}) is on "
                    f"{cotangent.tape!r}, not on the tape of the primals {tape!r}"
                )
            return cotangent
        return to_float(cotangent, "fnad.vjp: vjp_fn's cotangent", 1)

    if trace.nested or trace.joined:
        # The gradient now, while the tape it was traced on is still being traced.
        grads = _gradient(trace)

        def vjp_nodes(cotangent: Operand) -> tuple[Any, ...]:
            scale = cotangent_of(cotangent)
            if trace.nested:
                return tuple(as_node(tape, scale * g) for g in grads)
            return tuple(trace.export(scale * g) for g in grads)

        return cast(
            "tuple[Node, Callable[[Operand], tuple[Node, ...]]]", (_value(trace), vjp_nodes)
        )

    cache: list[list[Node | float]] = []

    def vjp_floats(cotangent: SupportsFloat) -> tuple[float, ...]:
        if isinstance(cotangent, Node):
            raise TransformError(
                "fnad.vjp: vjp_fn got a Node cotangent, but vjp was called with plain numbers "
                "and returns plain numbers; call fnad.vjp with Node primals to get Nodes"
            )
        scale = to_float(cotangent, "fnad.vjp: vjp_fn's cotangent", 1)
        if not cache:
            cache.append(_gradient(trace))
            trace.release()  # floats from here on
        return tuple(scale * cast(float, g) for g in cache[0])

    value = _value(trace)
    assert not isinstance(value, Node)
    return value, vjp_floats
