"""The tokenizer of the expression parser: text to tokens, refusing what is not the language.

:func:`tokens` splits an expression's text into numbers, (dotted) names, calls (a name
followed by ``(``) and punctuation, lazily, so that the first problem from the left is the
one reported. Everything that cannot start a token of the language (non-ASCII and control
characters, Python keywords, strings, complex and hexadecimal literals) is refused here with
an :class:`~fnad.ExpressionError` naming its 1-based column; the grammar is
:mod:`fnad.cli.parser`'s.

>>> list(tokens("2*relu(x)"))
[('number', '2', 0), ('punct', '*', 1), ('call', 'relu', 2), ('name', 'x', 7), ('punct', ')', 8)]
>>> list(tokens("0x10"))
Traceback (most recent call last):
...
fnad.errors.ExpressionError: column 1: only decimal numbers are allowed, not '0x10'
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterator

from fnad.errors import ExpressionError

__all__ = [
    "ALLOWED",
    "TOKEN_MESSAGES",
    "T_CALL",
    "T_NAME",
    "T_NUM",
    "T_PUNCT",
    "Token",
    "error_at",
    "non_ascii_error",
    "show",
    "tokens",
]

ALLOWED = "allowed are numbers, variables, + - * / **, ( ) and calls like tanh(x)"

_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
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
