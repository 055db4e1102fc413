"""A loaded document becomes a GraphTable in the order an eager trace of it would have.

The oracle is the way ``from_json`` loaded a document before the table: record every vertex
on a tape, in the reader's recording order (Kahn's, smallest document id first), then take
``GraphTable.of`` of the output, which sorts the tape with ``networkx.topological_sort``.
The reader builds the same order from a bare graph of integers, without a Node; the order,
the arguments, the values and the program's gradients must all be the same.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
from fnad.compiled import load
from fnad.engine.table import GraphTable, record
from fnad.graph.reader import read_json
from tests.export_strategies import Expr, expressions, same


def shuffled(text: str, seed: int) -> str:
    """The same graph with other ids, its vertices and edges listed in another order."""
    doc = json.loads(text)
    rng = random.Random(seed)
    ids = list(range(len(doc["nodes"])))
    rng.shuffle(ids)
    for node in doc["nodes"]:
        node["id"] = ids[node["id"]] * 3 + 7
    for edge in doc["edges"]:
        edge["source"] = ids[edge["source"]] * 3 + 7
        edge["target"] = ids[edge["target"]] * 3 + 7
    doc["graph"]["output"] = ids[doc["graph"]["output"]] * 3 + 7
    rng.shuffle(doc["nodes"])
    rng.shuffle(doc["edges"])
    return json.dumps(doc)


def traced(table: GraphTable) -> GraphTable:
    """The old way: a Node per vertex on a tape, in recording order, then networkx's sort."""
    nodes = record(table)
    inputs = [nodes[k] for k in table.inputs]
    output = nodes[table.output]
    assert isinstance(output, fnad.Node)
    return GraphTable.of(output, [n for n in inputs if isinstance(n, fnad.Node)])


@settings(max_examples=150, deadline=None)
@given(expressions(), st.integers(0, 2**32 - 1))
def test_the_table_is_in_the_order_of_an_eager_trace(expr: Expr, seed: int) -> None:
    z, _ = expr.build()
    for text in (fnad.to_json(z), shuffled(fnad.to_json(z), seed)):
        table = read_json(text)
        oracle = traced(table)
        assert list(table.ops) == list(oracle.ops)
        assert list(table.labels) == list(oracle.labels)
        assert list(table.starts) == list(oracle.starts)
        assert list(table.sources) == list(oracle.sources)
        assert list(table.inputs) == list(oracle.inputs)
        assert table.output == oracle.output
        program = load._program(table)
        assert all(map(same, program.table.values, oracle.values))  # recomputed by the rules
        point = [table.values[k] for k in table.inputs]
        expected = fnad.Program.from_table(oracle).value_and_grad(*point)
        found = program.value_and_grad(*point)
        assert same(found.value, expected.value)
        assert all(map(same, found.grads.values(), expected.grads.values()))


def test_loading_builds_no_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Node and no tape: Node's constructor and Tape.apply are never called."""
    with fnad.Tape():
        x = fnad.Node(2.0, label="x")
        z = (x * x + 1.0).tanh()
    text = fnad.to_json(z)
    fnad.to_graphml(z, tmp_path / "z.graphml")
    calls: list[str] = []
    original_init, original_apply = fnad.Node.__init__, fnad.Tape.apply

    def spy_init(self: fnad.Node, *args: Any, **kwargs: Any) -> None:
        calls.append("Node")
        original_init(self, *args, **kwargs)

    def spy_apply(self: fnad.Tape, *args: Any, **kwargs: Any) -> fnad.Node:
        calls.append("apply")
        return original_apply(self, *args, **kwargs)

    monkeypatch.setattr(fnad.Node, "__init__", spy_init)
    monkeypatch.setattr(fnad.Tape, "apply", spy_apply)
    programs = [fnad.from_json(text), fnad.from_graphml(tmp_path / "z.graphml")]
    assert calls == []
    monkeypatch.undo()
    expected = fnad.ValueAndGrad(z.data, {"x": z.backward()[x]})
    assert [program.value_and_grad(x=2.0) for program in programs] == [expected, expected]
