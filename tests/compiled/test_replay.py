"""from_json -> Program: exact round trips and replay at new inputs through the rule table."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnad
from fnad import Node, from_json, to_json
from fnad.engine.rules import Rule, isolated_rules
from tests.export_strategies import Expr, expressions, same
from tests.graphs import micrograd_readme


def test_seed_round_trip() -> None:
    with fnad.Tape():
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        z = x * y + x**2 + y.relu()
    text = to_json(z)
    prog = from_json(text)
    assert prog.input_names == ("x", "y")
    assert prog.inputs == {"x": 2.0, "y": 3.0} and prog.value == 13.0
    assert prog.value_and_grad(x=2.0, y=3.0) == (13.0, {"x": 7.0, "y": 3.0})
    assert str(prog.value_and_grad()) == "value = 13.0\n∂/∂x = 7.0\n∂/∂y = 3.0"
    assert repr(prog) == "Program(8 vertices, inputs (x, y), output op 'add')"
    out, _ = prog.trace(x=2.0, y=3.0)
    assert to_json(out) == text  # the replayed graph exports to the same text


def test_micrograd_readme_round_trip_is_exact() -> None:
    g, a, b = micrograd_readme()
    grads = g.backward()
    prog = from_json(to_json(g))
    value, by_name = prog.value_and_grad(a=-4.0, b=2.0)
    assert value == g.data == 24.70408163265306
    assert by_name == {"a": grads[a], "b": grads[b]}  # bit for bit
    # micrograd's README rounds differently in the last bit (see tests/test_seed.py)
    assert by_name["a"] == pytest.approx(138.8338192419825, rel=1e-15)
    assert by_name["b"] == pytest.approx(645.5772594752186, rel=1e-15)


def test_replay_at_new_inputs_equals_building_directly() -> None:
    g, _, _ = micrograd_readme()
    prog = from_json(to_json(g))
    h, a, b = micrograd_readme(1.5, -0.25)
    grads = h.backward()
    assert prog.value_and_grad(a=1.5, b=-0.25) == (h.data, {"a": grads[a], "b": grads[b]})


@pytest.mark.parametrize(
    ("build", "at", "expected"),
    [
        (lambda a: a * a, 3.0, (9.0, 6.0)),
        (lambda a: a - a, 3.0, (0.0, 0.0)),
        (lambda a: a**a, 2.0, (4.0, 4.0 * (1 + math.log(2.0)))),
        (lambda a: 2.0 - a, 0.5, (1.5, -1.0)),
        (lambda a: a / 4.0, 2.0, (0.5, 0.25)),
        (lambda a: 4.0 / a, 2.0, (2.0, -1.0)),
        (lambda a: 2.0**a, 3.0, (8.0, 8.0 * math.log(2.0))),
    ],
    ids=["a*a", "a-a", "x**x", "2-a", "a/4", "4/a", "2**a"],
)
def test_operand_order_and_repeated_arguments_survive(
    build: object, at: float, expected: tuple[float, float]
) -> None:
    assert callable(build)
    with fnad.Tape():
        a = Node(1.25, label="a")
        z = build(a)
    prog = from_json(to_json(z))
    value, grads = prog.value_and_grad(a=at)
    assert value == pytest.approx(expected[0]) and grads["a"] == pytest.approx(expected[1])


def test_labels_empty_non_ascii_and_duplicate() -> None:
    with fnad.Tape():
        theta = Node(1.0, label="θ₁")
        blank = Node(2.0)
        x1 = Node(3.0, label="x")
        x2 = Node(4.0, label="x")
        z = theta * blank + x1 - x2
    prog = from_json(to_json(z))
    assert prog.input_names == ("θ₁", "#1", "x#2", "x#3")
    value, grads = prog.value_and_grad(**{"θ₁": 2.0, "#1": 5.0, "x#3": 1.0})
    assert value == 2.0 * 5.0 + 3.0 - 1.0
    assert grads == {"θ₁": 5.0, "#1": 2.0, "x#2": 1.0, "x#3": -1.0}
    _, leaves = prog.trace()
    assert [leaf.label for leaf in leaves.values()] == ["θ₁", "", "x", "x"]


def test_nan_and_inf_round_trip() -> None:
    with fnad.Tape():
        x = Node(math.inf, label="x")
        y = Node(math.nan, label="y")
        z = (x - x) + y * 0.0 + x.exp() - Node(-math.inf, label="w")
    grads = z.backward()
    prog = from_json(to_json(z))
    assert math.isinf(prog.inputs["x"]) and math.isnan(prog.inputs["y"])
    assert prog.inputs["w"] == -math.inf
    value, by_name = prog.value_and_grad()
    assert same(value, z.data)
    for leaf in (x, y):
        assert same(by_name[leaf.label], grads[leaf])


def test_custom_ops_resolve_by_name_in_the_rule_table() -> None:
    cube = Rule("test.cube", 1, lambda v: v**3, lambda v, out: (3 * v * v,), samples=((2.0,),))
    fma = Rule(
        "test.fma",
        3,
        lambda a, b, c: a * b + c,
        lambda a, b, c, out: (b, a, 1.0),
        ((1.0, 2.0, 3.0),),
    )
    with isolated_rules() as table:
        table.register(cube)
        table.register(fma)
        with fnad.Tape() as tape:
            x = Node(2.0, label="x")
            y = Node(5.0, label="y")
            z = tape.apply("test.fma", tape.apply("test.cube", x), y, x)
        text = to_json(z)
        prog = from_json(text)
        assert prog.value_and_grad() == (42.0, {"x": 12.0 * 5.0 + 1.0, "y": 8.0})
        assert prog.value_and_grad(x=1.0, y=1.0) == (2.0, {"x": 4.0, "y": 1.0})
        out, _ = prog.trace()
        assert to_json(out) == text
    # outside the block the ops are unknown: a clear error, nothing evaluated
    with pytest.raises(fnad.GraphFormatError, match=r"op 'test\.cube', which is not in the rule"):
        from_json(text)
    # an explicit table works anywhere
    assert from_json(text, rules=table).value_and_grad().value == 42.0


def test_inputs_left_out_keep_their_stored_values() -> None:
    with fnad.Tape():
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        z = x * y
    prog = from_json(to_json(z))
    assert prog.value_and_grad(y=10.0) == (20.0, {"x": 10.0, "y": 2.0})
    assert prog(x=1.0) == 3.0


def test_unknown_input_and_bad_values_are_clear_errors() -> None:
    with fnad.Tape():
        x = Node(2.0, label="x")
    prog = from_json(to_json(x.exp()))
    with pytest.raises(fnad.ReplayInputError, match="no input named 'y'; its inputs are 'x'"):
        prog.value_and_grad(y=1.0)
    with pytest.raises(TypeError):
        prog.value_and_grad(y=1.0)
    with pytest.raises(fnad.OperandTypeError, match="input 'x' is '1' \\(str\\)"):
        prog.value_and_grad(x="1")  # type: ignore[arg-type]


def test_input_named_self_works() -> None:
    with fnad.Tape():
        s = Node(2.0, label="self")
    prog = from_json(to_json(s * s))
    assert prog.value_and_grad(self=3.0) == (9.0, {"self": 6.0})


def test_replay_does_not_touch_the_current_tape() -> None:
    with fnad.Tape() as outer:
        x = Node(1.0, label="x")
        prog = from_json(to_json(x.sin()))
        before = len(outer)
        prog.value_and_grad(x=0.5)
        assert len(outer) == before


def test_loaded_program_can_be_rendered_and_explained() -> None:
    with fnad.Tape():
        x = Node(2.0, label="x")
        z = x * x + x
    out, leaves = from_json(to_json(z)).trace(x=3.0)
    assert fnad.explain(out, leaves["x"]).grad == 7.0
    assert "data 12" in fnad.to_dot(out)


@given(expressions())
def test_random_dags_round_trip_bit_for_bit(expr: Expr) -> None:
    z, leaves = expr.build()
    grads = z.backward()
    text = to_json(z)
    prog = from_json(text)
    value, by_name = prog.value_and_grad()
    assert same(value, z.data)
    on_graph = {leaf for leaf in leaves if leaf in grads}
    assert len(by_name) == len(on_graph)
    names = dict(zip(prog.inputs, sorted(on_graph, key=z.tape.position), strict=True))
    for name, leaf in names.items():
        assert leaf.label == name.split("#")[0] if "#" in name else leaf.label == name
        assert same(by_name[name], grads[leaf])
    out, _ = prog.trace()
    assert to_json(out) == text


@given(expressions(specials=False), st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3))
def test_random_dags_replay_at_new_inputs_equals_building_directly(
    expr: Expr, new: list[float]
) -> None:
    z, leaves = expr.build()
    prog = from_json(to_json(z))
    position = {leaf: i for i, leaf in enumerate(leaves)}
    on_graph = sorted((leaf for leaf in leaves if leaf in z.backward()), key=position.__getitem__)
    values = {position[leaf]: new[position[leaf]] for leaf in on_graph}
    direct, direct_leaves = expr.build(values)
    direct_grads = direct.backward()
    value, by_name = prog.value_and_grad(
        **{name: new[position[leaf]] for name, leaf in zip(prog.input_names, on_graph, strict=True)}
    )
    assert same(value, direct.data)
    for name, leaf in zip(prog.input_names, on_graph, strict=True):
        assert same(by_name[name], direct_grads[direct_leaves[position[leaf]]])


@given(expressions())
def test_random_dags_round_trip_through_graphml(expr: Expr) -> None:
    z, _ = expr.build()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "g.graphml"
        fnad.to_graphml(z, path)
        prog = fnad.from_graphml(path)
    out, _ = prog.trace()
    assert to_json(out) == to_json(z)  # same values, grads, labels, operand order


AWKWARD_LABELS = [
    "a\rb",
    "a\r\nb",
    "\r",
    "tab\there\nnewline",
    "x = 0.0\nf = 42.0\ndf/dx",
    "\x1b[2J\x1b]0;owned\x07y",
    "\x00\x01\x1f\x7f",
    "back\\slash \\x07 not an escape",
    "\\x07",
    "\ud800 lone surrogate",
    "\ufffe\uffff",
    "θ ∂ 😀",
    "<b>&amp;</b> ]]> \"'",
    " padded ",
]


@pytest.mark.parametrize("label", AWKWARD_LABELS, ids=repr)
def test_graphml_round_trips_labels_byte_for_byte(label: str, tmp_path: Path) -> None:
    with fnad.Tape():
        x = Node(2.0, label=label)
        z = (x * 3).tanh()
    path = tmp_path / "g.graphml"
    fnad.to_graphml(z, path)
    text = path.read_text(encoding="utf-8")
    program = fnad.from_graphml(path)
    assert program.input_names == (label,)
    # Any other layout (the file re-indented) goes through the XML parser: the same labels.
    assert fnad.from_graphml(text.replace("    <", "<")).input_names == (label,)
    out, _ = program.trace()
    assert to_json(out) == to_json(z)


@given(st.text(max_size=12))
def test_any_label_survives_graphml(label: str) -> None:
    with fnad.Tape():
        x = Node(1.5, label=label)
        z = -x
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "g.graphml"
        fnad.to_graphml(z, path)
        assert fnad.from_graphml(path).input_names == (label or "#0",)


@given(expressions())
def test_both_graphml_readers_agree(expr: Expr) -> None:
    """fnad's own layout is read line by line; any other through expat: the same graph."""
    from fnad.graph import reader

    z, _ = expr.build()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "g.graphml"
        fnad.to_graphml(z, path)
        data = path.read_bytes()
    fast = reader.read_graphml(data)
    assert reader._fnad_layout(data, reader._Builder(fnad.current_rules(), 10**6, json=False))
    parsed = reader._xml_layout(data, reader._Builder(fnad.current_rules(), 10**6, json=False))
    for field in ("ids", "ops", "labels", "rules", "starts", "sources", "inputs", "names"):
        assert list(getattr(fast, field)) == list(getattr(parsed, field)), field
    for field in ("values",):
        for a, b in zip(getattr(fast, field), getattr(parsed, field), strict=True):
            assert same(a, b), field


def test_a_file_networkx_saved_again_loads(tmp_path: Path) -> None:
    """networkx writes the graph's attributes after the vertices and edges: still fine."""
    import networkx as nx

    z, _, _ = micrograd_readme()
    path = tmp_path / "g.graphml"
    fnad.to_graphml(z, path)
    nx.write_graphml(nx.read_graphml(path, node_type=int), tmp_path / "again.graphml")
    text = (tmp_path / "again.graphml").read_text(encoding="utf-8")
    assert text.index("fnad.graph") > text.index("<edge")  # the header comes last
    out, _ = fnad.from_graphml(tmp_path / "again.graphml").trace()
    assert to_json(out) == to_json(z)


def test_graphml_in_any_element_order_loads(tmp_path: Path) -> None:
    """Edges before vertices, a vertex after an edge: GraphML allows any order."""
    z, _, _ = micrograd_readme()
    path = tmp_path / "g.graphml"
    fnad.to_graphml(z, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    nodes = [line for line in lines if line.startswith("    <node")]
    edges = [line for line in lines if line.startswith("    <edge")]
    rest = [line for line in lines if line not in nodes and line not in edges]
    end = rest.index("  </graph>")
    shuffled = [*rest[:end], *edges[:3], *nodes[::-1], *edges[3:], *rest[end:]]
    out, _ = fnad.from_graphml("\n".join(shuffled)).trace()
    assert to_json(out) == to_json(z)
