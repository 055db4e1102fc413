"""The tracer the transforms share: one traced call of ``f``, and the passes over it.

Every transform of :mod:`fnad.transforms.functional` does the same two things: it traces
``f`` once (:func:`trace_call`, on the tape its arguments choose: a fresh private one, the
enclosing transform's, or its Node arguments'), then runs derivative passes over that
trace: reverse mode (:func:`reverse_floats`, :func:`reverse_nodes`) or forward mode
(:func:`forward_tangent`), each a loop over the nodes on a path from the variables to the
output, in ``networkx.topological_sort`` order, with the rule table's partials. This
module is those two things; the invariants they keep (floats in and out, nesting,
closures, no perturbation confusion) are stated with the transforms, in
:mod:`fnad.transforms.functional`.

>>> from fnad.transforms.tracer import reverse_floats, trace_call
>>> trace = trace_call("grad", lambda x, y: x * y + x, (2.0, 3.0), argnums=(0, 1))
>>> trace.nested, trace.joined, trace.out.data
(False, False, 8.0)
>>> reverse_floats(trace.tape, trace.out, trace.variables)
[4.0, 2.0]
>>> trace.release()

(:mod:`fnad.engine.tracing` is what every tracer, this one and :func:`fnad.compile`'s,
asks of a traced function's result.)
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

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
)

__all__ = [
    "IDENTITY",
    "Trace",
    "as_node",
    "forward_tangent",
    "reverse_floats",
    "reverse_nodes",
    "trace_call",
    "tracing_tapes",
]

tracing_tapes: ContextVar[tuple[Tape, ...]] = ContextVar("fnad_tracing", default=())
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


# --------------------------------------------------------------------------- tracing


class Trace:
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
            return as_node(self.tape, value)
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
    token = tracing_tapes.set((*tracing_tapes.get(), tape))
    try:
        with tape:
            yield
    finally:
        tracing_tapes.reset(token)


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


def trace_call(
    name: str,
    f: Callable[..., Any],
    args: Sequence[Operand],
    argnums: tuple[int, ...],
    kwargs: Mapping[str, Any] | None = None,
    extra: Sequence[object] = (),
    has_aux: bool = False,
) -> Trace:
    """Trace ``f(*args, **kwargs)`` for transform ``name``, differentiating ``argnums``.

    The tape is the one of the Node arguments (``extra`` are more values that must share
    it, such as jvp's tangents), else a Node keyword argument's, else the tape an enclosing
    transform is tracing on, else a fresh one. Each differentiated argument becomes a
    variable: a fresh leaf for a number, a fresh ``identity`` node for a Node. With
    ``has_aux``, ``f`` returns ``(output, aux)``. A private tape is closed if tracing fails.
    """
    kwargs = {} if kwargs is None else kwargs
    found = _tape_of(name, ((f"argument {i}", v) for i, v in enumerate([*args, *extra], 1)))
    nested = found is not None
    keyword_tape = _tape_of(name, ((f"keyword argument {k}=", v) for k, v in kwargs.items()), found)
    enclosing = tracing_tapes.get()
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
    return Trace(tape, nested, joined, variables, out, aux)


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


def reverse_floats(tape: Tape, out: Node | float, variables: Sequence[Node]) -> list[float]:
    """∂out/∂variable for each variable, in floats (first-order reverse mode)."""
    return [cast(float, g) for g in _reverse(tape, out, variables, create_graph=False)]


def reverse_nodes(tape: Tape, out: Node | float, variables: Sequence[Node]) -> list[Node]:
    """∂out/∂variable as Nodes recorded on ``tape``, so they can be differentiated again."""
    return [as_node(tape, g) for g in _reverse(tape, out, variables, create_graph=True)]


def as_node(tape: Tape, value: Node | float) -> Node:
    """``value`` as a Node of ``tape``: a number becomes a ``const``."""
    return value if isinstance(value, Node) else tape.constant(value)


def forward_tangent(
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
