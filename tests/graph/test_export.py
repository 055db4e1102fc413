"""Exports: to_networkx, to_json (strict node-link), to_graphml, to_dot — and a 100k chain."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given

import fnad
from fnad import Node, to_dot, to_graphml, to_json, to_networkx
from fnad.graph.schema import SCHEMA, SCHEMA_VERSION, input_names
from fnad.viz.render import dot_quote
from tests.export_strategies import Expr, expressions, need_dot, need_graphviz_package, same
from tests.graphs import seed


def strict_loads(text: str) -> Any:
    def reject(token: str) -> Any:
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=reject)


# --------------------------------------------------------------------------- to_networkx


def test_seed_graph_has_values_grads_partials_and_flows() -> None:
    z, _, _ = seed()
    g = to_networkx(z)
    assert g.graph == {"schema": SCHEMA, "version": SCHEMA_VERSION, "output": 7}
    assert [g.nodes[v]["op"] for v in g] == ["", "", "mul", "const", "pow", "add", "relu", "add"]
    assert [g.nodes[v]["label"] for v in g][:2] == ["x", "y"]
    assert g.nodes[7]["data"] == 13.0 and g.nodes[7]["grad"] == 1.0
    assert (g.nodes[0]["grad"], g.nodes[1]["grad"]) == (7.0, 3.0)
    # edge x -> x*y: local derivative y = 3; x -> x**2: 2x = 4
    assert g.edges[0, 2] == {"positions": (0,), "partial": 3.0, "flow": 3.0}
    assert g.edges[0, 4] == {"positions": (0,), "partial": 4.0, "flow": 4.0}
    assert g.edges[3, 4]["positions"] == (1,)  # the exponent 2 is argument 1
    # the flows leaving a vertex add up to its gradient (the chain rule)
    for v in g:
        if g.out_degree(v):
            flows: list[float] = [g.edges[e]["flow"] for e in g.out_edges(v)]
            assert sum(flows) == g.nodes[v]["grad"]


def test_to_networkx_is_a_mutable_copy_and_leaves_the_tape_alone() -> None:
    z, x, y = seed()
    w = x * 10.0
    w.backward()  # the tape records dw/dx = 10
    g = to_networkx(z)
    assert x.grad == 10.0 and y.grad == 0.0  # export did not record dz/dx
    g.add_node(99)
    g.nodes[0]["data"] = -1.0
    assert z.tape.graph.number_of_nodes() == 10 and x.data == 2.0
    assert z.tape.graph.nodes[x]["data"] == 2.0


def test_grads_are_bit_identical_to_backward_even_under_strict() -> None:
    with fnad.Tape():
        x = Node(-2.0, label="x")
        z = (x**0.5).log() + x * x
    with fnad.strict():
        g = to_networkx(z)  # nan inside, but exporting reports rather than judges
    grads = z.backward()
    assert same(g.nodes[0]["grad"], grads[x])
    assert math.isnan(g.nodes[z.tape.backward_order(z).__len__() - 1]["data"])


@pytest.mark.parametrize(
    ("build", "positions", "partials"),
    [
        (lambda a: a * a, (0, 1), 6.0),
        (lambda a: a - a, (0, 1), 0.0),
        (lambda a: a / a, (0, 1), 0.0),
        (lambda a: a**a, (0, 1), 27.0 * (1 + math.log(3.0))),
    ],
    ids=["a*a", "a-a", "a/a", "a**a"],
)
def test_repeated_argument_is_one_edge_with_two_positions(
    build: Any, positions: tuple[int, ...], partials: float
) -> None:
    with fnad.Tape():
        a = Node(3.0, label="a")
        z = build(a)
    g = to_networkx(z)
    assert g.number_of_edges() == 1
    assert g.edges[0, 1]["positions"] == positions
    assert g.edges[0, 1]["partial"] == pytest.approx(partials)
    assert same(g.nodes[0]["grad"], z.backward()[a])


def test_operand_order_is_kept_in_positions() -> None:
    with fnad.Tape():
        a, b = Node(5.0, label="a"), Node(2.0, label="b")
        z = b - a
    g = to_networkx(z)
    assert g.edges[1, 2]["positions"] == (0,) and g.edges[0, 2]["positions"] == (1,)
    assert (g.edges[1, 2]["partial"], g.edges[0, 2]["partial"]) == (1.0, -1.0)


def test_a_leaf_alone_exports() -> None:
    with fnad.Tape():
        x = Node(1.5, label="x")
    g = to_networkx(x)
    assert dict(g.nodes) == {0: {"op": "", "label": "x", "data": 1.5, "grad": 1.0}}


def test_non_node_output_is_a_clear_error() -> None:
    with pytest.raises(fnad.OperandTypeError, match=r"expected the output fnad\.Node first"):
        to_json(3.0)  # type: ignore[arg-type]


def test_input_names_are_unique_even_with_clashing_labels() -> None:
    names = input_names([(0, "y#1"), (1, "y"), (2, "y"), (3, ""), (4, "")])
    assert names == {0: "y#1", 1: "y#1#1", 2: "y#2", 3: "#3", 4: "#4"}
    assert len(set(names.values())) == 5


@given(expressions())
def test_random_dag_export_matches_backward_bit_for_bit(expr: Expr) -> None:
    z, _ = expr.build()
    g = to_networkx(z)
    grads = z.backward()
    order = z.tape.backward_order(z)
    assert g.number_of_nodes() == len(order)
    assert nx.is_directed_acyclic_graph(g)
    assert all(u < v for u, v in g.edges)  # ids are topological
    by_id = sorted(order, key=z.tape.position)
    for i, node in enumerate(by_id):
        assert g.nodes[i]["op"] == node.op and g.nodes[i]["label"] == node.label
        assert same(g.nodes[i]["data"], node.data)
        if node.op != "const":  # constants are not variables: backward gives them nothing
            assert same(g.nodes[i]["grad"], grads[node])
        filled = []
        for u in g.predecessors(i):
            for position in g.edges[u, i]["positions"]:
                assert node.inputs[position] is by_id[u]
                filled.append(position)
        assert sorted(filled) == list(range(len(node.inputs)))


# --------------------------------------------------------------------------- JSON


def test_json_is_versioned_node_link() -> None:
    z, _, _ = seed()
    doc = strict_loads(to_json(z))
    assert doc["graph"] == {"schema": "fnad.graph", "version": 1, "output": 7}
    assert doc["directed"] is True and doc["multigraph"] is False
    assert doc["nodes"][0] == {"id": 0, "op": "", "label": "x", "data": 2.0, "grad": 7.0}
    assert {"source": 0, "target": 4, "positions": [0], "partial": 4.0, "flow": 4.0} in doc["edges"]
    # networkx reads it as is
    g = nx.node_link_graph(doc, edges="edges")
    expected = to_networkx(z)
    assert sorted(g.edges) == sorted(expected.edges)
    assert dict(g.nodes) == dict(expected.nodes)


def test_json_is_strict_for_non_finite_values() -> None:
    with fnad.Tape():
        x = Node(math.inf, label="x")
        z = (x - x) * (-x) + x.log()
    text = to_json(z)
    doc = strict_loads(text)  # no NaN/Infinity tokens
    assert "NaN" not in text and "Infinity" not in text
    assert doc["nodes"][0]["data"] == "inf"
    assert {v["data"] for v in doc["nodes"]} >= {"inf", "nan", "-inf"}


def test_json_labels_survive_escaping() -> None:
    labels = ["", "θ₁", 'a"b', "back\\slash", "new\nline", "\x00nul", "\ud800", "😀"]
    with fnad.Tape():
        leaves = [Node(float(i), label=label) for i, label in enumerate(labels)]
        z = leaves[0]
        for leaf in leaves[1:]:
            z = z + leaf
    text = to_json(z)
    assert text.isascii()
    doc = strict_loads(text)
    assert [v["label"] for v in doc["nodes"] if v["op"] == ""] == labels


def labelled_seed() -> Node:
    """The seed example with its intermediates and output named, as micrograd's lecture does."""
    with fnad.Tape():
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        xy = (x * y).with_label("xy")
        return (xy + x**2 + y.relu()).with_label("f")


def test_labels_of_computed_nodes_are_exported_everywhere(tmp_path: Path) -> None:
    f = labelled_seed()
    g = to_networkx(f)
    assert [g.nodes[v]["label"] for v in g] == ["x", "y", "xy", "", "", "", "", "f"]
    assert [g.nodes[v]["op"] for v in g] == ["", "", "mul", "const", "pow", "add", "relu", "add"]
    assert [v["label"] for v in strict_loads(to_json(f))["nodes"]] == [
        g.nodes[v]["label"] for v in g
    ]
    to_graphml(f, tmp_path / "f.graphml")
    assert dict(nx.read_graphml(tmp_path / "f.graphml", node_type=int).nodes) == dict(g.nodes)
    dot = to_dot(f)
    assert '<td rowspan="2">xy<br/>op mul<br/>data 6<br/>grad 1</td>' in dot
    assert '<td rowspan="2">f<br/>output, op add<br/>data 13<br/>grad 1</td>' in dot
    assert 'op="mul", name="xy", data="6.0"' in dot and 'op="add", name="f", data="13.0"' in dot


def test_a_file_with_labelled_computed_nodes_loads_and_replays() -> None:
    f = labelled_seed()
    program = fnad.from_json(to_json(f))
    assert program.input_names == ("x", "y")  # inputs are named by leaves' labels only
    assert program.value_and_grad(x=2.0, y=3.0) == (13.0, {"x": 7.0, "y": 3.0})


def test_a_loaded_program_traces_back_with_the_labels_of_computed_nodes() -> None:
    f = labelled_seed()
    document = strict_loads(to_json(f))
    assert strict_loads(to_json(fnad.from_json(to_json(f)))) == document


def test_json_indent_is_still_the_same_document() -> None:
    z, _, _ = seed()
    assert strict_loads(to_json(z, indent=2)) == strict_loads(to_json(z))


# --------------------------------------------------------------------------- GraphML


def test_graphml_reads_back_with_networkx(tmp_path: Path) -> None:
    z, _, _ = seed()
    path = tmp_path / "seed.graphml"
    to_graphml(z, path)
    g = nx.read_graphml(path, node_type=int)
    expected = to_networkx(z)
    assert {k: g.graph[k] for k in ("schema", "version", "output")} == expected.graph
    assert dict(g.nodes) == dict(expected.nodes)
    for u, v, data in expected.edges(data=True):
        assert g.edges[u, v] == {
            "positions": ",".join(map(str, data["positions"])),
            "partial": data["partial"],
            "flow": data["flow"],
        }


def test_graphml_non_finite_doubles_and_awkward_labels(tmp_path: Path) -> None:
    with fnad.Tape():
        x = Node(0.0, label="<x & y>")
        c = Node(1.0, label="ctl\x01\x1f")
        z = x.log() * (x / x) + c
    path = tmp_path / "g.graphml"
    to_graphml(z, path)
    text = path.read_text(encoding="utf-8")
    assert '<data key="v_data">-INF</data>' in text and "NaN" in text
    ET.fromstring(text.encode())  # well-formed XML
    g = nx.read_graphml(path, node_type=int)
    labels = {data["label"] for _, data in g.nodes(data=True)}
    assert "<x & y>" in labels and "ctl\\x01\\x1f" in labels
    datas = [data["data"] for _, data in g.nodes(data=True)]
    assert -math.inf in datas and any(math.isnan(d) for d in datas)


def test_graphml_scalar_attributes_only(tmp_path: Path) -> None:
    z, _, _ = seed()
    path = tmp_path / "seed.graphml"
    to_graphml(z, path)
    root = ET.parse(path).getroot()
    types = {
        key.get("attr.type") for key in root.iter("{http://graphml.graphdrawing.org/xmlns}key")
    }
    assert types <= {"string", "int", "double", "boolean"}


# --------------------------------------------------------------------------- DOT


EVIL = 'x"]; evil -> x [label="'


def test_dot_quotes_every_label() -> None:
    with fnad.Tape():
        x = Node(1.0, label=EVIL)
        z = x * 2.0
    text = to_dot(z)
    assert dot_quote(EVIL) in text
    outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert "evil" not in outside_strings
    assert len(re.findall(r"->", outside_strings)) == 2


@pytest.mark.parametrize(
    "label",
    [EVIL, "back\\", "\\N\\G\\L", "a\nb", "}", "<b>html</b>", "\x07bell", "\ud800", "θ"],
)
@pytest.mark.parametrize("on", ["leaf", "op"])
def test_dot_is_accepted_by_graphviz_and_labels_stay_labels(label: str, on: str) -> None:
    # A leaf's label is a quoted DOT string; an op vertex is an HTML-like table (the rows
    # where its edges arrive), so a label there is escaped as HTML text instead.
    dot = need_dot()
    with fnad.Tape():
        x = Node(1.0, label=label if on == "leaf" else "x")
        product = x * 2.0
        z = (product.with_label(label) if on == "op" else product).tanh()
    text = to_dot(z)
    result = subprocess.run(
        [dot, "-Tsvg"], input=text.encode("utf-8"), capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"Warning" not in result.stderr and b"Error" not in result.stderr
    svg = ET.fromstring(result.stdout)
    ns = "{http://www.w3.org/2000/svg}"
    groups = [g for g in svg.iter(f"{ns}g") if g.get("class") in ("node", "edge")]
    assert sum(g.get("class") == "node" for g in groups) == 4  # x, 2, mul, tanh: no "evil"
    assert sum(g.get("class") == "edge" for g in groups) == 3
    first_line = label.split("\n")[0]
    shown = [t.text or "" for t in svg.iter(f"{ns}text")]
    if first_line.isprintable():  # graphviz shows it literally: no \N or HTML expansion
        assert first_line in shown
    else:  # shown as escapes a reader can see
        assert first_line.encode("unicode_escape").decode("ascii") in shown


def test_dot_shows_values_grads_local_derivatives_and_flow() -> None:
    z, _, _ = seed()
    text = to_dot(z)
    assert '"v0" [label="x\\ninput\\ndata 2\\ngrad 7"' in text
    # an edge ends at its argument's row (port a<position>) in the op's box, which shows
    # the local derivative and the gradient sent back: no label floats between edges
    assert '  "v0" -> "v4":a0:w [positions="0", partial="4.0", flow="4.0"];\n' in text
    assert '  "v3" -> "v4":a1:w [positions="1", ' in text
    assert (
        '<td port="a0" border="1" sides="RB" align="left" balign="left"><font point-size="9">'
        "arg 0<br/>local ∂ 4<br/>grad ← 4</font></td>"
    ) in text
    assert '<td rowspan="2">pow<br/>data 4<br/>grad 1</td>' in text
    assert (  # relu: one argument, no "arg"
        '<td port="a0" border="1" sides="R" align="left" balign="left"><font point-size="9">'
        "local ∂ 1<br/>grad ← 1</font></td>"
    ) in text
    edge_lines = [line for line in text.splitlines() if " -> " in line]
    assert len(edge_lines) == 9 and not [line for line in edge_lines if "label" in line]
    assert 'data="13.0", grad="1.0"' in text  # exact values ride along


def test_dot_collapses_above_max_nodes() -> None:
    with fnad.Tape():
        x = Node(0.1, label="x")
        y = x
        for _ in range(99):
            y = y.sin()
    text = to_dot(y, max_nodes=10)
    vertices = re.findall(r'^  "(v\d+|hidden)" \[', text, flags=re.MULTILINE)
    assert len(vertices) == 11  # the 10 nearest the output, and "hidden"
    assert "90 more vertices" in text and "showing 10 of 100 vertices" in text
    assert '"hidden" -> "v90":a0:w [style=dashed]' in text


# --------------------------------------------------------------------------- long chains


@pytest.fixture(
    scope="module",
    params=[10_000, pytest.param(100_000, marks=pytest.mark.slow)],
    ids=["10k", "100k"],
)
def chain(request: pytest.FixtureRequest) -> Iterator[tuple[Node, Node]]:
    with fnad.Tape():
        x = Node(0.5, label="x")
        y = x
        for _ in range(request.param - 1):
            y = -y
    yield x, y


def test_long_chain_exports_imports_replays_renders_without_recursion(
    chain: tuple[Node, Node], tmp_path: Path
) -> None:
    limit = sys.getrecursionlimit()
    x, y = chain
    n = len(y.tape)
    assert n > 5 * limit  # too deep for anything recursive
    text = to_json(y)
    prog = fnad.from_json(text)
    assert len(prog) == n
    result = prog.value_and_grad(x=0.25)
    assert result == (-0.25 if (n - 1) % 2 else 0.25, {"x": -1.0 if (n - 1) % 2 else 1.0})
    g = to_networkx(y)
    assert nx.dag_longest_path_length(g) == n - 1
    graphml = tmp_path / "chain.graphml"
    to_graphml(y, graphml)
    assert graphml.stat().st_size > n * 100
    dot_text = to_dot(y, max_nodes=200)
    assert f"{n - 200:,} more vertices" in dot_text
    with pytest.raises(fnad.GraphSizeError, match=f"{n:,} vertices"):
        fnad.render(y, tmp_path / "refused.svg", collapse=False)
    explanation = fnad.explain(y, x)
    assert explanation.total_paths == 1 and len(explanation.paths[0].nodes) == n
    assert "more hops" in str(explanation)
    need_dot()
    need_graphviz_package()
    svg = fnad.render(y, tmp_path / "chain.svg", max_nodes=100)
    assert "more vertices" in svg.read_text(encoding="utf-8")
    assert sys.getrecursionlimit() == limit
