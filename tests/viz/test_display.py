"""What a notebook shows: a Node's graph, summaries, and render() without a path.

Checked the way Jupyter asks: ``_repr_mimebundle_`` and IPython's DisplayFormatter, by
mime type and by the bytes of the data (SVG text, PNG and PDF magic numbers). The notebook
in examples/ shows the same through a real kernel (tests/test_notebook.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fnad
from fnad import Node
from fnad.engine import set_display_hook
from fnad.nn.model import MLP
from fnad.viz.display import graph_text, mime_bundle, register_ipython
from fnad.viz.render import Drawing
from tests.export_strategies import need_dot, need_graphviz_package

SVG = "image/svg+xml"
HTML = "text/html"


@pytest.fixture
def viz() -> None:
    need_dot()
    need_graphviz_package()


@pytest.fixture
def no_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """graphviz's dot is not on PATH (the Python package may still be installed)."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def seed() -> tuple[Node, Node, Node]:
    with fnad.Tape():
        x = Node(2.0, label="x")
        y = Node(3.0, label="y")
        z = x * y + x**2 + y.relu()
    return x, y, z


def svg_vertices(svg: str) -> int:
    root = ET.fromstring(svg.encode("utf-8"))
    return [g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")].count("node")


def is_svg(text: str) -> bool:
    return text.startswith(("<?xml", "<svg")) and "<svg" in text


# --------------------------------------------------------------------------- render(z)


@pytest.mark.usefixtures("viz")
def test_render_without_a_path_returns_a_drawing_that_displays_inline() -> None:
    _, _, z = seed()
    drawing = fnad.render(z)
    assert isinstance(drawing, Drawing)
    bundle = drawing._repr_mimebundle_()
    assert set(bundle) == {SVG, "text/plain"}
    assert is_svg(bundle[SVG]) and svg_vertices(bundle[SVG]) == 8
    assert "grad 7" in bundle[SVG] and "local ∂ 4" in bundle[SVG]
    assert drawing.dot == fnad.to_dot(z, max_nodes=200)
    assert "8 vertices" in repr(drawing)


@pytest.mark.usefixtures("viz")
@pytest.mark.parametrize(
    ("name", "magic"),
    [
        ("g.svg", b"<?xml"),
        ("g.png", b"\x89PNG\r\n\x1a\n"),
        ("g.pdf", b"%PDF-"),
        ("G.PNG", b"\x89PNG"),
    ],
)
def test_the_file_format_follows_the_extension(tmp_path: Path, name: str, magic: bytes) -> None:
    _, _, z = seed()
    path = fnad.render(z, tmp_path / name)
    assert path == tmp_path / name and path.read_bytes().startswith(magic)
    saved = fnad.render(z).save(tmp_path / f"saved-{name}")
    assert saved.read_bytes().startswith(magic)


@pytest.mark.parametrize("name", ["seed.jpg", "seed", "seed.svg.txt", "seed.dot"])
def test_other_extensions_are_refused_before_drawing(tmp_path: Path, name: str) -> None:
    _, _, z = seed()
    with pytest.raises(fnad.OutputFormatError) as info:
        fnad.render(z, tmp_path / name)  # no graphviz needed to refuse
    assert isinstance(info.value, ValueError)
    assert "name the file .svg, .png or .pdf" in str(info.value) and name in str(info.value)
    assert not (tmp_path / name).exists()


# --------------------------------------------------------------------------- Node


@pytest.mark.usefixtures("viz")
def test_a_node_shows_its_graph_as_svg() -> None:
    _, _, z = seed()
    bundle = z._repr_mimebundle_()
    assert bundle is not None and set(bundle) == {SVG, "text/plain"}
    assert is_svg(bundle[SVG]) and svg_vertices(bundle[SVG]) == 8
    assert bundle["text/plain"] == repr(z)


@pytest.mark.usefixtures("viz")
def test_a_large_graph_is_collapsed_as_render_does() -> None:
    with fnad.Tape():
        t = Node(0.5, label="t")
        for _ in range(999):
            t = t.tanh()
    bundle = t._repr_mimebundle_()
    assert bundle is not None
    assert svg_vertices(bundle[SVG]) == 201 and "… 800 more vertices" in bundle[SVG]


@pytest.mark.usefixtures("no_dot")
def test_without_dot_a_node_shows_its_graph_as_text_and_says_why() -> None:
    _, _, z = seed()
    bundle = z._repr_mimebundle_()
    assert bundle is not None and set(bundle) == {HTML, "text/plain"}
    page = bundle[HTML]
    assert page.startswith("<pre>") and "add(v5, v6)" in page and "data 13  grad 1" in page
    assert "install" in page and "graph as text" in page


def test_include_and_exclude_are_respected() -> None:
    _, _, z = seed()
    bundle = z._repr_mimebundle_(include={HTML})
    assert bundle is not None and set(bundle) == {HTML, "text/plain"}
    assert z._repr_mimebundle_(exclude={SVG, HTML}) is None


def test_a_node_of_a_closed_tape_falls_back_to_its_repr() -> None:
    with fnad.Tape() as tape:
        z = Node(1.0) * 2
    tape.close()
    assert z._repr_mimebundle_() is None  # Jupyter then shows repr(z)


def test_graph_text_lists_the_vertices_nearest_the_output() -> None:
    _, _, z = seed()
    lines = graph_text(z).splitlines()
    assert len(lines) == 8
    assert lines[0].split() == ["v0", "x", "input", "data", "2", "grad", "7"]
    assert lines[4].split() == ["v4", "pow(v0,", "v3)", "data", "4", "grad", "1"]
    assert lines[-1].endswith("data 13  grad 1  (output)")
    short = graph_text(z, limit=2).splitlines()
    assert short[0] == "… 6 earlier vertices (of 8) not listed" and len(short) == 3


@pytest.fixture
def no_hook() -> Iterator[None]:
    set_display_hook(None)
    yield
    set_display_hook(mime_bundle)


@pytest.mark.usefixtures("no_hook")
def test_core_shows_nothing_rich_without_the_display_hook() -> None:
    _, _, z = seed()
    assert z._repr_mimebundle_() is None and z.backward()._repr_mimebundle_() is None


# --------------------------------------------------------------------------- summaries


def test_gradients_show_a_table_of_the_inputs() -> None:
    _, _, z = seed()
    bundle = z.backward()._repr_mimebundle_()
    assert bundle is not None and set(bundle) == {HTML, "text/plain"}
    page = bundle[HTML]
    assert "<table>" in page and "the 2 inputs" in page
    assert "<td>x</td><td>2</td><td>7</td>" in page and "<td>y</td><td>3</td><td>3</td>" in page


def test_a_gradients_table_is_bounded() -> None:
    with fnad.Tape():
        leaves = [Node(float(i), label=f"w{i}") for i in range(50)]
        total = sum(leaves, Node(0.0, label="start"))
    page = total.backward()._repr_mimebundle_()[HTML]  # type: ignore[index]
    assert page.count("<tr>") == 1 + 20 and "… and 31 more inputs" in page
    assert "<td>w0</td>" in page and "<td>w19</td>" in page  # in recording order
    assert "<td>w20</td>" not in page and "<td>start</td>" not in page


def ipython_format(obj: object) -> dict[str, Any]:
    from IPython.core.formatters import DisplayFormatter

    formatter: Any = DisplayFormatter()
    assert register_ipython(formatter)
    data, _ = formatter.format(obj)
    return dict(data)


def test_through_ipythons_formatter_a_node_is_svg_or_text() -> None:
    _, _, z = seed()
    data = ipython_format(z)
    assert data["text/plain"] == repr(z)
    assert SVG in data or HTML in data


def test_tape_program_explanation_and_mlp_get_short_summaries() -> None:
    x, _, z = seed()
    tape_page = ipython_format(z.tape)[HTML]
    assert "Tape(#" in tape_page and "nodes=8" in tape_page and "networkx.DiGraph" in tape_page

    program = fnad.from_json(fnad.to_json(z))
    program_page = ipython_format(program)[HTML]
    assert "<td>x</td><td>2</td>" in program_page and "value 13" in program_page

    explanation = fnad.explain(z, x)
    data = ipython_format(explanation)
    assert data["text/plain"] == str(explanation)  # the sum over paths, not ~900 chars of fields
    assert data["text/plain"].startswith("∂z/∂x = 7") and len(data["text/plain"]) < 300
    assert data[HTML].startswith("<pre>∂z/∂x = 7")

    model_page = ipython_format(MLP(2, [16, 16, 1], seed=0))[HTML]
    assert "337 parameters" in model_page and model_page.count("<tr>") == 4
    assert "<td>L2</td><td>16</td><td>1</td><td>linear</td><td>17</td>" in model_page
    with fnad.Tape():
        traced_page = ipython_format(MLP(2, [1], seed=0).trace())[HTML]
    assert "traced: parameters are Nodes" in traced_page


def test_no_ipython_running_means_nothing_is_registered() -> None:
    assert register_ipython() is False  # pytest is not an IPython shell
