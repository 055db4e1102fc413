"""Recording: how a tape turns ``op(*args)`` into a new Node in its graph (the hot path).

Every op a Node takes part in ends here: look up the op's rule on the tape (fixed at its
first use), turn numbers into ``const`` leaves, check that every Node is on this tape,
compute the value with the rule's forward function (IEEE results; :func:`~fnad.strict`
judges them), then write the new Node's slots once and add it to the graph's dicts.

Invariants: a node is recorded after its inputs, so the graph is a DAG by construction
and recording order is a topological order; nothing is recorded if anything fails (the
operands are checked and the value computed first); these functions are the only writers
of a Node's slots, which attrs' frozen class otherwise refuses.

:class:`Recorder` is the part of :class:`~fnad.Tape` that does this; it is a base class,
not a separate object, so that ``x * y`` reaches it in one method call.

Dependencies inside the engine: :mod:`fnad.engine.rules`, :mod:`fnad.engine.scope` and
:mod:`fnad.engine.node`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, SupportsFloat, TypeAlias

from fnad._internal import as_result, describe, non_finite_value, run_forward
from fnad.engine.node import CONST, Node, Operand, to_float
from fnad.engine.rules import Rule, RuleTable
from fnad.engine.scope import strict_var
from fnad.errors import OperandTypeError, RuleError, TapeError, UnknownOpError

__all__ = ["Adjacency", "NodeAttrs", "Recorder", "mixed_tapes"]

NodeAttrs: TypeAlias = dict["Node", dict[str, Any]]
"""A DiGraph's ``_node`` dict: vertex → its attributes."""
Adjacency: TypeAlias = dict["Node", dict["Node", Mapping[str, Any]]]
"""A DiGraph's ``_succ`` or ``_pred`` dict: vertex → neighbour → edge attributes."""

_EDGE_DATA: dict[tuple[int, ...], Mapping[str, tuple[int, ...]]] = {}


def _edge_data(positions: tuple[int, ...]) -> Mapping[str, tuple[int, ...]]:
    # Most edges carry (0,) or (1,): every tape shares one read-only attribute mapping per
    # distinct positions tuple, so sharing saves memory and nobody can change it.
    data = _EDGE_DATA.get(positions)
    if data is None:
        data = _EDGE_DATA.setdefault(positions, MappingProxyType({"positions": positions}))
    return data


_EDGE_0 = _edge_data((0,))
_EDGE_1 = _edge_data((1,))
_EDGE_01 = _edge_data((0, 1))

# attrs' frozen __setattr__ refuses every assignment; the tape writes a new Node's slots
# once, straight through the slot descriptors (what attrs' own __init__ does, minus checks).
_set_data = Node.__dict__["data"].__set__
_set_op = Node.__dict__["op"].__set__
_set_label = Node.__dict__["label"].__set__
_set_inputs = Node.__dict__["inputs"].__set__
_set_tape = Node.__dict__["tape"].__set__
_new_node = object.__new__


def _make(data: float, op: str, inputs: tuple[Node, ...], tape: Recorder) -> Node:
    node: Node = _new_node(Node)
    _set_data(node, data)
    _set_op(node, op)
    _set_label(node, "")
    _set_inputs(node, inputs)
    _set_tape(node, tape)
    return node


class Recorder:
    """The recording half of :class:`~fnad.Tape`: the graph's dicts and the ops that write them.

    Recording writes the graph's adjacency dicts directly, exactly as
    ``DiGraph.add_edges_from`` does, because the public methods cost ~2.5x per op; the
    test suite checks the result equals a graph built through the public API.
    """

    __slots__ = ("_adjacency_pred", "_adjacency_succ", "_attrs", "_closed", "_lookup", "_rules")

    _attrs: NodeAttrs
    _adjacency_succ: Adjacency
    _adjacency_pred: Adjacency
    _closed: bool
    _rules: RuleTable
    # The rules this tape has used, by op name: filled on an op's first use and never
    # changed, so replacing a rule in the table cannot change a recorded graph.
    _lookup: dict[str, Rule]

    def _check_open(self, op: str) -> None:
        if self._closed:
            raise TapeError(
                f"{op}: {self!r} was closed, so its nodes cannot be combined or differentiated "
                "any more; build the expression again on a new tape"
            )

    def rule(self, op: str) -> Rule:
        """The rule this tape records ``op`` with: the table's, fixed at the op's first use.

        >>> from fnad import Tape
        >>> with Tape() as tape:
        ...     tape.rule("mul").arity
        2
        """
        rule = self._lookup.get(op)
        if rule is None:
            self._check_open(op)
            rule = self._lookup[op] = self._rules[op]  # UnknownOpError names the op
        return rule

    def rule_for(self, node: Node) -> Rule:
        """The rule that differentiates ``node`` (see :meth:`rule`)."""
        rule = self._lookup.get(node.op)
        if rule is None:
            self._check_open(node.op)
            if node.op not in self._rules:
                raise UnknownOpError(
                    f"cannot differentiate node {node!r}: no rule for op {node.op!r} in this "
                    "tape's rule table; register the op (fnad.defop) before calling backward()"
                )
            rule = self.rule(node.op)
        return rule

    def _leaf(self, node: Node, data: float, label: str) -> None:
        """Write the slots of a leaf that ``Node(...)`` made, and record it."""
        _set_data(node, data)
        _set_op(node, "")
        _set_label(node, label)
        _set_inputs(node, ())
        _set_tape(node, self)
        self._record(node)

    def _recorded(self, data: float, op: str, inputs: tuple[Node, ...], label: str = "") -> Node:
        """Make a node of these slots and record it (no checks: callers did them)."""
        node = _make(data, op, inputs, self)
        if label:
            _set_label(node, label)
        self._record(node)
        return node

    def _labelled(self, node: Node, label: str) -> Node:
        """A copy of ``node`` under ``label`` (see :meth:`Node.with_label`)."""
        self._check_open("with_label")
        return self._recorded(node.data, node.op, node.inputs, label)

    def _record(self, node: Node) -> None:
        self._check_open(node.op or "Node")
        self._attrs[node] = {"data": node.data, "op": node.op, "label": node.label}
        self._adjacency_succ[node] = {}
        inputs = node.inputs
        if not inputs:
            self._adjacency_pred[node] = {}
            return
        succ = self._adjacency_succ
        if len(inputs) == 1:
            a = inputs[0]
            self._adjacency_pred[node] = {a: _EDGE_0}
            succ[a][node] = _EDGE_0
        elif len(inputs) == 2 and inputs[0] is not inputs[1]:
            a, b = inputs
            self._adjacency_pred[node] = {a: _EDGE_0, b: _EDGE_1}
            succ[a][node] = _EDGE_0
            succ[b][node] = _EDGE_1
        else:
            positions: dict[Node, list[int]] = {}
            for i, a in enumerate(inputs):
                positions.setdefault(a, []).append(i)
            pred: dict[Node, Mapping[str, Any]] = {}
            for a, where in positions.items():
                data = _edge_data(tuple(where))
                pred[a] = data
                succ[a][node] = data
            self._adjacency_pred[node] = pred

    def constant(self, value: SupportsFloat, label: str = "") -> Node:
        """Record ``value`` as a constant leaf (``op == "const"``), as ops do with numbers."""
        return self._recorded(to_float(value, "constant"), CONST, (), label)

    def apply(self, op: str, *args: Operand, label: str = "") -> Node:
        """Record ``op(*args)``: look up its rule, check the operands, compute, record.

        Numbers among ``args`` become ``const`` leaves. All Nodes must be on this tape.
        The result carries ``label`` (see also :meth:`Node.with_label`). Nothing is
        recorded if anything fails.

        >>> import fnad
        >>> with fnad.Tape() as tape:
        ...     x = fnad.Node(0.5, label="x")
        ...     y = tape.apply("mul", 2, x, label="y")
        >>> y.data, y.label, [a.op for a in y.inputs]
        (1.0, 'y', ['const', ''])
        """
        rule = self._lookup.get(op) or self.rule(op)
        if len(args) != rule.arity:
            raise RuleError(f"op {op!r} takes {rule.arity} argument(s), got {len(args)}: {args!r}")
        if not isinstance(label, str):
            raise OperandTypeError(f"{op}: label must be a str, got {describe(label)}")
        if label:
            node = self.apply(op, *args)
            _set_label(node, label)
            self._attrs[node]["label"] = label
            return node
        if rule.arity == 1:
            return self._apply1(op, args[0])
        if rule.arity == 2:
            return self._apply2(op, args[0], args[1])
        values: list[float] = []
        for position, arg in enumerate(args, 1):
            if type(arg) is Node:
                if arg.tape is not self:
                    raise mixed_tapes(op, position, arg, self)
                values.append(arg.data)
            else:
                values.append(to_float(arg, op, position))
        data = run_forward(rule, values)
        if data - data and strict_var.get():  # nonzero only for inf and nan
            raise non_finite_value(
                op, [a if type(a) is Node else v for a, v in zip(args, values, strict=True)], data
            )
        inputs = tuple(
            arg if type(arg) is Node else self.constant(value)
            for arg, value in zip(args, values, strict=True)
        )
        return self._recorded(data, op, inputs)

    def _apply1(self, op: str, x: object) -> Node:
        rule = self._lookup.get(op) or self.rule(op)
        if type(x) is Node:
            if x.tape is not self:
                raise mixed_tapes(op, 1, x, self)
            a = x.data
        else:
            a = to_float(x, op, 1)
        try:
            data = rule.forward(a)
        except (ArithmeticError, ValueError):
            data = run_forward(rule, (a,))
        if type(data) is not float:
            data = as_result(data, rule)
        if data - data and strict_var.get():
            raise non_finite_value(op, [x if type(x) is Node else a], data)
        if type(x) is not Node:
            x = self.constant(a)
        node: Node = _new_node(Node)
        _set_data(node, data)
        _set_op(node, op)
        _set_label(node, "")
        _set_inputs(node, (x,))
        _set_tape(node, self)
        self._attrs[node] = {"data": data, "op": op, "label": ""}
        self._adjacency_succ[node] = {}
        self._adjacency_pred[node] = {x: _EDGE_0}
        self._adjacency_succ[x][node] = _EDGE_0
        return node

    def _apply2(self, op: str, x: object, y: object) -> Node:
        rule = self._lookup.get(op) or self.rule(op)
        if type(x) is Node:
            if x.tape is not self:
                raise mixed_tapes(op, 1, x, self)
            a = x.data
        else:
            a = to_float(x, op, 1)
        if type(y) is Node:
            if y.tape is not self:
                raise mixed_tapes(op, 2, y, self)
            b = y.data
        else:
            b = to_float(y, op, 2)
        try:
            data = rule.forward(a, b)
        except (ArithmeticError, ValueError):
            data = run_forward(rule, (a, b))
        if type(data) is not float:
            data = as_result(data, rule)
        if data - data and strict_var.get():
            raise non_finite_value(
                op, [x if type(x) is Node else a, y if type(y) is Node else b], data
            )
        if type(x) is not Node:
            x = self.constant(a)
        if type(y) is not Node:
            y = self.constant(b)
        node: Node = _new_node(Node)
        _set_data(node, data)
        _set_op(node, op)
        _set_label(node, "")
        _set_inputs(node, (x, y))
        _set_tape(node, self)
        self._attrs[node] = {"data": data, "op": op, "label": ""}
        succ = self._adjacency_succ
        succ[node] = {}
        if x is y:
            self._adjacency_pred[node] = {x: _EDGE_01}
            succ[x][node] = _EDGE_01
        else:
            self._adjacency_pred[node] = {x: _EDGE_0, y: _EDGE_1}
            succ[x][node] = _EDGE_0
            succ[y][node] = _EDGE_1
        return node


def mixed_tapes(op: str, position: int, node: Node, tape: Recorder) -> TapeError:
    """The error for an operand recorded on another tape than the op's."""
    name = f" {node.label!r}" if node.label else ""
    return TapeError(
        f"{op}: argument {position} (node{name}, data={node.data!r}) was recorded on {node.tape!r}, "
        f"but the other operands are on {tape!r}; nodes of two tapes cannot be combined. "
        "Record the whole expression on one tape: build it inside one `with fnad.Tape():` "
        "block, and give a function that a transform traces its nodes as arguments"
    )
