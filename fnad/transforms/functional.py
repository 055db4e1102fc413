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
"""

from __future__ import annotations

import inspect
import numbers
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, Literal, SupportsFloat, TypeAlias, TypeVar, cast, overload

from fnad._internal import describe, name_of, non_finite_value
from fnad.engine import (
    CONST,
    Node,
    Operand,
    Tape,
    backpropagate,
    chain_term,
    is_strict,
    judging_off,
    to_float,
)
from fnad.engine import ops as fnad_functions
from fnad.engine.ops import Scalar
from fnad.engine.rules import Rule, builtin_rules
from fnad.engine.tracing import check_output, parameter_names
from fnad.errors import (
    MissingAttributeError,
    OutputTypeError,
    RuleError,
    TapeError,
    TransformError,
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

_tracing: ContextVar[tuple[Tape, ...]] = ContextVar("fnad_tracing", default=())
"""The tapes transforms are tracing a function on in this context, innermost last."""

IDENTITY = "identity"
"""The op through which a nested transform's variables enter ``f``."""


def _identity(x: Scalar, out: Scalar) -> tuple[float]:
    """∂x/∂x = 1  (a nested transform's variable: where its derivative paths start)"""
    return (1.0,)


def _same(x: Any) -> Any:
    """The identity's array form: the array itself."""
    return x


if IDENTITY not in builtin_rules():  # importlib.reload must not register it twice
    builtin_rules().register(
        Rule(
            IDENTITY,
            1,
            float,
            _identity,
            samples=((0.5,), (-1.5,)),
            doc=_identity.__doc__ or "",
            array_forward=_same,
            array_partials=_identity,
        )
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


# --------------------------------------------------------------------------- tracing


class _Trace:
    """One traced call of ``f``: its tape, the variables, the output and the aux value.

    Three kinds of call, three kinds of result (see :meth:`export`):

    - *nested*: Node arguments; ``f`` is traced on their tape and every result is a Node.
    - *joined*: plain numbers, but traced on an enclosing tape (the tape another transform
      is tracing on, or a Node keyword argument's), so that Nodes ``f`` takes from its
      closure or keywords join in; a result is a Node exactly when it depends on them.
    - *private*: plain numbers and nothing to join: a fresh tape of its own, floats out.
    """

    __slots__ = ("aux", "joined", "nested", "out", "outside", "tape", "variables")

    def __init__(
        self,
        tape: Tape,
        nested: bool,
        joined: bool,
        variables: list[Node],
        out: Node | float,
        aux: object,
    ) -> None:
        self.tape = tape
        self.nested = nested
        self.joined = joined
        self.variables = variables
        self.out = out
        self.aux = aux
        # Whether the output depends on Nodes from outside f's own variables; if not, no
        # result can, and the derivatives are computed in floats.
        self.outside = joined and _depends_outside(out, variables)

    @property
    def graphs(self) -> bool:
        """Whether derivatives are recorded as Nodes, for an enclosing derivative to use."""
        return self.nested or self.outside

    def export(self, value: Node | float) -> Node | float:
        """A result as the caller gets it: a Node if nested, else a float, unless (joined)
        it depends on a Node from outside, whose derivative a float would drop."""
        if self.nested:
            return _as_node(self.tape, value)
        if isinstance(value, Node):
            if self.outside and _depends_outside(value, self.variables):
                return value
            return value.data
        return value

    def export_aux(self) -> Any:
        """The aux value, its Nodes of this trace's tape exported like the results (a nested
        call returns it as it is)."""
        if self.nested:
            return self.aux
        tape = self.tape

        def convert(node: Node) -> Node | float:
            return self.export(node) if node.tape is tape else node

        return _map_nodes(self.aux, convert)

    def release(self) -> None:
        """Close a private call's tape once its floats are out: the graph is freed now, not
        whenever the cyclic GC runs. Nested and joined calls trace on a caller's tape."""
        if not self.nested and not self.joined:
            self.tape.close()


def _depends_outside(value: Node | float, variables: Sequence[Node]) -> bool:
    """Whether ``value`` depends on a Node other than ``variables`` and constants, i.e. on a
    leaf that ``f`` reached through a closure or a keyword argument (a loop, no recursion)."""
    if not isinstance(value, Node):
        return False
    own = set(variables)
    seen: set[Node] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if node in own or node in seen:
            continue
        seen.add(node)
        if node.inputs:
            stack.extend(node.inputs)
        elif node.op != CONST:
            return True
    return False


def _map_nodes(value: Any, convert: Callable[[Node], Any]) -> Any:
    """``value`` with ``convert`` applied to each Node in it, through tuples (named ones
    too), lists and dicts; anything else as it is. (An aux value is a small structure that
    the user built, not the graph.)"""
    if isinstance(value, Node):
        return convert(value)
    if type(value) is tuple or type(value) is list:
        return type(value)(_map_nodes(v, convert) for v in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_map_nodes(v, convert) for v in value))
    if type(value) is dict:
        return {k: _map_nodes(v, convert) for k, v in value.items()}
    return value


@contextmanager
def _tracing_on(tape: Tape) -> Iterator[None]:
    """``tape`` is current and is the innermost tape a transform is tracing on."""
    token = _tracing.set((*_tracing.get(), tape))
    try:
        with tape:
            yield
    finally:
        _tracing.reset(token)


def _tape_of(
    name: str, values: Iterable[tuple[str, object]], tape: Tape | None = None
) -> Tape | None:
    """The one tape of the Node values (each given with how to name it), else ``tape``."""
    for where, value in values:
        if isinstance(value, Node):
            if tape is None:
                tape = value.tape
            elif value.tape is not tape:
                raise TapeError(
                    f"fnad.{name}: {where} (data={value.data!r}) is a Node on {value.tape!r}, "
                    f"but the other Node arguments are on {tape!r}; pass Nodes of one tape, "
                    "or plain numbers"
                )
    return tape


def _trace(
    name: str,
    f: Callable[..., Any],
    args: Sequence[Operand],
    argnums: tuple[int, ...],
    kwargs: Mapping[str, Any] | None = None,
    extra: Sequence[object] = (),
    has_aux: bool = False,
) -> _Trace:
    kwargs = {} if kwargs is None else kwargs
    found = _tape_of(name, ((f"argument {i}", v) for i, v in enumerate([*args, *extra], 1)))
    nested = found is not None
    keyword_tape = _tape_of(name, ((f"keyword argument {k}=", v) for k, v in kwargs.items()), found)
    enclosing = _tracing.get()
    joined = not nested and (keyword_tape is not None or bool(enclosing))
    if found is not None:
        tape = found
    elif keyword_tape is not None:
        tape = keyword_tape
    elif enclosing:
        tape = enclosing[-1]
    else:
        tape = Tape()
    # Check every differentiated argument before anything is recorded on a caller's tape.
    values: list[Node | float] = []
    for i in argnums:
        value = args[i]
        if isinstance(value, Node):
            if IDENTITY not in tape.rules.lookup:
                raise RuleError(
                    f"fnad.{name}: nesting needs the built-in op {IDENTITY!r}, which the tape's "
                    "rule table lacks; build custom tables from fnad.builtin_rules().copy()"
                )
            values.append(value)
        else:
            values.append(to_float(value, f"fnad.{name}", i + 1))
    # The variables are named after f's parameters, as fnad.compile names its inputs, so a
    # strict() error reads the same from a transform, an eager trace and a replay.
    names = parameter_names(f, len(args))
    try:
        call_args = list(args)
        variables: list[Node] = []
        for i, value in zip(argnums, values, strict=True):
            if isinstance(value, Node):
                with judging_off():  # an argument as given, as unjudged as a leaf's value
                    variable = tape.apply(IDENTITY, value, label=names[i])
            else:
                with tape:
                    variable = Node(value, label=names[i])
            call_args[i] = variable
            variables.append(variable)
        try:
            with _tracing_on(tape):
                result = f(*call_args, **kwargs)
        except TapeError as error:
            raise TapeError(f"{error}\n({_where(name, f, tape, nested, joined)})") from error
        except AttributeError as error:
            undifferentiated = _plain_argument(error, call_args, argnums, kwargs)
            if undifferentiated is None:
                raise
            raise _plain_argument_error(name, f, error, undifferentiated, argnums) from None
        aux: object = None
        if has_aux:
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise OutputTypeError(
                    f"fnad.{name}: {name_of(f)} returned {describe(result)}; with "
                    "has_aux=True it must return a pair (output, aux): the scalar to "
                    "differentiate, and anything to pass through"
                )
            result, aux = result
        out = check_output(name, f, tape, result)
    except BaseException:
        if not nested and not joined:
            tape.close()
        raise
    return _Trace(tape, nested, joined, variables, out, aux)


def _plain_argument(
    error: AttributeError,
    call_args: Sequence[object],
    argnums: tuple[int, ...],
    kwargs: Mapping[str, Any],
) -> str | None:
    """How to name the argument ``f`` asked a Node attribute of (``y.relu()``) although the
    transform passed it as the plain number it was given (not in argnums); else None."""
    obj = getattr(error, "obj", None)
    attribute = getattr(error, "name", None)
    if not isinstance(obj, numbers.Real) or not isinstance(attribute, str):
        return None
    if not hasattr(Node, attribute):
        return None
    for i, value in enumerate(call_args):
        if value is obj and i not in argnums:
            return f"argument {i} ({obj!r})"
    for key, value in kwargs.items():
        if value is obj:
            return f"keyword argument {key}={obj!r}"
    return None


def _parameter_name(f: object, index: int) -> str:
    """The name of ``f``'s positional parameter ``index``, or ``"..."`` if it has none."""
    try:
        parameters = list(inspect.signature(f).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "..."
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return positional[index].name if index < len(positional) else "..."


def _plain_argument_error(
    name: str, f: object, error: AttributeError, which: str, argnums: tuple[int, ...]
) -> MissingAttributeError:
    attribute = str(getattr(error, "name", ""))
    function = (
        getattr(fnad_functions, attribute, None) if attribute in fnad_functions.__all__ else None
    )
    fixes = []
    argument = "..."
    if which.startswith("argument "):
        index = int(which.split()[1])
        argument = _parameter_name(f, index)
        fixes.append(f"differentiate it too (argnums={tuple(sorted({*argnums, index}))})")
    else:
        argument = which.split()[2].split("=")[0]
    if callable(function):
        fixes.append(
            f"use the function form fnad.{attribute}({argument}), which takes numbers and "
            "Nodes alike"
        )
    else:
        fixes.append("pass a fnad.Node")
    return MissingAttributeError(
        f"fnad.{name}: {name_of(f)} asked its {which} for .{attribute}, but that argument "
        f"is a plain {type(getattr(error, 'obj', None)).__name__}, not a Node: fnad.{name} "
        f"differentiates only argnums={argnums[0] if len(argnums) == 1 else argnums} and "
        f"passes the other arguments as they are; {' or '.join(fixes)}"
    )


def _where(name: str, f: object, tape: Tape, nested: bool, joined: bool) -> str:
    if nested:
        where = f"the tape of its Node arguments, {tape!r}"
    elif joined:
        where = f"the tape it joined, {tape!r}"
    else:
        where = "a fresh private tape (it was called with plain numbers outside any transform)"
    return (
        f"fnad.{name} traces {name_of(f)} on {where}; a Node that the function takes from "
        "elsewhere, such as a closure or a global, cannot join it if it was recorded on "
        "another tape: pass that Node as an argument to the outermost transformed function "
        "(a keyword argument, or a positional one it does not differentiate), so that the "
        "trace runs on its tape and the result keeps its dependence on it"
    )


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
    """∂out/∂variable for each variable, by :func:`fnad.engine.backward.backpropagate` restricted to
    the paths from the variables to ``out`` and stopped at the variables (their own
    inputs belong to an enclosing transform)."""
    if not isinstance(out, Node):
        return [0.0] * len(variables)
    forward = _active(tape, out, variables)
    if not forward or forward[-1] is not out:
        return [0.0] * len(variables)
    sinks = set(variables)
    order = [node for node in reversed(forward) if node not in sinks]
    # The active nodes receive the adjoints worth recording, and are the ones strict() judges:
    # the others (constants, Nodes from outside f) get no gradient from this transform.
    active = set(forward)
    adjoints: dict[Node, Node | float]
    if create_graph:
        adjoints = backpropagate(order, out, create_graph=True, into=active)
    else:
        adjoints = dict(backpropagate(order, out, into=active))
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
    return trace.export(trace.out)


def _gradient(trace: _Trace) -> list[Node | float]:
    """∂out/∂variable for each variable, exported for the caller (see _Trace.export)."""
    if trace.graphs:
        grads: list[Node] | list[float] = _reverse_nodes(trace.tape, trace.out, trace.variables)
    else:
        grads = _reverse_floats(trace.tape, trace.out, trace.variables)
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
        trace = _trace("grad", f, args, _resolve("grad", nums, len(args)), kwargs, has_aux=has_aux)
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
        trace = _trace("value_and_grad", f, args, resolved, kwargs, has_aux=has_aux)
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
        trace = _trace("hessian", f, args, _resolve("hessian", nums, len(args)), kwargs)
        tape, variables = trace.tape, trace.variables
        try:
            first = _reverse_nodes(tape, trace.out, variables)
            rows: list[list[Node]] | list[list[float]]
            if trace.graphs:
                rows = [_reverse_nodes(tape, g, variables) for g in first]
            else:
                rows = [_reverse_floats(tape, g, variables) for g in first]
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
    trace = _trace("jvp", f, primal_args, tuple(range(len(primal_args))), extra=tangent_args)
    try:
        tangent_out = _forward_tangent(
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
    trace = _trace("vjp", f, primals, tuple(range(len(primals))))
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
                return tuple(_as_node(tape, scale * g) for g in grads)
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
