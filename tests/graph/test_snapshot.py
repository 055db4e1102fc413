"""The snapshot: export, pictures, summaries and explain read the graph table, never Nodes.

See docs/architecture.md (the hub: one graph table) and docs/compile.md (saving a program).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

import fnad
from fnad import Node, Program
from fnad.engine import GraphTable, backpropagate, backpropagate_table, vertices_of
from fnad.graph.snapshot import Snapshot, snapshot
from fnad.viz.summary import summarize
from tests.export_strategies import Expr, expressions, same
from tests.graphs import seed


@pytest.fixture
def no_retrace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to record a table as Nodes again (what exporting a Program did)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a table was recorded as Nodes again")

    monkeypatch.setattr(Program, "trace", refuse)
    monkeypatch.setattr(Program, "as_node", refuse)


@given(expressions())
def test_the_chain_rule_over_a_table_is_backward_bit_for_bit(expr: Expr) -> None:
    z, _ = expr.build()
    order = z.tape.backward_order(z)
    local: dict[Node, tuple[float, ...]] = {}
    expected = backpropagate(order, z, local=local, constants=True, judge=False)
    nodes = vertices_of(z)
    grads, partials = backpropagate_table(GraphTable.of(z, vertices=nodes))
    slot = 0
    for v, node in enumerate(nodes):
        assert same(grads[v], expected[node])
        for p in local.get(node, ()):
            assert same(partials[slot], p)
            slot += 1
    assert slot == len(partials)


@given(expressions())
def test_a_program_exports_from_its_table_as_its_graph_does(expr: Expr) -> None:
    z, leaves = expr.build()
    program = Program.from_nodes(z, leaves)
    text = fnad.to_json(z)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Program, "as_node", _refuse)
        patch.setattr(Program, "trace", _refuse)
        assert fnad.to_json(program) == text
        assert fnad.to_json(program.table) == text
        assert fnad.to_json(fnad.from_json(text)) == text


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a program was traced back to Nodes")


@pytest.mark.usefixtures("no_retrace")
def test_every_reader_of_a_program_reads_its_table(tmp_path: Path) -> None:
    z, x, y = seed()
    program = Program.from_nodes(z, [x, y])
    assert fnad.to_dot(program) == fnad.to_dot(z)
    fnad.to_graphml(program, tmp_path / "program.graphml")
    fnad.to_graphml(z, tmp_path / "z.graphml")
    assert (tmp_path / "program.graphml").read_bytes() == (tmp_path / "z.graphml").read_bytes()
    assert nx_equal(fnad.to_networkx(program), fnad.to_networkx(z))
    assert repr(sorted(summarize(program, by="op").nodes(data=True))) == repr(
        sorted(summarize(z, by="op").nodes(data=True))
    )


def nx_equal(a: Any, b: Any) -> bool:
    return bool(
        a.graph == b.graph
        and list(a.nodes(data=True)) == list(b.nodes(data=True))
        and list(a.edges(data=True)) == list(b.edges(data=True))
    )


def test_a_program_with_aux_values_exports_its_output_graph_only() -> None:
    with fnad.Tape():
        x = Node(2.0, label="x")
        score = x * 3.0
        loss = (score - 1.0) ** 2
        side = x.exp()  # an aux value the loss does not need
    program = Program.from_nodes(loss, [x], aux=[side])
    assert len(program.table) > len(snapshot(program))
    assert fnad.to_json(program) == fnad.to_json(loss)


def test_the_snapshot_numbers_vertices_in_recording_order() -> None:
    with fnad.Tape():
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        c = Node(5.0, label="c")  # recorded before the ops, used last
        z = (x * y + x) * c
    table = GraphTable.of(z, [x, y, c])
    snap = snapshot(z)
    assert snap.labels[:3] == ("x", "y", "c")  # recording order, as documents number them
    assert table.labels[:3] == ("c", "x", "y")  # networkx.topological_sort's order
    assert snap.output == len(snap) - 1 and snap.ops[-1] == "mul"
    assert list(snap.arguments(snap.output)) == [4, 2]  # the add, then c: argument order


def test_repeated_arguments_are_one_edge_with_summed_partials() -> None:
    x = Node(3.0, label="x")
    snap = snapshot(x * x)
    assert list(snap.edges()) == [(0, 1, (0, 1), 6.0, 6.0)]
    assert snap.nodes is not None and snap.index() == {snap.nodes[0]: 0, snap.nodes[1]: 1}


def test_a_table_snapshot_holds_no_nodes_and_says_so() -> None:
    z, x, y = seed()
    snap = Snapshot.of_table(GraphTable.of(z, [x, y]))
    assert snap.nodes is None
    with pytest.raises(fnad.OperandTypeError, match="holds no Nodes; pass the output Node"):
        snap.index()


def test_gradients_by_node_need_the_output_node() -> None:
    z, x, y = seed()
    program = Program.from_nodes(z, [x, y])
    with pytest.raises(fnad.OperandTypeError, match=r"gradients= are looked up by Node"):
        fnad.to_dot(program, gradients={x: 1.0})


def test_explain_wants_the_output_node() -> None:
    z, x, y = seed()
    with pytest.raises(fnad.OperandTypeError, match=r"explain: expected the output fnad\.Node"):
        fnad.explain(Program.from_nodes(z, [x, y]), x)  # type: ignore[arg-type]
