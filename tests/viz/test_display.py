"""What a notebook shows: a Node's graph, summaries, and render() without a path.

Checked the way Jupyter asks: ``_repr_mimebundle_`` and IPython's DisplayFormatter, by
mime type and by the bytes of the data (SVG text, PNG and PDF magic numbers). The notebook
in examples/ shows the same through a real kernel (tests/test_notebook.py).
"""

from __future__ import annotations

import math
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
from tests.graphs import seed

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


def svg_vertices(svg: str) -> int:
    root = ET.fromstring(svg.encode("utf-8"))
    return [g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")].count("node")


def is_svg(text: str) -> bool:
    return text.startswith(("<?xml", "<svg")) and "<svg" in text


# --------------------------------------------------------------------------- render(z)


@pytest.mark.usefixtures("viz")
def test_render_without_a_path_returns_a_drawing_that_displays_inline() -> None:
    z, _, _ = seed()
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
    z, _, _ = seed()
    path = fnad.render(z, tmp_path / name)
    assert path == tmp_path / name and path.read_bytes().startswith(magic)
    saved = fnad.render(z).save(tmp_path / f"saved-{name}")
    assert saved.read_bytes().startswith(magic)


@pytest.mark.parametrize("name", ["seed.jpg", "seed", "seed.svg.txt", "seed.dot"])
def test_other_extensions_are_refused_before_drawing(tmp_path: Path, name: str) -> None:
    z, _, _ = seed()
    with pytest.raises(fnad.OutputFormatError) as info:
        fnad.render(z, tmp_path / name)  # no graphviz needed to refuse
    assert isinstance(info.value, ValueError)
    assert "name the file .svg, .png or .pdf" in str(info.value) and name in str(info.value)
    assert not (tmp_path / name).exists()


# --------------------------------------------------------------------------- Node


@pytest.mark.usefixtures("viz")
def test_a_node_shows_its_graph_as_svg() -> None:
    z, _, _ = seed()
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
    z, _, _ = seed()
    bundle = z._repr_mimebundle_()
    assert bundle is not None and set(bundle) == {HTML, "text/plain"}
    page = bundle[HTML]
    assert page.startswith("<pre>") and "add(v5, v6)" in page and "data 13  grad 1" in page
    assert "install" in page and "graph as text" in page


def test_include_and_exclude_are_respected() -> None:
    z, _, _ = seed()
    bundle = z._repr_mimebundle_(include={HTML})
    assert bundle is not None and set(bundle) == {HTML, "text/plain"}
    assert z._repr_mimebundle_(exclude={SVG, HTML}) is None


def test_a_node_of_a_closed_tape_falls_back_to_its_repr() -> None:
    with fnad.Tape() as tape:
        z = Node(1.0) * 2
    tape.close()
    assert z._repr_mimebundle_() is None  # Jupyter then shows repr(z)


def test_graph_text_lists_the_vertices_nearest_the_output() -> None:
    z, _, _ = seed()
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
    z, _, _ = seed()
    assert z._repr_mimebundle_() is None and z.backward()._repr_mimebundle_() is None


# --------------------------------------------------------------------------- summaries


def test_gradients_show_a_table_of_the_inputs() -> None:
    z, _, _ = seed()
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
    z, _, _ = seed()
    data = ipython_format(z)
    assert data["text/plain"] == repr(z)
    assert SVG in data or HTML in data


def test_tape_program_explanation_and_mlp_get_short_summaries() -> None:
    z, x, _ = seed()
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


# --------------------------------------------------------------------------- issue 20: pictures
# that agree with the numbers


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode("utf-8"))
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.mark.usefixtures("viz")
def test_a_leaf_shown_after_backward_shows_the_gradient_node_grad_reads() -> None:
    z, x, _ = seed()
    z.backward()
    assert x.grad == 7.0
    bundle = x._repr_mimebundle_()
    assert bundle is not None
    texts = svg_texts(bundle[SVG])
    assert texts[1:] == ["x", "input", "data 2", "grad 7"]  # not "output", not "grad 1"
    assert texts[0].startswith("grad = ∂f/∂v for f = add (data 13), the output of the last")
    # an intermediate node: every box shows its .grad, each edge the flow of that backward
    with fnad.Tape():
        a = Node(2.0, label="a")
        b = (a * 3.0).with_label("b")
        c = b * b
    c.backward()
    texts = svg_texts(b._repr_mimebundle_()[SVG])  # type: ignore[index]
    assert "grad 36" in texts and "grad 12" in texts and "grad 1" not in texts  # a, b
    assert "grad ← 36" in texts  # 12 × local ∂ 3 along a -> b
    # the output of that backward is drawn as the output, as before
    texts = svg_texts(c._repr_mimebundle_()[SVG])  # type: ignore[index]
    assert "output" in texts and "grad 1" in texts


@pytest.mark.usefixtures("no_dot")
def test_without_dot_a_leaf_after_backward_lists_its_recorded_gradient() -> None:
    z, x, _ = seed()
    z.backward()
    page = x._repr_mimebundle_()[HTML]  # type: ignore[index]
    assert "data 2  grad 7" in page and "grad 1" not in page and "(output)" not in page
    assert "the output of the last backward()" in page


@pytest.mark.usefixtures("viz")
def test_an_mlp_output_shows_its_summary_by_layer() -> None:
    with fnad.Tape():
        out = MLP(2, [16, 16, 1], seed=0).trace()((1.0, 2.0))
    bundle = out._repr_mimebundle_()
    assert bundle is not None and set(bundle) == {SVG, "text/plain"}
    svg = bundle[SVG]
    assert len(svg) < 30_000  # the collapsed graph was 365 KB
    texts = svg_texts(svg)
    assert texts[0].startswith("979 vertices, too many to draw one by one: grouped by layer")
    assert {"L0", "L1", "L2 \xa0(output)"} <= set(texts) and "How to read it" in svg
    assert svg_vertices(svg) == 4  # L0, L1, L2, const (the legend is class "node legend")


@pytest.mark.usefixtures("viz")
def test_pictures_show_0_for_a_negative_zero_and_exports_keep_it() -> None:
    with fnad.Tape():
        x = Node(1.0, label="x")
        z = (x * -2.0).relu()
    assert z.backward()[x] == 0.0 and math.copysign(1.0, z.backward()[x]) == -1.0
    svg = fnad.render(z).svg
    texts = " ".join(svg_texts(svg))
    assert "-0" not in texts and "−0" not in texts and "grad 0" in texts
    assert 'grad="-0.0"' in fnad.to_dot(z)  # the exact value rides along
    assert '"grad":-0.0' in fnad.to_json(z)
    assert "-0" not in graph_text(z)


@pytest.mark.usefixtures("viz")
@pytest.mark.parametrize("length", [20_000, 70_000, 1_000_000])
def test_a_long_label_is_shortened_in_the_picture_and_kept_whole_in_exports(length: int) -> None:
    with fnad.Tape():
        x = Node(2.0, label="θ" * length)
        z = (x * 3.0).with_label("z" * length)
    svg = fnad.render(z).svg  # graphviz refused a quoted string over 16 KiB
    texts = svg_texts(svg)
    marker = f"… (+{length - 60:,} characters)"
    assert "θ" * 60 + marker in texts and "z" * 60 + marker in texts
    assert len(svg) < 20_000
    bundle = z._repr_mimebundle_()
    assert bundle is not None and "z" * 60 + marker in bundle[SVG]
    assert list(fnad.from_json(fnad.to_json(z)).inputs) == ["θ" * length]
    assert x.label == "θ" * length


BIDI = ["\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b", "\u200f", "\u3164"]


@pytest.mark.usefixtures("viz")
@pytest.mark.parametrize("character", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_invisible_and_direction_changing_characters_are_escaped_in_every_box(
    character: str,
) -> None:
    with fnad.Tape():
        x = Node(2.0, label=f"in{character}put")
        k = x.tape.constant(3.0)
        const = fnad.Node(0.0)  # an unlabelled input, to see every kind
        z = (x * k + const).with_label(f"op{character}box")
    document = fnad.to_json(z)
    assert '"op":"const","label":""' in document
    labelled = fnad.from_json(
        document.replace('"op":"const","label":""', f'"op":"const","label":"c{character}c"')
    ).as_node()
    assert f"c{character}c" in [n.label for n in labelled.inputs[0].inputs]
    escaped = f"\\u{ord(character):04x}"
    for output in (z, labelled):
        svg = fnad.render(output).svg
        assert character not in svg
        assert escaped in svg
    assert f"in{escaped}put" in fnad.render(z).svg and f"op{escaped}box" in fnad.render(z).svg


@pytest.mark.usefixtures("viz")
def test_a_dot_that_dies_mid_pipe_is_a_render_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import graphviz  # type: ignore[import-untyped,import-not-found,unused-ignore]

    def broken_pipe(self: Any, format: str) -> bytes:  # noqa: A002 - graphviz's name
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(graphviz.Source, "pipe", broken_pipe)
    z, _, _ = seed()
    with pytest.raises(fnad.RenderError, match=r"dot could not be run on this graph"):
        fnad.render(z)
    bundle = z._repr_mimebundle_()  # never raises: the graph as text, and why
    assert bundle is not None and set(bundle) == {HTML, "text/plain"}
    assert "BrokenPipeError" in bundle[HTML] and "add(v5, v6)" in bundle[HTML]


def test_the_display_hook_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import fnad.viz.display as display

    def boom(*args: Any, **kwargs: Any) -> str:
        raise ValueError("unexpected")

    z, _, _ = seed()
    monkeypatch.setattr(display, "node_svg", boom)
    bundle = z._repr_mimebundle_()
    assert bundle is not None and "graph could not be drawn (ValueError)" in bundle[HTML]
    monkeypatch.setattr(display, "graph_text", boom)
    assert z._repr_mimebundle_() is None  # Jupyter shows repr(z)


# --------------------------------------------------------------------------- issue 20: displays


@pytest.mark.usefixtures("viz")
def test_a_summary_displays_itself() -> None:
    with fnad.Tape():
        out = MLP(2, [4, 1], seed=0).trace()((1.0, 2.0))
    summary = fnad.summarize(out, by="layer")
    bundle = summary._repr_mimebundle_()
    assert set(bundle) == {SVG, "text/plain"}
    assert is_svg(bundle[SVG]) and "How to read it" in bundle[SVG]
    assert bundle["text/plain"] == repr(summary)
    assert repr(summary).startswith("<fnad summary by layer: 3 groups of 47 vertices")


@pytest.mark.usefixtures("no_dot")
def test_without_dot_a_summary_is_a_table() -> None:
    with fnad.Tape():
        out = MLP(2, [4, 1], seed=0).trace()((1.0, 2.0))
    bundle = fnad.summarize(out, by="layer")._repr_mimebundle_()
    assert set(bundle) == {HTML, "text/plain"}
    assert "<td>L0</td><td>32</td>" in bundle[HTML] and "<th>gradient stops</th>" in bundle[HTML]


@pytest.mark.usefixtures("viz")
@pytest.mark.parametrize(("name", "magic"), [("s.png", b"\x89PNG"), ("s.pdf", b"%PDF")])
def test_render_summary_follows_the_extension(tmp_path: Path, name: str, magic: bytes) -> None:
    z, _, _ = seed()
    path = fnad.render_summary(fnad.summarize(z, by="op"), tmp_path / name)
    assert path.read_bytes().startswith(magic)


def test_render_summary_refuses_other_extensions_before_drawing(tmp_path: Path) -> None:
    z, _, _ = seed()
    with pytest.raises(fnad.OutputFormatError, match=r"'\.jpg' is not a format fnad draws"):
        fnad.render_summary(fnad.summarize(z, by="op"), tmp_path / "s.jpg")
    assert list(tmp_path.iterdir()) == []


def test_value_and_grad_adam_and_long_programs_get_rich_displays() -> None:
    z, _, _ = seed()
    program = fnad.from_json(fnad.to_json(z))
    page = ipython_format(program.value_and_grad(x=1.0))[HTML]
    assert "value 7" in page and "<td>x</td><td>5</td>" in page

    from fnad.nn.model import Adam

    model = MLP(2, [16, 16, 1], seed=0)
    _, optimizer = Adam(lr=0.01).step(model, [1.0] * len(model.parameters()))
    data = ipython_format(optimizer)
    assert data["text/plain"] == (
        "Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-08, t=1; moments of 337 parameters)"
    )
    assert "moments of 337 parameters" in data[HTML]

    with fnad.Tape():
        leaves = [Node(float(i), label=f"w{i}") for i in range(337)]
        total = sum(leaves, Node(0.0, label="start"))
    page = ipython_format(fnad.from_json(fnad.to_json(total)))[HTML]
    assert "338 inputs (w0, w1, w2, w3, w4, … 333 more)" in page
    assert page.count("<tr>") == 1 + 20 and "… and 318 more inputs" in page
    assert len(page) < 3_000
