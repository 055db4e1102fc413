"""fnad: a typed, immutable, scalar-valued reverse-mode autodiff engine on a networkx tape.

>>> from fnad import Node
>>> x = Node(2.0, label="x")
>>> y = Node(3.0, label="y")
>>> z = x * y + x**2 + y.relu()
>>> _ = z.backward()
>>> z.data, x.grad, y.grad
(13.0, 7.0, 3.0)

Layout (dependencies point one way)::

    errors <- rules <- core (Node, Tape) <- ops (built-in rules)
"""

from fnad.core import Gradients, Node, Operand, Tape, current_tape, is_strict, strict, to_float
from fnad.errors import (
    ExpressionError,
    FnadError,
    GradCheckError,
    GraphFormatError,
    NonFiniteError,
    OperandTypeError,
    OperandValueError,
    RuleError,
    TapeError,
    UnknownOpError,
)
from fnad.ops import (
    BinaryOp,
    Scalar,
    UnaryOp,
    abs,
    cos,
    exp,
    log,
    power,
    relu,
    sigmoid,
    sin,
    sqrt,
    tanh,
    value,
)
from fnad.parser import Expression, parse
from fnad.rules import Rule, RuleTable, builtin_rules, current_rules, isolated_rules

__version__ = "0.1.0"

__all__ = [
    "BinaryOp",
    "Expression",
    "ExpressionError",
    "FnadError",
    "GradCheckError",
    "Gradients",
    "GraphFormatError",
    "Node",
    "NonFiniteError",
    "Operand",
    "OperandTypeError",
    "OperandValueError",
    "Rule",
    "RuleError",
    "RuleTable",
    "Scalar",
    "Tape",
    "TapeError",
    "UnaryOp",
    "UnknownOpError",
    "__version__",
    "abs",
    "builtin_rules",
    "cos",
    "current_rules",
    "current_tape",
    "exp",
    "is_strict",
    "isolated_rules",
    "log",
    "parse",
    "power",
    "relu",
    "sigmoid",
    "sin",
    "sqrt",
    "strict",
    "tanh",
    "to_float",
    "value",
]
