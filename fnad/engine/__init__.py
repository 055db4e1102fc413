"""The engine: Node, Tape, the rule table, the built-in ops, and the one chain rule.

Everything else in fnad is built on this package; it imports nothing of fnad above it
(only :mod:`fnad._internal`, :mod:`fnad._floats` and :mod:`fnad.errors`). Its modules, each
importing only from the ones listed before it::

    rules      Rule, RuleTable: one entry per op (forward, partials); no Node
    scope      which tape is current (per thread and task), the default tape, strict()
    methods    Node's operators, op methods and NumPy protocol (a mixin, one line per op)
    node       Node: the immutable value, its identity, its read-only attributes
    recording  the hot path: how an op becomes a new Node in the graph (Tape's base class)
    digraph    networkx DiGraphs over the tape's dicts: its graph, an output's ancestors
    backward   backpropagate, the one chain rule, and the Gradients it returns
    tape       Tape: the scope, the networkx DiGraph, backward, pickling
    declare    how ops are declared (@rule, @unary, @binary, @arrays), UnaryOp and BinaryOp
    ops        the built-in ops: the derivative cheat sheet, and fnad.exp & co.
    tracing    check_output, what every tracer asks of a traced function's result
    table      GraphTable, the flat form every interpreter reads; record() puts one on a
               tape, backpropagate_table runs the chain rule over one
    pickling   how rules pickle: built-in ones by op name, custom ones by function names

One call goes the other way, on purpose: ``scope.current_tape`` imports ``Tape`` when a
context needs its first default tape (a Node needs the current tape; a Tape makes Nodes).
"""

from fnad.engine import (
    ops,
    pickling,  # noqa: F401 - notes fnad's own rules at import
)
from fnad.engine.backward import Gradients, backpropagate, chain_term
from fnad.engine.node import CONST, DisplayHook, Node, Operand, set_display_hook, to_float
from fnad.engine.ops import *  # noqa: F403  (the built-in ops: ops.__all__)
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
from fnad.engine.scope import DEFAULT_TAPE_WARNING, current_tape, is_strict, judging_off, strict
from fnad.engine.table import (
    INPUT,
    GraphTable,
    backpropagate_table,
    input_names,
    record,
    restore_tape,
    vertices_of,
)
from fnad.engine.tape import Tape

__all__ = [
    "CONST",
    "DEFAULT_TAPE_WARNING",
    "INPUT",
    "RESERVED",
    "DisplayHook",
    "Forward",
    "Gradients",
    "GraphTable",
    "Node",
    "Operand",
    "Partials",
    "Rule",
    "RuleTable",
    "Tape",
    "backpropagate",
    "backpropagate_table",
    "builtin_rules",
    "chain_term",
    "current_rules",
    "current_tape",
    "input_names",
    "is_strict",
    "isolated_rules",
    "judging_off",
    "record",
    "restore_tape",
    "set_display_hook",
    "strict",
    "to_float",
    "use_rules",
    "vertices_of",
]
__all__ += ops.__all__
