"""Points per second: one batch, a pool of processes, a Dask cluster (docs/scale.md's figures).

The program is the decision-boundary program of issue 19: micrograd's moons network
(2-16-16-1, 979 vertices) as a function of its two inputs, values and input gradients.
Everything runs in this one process or on this machine, side by side, GC on; each figure is
the median of ``--repeats`` runs after one warm-up run.

(a) ``Program.batch`` in this process, at N points (its default chunks), after (a') the
    per-point replay (``prog.evaluate`` in a loop) for scale;
(b) a ``ProcessPoolExecutor`` of 2 spawned workers: the N points split in blocks, each
    block one ``Program.batch`` call in a worker (the program and the points are pickled
    to the workers, the results back);
(c) ``fnad.compiled.cluster.batch_dask`` on Dask's threaded scheduler, 2 threads, in this
    process (NumPy releases the GIL inside each operation);
(d) ``batch_dask`` on a ``dask.distributed.LocalCluster`` of 2 worker processes (one
    thread each) on 127.0.0.1; the points live on the workers (generated and persisted
    there first), the results come back to this process.

For (b)–(d) the start-up (spawning the pool, starting the cluster) is reported apart: it
is paid once per session, not per batch.

Run ``python benchmarks/scale.py`` (``--points 200000 --repeats 1`` for a quick look).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

import fnad
from fnad import Program
from fnad.compiled.cluster import WORKER_CONFIG, batch_dask
from fnad.nn.model import MLP

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for spawned workers


def decision_program() -> Program:
    model = MLP(2, [16, 16, 1], seed=0)
    return fnad.compile(lambda x, y: model.trace()((x, y)), 0.0, 0.0)


def grid(n: int) -> Any:
    return np.random.default_rng(0).uniform(-2.0, 2.0, size=(n, 2))


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    assert gc.isenabled()
    run()  # warm-up: plans, imports, worker caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} points/s  ({seconds * 1e3:8.1f} ms)"


def block_batch(program: Program, points: Any) -> Any:
    """What a pool worker runs: one block's values and gradients."""
    result = program.batch(points)
    return result.values, result.gradient


def one_process(program: Program, sizes: Sequence[int], repeats: int) -> float:
    n = 2_000
    rows = grid(n).tolist()
    seconds = median_seconds(lambda: [program.evaluate(row) for row in rows], repeats)
    print(f"(a') per-point replay, prog.evaluate in a loop, N = {n:,}: {rate(n, seconds)}")
    print("(a) Program.batch in this process")
    last = 0.0
    for n in sizes:
        X = grid(n)
        last = median_seconds(lambda X=X: program.batch(X), repeats)
        print(f"    N = {n:>9,}: {rate(n, last)}")
    return last


def process_pool(program: Program, n: int, blocks: Sequence[int], repeats: int) -> None:
    print("(b) ProcessPoolExecutor, 2 spawned workers, one Program.batch per block")
    X = grid(n)
    start = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        list(pool.map(block_batch, [program, program], [X[:10], X[10:20]]))
        print(
            f"    start-up (spawn 2 workers, import fnad, first program): "
            f"{time.perf_counter() - start:.2f} s"
        )
        for size in blocks:
            parts = [X[i : i + size] for i in range(0, n, size)]

            def run(parts: list[Any] = parts) -> object:
                return list(pool.map(block_batch, [program] * len(parts), parts))

            print(f"    N = {n:,}, blocks of {size:>9,}: {rate(n, median_seconds(run, repeats))}")


def dask_threads(program: Program, n: int, rows: Sequence[int], repeats: int) -> None:
    import dask.array as da

    print("(c) batch_dask, Dask's threaded scheduler, 2 threads in this process")
    X = grid(n)
    for size in rows:
        lazy = batch_dask(program, da.from_array(X, chunks=(size, 2)))
        seconds = median_seconds(
            lambda lazy=lazy: lazy.compute(scheduler="threads", num_workers=2), repeats
        )
        print(f"    N = {n:,}, {size:>9,} points a task: {rate(n, seconds)}")


def dask_cluster(
    program: Program, n: int, rows: Sequence[int], repeats: int, *, tuned: bool
) -> None:
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait

    print(
        "(d) batch_dask on a LocalCluster: 2 worker processes, 1 thread each, "
        + ("under WORKER_CONFIG" if tuned else "Dask's default worker settings")
    )
    start = time.perf_counter()
    with (
        dask.config.set(WORKER_CONFIG if tuned else {}),
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"    start-up (scheduler, 2 workers): {time.perf_counter() - start:.2f} s")
        for size in rows:
            lazy_points = da.random.default_rng(0).uniform(-2.0, 2.0, size=(n, 2), chunks=(size, 2))
            points = client.persist(lazy_points)
            wait(points)
            lazy = batch_dask(program, points)
            seconds = median_seconds(lazy.compute, repeats)
            print(f"    N = {n:,}, {size:>9,} points a task: {rate(n, seconds)}")
            del points


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    n, repeats = args.points, args.repeats
    program = decision_program()
    print(f"decision-boundary program: {program!r}; N = {n:,}; median of {repeats} runs\n")
    sizes = [s for s in (100, 1_000, 10_000, 100_000, 1_000_000) if s < n] + [n]
    one_process(program, sizes, repeats)
    blocks = [s for s in (10_000, 100_000, n // 2) if s <= n // 2]
    process_pool(program, n, blocks, repeats)
    dask_threads(program, n, blocks, repeats)
    rows = [s for s in (10_000, 50_000, 125_000, n // 2) if s <= n // 2]
    dask_cluster(program, n, rows, repeats, tuned=True)
    dask_cluster(program, n, rows[-2:-1], repeats, tuned=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
