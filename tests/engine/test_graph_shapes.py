"""Graph shapes that trip up engines: repeated arguments, shared subexpressions, diamonds."""

from __future__ import annotations

import math

import networkx as nx
import pytest

import fnad
from fnad import Node


def test_a_times_a_is_one_edge_with_two_positions() -> None:
    with fnad.Tape() as tape:
        a = Node(3.0, label="a")
        b = a * a
        assert b.backward()[a] == 6.0
    graph = tape.graph
    assert graph.number_of_edges() == 1
    assert graph.edges[a, b]["positions"] == (0, 1)
    assert b.inputs == (a, a)
    assert b.prev == frozenset({a})


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda a: a + a, 2.0),
        (lambda a: a - a, 0.0),
        (lambda a: a / a, 0.0),
        (lambda a: a * a, 6.0),
        (lambda a: a**a, 27 * (math.log(3) + 1)),
    ],
    ids=["a+a", "a-a", "a/a", "a*a", "a**a"],
)
def test_repeated_argument(build: object, expected: float) -> None:
    with fnad.Tape():
        a = Node(3.0)
        out = build(a)  # type: ignore[operator]
        assert out.backward()[a] == pytest.approx(expected, rel=1e-15)


def test_argument_order_is_kept() -> None:
    with fnad.Tape() as tape:
        a, b = Node(5.0, label="a"), Node(2.0, label="b")
        ab, ba = a - b, b - a
        assert (ab.data, ba.data) == (3.0, -3.0)
        assert ab.backward()[a] == 1.0 and ab.backward()[b] == -1.0
        assert ba.backward()[a] == -1.0
        q = b / a
        grads = q.backward()
        assert grads[b] == 1 / 5 and grads[a] == -2 / 25
    assert tape.graph.edges[a, q]["positions"] == (1,)
    assert tape.graph.edges[b, q]["positions"] == (0,)


def test_shared_subexpression_counts_every_path() -> None:
    with fnad.Tape():
        a = Node(1.5)
        b = a + a
        c = b + b
        assert c.backward()[a] == 4.0
        d = c * b  # (4a)(2a) = 8a² → 16a
        assert d.backward()[a] == 16 * 1.5


def test_diamond() -> None:
    with fnad.Tape():
        x = Node(0.3)
        left, right = x.sin(), x.cos()
        top = left * right  # sin·cos = sin(2x)/2 → cos(2x)
        assert top.backward()[x] == pytest.approx(math.cos(0.6), rel=1e-14)


def test_equal_valued_leaves_are_distinct_vertices() -> None:
    with fnad.Tape() as tape:
        x1, x2 = Node(2.0), Node(2.0)
        y = x1 * x2 + x1
    assert x1 is not x2 and x1 != x2 and hash(x1) != hash(x2)
    assert tape.graph.number_of_nodes() == 4
    grads = y.backward()
    assert (grads[x1], grads[x2]) == (3.0, 2.0)


def test_numbers_become_const_vertices() -> None:
    with fnad.Tape() as tape:
        x = Node(2.0, label="x")
        y = 3 * x
    const = y.inputs[0]
    assert (const.op, const.data, const.label) == ("const", 3.0, "")
    assert tape.graph.nodes[const]["op"] == "const"


def test_tape_graph_matches_a_graph_built_with_the_public_api() -> None:
    """The tape writes networkx's dicts directly for speed; the result must be identical."""
    with fnad.Tape() as tape:
        x, y = Node(2.0, label="x"), Node(-1.0, label="y")
        z = (x * y + x**2 + y.relu() - x / y).tanh() * x * x
        z.backward()
    expected: nx.DiGraph[Node] = nx.DiGraph()
    for node in tape.graph:
        expected.add_node(node, data=node.data, op=node.op, label=node.label)
        if node.op != "const":  # constants are not variables: no gradient (docs/semantics.md)
            expected.nodes[node]["grad"] = node.grad
    for node in tape.graph:
        for position, source in enumerate(node.inputs):
            if expected.has_edge(source, node):
                expected.edges[source, node]["positions"] += (position,)
            else:
                expected.add_edge(source, node, positions=(position,))
    assert nx.utils.graphs_equal(tape.graph, expected)
    assert nx.is_directed_acyclic_graph(tape.graph)
    # networkx keeps insertion order: each vertex's predecessors are its distinct
    # arguments in argument order (x*x: one predecessor).
    for node in tape.graph:
        assert list(tape.graph.predecessors(node)) == list(dict.fromkeys(node.inputs))
    assert list(tape.graph.predecessors(z)) == [z.inputs[0], x]


def test_the_tape_graph_is_frozen() -> None:
    with fnad.Tape() as tape:
        Node(1.0)
    with pytest.raises(nx.NetworkXError, match="Frozen"):
        tape.graph.add_node("intruder")  # type: ignore[arg-type]
    assert nx.is_frozen(tape.graph)


def test_ancestors_graph_is_a_proper_networkx_graph() -> None:
    with fnad.Tape() as tape:
        x, y = Node(1.0), Node(2.0)
        unrelated = x * 10
        z = x * y + y
    sub = tape.ancestors_graph(z)
    assert set(sub) == {x, y, z, z.inputs[0]}
    assert unrelated not in sub
    assert sorted(d for _, d in sub.in_degree()) == [0, 0, 2, 2]
    assert list(nx.topological_sort(sub))[-1] is z
    order = tape.backward_order(z)
    assert order[0] is z and set(order) == set(sub)
