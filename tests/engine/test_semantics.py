"""The contract of DESIGN.md points 2, 4 and 5: immutability, identity, scoping, backward."""

from __future__ import annotations

import asyncio
import copy
import gc
import math
import pickle
import threading
import tracemalloc

import attrs
import networkx as nx
import pytest

import fnad
from fnad import Node
from fnad.engine import tape as tape_module

# --------------------------------------------------------------------------- immutability


@pytest.mark.parametrize(
    "name", ["data", "grad", "op", "label", "prev", "inputs", "tape", "backward", "anything"]
)
def test_every_attribute_is_frozen(name: str) -> None:
    with fnad.Tape():
        x = Node(1.0, label="x")
        y = x + 1
    for node in (x, y):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(node, name, 5.0)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            delattr(node, name)
    assert (x.data, x.label, y.data) == (1.0, "x", 2.0)


def test_gradients_mapping_is_immutable() -> None:
    with fnad.Tape():
        x = Node(1.0)
        grads = (x * 2).backward()
    with pytest.raises(TypeError):
        grads[x] = 3.0  # type: ignore[index]
    assert not hasattr(grads, "__setitem__")


def test_identity_semantics() -> None:
    with fnad.Tape():
        a, b = Node(2.0), Node(2.0)
    assert a == a and a != b
    assert len({a, b, a}) == 2
    assert {a: 1}.get(b) is None


def test_repr_does_not_walk_the_graph() -> None:
    with fnad.Tape():
        x = Node(1.5, label="x")
        y = x
        for _ in range(1000):
            y = y * 1.0
    assert repr(x) == "Node(data=1.5, grad=0.0, label='x')"
    assert repr(y) == "Node(data=1.5, grad=0.0, op='mul')"
    assert len(repr(y)) < 80


# --------------------------------------------------------------------------- tapes


def test_with_tape_makes_a_fresh_tape_current() -> None:
    outer = fnad.current_tape()
    with fnad.Tape() as tape:
        assert fnad.current_tape() is tape
        x = Node(1.0)
        with fnad.Tape() as inner:
            assert fnad.current_tape() is inner
            y = Node(2.0)
        assert fnad.current_tape() is tape
    assert fnad.current_tape() is outer
    assert x.tape is tape and y.tape is inner
    assert len(tape) == 1 and len(inner) == 1


def test_sequential_tapes_are_independent() -> None:
    results = []
    for value in (1.0, 2.0, 3.0):
        with fnad.Tape() as tape:
            x = Node(value)
            y = x * x
            results.append((y.backward()[x], len(tape)))
    assert results == [(2.0, 2), (4.0, 2), (6.0, 2)]


def test_ops_on_nodes_go_to_their_own_tape() -> None:
    with fnad.Tape() as first:
        x = Node(2.0)
    with fnad.Tape() as second:
        y = x * 3  # the operands' tape, not the current one
    assert y.tape is first and len(second) == 0


def test_mixing_tapes_is_a_tape_error_that_says_how_to_fix_it() -> None:
    with fnad.Tape() as first:
        x = Node(2.0, label="x")
    with fnad.Tape() as second:
        y = Node(3.0, label="y")
    sizes = (len(first), len(second))
    with pytest.raises(fnad.TapeError) as caught:
        x * y
    message = str(caught.value)
    assert "'y'" in message and "with fnad.Tape()" in message and "mul" in message
    assert isinstance(caught.value, ValueError)
    assert (len(first), len(second)) == sizes
    with pytest.raises(fnad.TapeError):
        first.apply("add", x, y)
    with pytest.raises(fnad.TapeError):
        second.backward(x)


def test_each_thread_has_its_own_default_tape() -> None:
    seen: list[fnad.Tape] = []

    def work() -> None:
        seen.append(fnad.current_tape())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(t) for t in seen}) == 4


def test_each_asyncio_task_scopes_its_own_tape() -> None:
    async def step(value: float) -> tuple[float, int]:
        with fnad.Tape() as tape:
            x = Node(value)
            await asyncio.sleep(0)
            y = x * x * x
            await asyncio.sleep(0)
            return y.backward()[x], len(tape)

    async def main() -> list[tuple[float, int]]:
        return list(await asyncio.gather(*(step(v) for v in (1.0, 2.0, 3.0))))

    assert asyncio.run(main()) == [(3.0, 3), (12.0, 3), (27.0, 3)]


def test_one_tape_entered_by_overlapping_asyncio_tasks() -> None:
    # Issue 14.5: the tokens of `with tape:` were one list on the tape, so two tasks inside
    # one tape's block at once reset each other's tokens ("created in a different Context").
    tape = fnad.Tape()

    async def step(value: float, pause: float) -> Node:
        with tape:
            await asyncio.sleep(pause)
            x = Node(value)
            await asyncio.sleep(pause)
            assert fnad.current_tape() is tape
            return x * x

    async def main() -> tuple[list[Node], fnad.Tape]:
        outer = fnad.current_tape()
        results = list(await asyncio.gather(step(2.0, 0.01), step(3.0, 0.02), step(4.0, 0)))
        assert fnad.current_tape() is outer
        return results, outer

    results, outer = asyncio.run(main())
    assert [y.data for y in results] == [4.0, 9.0, 16.0]
    assert all(y.tape is tape for y in results) and len(tape) == 6
    assert outer is not tape


def test_one_tape_entered_by_several_threads_restores_each_threads_tape() -> None:
    tape = fnad.Tape()
    barrier = threading.Barrier(3)
    seen: list[bool] = []

    def work() -> None:
        before = fnad.current_tape()
        with tape:
            barrier.wait()
            seen.append(fnad.current_tape() is tape)
            barrier.wait()
        seen.append(fnad.current_tape() is before)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [True] * 6


def test_a_tape_block_must_end_where_it_began() -> None:
    first, second = fnad.Tape(), fnad.Tape()
    before = fnad.current_tape()
    first.__enter__()
    second.__enter__()
    with pytest.raises(fnad.TapeError, match="innermost"):
        first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    first.__exit__(None, None, None)
    assert fnad.current_tape() is before

    async def leave() -> None:
        second.__exit__(None, None, None)  # entered by the task that created this one

    async def main() -> None:
        with second:
            with pytest.raises(fnad.TapeError, match="task that began it"):
                await asyncio.create_task(leave())
            assert fnad.current_tape() is second

    asyncio.run(main())
    assert fnad.current_tape() is before


# --------------------------------------------------------------------------- backward


def test_second_backward_replaces_instead_of_accumulating() -> None:
    with fnad.Tape():
        x = Node(3.0)
        y = x * x * x
        y.backward()
        y.backward()
    assert x.grad == 27.0


def test_backward_from_an_intermediate_node_resets_the_others_to_zero() -> None:
    with fnad.Tape() as tape:
        x, w = Node(2.0, label="x"), Node(5.0, label="w")
        h = x * x
        z = h * w
        z.backward()
        assert (x.grad, w.grad, h.grad) == (20.0, 4.0, 5.0)
        assert tape.graph.nodes[w]["grad"] == 4.0
        h.backward()
        assert (x.grad, h.grad, z.grad) == (4.0, 1.0, 0.0)
        assert w.grad == 0.0  # h does not depend on w
        assert "grad" not in tape.graph.nodes[w]
        assert tape.graph.nodes[x]["grad"] == 4.0


def test_gradients_mapping_contents() -> None:
    with fnad.Tape():
        x, unused = Node(2.0, label="x"), Node(1.0, label="unused")
        y = x * 3
        grads = y.backward()
    assert set(grads) == {x, y}  # the constant 3 is not a variable: no gradient
    assert len(grads) == 2 and x in grads and unused not in grads
    assert grads.get(unused, 0.0) == 0.0 and unused.grad == 0.0
    with pytest.raises(KeyError, match="not an ancestor"):
        grads[unused]
    with pytest.raises(KeyError, match=r"constant .* gets no gradient"):
        grads[y.inputs[1]]
    assert grads.output is y


def test_constants_get_no_gradient_so_no_nan_from_a_negative_base() -> None:
    """x**2 at x < 0: d/d(exponent) is nan (log of a negative base), but the exponent is a
    constant, so backward never reports it, strict mode included (issue 11)."""
    with fnad.Tape():
        x = Node(-3.0, label="x")
        y = x**2
        with fnad.strict():
            grads = y.backward()
            node_grads = y.backward(create_graph=True)
    assert dict(grads) == {y: 1.0, x: -6.0}
    assert set(node_grads) == {y, x} and node_grads[x].data == -6.0
    assert y.inputs[1].grad == 0.0


def test_a_gradient_that_is_minus_zero_stays_minus_zero() -> None:
    """Accumulation starts from the IEEE additive identity -0.0, as PyTorch's does."""
    with fnad.Tape():
        x = Node(0.0)
        y = x * -0.0
        z = -(Node(1.0) * x)
    assert math.copysign(1.0, y.backward()[x]) == -1.0
    assert math.copysign(1.0, z.backward()[x]) == -1.0


def test_edge_data_cannot_be_changed_through_a_tape_graph() -> None:
    """Edge attribute mappings are shared between tapes to save memory, so they are
    read-only: writing through one tape's graph must not change another (issue 10)."""
    with fnad.Tape() as t1:
        a = Node(1.0)
        b = -a
    with pytest.raises(TypeError):
        t1.graph.edges[a, b]["positions"] = (7,)
    with fnad.Tape() as t2:
        x = Node(2.0)
        y = x.tanh()
    assert t2.graph.edges[x, y] == {"positions": (0,)}


def test_ancestors_graph_cannot_corrupt_the_tape() -> None:
    """The public subgraph shares the tape's storage, so it is frozen (issue 10)."""
    with fnad.Tape() as tape:
        x = Node(2.0)
        y = x * 3
        z = y + 1
    sub = tape.ancestors_graph(z)
    with pytest.raises(nx.NetworkXError, match="Frozen"):
        sub.add_edge(z, x)
    with pytest.raises(nx.NetworkXError, match="Frozen"):
        sub.remove_node(y)
    assert z.backward()[x] == 3.0
    assert nx.is_directed_acyclic_graph(tape.graph)


def test_replacing_a_rule_does_not_change_a_recorded_graph() -> None:
    """A graph differentiates with the rules it was built with (issue 14, item 7)."""
    with fnad.isolated_rules() as table:
        fnad.defop("demo.twice", impl=lambda v: 2 * v, partials=lambda v, out: (2.0,))
        with fnad.Tape() as tape:
            x = Node(3.0)
            old = fnad.current_rules()["demo.twice"]
            y = tape.apply("demo.twice", x)
        fnad.defop("demo.twice", impl=lambda v: 3 * v, partials=lambda v, out: (3.0,), replace=True)
        assert table["demo.twice"] is not old
        z = tape.apply("demo.twice", x)  # the tape keeps the rule it used first
        assert (y.data, z.data, y.backward()[x]) == (6.0, 6.0, 2.0)
        with fnad.Tape():
            w = Node(3.0)
            assert fnad.Tape().rules is table
            v = w.tape.apply("demo.twice", w)
        assert (v.data, v.backward()[w]) == (9.0, 3.0)


def test_const_is_a_reserved_op_name() -> None:
    with pytest.raises(fnad.RuleError, match="reserved"):
        fnad.Rule("const", 1, lambda v: v, lambda v, out: (1.0,))
    with fnad.isolated_rules(), pytest.raises(fnad.RuleError, match="reserved"):
        fnad.defop("const", impl=lambda v: v, partials=lambda v, out: (1.0,))


def test_backward_cost_does_not_depend_on_the_rest_of_the_tape() -> None:
    """Only the output's ancestors are visited (wall-clock is measured in benchmarks/)."""
    with fnad.Tape() as tape:
        noise = Node(0.0)
        for _ in range(20_000):
            noise = noise + 1.0
        x = Node(2.0)
        y = x * x
    assert len(tape.ancestors_graph(y)) == 2
    assert y.backward()[x] == 4.0


def test_create_graph_gives_differentiable_gradients() -> None:
    with fnad.Tape():
        x = Node(2.0)
        y = x * x * x
        dy = y.backward(create_graph=True)[x]
        assert isinstance(dy, Node) and dy.data == 12.0
        assert x.grad == 12.0
        d2y = dy.backward(create_graph=True)[x]
        assert d2y.data == 12.0
        d3y = d2y.backward()[x]
        assert d3y == 6.0


# --------------------------------------------------------------------------- pickling


def test_pickle_and_deepcopy_round_trip_the_whole_tape() -> None:
    with fnad.Tape():
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        z = x * y + x**2 + y.relu()
        z.backward()
    for clone in (pickle.loads(pickle.dumps(z)), copy.deepcopy(z)):
        assert clone is not z and clone.data == 13.0 and clone.op == z.op
        assert clone.tape is not z.tape and len(clone.tape) == len(z.tape)
        assert clone.grad == 1.0
        leaves = {n.label: n for n in clone.tape.graph if n.label}
        assert (leaves["x"].grad, leaves["y"].grad) == (7.0, 3.0)
        grads = clone.backward()
        assert grads[leaves["x"]] == 7.0
    assert copy.copy(z) is z


def test_pickling_two_nodes_of_one_tape_keeps_them_on_one_tape() -> None:
    with fnad.Tape():
        x = Node(1.0, label="x")
        y = x + 1
    x2, y2 = pickle.loads(pickle.dumps((x, y)))
    assert x2.tape is y2.tape and y2.inputs[0] is x2


@pytest.mark.parametrize("old", ["fnad.core", "fnad.engine.core"])
def test_a_pickle_that_names_the_engines_old_module_still_loads(old: str) -> None:
    """Tapes pickled before they pickled as tables (flat columns rebuilt by
    ``_restore_tape`` of fnad.core, then of fnad.engine.core) still load."""

    class Legacy:  # what Tape.__reduce__ returned then: y = x * x after y.backward()
        def __reduce__(self) -> tuple[object, tuple[object, ...]]:
            columns = ([3.0, 9.0], ["", "mul"], ["x", ""], [0, 2], [0, 0])
            return tape_module._restore_tape, (columns, ([0, 1], [6.0, 1.0]))

    data = pickle.dumps(Legacy(), protocol=2)  # protocol 2 spells a function's module as text
    assert b"fnad.engine.tape\n" in data
    data = data.replace(b"fnad.engine.tape\n", old.encode() + b"\n")
    with pytest.warns(DeprecationWarning, match=f"{old} moved to fnad.engine"):
        tape = pickle.loads(data)
    x, y = list(tape.graph)
    assert (x.label, y.data, y.inputs, x.grad) == ("x", 9.0, (x, x), 6.0)
    assert y.backward()[x] == 6.0


def test_a_pickled_tape_is_a_table_recorded_again() -> None:
    """A tape pickles as its GraphTable (plain columns) and comes back through record()."""
    with fnad.Tape():
        x = Node(3.0, label="x")
        y = (x * x).with_label("y")
        y.backward()
    data = pickle.dumps(y)
    assert b"GraphTable" in data and b"restore_tape" in data
    clone = pickle.loads(data)
    assert (clone.data, clone.label, clone.inputs[0].grad) == (9.0, "y", 6.0)


# --------------------------------------------------------------------------- concurrency, memory


def _training_like_step(seed: int) -> tuple[float, ...]:
    with fnad.Tape():
        xs = [Node(0.1 * (seed + i), label=f"x{i}") for i in range(8)]
        acc = xs[0]
        for i, x in enumerate(xs[1:], 1):
            acc = (acc * x + i).tanh() + x.sigmoid() * acc
        grads = acc.backward()
        return (acc.data, *(grads[x] for x in xs))


def test_threads_building_and_differentiating_concurrently_match_a_serial_run() -> None:
    seeds = list(range(64))
    serial = [_training_like_step(s) for s in seeds]
    results: dict[int, tuple[float, ...]] = {}
    barrier = threading.Barrier(8)

    def worker(offset: int) -> None:
        barrier.wait()
        for s in seeds[offset::8]:
            for _ in range(5):
                results[s] = _training_like_step(s)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[s] for s in seeds] == serial


def test_graphs_built_and_dropped_in_tape_blocks_leave_memory_flat() -> None:
    def build_and_drop(count: int) -> None:
        for i in range(count):
            with fnad.Tape():
                x = Node(float(i))
                y = (x * x + 1).tanh()
                y.backward()

    build_and_drop(200)  # warm caches
    gc.collect()
    tracemalloc.start()
    try:
        build_and_drop(1_000)
        gc.collect()
        after_1k, _ = tracemalloc.get_traced_memory()
        build_and_drop(9_000)
        gc.collect()
        after_10k, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after_10k - after_1k < 64 * 1024, (after_1k, after_10k)


# --------------------------------------------------------------------------- closing a tape


def test_a_closed_tape_forgets_its_graph_and_refuses_new_work() -> None:
    with fnad.Tape() as tape:
        x = Node(2.0, label="x")
        y = x * x + 1
        assert y.backward()[x] == 4.0
    tape.close()
    tape.close()  # harmless
    assert tape.closed and len(tape) == 0 and tape.graph.number_of_nodes() == 0
    assert (y.data, y.op, y.inputs[1].data) == (5.0, "add", 1.0)  # plain values survive
    assert x.grad == 0.0
    for attempt in (lambda: y * 2, lambda: -y, lambda: y.tanh(), lambda: y.backward()):
        with pytest.raises(fnad.TapeError, match="was closed"):
            attempt()
    with tape, pytest.raises(fnad.TapeError, match="was closed"):
        Node(1.0)
    with pytest.raises(fnad.TapeError, match="was closed"):
        pickle.dumps(y)


def _live_nodes() -> int:
    """Nodes still allocated, reachable or not: the cyclic GC is off while this is used."""
    return sum(1 for o in gc.get_objects() if type(o) is Node)


def test_closing_frees_a_step_without_the_cyclic_collector() -> None:
    def step(close: bool) -> float:
        with fnad.Tape() as tape:
            w = Node(0.5)
            loss = w
            for _ in range(200):
                loss = (loss * w + 1.0).tanh()
            slope = loss.backward()[w]
        if close:
            tape.close()
        return slope

    gc.collect()
    gc.disable()
    try:
        baseline = _live_nodes()
        for _ in range(10):
            step(close=True)
        assert _live_nodes() == baseline  # freed by reference counting alone
        for _ in range(10):
            step(close=False)
        assert _live_nodes() >= baseline + 10 * 800  # the cycles wait for the collector
    finally:
        gc.enable()
        gc.collect()


def test_transforms_and_train_step_close_their_private_tapes() -> None:
    from fnad.nn.datasets import moons
    from fnad.nn.model import MLP, train_step

    points, labels = moons(10, noise=0.1, seed=0)
    model = MLP(2, [4, 1], seed=0)
    f = lambda x, y: (x * y).tanh() + x**2
    gc.collect()
    gc.disable()
    try:
        baseline = _live_nodes()
        for _ in range(10):
            fnad.grad(f)(1.0, 2.0)
            fnad.value_and_grad(f, argnums=(0, 1))(1.0, 2.0)
            fnad.hessian(f, argnums=(0, 1))(1.0, 2.0)
            fnad.jvp(f, (1.0, 2.0), (1.0, 0.0))
            fnad.vjp(f, 1.0, 2.0)[1](1.0)
            model = train_step(model, points, labels, lr=0.1).model
        assert _live_nodes() == baseline
    finally:
        gc.enable()
        gc.collect()
    assert fnad.grad(fnad.grad(lambda x: x * x * x))(2.0) == 12.0  # nesting still works
