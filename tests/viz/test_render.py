"""render(z, path): SVG through graphviz, with values, gradients, local derivatives and flow.

These tests need graphviz's ``dot`` and the ``graphviz`` package; without them they skip,
unless FNAD_REQUIRE_DOT=1 (as in CI), where they fail.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import fnad
from fnad import Node, render
from fnad.viz.render import number
from tests.export_strategies import need_dot, need_graphviz_package
from tests.graphs import micrograd_readme, neuron, seed

SVG = "{http://www.w3.org/2000/svg}"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def viz() -> None:
    need_dot()
    need_graphviz_package()


def svg_texts(path: Path) -> tuple[list[str], int, int]:
    root = ET.parse(path).getroot()
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    classes = [g.get("class") for g in root.iter(f"{SVG}g")]
    return texts, classes.count("node"), classes.count("edge")


@pytest.mark.usefixtures("viz")
def test_seed_svg_shows_the_chain_rule(tmp_path: Path) -> None:
    path = render(seed()[0], tmp_path / "seed.svg")
    assert path == tmp_path / "seed.svg"
    texts, nodes, edges = svg_texts(path)
    assert (nodes, edges) == (8, 9)
    for expected in ["x", "y", "input", "data 2", "grad 7", "grad 3", "data 13", "pow", "relu"]:
        assert expected in texts
    assert "local ∂ 4" in texts and "grad ← 4" in texts  # x -> x**2: 2x = 4
    assert "local ∂ 3" in texts and "arg 0" in texts and "arg 1" in texts


def micrograd_example() -> Node:
    return micrograd_readme()[0]


def _arrow_tip(edge: ET.Element) -> tuple[float, float]:
    """Where an edge's arrowhead points: its right-most corner (the graph runs left to right)."""
    polygon = edge.find(f"{SVG}polygon")
    assert polygon is not None
    points = [tuple(map(float, p.split(","))) for p in (polygon.get("points") or "").split()]
    x, y = max(points)
    return x, y


@pytest.mark.parametrize(
    "make", [micrograd_example, neuron, lambda: seed()[0]], ids=["micrograd", "neuron", "seed"]
)
@pytest.mark.usefixtures("viz")
def test_each_local_derivative_is_drawn_where_its_edge_arrives(make: Any) -> None:
    # The numbers of an edge are not a label floating mid-edge, where crossing edges make
    # it ambiguous: they are in the row of the op's box that the edge's arrow points at.
    z = make()
    graph = fnad.to_networkx(z)
    root = ET.fromstring(render(z).svg)
    groups = {g.findtext(f"{SVG}title"): g for g in root.iter(f"{SVG}g")}
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) == graph.number_of_edges()
    for edge in edges:
        assert not [t.text for t in edge.iter(f"{SVG}text")]  # no label on the edge itself
        title = edge.findtext(f"{SVG}title") or ""
        source, target = (int(end.split(":")[0][1:]) for end in title.split("->"))
        tip_x, tip_y = _arrow_tip(edge)
        texts = [
            (float(t.get("x") or 0), float(t.get("y") or 0), t.text or "")
            for t in groups[f"v{target}"].iter(f"{SVG}text")
        ]
        data = graph.edges[source, target]
        if graph.nodes[source]["op"] == "const":  # a constant's row: no derivative drawn
            numbers = [("const", None)]
        else:
            numbers = [("local ∂", data["partial"]), ("grad ←", data["flow"])]
        for word, value in numbers:
            x, y, text = min(
                (t for t in texts if t[2].startswith(word)), key=lambda t: abs(t[1] - tip_y)
            )
            assert text == (word if value is None else f"{word} {number(value)}"), (title, texts)
            assert 0 < x - tip_x < 12 and abs(y - tip_y) < 22  # just right of the arrow


def test_constants_are_drawn_without_a_gradient() -> None:
    # micrograd's README squares e = -7: pow's partial for the exponent, log(-7)·49, is nan.
    # Backward gives constants no gradient, so the picture shows none either (the exact
    # values stay in the DOT attributes and the exports, for tools).
    z = micrograd_example()
    graph = fnad.to_networkx(z)
    dot = fnad.to_dot(z)
    constants = [line for line in dot.splitlines() if 'op="const"' in line]
    assert len(constants) == sum(graph.nodes[v]["op"] == "const" for v in graph) == 8
    for line in constants:
        label = line.split("label=", 1)[1].split(", fillcolor", 1)[0]
        assert "const" in label and "grad" not in label, line
    drawn = [
        line.split("label=", 1)[1].split(", fillcolor", 1)[0]
        for line in dot.splitlines()
        if "label=" in line
    ]
    assert not any("nan" in label for label in drawn)
    assert 'grad="nan"' in dot  # the exponent's exact adjoint is still there for tools
    assert dot.count("<br/>const</font>") == 8  # each constant's row in its op's box


@pytest.mark.usefixtures("viz")
def test_large_graphs_are_collapsed_by_default(tmp_path: Path) -> None:
    with fnad.Tape():
        x = Node(0.3, label="x")
        y = x
        for _ in range(999):
            y = y.tanh()
    texts, nodes, _ = svg_texts(render(y, tmp_path / "big.svg", max_nodes=40))
    assert nodes == 41  # the 40 vertices nearest the output, and one standing for the rest
    assert "… 960 more vertices" in texts
    assert any("showing 40 of 1,000 vertices" in t for t in texts)


def test_large_graphs_are_refused_on_request(tmp_path: Path) -> None:
    with fnad.Tape():
        x = Node(0.3, label="x")
        y = x
        for _ in range(999):
            y = y.tanh()
    with pytest.raises(fnad.GraphSizeError) as info:
        render(y, tmp_path / "big.svg", max_nodes=40, collapse=False)
    message = str(info.value)
    assert "1,000 vertices, above max_nodes=40" in message
    assert "collapse=True" in message and "to_networkx" in message
    assert not (tmp_path / "big.svg").exists()
    with pytest.raises(fnad.GraphSizeError, match="max_nodes must be a positive int"):
        render(y, tmp_path / "big.svg", max_nodes=0)


def test_missing_graphviz_package_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    with pytest.raises(fnad.RenderError, match=r"pip install 'fnad\[viz\]'"):
        render(seed()[0], tmp_path / "seed.svg")
    assert fnad.to_dot(seed()[0])  # DOT text needs no graphviz


def test_missing_dot_program_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_graphviz_package()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(fnad.RenderError, match="`dot` program, which is not on PATH"):
        render(seed()[0], tmp_path / "seed.svg")


def test_committed_seed_svg_matches_the_seed_example() -> None:
    path = DOCS / "seed-example.svg"
    texts, nodes, edges = svg_texts(path)
    assert (nodes, edges) == (8, 9)
    assert "grad 7" in texts and "data 13" in texts and "local ∂ 4" in texts
