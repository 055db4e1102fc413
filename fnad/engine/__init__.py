"""The engine: Node, Tape, the rule table, the built-in ops, and the one chain rule.

Everything else in fnad is built on this package; it imports nothing of fnad above it
(only :mod:`fnad._internal`, :mod:`fnad._floats` and :mod:`fnad.errors`). Its modules, each
importing only from the ones listed before it::

    rules      Rule, RuleTable: one entry per op (forward, partials); no Node
    scope      which tape is current (per thread and task), the default tape, strict()
    node       Node: the immutable value, its identity, its read-only attributes
    recording  the hot path: how an op becomes a new Node in the graph (Tape's base class)
    backward   backpropagate, the one chain rule, and the Gradients it returns
    tape       Tape: the scope, the networkx DiGraph, backward, pickling
    ops        the built-in ops: the derivative cheat sheet, and fnad.exp & co.
    tracing    check_output, what every tracer asks of a traced function's result
    table      GraphTable: a recorded graph as flat columns, read by every interpreter
    pickling   how rules pickle: built-in ones by op name, custom ones by function names

One call goes the other way, on purpose: ``scope.current_tape`` imports ``Tape`` when a
context needs its first default tape (a Node needs the current tape; a Tape makes Nodes).
"""

from fnad.engine import pickling  # noqa: F401 - notes fnad's own rules at import
from fnad.engine.backward import Gradients, backpropagate, chain_term
from fnad.engine.node import CONST, DisplayHook, Node, Operand, set_display_hook, to_float
from fnad.engine.ops import (
    LEAKY_RELU_SLOPE,
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
    evaluate,
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
from fnad.engine.rules import (
    RESERVED,
    Forward,
    Partials,
    Rule,
    RuleTable,
    builtin_rules,
    current_rules,
    isolated_rules,
    use_rules,
)
from fnad.engine.scope import DEFAULT_TAPE_WARNING, current_tape, is_strict, strict
from fnad.engine.tape import Tape

__all__ = [
    "CONST",
    "DEFAULT_TAPE_WARNING",
    "LEAKY_RELU_SLOPE",
    "RESERVED",
    "BinaryOp",
    "DisplayHook",
    "Forward",
    "Gradients",
    "Node",
    "Operand",
    "Partials",
    "Rule",
    "RuleTable",
    "Scalar",
    "Tape",
    "UnaryOp",
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "backpropagate",
    "builtin_rules",
    "ceil",
    "chain_term",
    "cos",
    "cosh",
    "current_rules",
    "current_tape",
    "erf",
    "evaluate",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "fmod",
    "gelu",
    "hypot",
    "is_strict",
    "isolated_rules",
    "leaky_relu",
    "log",
    "log1p",
    "log2",
    "log10",
    "maximum",
    "minimum",
    "mod",
    "power",
    "relu",
    "set_display_hook",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "sinh",
    "softplus",
    "sqrt",
    "strict",
    "tan",
    "tanh",
    "to_float",
    "use_rules",
    "value",
]
