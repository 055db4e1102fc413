"""The graph table (fnad/engine/table.py): the one flat form every interpreter reads.

See docs/architecture.md for where it sits; the invariants tested here are the ones its
module docstring states.
"""

from __future__ import annotations

import math

import pytest

import fnad
from fnad import Node, Program
from fnad.engine.table import INPUT, GraphTable, input_names, record, vertices_of
from tests.graphs import seed


def test_vertices_are_the_backward_order_reversed_then_the_extras() -> None:
    z, x, y = seed()
    tape = z.tape
    with tape:
        unused = Node(5.0, label="unused")
        aux = (x * 3.0).tanh()
        table = GraphTable.of(z, [x, y, unused], aux=[aux])
        schedule = tape.backward_order(z)[::-1]
        nodes = vertices_of(z, (x, y, unused, aux))
    assert nodes[: len(schedule)] == schedule
    assert table.output == len(schedule) - 1 == len(table) - 5  # unused, 3.0, mul, tanh after
    assert list(table.ops[table.output + 1 :]) == [INPUT, "const", "mul", "tanh"]
    assert [table.labels[k] for k in table.inputs] == ["x", "y", "unused"]
    assert table.names == ("x", "y", "unused") and table.aux == (len(table) - 1,)
    # Every argument comes before its user, and the ids keep the recording order.
    for vertex in range(len(table)):
        assert all(a < vertex for a in table.arguments(vertex))
    assert table.ids is not None
    assert sorted(table.ids) == [tape.position(n) for n in sorted(nodes, key=tape.position)]


@pytest.mark.parametrize("build", [lambda a: a * a, lambda a: a - a, lambda a: a / a])
def test_arguments_keep_their_order_and_repeats(build: object) -> None:
    with fnad.Tape():
        a = Node(3.0, label="a")
        table = GraphTable.of(build(a), [a])  # type: ignore[operator]
    assert table.arguments(table.output) == (0, 0)
    with fnad.Tape():
        a, b = Node(3.0, label="a"), Node(4.0, label="b")
        table = GraphTable.of(b - a, [a, b])
    out = table.output
    assert [table.labels[k] for k in table.arguments(out)] == ["b", "a"]


def test_record_rebuilds_the_same_graph_at_new_inputs() -> None:
    z, x, y = seed()
    table = GraphTable.of(z, [x, y])
    nodes = record(table, at={table.inputs[0]: 1.0})
    out = nodes[table.output]
    assert isinstance(out, Node)
    assert out.data == 1.0 * 3.0 + 1.0**2 + 3.0
    again = GraphTable.of(out, [nodes[k] for k in table.inputs])  # type: ignore[misc]
    for column in ("ops", "labels", "starts", "sources", "inputs", "names", "outputs"):
        assert list(getattr(again, column)) == list(getattr(table, column)), column
    out.tape.close()


def test_record_binds_vertices_to_given_nodes_and_numbers() -> None:
    with fnad.Tape():
        x = Node(2.0, label="x")
        table = GraphTable.of((x * x).exp(), [x])
    with fnad.Tape() as tape:
        w = Node(0.5, label="w")
        nodes = record(table, tape, bind={table.inputs[0]: w})
        assert nodes[table.inputs[0]] is w
        out = nodes[table.output]
        assert isinstance(out, Node) and out.data == math.exp(0.25)
        assert out.backward()[w] == pytest.approx(2 * 0.5 * math.exp(0.25))
    nodes = record(table, bind={table.inputs[0]: 3.0})
    assert nodes[table.inputs[0]] == 3.0
    out = nodes[table.output]
    assert isinstance(out, Node) and out.data == math.exp(9.0)


def test_a_programs_rules_are_fixed_when_it_is_built() -> None:
    """Issue 21 item 3: after defop(replace=True), a program built before replays, traces,
    exports and re-runs strictly with the rule it was built with, everywhere."""
    with fnad.isolated_rules() as rules:
        fnad.defop(
            "test.twice", impl=lambda v: 2.0 * v, partials=lambda v, out: (2.0,), table=rules
        )
        with fnad.Tape(rules):
            x = Node(1.5, label="x")
            prog = Program.from_nodes(x.tape.apply("test.twice", x), [x])
        fnad.defop(
            "test.twice",
            impl=lambda v: 3.0 * v,
            partials=lambda v, out: (3.0,),
            table=rules,
            replace=True,
        )
        assert prog(1.5) == 3.0
        z, _ = prog.trace(x=1.5)
        assert z.data == 3.0
        assert '"data":3.0' in fnad.to_json(prog)
        with fnad.strict():
            assert prog.value_and_grad(x=1.5).grads == {"x": 2.0}


def test_a_table_is_plain_data() -> None:
    """No Node and no networkx graph inside: columns of atoms, and the rules by op name."""
    z, x, y = seed()
    tape = z.tape
    table = GraphTable.of(z, [x, y])
    atoms = (str, float, int, type(None))
    for column in ("ops", "labels", "values", "starts", "sources", "inputs", "names", "outputs"):
        assert all(isinstance(v, atoms) for v in getattr(table, column)), column
    assert dict(table.rules) == {op: tape.rules[op] for op in ("relu", "mul", "pow", "add")}
    tape.close()  # the table outlives its tape
    assert Program.from_table(table).value_and_grad(x=2.0, y=3.0).grads == {"x": 7.0, "y": 3.0}


def test_input_names_are_unique() -> None:
    assert input_names([(0, "x"), (1, "x"), (2, ""), (3, "x#1")]) == {
        0: "x#0",
        1: "x#1#1",
        2: "#2",
        3: "x#1",
    }


def test_a_long_chain_tabulates_and_records_without_recursion() -> None:
    """10,000 vertices: ten times the default recursion limit deep."""
    with fnad.Tape():
        x = Node(0.1, label="x")
        y = x
        for _ in range(10_000):
            y = y.sin()
        table = GraphTable.of(y, [x])
    nodes = record(table)
    out = nodes[table.output]
    assert isinstance(out, Node) and out.data == y.data
    out.tape.close()


@pytest.mark.slow
def test_a_million_vertex_chain_tabulates_and_records() -> None:
    with fnad.Tape():
        x = Node(0.1, label="x")
        y = x
        for _ in range(1_000_000):
            y = y + 1.0
        table = GraphTable.of(y, [x])
    assert len(table) == 2_000_001
    program = Program.from_table(table)
    assert program(0.1) == y.data
