"""Batched replay (Program.batch) against the per-point replay, NumPy by hand and torch.

    python benchmarks/batch.py            # everything (a minute or two)
    python benchmarks/batch.py --quick    # fewer repeats

Measures the targets of batched replay (figures in docs/batch.md):

(a) the decision-boundary program — micrograd's MLP 2-16-16-1 as a function of its two
    inputs — values + input gradients at N = 10,000 points: Program.batch, today's per-point
    Program.sweep (timed on 1,000 of the points), the same network written op by op in
    NumPy by hand, and torch on batched (N, 2) tensors (if importable); one process, GC on,
    engines interleaved, medians; then each engine alone in its own process. The batch's
    results are checked against the per-point replay (bit for bit) and the others (1e-12);
(b) break-even: the batch against a loop of Program.evaluate at N = 1 ... 256;
(c) memory of a batch at N = 10k, 100k and 1M (tracemalloc peak beyond the inputs and
    results, which grow with N): bounded by the chunk, not by N.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

import fnad
from fnad import Program
from fnad.nn.model import MLP

try:
    import torch
except ImportError:  # benchmarks work without torch
    torch = None

N = 10_000
SWEEP_POINTS = 1_000
SEED = 1337

Weights = list[list[tuple[list[float], float]]]
Engine = Callable[[Any], tuple[Any, Any]]


@contextmanager
def collector(enabled: bool) -> Iterator[None]:
    was = gc.isenabled()
    gc.collect()
    (gc.enable if enabled else gc.disable)()
    try:
        yield
    finally:
        (gc.enable if was else gc.disable)()


def network() -> tuple[MLP[float], Weights]:
    model = MLP(2, [16, 16, 1], seed=SEED)
    weights = [[(list(n.w), n.b) for n in layer.neurons] for layer in model.layers]
    return model, weights


def decision_program(model: MLP[float]) -> Program:
    """The network's score as a function of its two inputs (the parameters are fixed)."""
    return fnad.compile(lambda x, y: model.trace()((x, y)), 0.0, 0.0)


def grid(n: int) -> Any:
    return np.random.default_rng(0).uniform(-2.0, 3.0, (n, 2))


# --------------------------------------------------------------------------- engines


def by_hand(weights: Weights, X: Any) -> tuple[Any, Any]:
    """The same scalar ops as the network, each one NumPy call over all N points, and
    the backward pass written out by hand."""
    n = len(X)
    h = [X[:, 0], X[:, 1]]
    layers_in, pre = [], []
    last = len(weights) - 1
    for li, layer in enumerate(weights):
        layers_in.append(h)
        acts = []
        for ws, b in layer:
            act = b + ws[0] * h[0]
            for w, xi in zip(ws[1:], h[1:], strict=True):
                act = act + w * xi
            acts.append(act)
        pre.append(acts)
        h = acts if li == last else [np.where(a < 0.0, 0.0, a) for a in acts]
    value = h[0]
    grads = [np.ones(n)]
    for li in range(last, -1, -1):
        incoming = [np.full(n, -0.0) for _ in layers_in[li]]
        for j in range(len(weights[li]) - 1, -1, -1):
            ws, _ = weights[li][j]
            g = grads[j]
            if li != last:
                g = -0.0 + g * np.where(pre[li][j] <= 0.0, 0.0, 1.0)
            for i in range(len(ws) - 1, -1, -1):
                incoming[i] += g * ws[i]
        grads = incoming
    return value, np.stack(grads, axis=1)


def torch_engine(weights: Weights) -> Engine:
    assert torch is not None
    torch.set_num_threads(1)
    mats = [
        (
            torch.tensor([ws for ws, _ in layer], dtype=torch.float64),
            torch.tensor([b for _, b in layer], dtype=torch.float64),
        )
        for layer in weights
    ]

    def run(X: Any) -> tuple[Any, Any]:
        x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
        h = x
        for i, (W, b) in enumerate(mats):
            h = h @ W.T + b
            if i < len(mats) - 1:
                h = torch.relu(h)
        out = h[:, 0]
        out.sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    return run


def engines(only: str | None = None) -> dict[str, Engine]:
    model, weights = network()
    program = decision_program(model)
    table: dict[str, Engine] = {
        "fnad batch": lambda X: (lambda r: (r.values, r.gradient))(program.batch(X)),
        "numpy by hand": lambda X: by_hand(weights, X),
    }
    if torch is not None:
        table["torch (N, 2)"] = torch_engine(weights)

    def sweep(X: Any) -> tuple[Any, Any]:
        results = program.sweep(X[:SWEEP_POINTS].tolist())
        values = np.array([r.value for r in results])
        return values, np.array([[r.grads["x"], r.grads["y"]] for r in results])

    table["fnad sweep"] = sweep
    return {name: table[name] for name in table if only is None or name == only}


def per_point(name: str, seconds: float) -> float:
    return seconds / (SWEEP_POINTS if name == "fnad sweep" else N)


def check(results: dict[str, tuple[Any, Any]]) -> None:
    model, _ = network()
    program = decision_program(model)
    X = grid(N)
    reference = [program.evaluate(p) for p in X[:SWEEP_POINTS].tolist()]
    values = np.array([r.value for r in reference])
    grads = np.array([r.gradient for r in reference])
    batch_values, batch_grads = results["fnad batch"]
    assert np.array_equal(batch_values[:SWEEP_POINTS], values), "batch != per-point replay"
    assert np.array_equal(batch_grads[:SWEEP_POINTS], grads), "batch != per-point replay"
    for name, (v, g) in results.items():
        assert np.allclose(v[:SWEEP_POINTS], values, rtol=1e-12, atol=1e-12), name
        assert np.allclose(g[:SWEEP_POINTS], grads, rtol=1e-12, atol=1e-12), name


def bench(repeats: int, only: str | None = None) -> dict[str, float]:
    table = engines(only)
    X = grid(N)
    times: dict[str, list[float]] = {name: [] for name in table}
    results: dict[str, tuple[Any, Any]] = {}
    names = list(table)
    with collector(True):
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                start = time.perf_counter()
                results[name] = table[name](X)
                times[name].append(time.perf_counter() - start)
    if only is None:
        check(results)
    return {name: per_point(name, statistics.median(ts)) for name, ts in times.items()}


def report(repeats: int) -> None:
    print(f"(a) decision boundary, MLP 2-16-16-1, values + input gradients at N = {N:,}")
    print("    one process, GC on, interleaved, medians; batch == per-point replay bit for bit")
    together = bench(repeats)
    alone = {}
    for name in together:
        out = subprocess.run(
            [sys.executable, __file__, "--only", name, "--repeats", str(repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        alone[name] = json.loads(out.stdout.strip().splitlines()[-1])[name]
    batch, hand = together["fnad batch"], together["numpy by hand"]
    print(f"    {'':16s} {'µs/point':>10s} {'alone':>10s}   vs batch")
    for name, seconds in together.items():
        print(
            f"    {name:16s} {seconds * 1e6:10.3f} {alone[name] * 1e6:10.3f}   "
            f"{seconds / batch:6.2f}x"
        )
    sweep = together["fnad sweep"]
    print(f"    batch vs per-point sweep: {sweep / batch:.1f}x faster per point (target >= 30x)")
    print(f"    batch vs NumPy by hand: {batch / hand:.2f}x the time (target <= 1.5x)")
    if "torch (N, 2)" in together:
        print(f"    batch vs torch: {batch / together['torch (N, 2)']:.1f}x the time")


def report_break_even(repeats: int) -> None:
    print("(b) break-even: batch(X[:n]) against a loop of evaluate over the same n points")
    model, _ = network()
    program = decision_program(model)
    X = grid(256)
    program.batch(X[:2])  # the plan is made once per program: not part of the comparison
    with collector(True):
        for n in (1, 2, 4, 8, 16, 32, 64, 128, 256):
            points = X[:n]
            rows = points.tolist()
            batch_times, loop_times = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                program.batch(points)
                middle = time.perf_counter()
                for p in rows:
                    program.evaluate(p)
                end = time.perf_counter()
                batch_times.append(middle - start)
                loop_times.append(end - middle)
            b, loop = statistics.median(batch_times), statistics.median(loop_times)
            print(
                f"    n = {n:4d}: batch {b * 1e6:9.1f} µs, per point {loop * 1e6:9.1f} µs, "
                f"batch/per-point = {b / loop:5.2f}"
            )


def report_memory(sizes: Sequence[int]) -> None:
    print("(c) memory of a batch beyond its inputs and results (tracemalloc peak)")
    model, _ = network()
    program = decision_program(model)
    from fnad.compiled.batch import chunk_size

    for n in sizes:
        X = grid(n)
        tracemalloc.start()
        result = program.batch(X)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        outputs = result.values.nbytes + result.gradient.nbytes + result.aux.nbytes
        chunk = chunk_size(program._batch_plan.rows, n)  # type: ignore[attr-defined]
        print(
            f"    N = {n:>9,}: chunk {chunk}, peak beyond inputs and results "
            f"{(peak - outputs) / 2**20:6.1f} MiB (results {outputs / 2**20:6.1f} MiB)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="time one engine alone and print JSON")
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 15)
    if args.only:
        print(json.dumps(bench(repeats, args.only)))
        return 0
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"torch {torch.__version__ if torch is not None else '(not installed)'}, "
        f"{platform.machine()}"
    )
    report(repeats)
    report_break_even(repeats * 4)
    report_memory((10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
