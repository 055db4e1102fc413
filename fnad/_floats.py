"""IEEE 754 arithmetic on plain floats, the way NumPy and PyTorch do it.

Python raises where IEEE 754 returns a value: ``1.0 / 0.0`` raises ZeroDivisionError,
``math.log(0.0)`` raises ValueError, ``math.exp(710.0)`` and ``1e200 ** 2`` raise
OverflowError, and ``(-8.0) ** (1 / 3)`` even returns a complex number. fnad never lets
those escape from a rule: the functions here return ``inf``, ``-inf`` or ``nan`` instead.

:class:`IEEEFloat` is the same idea as a float subclass: arithmetic on it never raises.
Rules are evaluated on plain floats first (fast); only when that raises an arithmetic
exception does the engine evaluate the rule again on IEEEFloats, so rule authors may
write ``1 / x`` and still get ``inf`` at ``x == 0``.

This module depends on nothing else in fnad.
"""

from __future__ import annotations

import math
from typing import SupportsFloat

__all__ = [
    "IEEEFloat",
    "cos",
    "div",
    "exp",
    "log",
    "pow",
    "relu",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
]

inf = math.inf
nan = math.nan


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and math.fmod(y, 2.0) != 0.0


def div(a: float, b: float) -> float:
    """``a / b`` with IEEE 754 results: ``1/0 == inf``, ``-1/0 == -inf``, ``0/0`` is nan."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return nan
        return math.copysign(inf, a) * math.copysign(1.0, b)


def pow(a: float, b: float) -> float:  # noqa: A001 - the IEEE twin of builtins.pow
    """``a ** b`` as C99 ``pow``: overflow is ±inf, a negative base to a non-integer is nan."""
    try:
        return math.pow(a, b)
    except OverflowError:
        negative = a < 0.0 and _is_odd_integer(b)
        return -inf if negative else inf
    except ValueError:
        if a == 0.0:  # 0 ** negative
            negative = math.copysign(1.0, a) < 0.0 and _is_odd_integer(b)
            return -inf if negative else inf
        return nan  # negative base, non-integer exponent


def exp(x: float) -> float:
    """``e ** x``; ``exp(710) == inf`` instead of OverflowError."""
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def log(x: float) -> float:
    """Natural logarithm; ``log(0) == -inf``, ``log(x < 0)`` is nan."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -inf
    return nan


def sqrt(x: float) -> float:
    """Square root; ``sqrt(x < 0)`` is nan."""
    if x < 0.0:
        return nan
    return math.sqrt(x)


def sin(x: float) -> float:
    """Sine; ``sin(±inf)`` is nan."""
    return math.sin(x) if math.isfinite(x) else nan


def cos(x: float) -> float:
    """Cosine; ``cos(±inf)`` is nan."""
    return math.cos(x) if math.isfinite(x) else nan


def tanh(x: float) -> float:
    """Hyperbolic tangent; never overflows (``tanh(1000) == 1.0``)."""
    return math.tanh(x)


def sigmoid(x: float) -> float:
    """Logistic function ``1 / (1 + e**-x)``, computed without overflow for any x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = exp(x)  # x may be nan here, or very negative
    return e / (1.0 + e)


def relu(x: float) -> float:
    """``max(x, 0)``; nan stays nan, as in PyTorch."""
    return 0.0 if x <= 0.0 else x


def _f(x: SupportsFloat) -> float:
    return x if type(x) is float else float(x)


class IEEEFloat(float):
    """A float whose arithmetic never raises: every result is an IEEEFloat again.

    >>> x = IEEEFloat(0.0)
    >>> 1 / x, -1 / x, x / x
    (inf, -inf, nan)
    >>> IEEEFloat(-8.0) ** (1 / 3)
    nan
    """

    __slots__ = ()

    def __add__(self, other: SupportsFloat) -> IEEEFloat:
        return IEEEFloat(float(self) + _f(other))

    def __radd__(self, other: SupportsFloat) -> IEEEFloat:
        return IEEEFloat(_f(other) + float(self))

    def __sub__(self, other: SupportsFloat) -> IEEEFloat:
        return IEEEFloat(float(self) - _f(other))

    def __rsub__(self, other: SupportsFloat) -> IEEEFloat:
        return IEEEFloat(_f(other) - float(self))

    def __mul__(self, other: SupportsFloat) -> IEEEFloat:
        return IEEEFloat(float(self) * _f(other))

    def __rmul__(self, other: SupportsFloat) -> IEEEFloat:
        return IEEEFloat(_f(other) * float(self))

    def __truediv__(self, other: SupportsFloat) -> IEEEFloat:
        return IEEEFloat(div(float(self), _f(other)))

    def __rtruediv__(self, other: SupportsFloat) -> IEEEFloat:
        return IEEEFloat(div(_f(other), float(self)))

    def __pow__(self, other: SupportsFloat, mod: None = None) -> IEEEFloat:
        return IEEEFloat(pow(float(self), _f(other)))

    def __rpow__(self, other: SupportsFloat, mod: None = None) -> IEEEFloat:
        return IEEEFloat(pow(_f(other), float(self)))

    def __neg__(self) -> IEEEFloat:
        return IEEEFloat(-float(self))

    def __pos__(self) -> IEEEFloat:
        return self

    def __abs__(self) -> IEEEFloat:
        return IEEEFloat(abs(float(self)))
