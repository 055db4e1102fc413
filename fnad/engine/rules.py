"""The rule table: one entry per op, its forward function and its local partial derivatives.

A :class:`Rule` is everything the engine knows about an op::

    name      "mul"
    arity     2
    forward   (a, b) -> a * b                      on plain floats
    partials  (a, b, out) -> (∂out/∂a, ∂out/∂b)    here (b, a)

``partials`` receives the op's arguments followed by its output ``out`` and returns one
local derivative per argument. It is written once, generically over ``float`` and
:class:`fnad.Node` (see :data:`fnad.Scalar`), so the same function serves first-order
reverse mode on floats, forward mode, higher-order derivatives (evaluated on Nodes, the
partials are themselves recorded) and the edge labels of a rendered graph.

A partial may return a plain number where the arguments are Nodes (``1.0`` for ``add``):
a constant has no derivative of its own.

Optionally a rule also has **array forms**, the same two functions over float64 NumPy
arrays (one element per point of a batch, :meth:`fnad.Program.batch`)::

    array_forward   (a, b) -> a * b                      elementwise
    array_partials  (a, b, out) -> (b, a)                arrays, or numbers that broadcast

They follow the scalar forms' conventions elementwise (kinks, IEEE specials, signed
zeros) and are called under ``numpy.errstate(all="ignore")`` (:func:`array_errors`), so
IEEE results raise no warnings. A rule without them still runs in a batch, point by
point. This module never imports NumPy: only calling an array form does.

Invariants:

- a rule never changes after registration (``Rule`` is frozen);
- a name is registered at most once per table unless ``replace=True`` says otherwise;
- the engine looks rules up by ``Node.op`` in the table of the node's tape, so a graph
  always differentiates with the rules it was built with.

Dependencies inside the engine: none (a rule knows no Node: its partials compute with
whatever they are given). Outside it: :mod:`fnad._internal` and :mod:`fnad.errors`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

import attrs

from fnad._internal import accepts_positional
from fnad.errors import RuleError, UnknownOpError

__all__ = [
    "RESERVED",
    "ArrayForward",
    "ArrayPartials",
    "Forward",
    "Partials",
    "Rule",
    "RuleTable",
    "array_errors",
    "builtin_rules",
    "current_rules",
    "isolated_rules",
    "use_rules",
]

Forward = Callable[..., float]
"""``forward(*args: float) -> float``."""

# The type system cannot name "a function generic over float and Node" as a value, so the
# table stores partials loosely typed. Each rule's partials are checked where they are
# written: annotated with the constrained TypeVar ``fnad.Scalar``, mypy checks the body
# once for floats and once for Nodes.
Partials = Callable[..., Sequence[Any]]
"""``partials(*args: Scalar, out: Scalar) -> tuple[Scalar | float, ...]``, one per argument."""

ArrayForward = Callable[..., Any]
"""``array_forward(*args: ndarray) -> ndarray``: the forward function over float64 arrays."""

ArrayPartials = Callable[..., Sequence[Any]]
"""``array_partials(*args: ndarray, out: ndarray) -> tuple[ndarray | float, ...]``."""

_OP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

RESERVED = frozenset({"const"})
"""Op names the engine itself gives vertices (a wrapped number); no rule may take them."""


@attrs.frozen
class Rule:
    """One op of the rule table.

    >>> square = Rule("demo.square", 1, lambda x: x * x, lambda x, out: (2 * x,),
    ...               samples=((3.0,),))
    >>> square.forward(3.0), square.partials(3.0, 9.0)
    (9.0, (6.0,))
    """

    name: str
    arity: int
    forward: Forward
    partials: Partials
    samples: tuple[tuple[float, ...], ...] = ()
    """Points away from kinks and poles where the rule can be checked numerically."""
    doc: str = ""
    array_forward: ArrayForward | None = None
    """The forward function over float64 NumPy arrays, elementwise; None: point by point."""
    array_partials: ArrayPartials | None = None
    """The partials over float64 NumPy arrays, elementwise; None: point by point."""

    def __attrs_post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not _OP_NAME.match(name):
            raise RuleError(
                f"op name {name!r} is not a (dotted) identifier; "
                "use names like 'softplus' or 'mylib.softplus'"
            )
        if name in RESERVED:
            raise RuleError(
                f"op name {name!r} is reserved: fnad gives it to the numbers an op wraps "
                "(constants); choose another name, e.g. 'mylib.const'"
            )
        if isinstance(self.arity, bool) or not isinstance(self.arity, int) or self.arity < 1:
            raise RuleError(f"op {name!r}: arity must be an int >= 1, got {self.arity!r}")
        for role, fn, count in (
            ("forward", self.forward, self.arity),
            ("partials", self.partials, self.arity + 1),
            ("array_forward", self.array_forward, self.arity),
            ("array_partials", self.array_partials, self.arity + 1),
        ):
            if fn is None and role.startswith("array"):
                continue
            if not callable(fn):
                raise RuleError(f"op {name!r}: {role} must be callable, got {fn!r}")
            if accepts_positional(fn, count) is False:
                expected = (
                    "its arguments" if role.endswith("forward") else "its arguments then `out`"
                )
                raise RuleError(
                    f"op {name!r} has arity {self.arity} but its {role} cannot be called with "
                    f"{count} positional arguments ({expected}); fix the signature or the arity"
                )
        for point in self.samples:
            if len(point) != self.arity:
                raise RuleError(
                    f"op {name!r}: sample point {point!r} has {len(point)} values, "
                    f"expected {self.arity}"
                )


class RuleTable(Mapping[str, Rule]):
    """Op name -> :class:`Rule`. Registration is thread-safe; lookups are plain dict reads.

    >>> table = RuleTable()
    >>> _ = table.register(Rule("demo.twice", 1, lambda x: 2 * x, lambda x, out: (2.0,)))
    >>> table["demo.twice"].arity
    1
    >>> table["nope"]
    Traceback (most recent call last):
    ...
    fnad.errors.UnknownOpError: no rule for op 'nope'; registered ops: demo.twice
    """

    __slots__ = ("_lock", "_rules", "_view")

    def __init__(self, rules: Mapping[str, Rule] | None = None) -> None:
        self._rules: dict[str, Rule] = dict(rules or {})
        self._view = MappingProxyType(self._rules)
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Rule:
        try:
            return self._rules[name]
        except KeyError:
            known = ", ".join(sorted(self._rules)) or "(none)"
            raise UnknownOpError(f"no rule for op {name!r}; registered ops: {known}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._rules))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, name: object) -> bool:
        return name in self._rules

    def __repr__(self) -> str:
        return f"RuleTable({len(self._rules)} ops)"

    def register(self, rule: Rule, *, replace: bool = False) -> Rule:
        """Add ``rule``; a second rule of the same name needs ``replace=True``."""
        if not isinstance(rule, Rule):
            raise RuleError(f"register() takes a fnad Rule, got {type(rule).__name__}")
        with self._lock:
            existing = self._rules.get(rule.name)
            if existing is not None and not replace:
                raise RuleError(
                    f"op {rule.name!r} is already registered; choose another name "
                    "(e.g. 'mylib.name') or pass replace=True to override it"
                )
            if existing is not None and existing.arity != rule.arity:
                # Nodes and operators call ops with a fixed number of arguments.
                raise RuleError(
                    f"op {rule.name!r} has arity {existing.arity}; a replacement must keep it, "
                    f"got arity {rule.arity} (register the new rule under another name)"
                )
            self._rules[rule.name] = rule
        return rule

    def copy(self) -> RuleTable:
        """An independent table holding the same rules."""
        with self._lock:
            return RuleTable(self._rules)

    @property
    def lookup(self) -> Mapping[str, Rule]:
        """A read-only live view of the table, for fast ``.get(name)`` lookups."""
        return self._view


@contextmanager
def array_errors() -> Iterator[None]:
    """The floating-point state array forms run in: IEEE results, no warnings (NumPy's
    ``errstate(all="ignore")``). Imports NumPy.

    >>> import numpy as np
    >>> with array_errors():
    ...     np.array([1.0, -1.0]) / 0.0
    array([ inf, -inf])
    """
    import numpy

    with numpy.errstate(all="ignore"):
        yield


_BUILTINS = RuleTable()
_current: ContextVar[RuleTable] = ContextVar("fnad_rules", default=_BUILTINS)


def builtin_rules() -> RuleTable:
    """The process-wide table that built-in ops (and plugins, by default) register into."""
    return _BUILTINS


def current_rules() -> RuleTable:
    """The table new tapes use in this thread / asyncio task."""
    return _current.get()


@contextmanager
def isolated_rules() -> Iterator[RuleTable]:
    """Use a private copy of the current table for the block: registrations do not leak.

    >>> with isolated_rules() as table:
    ...     _ = table.register(Rule("demo.tmp", 1, lambda x: x, lambda x, out: (1.0,)))
    ...     "demo.tmp" in current_rules()
    True
    >>> "demo.tmp" in current_rules()
    False
    """
    table = _current.get().copy()
    token = _current.set(table)
    try:
        yield table
    finally:
        _current.reset(token)


@contextmanager
def use_rules(table: RuleTable) -> Iterator[RuleTable]:
    """Make ``table`` the current table for the block: new tapes (and transforms) use it.

    >>> table = builtin_rules().copy()
    >>> _ = table.register(Rule("demo.own", 1, lambda x: x, lambda x, out: (1.0,)))
    >>> with use_rules(table):
    ...     "demo.own" in current_rules()
    True
    >>> "demo.own" in current_rules()
    False
    """
    if not isinstance(table, RuleTable):
        raise RuleError(f"use_rules() takes a fnad RuleTable, got {type(table).__name__}")
    token = _current.set(table)
    try:
        yield table
    finally:
        _current.reset(token)
