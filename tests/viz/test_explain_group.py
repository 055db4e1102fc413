"""explain_group: the part of ∂z/∂(a group) along paths through other groups, against a
brute-force sum over every path of the exported graph."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import fnad
from fnad import Node, explain_group, summarize, to_networkx
from fnad.nn.datasets import moons
from fnad.nn.model import MLP, hinge_loss, l2
from tests.export_strategies import Expr, expressions


def small_net_loss(sizes: tuple[int, ...] = (3, 3, 1), samples: int = 3) -> tuple[Node, MLP[Node]]:
    points, labels = moons(samples, noise=0.1, seed=5)
    with fnad.Tape():
        net = MLP(2, list(sizes), seed=5).trace()
        scores = [net(x) for x in points]
        loss = hinge_loss(scores, labels) + l2(net.parameters(), 1e-2)
    return loss, net


def brute_force_through(graph: nx.DiGraph[int], source: int, via: set[int]) -> float:
    """Σ over every path source → output that visits ``via`` of its product of partials."""
    output = graph.graph["output"]
    if source == output:
        return 1.0 if source in via else 0.0
    total = 0.0
    for path in nx.all_simple_paths(graph, source, output):
        if via.isdisjoint(path):
            continue
        product = 1.0
        for u, v in itertools.pairwise(path):
            product *= graph.edges[u, v]["partial"]
        total += product
    return total


def members_of(z: Node, by: str, names: tuple[str, ...]) -> set[int]:
    summary = summarize(z, by=by)
    return {v for name in names for v in summary.nodes[name]["members"]}


def test_small_network_matches_every_path() -> None:
    loss, net = small_net_loss()
    graph = to_networkx(loss)
    for via in ("L1.N0", "L1.N2", "L2.N0", "rest"):
        e = explain_group(loss, "L0", by="neuron", via=via)
        assert e.groups == ("L0.N0", "L0.N1", "L0.N2")
        # the source vertices are L0's parameters, in parameters() order
        assert e.labels == net.labels()[:9]
        grads = loss.backward()
        assert e.grads == tuple(grads[p] for p in net.parameters()[:9])  # bit for bit
        (route,) = e.routes
        inside = members_of(loss, "neuron", route.via)
        for vertex, through in zip(e.ids, route.through, strict=True):
            assert through == pytest.approx(brute_force_through(graph, vertex, inside), abs=1e-12)
        dot = math.fsum(t * g for t, g in zip(route.through, e.grads, strict=True))
        assert route.share == pytest.approx(dot / math.fsum(g * g for g in e.grads))


def test_shares_of_a_partition_of_paths_add_up_to_one() -> None:
    loss, _ = small_net_loss()
    # Every path from L0's parameters passes exactly one neuron of L1, or none (the
    # regularisation, which goes straight to rest): those shares add up to 1.
    e = explain_group(loss, "L0", by="neuron", via=["L1.N0", "L1.N1", "L1.N2"])
    regularisation = sum(
        2 * 1e-2 * p.data * g for p, g in zip(loss_parameters(loss)[:9], e.grads, strict=True)
    )
    total = sum(route.share for route in e.routes)
    norm2 = math.fsum(g * g for g in e.grads)
    assert total + regularisation / norm2 == pytest.approx(1.0, abs=1e-12)


def loss_parameters(loss: Node) -> list[Node]:
    graph = loss.tape.graph
    return [node for node in graph if node.op == "" and node.label.startswith("L")]


def test_default_asks_every_downstream_group_but_the_outputs() -> None:
    loss, _ = small_net_loss()
    e = explain_group(loss, "L0", by="layer")
    assert [route.name for route in e.routes] == ["L1", "L2"]
    assert e.routes[0].norm >= e.routes[1].norm
    text = str(e)
    assert text.startswith("∂z/∂L0 over 9 vertices of L0 (grouped by layer): ‖∂z/∂L0‖ = ")
    assert "  L1  ‖part‖ " in text and "share " in text


def test_text_of_one_route_lists_the_largest_parts() -> None:
    loss, _ = small_net_loss()
    e = explain_group(loss, "L0", by="neuron", via="L1.N1")
    lines = str(e).splitlines()
    assert lines[2].startswith("  L1.N1  ‖part‖ ")
    assert lines[3] == "largest parts through L1.N1:"
    assert len(lines) == 4 + 5
    first = max(range(9), key=lambda i: abs(e.routes[0].through[i]))
    assert lines[4].startswith(f"  ∂z/∂{e.labels[first]} = ")


@given(expressions(specials=False, max_steps=10), st.data())
def test_random_graphs_by_op_match_every_path(expr: Expr, data: st.DataObject) -> None:
    z, _ = expr.build()
    graph = to_networkx(z)
    assume(all(math.isfinite(graph.edges[edge]["partial"]) for edge in graph.edges))
    summary = summarize(z, by="op")
    names = list(summary)
    source = data.draw(st.sampled_from(names))
    via = data.draw(st.sampled_from(names))
    e = explain_group(z, source, by="op", via=via)
    (route,) = e.routes
    inside = set(summary.nodes[via]["members"])
    assert e.ids == summary.nodes[source]["members"]
    for vertex, through, grad in zip(e.ids, route.through, e.grads, strict=True):
        expected = grad if vertex in inside else brute_force_through(graph, vertex, inside)
        assert through == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_errors_name_the_group_and_the_fix() -> None:
    loss, _ = small_net_loss()
    with pytest.raises(fnad.OperandTypeError, match=r"'L7' is not a group of this graph.*'L0'"):
        explain_group(loss, "L7", by="layer")
    with pytest.raises(TypeError, match=r"via 'L1\.N9' is not a group"):
        explain_group(loss, "L0", by="neuron", via="L1.N9")
    with pytest.raises(fnad.OperandTypeError, match=r"for one vertex use fnad\.explain"):
        explain_group(loss, loss, by="layer")  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandTypeError, match="via must be a group name"):
        explain_group(loss, "L0", by="layer", via=[1])  # type: ignore[list-item]
    with pytest.raises(fnad.OperandTypeError, match=r"expected the output fnad\.Node first"):
        explain_group("L0", "L0", by="layer")  # type: ignore[arg-type]


def test_explain_points_a_group_name_to_explain_group() -> None:
    loss, _ = small_net_loss()
    with pytest.raises(fnad.OperandTypeError, match=r"use fnad\.explain_group\(z, 'L0'"):
        fnad.explain(loss, "L0")  # type: ignore[arg-type]
