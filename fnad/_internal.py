"""Private helpers that several fnad modules share: one home, public names, no users outside fnad.

Everything here is an implementation detail (the module name starts with ``_``): the
functions have plain names so that the modules importing them read clearly
(``from fnad._internal import describe, float_partials``), and no fnad module imports
another module's underscore names.

- **Messages**: :func:`describe` shows an offending value; :func:`name_of` names a function;
  :func:`printable` escapes text from a file before it reaches a terminal.
- **Running rules on floats**: :func:`run_forward` and :func:`float_partials` evaluate a
  rule's forward function and partials with IEEE 754 results (a rerun on
  :class:`~fnad._floats.IEEEFloat` when Python raises), and :func:`check_arity` is the
  one check that partials returned one value per argument.
- **Strict-mode errors**: :func:`non_finite_value` and :func:`non_finite_gradient`.

This module sits right above :mod:`fnad.errors` and :mod:`fnad._floats`: it may not import
any other part of fnad (Rule and Node appear only in annotations).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import numbers
import os
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from fnad._floats import IEEEFloat
from fnad.errors import FnadError, NonFiniteError, OutputFormatError, RuleError

if TYPE_CHECKING:
    from fnad.engine.node import Node
    from fnad.engine.rules import Rule

__all__ = [
    "INVISIBLE",
    "LazyModule",
    "Vertex",
    "accepts_positional",
    "as_result",
    "check_arity",
    "describe",
    "float_partials",
    "format_of",
    "name_of",
    "non_finite_gradient",
    "non_finite_value",
    "printable",
    "run_forward",
]


def describe(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters, with its type: for error messages.

    >>> describe("2"), describe(None)
    ("'2' (str)", 'None (NoneType)')
    """
    text = repr(value)
    if len(text) > width:
        text = text[: width - 3] + "..."
    return f"{text} ({type(value).__name__})"


INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
"""Characters Python calls printable that nobody can see (Hangul fillers, the blank braille
pattern, the combining grapheme joiner): escaped like the non-printable ones."""


def printable(text: str) -> str:
    r"""``text`` safe to print on a terminal: every character that is not printable is escaped.

    Control characters (newlines, escape sequences), format characters (such as the
    right-to-left override) and separators other than the space are written as in a
    Python ``repr`` (``\n``, ``\x1b``, ``\u202e``), so a label read from a file can
    neither forge an output line nor clear the screen, move the cursor or retitle the
    window; so are the few printable characters nobody can see (:data:`INVISIBLE`, such as
    the Hangul filler U+3164). Printable text, any script included, is left alone.

    >>> print(printable("x = 0.0\nf = 42.0\ndf/dx"))
    x = 0.0\nf = 42.0\ndf/dx
    >>> print(printable("\x1b[2J\x1b]0;owned\x07y θ"))
    \x1b[2J\x1b]0;owned\x07y θ
    >>> print(printable("w\u3164x\u202ey"))
    w\u3164x\u202ey
    """
    if text.isprintable() and INVISIBLE.isdisjoint(text):
        return text
    return "".join(_escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    if ch in INVISIBLE:  # printable to Python, so repr() would leave it as it is
        return f"\\u{ord(ch):04x}"
    return ch if ch.isprintable() else repr(ch)[1:-1]


def format_of(
    path: str | os.PathLike[str], formats: Iterable[str], action: str, kind: str, fix: str
) -> str:
    """The file format named by ``path``'s extension (lower case, one of ``formats``), or an
    OutputFormatError: "{action} {path!r}: its extension ... is not {kind}; {fix}"."""
    suffix = os.path.splitext(os.fspath(path))[1]
    if suffix.lower().lstrip(".") in formats:
        return suffix.lower().lstrip(".")
    problem = (
        f"its extension {suffix!r} is not {kind}"
        if suffix
        else "the name has no extension to tell the format"
    )
    raise OutputFormatError(f"{action} {os.fspath(path)!r}: {problem}; {fix}")


def name_of(f: object) -> str:
    """A function's name for messages (``<lambda>``, a callable's type otherwise)."""
    name = getattr(f, "__name__", None) or getattr(f, "name", None)
    return name if isinstance(name, str) else type(f).__name__


def accepts_positional(fn: Callable[..., Any], count: int) -> bool | None:
    """Whether ``fn`` can be called with ``count`` positional arguments (None: unknown)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature
        return None
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


class LazyModule:
    """A module imported on first use: ``np = LazyModule("numpy")`` imports NumPy only when
    ``np.exp`` is first read (fnad's core imports no NumPy at import time). Each attribute
    read is cached on the instance, so later reads are plain attribute lookups.

    >>> m = LazyModule("math")
    >>> m.sqrt(4.0)
    2.0
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self._name), attribute)
        setattr(self, attribute, value)
        return value


# --------------------------------------------------------------------------- rules on floats


def as_result(value: object, rule: Rule) -> float:
    """What a forward function returned, as a builtin float; only custom rules need this."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
        raise RuleError(
            f"op {rule.name!r}: forward returned {describe(value)}; it must return a real number"
        )
    return float(value)


def run_forward(rule: Rule, args: Sequence[float]) -> float:
    """``rule.forward(*args)`` as a builtin float; on a Python arithmetic exception, the
    rule is run again on IEEE floats, so ``1 / x`` gives ``inf`` at 0 instead of raising."""
    try:
        value = rule.forward(*args)
    except FnadError:  # a rule's own diagnosis (e.g. from fnad.defop's checks): keep it
        raise
    except (ArithmeticError, ValueError):
        try:
            value = rule.forward(*[IEEEFloat(a) for a in args])
        except FnadError:
            raise
        except (ArithmeticError, ValueError) as error:
            raise RuleError(
                f"op {rule.name!r}: forward raised {type(error).__name__}: {error} at "
                f"{tuple(args)}; rules must return inf/nan instead of raising "
                "(use the functions in fnad.ops)"
            ) from error
    return value if type(value) is float else as_result(value, rule)


def check_arity(name: str, parts: Sequence[Any], count: int) -> Sequence[Any]:
    """``parts`` if a rule's partials returned one value per argument, else a RuleError."""
    if len(parts) != count:
        raise RuleError(
            f"op {name!r}: partials returned {len(parts)} values for {count} arguments; "
            "return one local derivative per argument"
        )
    return parts


def float_partials(rule: Rule, args: Sequence[float], out: float) -> Sequence[float]:
    """``rule.partials(*args, out)`` on floats, rerun on IEEE floats if Python raises."""
    try:
        parts = rule.partials(*args, out)
    except FnadError:  # a rule's own diagnosis (e.g. from fnad.defop's checks): keep it
        raise
    except (ArithmeticError, ValueError):
        try:
            parts = rule.partials(*[IEEEFloat(a) for a in args], IEEEFloat(out))
        except FnadError:
            raise
        except (ArithmeticError, ValueError) as error:
            raise RuleError(
                f"op {rule.name!r}: partials raised {type(error).__name__}: {error} at "
                f"{tuple(args)}; rules must return inf/nan instead of raising"
            ) from error
        parts = [float(p) for p in parts]
    return check_arity(rule.name, parts, len(args))


# --------------------------------------------------------------------------- strict mode


class Vertex(NamedTuple):
    """A vertex as a strict() message names it, for interpreters that hold no Node."""

    data: float
    op: str
    label: str


def _vertex_name(node: Node | Vertex) -> str:
    return node.label or node.op or "leaf"


def _operand(a: Node | Vertex | float) -> str:
    """An op's input as a strict() message shows it: ``x=2.0``, or a number as the number,
    whether the op was given it as a float or holds it as a wrapped constant (so a graph
    rebuilt with its constants as nodes, e.g. by a replay, reads the same)."""
    if isinstance(a, (int, float)):
        return repr(a)
    if a.op == "const" and not a.label:  # fnad.engine.node.CONST (the engine imports this module)
        return repr(a.data)
    return f"{_vertex_name(a)}={a.data!r}"


def non_finite_value(
    op: str, inputs: Sequence[Node | Vertex | float], value: float
) -> NonFiniteError:
    """strict(): ``op`` produced ``value`` (nan or ±inf) from ``inputs`` (Nodes or floats)."""
    shown = ", ".join(_operand(a) for a in inputs)
    return NonFiniteError(
        f"fnad.strict: op {op!r} produced {value!r} from ({shown}); "
        "check the inputs to this op, or leave the strict() block to get IEEE inf/nan"
    )


def non_finite_gradient(op: str, node: Node, value: float) -> NonFiniteError:
    """strict(): the gradient of ``node`` became ``value`` in backward through ``op``."""
    return NonFiniteError(
        f"fnad.strict: the gradient of {_vertex_name(node)} (data={node.data!r}) became "
        f"{value!r} in backward through op {op!r}; its local derivative is not finite there, "
        "so check the value fed to that op, or leave the strict() block to get IEEE inf/nan"
    )


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (``fnad explain --max-paths``, ``fnad demo --steps``).

    >>> positive_int("20")
    20
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be at least 1, got 0
    """
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number
