"""Every error a user of fnad can cause.

Each class subclasses :class:`FnadError` *and* the standard exception that fits, so
``except TypeError`` or ``except ValueError`` keeps working in code that does not know
fnad. Messages name the op, the offending value or node, and the fix.

This module depends on nothing else in fnad.
"""

from __future__ import annotations

__all__ = [
    "ExpressionError",
    "FnadError",
    "GradCheckError",
    "GraphArgumentError",
    "GraphFormatError",
    "GraphSizeError",
    "NonFiniteError",
    "OperandTypeError",
    "OperandValueError",
    "RenderError",
    "ReplayInputError",
    "RuleError",
    "TapeError",
    "TransformError",
    "UnknownOpError",
]


class FnadError(Exception):
    """Base class of every exception fnad raises on purpose."""


class ExpressionError(FnadError, ValueError):
    """Text given to the expression parser (:mod:`fnad.parser`) is not an accepted expression.

    ``column`` is the 1-based position of the offending part, or None when the problem is
    not at one place (a missing variable value, an empty expression).
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


class OperandTypeError(FnadError, TypeError):
    """An op received something that is not a real number or a Node (str, None, bool, ...)."""


class OperandValueError(FnadError, ValueError):
    """An op received a real number that cannot be a float (an int too large, a signalling NaN)."""


class TapeError(FnadError, ValueError):
    """Nodes recorded on two different tapes were combined."""


class RuleError(FnadError, ValueError):
    """A derivative rule is malformed: duplicate name, bad arity, missing or wrong partials."""


class UnknownOpError(RuleError, KeyError):
    """No rule is registered under the requested op name."""

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return str(self.args[0]) if self.args else ""


class NonFiniteError(FnadError, FloatingPointError, ValueError):
    """Under :func:`fnad.strict`, an op produced nan or ±inf."""


class GradCheckError(FnadError, AssertionError):
    """A derivative disagreed with its finite-difference estimate."""


class TransformError(FnadError, ValueError):
    """A transform (``fnad.grad``, ``jvp``, ...) was called wrongly: bad ``argnums``, primals
    and tangents of different lengths, or a function that does not return a scalar."""


class GraphFormatError(FnadError, ValueError):
    """An exported graph document is malformed, unsafe or from an unknown schema version."""


class GraphArgumentError(FnadError, TypeError):
    """A graph loader was given something that is neither a path nor a document's content
    (a file descriptor, None, a number...), or a limit or rule table of the wrong type."""


class GraphSizeError(FnadError, ValueError):
    """A graph is larger than the limit an operation was asked to respect (e.g. rendering)."""


class ReplayInputError(FnadError, TypeError):
    """A loaded :class:`fnad.Program` was called with an input name it does not have."""


class RenderError(FnadError, RuntimeError):
    """Rendering failed: the graphviz package or its ``dot`` program is missing or failed."""
