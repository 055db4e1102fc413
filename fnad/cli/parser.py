"""A safe parser for arithmetic expressions such as ``"x*y + x**2 + relu(y)"``.

This is the parser behind the ``fnad`` command line. It never evaluates Python: no
``eval``, ``exec``, ``compile`` or ``ast`` of the text. A small hand-written tokenizer
(:mod:`fnad.cli.tokenizer`) and the operator-precedence (shunting-yard) parser here turn
the text into a flat program in postfix order, an :class:`Expression`
(:mod:`fnad.cli.expression`), whose :meth:`Expression.build` runs it with a loop and a
stack, recording every op on the current :class:`~fnad.Tape`. The names an expression may
use, numbers such as ``pi`` and the registered ops, are in :mod:`fnad.cli.vocabulary`.

Accepted, with Python's precedence and meaning:

- decimal numbers: ``2``, ``0.5``, ``.5``, ``1e-3`` (no hex, no ``_`` separators), and
  the names ``pi`` and ``e`` (``inf`` and ``nan`` when non-finite values are allowed): see
  :data:`CONSTANTS`;
- variable names: ASCII identifiers that are not Python keywords or op names;
- ``+ - * / **``, unary ``-`` and ``+``, parentheses;
- calls of registered ops by name with positional arguments: ``relu(y)``, ``tanh(x)``,
  and plugin ops by their dotted name, ``mylib.softplus(x)``.

``-2**2`` is ``-4`` and ``x**-1`` works, as in Python. Anything else raises
:class:`~fnad.ExpressionError` naming the 1-based column and the offending text (and, for an
unknown function, the one probably meant: ``max`` is ``maximum``, ``Relu`` is ``relu``).

Limits, checked while reading the text so that no input can exhaust the stack or memory:

- :data:`MAX_LENGTH` characters of text;
- :data:`MAX_DEPTH` levels of nesting (each open parenthesis or call, each prefix sign
  and each ``**`` whose right side is still open counts one; a flat chain such as
  ``a + b + c + ...`` does not nest);
- :data:`MAX_NODES` numbers, names and operations.

Nothing here recurses, so a 100 000-term chain ``x+x+...+x`` parses and differentiates.

>>> from fnad.cli.parser import parse
>>> expr = parse("x*y + x**2 + relu(y)")
>>> expr.variables
('x', 'y')
>>> expr.value_and_grad(x=2, y=3)
(13.0, {'x': 7.0, 'y': 3.0})
>>> parse("-2**2").value_and_grad()
(-4.0, {})
>>> parse("x.__class__")
Traceback (most recent call last):
...
fnad.errors.ExpressionError: column 2: attribute access ('.__class__') is not allowed; allowed are numbers, variables, + - * / **, ( ) and calls like tanh(x)
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Sequence
from typing import NoReturn

from fnad._internal import positive_int
from fnad.cli.expression import NUM, OP, VAR, Expression, Instruction
from fnad.cli.tokenizer import (
    ALLOWED,
    T_NAME,
    T_NUM,
    T_PUNCT,
    TOKEN_MESSAGES,
    error_at,
    non_ascii_error,
    show,
    tokens,
)
from fnad.cli.vocabulary import (
    CONSTANTS,
    OPERATOR_OPS,
    available_functions,
    did_you_mean,
    function_list,
)
from fnad.engine.rules import RuleTable, current_rules
from fnad.errors import ExpressionError

__all__ = [
    "CONSTANTS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "OPERATOR_OPS",
    "Expression",
    "available_functions",
    "parse",
    "parse_assignments",
    "parse_value",
    "positive_int",
]

MAX_LENGTH = 1_000_000
"""Longest accepted expression text, in characters."""
MAX_DEPTH = 100
"""Deepest accepted nesting of parentheses, calls, prefix signs and ``**`` exponents."""
MAX_NODES = 250_000
"""Most numbers, variable references and operations one expression may contain."""

# NAME=VALUE arguments (parse_assignments, parse_value).
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_NONFINITE = re.compile(r"[+-]?(?:inf|infinity|nan)\Z", re.IGNORECASE)

# Binary operators: op name and precedence; a prefix sign and '**' bind tighter.
_BINARY = {"+": ("add", 1), "-": ("sub", 1), "*": ("mul", 2), "/": ("truediv", 2)}
_PREFIX = 3
_POWER = 4


# --------------------------------------------------------------------------- parser


class _Frame:
    """An entry of the operator stack: an operator waiting for operands, or a '(' marker."""

    __slots__ = ("arguments", "arity", "column", "kind", "op", "precedence", "start")

    def __init__(
        self, kind: str, op: str, precedence: int, column: int, start: int, arity: int = 0
    ) -> None:
        self.kind = kind  # "binary", "prefix", "paren" or "call"
        self.op = op  # the op name ("" for parentheses)
        self.precedence = precedence  # 0 for markers: nothing pops them but ')' and ','
        self.column = column
        self.start = start  # length of the output when pushed: where the operands begin
        self.arity = arity  # for calls: the registered arity
        self.arguments = 1  # for calls: commas seen + 1


def _number(literal: str, column: int, allow_nonfinite: bool) -> float:
    value = float(literal)
    if math.isinf(value) and not allow_nonfinite:
        raise error_at(
            f"the number {show(literal)} is too large for a float (it would be inf); "
            "allow non-finite values (--allow-nonfinite) to use it",
            column,
        )
    return value


def parse(
    text: str, *, rules: RuleTable | None = None, allow_nonfinite: bool = False
) -> Expression:
    """Parse ``text`` into an :class:`Expression`, or raise :class:`~fnad.ExpressionError`.

    ``rules`` is the table whose ops may be called (default: :func:`fnad.current_rules`).
    A number literal too large for a float is an error unless ``allow_nonfinite``.

    >>> parse("2 ** 3 ** 2").value_and_grad()[0]
    512.0
    >>> parse("softmax(x)")
    Traceback (most recent call last):
    ...
    fnad.errors.ExpressionError: column 1: unknown function 'softmax'; available functions: abs, acos, acosh, ..., tan, tanh
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH} "
            "(fnad.cli.parser.MAX_LENGTH)"
        )
    table = current_rules() if rules is None else rules
    return _Parser(text, table, allow_nonfinite).run()


class _Parser:
    """The shunting-yard parser of one text: one method per grammar step.

    Operands (numbers, variables) go straight to the postfix ``output``; operators, '('
    and calls wait on the ``stack`` until an operator of lower precedence, a ',' or a ')'
    pops them. ``expect_operand`` says whether a value or an operator comes next.
    """

    def __init__(self, text: str, table: RuleTable, allow_nonfinite: bool) -> None:
        self.text = text
        self.table = table
        self.allow_nonfinite = allow_nonfinite
        self.functions = available_functions(table)
        self.output: list[Instruction] = []
        self.stack: list[_Frame] = []
        self.variables: dict[str, None] = {}
        self.called: dict[str, None] = {}
        self.expect_operand = True
        self.previous = ""  # text of the previous token, for messages

    def run(self) -> Expression:
        """Read every token, then close what is still open."""
        for kind, token, start in tokens(self.text):
            if kind == T_PUNCT:
                self.punctuation(token, start)
            else:
                self.operand(kind, token, start + 1)
        return self.finish()

    # ---------------------------------------------------------------- the two stacks

    def push(self, frame: _Frame) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise error_at(
                f"the expression nests more than {MAX_DEPTH} levels deep "
                "(fnad.cli.parser.MAX_DEPTH); simplify it",
                frame.column,
            )
        self.stack.append(frame)

    def emit(self, instruction: Instruction) -> None:
        if len(self.output) >= MAX_NODES:
            raise error_at(
                f"the expression has more than {MAX_NODES} numbers, names and operations "
                "(fnad.cli.parser.MAX_NODES)",
                instruction[2],
            )
        self.output.append(instruction)

    def reduce(self, frame: _Frame) -> None:
        """Emit the op of a popped operator frame."""
        output = self.output
        if frame.kind == "prefix":
            if frame.op == "pos":  # unary plus is the identity, as Node.__pos__
                return
            if len(output) == frame.start + 1 and output[-1][0] == NUM:
                # '-2' is the number -2, as Python's compiler folds it: x * -2 records
                # mul(x, const -2) exactly like the Python API does.
                number = output.pop()[1]
                assert isinstance(number, float)
                output.append((NUM, -number, frame.column, 0))
                return
            self.emit((OP, "neg", frame.column, 1))
        else:
            self.emit((OP, frame.op, frame.column, 2))

    def nearest_marker(self) -> _Frame | None:
        """The innermost open '(' or call."""
        for frame in reversed(self.stack):
            if frame.kind in ("paren", "call"):
                return frame
        return None

    # ---------------------------------------------------------------- operands

    def operand(self, kind: str, token: str, column: int) -> None:
        """A number, a variable, or the name of a call followed by '('."""
        if not self.expect_operand:
            raise error_at(
                f"missing operator between {show(self.previous)} and {show(token)}; "
                "write e.g. x*y for a product",
                column,
            )
        if kind == T_NUM:
            self.emit((NUM, _number(token, column, self.allow_nonfinite), column, 0))
        elif kind == T_NAME:
            self.variable(token, column)
        else:
            self.call(token, column)
            return
        self.expect_operand = False
        self.previous = token

    def variable(self, token: str, column: int) -> None:
        if token in CONSTANTS:
            value = CONSTANTS[token]
            if (value != value or math.isinf(value)) and not self.allow_nonfinite:
                raise error_at(
                    f"{token!r} is not a finite number; allow non-finite values "
                    "explicitly (--allow-nonfinite) to use nan or inf",
                    column,
                )
            self.emit((NUM, value, column, 0))
            return
        if token in self.functions:
            raise error_at(
                f"{token!r} is a function; call it as {token}(...), or choose "
                "another variable name",
                column,
            )
        dot = token.find(".")
        if dot >= 0:
            raise error_at(
                f"attribute access ({show(token[dot:])}) is not allowed; {ALLOWED}",
                column + dot,
            )
        if token in self.table:
            raise error_at(f"{token!r} is the name of an op; choose another variable name", column)
        self.variables.setdefault(token)
        self.emit((VAR, token, column, 0))

    def call(self, token: str, column: int) -> None:
        if token not in self.functions:
            hint = " (attribute access is not allowed)" if "." in token else ""
            if not hint:
                hint = did_you_mean(token, self.functions)
            raise error_at(
                f"unknown function {token!r}{hint}; available functions: "
                f"{function_list(self.functions)}",
                column,
            )
        self.called.setdefault(token)
        self.push(_Frame("call", token, 0, column, len(self.output), self.functions[token]))
        self.expect_operand = True
        self.previous = token + "("

    # ---------------------------------------------------------------- punctuation

    def punctuation(self, token: str, start: int) -> None:
        column = start + 1
        if token == "(":
            self.open_paren(column)
        elif token == ")":
            self.close_paren(column)
        elif token == ",":
            self.comma(column)
        elif token in ("+", "-") and self.expect_operand:
            kind = "neg" if token == "-" else "pos"
            self.push(_Frame("prefix", kind, _PREFIX, column, len(self.output)))
        elif token in _BINARY or token == "**":
            self.binary(token, column)
        elif token == "=":
            self.assignment(column)
        elif token == "." and not self.expect_operand:
            raise error_at(
                f"attribute access ({show(self.text[start : start + 20])}) is not allowed; "
                f"{ALLOWED}",
                column,
            )
        else:
            message = TOKEN_MESSAGES.get(token, f"unexpected character {show(token)}")
            raise error_at(f"{message}; {ALLOWED}", column)
        self.previous = token

    def open_paren(self, column: int) -> None:
        if not self.expect_operand:
            raise error_at(
                f"'(' after {show(self.previous)}: only registered functions can be called, "
                "and a product needs '*', e.g. 2*(x+1)",
                column,
            )
        self.push(_Frame("paren", "", 0, column, len(self.output)))

    def close_paren(self, column: int) -> None:
        stack = self.stack
        marker = self.nearest_marker()
        if marker is None:
            raise error_at("unmatched ')'", column)
        if self.expect_operand:
            if marker.kind == "call" and stack[-1] is marker and len(self.output) == marker.start:
                raise error_at(
                    f"{marker.op}() takes {marker.arity} argument(s), got 0", marker.column
                )
            if marker.kind == "paren" and stack[-1] is marker:
                raise error_at("empty parentheses '()' are not allowed", marker.column)
            raise error_at(f"expected a value before ')', after {show(self.previous)}", column)
        while stack[-1] is not marker:
            self.reduce(stack.pop())
        stack.pop()
        if marker.kind == "call":
            if marker.arguments != marker.arity:
                raise error_at(
                    f"{marker.op}() takes {marker.arity} argument(s), got {marker.arguments}",
                    marker.column,
                )
            self.emit((OP, marker.op, marker.column, marker.arity))
        self.expect_operand = False

    def comma(self, column: int) -> None:
        marker = self.nearest_marker()
        if marker is None or marker.kind != "call":
            raise error_at("tuples (a ',' outside a function call) are not allowed", column)
        if self.expect_operand:
            raise error_at(f"expected a value before ',', after {show(self.previous)}", column)
        while self.stack[-1] is not marker:
            self.reduce(self.stack.pop())
        marker.arguments += 1
        self.expect_operand = True

    def binary(self, token: str, column: int) -> None:
        if self.expect_operand:
            if token in ("*", "**"):
                what = "starred arguments (*args)" if token == "*" else "'**' unpacking"
                raise error_at(f"{what} are not allowed; {ALLOWED}", column)
            raise error_at(f"expected a value before {token!r}", column)
        stack = self.stack
        if token == "**":  # right-associative: pop only what binds tighter
            op, precedence = "pow", _POWER
            while stack and stack[-1].precedence > precedence:
                self.reduce(stack.pop())
        else:
            op, precedence = _BINARY[token]
            while stack and stack[-1].precedence >= precedence:
                self.reduce(stack.pop())
        self.push(_Frame("binary", op, precedence, column, len(self.output)))
        self.expect_operand = True

    def assignment(self, column: int) -> NoReturn:
        marker = self.nearest_marker()
        if marker is not None and marker.kind == "call":
            raise error_at(
                f"keyword arguments are not allowed in {marker.op}(...); "
                "pass arguments by position",
                column,
            )
        raise error_at(
            "assignments ('=') are not allowed; give values as separate NAME=VALUE "
            "arguments after the expression",
            column,
        )

    # ---------------------------------------------------------------- the end

    def finish(self) -> Expression:
        if not self.output and not self.stack:
            raise ExpressionError("the expression is empty; give e.g. 'x*y + relu(y)'")
        if self.expect_operand:
            raise error_at(
                f"the expression ends after {show(self.previous)}; expected a value",
                len(self.text),
            )
        while self.stack:
            frame = self.stack.pop()
            if frame.kind in ("paren", "call"):
                opened = f"{frame.op}(" if frame.kind == "call" else "("
                raise error_at(f"{show(opened)} is never closed", frame.column)
            self.reduce(frame)
        return Expression(self.text, tuple(self.output), tuple(self.variables), tuple(self.called))


def parse_value(text: str, *, allow_nonfinite: bool = False) -> float:
    """A decimal number such as ``2``, ``-1.5`` or ``1e-3``; ``nan``/``inf`` only if allowed.

    >>> parse_value("-1.5"), parse_value("inf", allow_nonfinite=True)
    (-1.5, inf)
    >>> parse_value("0x10")
    Traceback (most recent call last):
    ...
    fnad.errors.ExpressionError: '0x10' is not a decimal number; write e.g. 2, -1.5 or 1e-3
    """
    stripped = text.strip()
    if _DECIMAL.match(stripped):
        value = float(stripped)
        if math.isinf(value) and not allow_nonfinite:
            raise ExpressionError(
                f"{show(stripped)} is too large for a float (it would be inf); "
                "allow non-finite values (--allow-nonfinite) to use it"
            )
        return value
    if _NONFINITE.match(stripped):
        if allow_nonfinite:
            return float(stripped)
        raise ExpressionError(
            f"{show(stripped)} is not a finite number; allow non-finite values explicitly "
            "(--allow-nonfinite) to use nan or inf"
        )
    raise ExpressionError(f"{show(stripped)} is not a decimal number; write e.g. 2, -1.5 or 1e-3")


def parse_assignments(
    items: Sequence[str], *, rules: RuleTable | None = None, allow_nonfinite: bool = False
) -> dict[str, float]:
    """``["x=2", "y=3"]`` -> ``{"x": 2.0, "y": 3.0}``, checking names and values.

    >>> parse_assignments(["x=2", "y=-0.5"])
    {'x': 2.0, 'y': -0.5}
    >>> parse_assignments(["relu=1"])
    Traceback (most recent call last):
    ...
    fnad.errors.ExpressionError: cannot use 'relu' as a variable: it is the name of an op
    """
    table = current_rules() if rules is None else rules
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise ExpressionError(f"expected NAME=VALUE, got {show(item)}")
        if not _IDENTIFIER.match(name):
            bad = next((i for i, ch in enumerate(name) if not (" " <= ch <= "~")), None)
            if bad is not None:
                raise ExpressionError(
                    f"in {show(item)}: {str(non_ascii_error(name, bad)).split(': ', 1)[1]}"
                )
            raise ExpressionError(
                f"in {show(item)}: {show(name)} is not a variable name; "
                "use letters, digits and '_', starting with a letter"
            )
        if keyword.iskeyword(name):
            raise ExpressionError(f"cannot use the Python keyword {name!r} as a variable")
        if name in CONSTANTS:
            raise ExpressionError(
                f"cannot use {name!r} as a variable: it is the number {CONSTANTS[name]!r} in "
                "expressions; choose another name"
            )
        if name in table:
            raise ExpressionError(f"cannot use {name!r} as a variable: it is the name of an op")
        if name in values:
            raise ExpressionError(f"{name!r} is given twice")
        try:
            values[name] = parse_value(text, allow_nonfinite=allow_nonfinite)
        except ExpressionError as error:
            raise ExpressionError(f"{name}: {error}") from None
    return values
