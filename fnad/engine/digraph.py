"""networkx DiGraphs over a tape's own dicts: the recorded graph, and an output's ancestors.

A ``networkx.DiGraph`` keeps its vertices and edges in three dicts that networkx documents
(``_node``, ``_succ``, ``_pred``). A tape records into those dicts directly
(:mod:`fnad.engine.recording`), and the subgraph of an output and its ancestors is a new
DiGraph over dicts that share the tape's wherever they already describe it, so building it
costs time proportional to the ancestors, not to the tape. Nothing here is recursive: the
ancestors are found with an explicit stack.

Dependencies inside the engine: :mod:`fnad.engine.node` and :mod:`fnad.engine.recording`.
"""

from __future__ import annotations

import networkx as nx

from fnad.engine.node import Node
from fnad.engine.recording import Adjacency, NodeAttrs, Recorder, mixed_tapes

__all__ = ["ancestors_subgraph", "graph_dicts", "graph_from_dicts"]


def graph_dicts(graph: nx.DiGraph[Node]) -> tuple[NodeAttrs, Adjacency, Adjacency]:
    """The dicts networkx documents as a DiGraph's storage: ``_node``, ``_succ``, ``_pred``."""
    state = vars(graph)
    return state["_node"], state["_succ"], state["_pred"]


def graph_from_dicts(nodes: NodeAttrs, succ: Adjacency, pred: Adjacency) -> nx.DiGraph[Node]:
    """A DiGraph whose storage is these dicts, shared, not copied (see :func:`graph_dicts`)."""
    graph: nx.DiGraph[Node] = nx.DiGraph()
    vars(graph)["_node"] = nodes
    # networkx's descriptors on _adj and _pred keep _succ == _adj and reset cached views.
    setattr(graph, "_adj", succ)  # noqa: B010
    setattr(graph, "_pred", pred)  # noqa: B010
    return graph


def ancestors_subgraph(tape: Recorder, output: Node) -> nx.DiGraph[Node]:
    """The subgraph of ``output`` and its ancestors on ``tape``, not frozen: what
    :meth:`Tape.ancestors_graph <fnad.Tape.ancestors_graph>` freezes and
    :meth:`~fnad.Tape.backward_order` sorts. It shares the tape's vertex attributes, and
    each vertex's successor dict where all its successors are ancestors too.

    >>> import fnad
    >>> with fnad.Tape() as tape:
    ...     x = fnad.Node(2.0)
    ...     y = x * 3
    ...     z = x + 1
    >>> sorted(n.op for n in ancestors_subgraph(tape, y))
    ['', 'const', 'mul']
    """
    if output.tape is not tape:
        raise mixed_tapes("backward", 1, output, tape)
    tape._check_open("backward")
    pred = tape._adjacency_pred
    attrs_of = tape._attrs
    nodes: NodeAttrs = {output: attrs_of[output]}
    sub_pred: Adjacency = {}
    stack = [output]
    while stack:
        node = stack.pop()
        sub_pred[node] = parents = pred[node]
        for parent in parents:
            if parent not in nodes:
                nodes[parent] = attrs_of[parent]
                stack.append(parent)
    members = nodes.keys()
    succ: Adjacency = {}
    all_succ = tape._adjacency_succ
    for node in nodes:
        children = all_succ[node]
        if children.keys() <= members:
            succ[node] = children
        else:
            succ[node] = {c: data for c, data in children.items() if c in members}
    return graph_from_dicts(nodes, succ, sub_pred)
