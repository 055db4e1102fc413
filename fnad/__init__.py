"""fnad: a typed, immutable, scalar-valued reverse-mode autodiff engine on a networkx tape.

>>> from fnad import Node
>>> x = Node(2.0, label="x")
>>> y = Node(3.0, label="y")
>>> z = x * y + x**2 + y.relu()
>>> _ = z.backward()
>>> z.data, x.grad, y.grad
(13.0, 7.0, 3.0)

Layout: each module imports only from the layers below its own; modules on one line are
independent (the import-linter contract in pyproject.toml, checked by the tests)::

    cli | display
    demo
    flow | check | explain | replay | parser
    nn | summary
    render | program
    transforms | custom | export | reader | datasets
    ops | schema
    core
    rules
    _internal
    errors | _floats

``fnad.nn``, ``fnad.datasets``, ``fnad.flow`` and ``fnad.cli`` are submodules, imported on
demand.
"""

from fnad import display  # noqa: F401  (imported for its effect: Jupyter display)
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
    ImmutableError,
    MissingAttributeError,
    NoGradientError,
    NonFiniteError,
    OperandTypeError,
    OperandValueError,
    OutputFormatError,
    OutputTypeError,
    RenderError,
    ReplayInputError,
    RuleError,
    TapeError,
    TapeGrowthWarning,
    TransformError,
    UnknownOpError,
)
from fnad.explain import (
    Explanation,
    GradientPath,
    GroupExplanation,
    GroupRoute,
    explain,
    explain_group,
)
from fnad.export import to_graphml, to_json, to_networkx
from fnad.ops import (
    BinaryOp,
    Scalar,
    UnaryOp,
    abs,
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    ceil,
    cos,
    cosh,
    erf,
    exp,
    exp2,
    expm1,
    floor,
    fmod,
    gelu,
    hypot,
    leaky_relu,
    log,
    log1p,
    log2,
    log10,
    maximum,
    minimum,
    mod,
    power,
    relu,
    sigmoid,
    sign,
    silu,
    sin,
    sinh,
    softplus,
    sqrt,
    tan,
    tanh,
    value,
)
from fnad.parser import Expression, parse
from fnad.program import Evaluation, Program, ProgramMismatchError, ValueAndGrad, compile
from fnad.render import render, to_dot
from fnad.replay import from_graphml, from_json
from fnad.rules import Rule, RuleTable, builtin_rules, current_rules, isolated_rules, use_rules
from fnad.summary import render_summary, summarize, summary_to_dot
from fnad.transforms import ScalarFunction, Transformed, grad, hessian, jvp, value_and_grad, vjp

__version__ = "0.1.0"

__all__ = [
    "BinaryOp",
    "CustomBinaryOp",
    "CustomNaryOp",
    "CustomUnaryOp",
    "Evaluation",
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
    "GroupExplanation",
    "GroupRoute",
    "ImmutableError",
    "Mismatch",
    "MissingAttributeError",
    "NoGradientError",
    "Node",
    "NonFiniteError",
    "OpCheck",
    "Operand",
    "OperandTypeError",
    "OperandValueError",
    "OutputFormatError",
    "OutputTypeError",
    "Program",
    "ProgramMismatchError",
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
    "TapeGrowthWarning",
    "TransformError",
    "Transformed",
    "UnaryOp",
    "UnknownOpError",
    "ValueAndGrad",
    "__version__",
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "builtin_rules",
    "ceil",
    "check_grad",
    "check_rules",
    "compile",
    "cos",
    "cosh",
    "current_rules",
    "current_tape",
    "defop",
    "erf",
    "exp",
    "exp2",
    "explain",
    "explain_group",
    "expm1",
    "floor",
    "fmod",
    "from_graphml",
    "from_json",
    "gelu",
    "grad",
    "hessian",
    "hypot",
    "is_strict",
    "isolated_rules",
    "jvp",
    "leaky_relu",
    "log",
    "log1p",
    "log2",
    "log10",
    "maximum",
    "minimum",
    "mod",
    "parse",
    "power",
    "relu",
    "render",
    "render_summary",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "sinh",
    "softplus",
    "sqrt",
    "strict",
    "summarize",
    "summary_to_dot",
    "tan",
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
