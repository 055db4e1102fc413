"""Every error a user of fnad can cause.

Each class subclasses :class:`FnadError` *and* the standard exception that fits, so
``except TypeError`` or ``except ValueError`` keeps working in code that does not know
fnad. Messages name the op, the offending value or node, and the fix.

This module depends on nothing else in fnad (only on attrs, for ``FrozenInstanceError``, and
on the standard library's pickle, for ``PicklingError``).
"""

from __future__ import annotations

import pickle

from attrs.exceptions import FrozenInstanceError

__all__ = [
    "ExpressionError",
    "FnadError",
    "GradCheckError",
    "GraphArgumentError",
    "GraphFileError",
    "GraphFormatError",
    "GraphSizeError",
    "ImmutableError",
    "MissingAttributeError",
    "ModelFileError",
    "NoGradientError",
    "NonFiniteError",
    "OperandTypeError",
    "OperandValueError",
    "OutputFormatError",
    "OutputTypeError",
    "RenamedError",
    "RenderError",
    "ReplayInputError",
    "RuleError",
    "TapeError",
    "TapeGrowthWarning",
    "TransformError",
    "UnknownOpError",
    "UnpicklableError",
]


class FnadError(Exception):
    """Base class of every exception fnad raises on purpose."""


class ExpressionError(FnadError, ValueError):
    """Text given to the expression parser (:mod:`fnad.cli.parser`) is not an accepted expression.

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


class UnpicklableError(FnadError, pickle.PicklingError):
    """An object cannot be pickled: a custom op's functions cannot be imported by name."""


class NonFiniteError(FnadError, FloatingPointError, ValueError):
    """Under :func:`fnad.strict`, an op produced nan or ±inf."""


class GradCheckError(FnadError, AssertionError):
    """A derivative disagreed with its finite-difference estimate."""


class TransformError(FnadError, ValueError):
    """A transform (``fnad.grad``, ``jvp``, ...) was called wrongly: bad ``argnums``, primals
    and tangents of different lengths, or a function that does not return a scalar."""


class OutputTypeError(TransformError, TypeError):
    """A function given to a transform returned something other than one scalar: a tuple, a
    list, a bool, None, ... (a TypeError, as in JAX and autograd; a TransformError too)."""


class GraphFormatError(FnadError, ValueError):
    """An exported graph document is malformed, unsafe or from an unknown schema version."""


class GraphArgumentError(FnadError, TypeError):
    """A graph loader was given something that is neither a path nor a document's content
    (a file descriptor, None, a number...), or a limit or rule table of the wrong type."""


class GraphFileError(FnadError, OSError):
    """A graph loader could not read the file it was given (missing, unreadable): the
    message names the path and, for a ``str``, why it was taken as a path and not as the
    document's text. ``errno``, ``strerror`` and ``filename`` are the operating system's."""

    def __str__(self) -> str:  # the message, not OSError's "[Errno 2] ..." form
        return str(self.args[0]) if self.args else ""


class GraphSizeError(FnadError, ValueError):
    """A graph is larger than the limit an operation was asked to respect (e.g. rendering)."""


class ReplayInputError(FnadError, TypeError):
    """A loaded :class:`fnad.Program` was called with an input name it does not have."""


class RenderError(FnadError, RuntimeError):
    """Rendering failed: the graphviz package or its ``dot`` program is missing or failed."""


class ImmutableError(FnadError, FrozenInstanceError):
    """An attribute of an immutable value (a Node, a ``fnad.nn`` model) was assigned or deleted.

    Still attrs' ``FrozenInstanceError`` (an ``AttributeError``), for code that catches those;
    the message names the functional way to get the new value.
    """

    def __init__(self, message: str) -> None:
        # FrozenInstanceError.__init__ takes no message: set what it would have set.
        AttributeError.__init__(self, message)
        self.msg = message


class MissingAttributeError(FnadError, AttributeError):
    """A habit from micrograd or PyTorch asked for something fnad does not have
    (``zero_grad``, ``_prev``, ``item``); the message says what to write instead."""


class RenamedError(FnadError, ImportError):
    """A name from micrograd that fnad spells differently was imported from fnad
    (``from fnad import Value``); the message names fnad's (``Node``)."""


class NoGradientError(FnadError, KeyError):
    """A :class:`~fnad.Gradients` mapping was asked for a node the output does not depend on.

    Still a ``KeyError``, so ``grads.get(node, 0.0)`` and ``node in grads`` work as for a dict.
    """

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return str(self.args[0]) if self.args else ""


class ModelFileError(FnadError, ValueError):
    """A saved :mod:`fnad.nn` model (``MLP.load``) is malformed, too large or of another format."""


class OutputFormatError(FnadError, ValueError):
    """A file's extension names a format fnad cannot write there (``fnad.render``,
    ``fnad grad --svg``, ``fnad demo --plot``); the message lists the ones it can."""


class TapeGrowthWarning(ResourceWarning):
    """The default tape keeps growing: graphs are being built outside ``with fnad.Tape():``.

    Issued once per default tape. fnad shows it even though Python hides ``ResourceWarning``
    by default (unless you passed ``-W`` options); silence it with
    ``warnings.filterwarnings("ignore", category=fnad.TapeGrowthWarning)``.
    """
