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
           <- transforms / custom / check / export / replay / explain / render / nn / parser
           <- cli

``fnad.nn``, ``fnad.datasets`` and ``fnad.cli`` are submodules, imported on demand.
"""

from fnad.check import Mismatch, OpCheck, RuleCheckReport, check_grad, check_rules
from fnad.core import Gradients, Node, Operand, Tape, current_tape, is_strict, strict, to_float
from fnad.custom import CustomBinaryOp, CustomNaryOp, CustomUnaryOp, defop
from fnad.errors import (
    ExpressionError,
    FnadError,
    GradCheckError,
    GraphArgumentError,
    GraphFormatError,
    GraphSizeError,
    NonFiniteError,
    OperandTypeError,
    OperandValueError,
    RenderError,
    ReplayInputError,
    RuleError,
    TapeError,
    TransformError,
    UnknownOpError,
)
from fnad.explain import Explanation, GradientPath, explain
from fnad.export import to_graphml, to_json, to_networkx
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
from fnad.render import render, to_dot
from fnad.replay import Program, ValueAndGrad, from_graphml, from_json
from fnad.rules import Rule, RuleTable, builtin_rules, current_rules, isolated_rules, use_rules
from fnad.transforms import ScalarFunction, Transformed, grad, hessian, jvp, value_and_grad, vjp

__version__ = "0.1.0"

__all__ = [
    "BinaryOp",
    "CustomBinaryOp",
    "CustomNaryOp",
    "CustomUnaryOp",
    "Explanation",
    "Expression",
    "ExpressionError",
    "FnadError",
    "GradCheckError",
    "GradientPath",
    "Gradients",
    "GraphArgumentError",
    "GraphFormatError",
    "GraphSizeError",
    "Mismatch",
    "Node",
    "NonFiniteError",
    "OpCheck",
    "Operand",
    "OperandTypeError",
    "OperandValueError",
    "Program",
    "RenderError",
    "ReplayInputError",
    "Rule",
    "RuleCheckReport",
    "RuleError",
    "RuleTable",
    "Scalar",
    "ScalarFunction",
    "Tape",
    "TapeError",
    "TransformError",
    "Transformed",
    "UnaryOp",
    "UnknownOpError",
    "ValueAndGrad",
    "__version__",
    "abs",
    "builtin_rules",
    "check_grad",
    "check_rules",
    "cos",
    "current_rules",
    "current_tape",
    "defop",
    "exp",
    "explain",
    "from_graphml",
    "from_json",
    "grad",
    "hessian",
    "is_strict",
    "isolated_rules",
    "jvp",
    "log",
    "parse",
    "power",
    "relu",
    "render",
    "sigmoid",
    "sin",
    "sqrt",
    "strict",
    "tanh",
    "to_dot",
    "to_float",
    "to_graphml",
    "to_json",
    "to_networkx",
    "use_rules",
    "value",
    "value_and_grad",
    "vjp",
]
