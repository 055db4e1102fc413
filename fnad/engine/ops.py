"""Built-in ops: the derivative cheat sheet.

Each entry below is one op of the rule table: its name, its forward function on floats
(under ``@rule``) and, as the function body, its local partial derivatives ∂out/∂argᵢ.
A partials function receives the op's arguments and its output ``out``; it is written once
over :data:`Scalar` (``float`` or :class:`~fnad.Node`) and mypy checks it for both, so
the one function serves reverse mode on floats, forward mode and higher orders.

Kinks follow PyTorch: ``relu'(0) == 0`` and ``abs'(0) == 0``. All arithmetic is IEEE 754
(see :mod:`fnad._floats`): ``log(0) == -inf``, ``sqrt(-1)`` is nan, nothing raises.

Below each rule, under ``@arrays``, are its array forms: the same forward function and
partials over float64 NumPy arrays, elementwise, for :meth:`fnad.Program.batch`. They keep
the scalar forms' conventions (kinks, masks, signed zeros, nan) element by element; NumPy
is imported when one is first called, never by importing fnad. Where IEEE 754 makes the
result exact (+ − × ÷, sqrt, comparisons, floor, fmod, ...) they equal the scalar forms
bit for bit; NumPy's exp, log, tanh, sin, ... may differ from the C library's by an ulp or
two (docs/batch.md has the measured bound per op).

The ops are also functions here (``fnad.tanh(x)``): given a Node they record it, given a
number they return a float. The decorators that declare them, and the classes of those
functions (:class:`UnaryOp`, :class:`BinaryOp`), are in :mod:`fnad.engine.declare`; this
module is the sheet itself.

Adding a built-in op: its entry here (``@unary``/``@binary`` above ``@rule`` makes the function
``fnad.<name>``; ``@arrays`` below it gives the batched replay its array forms), its name in
``__all__``, and one line in :mod:`fnad.engine.methods` if a Node
should have it as a method. fnad's ``__all__``, NumPy's ufunc of that name and README's table
follow from those.

Dependencies inside the engine: :mod:`fnad.engine.node` and :mod:`fnad.engine.declare`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, SupportsFloat, overload

from fnad import _floats
from fnad._internal import LazyModule
from fnad.engine.declare import BinaryOp, Scalar, UnaryOp, arrays, binary, rule, unary, value
from fnad.engine.node import Node, Operand

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]
else:
    np = LazyModule("numpy")  # the array forms import NumPy when first called

__all__ = [
    "BinaryOp",
    "Scalar",
    "UnaryOp",
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "ceil",
    "cos",
    "cosh",
    "erf",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "fmod",
    "gelu",
    "hypot",
    "leaky_relu",
    "log",
    "log1p",
    "log2",
    "log10",
    "maximum",
    "minimum",
    "mod",
    "power",
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
    "value",
]

LEAKY_RELU_SLOPE = 0.01
"""The default ``negative_slope`` of :func:`leaky_relu`, as PyTorch's."""


@overload
def leaky_relu(x: Node, negative_slope: Operand = LEAKY_RELU_SLOPE, /) -> Node: ...
@overload
def leaky_relu(x: SupportsFloat, negative_slope: Node, /) -> Node: ...
@overload
def leaky_relu(x: SupportsFloat, negative_slope: SupportsFloat = LEAKY_RELU_SLOPE, /) -> float: ...
def leaky_relu(x: Operand, negative_slope: Operand = LEAKY_RELU_SLOPE, /) -> Node | float:
    """``x`` above 0, ``negative_slope·x`` elsewhere; the slope defaults to 0.01 (PyTorch's).

    The slope is the op's second argument, recorded like any operand: a number becomes a
    ``const``, and a Node slope gets its gradient (PyTorch's ``prelu``).

    >>> leaky_relu(-2.0), leaky_relu(-2.0, 0.2)
    (-0.02, -0.4)
    >>> x, slope = Node(-2.0), Node(0.2)
    >>> y = leaky_relu(x, slope)
    >>> grads = y.backward()
    >>> y.data, grads[x], grads[slope]
    (-0.4, 0.2, -2.0)
    """
    return _leaky_relu(x, negative_slope)


_LN2 = 0.6931471805599453  # ln 2, as C's M_LN2 (and PyTorch's log2/exp2 derivatives)
_LN10 = 2.302585092994046  # ln 10, as C's M_LN10
_2_SQRTPI = 1.1283791670955126  # 2/√π, as C's M_2_SQRTPI
_1_SQRT_2PI = _2_SQRTPI * _floats.SQRT1_2 * 0.5  # 1/√(2π), computed as PyTorch's gelu does


# ------------------------------------------------------------------ the cheat sheet
#     name        arity  forward on floats                 sample points (away from kinks)


@rule("add", 2, lambda a, b: a + b, (1.5, -2.0), (0.3, 4.0))
def _add(a: Scalar, b: Scalar, out: Scalar) -> tuple[float, float]:
    """∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1"""
    return 1.0, 1.0


@arrays("add", lambda a, b: a + b)
def _add_array(a: Array, b: Array, out: Array) -> tuple[float, float]:
    return 1.0, 1.0


@rule("sub", 2, lambda a, b: a - b, (1.5, -2.0), (0.3, 4.0))
def _sub(a: Scalar, b: Scalar, out: Scalar) -> tuple[float, float]:
    """∂(a-b)/∂a = 1, ∂(a-b)/∂b = -1"""
    return 1.0, -1.0


@arrays("sub", lambda a, b: a - b)
def _sub_array(a: Array, b: Array, out: Array) -> tuple[float, float]:
    return 1.0, -1.0


@rule("mul", 2, lambda a, b: a * b, (1.5, -2.0), (0.3, 4.0))
def _mul(a: Scalar, b: Scalar, out: Scalar) -> tuple[Scalar, Scalar]:
    """∂(a·b)/∂a = b, ∂(a·b)/∂b = a"""
    return b, a


@arrays("mul", lambda a, b: a * b)
def _mul_array(a: Array, b: Array, out: Array) -> tuple[Array, Array]:
    return b, a


@rule("truediv", 2, lambda a, b: a / b, (1.5, -2.0), (0.3, 4.0), (-2.0, 0.5))
def _truediv(a: Scalar, b: Scalar, out: Scalar) -> tuple[Scalar, Scalar]:
    """∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = -a/b² = -(a/b)/b"""
    # -(a/b)/b, as PyTorch: b·b overflows sooner, and at b = 0 the second derivative of
    # 1/b comes out +inf instead of 0·inf = nan.
    return 1 / b, -out / b


@arrays("truediv", lambda a, b: a / b)
def _truediv_array(a: Array, b: Array, out: Array) -> tuple[Array, Array]:
    return 1 / b, -out / b


@binary("``a ** b`` with IEEE results (nan for a negative base to a fraction).", name="pow")
@rule("pow", 2, _floats.pow, (1.5, 2.0), (0.7, -1.5), (2.0, 0.5), (2.5, 3.0), (3.0, -2.0))
def power(a: Scalar, b: Scalar, out: Scalar) -> tuple[Scalar | float, Scalar | float]:
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a  (both 0 where PyTorch masks them)"""
    # Masked only where b·a^(b-1) is 0·inf or 0·nan (a is 0 or nan): elsewhere at b == 0 it
    # is an exact 0 whose own derivative (∂²/∂a∂b = 1/a) higher orders need.
    va = value(a)
    d_base = 0.0 if value(b) == 0.0 and (va == 0.0 or va != va) else b * power(a, b - 1)
    d_exponent = 0.0 if value(a) == 0.0 and value(b) >= 0.0 else out * log(a)
    return d_base, d_exponent


@arrays("pow", lambda a, b: np.power(a, b))
def _pow_array(a: Array, b: Array, out: Array) -> tuple[Array, Array]:
    d_base = np.where((b == 0.0) & ((a == 0.0) | (a != a)), 0.0, b * np.power(a, b - 1))
    d_exponent = np.where((a == 0.0) & (b >= 0.0), 0.0, out * np.log(a))
    return d_base, d_exponent


@rule("neg", 1, lambda x: -x, (1.5,), (-0.3,))
def _neg(x: Scalar, out: Scalar) -> tuple[float]:
    """∂(-x)/∂x = -1"""
    return (-1.0,)


@arrays("neg", lambda x: -x)
def _neg_array(x: Array, out: Array) -> tuple[float]:
    return (-1.0,)


@unary("``e ** x``.")
@rule("exp", 1, _floats.exp, (0.5,), (-1.2,), (2.0,))
def exp(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂eˣ/∂x = eˣ"""
    return (out,)


@arrays("exp", lambda x: np.exp(x))
def _exp_array(x: Array, out: Array) -> tuple[Array]:
    return (out,)


@unary("Natural logarithm; ``log(0) == -inf``, nan below 0.")
@rule("log", 1, _floats.log, (0.5,), (1.7,), (10.0,))
def log(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂ln x/∂x = 1/x"""
    return (1 / x,)


@arrays("log", lambda x: np.log(x))
def _log_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / x,)


@unary("Sine.")
@rule("sin", 1, _floats.sin, (0.5,), (-1.2,), (2.5,))
def sin(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂sin x/∂x = cos x"""
    return (cos(x),)


@arrays("sin", lambda x: np.sin(x))
def _sin_array(x: Array, out: Array) -> tuple[Array]:
    return (np.cos(x),)


@unary("Cosine.")
@rule("cos", 1, _floats.cos, (0.5,), (-1.2,), (2.5,))
def cos(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂cos x/∂x = -sin x"""
    return (-sin(x),)


@arrays("cos", lambda x: np.cos(x))
def _cos_array(x: Array, out: Array) -> tuple[Array]:
    return (-np.sin(x),)


@unary("Hyperbolic tangent.")
@rule("tanh", 1, _floats.tanh, (0.5,), (-1.2,), (2.0,))
def tanh(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂tanh x/∂x = 1 - tanh²x"""
    return (1 - out * out,)


@arrays("tanh", lambda x: np.tanh(x))
def _tanh_array(x: Array, out: Array) -> tuple[Array]:
    return (1 - out * out,)


@unary("Logistic function ``1 / (1 + exp(-x))``.")
@rule("sigmoid", 1, _floats.sigmoid, (0.5,), (-1.2,), (3.0,))
def sigmoid(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂σ(x)/∂x = σ(x)·(1 - σ(x))"""
    return (out * (1 - out),)


def _sigmoid_forward(x: Array) -> Array:
    e = np.exp(np.where(x >= 0.0, -x, x))  # e^-|x| (nan stays nan), as the scalar branches
    result: Array = np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
    return result


@arrays("sigmoid", _sigmoid_forward)
def _sigmoid_array(x: Array, out: Array) -> tuple[Array]:
    return (out * (1 - out),)


@unary("Square root; nan below 0.")
@rule("sqrt", 1, _floats.sqrt, (0.5,), (2.0,), (9.0,))
def sqrt(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂√x/∂x = 1/(2√x)"""
    return (0.5 / out,)


@arrays("sqrt", lambda x: np.sqrt(x))
def _sqrt_array(x: Array, out: Array) -> tuple[Array]:
    return (0.5 / out,)


@unary("``max(x, 0)``.")
@rule("relu", 1, _floats.relu, (0.5,), (-1.2,), (3.0,))
def relu(x: Scalar, out: Scalar) -> tuple[float]:
    """∂relu(x)/∂x = 0 if x <= 0 else 1  (1 at nan, as PyTorch)"""
    return (0.0 if value(x) <= 0.0 else 1.0,)


@arrays("relu", lambda x: np.where(x < 0.0, 0.0, x))
def _relu_array(x: Array, out: Array) -> tuple[Array]:
    return (np.where(x <= 0.0, 0.0, 1.0),)


@unary("Absolute value.")
@rule("abs", 1, math.fabs, (0.5,), (-1.2,), (3.0,))
def abs(x: Scalar, out: Scalar) -> tuple[float]:  # noqa: A001 - math-style, as fnad.exp
    """∂|x|/∂x = sign(x), 0 at 0"""
    v = value(x)
    return (1.0 if v > 0.0 else -1.0 if v < 0.0 else 0.0,)


@arrays("abs", lambda x: np.fabs(x))
def _abs_array(x: Array, out: Array) -> tuple[Array]:
    return (np.where(x > 0.0, 1.0, np.where(x < 0.0, -1.0, 0.0)),)


# ------------------------------------------------------------ trigonometric and hyperbolic


@unary("Tangent.")
@rule("tan", 1, _floats.tan, (0.5,), (-1.2,), (2.0,))
def tan(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂tan x/∂x = 1 + tan²x"""
    return (1 + out * out,)


@arrays("tan", lambda x: np.tan(x))
def _tan_array(x: Array, out: Array) -> tuple[Array]:
    return (1 + out * out,)


@unary("Hyperbolic sine.")
@rule("sinh", 1, _floats.sinh, (0.5,), (-1.2,), (2.0,))
def sinh(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂sinh x/∂x = cosh x"""
    return (cosh(x),)


@arrays("sinh", lambda x: np.sinh(x))
def _sinh_array(x: Array, out: Array) -> tuple[Array]:
    return (np.cosh(x),)


@unary("Hyperbolic cosine.")
@rule("cosh", 1, _floats.cosh, (0.5,), (-1.2,), (2.0,))
def cosh(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂cosh x/∂x = sinh x"""
    return (sinh(x),)


@arrays("cosh", lambda x: np.cosh(x))
def _cosh_array(x: Array, out: Array) -> tuple[Array]:
    return (np.sinh(x),)


@unary("Arc sine; nan outside [-1, 1].")
@rule("asin", 1, _floats.asin, (0.5,), (-0.3,), (0.9,))
def asin(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂asin x/∂x = 1/√(1 - x²)"""
    return (1 / sqrt(1 - x * x),)


@arrays("asin", lambda x: np.arcsin(x))
def _asin_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / np.sqrt(1 - x * x),)


@unary("Arc cosine; nan outside [-1, 1].")
@rule("acos", 1, _floats.acos, (0.5,), (-0.3,), (0.9,))
def acos(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂acos x/∂x = -1/√(1 - x²)"""
    return (-1 / sqrt(1 - x * x),)


@arrays("acos", lambda x: np.arccos(x))
def _acos_array(x: Array, out: Array) -> tuple[Array]:
    return (-1 / np.sqrt(1 - x * x),)


@unary("Arc tangent.")
@rule("atan", 1, math.atan, (0.5,), (-1.2,), (3.0,))
def atan(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂atan x/∂x = 1/(1 + x²)"""
    return (1 / (1 + x * x),)


@arrays("atan", lambda x: np.arctan(x))
def _atan_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / (1 + x * x),)


@unary("Inverse hyperbolic sine.")
@rule("asinh", 1, math.asinh, (0.5,), (-1.2,), (3.0,))
def asinh(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂asinh x/∂x = 1/√(x² + 1)"""
    return (1 / sqrt(x * x + 1),)


@arrays("asinh", lambda x: np.arcsinh(x))
def _asinh_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / np.sqrt(x * x + 1),)


@unary("Inverse hyperbolic cosine; nan below 1.")
@rule("acosh", 1, _floats.acosh, (1.5,), (2.0,), (5.0,))
def acosh(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂acosh x/∂x = 1/√(x² - 1)"""
    return (1 / sqrt(x * x - 1),)


@arrays("acosh", lambda x: np.arccosh(x))
def _acosh_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / np.sqrt(x * x - 1),)


@unary("Inverse hyperbolic tangent; ``±inf`` at ±1, nan beyond.")
@rule("atanh", 1, _floats.atanh, (0.5,), (-0.3,), (0.8,))
def atanh(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂atanh x/∂x = 1/(1 - x²)"""
    return (1 / (1 - x * x),)


@arrays("atanh", lambda x: np.arctanh(x))
def _atanh_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / (1 - x * x),)


@binary("``atan2(y, x)``: the angle of the point (x, y), as ``math.atan2``.")
@rule("atan2", 2, math.atan2, (1.0, 2.0), (-0.5, 0.3), (2.0, -1.5))
def atan2(y: Scalar, x: Scalar, out: Scalar) -> tuple[Scalar | float, Scalar | float]:
    """∂atan2(y, x)/∂y = x/(x² + y²), ∂atan2(y, x)/∂x = -y/(x² + y²)  (0 at the origin)"""
    if value(y) == 0.0 and value(x) == 0.0:
        return 0.0 * value(x), -0.0 * value(y)  # PyTorch's zeros, signs included
    r = hypot(y, x)  # x/r/r, not x/(x² + y²): x² + y² underflows to 0 for tiny x and y
    return x / r / r, -y / r / r


@arrays("atan2", lambda y, x: np.arctan2(y, x))
def _atan2_array(y: Array, x: Array, out: Array) -> tuple[Array, Array]:
    origin = (y == 0.0) & (x == 0.0)
    r = np.hypot(y, x)
    return np.where(origin, 0.0 * x, x / r / r), np.where(origin, -0.0 * y, -y / r / r)


@binary("``√(a² + b²)`` without overflow, as ``math.hypot``.")
@rule("hypot", 2, math.hypot, (3.0, 4.0), (-0.5, 1.2), (2.0, -0.1))
def hypot(a: Scalar, b: Scalar, out: Scalar) -> tuple[Scalar, Scalar]:
    """∂√(a² + b²)/∂a = a/√(a² + b²), ∂√(a² + b²)/∂b = b/√(a² + b²)"""
    return a / out, b / out


@arrays("hypot", lambda a, b: np.hypot(a, b))
def _hypot_array(a: Array, b: Array, out: Array) -> tuple[Array, Array]:
    return a / out, b / out


# ------------------------------------------------------------ exponentials and logarithms


@unary("``log(1 + x)``, accurate near 0.")
@rule("log1p", 1, _floats.log1p, (0.5,), (-0.5,), (3.0,))
def log1p(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂ln(1 + x)/∂x = 1/(1 + x)"""
    return (1 / (x + 1),)


@arrays("log1p", lambda x: np.log1p(x))
def _log1p_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / (x + 1),)


@unary("``exp(x) - 1``, accurate near 0.")
@rule("expm1", 1, _floats.expm1, (0.5,), (-1.2,), (2.0,))
def expm1(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂(eˣ - 1)/∂x = eˣ"""
    return (exp(x),)  # not out + 1, which cancels to 0 where eˣ is below 1e-16


@arrays("expm1", lambda x: np.expm1(x))
def _expm1_array(x: Array, out: Array) -> tuple[Array]:
    return (np.exp(x),)


@unary("Base-2 logarithm.")
@rule("log2", 1, _floats.log2, (0.5,), (1.7,), (10.0,))
def log2(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂log₂x/∂x = 1/(x·ln 2)"""
    return (1 / (x * _LN2),)


@arrays("log2", lambda x: np.log2(x))
def _log2_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / (x * _LN2),)


@unary("Base-10 logarithm.")
@rule("log10", 1, _floats.log10, (0.5,), (1.7,), (10.0,))
def log10(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂log₁₀x/∂x = 1/(x·ln 10)"""
    return (1 / (x * _LN10),)


@arrays("log10", lambda x: np.log10(x))
def _log10_array(x: Array, out: Array) -> tuple[Array]:
    return (1 / (x * _LN10),)


@unary("``2 ** x``.")
@rule("exp2", 1, _floats.exp2, (0.5,), (-1.2,), (3.0,))
def exp2(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂2ˣ/∂x = 2ˣ·ln 2"""
    return (out * _LN2,)


@arrays("exp2", lambda x: np.exp2(x))
def _exp2_array(x: Array, out: Array) -> tuple[Array]:
    return (out * _LN2,)


@unary("The error function ``2/√π ∫₀ˣ e^(-t²) dt``.")
@rule("erf", 1, math.erf, (0.5,), (-1.2,), (2.0,))
def erf(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂erf x/∂x = 2/√π·e^(-x²)"""
    return (_2_SQRTPI * exp(-(x * x)),)


def _erf_forward(x: Array) -> Array:
    # NumPy has no erf: math.erf element by element (exact, at Python speed).
    result: Array = np.asarray(np.frompyfunc(math.erf, 1, 1)(x), dtype=np.float64)
    return result


@arrays("erf", _erf_forward)
def _erf_array(x: Array, out: Array) -> tuple[Array]:
    return (_2_SQRTPI * np.exp(-(x * x)),)


# ------------------------------------------------------------ piecewise: derivative 0 a.e.


@unary("-1, 0 or 1; its derivative is 0 everywhere, as in PyTorch.")
@rule("sign", 1, _floats.sign, (0.5,), (-1.2,))
def sign(x: Scalar, out: Scalar) -> tuple[float]:
    """∂sign x/∂x = 0  (0 at 0 too, as PyTorch)"""
    return (0.0,)


@arrays(
    "sign", lambda x: np.where(x > 0.0, 1.0, np.where(x < 0.0, -1.0, np.where(x == 0.0, 0.0, x)))
)
def _sign_array(x: Array, out: Array) -> tuple[float]:
    return (0.0,)


@unary("The largest integer <= x (a float); derivative 0, as in PyTorch.")
@rule("floor", 1, _floats.floor, (0.5,), (-1.3,), (2.7,))
def floor(x: Scalar, out: Scalar) -> tuple[float]:
    """∂⌊x⌋/∂x = 0  (0 at the integers too, as PyTorch)"""
    return (0.0,)


@arrays("floor", lambda x: np.floor(x))
def _floor_array(x: Array, out: Array) -> tuple[float]:
    return (0.0,)


@unary("The smallest integer >= x (a float); derivative 0, as in PyTorch.")
@rule("ceil", 1, _floats.ceil, (0.5,), (-1.3,), (2.7,))
def ceil(x: Scalar, out: Scalar) -> tuple[float]:
    """∂⌈x⌉/∂x = 0  (0 at the integers too, as PyTorch)"""
    return (0.0,)


@arrays("ceil", lambda x: np.ceil(x))
def _ceil_array(x: Array, out: Array) -> tuple[float]:
    return (0.0,)


@binary("C's remainder ``a - trunc(a/b)·b`` (the sign of a), as ``math.fmod``.")
@rule("fmod", 2, _floats.fmod, (5.5, 2.0), (-5.5, 2.0), (7.3, -2.5))
def fmod(a: Scalar, b: Scalar, out: Scalar) -> tuple[float, float]:
    """∂fmod(a, b)/∂a = 1, ∂fmod(a, b)/∂b = -trunc(a/b)"""
    return 1.0, -_floats.truncdiv(value(a), value(b))


@arrays("fmod", lambda a, b: np.fmod(a, b))
def _fmod_array(a: Array, b: Array, out: Array) -> tuple[float, Array]:
    q = a / b
    return 1.0, -np.where(np.isfinite(q), np.copysign(np.trunc(q), q), q)


@binary("Python's ``a % b``: ``a - floor(a/b)·b`` (the sign of b).")
@rule("mod", 2, _floats.mod, (5.5, 2.0), (-5.5, 2.0), (7.3, -2.5))
def mod(a: Scalar, b: Scalar, out: Scalar) -> tuple[float, float]:
    """∂(a % b)/∂a = 1, ∂(a % b)/∂b = -⌊a/b⌋"""
    return 1.0, -_floats.floordiv(value(a), value(b))


def _mod_forward(a: Array, b: Array) -> Array:
    m = np.fmod(a, b)
    result: Array = np.where((m != 0.0) & ((b < 0.0) != (m < 0.0)), m + b, m)
    return result


@arrays("mod", _mod_forward)
def _mod_array(a: Array, b: Array, out: Array) -> tuple[float, Array]:
    return 1.0, -np.where(b == 0.0, a / b, np.floor_divide(a, b))  # Python's // (NumPy's too)


@binary("The smaller argument; a tie splits the gradient half and half.")
@rule("minimum", 2, _floats.minimum, (1.5, -2.0), (0.3, 4.0))
def minimum(a: Scalar, b: Scalar, out: Scalar) -> tuple[float, float]:
    """∂min(a, b)/∂a = 1 if a < b, 0 if a > b, ½ if a = b; ∂/∂b the other way round"""
    va, vb = value(a), value(b)
    if va == vb:
        return 0.5, 0.5  # a tie splits the gradient, as PyTorch
    return (0.0 if va > vb else 1.0), (0.0 if va < vb else 1.0)  # nan: 1 and 1, as PyTorch


@arrays("minimum", lambda a, b: np.where(a != a, a, np.where(b != b, b, np.where(b < a, b, a))))
def _minimum_array(a: Array, b: Array, out: Array) -> tuple[Array, Array]:
    tie = a == b
    return np.where(tie, 0.5, np.where(a > b, 0.0, 1.0)), np.where(
        tie, 0.5, np.where(a < b, 0.0, 1.0)
    )


@binary("The larger argument; a tie splits the gradient half and half.")
@rule("maximum", 2, _floats.maximum, (1.5, -2.0), (0.3, 4.0))
def maximum(a: Scalar, b: Scalar, out: Scalar) -> tuple[float, float]:
    """∂max(a, b)/∂a = 1 if a > b, 0 if a < b, ½ if a = b; ∂/∂b the other way round"""
    va, vb = value(a), value(b)
    if va == vb:
        return 0.5, 0.5  # a tie splits the gradient, as PyTorch
    return (0.0 if va < vb else 1.0), (0.0 if va > vb else 1.0)  # nan: 1 and 1, as PyTorch


@arrays("maximum", lambda a, b: np.where(a != a, a, np.where(b != b, b, np.where(a < b, b, a))))
def _maximum_array(a: Array, b: Array, out: Array) -> tuple[Array, Array]:
    tie = a == b
    return np.where(tie, 0.5, np.where(a < b, 0.0, 1.0)), np.where(
        tie, 0.5, np.where(a > b, 0.0, 1.0)
    )


# ------------------------------------------------------------ activations


@unary("``log(1 + exp(x))``, a smooth relu.")
@rule("softplus", 1, _floats.softplus, (0.5,), (-1.2,), (3.0,))
def softplus(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂ln(1 + eˣ)/∂x = σ(x)"""
    return (sigmoid(x),)


def _softplus_forward(x: Array) -> Array:
    e = np.exp(np.where(x > 0.0, -x, x))
    result: Array = np.where(x > 0.0, x + np.log1p(e), np.log1p(e))
    return result


@arrays("softplus", _softplus_forward)
def _softplus_array(x: Array, out: Array) -> tuple[Array]:
    return (_sigmoid_forward(x),)


@binary("``x`` above 0, ``negative_slope·x`` elsewhere.", name="leaky_relu")
@rule("leaky_relu", 2, _floats.leaky_relu, (0.5, 0.01), (-1.2, 0.01), (-0.7, 0.2), (2.0, 0.3))
def _leaky_relu(x: Scalar, slope: Scalar, out: Scalar) -> tuple[Scalar | float, Scalar | float]:
    """∂/∂x = 1 if x > 0 else slope,  ∂/∂slope = 0 if x > 0 else x"""
    if value(x) > 0.0:
        return 1.0, 0.0
    return slope, x


@arrays("leaky_relu", lambda x, slope: np.where(x > 0.0, x, slope * x))
def _leaky_relu_array(x: Array, slope: Array, out: Array) -> tuple[Array, Array]:
    above = x > 0.0
    return np.where(above, 1.0, slope), np.where(above, 0.0, x)


@unary("``x·Φ(x)``, Φ the standard normal CDF (the exact, erf form).")
@rule("gelu", 1, _floats.gelu, (0.5,), (-1.2,), (2.0,))
def gelu(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂x·Φ(x)/∂x = Φ(x) + x·φ(x),  Φ(x) = ½(1 + erf(x/√2)), φ(x) = e^(-x²/2)/√(2π)"""
    return (0.5 * (1 + erf(x * _floats.SQRT1_2)) + x * (_1_SQRT_2PI * exp(x * x * -0.5)),)


@arrays("gelu", lambda x: x * 0.5 * (1.0 + _erf_forward(x * _floats.SQRT1_2)))
def _gelu_array(x: Array, out: Array) -> tuple[Array]:
    phi = _1_SQRT_2PI * np.exp(x * x * -0.5)
    return (0.5 * (1 + _erf_forward(x * _floats.SQRT1_2)) + x * phi,)


@unary("``x·sigmoid(x)`` (also called swish).")
@rule("silu", 1, _floats.silu, (0.5,), (-1.2,), (2.0,))
def silu(x: Scalar, out: Scalar) -> tuple[Scalar]:
    """∂x·σ(x)/∂x = σ(x)·(1 + x·(1 - σ(x)))"""
    s = sigmoid(x)
    return (s * (1 + x * (1 - s)),)


@arrays("silu", lambda x: x / (1.0 + np.exp(-x)))
def _silu_array(x: Array, out: Array) -> tuple[Array]:
    s = _sigmoid_forward(x)
    return (s * (1 + x * (1 - s)),)
