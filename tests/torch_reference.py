"""The edge points of tests/test_torch_reference.py, and the script that computed its
PyTorch table (run by hand).

PyTorch is not a dependency of fnad, not even a dev one: this script ran once, in a venv with
``pip install torch`` (2.13.0+cpu), and its output is committed as a literal table, so the
test needs no torch. Rerun it after adding an op or an edge point::

    .venv/bin/python -m tests.torch_reference > /tmp/table.py

and replace the rows of ``TORCH`` in tests/test_torch_reference.py with the printed ones.

Each row is ``(op, args, value, first, second)``: the value of the op (or of one of the
``EXPRESSIONS`` below, such as ``x**0``) at ``args``, its first partial derivatives (one per
argument), and for one-argument ops its second derivative (None for two-argument ops), all
computed by PyTorch's autograd in float64.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

inf, nan = math.inf, math.nan

Row = tuple[str, tuple[float, ...], float, tuple[float, ...], "float | None"]

# 0, -0, kinks and poles (±1, integers, π/2), overflow (30, 1000), tiny, ±inf and nan.
UNARY_POINTS = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 1.5707963267948966, 30.0, -30.0]
UNARY_POINTS += [1000.0, -1000.0, 1e-300, inf, -inf, nan]
BINARY_VALUES = [0.0, -0.0, 1.0, -2.5, inf, -inf, nan]

# Expressions with a Python number on one side: PyTorch runs other kernels for them than
# for two tensors (x**0.5 is its sqrt, 1/x its reciprocal), so they are checked on their own.
# The same lambdas build the expression from a torch tensor and from a fnad Node.
EXPRESSIONS: dict[str, Callable[[Any], Any]] = {
    "x**0": lambda x: x**0,
    "x**0.5": lambda x: x**0.5,
    "x**-1": lambda x: x**-1,
    "x**3": lambda x: x**3,
    "2**x": lambda x: 2**x,
    "1/x": lambda x: 1 / x,
    "x/3": lambda x: x / 3,
    "x%2": lambda x: x % 2,
}
EXPRESSION_POINTS = [0.0, -0.0, 1.0, -1.0, 2.0, -2.5, inf, -inf, nan]


def _torch_ops() -> tuple[Any, dict[str, Callable[[Any], Any]], dict[str, Callable[..., Any]]]:
    torch: Any = importlib.import_module("torch")
    F: Any = importlib.import_module("torch.nn.functional")
    unary: dict[str, Callable[[Any], Any]] = {
        "neg": lambda x: -x,
        "exp": torch.exp,
        "log": torch.log,
        "sin": torch.sin,
        "cos": torch.cos,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "sqrt": torch.sqrt,
        "relu": torch.relu,
        "abs": torch.abs,
        "tan": torch.tan,
        "sinh": torch.sinh,
        "cosh": torch.cosh,
        "asin": torch.asin,
        "acos": torch.acos,
        "atan": torch.atan,
        "asinh": torch.asinh,
        "acosh": torch.acosh,
        "atanh": torch.atanh,
        "log1p": torch.log1p,
        "expm1": torch.expm1,
        "log2": torch.log2,
        "log10": torch.log10,
        "exp2": torch.exp2,
        "erf": torch.erf,
        "sign": torch.sign,
        "floor": torch.floor,
        "ceil": torch.ceil,
        "softplus": F.softplus,
        "gelu": F.gelu,
        "silu": F.silu,
    }
    binary: dict[str, Callable[..., Any]] = {
        "add": torch.add,
        "sub": torch.sub,
        "mul": torch.mul,
        "truediv": torch.div,
        "pow": torch.pow,
        "atan2": torch.atan2,
        "hypot": torch.hypot,
        "fmod": torch.fmod,
        "mod": torch.remainder,
        "minimum": torch.minimum,
        "maximum": torch.maximum,
        "leaky_relu": F.prelu,  # prelu: leaky_relu whose slope is an input with a gradient
    }
    return torch, unary, binary


def rows() -> list[Row]:
    """Every row of the table, computed by PyTorch."""
    torch, unary, binary = _torch_ops()
    F: Any = importlib.import_module("torch.nn.functional")

    def tensor(v: float) -> Any:
        return torch.tensor(v, dtype=torch.float64, requires_grad=True)

    def number(t: Any) -> float:
        return 0.0 if t is None else float(t.item())

    def unary_row(name: str, f: Callable[[Any], Any], x: float) -> Row:
        xt = tensor(x)
        y = f(xt)
        (d,) = torch.autograd.grad(y, xt, create_graph=True)
        d2 = torch.autograd.grad(d, xt)[0] if d.requires_grad else None  # else d is constant
        return name, (x,), number(y), (number(d),), number(d2)

    def binary_row(name: str, a: float, b: float) -> Row:
        at, bt = tensor(a), tensor(b)
        y = binary[name](at, bt)
        da, db = torch.autograd.grad(y, (at, bt), allow_unused=True)
        return name, (a, b), number(y), (number(da), number(db)), None

    table = [unary_row(name, f, x) for name, f in unary.items() for x in UNARY_POINTS]
    table += [unary_row(n, f, x) for n, f in EXPRESSIONS.items() for x in EXPRESSION_POINTS]
    table += [binary_row(n, a, b) for n in binary for a in BINARY_VALUES for b in BINARY_VALUES]
    # leaky_relu at PyTorch's default slope, where F.leaky_relu must agree with prelu
    for x in UNARY_POINTS:
        row = binary_row("leaky_relu", x, 0.01)
        xt = tensor(x)
        y = F.leaky_relu(xt, 0.01)
        (d,) = torch.autograd.grad(y, xt)
        assert _same(row[2], number(y)) and _same(row[3][0], number(d)), row
        table.append(row)
    return table


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _show(v: float | None) -> str:
    if v is None:
        return "None"
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def main() -> None:
    for name, args, value, first, second in rows():
        shown_args = ", ".join(_show(a) for a in args) + ("," if len(args) == 1 else "")
        shown_first = ", ".join(_show(d) for d in first) + ("," if len(first) == 1 else "")
        print(f"    ({name!r}, ({shown_args}), {_show(value)}, ({shown_first}), {_show(second)}),")


if __name__ == "__main__":
    main()
