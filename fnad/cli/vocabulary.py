"""The names an expression may use: its constants, and the registered ops it may call.

Names are resolved against a rule table (:func:`available_functions`); a name that is not
there gets the hint of the function probably meant (``max`` is ``maximum``, ``Relu`` is
``relu``, ``arctan`` is ``atan``).

>>> CONSTANTS["pi"] == math.pi, "add" in OPERATOR_OPS
(True, True)
>>> did_you_mean("max", available_functions())
' (did you mean maximum(x, y)?)'
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping

from fnad.engine.rules import RuleTable, current_rules

__all__ = [
    "CONSTANTS",
    "OPERATOR_OPS",
    "available_functions",
    "did_you_mean",
    "function_list",
]

CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan}
"""Names that are numbers in an expression: ``pi`` and ``e``, and ``inf`` and ``nan`` when
non-finite values are allowed. They cannot be variable names."""

OPERATOR_OPS = frozenset({"add", "sub", "mul", "truediv", "pow", "neg"})
"""Ops written as operators (``+ - * / **`` and unary ``-``), not callable by name."""

# fnad.transforms' marker op for nested derivatives: an implementation detail, not a function.
_INTERNAL_OPS = frozenset({"identity"})


def available_functions(rules: RuleTable | None = None) -> dict[str, int]:
    """Name -> arity of every op an expression may call: the registered ops but the operators.

    >>> sorted(available_functions())[:4]
    ['abs', 'acos', 'acosh', 'asin']
    """
    table = current_rules() if rules is None else rules
    hidden = OPERATOR_OPS | _INTERNAL_OPS
    return {name: table[name].arity for name in sorted(table) if name not in hidden}


def function_list(functions: Mapping[str, int]) -> str:
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


def did_you_mean(name: str, functions: Mapping[str, int]) -> str:
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
