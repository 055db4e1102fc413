"""A safe parser for arithmetic expressions such as ``"x*y + x**2 + relu(y)"``.

This is the parser behind the ``fnad`` command line. It never evaluates Python: no
``eval``, ``exec``, ``compile`` or ``ast`` of the text. A small hand-written tokenizer
and an operator-precedence (shunting-yard) parser turn the text into a flat program in
postfix order, which :meth:`Expression.build` runs with a loop and a stack, recording
every op on the current :class:`~fnad.Tape`.

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

import difflib
import keyword
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import NoReturn, SupportsFloat

import attrs

from fnad._internal import positive_int
from fnad.engine import Node, Tape, current_tape
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

CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan}
"""Names that are numbers in an expression: ``pi`` and ``e``, and ``inf`` and ``nan`` when
non-finite values are allowed. They cannot be variable names."""

OPERATOR_OPS = frozenset({"add", "sub", "mul", "truediv", "pow", "neg"})
"""Ops written as operators (``+ - * / **`` and unary ``-``), not callable by name."""

# fnad.transforms' marker op for nested derivatives: an implementation detail, not a function.
_INTERNAL_OPS = frozenset({"identity"})

ALLOWED = "allowed are numbers, variables, + - * / **, ( ) and calls like tanh(x)"

# Instructions of the postfix program.
NUM = 0  # (NUM, value, column)
VAR = 1  # (VAR, name, column)
OP = 2  # (OP, op name, column, arity)

Instruction = tuple[int, float | str, int, int]

_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_NONFINITE = re.compile(r"[+-]?(?:inf|infinity|nan)\Z", re.IGNORECASE)
_STRING_PREFIX = re.compile(r"(?:[rRbBuUfF]|[rR][bBfF]|[bBfF][rR])\Z")

# Multi-character punctuation, longest first; every other character is one token.
_PUNCTUATION = (
    "**=",
    "//=",
    ">>=",
    "<<=",
    "...",
    "**",
    "//",
    "<<",
    ">>",
    "<=",
    ">=",
    "==",
    "!=",
    ":=",
    "->",
    "+=",
    "-=",
    "*=",
    "/=",
    "%=",
    "@=",
    "&=",
    "|=",
    "^=",
)

_LONG_PUNCTUATION: dict[str, tuple[str, ...]] = {}
for _punct in _PUNCTUATION:
    _LONG_PUNCTUATION[_punct[0]] = (*_LONG_PUNCTUATION.get(_punct[0], ()), _punct)

_KEYWORD_MESSAGES = {
    "lambda": "lambda expressions are not allowed",
    "for": "comprehensions and loops ('for') are not allowed",
    "async": "comprehensions and loops ('async') are not allowed",
    "await": "'await' is not allowed",
    "if": "conditional expressions ('if') are not allowed",
    "else": "conditional expressions ('else') are not allowed",
    "elif": "conditional expressions ('elif') are not allowed",
    "and": "boolean operators ('and') are not allowed",
    "or": "boolean operators ('or') are not allowed",
    "not": "boolean operators ('not') are not allowed",
    "in": "comparisons ('in') are not allowed",
    "is": "comparisons ('is') are not allowed",
    "True": "True is not a number here; write 1",
    "False": "False is not a number here; write 0",
    "None": "None is not a number",
    "yield": "'yield' is not allowed",
}

TOKEN_MESSAGES = {
    "[": "subscripts and lists ('[') are not allowed",
    "]": "subscripts and lists (']') are not allowed",
    "{": "dicts, sets and braces ('{') are not allowed",
    "}": "dicts, sets and braces ('}') are not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    ";": "statements are not allowed: give one expression, without ';'",
    "\n": "line breaks are not allowed: give one expression on one line",
    "\r": "line breaks are not allowed: give one expression on one line",
    "#": "comments ('#') are not allowed",
    "\\": "backslashes are not allowed",
    ":": "':' (slices, lambdas, annotations, dicts) is not allowed",
    ":=": "assignment expressions (':=') are not allowed",
    "->": "'->' is not allowed",
    ".": "attribute access ('.') is not allowed",
    "...": "'...' (Ellipsis) is not allowed",
    "@": "'@' (matrix product, decorators) is not supported",
    "%": "operator '%' is not supported; use + - * / **",
    "//": "operator '//' is not supported; use + - * / **",
    "<<": "operator '<<' is not supported; use + - * / **",
    ">>": "operator '>>' is not supported; use + - * / **",
    "&": "operator '&' is not supported; use + - * / **",
    "|": "operator '|' is not supported; use + - * / **",
    "~": "operator '~' is not supported; use + - * / **",
    "^": "operator '^' is not supported (it is XOR in Python); write x**2 for a power",
    "<": "comparisons ('<') are not allowed",
    ">": "comparisons ('>') are not allowed",
    "<=": "comparisons ('<=') are not allowed",
    ">=": "comparisons ('>=') are not allowed",
    "==": "comparisons ('==') are not allowed",
    "!=": "comparisons ('!=') are not allowed",
    "!": "'!' is not an operator here",
    "$": "'$' is not allowed",
    "?": "'?' is not allowed",
    "`": "'`' is not allowed",
}
# Every other multi-character token ending in '=' is an augmented assignment (+=, **=, ...).
for _augmented in _PUNCTUATION:
    if _augmented.endswith("=") and _augmented not in TOKEN_MESSAGES:
        TOKEN_MESSAGES[_augmented] = f"assignments ('{_augmented}') are not allowed"

_BINARY = {"+": ("add", 1), "-": ("sub", 1), "*": ("mul", 2), "/": ("truediv", 2)}
_PREFIX = 3
_POWER = 4


# --------------------------------------------------------------------------- messages


def show(text: str, limit: int = 40) -> str:
    """``text`` quoted for a one-line message: control and non-ASCII characters escaped."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    shown = "".join(
        ch if " " <= ch <= "~" else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
    return f"'{shown}'"


def _describe_char(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def error_at(message: str, column: int) -> ExpressionError:
    return ExpressionError(f"column {column}: {message}", column)


def non_ascii_error(text: str, index: int) -> ExpressionError:
    ch = text[index]
    if ord(ch) < 32 or ord(ch) == 127:
        return error_at(f"control character {_describe_char(ch)} is not allowed", index + 1)
    hint = ""
    similar = unicodedata.normalize("NFKC", ch)
    if similar.isascii() and similar.isprintable() and similar.strip():
        hint = f" (did you mean {similar!r}?)"
    return error_at(
        f"non-ASCII character {_describe_char(ch)} is not allowed{hint}; "
        "expressions are plain ASCII",
        index + 1,
    )


# --------------------------------------------------------------------------- tokenizer

# Token kinds.
T_NUM = "number"
T_NAME = "name"
T_CALL = "call"  # a (dotted) name followed by '('
T_PUNCT = "punct"

Token = tuple[str, str, int]  # kind, text, 0-based start index


def tokens(text: str) -> Iterator[Token]:
    """Split ``text`` lazily, so the first problem from the left is the one reported."""
    end = len(text)
    i = 0
    while i < end:
        ch = text[i]
        if ch == " " or ch == "\t":
            i += 1
            continue
        if not (" " <= ch <= "~") and ch not in "\n\r":
            raise non_ascii_error(text, i)
        if ch.isdigit() or (ch == "." and i + 1 < end and text[i + 1].isdigit()):
            stop = _number_end(text, i)
            yield T_NUM, text[i:stop], i
            i = stop
        elif ch.isalpha() or ch == "_":
            kind, stop, i_next = _name_end(text, i)
            yield kind, text[i:stop], i
            i = i_next
        else:
            punct = next((p for p in _LONG_PUNCTUATION.get(ch, ()) if text.startswith(p, i)), ch)
            yield T_PUNCT, punct, i
            i += len(punct)


def _number_end(text: str, i: int) -> int:
    """Where the number literal at ``i`` ends; refuse what Python would read differently."""
    match = _NUMBER.match(text, i)
    assert match is not None  # a digit, or '.' then a digit, always matches
    stop = match.end()
    literal = match.group()
    if stop < len(text):
        after = text[stop]
        if after in "jJ":
            raise error_at(
                f"complex literals ({show(literal + after)}) are not allowed; fnad is real-valued",
                i + 1,
            )
        if literal == "0" and after in "xXoObB":
            raise error_at(
                f"only decimal numbers are allowed, not {show(text[i : stop + 8])}", i + 1
            )
        if after == "_":
            raise error_at(
                f"digit separators ('_') are not supported in {show(text[i : stop + 8])}",
                stop + 1,
            )
        if after.isalnum() or after == ".":
            raise error_at(
                f"a number ({show(literal)}) is directly followed by "
                f"{show(text[stop : stop + 12])}; write an operator between them, e.g. 2*x",
                stop + 1,
            )
    return stop


def _name_end(text: str, i: int) -> tuple[str, int, int]:
    """The (dotted) name at ``i``: its kind (a call if '(' follows), end, and next index."""
    match = _DOTTED.match(text, i)
    assert match is not None
    stop = match.end()
    name = match.group()
    first = name.split(".", 1)[0]
    if first in _KEYWORD_MESSAGES or keyword.iskeyword(first):
        message = _KEYWORD_MESSAGES.get(
            first, f"Python keyword {first!r} is not allowed (statements are not allowed)"
        )
        raise error_at(f"{message}; {ALLOWED}", i + 1)
    if stop < len(text) and text[stop] in "'\"" and _STRING_PREFIX.match(name):
        kind = "f-strings" if "f" in name.lower() else "strings"
        raise error_at(f"{kind} are not allowed", i + 1)
    j = stop
    while j < len(text) and text[j] in " \t":
        j += 1
    if j < len(text) and text[j] == "(":
        return T_CALL, stop, j + 1
    return T_NAME, stop, stop


# --------------------------------------------------------------------------- parser


def available_functions(rules: RuleTable | None = None) -> dict[str, int]:
    """Name -> arity of every op an expression may call: the registered ops but the operators.

    >>> sorted(available_functions())[:4]
    ['abs', 'acos', 'acosh', 'asin']
    """
    table = current_rules() if rules is None else rules
    hidden = OPERATOR_OPS | _INTERNAL_OPS
    return {name: table[name].arity for name in sorted(table) if name not in hidden}


def _function_list(functions: Mapping[str, int]) -> str:
    return ", ".join(functions) or "(none)"


# Names people reach for from Python, NumPy or other tools, and what fnad calls them.
_HABITS = {
    "max": "maximum",
    "min": "minimum",
    "ln": "log",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctan2": "atan2",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "fabs": "abs",
    "logistic": "sigmoid",
    "swish": "silu",
}


def _did_you_mean(name: str, functions: Mapping[str, int]) -> str:
    """A hint for an unknown function name: `` (did you mean maximum(...)?)`` or ``""``."""
    if name in ("pow", "power"):
        return " (powers are written with **: x**2, x**y)"
    guess = _HABITS.get(name, _HABITS.get(name.lower()))
    if guess is None or guess not in functions:
        lowered = name.lower()
        guess = next((f for f in functions if f.lower() == lowered), None)
    guesses = [guess] if guess is not None else []
    if not guesses and len(name) >= 4:  # a short name is close to too many
        guesses = difflib.get_close_matches(name, list(functions), n=2, cutoff=0.75)
    if not guesses:
        return ""

    def call(function: str) -> str:
        arity = functions[function]
        return f"{function}({', '.join('xyzw'[i] if i < 4 else f'x{i}' for i in range(arity))})"

    return f" (did you mean {' or '.join(call(g) for g in guesses)}?)"


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


@attrs.frozen
class Expression:
    """A parsed expression: a postfix program over numbers, variables and registered ops.

    Build it on the current tape with :meth:`build`, or get the value and gradient at
    a point with :meth:`value_and_grad`.

    >>> expr = parse("tanh(w*x + b)")
    >>> expr.variables, expr.functions
    (('w', 'x', 'b'), ('tanh',))
    >>> value, grads = expr.value_and_grad(w=0.5, x=2.0, b=0.0)
    >>> round(value, 6), round(grads["b"], 6)
    (0.761594, 0.419974)
    """

    text: str
    """The source text."""
    program: tuple[Instruction, ...] = attrs.field(repr=False)
    """The postfix program: ``(kind, number or name, column, arity)`` per instruction."""
    variables: tuple[str, ...]
    """The variable names, in order of first appearance."""
    functions: tuple[str, ...]
    """The op names called by name, in order of first appearance."""

    def build(self, values: Mapping[str, SupportsFloat]) -> tuple[Node, dict[str, Node]]:
        """Record the expression on the current tape; return its output and its leaves.

        ``values`` must give exactly the expression's variables. Each variable becomes
        one leaf :class:`~fnad.Node` labelled with its name (used as often as it appears);
        each number becomes a ``const`` node, as ``x * 2`` does in Python.

        >>> import fnad
        >>> with fnad.Tape():
        ...     z, leaves = parse("x*x + 1").build({"x": 3.0})
        >>> z.data, z.backward()[leaves["x"]]
        (10.0, 6.0)
        """
        self._check_values(values)
        tape: Tape = current_tape()
        leaves = {name: Node(values[name], label=name) for name in self.variables}
        stack: list[Node] = []
        for kind, payload, _column, arity in self.program:
            if kind == NUM:
                assert isinstance(payload, float)
                stack.append(tape.constant(payload))
            elif kind == VAR:
                assert isinstance(payload, str)
                stack.append(leaves[payload])
            else:
                assert isinstance(payload, str)
                args = stack[len(stack) - arity :]
                del stack[len(stack) - arity :]
                stack.append(tape.apply(payload, *args))
        (output,) = stack
        return output, leaves

    def value_and_grad(self, **values: SupportsFloat) -> tuple[float, dict[str, float]]:
        """The value at ``values`` and the partial derivative for each variable.

        Traced on a fresh private tape, like :func:`fnad.value_and_grad`.

        >>> parse("x**-1").value_and_grad(x=2)
        (0.5, {'x': -0.25})
        """
        with Tape():
            output, leaves = self.build(values)
            grads = output.backward()
            return output.data, {name: grads.get(leaf, 0.0) for name, leaf in leaves.items()}

    def _check_values(self, values: Mapping[str, SupportsFloat]) -> None:
        used = set(self.variables)
        unknown = [name for name in values if name not in used]
        if unknown:
            uses = ", ".join(self.variables) if self.variables else "no variables"
            raise ExpressionError(
                f"value given for {unknown[0]!r}, which the expression does not use "
                f"(it uses {uses}); remove it or check its spelling"
            )
        for name in self.variables:
            if name not in values:
                column = next(c for k, p, c, _ in self.program if k == VAR and p == name)
                raise ExpressionError(
                    f"no value for variable {name!r} (column {column}); give it as {name}=VALUE",
                    column,
                )


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
                hint = _did_you_mean(token, self.functions)
            raise error_at(
                f"unknown function {token!r}{hint}; available functions: "
                f"{_function_list(self.functions)}",
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
