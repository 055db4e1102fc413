"""Gradient checking, shipped in the library: fnad's derivatives against finite differences.

:func:`check_grad` checks the derivatives of one function at one point, like PyTorch's
``gradcheck`` and JAX's and autograd's ``check_grads``; :func:`check_rules` checks every op
of a rule table (built-in and custom) at the sample points each op declares.

How a derivative of order k is checked, in mode ``"rev"`` (nested :func:`fnad.grad`) and
mode ``"fwd"`` (nested :func:`fnad.jvp`): fnad computes it, and finite differences of
fnad's derivative of order k-1 (of ``f`` itself for k = 1) estimate it. Either along every
axis (``directions="axes"``: every partial derivative, n + n² + ... of them), or along one
random unit direction per order (``directions="random"``, autograd's way: one JVP, or one
VJP, per order however many arguments ``f`` has).

The estimate is Ridders' method: central differences at the steps h, h/2, h/4, ... (``h =
eps·max(1, |x|)``), extrapolated to step 0 in a Richardson tableau that also estimates its
own error; the entry with the smallest error estimate is taken. A smooth function of high
curvature, on which one fixed step is far off, is estimated to ~1e-10 relative all the same.

The comparison is relative to the derivative's own scale: a check passes where

    |actual - expected| <= atol + rtol·max(|actual|, |expected|) + 2·(error estimate)
                           + 1e-10·S

and where both are the same nan or inf. S is the largest of |f| and of the derivatives of
f computed at the point up to this order: fnad computes a derivative that is 0 as a
difference of such terms, so it is rounding noise relative to them, not to itself. With the
defaults (``atol=0``, ``rtol=1e-5``), a rule that is off by 0.1% fails, and so does a wrong
rule of a tiny op (``1e-7·x²``), which an absolute tolerance would swamp.
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from fnad._internal import float_partials, name_of, run_forward
from fnad.engine import Node, Tape, to_float
from fnad.engine.rules import Rule, RuleTable, array_errors, current_rules, use_rules
from fnad.errors import GradCheckError, OperandTypeError
from fnad.transforms.functional import ScalarFunction, grad, jvp

__all__ = [
    "AUTO_AXES",
    "DIRECTIONS",
    "MODES",
    "Mismatch",
    "OpCheck",
    "RuleCheckReport",
    "check_grad",
    "check_rules",
    "estimate_derivative",
]

MODES = ("fwd", "rev")
DIRECTIONS = ("auto", "axes", "random")
AUTO_AXES = 4
"""``directions="auto"`` checks every axis up to this many arguments, random directions above."""

_SUPERSCRIPT = {1: "", 2: "²", 3: "³", 4: "⁴"}
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

# Ridders' method: steps h, h/2, ... at most _LEVELS of them, or until the best estimate's
# error is down to the rounding error (which grows as the step shrinks).
_LEVELS = 12
_INTO_DOMAIN = 30  # halvings of a step at which g is not finite, before giving up
_MARGIN = 4  # once inside the domain, the tableau starts this many halvings further in
_ROUNDING = 2.0**-52
_SAFETY = 2.0  # how many error estimates a derivative may be off by and still pass
# fnad computes a derivative that is 0 as a difference of terms about the size of f and of
# its other derivatives, so it comes out as rounding noise: up to this fraction of the
# largest of those (at the point, up to the order checked) a derivative counts as 0.
_NEGLIGIBLE = 1e-10


@attrs.frozen
class Mismatch:
    """One derivative that disagrees with its finite-difference estimate."""

    mode: str
    """``"rev"`` or ``"fwd"``."""
    derivative: str
    """Which derivative, e.g. ``∂²f/∂x∂y`` (differentiated by x, then by y), or ``∂f/∂v₁``
    along the random direction v₁."""
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


@attrs.frozen
class _Estimate:
    value: float
    error: float
    """An estimate of ``|value - the true derivative|``."""


def estimate_derivative(g: Callable[[float], float], h: float = 1e-3) -> tuple[float, float]:
    """``g'(0)`` and an estimate of its error, by Ridders' extrapolated central differences.

    Central differences at the steps ``h, h/2, h/4, ...`` are extrapolated to step 0 (their
    error is a series in h², so each column of the tableau removes one term); the entry
    whose estimated error is smallest is returned. Steps at which ``g`` is not finite on
    both sides (``g`` leaves its domain) are halved before the tableau starts; if no step
    gives a finite difference, that nan or inf is the estimate.

    >>> import math
    >>> value, error = estimate_derivative(lambda t: math.sin(50 * (10 + t)), h=0.01)
    >>> abs(value - 50 * math.cos(500)) < 1e-9, error < 1e-8
    (True, True)
    """
    estimate = _ridders(g, h)
    return estimate.value, estimate.error


def _ridders(g: Callable[[float], float], h: float, scale: float = 0.0) -> _Estimate:
    """Ridders' method; ``g``'s values are taken to be rounded to ε·max(|g|, ``scale``).

    (A derivative that fnad computes as 0 is a difference of terms of the size of f and
    its other derivatives: its rounding error is relative to those, not to itself.)
    """

    def central(g: Callable[[float], float], h: float) -> tuple[float, float]:
        up, down = g(h), g(-h)
        noise = _ROUNDING * (max(abs(up), scale) + max(abs(down), scale)) / h
        return (up - down) / (2.0 * h), noise

    difference, rounding = central(g, h)
    if not math.isfinite(difference):  # g leaves its domain within h: shrink h into it
        first = difference
        for _ in range(_INTO_DOMAIN):
            h /= 2.0
            difference, rounding = central(g, h)
            if math.isfinite(difference):
                break
        else:
            return _Estimate(first, 0.0)
        # That step reaches to the edge of the domain, where g is far from its Taylor
        # polynomial: start the tableau well inside.
        h /= 2.0**_MARGIN
        difference, rounding = central(g, h)
    previous = [difference]  # the tableau's last row
    best = _Estimate(difference, math.inf)
    for _ in range(_LEVELS - 1):
        h /= 2.0
        difference, rounding = central(g, h)
        if not math.isfinite(difference):
            break
        row = [difference]
        factor = 1.0
        for j, entry in enumerate(previous, 1):
            factor *= 4.0  # the error of a central difference is a series in h²
            row.append(row[j - 1] + (row[j - 1] - entry) / (factor - 1.0))
            error = max(abs(row[j] - row[j - 1]), abs(row[j] - entry), rounding)
            if error <= best.error:
                best = _Estimate(row[j], error)
        if best.error <= rounding:
            break  # down to the rounding error: smaller steps only add to it
        previous = row
    if math.isinf(best.error):  # a single step: its difference, without an error estimate
        return _Estimate(best.value, 0.0)
    return best


def _size(value: float) -> float:
    return abs(value) if math.isfinite(value) else 0.0


def _agree(actual: float, expected: _Estimate, atol: float, rtol: float) -> bool:
    value = expected.value
    if math.isnan(actual) or math.isnan(value):
        return math.isnan(actual) and math.isnan(value)
    if math.isinf(actual) or math.isinf(value):
        return actual == value
    scale = max(abs(actual), abs(value))
    return abs(actual - value) <= atol + rtol * scale + _SAFETY * expected.error


def _evaluate(g: Callable[..., Any], point: Sequence[float]) -> float:
    """``g`` at ``point``, traced on a throwaway tape (``g`` may use Node methods)."""
    with Tape():
        out = g(*[Node(v) for v in point])
    return out.data if isinstance(out, Node) else float(out)


def _difference(
    g: Callable[..., Any],
    point: Sequence[float],
    direction: Sequence[float],
    eps: float,
    scale: float = 0.0,
) -> _Estimate:
    """The derivative of ``g`` at ``point`` along ``direction``, by Ridders' method.

    ``scale`` is the size of the terms ``g`` is computed from (see :func:`_ridders`).
    """
    moved = [x for x, d in zip(point, direction, strict=True) if d]
    h = eps * max([1.0, *(abs(x) for x in moved)])

    def along(t: float) -> float:
        return _evaluate(g, [x + t * d for x, d in zip(point, direction, strict=True)])

    return _ridders(along, h, scale)


def _derivative(
    mode: str, g: Callable[..., Any], direction: Sequence[float], axis: int | None
) -> Callable[..., Any]:
    """The derivative of ``g`` along ``direction`` (the unit vector of ``axis``, if given)."""
    arity = len(direction)
    if mode == "rev" and axis is not None:
        return grad(g, argnums=axis)
    if mode == "rev":
        gradient = grad(g, argnums=tuple(range(arity)))

        def reverse(*xs: Any) -> Any:  # a VJP, then its dot product with the direction
            parts = gradient(*xs)
            return sum((d * p for d, p in zip(direction, parts, strict=True) if d), 0.0)

        return reverse

    def forward(*xs: Any) -> Any:  # a JVP along the direction
        return jvp(g, xs, tuple(direction))[1]

    forward.__name__ = f"jvp_{getattr(g, '__name__', 'f')}"
    return forward


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


def _validate(
    order: int, modes: Sequence[str], eps: float, atol: float, rtol: float, directions: str
) -> None:
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
    if directions not in DIRECTIONS:
        raise GradCheckError(
            f"check_grad: directions must be one of {DIRECTIONS}, got {directions!r}"
        )


def _direction_names(count: int) -> list[str]:
    return [f"v{k + 1}".translate(_SUBSCRIPT) for k in range(count)]


def _random_directions(arity: int, count: int, seed: int | None) -> list[tuple[float, ...]]:
    """``count`` random unit vectors (Gaussian, normalised), reproducible from ``seed``."""
    rng = random.Random(seed)
    vectors = []
    for _ in range(count):
        v = [rng.gauss(0.0, 1.0) for _ in range(arity)]
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        vectors.append(tuple(x / norm for x in v))
    return vectors


def _compare(
    f: ScalarFunction,
    point: tuple[float, ...],
    names: Sequence[str],
    order: int,
    modes: Sequence[str],
    eps: float,
    atol: float,
    rtol: float,
    random_directions: Sequence[tuple[float, ...]] | None = None,
) -> tuple[list[Mismatch], int]:
    """Every derivative up to ``order`` in every mode: the mismatches and the count checked.

    Along the axes, or, given ``random_directions`` (one per order), along those.
    """
    arity = len(point)
    axes = [tuple(1.0 if i == axis else 0.0 for i in range(arity)) for axis in range(arity)]
    names = _direction_names(order) if random_directions is not None else names
    mismatches: list[Mismatch] = []
    checked = 0
    value = _evaluate(f, point)
    for mode in modes:
        level: list[tuple[tuple[int, ...], Callable[..., Any]]] = [((), f)]
        scale = _size(value)  # of f and of the derivatives computed so far, at the point
        for depth in range(order):
            results: list[
                tuple[
                    tuple[int, ...],
                    Callable[..., Any],
                    tuple[float, ...],
                    Callable[..., Any],
                    float,
                ]
            ] = []
            for path, g in level:
                steps: list[tuple[int, tuple[float, ...], int | None]]
                if random_directions is None:
                    steps = [(axis, axes[axis], axis) for axis in range(arity)]
                else:
                    steps = [(depth, random_directions[depth], None)]
                for index, direction, axis in steps:
                    derivative = _derivative(mode, g, direction, axis)
                    actual = _evaluate(derivative, point)
                    results.append(((*path, index), g, direction, derivative, actual))
                    scale = max(scale, _size(actual))
            floor = atol + _NEGLIGIBLE * scale
            for path, g, direction, _, actual in results:
                expected = _difference(g, point, direction, eps, scale)
                checked += 1
                if not _agree(actual, expected, floor, rtol):
                    mismatches.append(Mismatch(mode, _label(names, path), expected.value, actual))
            level = [(path, derivative) for path, _, _, derivative, _ in results]
    return mismatches, checked


def _show_vector(v: Sequence[float]) -> str:
    shown = [f"{c:.3g}" for c in v]
    if len(shown) > 8:
        shown = [*shown[:6], "...", shown[-1]]
    return f"({', '.join(shown)})"


def _point(args: Sequence[object]) -> tuple[float, ...]:
    point: list[float] = []
    for position, a in enumerate(args, 1):
        if isinstance(a, Node):
            raise OperandTypeError(
                f"check_grad: argument {position} is a Node ({a!r}); the point must be plain "
                f"numbers: pass its value, {a.data!r}"
            )
        point.append(to_float(a, "check_grad", position))
    return tuple(point)


def check_grad(
    f: ScalarFunction,
    *args: float,
    order: int = 2,
    modes: Sequence[str] = MODES,
    eps: float = 1e-3,
    atol: float = 0.0,
    rtol: float = 1e-5,
    directions: str = "auto",
    seed: int | None = 0,
) -> None:
    """Check every derivative of ``f`` at ``args`` up to ``order``, in each of ``modes``.

    ``f`` takes Nodes (one per value in ``args``) and returns a Node. Returns None when all
    derivatives agree with finite differences; raises :class:`~fnad.GradCheckError`
    listing each one that does not, with the expected and the actual value.

    ``directions="axes"`` checks every partial derivative (n + n² + ... of them for n
    arguments); ``"random"`` checks one directional derivative per order along a random
    unit direction (drawn from ``seed``), in forward mode by a JVP and in reverse mode by a
    VJP, as autograd's ``check_grads`` does; ``"auto"`` (the default) checks the axes of
    up to four arguments, random directions beyond. ``eps`` is the largest relative step
    of the finite differences; ``rtol`` and ``atol`` are the tolerances (see the module).

    >>> import fnad
    >>> fnad.check_grad(lambda x, y: (x * y).tanh(), 0.3, -0.8)
    >>> fnad.check_grad(lambda x: x.sqrt() * x.log(), 2.0, order=3, modes=("rev",))
    >>> fnad.check_grad(lambda *xs: sum(x * x.sin() for x in xs), *range(1, 21))
    """
    if not args:
        raise GradCheckError("check_grad: give the point to check at, e.g. check_grad(f, 0.5)")
    point = _point(args)
    _validate(order, modes, eps, atol, rtol, directions)
    names = _names(f, len(point))
    use_random = directions == "random" or (directions == "auto" and len(point) > AUTO_AXES)
    vectors = _random_directions(len(point), order, seed) if use_random else None
    mismatches, checked = _compare(f, point, names, order, modes, eps, atol, rtol, vectors)
    if mismatches:
        name = name_of(f)
        lines = "\n".join(f"  {m}" for m in mismatches)
        along = ""
        if vectors is not None:
            shown = "; ".join(
                f"{label} = {_show_vector(v)}"
                for label, v in zip(_direction_names(order), vectors, strict=True)
            )
            along = f" along random unit directions (seed={seed!r}) {shown}"
        raise GradCheckError(
            f"check_grad: {len(mismatches)} of {checked} derivatives of {name} at "
            f"{point}{along} disagree with finite differences (atol={atol}, rtol={rtol}):\n"
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
    problems.extend(_check_array_forms(rule))
    return OpCheck(name, rule.samples, checked, tuple(problems))


_SPECIAL = (0.0, -0.0, math.inf, -math.inf, math.nan)
_ARRAY_RTOL = 1e-12  # NumPy's exp, tanh, ... may differ from the C library's by a few ulps


def _array_points(rule: Rule) -> list[tuple[float, ...]]:
    """The samples, and each sample with one argument replaced by a special value."""
    points = list(rule.samples)
    for sample in rule.samples[:1]:
        for position in range(rule.arity):
            for special in _SPECIAL:
                points.append((*sample[:position], special, *sample[position + 1 :]))
    return points


def _close(array: float, scalar: float) -> bool:
    if math.isnan(array) or math.isnan(scalar):
        return math.isnan(array) and math.isnan(scalar)
    if math.isinf(array) or math.isinf(scalar):
        return array == scalar
    return abs(array - scalar) <= _ARRAY_RTOL * max(abs(array), abs(scalar))


def _check_array_forms(rule: Rule) -> list[str]:
    """The rule's array forms against its scalar forms, at the samples and at special
    values, elementwise (a few ulps of difference allowed); one line per disagreement."""
    if rule.array_forward is None and rule.array_partials is None:
        return []
    try:
        import numpy as np
    except ImportError:  # without NumPy no batch runs, so no array form can be wrong
        return []
    points = _array_points(rule)
    if not points:
        return []
    columns = [np.array(column, dtype=np.float64) for column in zip(*points, strict=False)]
    problems: list[str] = []
    try:
        outs = [run_forward(rule, point) for point in points]
        expected = [tuple(float_partials(rule, p, o)) for p, o in zip(points, outs, strict=True)]
        with array_errors():
            if rule.array_forward is not None:
                got = np.broadcast_to(rule.array_forward(*columns), (len(points),)).tolist()
                for point, mine, theirs in zip(points, got, outs, strict=True):
                    if not _close(mine, theirs):
                        problems.append(
                            f"at {point}: array forward gives {mine!r}, the scalar forward "
                            f"{theirs!r}"
                        )
                        break
            if rule.array_partials is not None:
                parts = rule.array_partials(*columns, np.array(outs))
                if len(parts) != rule.arity:
                    return [f"array partials return {len(parts)} values for {rule.arity} arguments"]
                arrays = [np.broadcast_to(p, (len(points),)).tolist() for p in parts]
                for k, point in enumerate(points):
                    mine_all = tuple(a[k] for a in arrays)
                    if not all(map(_close, mine_all, expected[k])):
                        problems.append(
                            f"at {point}: array partials give {mine_all!r}, the scalar "
                            f"partials {expected[k]!r}"
                        )
                        break
    except Exception as error:  # a broken array form is a finding to report, not a crash
        problems.append(f"array forms: {type(error).__name__}: {error}")
    return problems


def check_rules(
    table: RuleTable | None = None,
    *,
    ops: Iterable[str] | None = None,
    order: int = 2,
    modes: Sequence[str] = MODES,
    eps: float = 1e-3,
    atol: float = 0.0,
    rtol: float = 1e-5,
) -> RuleCheckReport:
    """Check every op of ``table`` (default: the current one) at its declared sample points.

    At each sample point, every partial derivative of orders 1 to ``order`` in each mode
    is compared with finite differences (see :func:`check_grad`). An op's array forms
    (:attr:`fnad.Rule.array_forward`, :attr:`~fnad.Rule.array_partials`) are compared
    with its scalar forms at the samples and at 0, -0, ±inf and nan (relative 1e-12, the
    same nan and inf), where NumPy is installed. ``ops`` restricts the check
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
    _validate(order, modes, eps, atol, rtol, "axes")
    if ops is None:
        names = sorted(target)
    else:
        names = sorted(set(ops))
        for name in names:
            target[name]  # an UnknownOpError that lists the registered ops
    with use_rules(target):
        results = tuple(_check_op(target, name, order, modes, eps, atol, rtol) for name in names)
    return RuleCheckReport(results, order, modes)
