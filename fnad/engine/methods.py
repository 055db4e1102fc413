"""Node's operators, its elementary-function methods and its NumPy protocol: one line per op.

``x * y``, ``x.tanh()`` and ``np.tanh(x)`` all record an op by name through the node's
tape, whose rule table holds the op (the built-in entries are in :mod:`fnad.engine.ops`).
:class:`NodeMethods` is the mixin :class:`~fnad.Node` inherits them from, so Node's own
class body keeps what makes a Node a value.

NumPy: a ufunc on a Node (``np.exp(x)``) records the op of the Node method of the same
name, and NumPy's names for ops are aliases here (``arcsin = asin``): on an object array
of Nodes NumPy calls each element's method of the ufunc's name. The arithmetic ufuncs
(``np.add``, ``np.multiply``, ...) record the ops of the operators (:data:`OPERATOR_UFUNCS`).
So a new op is one line here, and NumPy knows it if NumPy has a function of that name.

Dependencies inside the engine: none at import (a method reaches the tape through the node
it is called on). Node and Tape are imported for type checkers only.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, SupportsFloat, TypeVar

from fnad._internal import describe
from fnad.errors import OperandTypeError

if TYPE_CHECKING:
    from fnad.engine.node import Node, Operand
    from fnad.engine.tape import Tape

__all__ = ["NUMPY_UFUNCS", "OPERATOR_UFUNCS", "NodeMethods"]

_Self = TypeVar("_Self", bound="NodeMethods")
_OPS: dict[Callable[..., Node], str] = {}  # each method made below → the op it records


def _unary(op: str) -> Callable[[Node], Node]:
    def method(self: Node) -> Node:
        return self.tape._apply1(op, self)

    method.__name__, method.__qualname__ = op, f"NodeMethods.{op}"
    method.__doc__ = f"``fnad.{op}(self)``: record op {op!r} on this node's tape."
    _OPS[method] = op
    return method


def _binary(op: str) -> Callable[[Node, Operand], Node]:
    def method(self: Node, other: Operand) -> Node:
        return self.tape._apply2(op, self, other)

    method.__name__, method.__qualname__ = op, f"NodeMethods.{op}"
    method.__doc__ = f"``fnad.{op}(self, other)``: record op {op!r} on this node's tape."
    _OPS[method] = op
    return method


class NodeMethods:
    """What a Node does: the Python operators and one method per elementary function.

    >>> import fnad
    >>> x = fnad.Node(0.5)
    >>> (x * 2).op, x.tanh().op, x.arcsin().op, (-x).op
    ('mul', 'tanh', 'asin', 'neg')
    """

    __slots__ = ()

    if TYPE_CHECKING:  # Node's fields, which the methods use
        data: float
        tape: Tape

    # -- operators: a number on either side becomes a `const` leaf ----------------------
    # Written out, not made by _binary(), so that type checkers see operator methods:
    # mypy then reports `x * "3"` as an unsupported operand type, as for any number type.

    def __add__(self, other: Operand) -> Node:
        return self.tape._apply2("add", self, other)

    def __radd__(self, other: SupportsFloat) -> Node:
        return self.tape._apply2("add", other, self)

    def __sub__(self, other: Operand) -> Node:
        return self.tape._apply2("sub", self, other)

    def __rsub__(self, other: SupportsFloat) -> Node:
        return self.tape._apply2("sub", other, self)

    def __mul__(self, other: Operand) -> Node:
        return self.tape._apply2("mul", self, other)

    def __rmul__(self, other: SupportsFloat) -> Node:
        return self.tape._apply2("mul", other, self)

    def __truediv__(self, other: Operand) -> Node:
        return self.tape._apply2("truediv", self, other)

    def __rtruediv__(self, other: SupportsFloat) -> Node:
        return self.tape._apply2("truediv", other, self)

    def __pow__(self, other: Operand) -> Node:
        return self.tape._apply2("pow", self, other)

    def __rpow__(self, other: SupportsFloat) -> Node:
        return self.tape._apply2("pow", other, self)

    def __mod__(self, other: Operand) -> Node:
        return self.tape._apply2("mod", self, other)

    def __rmod__(self, other: SupportsFloat) -> Node:
        return self.tape._apply2("mod", other, self)

    def __neg__(self) -> Node:
        return self.tape._apply1("neg", self)

    def __pos__(self: _Self) -> _Self:
        return self

    def __abs__(self) -> Node:
        return self.tape._apply1("abs", self)

    def __floor__(self) -> Node:  # math.floor(x), and np.floor of an object array
        return self.tape._apply1("floor", self)

    def __ceil__(self) -> Node:  # math.ceil(x), and np.ceil of an object array
        return self.tape._apply1("ceil", self)

    # -- elementary functions (their rules: fnad/engine/ops.py) --------------------------
    relu = _unary("relu")
    tanh = _unary("tanh")
    exp = _unary("exp")
    log = _unary("log")
    sigmoid = _unary("sigmoid")
    sin = _unary("sin")
    cos = _unary("cos")
    sqrt = _unary("sqrt")
    abs = _unary("abs")
    tan = _unary("tan")
    sinh = _unary("sinh")
    cosh = _unary("cosh")
    asin = _unary("asin")
    acos = _unary("acos")
    atan = _unary("atan")
    asinh = _unary("asinh")
    acosh = _unary("acosh")
    atanh = _unary("atanh")
    atan2 = _binary("atan2")  # x.atan2(y) is atan2(x, y): the angle of the point (y, x)
    hypot = _binary("hypot")
    log1p = _unary("log1p")
    expm1 = _unary("expm1")
    log2 = _unary("log2")
    log10 = _unary("log10")
    exp2 = _unary("exp2")
    erf = _unary("erf")
    sign = _unary("sign")
    floor = _unary("floor")
    ceil = _unary("ceil")
    fmod = _binary("fmod")
    mod = _binary("mod")
    minimum = _binary("minimum")
    maximum = _binary("maximum")
    softplus = _unary("softplus")
    gelu = _unary("gelu")
    silu = _unary("silu")

    def leaky_relu(self, negative_slope: Operand = 0.01) -> Node:
        """``self`` above 0, ``negative_slope·self`` elsewhere (a Node slope gets a gradient)."""
        return self.tape._apply2("leaky_relu", self, negative_slope)

    # -- NumPy's names for the same ops --------------------------------------------------
    arcsin = asin
    arccos = acos
    arctan = atan
    arcsinh = asinh
    arccosh = acosh
    arctanh = atanh
    arctan2 = atan2
    fabs = abs  # noqa: A003 - NumPy's name for it

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.exp(x)`` records fnad's op; a NumPy array next to a Node is refused.

        A Node is a scalar: ``np.array([1.0]) + x`` is an OperandTypeError, as ``x +
        np.array([1.0])`` is (neither records anything). Arrays *of* Nodes work element by
        element: ``np.tan(np.array([x, y], dtype=object))``. Ordering comparisons compare
        values; ``==`` is identity.
        """
        name = getattr(ufunc, "__name__", repr(ufunc))
        if method == "__call__" and not kwargs:  # comparisons record nothing
            if name in ("less", "less_equal", "greater", "greater_equal"):
                return ufunc(*[a.data if isinstance(a, NodeMethods) else a for a in inputs])
            if name in ("equal", "not_equal"):  # Nodes compare by identity
                return (inputs[0] is inputs[1]) == (name == "equal")
        for position, operand in enumerate(inputs, 1):
            if not isinstance(operand, (NodeMethods, numbers.Real, Decimal)):
                raise OperandTypeError(
                    f"numpy.{name}: argument {position} is {describe(operand)}; a fnad Node "
                    "is a scalar and does not combine with arrays. Apply the op per element, "
                    "e.g. on an object array of Nodes: np.array([x, y], dtype=object)"
                )
        op = NUMPY_UFUNCS.get(name)
        if method == "__call__" and not kwargs and op is not None:
            return self.tape.apply(op, *inputs)
        raise OperandTypeError(
            f"numpy.{name}{'' if method == '__call__' else '.' + method}"
            f"{'(..., ' + ', '.join(f'{k}=' for k in kwargs) + ')' if kwargs else ''}: not "
            "supported on a fnad Node; call it without keyword arguments, or use one of the "
            f"ufuncs fnad records: {', '.join(_numpy_names())}"
        )


OPERATOR_UFUNCS = {
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "divide": "truediv",
    "power": "pow",
    "float_power": "pow",
    "negative": "neg",
    "remainder": "mod",
    "absolute": "abs",
}
"""NumPy's ufuncs for Python's operators → the op they record (``np.add(x, 1)`` is ``x + 1``)."""

NUMPY_UFUNCS = {
    **OPERATOR_UFUNCS,
    **{
        name: _OPS[method]
        for name, method in vars(NodeMethods).items()
        if not name.startswith("__") and method in _OPS
    },
}
"""ufunc name → fnad op: a method's name (``exp``, ``arcsin``) or an operator's ufunc."""


def _numpy_names() -> list[str]:
    """The names in NUMPY_UFUNCS that NumPy has ufuncs of (``relu`` is fnad's, not NumPy's)."""
    import numpy  # present: NumPy is the caller

    return sorted(n for n in NUMPY_UFUNCS if isinstance(getattr(numpy, n, None), numpy.ufunc))
