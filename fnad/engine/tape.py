"""Tape: the recording of every Node built while it was current, as a networkx DiGraph.

Invariants:

- **One vertex per Node, one edge per input→output pair**, whose ``positions`` attribute
  lists the argument positions the input fills (``x * x``: one edge, positions ``(0, 1)``).
  The order of arguments lives in ``Node.inputs``; rules never read ``graph.predecessors``.
- **DAG by construction.** A node is recorded after its inputs (see
  :mod:`fnad.engine.recording`, the hot path), so recording order is a topological order
  and the graph never holds a cycle.
- **No mutation during backward.** Backward reads the graph, then records one mapping of
  gradients, replacing the previous one: gradients never accumulate across calls.
- **Rules fixed per tape.** The first use of an op on a tape fixes its rule for that tape.
- **Nothing recursive.** Ancestors, ordering, backward and pickling are loops.

Dependencies inside the engine: :mod:`fnad.engine.rules`, :mod:`fnad.engine.scope`,
:mod:`fnad.engine.node`, :mod:`fnad.engine.recording`, :mod:`fnad.engine.digraph` and
:mod:`fnad.engine.backward`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, overload

import networkx as nx

from fnad._internal import (
    check_arity,
    describe,
    float_partials,
)
from fnad.engine.backward import Gradients, backpropagate
from fnad.engine.digraph import ancestors_subgraph, graph_dicts
from fnad.engine.node import CONST, Node, to_float
from fnad.engine.recording import Recorder
from fnad.engine.rules import RuleTable, current_rules
from fnad.engine.scope import entered_var, strict_var, tape_var
from fnad.errors import RuleError, TapeError

__all__ = ["Tape"]


_serials = itertools.count(1)


class Tape(Recorder):
    """A recording of every Node built while it was current, as a networkx ``DiGraph``.

    ``tape.graph`` has one vertex per Node (attributes ``data``, ``op``, ``label`` and,
    after a backward pass, ``grad``) and one edge per input→output pair, whose
    ``positions`` attribute lists the argument positions the input fills.

    >>> import fnad
    >>> with fnad.Tape() as tape:
    ...     x = fnad.Node(2.0, label="x")
    ...     y = x * x
    >>> tape.graph.number_of_nodes(), tape.graph.edges[x, y]["positions"]
    (2, (0, 1))

    The graph is frozen (``networkx.freeze``) and its edge attributes are read-only: the
    tape owns it. Use :func:`fnad.to_networkx` for a copy you can modify. A tape is not
    thread-safe; give each thread its own (the default tape already is per thread).

    The first use of an op on a tape fixes its rule for that tape: a later
    ``defop(..., replace=True)`` changes new tapes, never a graph already recorded.

    Recording (``Node`` operators, :meth:`apply`, :meth:`constant`) is the hot path and
    lives in its base class, :class:`~fnad.engine.recording.Recorder`.
    """

    __slots__ = (
        "__weakref__",
        "_grads",
        "_graph",
        "_graph_grads",
        "_order_cache",
        "_position_cache",
        "_serial",
    )

    def __init__(self, rules: RuleTable | None = None) -> None:
        if rules is not None and not isinstance(rules, RuleTable):
            raise RuleError(
                f"Tape(rules=...) takes a fnad RuleTable, got {describe(rules)}; "
                "e.g. fnad.Tape(rules=fnad.builtin_rules().copy())"
            )
        self._serial = next(_serials)
        self._rules = rules if rules is not None else current_rules()
        self._lookup = {}
        graph: nx.DiGraph[Node] = nx.DiGraph()
        nx.freeze(graph)
        self._graph = graph
        self._attrs, self._adjacency_succ, self._adjacency_pred = graph_dicts(graph)
        self._grads: dict[Node, float] = {}
        self._graph_grads: dict[Node, float] = {}
        self._order_cache: list[Node] = []
        self._position_cache: dict[Node, int] = {}
        self._closed = False

    # -- scoping -------------------------------------------------------------------------

    def __enter__(self) -> Tape:
        """Make this tape current until the block ends, in this thread or asyncio task.

        Each context keeps its own stack of open blocks, so several asyncio tasks may be
        inside ``with tape:`` for one tape at once, each block restoring what was current
        in its own task. (Tasks take turns on one thread, so their recording interleaves
        safely; threads may enter one tape too, but must not record on it concurrently.)
        A block must end in the task that began it, innermost first, else a
        :class:`~fnad.TapeError`.
        """
        token = tape_var.set(self)
        entered_var.set((self, token, entered_var.get()))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        entry = entered_var.get()
        if entry is not None and entry[0] is self:
            _, token, outer = entry
            try:
                tape_var.reset(token)
            except ValueError:  # entered in the context this one was copied from
                pass
            else:
                entered_var.set(outer)
                return
        raise TapeError(
            f"leaving a `with` block of {self!r} that is not the innermost block open in this "
            "thread or asyncio task; end each `with tape:` block in the task that began it, "
            "innermost first"
        )

    def __repr__(self) -> str:
        # O(1): counting edges would walk the whole tape.
        return f"Tape(#{self._serial}, nodes={len(self._attrs)})"

    def __len__(self) -> int:
        return len(self._attrs)

    @property
    def rules(self) -> RuleTable:
        """The rule table this tape records and differentiates with (fixed at creation)."""
        return self._rules

    def close(self) -> None:
        """Forget everything recorded, so the graph is freed now rather than by the GC.

        Nodes and their tape refer to each other, so a tape nobody uses any more is freed
        by Python's cyclic garbage collector, whenever that runs. Closing empties the
        graph and the gradient record at once; the nodes keep their ``data``, ``op``,
        ``label`` and ``inputs``, but can no longer be combined or differentiated (a
        :class:`~fnad.TapeError`), and their ``grad`` reads 0.0. Closing twice is harmless.
        ``fnad.nn.train_step`` and the transforms close their private tapes this way.

        >>> with Tape() as tape:
        ...     x = Node(2.0)
        ...     loss = x * x
        ...     slope = loss.backward()[x]
        >>> tape.close()
        >>> slope, len(tape), loss.data
        (4.0, 0, 4.0)
        >>> loss + 1
        Traceback (most recent call last):
        ...
        fnad.errors.TapeError: add: Tape(#..., nodes=0) was closed, so its nodes cannot be combined or differentiated any more; build the expression again on a new tape
        """
        self._closed = True
        self._lookup = {}  # ops now take the slow path, which reports the closed tape
        self._attrs.clear()
        self._adjacency_succ.clear()
        self._adjacency_pred.clear()
        self._grads = {}
        self._graph_grads = self._grads
        self._order_cache = []
        self._position_cache = {}

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def graph(self) -> nx.DiGraph[Node]:
        """The recorded graph (read-only); vertices carry ``grad`` from the latest backward."""
        if self._graph_grads is not self._grads:
            attrs_of = self._attrs
            for node in self._graph_grads:
                attrs_of[node].pop("grad", None)
            for node, grad in self._grads.items():
                attrs_of[node]["grad"] = grad
            self._graph_grads = self._grads
        nx._clear_cache(self._graph)
        return self._graph

    # -- backward (the chain rule itself: fnad.engine.backward.backpropagate) ------------

    def ancestors_graph(self, output: Node) -> nx.DiGraph[Node]:
        """The subgraph of ``output`` and its ancestors, frozen: read it, analyse it.

        Its cost is proportional to the ancestors, not to the tape: it shares the tape's
        (read-only) dicts wherever they already describe the subgraph.

        >>> with Tape() as tape:
        ...     x = Node(2.0)
        ...     z = x * 3 + 1
        >>> sub = tape.ancestors_graph(z)
        >>> sub.number_of_nodes(), nx.is_frozen(sub)
        (5, True)
        """
        subgraph = ancestors_subgraph(self, output)
        nx.freeze(subgraph)
        return subgraph

    def backward_order(self, output: Node) -> list[Node]:
        """``output`` and its ancestors, output first: ``networkx.topological_sort`` reversed."""
        subgraph = ancestors_subgraph(self, output)
        order = list(nx.topological_sort(subgraph))
        # The sort caches a degree view that refers back to the subgraph: a reference cycle
        # that would keep every ancestor alive until the cyclic GC runs. The subgraph is
        # ours alone, so drop its state and let reference counting free it (and, for a
        # closed tape, the nodes) at once.
        vars(subgraph).clear()
        order.reverse()
        return order

    @overload
    def backward(
        self, output: Node, *, create_graph: Literal[False] = False
    ) -> Gradients[float]: ...
    @overload
    def backward(self, output: Node, *, create_graph: Literal[True]) -> Gradients[Node]: ...
    @overload
    def backward(
        self, output: Node, *, create_graph: bool
    ) -> Gradients[float] | Gradients[Node]: ...
    def backward(
        self, output: Node, *, create_graph: bool = False
    ) -> Gradients[float] | Gradients[Node]:
        """Reverse mode from ``output``; see :meth:`Node.backward`."""
        order = self.backward_order(output)
        if not create_graph:
            grads: dict[Node, float] = backpropagate(order, output)
            self._grads = grads
            return Gradients(output, grads)
        adjoints = backpropagate(order, output, create_graph=True)  # judges as it goes
        zero: Node | None = None  # one shared 0 for ancestors whose every partial is 0
        node_grads: dict[Node, Node] = {}
        for node in order:
            if node.op == CONST and node is not output:
                continue
            grad = adjoints.get(node, 0.0)
            if isinstance(grad, Node):
                node_grads[node] = grad
            elif grad == 0.0:
                zero = zero if zero is not None else self.constant(0.0)
                node_grads[node] = zero
            else:
                node_grads[node] = self.constant(grad)
        self._grads = {node: grad.data for node, grad in node_grads.items()}
        return Gradients(output, node_grads)

    @overload
    def local_derivatives(
        self, node: Node, *, create_graph: Literal[False] = False
    ) -> tuple[float, ...]: ...
    @overload
    def local_derivatives(
        self, node: Node, *, create_graph: Literal[True]
    ) -> tuple[Node | float, ...]: ...
    @overload
    def local_derivatives(
        self, node: Node, *, create_graph: bool
    ) -> tuple[float, ...] | tuple[Node | float, ...]: ...
    def local_derivatives(
        self, node: Node, *, create_graph: bool = False
    ) -> tuple[float, ...] | tuple[Node | float, ...]:
        """∂node/∂inputᵢ at the recorded values, one per argument: the chain-rule factor
        on each edge into ``node`` (empty for a leaf). IEEE results, never raises for nan.

        With ``create_graph`` the rule's partials are evaluated on the input Nodes and
        recorded on this tape (a partial that is a constant stays a float).

        >>> with Tape() as tape:
        ...     x, y = Node(2.0), Node(3.0)
        ...     z = x * y
        >>> tape.local_derivatives(z)
        (3.0, 2.0)
        >>> tape.local_derivatives(z, create_graph=True) == (y, x)
        True
        """
        inputs = node.inputs
        if not inputs:
            return ()
        rule = self.rule_for(node)
        if create_graph:
            parts = check_arity(rule.name, rule.partials(*inputs, node), len(inputs))
            return tuple(
                p if type(p) is Node else to_float(p, f"partials of {rule.name}") for p in parts
            )
        token = strict_var.set(False)  # it reports values; judging them is strict()'s business
        try:
            values = float_partials(rule, [a.data for a in inputs], node.data)
        finally:
            strict_var.reset(token)
        return tuple(float(p) for p in values)

    # -- pickling and positions --------------------------------------------------------

    def _nodes_in_order(self) -> list[Node]:
        if len(self._order_cache) != len(self._attrs):
            self._order_cache = list(self._attrs)
            self._position_cache = {}
        return self._order_cache

    def position(self, node: Node) -> int:
        """Where ``node`` stands in recording order, a topological order by construction.

        >>> with Tape() as tape:
        ...     x = Node(1.0)
        ...     y = x * x
        >>> tape.position(x), tape.position(y)
        (0, 1)
        """
        self._check_open("position")
        if not isinstance(node, Node) or node.tape is not self:
            raise TapeError(
                f"position: {describe(node)} is not a node of {self!r}; "
                "ask the tape the node was recorded on (node.tape.position(node))"
            )
        order = self._nodes_in_order()
        if len(self._position_cache) != len(order):
            self._position_cache = {n: i for i, n in enumerate(order)}
        return self._position_cache[node]

    def __reduce__(self) -> tuple[Callable[..., Tape], tuple[Any, ...]]:
        # The graph as a table of flat columns (cheap for pickle and the GC), recorded again
        # on load by the one routine that records tables; then the last backward's grads.
        from fnad.engine.table import GraphTable, restore_tape  # table.py builds on Tape

        table = GraphTable.of_tape(self)
        index = {node: i for i, node in enumerate(self._nodes_in_order())}
        grads = ([index[n] for n in self._grads], list(self._grads.values()))
        return restore_tape, (table, grads)


def _restore_tape(
    columns: tuple[list[float], list[str], list[str], list[int], list[int]],
    grads: tuple[list[int], list[float]],
) -> Tape:
    """A Tape pickled before tapes pickled as tables (flat columns with arities)."""
    from fnad.engine.table import GraphTable, restore_tape

    data, ops, labels, arities, flat_inputs = columns
    starts = list(itertools.accumulate(arities, initial=0))
    table = GraphTable(
        ops=ops,
        labels=labels,
        values=data,
        starts=starts,
        sources=flat_inputs,
        rules={},
        inputs=(),
        names=(),
        outputs=(),
    )
    return restore_tape(table, grads)
