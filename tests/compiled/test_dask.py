# mypy: disable-error-code="no-untyped-call"
# (Dask's array and distributed APIs are not annotated.)
"""fnad.compiled.cluster.batch_dask: Program.batch over a dask array, block by block, on
Dask's schedulers (this process, and a LocalCluster of worker processes), with the results
of the local batch bit for bit."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster

import fnad
from fnad import Node, Program
from fnad.compiled.batch import BatchResult
from fnad.compiled.cluster import WORKER_CONFIG, DaskBatch, DaskMissingError, batch_dask
from fnad.nn.model import MLP
from tests.compiled import pickle_helpers as helpers

SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -1e-310, 1e300]


def same_result(a: BatchResult, b: BatchResult) -> None:
    """Bit for bit: the bytes of every array (so -0.0, nan payloads and shapes count)."""
    assert a.input_names == b.input_names
    for name in ("values", "gradient", "aux"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
            continue
        assert x.shape == y.shape and x.dtype == y.dtype, name
        assert x.tobytes() == y.tobytes(), name


def points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3.0, 3.0, size=(n, 2))
    X[: len(SPECIALS), 0] = SPECIALS  # IEEE specials and subnormals in the first block
    X[: len(SPECIALS), 1] = SPECIALS[::-1]
    return X


def decision_program(seed: int = 0) -> Program:
    """micrograd's moons network (2-16-16-1) as a function of its two inputs."""
    model = MLP(2, [16, 16, 1], seed=seed)
    return fnad.compile(lambda x, y: model.trace()([x, y]), 0.0, 0.0)


def aux_program() -> Program:
    def f(x: Node, y: Node) -> tuple[Node, list[Node]]:
        s = x * y
        return s.tanh() + y, [s, x.relu()]

    return fnad.compile(f, 0.0, 0.0, has_aux=True)


# --------------------------------------------------------------------------- in this process


@pytest.mark.parametrize("gradient", [True, False])
@pytest.mark.parametrize("make", [helpers.compiled_network, aux_program, decision_program])
def test_blocks_give_the_local_batch_bit_for_bit(make: object, gradient: bool) -> None:
    program = make()  # type: ignore[operator]
    X = points(1000)
    lazy = batch_dask(program, da.from_array(X, chunks=(137, 1)), gradient=gradient)
    assert isinstance(lazy, DaskBatch)
    assert lazy.values.shape == (1000,) and lazy.values.numblocks == (8,)
    same_result(lazy.compute(scheduler="synchronous"), program.batch(X, gradient=gradient))
    same_result(lazy.compute(scheduler="threads"), program.batch(X, gradient=gradient))


def test_rows_rechunks_and_chunk_reaches_the_batch() -> None:
    program = helpers.compiled_network()
    X = points(500)
    lazy = batch_dask(program, X, rows=64, chunk=7)
    assert lazy.values.chunks == ((64,) * 7 + (52,),)
    same_result(lazy.compute(scheduler="synchronous"), program.batch(X, chunk=7))
    one = batch_dask(program, da.from_array(X, chunks=(500, 2)), rows=100)
    assert one.values.numblocks == (5,)


def test_the_arrays_share_their_tasks() -> None:
    program = helpers.compiled_network()
    lazy = batch_dask(program, points(40), rows=10)
    assert lazy.gradient is not None
    graph = dict(lazy.gradient.__dask_graph__())
    assert set(lazy.values.__dask_graph__()) & set(graph)  # the blocks are the same tasks
    assert lazy.gradient.shape == (40, 2) and lazy.aux.shape == (40, 0)


def test_mistakes_are_typed_errors_that_name_the_shapes() -> None:
    program = helpers.compiled_network()
    with pytest.raises(fnad.ReplayInputError, match=r"shape \(10, 3\), expected \(N, 2\)"):
        batch_dask(program, da.zeros((10, 3), chunks=5))
    with pytest.raises(fnad.ReplayInputError, match=r"shape \(10,\), expected \(N, 2\)"):
        batch_dask(program, da.zeros(10, chunks=5))
    with pytest.raises(fnad.ReplayInputError, match=r"not a dask array; pass dask\.array"):
        batch_dask(program, points(10))
    with pytest.raises(fnad.ReplayInputError, match="rows must be a whole number"):
        batch_dask(program, points(10), rows=0)
    with pytest.raises(fnad.ReplayInputError, match=r"must be a fnad\.Program"):
        batch_dask(lambda x: x, da.zeros((2, 1), chunks=1))  # type: ignore[arg-type]


def test_without_dask_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.array", None)  # what an uninstalled module does
    with pytest.raises(DaskMissingError, match=r"pip install 'fnad\[dask\]'") as caught:
        batch_dask(helpers.compiled_network(), points(10), rows=2)
    assert isinstance(caught.value, ImportError)


# --------------------------------------------------------------------------- a cluster


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Two worker processes on this machine, on the loopback interface only (no network
    needed), no dashboard, scratch files in a temporary folder; closed after the module."""
    scratch: Path = tmp_path_factory.mktemp("dask")
    with (
        dask.config.set(WORKER_CONFIG),
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
            local_directory=str(scratch),
        ) as cluster,
        Client(cluster) as client,
    ):
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield client
    assert cluster.status.name == "closed"


def on_cluster(client: Client, program: Program, n: int, rows: int) -> tuple[np.ndarray, DaskBatch]:
    # The points are made on the workers (nothing large travels in the task graph), then
    # fetched once for the local batch to compare with.
    lazy_points = da.random.default_rng(7).uniform(-3.0, 3.0, size=(n, 2), chunks=(rows, 2))
    X = client.compute(lazy_points).result()
    return X, batch_dask(program, lazy_points)


def test_a_local_cluster_gives_the_local_batch_bit_for_bit(client: Client) -> None:
    program = helpers.compiled_network()  # a custom op: workers import its module
    X, lazy = on_cluster(client, program, 4_000, 2_000)
    result = lazy.compute()
    same_result(result, program.batch(X))
    workers = client.run(lambda: "tests.compiled.pickle_helpers" in __import__("sys").modules)
    assert len(workers) == 2 and all(workers.values())
    environ = client.run(lambda: __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert set(environ.values()) == {str(1 << 30)}  # WORKER_CONFIG reached the workers


@pytest.mark.slow
def test_a_million_points_on_a_local_cluster(client: Client) -> None:
    program = decision_program(seed=3)
    X, lazy = on_cluster(client, program, 1_000_000, 125_000)
    result = lazy.compute()
    assert result.values.shape == (1_000_000,)
    same_result(result, program.batch(X))
