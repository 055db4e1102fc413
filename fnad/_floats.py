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
from collections.abc import Callable
from typing import SupportsFloat

__all__ = [
    "IEEEFloat",
    "acos",
    "acosh",
    "asin",
    "atanh",
    "ceil",
    "cos",
    "cosh",
    "div",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "floordiv",
    "fmod",
    "gelu",
    "leaky_relu",
    "log",
    "log1p",
    "log2",
    "log10",
    "maximum",
    "minimum",
    "mod",
    "pow",
    "relu",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "sinh",
    "softplus",
    "sqrt",
    "tan",
    "tanh",
    "truncdiv",
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
    """``max(x, 0)``; nan and -0.0 stay what they are, as in PyTorch (and micrograd)."""
    return 0.0 if x < 0.0 else x


def _log_with(log_fn: Callable[[float], float], x: float) -> float:
    if x > 0.0:
        return log_fn(x)
    if x == 0.0:
        return -inf
    return nan


def log2(x: float) -> float:
    """Base-2 logarithm; ``log2(0) == -inf``, nan below 0."""
    return _log_with(math.log2, x)


def log10(x: float) -> float:
    """Base-10 logarithm; ``log10(0) == -inf``, nan below 0."""
    return _log_with(math.log10, x)


def log1p(x: float) -> float:
    """``log(1 + x)``, accurate near 0; ``log1p(-1) == -inf``, nan below -1."""
    if x > -1.0:
        return math.log1p(x)
    if x == -1.0:
        return -inf
    return nan


def expm1(x: float) -> float:
    """``e ** x - 1``, accurate near 0; ``inf`` on overflow."""
    try:
        return math.expm1(x)
    except OverflowError:
        return inf


def exp2(x: float) -> float:
    """``2 ** x``; ``inf`` on overflow."""
    try:
        return _exp2(x)
    except OverflowError:
        return inf


def _exp2_fallback(x: float) -> float:  # math.exp2 is new in Python 3.11
    return math.pow(2.0, x)


_exp2: Callable[[float], float] = getattr(math, "exp2", _exp2_fallback)


def tan(x: float) -> float:
    """Tangent; ``tan(±inf)`` is nan."""
    return math.tan(x) if math.isfinite(x) else nan


def sinh(x: float) -> float:
    """Hyperbolic sine; ``±inf`` on overflow."""
    try:
        return math.sinh(x)
    except OverflowError:
        return math.copysign(inf, x)


def cosh(x: float) -> float:
    """Hyperbolic cosine; ``inf`` on overflow."""
    try:
        return math.cosh(x)
    except OverflowError:
        return inf


def asin(x: float) -> float:
    """Arc sine; nan outside [-1, 1]."""
    return math.asin(x) if -1.0 <= x <= 1.0 else nan


def acos(x: float) -> float:
    """Arc cosine; nan outside [-1, 1]."""
    return math.acos(x) if -1.0 <= x <= 1.0 else nan


def acosh(x: float) -> float:
    """Inverse hyperbolic cosine; nan below 1."""
    return math.acosh(x) if x >= 1.0 else nan


def atanh(x: float) -> float:
    """Inverse hyperbolic tangent; ``atanh(±1) == ±inf``, nan outside [-1, 1]."""
    if -1.0 < x < 1.0:
        return math.atanh(x)
    if x == 1.0 or x == -1.0:
        return math.copysign(inf, x)
    return nan


def sign(x: float) -> float:
    """-1.0, 0.0 or 1.0 (``sign(-0.0) == 0.0``, as PyTorch); nan stays nan, as NumPy."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0 if x == 0.0 else nan


def floor(x: float) -> float:
    """The largest integer <= x, as a float; ±inf and nan stay, ``floor(-0.0)`` is -0.0."""
    if not math.isfinite(x):
        return x
    return math.copysign(float(math.floor(x)), x)


def ceil(x: float) -> float:
    """The smallest integer >= x, as a float; ``ceil(-0.5)`` is -0.0, as IEEE 754."""
    if not math.isfinite(x):
        return x
    return math.copysign(float(math.ceil(x)), x)


def fmod(a: float, b: float) -> float:
    """C's ``fmod``: ``a - trunc(a/b)·b``, the sign of ``a``; nan for ``b == 0`` or ``a = ±inf``."""
    try:
        return math.fmod(a, b)
    except ValueError:
        return nan


def mod(a: float, b: float) -> float:
    """Python's ``a % b`` (the sign of ``b``) as PyTorch's ``remainder``: nan for ``b == 0``.

    Unlike Python's float ``%``, a zero result keeps the sign of ``a`` (``-0.0 % 2`` is
    -0.0), as PyTorch and NumPy compute it.
    """
    m = fmod(a, b)
    if m != 0.0 and (b < 0.0) != (m < 0.0):
        m += b
    return m


def floordiv(a: float, b: float) -> float:
    """``a // b`` as Python and PyTorch compute it; ``a / b`` (inf or nan) for ``b == 0``."""
    if b == 0.0:
        return div(a, b)
    return a // b


def truncdiv(a: float, b: float) -> float:
    """``a / b`` rounded toward zero, as PyTorch's ``div(rounding_mode="trunc")``."""
    q = div(a, b)
    if not math.isfinite(q):
        return q
    return math.copysign(float(math.trunc(q)), q)


def minimum(a: float, b: float) -> float:
    """The smaller of ``a`` and ``b``; nan if either is nan, as PyTorch."""
    if a != a:
        return a
    if b != b:
        return b
    return b if b < a else a


def maximum(a: float, b: float) -> float:
    """The larger of ``a`` and ``b``; nan if either is nan, as PyTorch."""
    if a != a:
        return a
    if b != b:
        return b
    return b if a < b else a


def softplus(x: float) -> float:
    """``log(1 + e**x)``, computed without overflow for any x."""
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(exp(x))


def leaky_relu(x: float, negative_slope: float) -> float:
    """``x`` above 0, ``negative_slope·x`` elsewhere (PyTorch's leaky_relu and prelu)."""
    return x if x > 0.0 else negative_slope * x


SQRT1_2 = 0.7071067811865476
"""1/√2, as C's ``M_SQRT1_2``."""


def gelu(x: float) -> float:
    """``x·Φ(x)`` with Φ the standard normal CDF (the exact form, PyTorch's default)."""
    return x * 0.5 * (1.0 + math.erf(x * SQRT1_2))


def silu(x: float) -> float:
    """``x·σ(x) = x / (1 + e**-x)``, computed without overflow for any x."""
    return x / (1.0 + exp(-x))


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
