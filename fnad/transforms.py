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

- **Floats in, floats out, nothing retained.** Called with plain numbers, a transform
  traces ``f`` on its own fresh :class:`~fnad.Tape` and returns floats; the tape is garbage
  once the call returns (``vjp`` keeps it alive only as long as its ``vjp_fn``).
- **Nodes in, Nodes out: that is nesting.** Called with :class:`~fnad.Node` arguments (as
  an outer transform does), a transform traces on those Nodes' tape and records its own
  derivative computation there, so its results are Nodes that can be differentiated
  again: ``grad(grad(f))``, ``jvp`` of ``grad``, ``hessian``.
- **Each nesting level has its own variables.** A Node argument enters ``f`` through a
  fresh ``identity`` node, and derivatives flow only along paths from those variables to
  the output. So ``grad(lambda x: grad(lambda y: x * y)(x))(3.0)`` is 1.0, the derivative
  of ``x``, not of ``x * x`` (no "perturbation confusion").
- **One rule table for every mode.** Reverse mode multiplies adjoints by the rules'
  partials, forward mode (``jvp``) pushes tangents forward with the very same partials,
  in ``networkx.topological_sort`` order; higher orders evaluate those partials on Nodes.
- **Nothing recursive.** Every pass is a loop over a topological order, so a chain of a
  million nodes needs no change to the recursion limit.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Generic, SupportsFloat, TypeAlias, TypeVar, cast, overload

from fnad._internal import describe, name_of, non_finite_value
from fnad.core import Node, Operand, Tape, backpropagate, chain_term, is_strict, to_float
from fnad.errors import RuleError, TapeError, TransformError
from fnad.ops import Scalar
from fnad.rules import Rule, builtin_rules

__all__ = [
    "ScalarFunction",
    "Transformed",
    "check_output",
    "grad",
    "hessian",
    "jvp",
    "value_and_grad",
    "vjp",
]

ScalarFunction: TypeAlias = Callable[..., Operand]
"""What a transform differentiates: scalars (Nodes) in, one scalar (a Node or a number) out."""

Argnums: TypeAlias = "int | tuple[int, ...]"

IDENTITY = "identity"
"""The op through which a nested transform's variables enter ``f``."""


def _identity(x: Scalar, out: Scalar) -> tuple[float]:
    """∂x/∂x = 1  (a nested transform's variable: where its derivative paths start)"""
    return (1.0,)


if IDENTITY not in builtin_rules():  # importlib.reload must not register it twice
    builtin_rules().register(
        Rule(IDENTITY, 1, float, _identity, samples=((0.5,), (-1.5,)), doc=_identity.__doc__ or "")
    )


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
        impl: Callable[[tuple[Operand, ...]], Any],
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
    def __call__(self, *args: SupportsFloat) -> F_co: ...
    @overload
    def __call__(self, *args: Operand) -> N_co: ...
    # The overlap is deliberate: all-number calls match the first signature and return
    # floats; any call with a Node argument is nested and returns Nodes.
    def __call__(self, *args: Operand) -> F_co | N_co:
        return cast("F_co | N_co", self._impl(args))

    def __repr__(self) -> str:
        return self._repr


# --------------------------------------------------------------------------- tracing


class _Trace:
    """One traced call of ``f``: its tape, the variables, the output."""

    __slots__ = ("nested", "out", "tape", "variables")

    def __init__(self, tape: Tape, nested: bool, variables: list[Node], out: Node | float) -> None:
        self.tape = tape
        self.nested = nested
        self.variables = variables
        self.out = out

    def release(self) -> None:
        """Close a top-level call's private tape once its floats are out: the graph is
        freed now, not whenever the cyclic GC runs. A nested call's tape is the caller's."""
        if not self.nested:
            self.tape.close()


def _tape_of(name: str, values: Sequence[object]) -> Tape | None:
    """The tape of the Node arguments (nested call), or None (top-level call)."""
    tape: Tape | None = None
    for position, value in enumerate(values, 1):
        if isinstance(value, Node):
            if tape is None:
                tape = value.tape
            elif value.tape is not tape:
                raise TapeError(
                    f"fnad.{name}: argument {position} (data={value.data!r}) is a Node on "
                    f"{value.tape!r} but an earlier argument is on {tape!r}; pass Nodes of one "
                    "tape, or plain numbers"
                )
    return tape


def _variable(name: str, tape: Tape, value: Operand, position: int) -> Node:
    if isinstance(value, Node):
        if IDENTITY not in tape.rules.lookup:
            raise RuleError(
                f"fnad.{name}: nesting needs the built-in op {IDENTITY!r}, which the tape's rule "
                "table lacks; build custom tables from fnad.builtin_rules().copy()"
            )
        return tape.apply(IDENTITY, value)
    number = to_float(value, f"fnad.{name}", position)
    with tape:
        return Node(number)


def _trace(
    name: str,
    f: ScalarFunction,
    args: Sequence[Operand],
    argnums: tuple[int, ...],
    extra: Sequence[object] = (),
) -> _Trace:
    found = _tape_of(name, [*args, *extra])
    nested = found is not None
    tape = found if found is not None else Tape()
    call_args = list(args)
    variables: list[Node] = []
    for i in argnums:
        variable = _variable(name, tape, args[i], i + 1)
        call_args[i] = variable
        variables.append(variable)
    with tape:
        try:
            out = f(*call_args)
        except TapeError as error:
            where = "the tape of its Node arguments" if nested else "a fresh private tape"
            raise TapeError(
                f"{error}\n(fnad.{name} traces {name_of(f)} on {where}; a Node that the "
                "function takes from elsewhere, such as a closure over an enclosing transform's "
                "variable, cannot join it: pass that value to the function as an argument)"
            ) from error
    return _Trace(tape, nested, variables, check_output(name, f, tape, out))


def check_output(name: str, f: object, tape: Tape, out: object) -> Node | float:
    """What ``f`` returned when traced on ``tape`` by ``fnad.<name>``: a Node of that tape
    or a number (as a float), else an error that says what a transform needs."""
    if isinstance(out, Node):
        if out.tape is not tape:
            raise TapeError(
                f"fnad.{name}: {name_of(f)} returned a Node recorded on {out.tape!r}, not on the "
                "tape it was traced on; compute the result from the function's arguments"
            )
        return out
    if isinstance(out, bool) or not isinstance(out, (numbers.Real, Decimal)):
        raise TransformError(
            f"fnad.{name}: {name_of(f)} returned {describe(out)}; it must return one scalar "
            "(a fnad.Node or a real number). fnad is scalar-valued: for several outputs, "
            "transform one function per output"
        )
    return to_float(out, f"fnad.{name}: the result of {name_of(f)}")


def _normalize_argnums(name: str, argnums: object) -> tuple[tuple[int, ...], bool]:
    """``(indices, single)``; checked for type here and for range at call time."""
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return (argnums,), True
    if (
        isinstance(argnums, tuple)
        and argnums
        and all(isinstance(i, int) and not isinstance(i, bool) for i in argnums)
    ):
        return argnums, False
    raise TransformError(
        f"fnad.{name}: argnums must be an int or a non-empty tuple of ints, got "
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


# --------------------------------------------------------------------------- the passes


def _active(tape: Tape, out: Node, variables: Sequence[Node]) -> list[Node]:
    """Nodes on a path from a variable to ``out``, inputs first (topological order)."""
    active = set(variables)
    forward: list[Node] = []
    order = tape.backward_order(out)
    order.reverse()
    for node in order:
        if node in active:
            forward.append(node)
            continue
        for a in node.inputs:
            if a in active:
                active.add(node)
                forward.append(node)
                break
    return forward


def _reverse(
    tape: Tape, out: Node | float, variables: Sequence[Node], *, create_graph: bool
) -> list[Node | float]:
    """∂out/∂variable for each variable, by :func:`fnad.core.backpropagate` restricted to
    the paths from the variables to ``out`` and stopped at the variables (their own
    inputs belong to an enclosing transform)."""
    if not isinstance(out, Node):
        return [0.0] * len(variables)
    forward = _active(tape, out, variables)
    if not forward or forward[-1] is not out:
        return [0.0] * len(variables)
    sinks = set(variables)
    order = [node for node in reversed(forward) if node not in sinks]
    adjoints: dict[Node, Node | float]
    if create_graph:
        adjoints = backpropagate(order, out, create_graph=True, into=set(forward))
    else:
        adjoints = dict(backpropagate(order, out))
    return [adjoints.get(v, 0.0) for v in variables]


def _reverse_floats(tape: Tape, out: Node | float, variables: Sequence[Node]) -> list[float]:
    """∂out/∂variable for each variable, in floats (first-order reverse mode)."""
    return [cast(float, g) for g in _reverse(tape, out, variables, create_graph=False)]


def _reverse_nodes(tape: Tape, out: Node | float, variables: Sequence[Node]) -> list[Node]:
    """∂out/∂variable as Nodes recorded on ``tape``, so they can be differentiated again."""
    return [_as_node(tape, g) for g in _reverse(tape, out, variables, create_graph=True)]


def _as_node(tape: Tape, value: Node | float) -> Node:
    return value if isinstance(value, Node) else tape.constant(value)


def _forward_tangent(
    tape: Tape,
    out: Node | float,
    variables: Sequence[Node],
    tangents: Sequence[Node | float],
    create_graph: bool,
) -> Node | float:
    """Forward mode: push tangents from the variables to ``out`` with the rules' partials.

    Walks the active nodes in topological order (inputs first): each node's tangent is
    Σ ∂node/∂inputᵢ · tangentᵢ. With ``create_graph`` the partials are evaluated on Nodes
    and the tangent arithmetic is recorded.
    """
    if not isinstance(out, Node):
        return 0.0
    forward = _active(tape, out, variables)
    if not forward or forward[-1] is not out:
        return 0.0
    strict_mode = is_strict()
    tangent_of: dict[Node, Node | float] = {}
    for variable, tangent in zip(variables, tangents, strict=True):
        previous = tangent_of.get(variable)
        tangent_of[variable] = tangent if previous is None else previous + tangent
    for node in forward:
        if node in tangent_of:
            continue
        parts = tape.local_derivatives(node, create_graph=create_graph)
        total: Node | float | None = None
        for a, partial in zip(node.inputs, parts, strict=True):
            incoming = tangent_of.get(a)
            if incoming is None:
                continue
            term = chain_term(incoming, partial, node.op) if create_graph else partial * incoming
            if term is not None:
                total = term if total is None else total + term
        value = 0.0 if total is None else total
        if strict_mode and isinstance(value, float) and value - value:
            raise non_finite_value(f"forward mode through {node.op}", node.inputs, value)
        tangent_of[node] = value
    return tangent_of[out]


def _value(trace: _Trace) -> Node | float:
    out = trace.out
    if trace.nested:
        return _as_node(trace.tape, out)
    return out.data if isinstance(out, Node) else out


def _gradient(trace: _Trace) -> list[float] | list[Node]:
    if trace.nested:
        return _reverse_nodes(trace.tape, trace.out, trace.variables)
    return _reverse_floats(trace.tape, trace.out, trace.variables)


# --------------------------------------------------------------------------- grad


@overload
def grad(f: ScalarFunction, argnums: int = 0) -> Transformed[float, Node]: ...
@overload
def grad(
    f: ScalarFunction, argnums: tuple[int, ...]
) -> Transformed[tuple[float, ...], tuple[Node, ...]]: ...
def grad(
    f: ScalarFunction, argnums: Argnums = 0
) -> Transformed[float, Node] | Transformed[tuple[float, ...], tuple[Node, ...]]:
    """The derivative of ``f`` with respect to argument ``argnums`` (reverse mode).

    ``f`` receives :class:`~fnad.Node` arguments and returns a Node (or a number, if it
    is constant). With a tuple ``argnums`` the result is a tuple of partial derivatives.

    >>> import fnad
    >>> f = lambda x, y: x * y + x**2
    >>> fnad.grad(f)(2.0, 3.0)
    7.0
    >>> fnad.grad(f, argnums=(0, 1))(2.0, 3.0)
    (7.0, 2.0)
    >>> fnad.grad(fnad.grad(fnad.grad(lambda x: x * x * x)))(2.0)
    6.0
    """
    nums, single = _normalize_argnums("grad", argnums)

    def impl(args: tuple[Operand, ...]) -> Any:
        trace = _trace("grad", f, args, _resolve("grad", nums, len(args)))
        try:
            grads = _gradient(trace)
            return grads[0] if single else tuple(grads)
        finally:
            trace.release()

    return Transformed(impl, "grad", f, f"argnums={argnums!r}")


@overload
def value_and_grad(
    f: ScalarFunction, argnums: int = 0
) -> Transformed[tuple[float, float], tuple[Node, Node]]: ...
@overload
def value_and_grad(
    f: ScalarFunction, argnums: tuple[int, ...]
) -> Transformed[tuple[float, tuple[float, ...]], tuple[Node, tuple[Node, ...]]]: ...
def value_and_grad(
    f: ScalarFunction, argnums: Argnums = 0
) -> (
    Transformed[tuple[float, float], tuple[Node, Node]]
    | Transformed[tuple[float, tuple[float, ...]], tuple[Node, tuple[Node, ...]]]
):
    """``f``'s value and its :func:`grad`, from one trace.

    >>> import fnad
    >>> fnad.value_and_grad(lambda x: x.exp())(0.0)
    (1.0, 1.0)
    >>> fnad.value_and_grad(lambda x, y: x / y, argnums=(0, 1))(1.0, 2.0)
    (0.5, (0.5, -0.25))
    """
    nums, single = _normalize_argnums("value_and_grad", argnums)

    def impl(args: tuple[Operand, ...]) -> Any:
        trace = _trace("value_and_grad", f, args, _resolve("value_and_grad", nums, len(args)))
        try:
            grads = _gradient(trace)
            return _value(trace), grads[0] if single else tuple(grads)
        finally:
            trace.release()

    return Transformed(impl, "value_and_grad", f, f"argnums={argnums!r}")


# --------------------------------------------------------------------------- hessian


@overload
def hessian(
    f: ScalarFunction, argnums: tuple[int, ...] | None = None
) -> Transformed[tuple[tuple[float, ...], ...], tuple[tuple[Node, ...], ...]]: ...
@overload
def hessian(f: ScalarFunction, argnums: int) -> Transformed[float, Node]: ...
def hessian(
    f: ScalarFunction, argnums: Argnums | None = None
) -> (
    Transformed[tuple[tuple[float, ...], ...], tuple[tuple[Node, ...], ...]]
    | Transformed[float, Node]
):
    """The matrix of second derivatives ∂²f/∂xᵢ∂xⱼ (reverse over reverse).

    By default with respect to every positional argument, as a tuple of rows; with an
    int ``argnums``, the single second derivative ∂²f/∂x².

    >>> import fnad
    >>> f = lambda x, y: x * y + x**2
    >>> fnad.hessian(f)(2.0, 3.0)
    ((2.0, 1.0), (1.0, 0.0))
    >>> fnad.hessian(f, argnums=0)(2.0, 3.0)
    2.0
    """
    nums: tuple[int, ...] | None
    if argnums is None:
        nums, single = None, False
    else:
        nums, single = _normalize_argnums("hessian", argnums)

    def impl(args: tuple[Operand, ...]) -> Any:
        wanted = tuple(range(len(args))) if nums is None else nums
        if not wanted:
            raise TransformError("fnad.hessian: the function was called with no arguments")
        trace = _trace("hessian", f, args, _resolve("hessian", wanted, len(args)))
        tape, variables = trace.tape, trace.variables
        try:
            first = _reverse_nodes(tape, trace.out, variables)
            rows: list[tuple[Node, ...]] | list[tuple[float, ...]]
            if trace.nested:
                rows = [tuple(_reverse_nodes(tape, g, variables)) for g in first]
            else:
                rows = [tuple(_reverse_floats(tape, g, variables)) for g in first]
            return rows[0][0] if single else tuple(rows)
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
    trace = _trace("jvp", f, primal_args, tuple(range(len(primal_args))), extra=tangent_args)
    try:
        tangent_out = _forward_tangent(
            trace.tape, trace.out, trace.variables, seeds, create_graph=trace.nested
        )
        if trace.nested:
            return _as_node(trace.tape, _value(trace)), _as_node(trace.tape, tangent_out)
        value = _value(trace)
        assert not isinstance(value, Node) and not isinstance(tangent_out, Node)
        return value, tangent_out
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
    trace = _trace("vjp", f, primals, tuple(range(len(primals))))
    cache: list[Sequence[Node | float]] = []

    def gradient() -> Sequence[Node | float]:
        if not cache:
            cache.append(_gradient(trace))
            trace.release()  # floats from here on (a nested trace keeps the caller's tape)
        return cache[0]

    if trace.nested:
        tape = trace.tape

        def vjp_nodes(cotangent: Operand) -> tuple[Node, ...]:
            if isinstance(cotangent, Node):
                if cotangent.tape is not tape:
                    raise TapeError(
                        f"fnad.vjp: the cotangent (data={cotangent.data!r}) is on "
                        f"{cotangent.tape!r}, not on the tape of the primals {tape!r}"
                    )
                scale: Node | float = cotangent
            else:
                scale = to_float(cotangent, "fnad.vjp: vjp_fn's cotangent", 1)
            return tuple(_as_node(tape, scale * g) for g in gradient())

        return _as_node(tape, _value(trace)), vjp_nodes

    def vjp_floats(cotangent: SupportsFloat) -> tuple[float, ...]:
        if isinstance(cotangent, Node):
            raise TransformError(
                "fnad.vjp: vjp_fn got a Node cotangent, but vjp was called with plain numbers "
                "and returns plain numbers; call fnad.vjp with Node primals to get Nodes"
            )
        scale = to_float(cotangent, "fnad.vjp: vjp_fn's cotangent", 1)
        return tuple(scale * cast(float, g) for g in gradient())

    value = _value(trace)
    assert not isinstance(value, Node)
    return value, vjp_floats
