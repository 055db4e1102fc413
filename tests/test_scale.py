"""A million-node chain and 100k-wide fans: nothing in fnad may recurse over the graph.

The million-node tests are ``slow`` (``pytest -m slow``, and CI); the default run checks the
same behaviours on chains ten times the recursion limit deep (here and in test_export,
test_transforms).
"""

from __future__ import annotations

import gc
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import fnad
from fnad import Node
from tests.export_strategies import need_dot, need_graphviz_package

MILLION = 1_000_000


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[Node, Node]]:
    limit = sys.getrecursionlimit()
    with fnad.Tape():
        x = Node(1.0, label="x")
        y = x
        for _ in range(MILLION - 1):
            y = -y  # one vertex per op: exactly a million
    yield x, y
    assert sys.getrecursionlimit() == limit
    del x, y
    gc.collect()


def test_a_10k_chain_pickles_and_round_trips_through_graphml(tmp_path: Path) -> None:
    """The million-node pickle and GraphML tests below, at a size for the default run."""
    n = 10_000
    assert n > 5 * sys.getrecursionlimit()  # too deep for anything recursive
    with fnad.Tape():
        x = Node(1.0, label="x")
        y = x
        for _ in range(n - 1):
            y = -y
    x2, y2 = pickle.loads(pickle.dumps((x, y), protocol=pickle.HIGHEST_PROTOCOL))
    assert y2.data == -1.0 and len(y2.tape) == n and y2.backward()[x2] == -1.0
    path = tmp_path / "chain.graphml"
    fnad.to_graphml(y, path)
    program = fnad.from_graphml(path)
    assert len(program) == n and program.input_names == ("x",) and program.value == -1.0
    assert program.value_and_grad(x=2.0).grads["x"] == -1.0


@pytest.mark.slow
def test_million_node_chain_builds_and_differentiates(chain: tuple[Node, Node]) -> None:
    x, y = chain
    assert len(y.tape) == MILLION
    grads = y.backward()
    assert grads[x] == -1.0 and x.grad == -1.0  # an odd number of negations
    assert len(grads) == MILLION
    assert repr(y) == "Node(data=-1.0, grad=1.0, op='neg')"


@pytest.mark.slow
def test_long_chain_second_order() -> None:
    """create_graph walks a long chain with Node arithmetic; still no recursion."""
    with fnad.Tape():
        a = Node(1.0)
        b = a
        for _ in range(200_000):
            b = b * a  # b = a^(n+1)
        db = b.backward(create_graph=True)[a]
        assert db.data == 200_001.0


@pytest.mark.slow
def test_million_node_chain_pickles(chain: tuple[Node, Node]) -> None:
    _, y = chain
    clone = pickle.loads(pickle.dumps(y, protocol=pickle.HIGHEST_PROTOCOL))
    assert clone.data == -1.0 and len(clone.tape) == len(y.tape)
    del clone
    gc.collect()


def test_fan_out_100k() -> None:
    with fnad.Tape():
        x = Node(2.0, label="x")
        terms = [x * float(i) for i in range(100_000)]
        total = sum(terms, Node(0.0))
        assert total.backward()[x] == sum(range(100_000))
        assert total.tape.graph.out_degree(x) == 100_000


def test_fan_in_100k_balanced_tree() -> None:
    with fnad.Tape():
        leaves = [Node(float(i % 7)) for i in range(100_000)]
        level = list(leaves)
        while len(level) > 1:
            level = [
                level[i] * level[i + 1] if i + 1 < len(level) else level[i]
                for i in range(0, len(level), 2)
            ]
            level = [node.tanh() for node in level]
        grads = level[0].backward()
        assert len(grads) >= 100_000
        assert all(leaf in grads for leaf in leaves[:100])


@pytest.mark.slow
def test_million_node_chain_exports_replays_and_renders(
    chain: tuple[Node, Node], tmp_path: Path
) -> None:
    _, y = chain
    program = fnad.from_json(fnad.to_json(y))
    result = program.value_and_grad(x=2.0)
    assert result.value == -2.0 and result.grads["x"] == -1.0
    del program
    need_dot()
    need_graphviz_package()
    svg = fnad.render(y, tmp_path / "chain.svg")  # collapsed to the vertices nearest y
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_the_default_limits_read_back_every_export_within_max_vertices(tmp_path: Path) -> None:
    """Measured on a small graph as long per vertex as fnad writes them, scaled to the limit."""
    n = 4000
    with fnad.Tape():
        values = [Node(0.1234567890123456, label="L" * 32), Node(-0.9876543210987654)]
        for i in range(n):  # binary ops on two ops each, 17-digit values: the longest lines
            a, b = values[-2], values[-1]
            step = a - b if i % 2 else a / b
            values.append(step)
        z = values[-1]
    vertices = len(fnad.to_networkx(z))
    graphml = tmp_path / "g.graphml"
    fnad.to_graphml(z, graphml)
    label_room = 32  # a label of 32 characters on every vertex
    id_room = 3 * 5  # ids grow to 7 digits at 2,000,000 vertices: 5 per vertex, 3 more each
    for size in (len(fnad.to_json(z)), graphml.stat().st_size):
        per_vertex = size / vertices + label_room + id_room
        assert per_vertex * fnad.compiled.load.MAX_VERTICES <= fnad.compiled.load.MAX_BYTES


@pytest.mark.slow
def test_million_node_chain_round_trips_through_graphml(
    chain: tuple[Node, Node], tmp_path: Path
) -> None:
    """The 1M chain's GraphML is 333 MiB, above the old 256 MiB default: it reads back."""
    _, y = chain
    path = tmp_path / "chain.graphml"
    fnad.to_graphml(y, path)
    assert path.stat().st_size > 256 * 2**20
    program = fnad.from_graphml(path)
    assert len(program) == MILLION and program.input_names == ("x",) and program.value == -1.0
    path.unlink()
