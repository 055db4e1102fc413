"""Gradient checking, shipped in the library: fnad's derivatives against finite differences.

:func:`check_grad` checks the derivatives of one function at one point, like PyTorch's
``gradcheck`` and JAX's ``check_grads``; :func:`check_rules` checks every op of a rule
table (built-in and custom) at the sample points each op declares.

How a derivative of order k is checked, in mode ``"rev"`` (nested :func:`fnad.grad`) and
mode ``"fwd"`` (nested :func:`fnad.jvp` along each axis): fnad computes it, and a
five-point central difference in float64 of fnad's derivative of order k-1 estimates it
(of ``f`` itself for k = 1)::

    f'(x) ≈ (8·(f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h,   h = eps·max(1, |x|)

The error of that estimate is O(h⁴) plus rounding, about 1e-10 relative for smooth
functions at the default ``eps``, so the default tolerances (``atol=1e-6``, ``rtol=1e-5``)
reject a derivative that is off by 0.1%. A check passes where
``|actual - expected| <= atol + rtol·|expected|``, and where both are the same nan or inf.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from fnad._internal import name_of
from fnad.core import Node, Tape
from fnad.errors import GradCheckError
from fnad.rules import RuleTable, current_rules, use_rules
from fnad.transforms import ScalarFunction, grad, jvp

__all__ = [
    "Mismatch",
    "OpCheck",
    "RuleCheckReport",
    "check_grad",
    "check_rules",
]

MODES = ("fwd", "rev")
_SUPERSCRIPT = {1: "", 2: "²", 3: "³", 4: "⁴"}


@attrs.frozen
class Mismatch:
    """One derivative that disagrees with its finite-difference estimate."""

    mode: str
    """``"rev"`` or ``"fwd"``."""
    derivative: str
    """Which derivative, e.g. ``∂²f/∂x∂y`` (differentiated by x, then by y)."""
    expected: float
    """The finite-difference estimate."""
    actual: float
    """What fnad computed."""

    def __str__(self) -> str:
        error = abs(self.actual - self.expected)
        return (
            f"{self.mode} {self.derivative}: expected {self.expected!r} (finite differences), "
            f"got {self.actual!r} (error {error:.1e})"
        )


def _agree(actual: float, expected: float, atol: float, rtol: float) -> bool:
    if math.isnan(actual) or math.isnan(expected):
        return math.isnan(actual) and math.isnan(expected)
    if math.isinf(actual) or math.isinf(expected):
        return actual == expected
    return abs(actual - expected) <= atol + rtol * abs(expected)


def _evaluate(g: Callable[..., Any], point: Sequence[float]) -> float:
    """``g`` at ``point``, traced on a throwaway tape (``g`` may use Node methods)."""
    with Tape():
        out = g(*[Node(v) for v in point])
    return out.data if isinstance(out, Node) else float(out)


def _central_difference(
    g: Callable[..., Any], point: Sequence[float], axis: int, eps: float
) -> float:
    h = eps * max(1.0, abs(point[axis]))

    def at(offset: float) -> float:
        shifted = list(point)
        shifted[axis] = point[axis] + offset
        return _evaluate(g, shifted)

    return (8.0 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12.0 * h)


def _derivative(mode: str, g: Callable[..., Any], axis: int, arity: int) -> Callable[..., Any]:
    if mode == "rev":
        return grad(g, argnums=axis)
    direction = tuple(1.0 if i == axis else 0.0 for i in range(arity))

    def directional(*xs: Any) -> Any:
        return jvp(g, xs, direction)[1]

    directional.__name__ = f"jvp_{getattr(g, '__name__', 'f')}_{axis}"
    return directional


def _label(names: Sequence[str], path: Sequence[int]) -> str:
    order = len(path)
    power = _SUPERSCRIPT.get(order, f"^{order}")
    return f"∂{power}f/" + "".join(f"∂{names[i]}" for i in path)


def _names(f: object, arity: int) -> list[str]:
    try:
        parameters = list(inspect.signature(f).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) >= arity:
        return names[:arity]
    return [f"x{i}" for i in range(arity)] if arity > 1 else ["x"]


def _validate(order: int, modes: Sequence[str], eps: float, atol: float, rtol: float) -> None:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise GradCheckError(f"check_grad: order must be an int >= 1, got {order!r}")
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes or isinstance(modes, str):
        raise GradCheckError(
            f"check_grad: modes must be a non-empty tuple drawn from {MODES}, got {modes!r}"
        )
    for label, number in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if not (isinstance(number, (int, float)) and math.isfinite(number) and number >= 0):
            raise GradCheckError(
                f"check_grad: {label} must be a finite number >= 0, got {number!r}"
            )
    if eps == 0:
        raise GradCheckError("check_grad: eps must be > 0 (it is the finite-difference step)")


def _compare(
    f: ScalarFunction,
    point: tuple[float, ...],
    names: Sequence[str],
    order: int,
    modes: Sequence[str],
    eps: float,
    atol: float,
    rtol: float,
) -> tuple[list[Mismatch], int]:
    """Every derivative up to ``order`` in every mode: the mismatches and the count checked."""
    arity = len(point)
    mismatches: list[Mismatch] = []
    checked = 0
    for mode in modes:
        level: list[tuple[tuple[int, ...], Callable[..., Any]]] = [((), f)]
        for _ in range(order):
            deeper: list[tuple[tuple[int, ...], Callable[..., Any]]] = []
            for path, g in level:
                for axis in range(arity):
                    derivative = _derivative(mode, g, axis, arity)
                    actual = _evaluate(derivative, point)
                    expected = _central_difference(g, point, axis, eps)
                    checked += 1
                    if not _agree(actual, expected, atol, rtol):
                        label = _label(names, (*path, axis))
                        mismatches.append(Mismatch(mode, label, expected, actual))
                    deeper.append(((*path, axis), derivative))
            level = deeper
    return mismatches, checked


def check_grad(
    f: ScalarFunction,
    *args: float,
    order: int = 2,
    modes: Sequence[str] = MODES,
    eps: float = 1e-3,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Check every derivative of ``f`` at ``args`` up to ``order``, in each of ``modes``.

    ``f`` takes Nodes (one per value in ``args``) and returns a Node. Returns None when all
    derivatives agree with central differences; raises :class:`~fnad.GradCheckError`
    listing each one that does not, with the expected and the actual value.

    >>> import fnad
    >>> fnad.check_grad(lambda x, y: (x * y).tanh(), 0.3, -0.8)
    >>> fnad.check_grad(lambda x: x.sqrt() * x.log(), 2.0, order=3, modes=("rev",))
    """
    if not args:
        raise GradCheckError("check_grad: give the point to check at, e.g. check_grad(f, 0.5)")
    point: list[float] = []
    for position, a in enumerate(args, 1):
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise GradCheckError(
                f"check_grad: argument {position} is {a!r}; the point must be plain numbers"
            )
        point.append(float(a))
    _validate(order, modes, eps, atol, rtol)
    names = _names(f, len(point))
    mismatches, checked = _compare(f, tuple(point), names, order, modes, eps, atol, rtol)
    if mismatches:
        name = name_of(f)
        lines = "\n".join(f"  {m}" for m in mismatches)
        raise GradCheckError(
            f"check_grad: {len(mismatches)} of {checked} derivatives of {name} at "
            f"{tuple(point)} disagree with central differences (atol={atol}, rtol={rtol}):\n"
            f"{lines}"
        )


# --------------------------------------------------------------------------- check_rules


@attrs.frozen
class OpCheck:
    """The check of one op: at which points, how many derivatives, what went wrong."""

    op: str
    samples: tuple[tuple[float, ...], ...]
    checked: int
    """How many derivatives were compared with finite differences."""
    problems: tuple[str, ...]
    """One line per failure (a mismatch, or an exception the rule raised)."""

    @property
    def status(self) -> str:
        """``"ok"``, ``"FAILED"``, or ``"unchecked"`` (no sample points declared)."""
        if self.problems:
            return "FAILED"
        return "ok" if self.samples else "unchecked"


@attrs.frozen
class RuleCheckReport:
    """What :func:`check_rules` found; ``str(report)`` is the readable report.

    ``report.ok`` is False if any op failed. Ops that declare no sample points cannot be
    checked: they are listed as ``unchecked`` and do not make the report fail.
    :meth:`raise_if_failed` turns a failed report into a :class:`~fnad.GradCheckError`.
    """

    results: tuple[OpCheck, ...]
    order: int
    modes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether every checked op agreed with finite differences."""
        return not self.failures

    @property
    def failures(self) -> tuple[OpCheck, ...]:
        """The ops with at least one problem."""
        return tuple(r for r in self.results if r.problems)

    @property
    def unchecked(self) -> tuple[OpCheck, ...]:
        """The ops that declare no sample points."""
        return tuple(r for r in self.results if r.status == "unchecked")

    def raise_if_failed(self) -> None:
        """Raise :class:`~fnad.GradCheckError` with this report if any op failed."""
        if not self.ok:
            raise GradCheckError(str(self))

    def __str__(self) -> str:
        orders = "1" if self.order == 1 else f"1-{self.order}"
        points = sum(len(r.samples) for r in self.results)
        lines = [
            f"fnad rule check: {len(self.results)} ops, {points} sample points, "
            f"orders {orders}, modes {', '.join(self.modes)}"
        ]
        width = max([len(r.op) for r in self.results] + [2])
        for r in self.results:
            if r.status == "ok":
                detail = f"{len(r.samples)} samples, {r.checked} derivatives"
            elif r.status == "unchecked":
                detail = "no sample points declared; pass samples=... to fnad.defop"
            else:
                detail = r.problems[0]
            lines.append(f"  {r.status:<9}  {r.op:<{width}}  {detail}")
            lines.extend(f"  {'':<9}  {'':<{width}}  {p}" for p in r.problems[1:])
        failed, unchecked = len(self.failures), len(self.unchecked)
        passed = len(self.results) - failed - unchecked
        verdict = "all checked ops passed" if not failed else f"{failed} FAILED"
        lines.append(f"{verdict}: {passed} ok, {failed} failed, {unchecked} unchecked")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"RuleCheckReport({len(self.results)} ops, {len(self.failures)} failed, "
            f"{len(self.unchecked)} unchecked)"
        )


def _op_function(name: str) -> Callable[..., Node]:
    def op(*xs: Node) -> Node:
        return xs[0].tape.apply(name, *xs)

    op.__name__ = name
    return op


def _check_op(
    table: RuleTable,
    name: str,
    order: int,
    modes: tuple[str, ...],
    eps: float,
    atol: float,
    rtol: float,
) -> OpCheck:
    rule = table[name]
    problems: list[str] = []
    checked = 0
    names = _names(rule.forward, rule.arity)
    f = _op_function(name)
    for point in rule.samples:
        try:
            value = _evaluate(f, point)
            if not math.isfinite(value):
                problems.append(
                    f"at {point}: the op's value is {value!r}; choose sample points inside "
                    "its domain, where it is finite"
                )
                continue
            mismatches, count = _compare(f, point, names, order, modes, eps, atol, rtol)
        except Exception as error:  # a broken rule is a finding to report, not a crash
            problems.append(f"at {point}: {type(error).__name__}: {error}")
            continue
        checked += count
        problems.extend(f"at {point}: {m}" for m in mismatches)
    return OpCheck(name, rule.samples, checked, tuple(problems))


def check_rules(
    table: RuleTable | None = None,
    *,
    ops: Iterable[str] | None = None,
    order: int = 2,
    modes: Sequence[str] = MODES,
    eps: float = 1e-3,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> RuleCheckReport:
    """Check every op of ``table`` (default: the current one) at its declared sample points.

    At each sample point, every derivative of orders 1 to ``order`` in each mode is
    compared with finite differences (see :func:`check_grad`). ``ops`` restricts the check
    to some op names. Returns a :class:`RuleCheckReport`; it never raises for a wrong
    rule, so that one report lists every problem (call ``report.raise_if_failed()``).

    >>> import fnad
    >>> report = fnad.check_rules(ops=["tanh", "mul"])
    >>> report.ok
    True
    >>> print(report)
    fnad rule check: 2 ops, 5 sample points, orders 1-2, modes fwd, rev
      ok         mul   2 samples, 24 derivatives
      ok         tanh  3 samples, 12 derivatives
    all checked ops passed: 2 ok, 0 failed, 0 unchecked
    """
    target = current_rules() if table is None else table
    if not isinstance(target, RuleTable):
        raise GradCheckError(f"check_rules: table must be a fnad RuleTable, got {table!r}")
    modes = tuple(modes)
    _validate(order, modes, eps, atol, rtol)
    if ops is None:
        names = sorted(target)
    else:
        names = sorted(set(ops))
        for name in names:
            target[name]  # an UnknownOpError that lists the registered ops
    with use_rules(target):
        results = tuple(_check_op(target, name, order, modes, eps, atol, rtol) for name in names)
    return RuleCheckReport(results, order, modes)
