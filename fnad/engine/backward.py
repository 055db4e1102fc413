"""The chain rule, once for every reverse pass over Nodes in fnad, and the gradients it returns.

:func:`backpropagate` walks nodes in a reversed topological order (output first) and
multiplies each node's adjoint by its rule's local partials, adding the products to its
inputs' adjoints in argument order. Eager ``backward()`` and the transforms (grad, vjp,
hessian) call it; nothing else implements the chain rule over a tape. Over a graph table
the same steps are :func:`fnad.engine.table.backpropagate_table` (export, pictures and
summaries read it), and a compiled Program replays them over flat lists: both are tested
bit for bit against this one.

Invariants: no mutation during backward (the pass reads nodes and returns a new dict; the
tape records it afterwards, replacing its previous gradients); nothing recursive (one loop
over the order, so a million-node chain works); constants get no adjoint.

Dependencies inside the engine: :mod:`fnad.engine.node` and :mod:`fnad.engine.scope`; it
reaches rules through each node's tape, which it holds as an object and never imports.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Iterator, Mapping
from typing import Any, Generic, Literal, TypeVar, overload

from fnad._internal import float_partials, non_finite_gradient
from fnad.engine.node import CONST, Node, rich_display
from fnad.engine.scope import strict_var
from fnad.errors import NoGradientError

__all__ = ["Gradients", "backpropagate", "chain_term"]

G = TypeVar("G", float, Node)


class Gradients(Mapping[Node, G], Generic[G]):
    """The result of ``backward()``: an immutable mapping from each ancestor to ∂z/∂ancestor.

    Floats for a plain ``backward()``, Nodes with ``create_graph=True``. Looking up a node
    the output does not depend on raises KeyError; ``node.grad`` reads 0.0 for it.
    """

    __slots__ = ("_grads", "output")

    def __init__(self, output: Node, grads: dict[Node, G]) -> None:
        self.output = output
        self._grads: dict[Node, G] = grads

    def __getitem__(self, node: Node) -> G:
        try:
            return self._grads[node]
        except KeyError:
            if isinstance(node, Node) and node.op == CONST:
                raise NoGradientError(
                    f"{node!r} is a constant (a number an op wrapped): it is not a variable, "
                    "so it gets no gradient; make it a leaf with fnad.Node(...) to get one"
                ) from None
            raise NoGradientError(
                f"{node!r} is not an ancestor of the output {self.output!r}, so its gradient "
                "is 0.0; use grads.get(node, 0.0) or node.grad"
            ) from None

    def __iter__(self) -> Iterator[Node]:
        return iter(self._grads)

    def __len__(self) -> int:
        return len(self._grads)

    def __contains__(self, node: object) -> bool:
        return node in self._grads

    def __repr__(self) -> str:
        return f"Gradients(of={self.output!r}, {len(self._grads)} nodes)"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        """Jupyter's display: a table of the inputs' gradients (see :mod:`fnad.viz.display`)."""
        return rich_display(self, include, exclude)


# --------------------------------------------------------------------------- reverse mode


@overload
def backpropagate(
    order: Iterable[Node],
    output: Node,
    *,
    create_graph: Literal[False] = False,
    into: Container[Node] | None = None,
    local: dict[Node, tuple[float, ...]] | None = None,
    constants: bool = False,
    judge: bool | None = None,
) -> dict[Node, float]: ...
@overload
def backpropagate(
    order: Iterable[Node],
    output: Node,
    *,
    create_graph: Literal[True],
    into: Container[Node] | None = None,
    local: None = None,
    constants: Literal[False] = False,
    judge: bool | None = None,
) -> dict[Node, Node | float]: ...
def backpropagate(
    order: Iterable[Node],
    output: Node,
    *,
    create_graph: bool = False,
    into: Container[Node] | None = None,
    local: dict[Node, tuple[float, ...]] | None = None,
    constants: bool = False,
    judge: bool | None = None,
) -> dict[Node, float] | dict[Node, Node | float]:
    """The chain rule, once for every reverse pass in fnad: ∂output/∂v by adjoint accumulation.

    ``order`` starts at ``output`` and lists every node after all the nodes that use it (a
    reversed topological order, as :meth:`~fnad.Tape.backward_order` gives). Each node's adjoint
    is multiplied by its rule's local partials and added to its inputs' adjoints, in
    argument order; a node missing from ``order`` passes nothing on (the transforms stop
    at their variables this way). Constants get no adjoint.

    Adjoints are floats, or with ``create_graph`` Nodes recorded on the tape (floats where
    every path so far had a constant partial), so they can be differentiated again; then
    only nodes in ``into`` (if given) receive adjoints, so nothing is recorded that no one
    reads (float adjoints go to every input). ``local``, if given, receives each node's
    float partials (the edge labels of an exported graph); ``constants=True`` keeps the
    float adjoints of constants too (the gradient that reaches them, for pictures and
    export).

    Under :func:`strict` (or with ``judge=True``; ``judge=False`` only reports, as export
    does), the first adjoint that becomes nan or ±inf raises :class:`~fnad.NonFiniteError`
    naming the vertex and the op it came through, in either mode and so at every order.
    Judged are the vertices that depend on a variable: those in ``into`` if given, else
    those that have a leaf made with ``Node(...)`` among their ancestors. Constants, and
    vertices computed from constants alone, are not variables: their adjoints (such as the
    ``nan`` that reaches the exponent of ``x**2`` at ``x < 0``) are nobody's gradient.

    >>> from fnad import Node, Tape
    >>> with Tape() as tape:
    ...     x = Node(3.0, label="x")
    ...     z = x * x + 1
    >>> grads = backpropagate(tape.backward_order(z), z)
    >>> grads[x], x in grads, len(grads)
    (6.0, True, 3)
    """
    judged: Container[Node] | None = None
    if strict_var.get() if judge is None else judge:
        if into is None:
            order = order if isinstance(order, list) else list(order)
            judged = _varying(order)
        else:
            judged = into
    token = strict_var.set(False)  # judge the adjoints, not the inner terms of a partial
    try:
        if create_graph:
            return _adjoint_nodes(order, output, into, judged)
        return _adjoint_floats(order, output, local, constants, judged)
    finally:
        strict_var.reset(token)


def _varying(order: list[Node]) -> set[Node]:
    """The nodes of ``order`` (a reversed topological order) that depend on a variable."""
    varying: set[Node] = set()
    for node in reversed(order):
        inputs = node.inputs
        if inputs:
            for a in inputs:
                if a in varying:
                    varying.add(node)
                    break
        elif node.op != CONST:
            varying.add(node)
    return varying


def _adjoint_floats(
    order: Iterable[Node],
    output: Node,
    local: dict[Node, tuple[float, ...]] | None,
    constants: bool,
    judged: Container[Node] | None,
) -> dict[Node, float]:
    tape = output.tape
    lookup = tape._lookup
    grads: dict[Node, float] = {output: 1.0}
    get = grads.get
    for node in order:
        inputs = node.inputs
        if not inputs:
            if node.op == CONST and not constants and node is not output:
                del grads[node]
            continue
        rule = lookup.get(node.op) or tape.rule_for(node)
        grad = grads[node]
        # -0.0 is the additive identity of IEEE floats: a sole -0.0 contribution stays -0.0.
        if len(inputs) == 2:
            a, b = inputs
            try:
                da, db = rule.partials(a.data, b.data, node.data)
            except (ArithmeticError, ValueError, TypeError):
                da, db = float_partials(rule, (a.data, b.data), node.data)
            grads[a] = get(a, -0.0) + grad * da
            grads[b] = get(b, -0.0) + grad * db
            if local is not None:
                local[node] = (float(da), float(db))
        elif len(inputs) == 1:
            a = inputs[0]
            try:
                (da,) = rule.partials(a.data, node.data)
            except (ArithmeticError, ValueError, TypeError):
                (da,) = float_partials(rule, (a.data,), node.data)
            grads[a] = get(a, -0.0) + grad * da
            if local is not None:
                local[node] = (float(da),)
        else:
            parts = float_partials(rule, [a.data for a in inputs], node.data)
            for a, partial in zip(inputs, parts, strict=True):
                grads[a] = get(a, -0.0) + grad * partial
            if local is not None:
                local[node] = tuple(float(p) for p in parts)
        if judged is not None:
            for a in inputs:
                value = grads[a]
                if value - value and a in judged:
                    raise non_finite_gradient(node.op, a, value)
    return grads


def _adjoint_nodes(
    order: Iterable[Node],
    output: Node,
    into: Container[Node] | None,
    judged: Container[Node] | None,
) -> dict[Node, Node | float]:
    tape = output.tape
    adjoints: dict[Node, Node | float] = {output: 1.0}
    for node in order:
        inputs = node.inputs
        if not inputs:
            continue
        adjoint = adjoints.get(node)
        if adjoint is None:
            # Every path to it had a constant-0 partial: nothing to record, except where a
            # float backward's 0·partial is nan (a partial that is not finite, such as the
            # exponent's of (-2)**x): that nan is passed on too, so both modes agree.
            for a, slope in zip(inputs, tape.local_derivatives(node), strict=True):
                if slope - slope and a.op != CONST and (into is None or a in into):
                    previous = adjoints.get(a)
                    adjoints[a] = math.nan if previous is None else previous + math.nan
        else:
            parts = tape.local_derivatives(node, create_graph=True)
            for a, partial in zip(inputs, parts, strict=True):
                if a.op == CONST or (into is not None and a not in into):
                    continue
                term = chain_term(adjoint, partial, node.op)
                if term is not None:
                    previous = adjoints.get(a)
                    adjoints[a] = term if previous is None else previous + term
        if judged is not None:  # as _adjoint_floats judges, so every order names the same
            for a in inputs:
                grad = adjoints.get(a, 0.0)
                value = grad.data if isinstance(grad, Node) else grad
                if value - value and a in judged:
                    raise non_finite_gradient(node.op, a, value)
    return adjoints


def chain_term(factor: Node | float, partial: Node | float, op: str) -> Node | float | None:
    """One term of the chain rule, ``factor * partial``, recording as little as possible:
    None for a constant-0 partial, no product for a factor or partial of 1.

    >>> chain_term(2.0, 0.0, "relu") is None, chain_term(2.0, 1.0, "add")
    (True, 2.0)
    """
    if type(partial) is not Node:
        if partial == 0.0:
            return None
        if partial == 1.0:
            return factor
    elif type(factor) is float and factor == 1.0:
        return partial
    return factor * partial
