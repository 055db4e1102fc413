"""render(z, path): SVG through graphviz, with values, gradients, local derivatives and flow.

These tests need graphviz's ``dot`` and the ``graphviz`` package; without them they skip,
unless FNAD_REQUIRE_DOT=1 (as in CI), where they fail.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import fnad
from fnad import Node, render
from tests.export_strategies import need_dot, need_graphviz_package

SVG = "{http://www.w3.org/2000/svg}"
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture
def viz() -> None:
    need_dot()
    need_graphviz_package()


def seed() -> Node:
    with fnad.Tape():
        x = Node(2.0, label="x")
        y = Node(3.0, label="y")
        return x * y + x**2 + y.relu()


def svg_texts(path: Path) -> tuple[list[str], int, int]:
    root = ET.parse(path).getroot()
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    classes = [g.get("class") for g in root.iter(f"{SVG}g")]
    return texts, classes.count("node"), classes.count("edge")


@pytest.mark.usefixtures("viz")
def test_seed_svg_shows_the_chain_rule(tmp_path: Path) -> None:
    path = render(seed(), tmp_path / "seed.svg")
    assert path == tmp_path / "seed.svg"
    texts, nodes, edges = svg_texts(path)
    assert (nodes, edges) == (8, 9)
    for expected in ["x", "y", "input", "data 2", "grad 7", "grad 3", "data 13", "pow", "relu"]:
        assert expected in texts
    assert "local ∂ 4" in texts and "grad ← 4" in texts  # x -> x**2: 2x = 4
    assert "local ∂ 3" in texts and "arg 0" in texts and "arg 1" in texts


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
        render(seed(), tmp_path / "seed.svg")
    assert fnad.to_dot(seed())  # DOT text needs no graphviz


def test_missing_dot_program_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_graphviz_package()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(fnad.RenderError, match="`dot` program, which is not on PATH"):
        render(seed(), tmp_path / "seed.svg")


def test_committed_seed_svg_matches_the_seed_example() -> None:
    path = DOCS / "seed-example.svg"
    texts, nodes, edges = svg_texts(path)
    assert (nodes, edges) == (8, 9)
    assert "grad 7" in texts and "data 13" in texts and "local ∂ 4" in texts
