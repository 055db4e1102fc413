"""summarize: quotient graphs by structure, checked against networkx.quotient_graph and a
reference grouping; the moons picture; a million vertices."""

from __future__ import annotations

import gc
import json
import math
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnad
from fnad import Node, summarize, to_networkx
from fnad.nn.datasets import moons
from fnad.nn.model import MLP, hinge_loss, l2
from fnad.viz.summary import (
    CONST_GROUP,
    REST_GROUP,
    VertexInfo,
    render_summary,
    select_groups,
    summary_to_dot,
)
from tests.export_strategies import Expr, expressions, need_dot, need_graphviz_package
from tests.graphs import seed


def moons_loss(samples: int = 12, sizes: tuple[int, ...] = (4, 4, 1), seed: int = 3) -> Node:
    points, labels = moons(samples, noise=0.1, seed=seed)
    with fnad.Tape():
        net = MLP(2, list(sizes), seed=seed).trace()
        scores = [net(x) for x in points]
        return hinge_loss(scores, labels) + l2(net.parameters(), 1e-4)


# --------------------------------------------------------------------------- oracles


def arguments_in_order(graph: nx.DiGraph[int], v: int) -> list[int]:
    """v's distinct arguments ordered by their first argument position."""
    return [u for u, _ in sorted(graph.pred[v].items(), key=lambda item: min(item[1]["positions"]))]


def reference_groups(graph: nx.DiGraph[int], own: dict[int, str]) -> dict[int, str]:
    """The placement rules, written out plainly over a to_networkx graph."""
    groups: dict[int, str] = {}
    for v in sorted(graph):  # ids are topological
        if v in own:
            groups[v] = own[v]
            continue
        args = arguments_in_order(graph, v)
        if not args:
            groups[v] = "const" if graph.nodes[v]["op"] == "const" else "input"
            continue
        owned = [u for u in args if u in own]
        if owned:
            groups[v] = own[owned[0]]
        elif len({groups[u] for u in args}) == 1:
            groups[v] = groups[args[0]]
        else:
            groups[v] = "rest"
    return groups


def members(summary: nx.DiGraph[str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for name in summary:
        found.update((v, name) for v in summary.nodes[name]["members"])
    return found


def check_against_quotient_graph(graph: nx.DiGraph[int], summary: nx.DiGraph[str]) -> None:
    """Edges and their flows agree with networkx.quotient_graph of the same partition."""
    group_of = members(summary)
    assert sorted(group_of) == sorted(graph)
    blocks: dict[str, set[int]] = {name: set(summary.nodes[name]["members"]) for name in summary}
    expected: Any = nx.quotient_graph(
        graph,
        list(blocks.values()),
        relabel=False,
        edge_data=lambda b, c: {
            "edges": sum(1 for u in b for v in graph.succ[u] if v in c),
            "flows": [graph.edges[u, v]["flow"] for u in b for v in graph.succ[u] if v in c],
        },
    )
    name_of = {frozenset(block): name for name, block in blocks.items()}
    found: dict[tuple[str, str], Any] = {
        (name_of[b], name_of[c]): data for b, c, data in expected.edges(data=True)
    }
    assert set(found) == set(summary.edges)
    for (a, b), data in found.items():
        edge = summary.edges[a, b]
        assert edge["edges"] == data["edges"]
        assert same_or_close(
            edge["flow"], math.fsum(data["flows"]) if finite(data["flows"]) else sum(data["flows"])
        )
        assert same_or_close(edge["abs_flow"], sum(abs(f) for f in data["flows"]))
    for name, block in blocks.items():
        inside = [graph.edges[u, v]["flow"] for u in block for v in graph.succ[u] if v in block]
        attributes = summary.nodes[name]
        assert attributes["internal_edges"] == len(inside)
        assert attributes["count"] == len(block)
        grads = [graph.nodes[v]["grad"] for v in block]
        largest = math.nan if any(g != g for g in grads) else max(abs(g) for g in grads)
        assert same_or_close(attributes["grad_max_abs"], largest)
        assert same_or_close(attributes["grad_norm"], scaled_norm(grads))
        assert attributes["grad_zero"] == sum(g == 0.0 for g in grads)
        assert Counter(graph.nodes[v]["op"] or "input" for v in block) == attributes["ops"]
        blocked = Counter(
            graph.nodes[v]["op"]
            for v in block
            if graph.pred[v] and all(d["partial"] == 0.0 for d in graph.pred[v].values())
        )
        assert blocked == attributes["blocked_ops"]
    assert summary.graph["vertices"] == graph.number_of_nodes()
    assert summary.graph["edges"] == graph.number_of_edges()
    assert summary.graph["output"] == group_of[graph.graph["output"]]


def scaled_norm(values: list[float]) -> float:
    """sqrt(Σ v²), scaled by the largest magnitude so 1e300² does not overflow."""
    if any(v != v for v in values):
        return math.nan
    largest = max((abs(v) for v in values), default=0.0)
    if largest in (0.0, math.inf):
        return largest
    return largest * math.sqrt(sum((v / largest) ** 2 for v in values))


def finite(values: list[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def same_or_close(a: float, b: float) -> bool:
    if a != a or b != b:
        return a != a and b != b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# --------------------------------------------------------------------------- small graphs


def test_seed_example_by_op() -> None:
    z, _, _ = seed()
    summary = summarize(z, by="op")
    assert list(summary) == ["input", "mul", "const", "pow", "add", "relu"]
    assert {name: summary.nodes[name]["count"] for name in summary} == {
        "input": 2,
        "mul": 1,
        "const": 1,
        "pow": 1,
        "add": 2,
        "relu": 1,
    }
    # x sends y = 3 through mul, y sends x = 2: together 5; x sends 2x = 4 through pow.
    assert summary.edges["input", "mul"]["flow"] == 5.0
    assert summary.edges["input", "pow"]["flow"] == 4.0
    assert summary.edges["input", "relu"]["flow"] == 1.0
    assert summary.nodes["add"]["internal_flow"] == 1.0  # the inner add feeds the outer one
    assert summary.nodes["input"]["grad_norm"] == math.hypot(7.0, 3.0)
    assert summary.graph["output"] == "add"
    assert summary.nodes["input"]["op"] == "" and summary.nodes["add"]["op"] == "add"
    check_against_quotient_graph(to_networkx(z), summary)


def test_seed_example_by_label_places_ops_by_the_rules() -> None:
    z, _, _ = seed()
    summary = summarize(z, by="label")
    # mul(x, y) and pow(x, 2) join x (first argument with a group of its own), relu(y) joins
    # y, the inner add joins x (both arguments are in x), the outer add has x and y: rest.
    assert members(summary) == {
        0: "x",
        1: "y",
        2: "x",
        3: "const",
        4: "x",
        5: "x",
        6: "y",
        7: "rest",
    }
    assert summary.nodes["x"]["own"] == 1 and summary.nodes["x"]["count"] == 4
    assert summary.nodes["x"]["own_grad_max_abs"] == 7.0
    assert summary.graph["output"] == REST_GROUP


def test_moons_by_layer_is_layer_by_layer() -> None:
    loss = moons_loss()
    summary = summarize(loss, by="layer")
    assert list(summary) == ["L0", "L1", "L2", CONST_GROUP, REST_GROUP]
    assert set(summary.edges) == {
        ("const", "L0"),
        ("L0", "L1"),
        ("L1", "L2"),
        ("L2", "rest"),
        ("const", "rest"),
        ("L0", "rest"),
        ("L1", "rest"),  # the L2 regularisation
    }
    assert [summary.nodes[g]["own"] for g in ("L0", "L1", "L2")] == [12, 20, 5]
    # Each hidden neuron evaluates its relu once per sample; the hinge terms are in rest.
    assert [summary.nodes[g]["ops"].get("relu", 0) for g in ("L0", "L1", "L2", "rest")] == [
        48,
        48,
        0,
        12,
    ]
    # The relus of L0 that block the gradient are those with a pre-activation <= 0.
    points, _ = moons(12, noise=0.1, seed=3)
    model = MLP(2, [4, 4, 1], seed=3)
    negative = sum(
        neuron.b + sum(w * x for w, x in zip(neuron.w, point, strict=True)) <= 0.0
        for point in points
        for neuron in model.layers[0].neurons
    )
    assert summary.nodes["L0"]["blocked_ops"].get("relu", 0) == negative
    check_against_quotient_graph(to_networkx(loss), summary)


def test_moons_by_neuron_and_prefix_selection() -> None:
    loss = moons_loss()
    summary = summarize(loss, by="neuron")
    names = list(summary)
    assert names[:4] == ["L0.N0", "L0.N1", "L0.N2", "L0.N3"]
    assert set(names) == {f"L{i}.N{j}" for i in (0, 1) for j in range(4)} | {
        "L2.N0",
        "const",
        "rest",
    }
    assert select_groups(names, "L1") == ("L1.N0", "L1.N1", "L1.N2", "L1.N3")
    assert summary.has_edge("L0.N2", "L1.N3") and not summary.has_edge("L1.N3", "L0.N2")
    check_against_quotient_graph(to_networkx(loss), summary)


def test_pattern_and_function_groupings() -> None:
    loss = moons_loss(samples=4)
    by_pattern = summarize(loss, by=re.compile(r"L\d+\.N\d+\.(w|b)"))
    assert {"w", "b"} <= set(by_pattern)
    assert by_pattern.graph["by"] == "pattern 'L\\\\d+\\\\.N\\\\d+\\\\.(w|b)'"
    seen: list[VertexInfo] = []

    def parity(vertex: VertexInfo) -> str | None:
        seen.append(vertex)
        return "even" if vertex.op == "" and vertex.id % 2 == 0 else None

    by_function = summarize(loss, by=parity)
    graph = to_networkx(loss)
    assert [v.id for v in seen] == sorted(graph)
    assert all(
        v.op == graph.nodes[v.id]["op"] and v.label == graph.nodes[v.id]["label"] for v in seen
    )
    assert by_function.graph["by"] == "function parity"
    check_against_quotient_graph(graph, by_function)


@given(expressions(max_steps=12), st.sampled_from(["op", "label", "layer"]))
def test_random_graphs_match_the_reference_grouping_and_quotient(expr: Expr, by: str) -> None:
    z, _ = expr.build()
    graph = to_networkx(z)
    summary = summarize(z, by=by)
    if by == "op":
        own = {v: graph.nodes[v]["op"] or "input" for v in graph}
    elif by == "label":
        own = {v: graph.nodes[v]["label"] for v in graph if graph.nodes[v]["label"]}
    else:
        own = {}
    assert members(summary) == reference_groups(graph, own)
    check_against_quotient_graph(graph, summary)
    assert sum(summary.nodes[g]["count"] for g in summary) == graph.number_of_nodes()


def test_a_graph_in_to_networkx_format_summarises_like_the_node() -> None:
    loss = moons_loss(samples=5)
    from_node = summarize(loss, by="neuron")
    from_graph = summarize(to_networkx(loss), by="neuron")
    assert nx.utils.graphs_equal(from_node, from_graph)
    assert list(from_node.nodes(data=True)) == list(from_graph.nodes(data=True))
    # A document loaded back with networkx: positions are lists, non-finite numbers strings.
    with fnad.Tape():
        x = Node(0.0, label="L0.N0.w0")
        w = (x.log() * 2.0).exp() + x
    document = json.loads(fnad.to_json(w))
    loaded = nx.node_link_graph(document, edges="edges")
    assert isinstance(loaded, nx.DiGraph)
    a, b = summarize(loaded, by="layer"), summarize(w, by="layer")
    assert repr(list(a.nodes(data=True))) == repr(list(b.nodes(data=True)))  # nan == nan here
    assert repr(list(a.edges(data=True))) == repr(list(b.edges(data=True)))
    assert any(math.isnan(b.edges[edge]["flow"]) for edge in b.edges)


def test_nan_and_inf_are_reported_not_raised() -> None:
    with fnad.Tape():
        x = Node(0.0, label="L0.x")
        y = Node(-1.0, label="L1.y")
        z = x.log() - x.log() + y.sqrt()  # -inf - -inf = nan; sqrt(-1) = nan
    summary = summarize(z, by="layer")
    assert math.isnan(summary.nodes["rest"]["data_min"])  # every value in rest is nan
    # L0 holds x = 0, log x = -inf twice, and their difference, nan, which the range ignores.
    assert summary.nodes["L0"]["ops"] == {"input": 1, "log": 2, "sub": 1}
    assert (summary.nodes["L0"]["data_min"], summary.nodes["L0"]["data_max"]) == (-math.inf, 0.0)
    check_against_quotient_graph(to_networkx(z), summary)
    text = summary_to_dot(summary)
    assert "nan" in text and "inf" in text


def test_summarize_records_nothing() -> None:
    z, x, _ = seed()
    w = x * 5.0
    w.backward()
    before = len(z.tape)
    summarize(z, by="op")
    assert x.grad == 5.0 and len(z.tape) == before


# --------------------------------------------------------------------------- errors


def test_bad_groupings_are_clear_type_errors() -> None:
    z, _, _ = seed()
    with pytest.raises(
        fnad.OperandTypeError, match="unknown grouping 'layers'; use one of 'layer'"
    ):
        summarize(z, by="layers")
    with pytest.raises(TypeError, match=r"returned 3 \(int\) for vertex 0 \(op '', label 'x'\)"):
        summarize(z, by=lambda v: 3)  # type: ignore[arg-type,return-value]
    with pytest.raises(fnad.FnadError, match="bytes pattern"):
        summarize(z, by=re.compile(rb"x"))  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandTypeError, match=r"expected an output fnad\.Node"):
        summarize(3.0, by="op")  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandTypeError, match="'L9' is not a group of this graph"):
        select_groups(["L0", "L1"], "L9")


def test_malformed_graphs_are_graph_format_errors() -> None:
    z, _, _ = seed()
    graph = to_networkx(z)
    broken = graph.copy()
    broken.add_edge(7, 2, positions=(0,), partial=1.0, flow=1.0)
    with pytest.raises(fnad.GraphFormatError, match="the edge 7 -> 2 goes backwards"):
        summarize(broken, by="op")
    broken = graph.copy()
    del broken.nodes[3]["data"]
    with pytest.raises(fnad.GraphFormatError, match=r"summarize: .*vertex 3 has no 'data' field"):
        summarize(broken, by="op")
    broken = graph.copy()
    broken.graph["output"] = 99
    with pytest.raises(fnad.GraphFormatError, match=r"graph\.output is 99"):
        summarize(broken, by="op")
    broken = graph.copy()
    broken.nodes[3]["op"] = "nosuch"  # checked as a file is: ops must be rules
    with pytest.raises(fnad.GraphFormatError, match="op 'nosuch', which is not in the rule table"):
        summarize(broken, by="op")
    relabelled: Any = nx.relabel_nodes(graph, {0: "zero"})
    with pytest.raises(fnad.GraphFormatError, match="vertex 'zero' is not an int id"):
        summarize(relabelled, by="op")


def test_a_graph_is_read_as_a_file_and_differentiated_again() -> None:
    """A networkx graph's gradients are computed from its values, as an output Node's are:
    a stale or missing ``grad`` changes nothing, and the summary equals the Node's."""
    z, _, _ = seed()
    graph = to_networkx(z)
    for vertex in graph:
        graph.nodes[vertex]["grad"] = 123.0 if vertex % 2 else math.nan
    del graph.nodes[3]["grad"]
    from_graph, from_node = summarize(graph, by="op"), summarize(z, by="op")
    assert list(from_graph) == list(from_node)
    assert _same_summary(from_graph, from_node)


def _same_summary(a: nx.DiGraph[Any], b: nx.DiGraph[Any]) -> bool:
    return repr(sorted(a.nodes(data=True))) == repr(sorted(b.nodes(data=True))) and repr(
        sorted(a.edges(data=True))
    ) == repr(sorted(b.edges(data=True)))


def test_render_summary_refuses_what_it_cannot_draw(tmp_path: Path) -> None:
    z, _, _ = seed()
    with pytest.raises(fnad.OperandTypeError, match=r"expected a graph from fnad\.summarize"):
        render_summary(to_networkx(z), tmp_path / "x.svg")  # type: ignore[arg-type]
    with pytest.raises(fnad.GraphSizeError, match="6 groups, above max_groups=3"):
        render_summary(summarize(z, by="op"), tmp_path / "x.svg", max_groups=3)
    with pytest.raises(fnad.GraphSizeError, match="max_groups must be a positive int, got 0"):
        render_summary(summarize(z, by="op"), tmp_path / "x.svg", max_groups=0)
    assert not (tmp_path / "x.svg").exists()


# --------------------------------------------------------------------------- drawing


def test_dot_quotes_group_names_and_labels_edges() -> None:
    with fnad.Tape():
        x = Node(1.0, label='L0"]; evil -> x [label="')
        z = x * 2.0
    text = summary_to_dot(summarize(z, by="label"))
    assert 'name="L0\\"]; evil -> x [label=\\""' in text
    statements = [line.strip() for line in text.splitlines()]
    assert [line.split(" [")[0] for line in statements if line.startswith('"g')] == [
        '"g0"',
        '"g1"',
        '"g1" -> "g0"',  # the mul joins x's group; the const feeds it; nothing injected
    ]
    big = summary_to_dot(summarize(moons_loss(samples=3, sizes=(8, 8, 1)), by="neuron"))
    assert "tooltip=" in big and 'label="' in big  # edges without labels above the limit
    assert 'subgraph "cluster_0"' in big and 'label="L0"' in big


def test_render_summary_of_the_moons_loss(tmp_path: Path) -> None:
    need_graphviz_package()
    dot = need_dot()
    loss = moons_loss(samples=20, sizes=(16, 16, 1))
    svg = render_summary(summarize(loss, by="layer"), tmp_path / "layers.svg")
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert text.count('class="node"') == 5 and text.count('class="edge"') == 7
    assert text.count('class="node legend"') == 1 and "How to read it" in text
    png = subprocess.run(
        [dot, "-Tpng"],
        input=summary_to_dot(summarize(loss, by="neuron")).encode(),
        capture_output=True,
        check=True,
    ).stdout
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- scale


@pytest.mark.parametrize(
    "blocks",
    [10, pytest.param(1_000, marks=pytest.mark.slow)],
    ids=["10k", "1M"],
)
def test_long_chains_summarise_in_linear_time_without_recursion(blocks: int) -> None:
    limit = sys.getrecursionlimit()
    length = 1_000
    with fnad.Tape():
        y = Node(1.0, label="x")
        for k in range(blocks):
            y = y * Node(1.0, label=f"B{k}.w")  # joins B{k}: an argument with its own group
            for _ in range(length - 3):
                y = -y  # joins the group of its only argument
    assert len(y.tape) == 1 + blocks * (length - 1) > 5 * limit  # too deep for a recursive walk
    started = time.perf_counter()
    summary = summarize(y, by=re.compile(r"(B\d+)\."))
    seconds = time.perf_counter() - started
    assert summary.number_of_nodes() == blocks + 1
    assert summary.number_of_edges() == blocks
    assert summary.nodes["B0"]["count"] == length - 1
    edge = summary.edges["B0", "B1"]
    assert edge["edges"] == 1 and abs(edge["flow"]) == edge["abs_flow"] == 1.0
    assert summary.graph["output"] == f"B{blocks - 1}"
    assert sys.getrecursionlimit() == limit
    assert seconds < 60, f"summarising {len(y.tape):,} vertices took {seconds:.1f} s"
    del y, summary
    gc.collect()
