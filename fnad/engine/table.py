"""The graph table: one flat, immutable form of a recorded graph, read by every interpreter.

The eager engine records on a networkx tape; everything downstream of it reads a
:class:`GraphTable` instead — the compiled replay (scalar and batched), export, summaries,
pictures and explain. A table comes from a tape (:meth:`GraphTable.of`, ordered once by
``networkx.topological_sort``, as ``backward()`` orders it) or from a file (the readers of
:mod:`fnad.graph`, which check untrusted input first), and :func:`record` puts one back on a
tape as Nodes. A new way to run or show a graph is a small interpreter over these columns,
never another copy of them (JAX's jaxpr plays this part in autodidax).

>>> import fnad
>>> with fnad.Tape():
...     x, y = fnad.Node(2.0, label="x"), fnad.Node(3.0, label="y")
...     z = x * y + x
>>> table = GraphTable.of(z, [x, y])
>>> table.ops, table.names, table.output
(('', '', 'mul', 'add'), ('x', 'y'), 3)
>>> [table.arguments(v) for v in range(len(table))]
[(), (), (0, 1), (2, 0)]

Invariants:

- **Topological, output last among its ancestors.** Vertices ``0 .. output`` are the output's
  ancestors in ``networkx.topological_sort`` order (the order ``output.backward()`` walks in
  reverse); vertices after ``output`` are the others some input or aux value needs, in
  recording order (also topological). Every argument comes before the vertex that uses it.
- **Arguments in order.** The arguments of vertex ``v`` are
  ``sources[starts[v]:starts[v + 1]]``: ``x * x`` lists ``x`` twice, ``x - y`` keeps ``x``
  first. Leaves (inputs and constants) have none.
- **Rules fixed.** ``rules[v]`` is the rule each op vertex was resolved to when the table was
  made; a program built from the table runs, traces, exports and explains with those rules
  even if the op is re-registered later.
- **Immutable and flat.** Columns are tuples or arrays of atoms (integers as ``array('i')``); no Node, no networkx graph,
  so a table pickles and crosses processes as plain data.

Dependencies inside the engine: :mod:`fnad.engine.node`, :mod:`fnad.engine.rules`,
:mod:`fnad.engine.scope` and :mod:`fnad.engine.tape`.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from typing import SupportsFloat, cast

import attrs

from fnad._internal import float_partials
from fnad.engine.node import CONST, Node, Operand, to_float
from fnad.engine.rules import Rule, RuleTable
from fnad.engine.scope import strict_var
from fnad.engine.tape import Tape

__all__ = [
    "INPUT",
    "GraphTable",
    "backpropagate_table",
    "input_names",
    "record",
    "restore_tape",
    "vertices_of",
]

INPUT = ""
"""The ``op`` of an input (a variable made with ``fnad.Node(...)``)."""


@attrs.frozen(eq=False)
class GraphTable:
    """A recorded graph as columns, one entry per vertex, in topological order.

    Make one from a traced output with :meth:`of`; the readers of :mod:`fnad.graph` make
    one from a file. ``outputs[0]`` is the output (the value that is differentiated), the
    rest are auxiliary values (``has_aux``, a network's scores) replayed alongside it.
    """

    ops: Sequence[str]
    """:data:`INPUT` (``""``), ``"const"``, or an op's name."""
    labels: Sequence[str]
    values: Sequence[float]
    """Each vertex's value at the point the graph was recorded (or stored in the file)."""
    starts: Sequence[int]
    """``len + 1`` offsets into :attr:`sources`."""
    sources: Sequence[int]
    """Every op vertex's arguments, in argument order, as vertex numbers."""
    rules: Mapping[str, Rule]
    """The rule of each op the table uses, by name."""
    inputs: Sequence[int]
    """The vertices a caller sets (the program's inputs), in argument order."""
    names: Sequence[str]
    """One unique name per input (:func:`input_names`)."""
    outputs: Sequence[int]
    """The output first, then the auxiliary values."""
    grads: Sequence[float] | None = None
    """∂output/∂vertex for every vertex, when the source had them (a file, a backward)."""
    ids: Sequence[int] | None = None
    """Each vertex's place in recording order (tape positions, or a reader's order): a
    topological order that :func:`record` follows, so a graph re-traced and exported is
    numbered as its source was. None: record in table order."""

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def output(self) -> int:
        """The output vertex: the last of its ancestors (a whole tape's table has none)."""
        return self.outputs[0]

    @property
    def aux(self) -> Sequence[int]:
        """The auxiliary output vertices."""
        return self.outputs[1:]

    def arguments(self, vertex: int) -> tuple[int, ...]:
        """The argument vertices of ``vertex``, in argument order (empty for leaves)."""
        return tuple(self.sources[self.starts[vertex] : self.starts[vertex + 1]])

    def rule_table(self) -> RuleTable:
        """A rule table holding exactly the table's rules (what a re-trace records with)."""
        table = RuleTable()
        for rule in self.rules.values():
            table.register(rule)
        return table

    @classmethod
    def of_tape(cls, tape: Tape) -> GraphTable:
        """Every vertex of ``tape``, in recording order, and no outputs: what a Tape pickles
        as (:func:`restore_tape`). Its ops are resolved by name on the tape it is recorded
        on, so ``rules`` is empty."""
        nodes = tape._nodes_in_order()
        index = {node: k for k, node in enumerate(nodes)}
        starts = array("i", [0])
        sources = array("i")
        for node in nodes:
            if node.inputs:
                sources.extend([index[a] for a in node.inputs])
            starts.append(len(sources))
        return cls(
            ops=tuple(n.op for n in nodes),
            labels=tuple(n.label for n in nodes),
            values=tuple(n.data for n in nodes),
            starts=starts,
            sources=sources,
            rules={},
            inputs=(),
            names=(),
            outputs=(),
        )

    @classmethod
    def of(
        cls,
        output: Node,
        inputs: Sequence[Node] = (),
        *,
        aux: Sequence[Node] = (),
        names: Sequence[str] | None = None,
        vertices: Sequence[Node] | None = None,
    ) -> GraphTable:
        """The table of ``output``'s graph, with ``inputs`` (leaves on its tape) as inputs.

        Names default to the inputs' labels, made unique by :func:`input_names`. Callers
        check their arguments (``Program.from_nodes`` does); this only reads the tape.
        ``vertices``: the Nodes as :func:`vertices_of` lists them, if the caller has them
        already (an export keeps them, to name vertices by their Nodes).
        """
        tape = output.tape
        nodes = vertices_of(output, (*inputs, *aux)) if vertices is None else vertices
        index = {node: k for k, node in enumerate(nodes)}
        # Integer columns as arrays: 4 bytes a vertex, no int object each (a program keeps
        # its table, and a compiled training step may hold hundreds of thousands of vertices).
        starts = array("i", [0])
        sources = array("i")
        rules: dict[str, Rule] = {}
        for node in nodes:
            if node.inputs:
                sources.extend([index[a] for a in node.inputs])
                if node.op not in rules:
                    rules[node.op] = tape.rule_for(node)
            starts.append(len(sources))
        tape.position(output)  # checks that the tape is open, and fills its cache of positions
        positions = tape._position_cache
        if names is None:
            names = list(input_names([(positions[n], n.label) for n in inputs]).values())
        return cls(
            ops=tuple(n.op for n in nodes),
            labels=tuple(n.label for n in nodes),
            values=tuple(n.data for n in nodes),
            starts=starts,
            sources=sources,
            rules=rules,
            inputs=tuple(index[n] for n in inputs),
            names=tuple(names),
            outputs=(index[output], *(index[n] for n in aux)),
            ids=array("i", map(positions.__getitem__, nodes)),
        )


def restore_tape(table: GraphTable, grads: tuple[Sequence[int], Sequence[float]]) -> Tape:
    """A Tape from its pickle: :meth:`GraphTable.of_tape` recorded again as it was (stored
    values, no rule evaluated), with the gradients of its last backward."""
    tape = Tape()
    nodes = record(table, tape, evaluate=False)
    positions, values = grads
    tape._grads = {nodes[i]: g for i, g in zip(positions, values, strict=True)}  # type: ignore[misc]
    return tape


def vertices_of(output: Node, also: Sequence[Node] = ()) -> list[Node]:
    """``output``'s ancestors in ``networkx.topological_sort`` order (output last), then
    the other vertices that the nodes in ``also`` need, in recording order: the vertex
    order of :meth:`GraphTable.of`."""
    tape = output.tape
    schedule = tape.backward_order(output)
    schedule.reverse()
    known = set(schedule)
    needed: set[Node] = set()
    for node in also:
        if node not in known and node not in needed:
            needed.update(n for n in tape.backward_order(node) if n not in known)
    return schedule + sorted(needed, key=tape.position)  # recording order is topological


def record(
    table: GraphTable,
    tape: Tape | None = None,
    *,
    at: Mapping[int, SupportsFloat] | None = None,
    bind: Mapping[int, Operand] | None = None,
    evaluate: bool = True,
) -> list[Node | float]:
    """Record ``table`` on ``tape`` (default: a fresh tape with the table's own rules),
    evaluating every op through the rules; return one Node per vertex.

    ``at`` gives inputs new values (they are recorded as leaves; inputs not in ``at`` keep
    their stored values). ``bind`` stands given Nodes or numbers in for vertices, as they
    are: nothing is recorded for a bound vertex, and an op that uses a bound number records
    it as a constant (custom ops rebuild their partials on the caller's arguments this way).
    ``evaluate=False`` records every vertex with its stored value and runs no rule (a
    Tape's pickle is restored this way).

    >>> import fnad
    >>> x = fnad.Node(3.0, label="x")
    >>> table = GraphTable.of(x * x + 1.0, [x])
    >>> nodes = record(table, at={table.inputs[0]: 5.0})
    >>> nodes[table.output].data
    26.0
    """
    if tape is None:
        tape = Tape(table.rule_table())
    given = {} if at is None else at
    bound = {} if bind is None else bind
    ops, labels, values, starts, sources = (
        table.ops,
        table.labels,
        table.values,
        table.starts,
        table.sources,
    )
    nodes: list[Node | float] = [0.0] * len(ops)
    order = (
        range(len(ops)) if table.ids is None else sorted(range(len(ops)), key=table.ids.__getitem__)
    )
    if not evaluate:
        for k in order:
            args = tuple(cast(Node, nodes[j]) for j in sources[starts[k] : starts[k + 1]])
            nodes[k] = tape._recorded(values[k], ops[k], args, labels[k])
        return nodes
    with tape:
        for k in order:
            op = ops[k]
            if k in bound:
                stand_in = bound[k]
                nodes[k] = stand_in if isinstance(stand_in, Node) else to_float(stand_in)
            elif op == INPUT:
                value = given[k] if k in given else values[k]
                nodes[k] = Node(value, label=labels[k])
            elif op == CONST:
                nodes[k] = tape.constant(values[k], label=labels[k])
            else:
                operands = [nodes[j] for j in sources[starts[k] : starts[k + 1]]]
                nodes[k] = tape.apply(op, *operands, label=labels[k])
    return nodes


def backpropagate_table(table: GraphTable) -> tuple[list[float], list[float]]:
    """∂output/∂v for every vertex ``v <= table.output``, and every argument's local partial.

    The chain rule of :func:`~fnad.engine.backward.backpropagate`, run over the columns
    instead of Nodes, for the interpreters that show a graph (export, pictures, summaries,
    explain): the vertices ``output .. 0`` are the reversed ``networkx.topological_sort``
    order that ``backward()`` walks, each adjoint is multiplied by the rule's partials at
    the stored values and added to the arguments' adjoints in argument order, from -0.0
    (IEEE's additive identity). So the gradients are bit-identical to ``output.backward()``
    on the graph the table was made from; constants keep theirs, and nothing is judged
    (export reports non-finite gradients, it does not refuse them).

    Returns ``(grads, partials)``: ``grads[v]`` (0.0 after the output), and ``partials[p]``
    for argument slot ``p`` (aligned with :attr:`GraphTable.sources`).

    >>> import fnad
    >>> x = fnad.Node(3.0, label="x")
    >>> table = GraphTable.of(x * x + 1.0)
    >>> grads, partials = backpropagate_table(table)
    >>> list(zip(table.ops, grads)), partials
    ([('const', 1.0), ('', 6.0), ('mul', 1.0), ('add', 1.0)], [3.0, 3.0, 1.0, 1.0])
    """
    ops, values, starts, sources, rules = (
        table.ops,
        table.values,
        table.starts,
        table.sources,
        table.rules,
    )
    output = table.output
    grads = [-0.0] * (output + 1) + [0.0] * (len(ops) - output - 1)
    grads[output] = 1.0
    partials = [0.0] * len(sources)
    token = strict_var.set(False)  # as backpropagate: the inner terms of a partial are not judged
    try:
        for v in range(output, -1, -1):
            first, last = starts[v], starts[v + 1]
            if first == last:
                continue
            rule, out, grad = rules[ops[v]], values[v], grads[v]
            if last - first == 1:
                a = sources[first]
                try:
                    (da,) = rule.partials(values[a], out)
                except (ArithmeticError, ValueError, TypeError):
                    (da,) = float_partials(rule, (values[a],), out)
                grads[a] += grad * da
                partials[first] = float(da)
            elif last - first == 2:
                a, b = sources[first], sources[first + 1]
                try:
                    da, db = rule.partials(values[a], values[b], out)
                except (ArithmeticError, ValueError, TypeError):
                    da, db = float_partials(rule, (values[a], values[b]), out)
                grads[a] += grad * da
                grads[b] += grad * db
                partials[first] = float(da)
                partials[first + 1] = float(db)
            else:
                arguments = sources[first:last]
                parts = float_partials(rule, [values[a] for a in arguments], out)
                for slot, a, partial in zip(range(first, last), arguments, parts, strict=True):
                    grads[a] += grad * partial
                    partials[slot] = float(partial)
    finally:
        strict_var.reset(token)
    return grads, partials


def input_names(leaves: Sequence[tuple[int, str]]) -> dict[int, str]:
    """The replay name of each input vertex, given ``(id, label)`` pairs.

    An input is named by its label when no other input has that label; an unlabelled
    input, or one whose label is shared, is named ``label#id`` (``#3`` when unlabelled),
    so every name is unique.

    >>> input_names([(0, "x"), (1, "y"), (2, "y"), (5, ""), (6, "z")])
    {0: 'x', 1: 'y#1', 2: 'y#2', 5: '#5', 6: 'z'}
    """
    counts: dict[str, int] = {}
    for _, label in leaves:
        counts[label] = counts.get(label, 0) + 1
    names: dict[int, str] = {}
    taken: set[str] = set()
    for vertex, label in leaves:
        if label and counts[label] == 1:
            names[vertex] = label
            taken.add(label)
    for vertex, label in leaves:
        if vertex in names:
            continue
        name = f"{label}#{vertex}"
        while name in taken:  # a unique label that happens to read "y#1"
            name = f"{name}#{vertex}"
        names[vertex] = name
        taken.add(name)
    return {vertex: names[vertex] for vertex, _ in leaves}
