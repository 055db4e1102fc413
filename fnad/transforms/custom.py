"""Custom ops: register your own op and its derivative rule with :func:`defop`.

    >>> import math
    >>> import fnad
    >>> with fnad.isolated_rules():
    ...     softplus = fnad.defop(
    ...         "mylib.softplus",
    ...         impl=lambda x: math.log1p(math.exp(x)),
    ...         partials=lambda x, out: (fnad.sigmoid(x),),
    ...         samples=[(0.5,), (-2.0,)],
    ...     )
    ...     softplus(0.0), fnad.grad(softplus)(0.0), fnad.grad(fnad.grad(softplus))(0.0)
    (0.6931471805599453, 0.5, 0.25)

A custom op is a rule in a :class:`~fnad.RuleTable`, exactly like a built-in one: a Node
records it under its name, and every transform, every order of derivative, export and
rendering use it through the table.

Invariants this module keeps:

- **Loud registration.** A name that is taken (unless ``replace=True``), a name that is not
  a dotted identifier, ``partials`` whose signature does not match ``impl`` (it takes the
  same arguments, then ``out``), and at the declared ``samples``, ``partials`` that return
  the wrong number of values, non-numbers, or cannot run on Nodes: each is a
  :class:`~fnad.RuleError` naming the op, raised before anything is registered.
- **Checked partials.** Every call of a custom op's partials is checked: a tuple with one
  real number (or Node) per argument, else a RuleError naming the op.
- **Isolation through tables.** ``defop`` registers into ``table``, by default the current
  one (:func:`fnad.current_rules`). Inside ``with fnad.isolated_rules():`` that is a private
  copy that disappears with the block; a plugin can keep its own table and use it with
  ``fnad.Tape(rules=table)`` or ``with fnad.use_rules(table):``.
- **Thread-safe.** Registration goes through :meth:`RuleTable.register`, which holds the
  table's lock; of two threads registering one name, exactly one succeeds.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, SupportsFloat, overload

from fnad._internal import accepts_positional, describe, float_partials, run_forward
from fnad.engine import CONST, Node, Operand, Tape, to_float
from fnad.engine.declare import BinaryOp, UnaryOp, evaluate
from fnad.engine.pickling import rebuild_with
from fnad.engine.rules import (
    ArrayForward,
    ArrayPartials,
    Partials,
    Rule,
    RuleTable,
    array_errors,
    current_rules,
)
from fnad.engine.table import GraphTable, record
from fnad.errors import FnadError, OperandTypeError, RuleError, UnknownOpError

__all__ = [
    "CustomBinaryOp",
    "CustomNaryOp",
    "CustomUnaryOp",
    "defop",
]


# --------------------------------------------------------------------------- op callables


def _record(rule: Rule, tape: Tape, args: tuple[Operand, ...]) -> Node:
    if rule.name not in tape.rules.lookup:
        raise UnknownOpError(
            f"op {rule.name!r} is not in the rule table of {tape!r}; it was registered in "
            "another table. Record it on a tape that uses that table "
            "(fnad.Tape(rules=table), or `with fnad.use_rules(table):`), or register it "
            "with fnad.defop in this context"
        )
    return tape.apply(rule.name, *args)


class _OwnRule:
    """Floats are computed with the op's own ``impl``; Nodes record the op by name on their
    tape, whose rule table must hold it."""

    rule: Rule
    name: str

    def _on_numbers(self, args: tuple[float, ...]) -> float:
        return evaluate(self.rule, args)

    def _on_tape(self, tape: Tape, args: tuple[Operand, ...]) -> Node:
        return _record(self.rule, tape, args)


class CustomUnaryOp(_OwnRule, UnaryOp):
    """A one-argument op made by :func:`defop`: Node in, recorded Node out; number in, float out."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule.name, rule.doc)
        self.rule = rule


class CustomBinaryOp(_OwnRule, BinaryOp):
    """A two-argument op made by :func:`defop`; a Node on either side records it."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(rule.name, rule.doc)
        self.rule = rule


class CustomNaryOp:
    """An op of three or more arguments made by :func:`defop`; any Node argument records it."""

    def __init__(self, rule: Rule) -> None:
        self.name = rule.name
        self.rule = rule
        self.__doc__ = rule.doc

    @overload
    def __call__(self, *args: SupportsFloat) -> float: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, *args: Operand) -> Node: ...
    # The overlap is deliberate: all numbers give a float, any Node records a Node.
    def __call__(self, *args: Operand) -> Node | float:
        rule = self.rule
        if len(args) != rule.arity:
            raise RuleError(
                f"op {self.name!r} takes {rule.arity} arguments, got {len(args)}: {args!r}"
            )
        for arg in args:
            if isinstance(arg, Node):
                return _record(rule, arg.tape, args)
        return evaluate(rule, tuple(to_float(a, self.name, i) for i, a in enumerate(args, 1)))

    def __repr__(self) -> str:
        return f"<fnad op {self.name!r}>"


# --------------------------------------------------------------------------- checks


def _impl_arity(name: str, impl: object) -> int:
    if not callable(impl):
        raise RuleError(f"op {name!r}: impl must be a function of floats, got {describe(impl)}")
    try:
        signature = inspect.signature(impl)
    except (TypeError, ValueError):
        raise RuleError(
            f"op {name!r}: cannot read the signature of impl {impl!r}; wrap it in a "
            "function that names its arguments, e.g. impl=lambda x: f(x)"
        ) from None
    arity = 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            raise RuleError(
                f"op {name!r}: impl takes *{parameter.name}, so its arity is unknown; name "
                "each argument (def impl(x, y): ...)"
            )
        if (
            parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            and parameter.default is parameter.empty
        ):
            arity += 1
    if arity == 0:
        raise RuleError(f"op {name!r}: impl takes no arguments; an op needs at least one")
    return arity


def _signature_text(fn: object) -> str:
    try:
        return str(inspect.signature(fn))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "(...)"


def _check_partials_signature(name: str, arity: int, impl: object, partials: object) -> None:
    if partials is None:
        raise RuleError(
            f"op {name!r}: no partials given; pass partials=lambda {_args(arity)}, out: (...) "
            "returning one local derivative per argument"
        )
    if not callable(partials):
        raise RuleError(f"op {name!r}: partials must be callable, got {describe(partials)}")
    if accepts_positional(partials, arity + 1) is False:
        takes_arity = accepts_positional(partials, arity) is True
        hint = (
            " (it is missing `out`, the op's output, which comes after the arguments)"
            if takes_arity
            else ""
        )
        raise RuleError(
            f"op {name!r}: impl{_signature_text(impl)} takes {arity} argument(s), so partials "
            f"must take those {arity} then `out`: partials{_signature_text(partials)} cannot be "
            f"called that way{hint}; e.g. partials=lambda {_args(arity)}, out: (...)"
        )


def _args(arity: int) -> str:
    return ", ".join("x" if arity == 1 else f"x{i}" for i in range(arity))


def _point(args: Sequence[object]) -> str:
    """Where a rule was evaluated, for messages: ``(1.0, 2.0)`` or ``(x=1.0, 2.0)``."""
    shown = [
        (f"{a.label}={a.data!r}" if a.label else repr(a.data))
        if isinstance(a, Node)
        else repr(float(a) if isinstance(a, float) else a)
        for a in args
    ]
    return f"({', '.join(shown)}{',' if len(shown) == 1 else ''})"


# What fnad handles itself: on a Python arithmetic error or ValueError the engine runs the
# rule again on IEEE floats (fnad._internal); an fnad error is already a diagnosis.
_HANDLED = (ArithmeticError, ValueError, FnadError)


def _checked_impl(name: str, impl: Callable[..., SupportsFloat]) -> Callable[..., SupportsFloat]:
    """``impl`` wrapped so that any other exception it raises is a RuleError naming the op."""

    def checked(*args: float) -> SupportsFloat:
        try:
            value = impl(*args)
            if type(value) is not float and isinstance(value, numbers.Real):
                float(value)  # an int beyond float's range must not fail later, raw
            return value
        except _HANDLED:
            raise
        except Exception as error:
            raise RuleError(
                f"op {name!r}: impl raised {type(error).__name__}: {error} at "
                f"{_point(args)}; an op's impl must return a real number "
                "for every float argument (inf or nan where it is undefined, as the functions "
                "in fnad.ops do): fix impl at this point"
            ) from error

    checked.__wrapped__ = impl  # type: ignore[attr-defined]
    checked.__doc__ = impl.__doc__
    checked.__module__ = getattr(impl, "__module__", __name__)
    return rebuild_with(checked, _checked_impl, name, impl)  # pickles as impl's name


def _checked_partials(name: str, arity: int, partials: Partials) -> Partials:
    """``partials`` wrapped so that every result is a tuple of ``arity`` numbers or Nodes.

    On Nodes (higher orders) ``partials`` runs on a scratch tape first, and only what it
    returned is recorded on the real tape, so partials that fail leave no stray vertices."""

    def checked(*args: Any) -> tuple[Any, ...]:
        if isinstance(args[-1], Node):
            return _on_nodes(name, partials, args, validate)
        try:
            parts = partials(*args)
        except _HANDLED:
            raise
        except Exception as error:
            raise RuleError(
                f"op {name!r}: partials raised {type(error).__name__}: {error} at "
                f"{_point(args[:-1])}; they must return one real number "
                "per argument at every point (inf or nan where undefined): fix partials at "
                "this point"
            ) from error
        return validate(parts, False)

    def validate(parts: Any, on_nodes: bool) -> tuple[Any, ...]:
        if type(parts) is not tuple:
            if isinstance(parts, (list, tuple)):
                parts = tuple(parts)
            else:
                raise RuleError(
                    f"op {name!r}: partials returned {describe(parts)}; return a tuple with "
                    f"one local derivative per argument, e.g. `return ({_args(arity)},)`"
                    " (mind the trailing comma for one argument)"
                    if arity == 1
                    else f"op {name!r}: partials returned {describe(parts)}; return a tuple "
                    f"with one local derivative per argument ({arity} values)"
                )
        if len(parts) != arity:
            raise RuleError(
                f"op {name!r}: partials returned {len(parts)} value(s) for {arity} argument(s); "
                "return one local derivative per argument, in argument order"
            )
        result: list[Any] = []
        for position, part in enumerate(parts, 1):
            if type(part) is float or (on_nodes and type(part) is Node):
                result.append(part)
            elif isinstance(part, Node):
                raise RuleError(
                    f"op {name!r}: partial {position} is a Node although the op's arguments are "
                    "plain floats; compute partials only from the arguments and `out`"
                )
            elif isinstance(part, bool) or not isinstance(part, (numbers.Real, Decimal)):
                raise RuleError(
                    f"op {name!r}: partial {position} is {describe(part)}, not a number; "
                    "each partial must be a real number (or, on Nodes, a Node)"
                )
            else:
                result.append(float(part))
        return tuple(result)

    checked.__wrapped__ = partials  # type: ignore[attr-defined]
    checked.__doc__ = partials.__doc__
    checked.__module__ = getattr(partials, "__module__", __name__)
    return rebuild_with(checked, _checked_partials, name, arity, partials)


def _on_nodes(
    name: str,
    partials: Partials,
    args: tuple[Any, ...],
    validate: Callable[[Any, bool], tuple[Any, ...]],
) -> tuple[Any, ...]:
    """``partials(*args)`` on Nodes: run on a scratch tape, then recorded on the real one.

    The scratch tape holds one stand-in leaf per argument Node (same value and label). If
    ``partials`` fails there, the real tape is untouched; if it succeeds, the ops that lead
    from the stand-ins to the returned partials are recorded again on the real tape, on the
    real arguments and in their scratch order.
    """
    real: Tape = args[-1].tape
    scratch = Tape(rules=real.rules)
    try:
        stand_in: dict[Node, Node] = {}
        with scratch:
            for a in args:
                if isinstance(a, Node) and a not in stand_in:
                    stand_in[a] = Node(a.data, label=a.label)
            try:
                parts = partials(*[stand_in[a] if isinstance(a, Node) else a for a in args])
            except Exception as error:
                if isinstance(error, FnadError) and not isinstance(error, OperandTypeError):
                    raise  # a diagnosis of fnad's own (a RuleError from a nested op, ...)
                # float() or math.* on a Node already says "a Node is not a float": keep its head
                why = str(error).partition(": a Node is not a float")[0]
                raise RuleError(
                    f"op {name!r}: partials cannot run on fnad.Node arguments "
                    f"({type(error).__name__}: {why} at {_point(args[:-1])}); write them with "
                    "fnad functions and operators (fnad.exp(x), not math.exp(x)), so that "
                    "higher-order derivatives work (nothing was recorded)"
                ) from error
        return _record_again(name, real, scratch, stand_in, validate(parts, True))
    finally:
        scratch.close()


def _record_again(
    name: str, real: Tape, scratch: Tape, stand_in: dict[Node, Node], parts: tuple[Any, ...]
) -> tuple[Any, ...]:
    """``parts``, computed on ``scratch``, recorded on ``real``: floats stay floats, and the
    scratch graph that leads to the Node parts is tabulated and recorded again
    (:func:`~fnad.engine.table.record`) with each stand-in bound to its real argument."""
    for position, part in enumerate(parts, 1):
        if isinstance(part, Node) and part.tape is not scratch:
            raise RuleError(
                f"op {name!r}: partial {position} is a Node recorded on {part.tape!r}, "
                "not computed from the op's arguments; compute partials only from the "
                "arguments and `out`"
            )
    nodes = [part for part in parts if isinstance(part, Node)]
    if not nodes:
        return parts
    real_of = {s: a for a, s in stand_in.items()}
    stand_ins = list(real_of)
    table = GraphTable.of(
        nodes[0], stand_ins, aux=nodes[1:], names=[str(k) for k in range(len(stand_ins))]
    )
    bound = {k: real_of[s] for k, s in zip(table.inputs, stand_ins, strict=True)}
    recorded = record(table, real, bind=bound)
    outputs = iter(table.outputs)  # one per Node part, in order
    again: list[Any] = []
    for part in parts:
        if isinstance(part, Node):
            k = next(outputs)
            again.append(table.values[k] if table.ops[k] == CONST else recorded[k])
        else:
            again.append(part)
    return tuple(again)


def _samples(name: str, arity: int, samples: Iterable[object]) -> tuple[tuple[float, ...], ...]:
    points: list[tuple[float, ...]] = []
    for point in samples:
        if arity == 1 and not isinstance(point, (tuple, list)):
            point = (point,)
        if not isinstance(point, (tuple, list)):
            raise RuleError(
                f"op {name!r}: sample {point!r} is not a tuple of {arity} numbers; "
                f"e.g. samples=[{tuple(0.5 for _ in range(arity))}]"
            )
        for v in point:
            if isinstance(v, bool) or not isinstance(v, (numbers.Real, Decimal)):
                raise RuleError(
                    f"op {name!r}: sample {tuple(point)!r} holds {describe(v)}; sample points "
                    "are tuples of real numbers"
                )
        points.append(tuple(float(v) for v in point))
    return tuple(points)


def _probe(rule: Rule, table: RuleTable) -> None:
    """Run ``rule`` at its samples on floats and on Nodes, so mistakes surface at defop."""
    for point in rule.samples:
        out = run_forward(rule, point)
        float_partials(rule, point, out)
        tape = Tape(rules=table)
        with tape:
            nodes = [Node(v) for v in point]
            out_node = tape.apply(rule.name, *nodes) if rule.name in table else Node(out)
        rule.partials(*nodes, out_node)  # a RuleError if they cannot run on Nodes


def _check_array_forms(name: str, arity: int, forward: object, partials: object) -> None:
    for role, fn, count, shape in (
        ("array_impl", forward, arity, _args(arity)),
        ("array_partials", partials, arity + 1, f"{_args(arity)}, out"),
    ):
        if fn is None:
            continue
        if not callable(fn):
            raise RuleError(f"op {name!r}: {role} must be callable, got {describe(fn)}")
        if accepts_positional(fn, count) is False:
            raise RuleError(
                f"op {name!r}: {role}{_signature_text(fn)} cannot be called with {count} "
                f"array argument(s); e.g. {role}=lambda {shape}: ..."
            )


def _probe_arrays(rule: Rule) -> None:
    """Run the array forms once at the samples (as arrays), so mistakes surface at defop."""
    if not rule.samples or (rule.array_forward is None and rule.array_partials is None):
        return
    import numpy as np

    columns = [np.array(column, dtype=np.float64) for column in zip(*rule.samples, strict=False)]
    out = np.array([run_forward(rule, point) for point in rule.samples])
    try:
        with array_errors():
            if rule.array_forward is not None:
                np.broadcast_to(np.asarray(rule.array_forward(*columns), np.float64), out.shape)
            if rule.array_partials is not None:
                parts = tuple(rule.array_partials(*columns, out))
                if len(parts) != rule.arity:
                    raise RuleError(
                        f"op {rule.name!r}: array_partials returned {len(parts)} value(s) for "
                        f"{rule.arity} argument(s); return one array (or number) per argument"
                    )
                for part in parts:
                    np.broadcast_to(np.asarray(part, np.float64), out.shape)
    except FnadError:
        raise
    except Exception as error:
        raise RuleError(
            f"op {rule.name!r}: its array forms failed on the samples as arrays "
            f"({type(error).__name__}: {error}); they take float64 arrays, one per argument "
            "(and `out`), and return arrays of the same shape (or numbers)"
        ) from error


# --------------------------------------------------------------------------- defop


# One overload per arity: a catch-all Callable[..., ...] would make mypy infer Any for
# lambdas. Ops of more than six arguments work, but need a cast to type-check.
@overload
def defop(
    name: str,
    *,
    impl: Callable[[float], SupportsFloat],
    partials: Partials,
    samples: Iterable[SupportsFloat | Sequence[SupportsFloat]] = (),
    replace: bool = False,
    table: RuleTable | None = None,
    doc: str | None = None,
    array_impl: ArrayForward | None = None,
    array_partials: ArrayPartials | None = None,
) -> CustomUnaryOp: ...
@overload
def defop(
    name: str,
    *,
    impl: Callable[[float, float], SupportsFloat],
    partials: Partials,
    samples: Iterable[SupportsFloat | Sequence[SupportsFloat]] = (),
    replace: bool = False,
    table: RuleTable | None = None,
    doc: str | None = None,
    array_impl: ArrayForward | None = None,
    array_partials: ArrayPartials | None = None,
) -> CustomBinaryOp: ...
@overload
def defop(
    name: str,
    *,
    impl: Callable[[float, float, float], SupportsFloat],
    partials: Partials,
    samples: Iterable[SupportsFloat | Sequence[SupportsFloat]] = (),
    replace: bool = False,
    table: RuleTable | None = None,
    doc: str | None = None,
    array_impl: ArrayForward | None = None,
    array_partials: ArrayPartials | None = None,
) -> CustomNaryOp: ...
@overload
def defop(
    name: str,
    *,
    impl: Callable[[float, float, float, float], SupportsFloat],
    partials: Partials,
    samples: Iterable[SupportsFloat | Sequence[SupportsFloat]] = (),
    replace: bool = False,
    table: RuleTable | None = None,
    doc: str | None = None,
    array_impl: ArrayForward | None = None,
    array_partials: ArrayPartials | None = None,
) -> CustomNaryOp: ...
@overload
def defop(
    name: str,
    *,
    impl: Callable[[float, float, float, float, float], SupportsFloat],
    partials: Partials,
    samples: Iterable[SupportsFloat | Sequence[SupportsFloat]] = (),
    replace: bool = False,
    table: RuleTable | None = None,
    doc: str | None = None,
    array_impl: ArrayForward | None = None,
    array_partials: ArrayPartials | None = None,
) -> CustomNaryOp: ...
@overload
def defop(
    name: str,
    *,
    impl: Callable[[float, float, float, float, float, float], SupportsFloat],
    partials: Partials,
    samples: Iterable[SupportsFloat | Sequence[SupportsFloat]] = (),
    replace: bool = False,
    table: RuleTable | None = None,
    doc: str | None = None,
    array_impl: ArrayForward | None = None,
    array_partials: ArrayPartials | None = None,
) -> CustomNaryOp: ...
def defop(
    name: str,
    *,
    impl: Callable[..., SupportsFloat],
    partials: Partials,
    samples: Iterable[SupportsFloat | Sequence[SupportsFloat]] = (),
    replace: bool = False,
    table: RuleTable | None = None,
    doc: str | None = None,
    array_impl: ArrayForward | None = None,
    array_partials: ArrayPartials | None = None,
) -> CustomUnaryOp | CustomBinaryOp | CustomNaryOp:
    """Register op ``name`` and return it as a function of Nodes and floats.

    Args:
        name: a dotted identifier, e.g. ``"mylib.softplus"``; it names the op in graphs,
            exports and error messages.
        impl: the forward function on floats. Its required positional parameters are the
            op's arguments (their count is the arity).
        partials: ``partials(*args, out)`` returns one local derivative ∂out/∂argᵢ per
            argument. Write it with fnad functions and operators (``fnad.exp``, ``*``, ...)
            so that it also runs on Nodes: then the one rule serves reverse mode, forward
            mode and every higher order. It may return plain numbers for constants.
        samples: points (one tuple per point; bare numbers for one argument) inside the
            op's domain and away from kinks, where :func:`fnad.check_rules` checks the rule
            against finite differences. ``defop`` also runs the rule there once.
        replace: allow replacing an op already registered under ``name``.
        table: the :class:`~fnad.RuleTable` to register into; by default the current one.
        doc: the op's docstring; by default ``impl``'s.
        array_impl, array_partials: optional array forms, the same two functions over
            float64 NumPy arrays, elementwise, for :meth:`fnad.Program.batch` (e.g.
            ``array_impl=np.log1p``). Without them a batch runs this op point by point;
            :func:`fnad.check_rules` compares them with ``impl`` and ``partials``.

    Returns a :class:`CustomUnaryOp`, :class:`CustomBinaryOp` or :class:`CustomNaryOp`,
    after the arity. Raises :class:`~fnad.RuleError` for every malformed registration.

    >>> import fnad
    >>> with fnad.isolated_rules():
    ...     hypot = fnad.defop(
    ...         "mylib.hypot",
    ...         impl=lambda a, b: (a * a + b * b) ** 0.5,
    ...         partials=lambda a, b, out: (a / out, b / out),
    ...         samples=[(3.0, 4.0)],
    ...     )
    ...     hypot(3.0, 4.0), fnad.grad(hypot, argnums=(0, 1))(3.0, 4.0)
    (5.0, (0.6, 0.8))
    >>> fnad.defop("my op", impl=lambda x: x, partials=lambda x, out: (1.0,))
    Traceback (most recent call last):
    ...
    fnad.errors.RuleError: op name 'my op' is not a (dotted) identifier; use names like 'softplus' or 'mylib.softplus'
    """
    if not isinstance(name, str):
        raise RuleError(f"op name must be a str like 'mylib.softplus', got {describe(name)}")
    target = current_rules() if table is None else table
    if not isinstance(target, RuleTable):
        raise RuleError(f"op {name!r}: table must be a fnad RuleTable, got {describe(table)}")
    # Rule() validates the name; build a throwaway one first so a bad name is reported first.
    Rule(name, 1, lambda x: x, lambda x, out: (1.0,))
    if name in target and not replace:
        raise RuleError(
            f"op {name!r} is already registered; choose another name (e.g. 'mylib.name') or "
            "pass replace=True to override it"
        )
    arity = _impl_arity(name, impl)
    _check_partials_signature(name, arity, impl, partials)
    _check_array_forms(name, arity, array_impl, array_partials)
    rule = Rule(
        name,
        arity,
        _checked_impl(name, impl),  # type: ignore[arg-type]
        _checked_partials(name, arity, partials),
        samples=_samples(name, arity, samples),
        doc=(doc if doc is not None else getattr(impl, "__doc__", None)) or "",
        array_forward=array_impl,
        array_partials=array_partials,
    )
    staging = target.copy()
    staging.register(rule, replace=True)
    _probe(rule, staging)
    _probe_arrays(rule)
    target.register(rule, replace=replace)
    if arity == 1:
        return CustomUnaryOp(rule)
    if arity == 2:
        return CustomBinaryOp(rule)
    return CustomNaryOp(rule)
