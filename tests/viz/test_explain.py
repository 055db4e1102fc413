"""explain(z, x): paths from x to z with products of local derivatives, summing to x.grad."""

from __future__ import annotations

import itertools
import math
import time

import networkx as nx
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

import fnad
from fnad import Node, explain, to_networkx
from tests.export_strategies import Expr, expressions
from tests.graphs import seed


def test_seed_example_dz_dx_is_y_plus_2x() -> None:
    z, x, y = seed()
    e = explain(z, x)
    assert [p.product for p in e.paths] == [4.0, 3.0]  # 2x·1·1, then y·1·1
    assert [p.factors for p in e.paths] == [(4.0, 1.0, 1.0), (3.0, 1.0, 1.0)]
    assert [[n.op for n in p.nodes] for p in e.paths] == [
        ["", "pow", "add", "add"],
        ["", "mul", "add", "add"],
    ]
    assert e.paths[0].ids == (0, 4, 5, 7)  # the vertex ids of to_networkx / to_json
    assert e.grad == 7.0 and e.total_paths == 2 and not e.truncated and e.rest == 0.0
    assert str(e) == (
        "∂z/∂x = 7, the sum over 2 paths from x to z of the product of the local "
        "derivatives along each path (largest first):\n"
        "  4  =  x ─[4]→ pow ─[1]→ add ─[1]→ z\n"
        "  3  =  x ─[3]→ mul ─[1]→ add ─[1]→ z"
    )
    assert [p.product for p in explain(z, y)] == [2.0, 1.0]  # x·1·1 and relu'(3)·1
    z.backward()
    assert e.grad == x.grad


def test_explain_leaves_the_recorded_gradients_alone() -> None:
    z, x, y = seed()
    w = x * 5.0
    w.backward()
    explain(z, x)
    assert x.grad == 5.0 and y.grad == 0.0


def test_no_path_means_zero() -> None:
    with fnad.Tape():
        x, y = Node(1.0, label="x"), Node(2.0, label="y")
        z = y.exp()
    e = explain(z, x)
    assert (e.grad, e.paths, e.total_paths) == (0.0, (), 0)
    assert str(e) == "∂z/∂x = 0: z does not depend on x (no path from it)"


def test_explain_output_with_respect_to_itself() -> None:
    z, _, _ = seed()
    e = explain(z, z)
    assert e.total_paths == 1 and e.paths[0].product == 1.0 and e.paths[0].factors == ()


def test_the_output_is_named_by_its_label() -> None:
    z, x, y = seed()
    f = z.with_label("f")
    assert str(explain(f, x)) == (
        "∂f/∂x = 7, the sum over 2 paths from x to f of the product of the local "
        "derivatives along each path (largest first):\n"
        "  4  =  x ─[4]→ pow ─[1]→ add ─[1]→ f\n"
        "  3  =  x ─[3]→ mul ─[1]→ add ─[1]→ f"
    )
    assert explain(f, y).names == ("f", "y")
    with fnad.Tape():  # a labelled intermediate is named on the path too
        a, b = Node(2.0, label="a"), Node(-3.0, label="b")
        e = (a * b).with_label("e")
        d = (e + a).with_label("d")
    assert str(explain(d, a)).splitlines()[1:] == [
        "  -3  =  a ─[-3]→ e ─[1]→ d",
        "   1  =  a ─[1]→ d",
    ]
    with fnad.Tape():  # an output that is a labelled leaf
        w = Node(4.0, label="w")
    assert str(explain(w, w)) == (
        "∂w/∂w = 1, the sum over 1 path from w to w of the product of the local derivatives "
        "along each path (largest first):\n  1  =  w"
    )


def test_unlabelled_output_and_input_get_names_no_label_has() -> None:
    with fnad.Tape():
        x, z = Node(1.0, label="x"), Node(2.0, label="z")
        free = Node(3.0)
        assert explain(x * free, x).names == ("z", "x")
        assert explain(x * free, free).names == ("z", "v")  # a vertex is labelled x
        assert explain(z * x, z).names == ("f", "z")  # a vertex is labelled z
        f = Node(5.0, label="f")
        assert explain(z * f, f).names == ("output", "f")
        assert explain(z * x * free, free).names == ("f", "v")  # x is taken
        assert explain(x * x, x).names == ("z", "x")
        assert explain(free * free, free).names == ("z", "x")
        product = x * free
        assert explain(product, product).names == ("z", "z")  # one node, one name
        crowded = [Node(1.0, label=name) for name in ("z", "f", "output", "x", "v")]
        total = crowded[0] + crowded[1] + crowded[2] + crowded[3] + crowded[4] + free
    # every name is taken: the vertex ids of fnad.to_networkx(total) tell them apart
    assert explain(total, free).names == ("output #10", "v #0")
    assert fnad.to_networkx(total).nodes[0]["data"] == 3.0
    text = str(explain(z * x, z))
    assert text.startswith("∂f/∂z = 1, the sum over 1 path from z to f")
    assert text.endswith("  1  =  z ─[1]→ f")


def test_exponentially_many_paths_are_counted_not_enumerated() -> None:
    with fnad.Tape():
        x = Node(0.5, label="x")
        a = x
        for _ in range(64):
            a = a.sin() + a.cos()  # two paths through every layer
    start = time.perf_counter()
    e = explain(a, x)
    assert time.perf_counter() - start < 5.0
    assert e.total_paths == 2**64 and len(e.paths) == 20 and e.truncated
    assert e.grad == a.backward()[x]
    assert e.shown_sum + e.rest == pytest.approx(e.grad)
    text = str(e)
    assert "showing the 20 largest of 18,446,744,073,709,551,616 paths" in text
    assert "the other 18,446,744,073,709,551,596 add up to" in text


def test_a_repeated_argument_is_one_edge_whose_factor_sums_its_positions() -> None:
    with fnad.Tape():
        x = Node(3.0, label="x")
        z = x * x
    e = explain(z, x)
    assert e.total_paths == 1 and e.paths[0].factors == (6.0,)  # x + x


def test_largest_first_and_the_top_k_are_the_true_top_k() -> None:
    with fnad.Tape():
        x = Node(1.0, label="x")
        parts = [x * float(k) for k in (3, -7, 1, 5, -2)]
        z = parts[0]
        for p in parts[1:]:
            z = z + p
    e = explain(z, x, max_paths=3)
    assert [p.product for p in e.paths] == [-7.0, 5.0, 3.0]
    assert e.total_paths == 5 and e.rest == -1.0
    assert "the other 2 add up to -1" in str(e)


def test_long_paths_are_shortened_in_print() -> None:
    with fnad.Tape():
        x = Node(0.5, label="x")
        y = x
        for _ in range(50):
            y = y.sin()
    text = str(explain(y, x))
    assert "… 38 more hops …" in text and text.count("─[") == 12


def test_bad_arguments() -> None:
    z, x, _ = seed()
    with pytest.raises(fnad.OperandTypeError, match=r"second argument must be a fnad\.Node"):
        explain(z, 2.0)  # type: ignore[arg-type]
    with pytest.raises(fnad.OperandTypeError, match="max_paths must be a positive int"):
        explain(z, x, max_paths=0)
    with fnad.Tape():
        other = Node(1.0, label="o")
    with pytest.raises(fnad.TapeError, match="another tape"):
        explain(z, other)


def _path_products(graph: nx.DiGraph[int], source: int, target: int) -> list[float]:
    products = []
    for path in nx.all_simple_paths(graph, source, target):
        product = 1.0
        for u, v in itertools.pairwise(path):
            product *= graph.edges[u, v]["partial"]
        products.append(product)
    return products


@given(expressions(specials=False), st.integers(1, 4))
@example(
    expr=Expr(
        leaves=(("x", 0.0),),
        steps=(
            ("neg", (0,)),
            ("neg", (0,)),
            ("add", (0, 0.938)),
            ("add", (1, 1)),
            ("truediv", (3, 3)),
            ("add", (3, 3)),
            ("exp", (5,)),
        ),
    ),
    k=1,
)
def test_random_dags_paths_sum_to_the_gradient(expr: Expr, k: int) -> None:
    z, leaves = expr.build()
    grads = z.backward()
    graph = to_networkx(z)
    partials: list[float] = [d["partial"] for _, _, d in graph.edges(data=True)]
    assume(all(math.isfinite(p) for p in partials))
    assume(math.isfinite(z.data))
    for leaf in leaves:
        e = explain(z, leaf)
        if leaf not in grads:
            assert e.total_paths == 0 and e.grad == 0.0
            continue
        assert e.grad == grads[leaf]  # bit for bit
        source = e.paths[0].ids[0]
        expected = _path_products(graph, source, graph.graph["output"])
        assert e.total_paths == len(expected) == len(e.paths)
        products = [p.product for p in e.paths]
        assert sorted(products) == pytest.approx(sorted(expected))
        magnitudes = [abs(p) for p in products]
        assert magnitudes == sorted(magnitudes, reverse=True)
        scale = math.fsum(abs(p) for p in products)
        assume(math.isfinite(scale))
        # An edge's partial sums its argument positions (x/x: 1/x - x/x² = 0), while backward
        # adds the positions one by one: where that cancellation leaves only rounding noise
        # (~1e-16), the two differ by noise of the size of the terms that cancelled.
        assert abs(e.shown_sum - e.grad) <= 1e-9 * (scale + 1e-300) + 1e-12
        for path in e.paths:
            assert path.nodes[0] is leaf and path.nodes[-1] is z
            assert len(path.factors) == len(path.nodes) - 1
        # with a smaller budget, the listed paths are the k largest of them all
        top = explain(z, leaf, max_paths=k)
        assert [abs(p.product) for p in top.paths] == pytest.approx(
            sorted((abs(p) for p in expected), reverse=True)[:k]
        )
        assert top.total_paths == len(expected)
