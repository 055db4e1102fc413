"""NumPy arrays where :mod:`fnad.nn` takes sequences of numbers, without importing NumPy (helpers of fnad.nn).

An array is recognised by its ``shape``, ``ndim`` and ``tolist`` (NumPy's, and any array
library's that follows it), so fnad never imports NumPy and works without it. ``tolist()``
turns an array into nested lists of Python numbers, which the float paths take as they are.
Errors name the array's shape and the shape expected; for one input point (:func:`point`,
what a model reads), a sequence of the wrong length or something else entirely, they show
a short preview of it.

>>> rows([[1, 2], [3, 4]], "f", "points", 2)
[[1, 2], [3, 4]]
>>> point((1.0, 2.0, 3.0), "MLP(2, [1])", 2)
Traceback (most recent call last):
...
fnad.errors.OperandValueError: MLP(2, [1]): the input has 3 numbers, the network reads 2: (1.0, 2.0, 3.0); pass one number per input
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fnad.engine import Node
from fnad.errors import OperandTypeError, OperandValueError

__all__ = [
    "check_lengths",
    "is_array",
    "point",
    "preview",
    "preview_value",
    "rows",
    "shape_text",
    "values",
]


def is_array(x: object) -> bool:
    """Whether ``x`` is an array (NumPy's or alike): it has a shape, an ndim and tolist()."""
    return (
        not isinstance(x, Node)
        and hasattr(x, "shape")
        and hasattr(x, "ndim")
        and callable(getattr(x, "tolist", None))
    )


def shape_text(x: Any) -> str:
    """``(100, 2)``: an array's shape as NumPy prints it."""
    shape = tuple(int(n) for n in x.shape)
    return repr(shape)


def values(x: Any, who: str, what: str) -> Any:
    """``x`` itself, or a 1-D array as a list of Python numbers; any other array is an error."""
    if not is_array(x):
        return x
    if x.ndim != 1:
        raise OperandValueError(
            f"{who}: {what} is an array of shape {shape_text(x)}; pass a 1-D array (shape "
            f"(n,)) or a sequence, one number per {what[:-1] if what.endswith('s') else what}"
        )
    return x.tolist()


def rows(x: Any, who: str, what: str, width: int | None) -> Any:
    """``x`` itself, or a 2-D array as a list of rows of Python numbers.

    ``width`` (when given) is the number of columns the rows must have.
    """
    if not is_array(x):
        return x
    if x.ndim != 2 or (width is not None and x.shape[1] != width):
        wanted = f"(n, {width})" if width is not None else "(n, k)"
        raise OperandValueError(
            f"{who}: {what} is an array of shape {shape_text(x)}; expected shape {wanted}, "
            "one row per point"
        )
    result: list[Sequence[Any]] = x.tolist()
    return result


def check_lengths(who: str, first: str, a: Sequence[Any], second: str, b: Sequence[Any]) -> None:
    """Refuse two sequences of different lengths, naming both."""
    if len(a) != len(b):
        raise OperandValueError(
            f"{who}: {len(a)} {first} but {len(b)} {second}; pass one of each per point"
        )


def point(x: Any, who: str, width: int) -> Sequence[Any]:
    """One input point of ``width`` numbers: a sequence, or a 1-D array as a list (any
    other array, any other value, or another length is an error that ``who`` begins)."""
    if is_array(x):
        if x.ndim != 1:
            raise OperandTypeError(
                f"{who}: the input is an array of shape {shape_text(x)}, not one point; "
                "a model takes one point, e.g. model(X[0]); for every row, [model(x) for x in X]"
            )
        x = x.tolist()
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise OperandTypeError(
            f"{who}: the input is {preview_value(x)}, not a sequence of "
            f"{width} numbers; pass e.g. model([0.5, -1.0])"
        )
    if len(x) != width:
        raise OperandValueError(
            f"{who}: the input has {len(x)} numbers, the network reads "
            f"{width}: {preview(x)}; pass one number per input"
        )
    return x


def preview_value(x: object) -> str:
    """``x``'s repr and type for an error message, cut to about 40 characters."""
    text = repr(x)
    return (
        f"{text[:40]}... ({type(x).__name__})" if len(text) > 43 else f"{text} ({type(x).__name__})"
    )


def preview(x: Sequence[Any]) -> str:
    """A sequence as a tuple for an error message, cut to 60 characters."""
    text = repr(tuple(x))
    return text if len(text) <= 60 else text[:57] + "..."
