"""fnad against micrograd and torch scalars on the same graphs, in one process, interleaved.

    python benchmarks/compare.py            # everything (a few minutes)
    python benchmarks/compare.py --quick    # fewer repeats, no 1M chain

Measures (see docs/performance.md for the figures and the targets):

(a) micrograd's demo network — MLP 2-16-16-1 with ReLU, 50 moons points, hinge loss + L2
    (~34k recorded ops) — forward and backward, gradients compared to 1e-12;
(b) chains of 10k, 100k and 1M ops: per-op cost of build + backward;
(c) bytes per recorded op (tracemalloc);
(d) backward of a 10-op expression on a tape that already holds 1M other nodes.

Times are medians over repeats; engines run in rotating order within each repeat so that
machine noise hits them alike. In one process the engine that triggers a full garbage
collection pays for every engine's garbage, so (a) is also run with each engine alone in a
fresh process. Python's cyclic garbage collector dominates at these sizes
for every engine, so (a) is reported both with the collector on (what users get) and off
(the engines' own cost). torch is used when importable (pip install torch==2.13.0).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import fnad
from fnad import Node
from fnad.nn.datasets import moons
from fnad.nn.model import MOONS

try:
    from micrograd.engine import Value
except ImportError:  # pragma: no cover - the bench extra provides it
    Value = None

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

SIZES = (2, *MOONS.layers)


@contextmanager
def collector(enabled: bool) -> Iterator[None]:
    was = gc.isenabled()
    gc.collect()
    if enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


def initial_weights(seed: int = MOONS.seed) -> list[list[tuple[list[float], float]]]:
    """Layers of neurons of (weights, bias), drawn as micrograd does: uniform(-1, 1), bias 0."""
    rng = random.Random(seed)
    return [
        [([rng.uniform(-1, 1) for _ in range(nin)], 0.0) for _ in range(nout)]
        for nin, nout in itertools.pairwise(SIZES)
    ]


# ------------------------------------------------------------------ one loss per engine


def mlp_loss(
    make: Callable[[float], Any],
    weights: list[list[tuple[list[float], float]]],
    points: Sequence[tuple[float, float]],
    labels: Sequence[int],
) -> tuple[Any, list[Any]]:
    """micrograd's demo loss, written once for any scalar type built by ``make``."""
    layers = [[([make(w) for w in ws], make(b)) for ws, b in layer] for layer in weights]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    scores = []
    for x0, x1 in points:
        activations: list[Any] = [make(x0), make(x1)]
        for depth, layer in enumerate(layers):
            last = depth == len(layers) - 1
            outputs = []
            for ws, b in layer:
                act = sum((w * a for w, a in zip(ws, activations, strict=True)), b)
                outputs.append(act if last else act.relu())
            activations = outputs
        scores.append(activations[0])
    losses = [(1 + -y * s).relu() for y, s in zip(labels, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = MOONS.alpha * sum(p * p for p in params)
    return data_loss + reg_loss, params


def run_fnad(weights: Any, points: Any, labels: Any) -> tuple[float, float, float, list[float]]:
    start = time.perf_counter()
    with fnad.Tape():
        loss, params = mlp_loss(Node, weights, points, labels)
        middle = time.perf_counter()
        grads = loss.backward()
        end = time.perf_counter()
        return middle - start, end - middle, loss.data, [grads[p] for p in params]


def run_fnad_closed(
    weights: Any, points: Any, labels: Any
) -> tuple[float, float, float, list[float]]:
    """As run_fnad, then ``tape.close()``: the graph is freed without the cyclic GC."""
    start = time.perf_counter()
    with fnad.Tape() as tape:
        loss, params = mlp_loss(Node, weights, points, labels)
        middle = time.perf_counter()
        grads = loss.backward()
        result = [grads[p] for p in params]
        value = loss.data
    tape.close()
    end = time.perf_counter()
    return middle - start, end - middle, value, result


def run_micrograd(
    weights: Any, points: Any, labels: Any
) -> tuple[float, float, float, list[float]]:
    start = time.perf_counter()
    loss, params = mlp_loss(Value, weights, points, labels)
    middle = time.perf_counter()
    loss.backward()
    end = time.perf_counter()
    return middle - start, end - middle, loss.data, [p.grad for p in params]


class TorchScalar:
    """0-d float64 tensors behind micrograd's method names (relu), for the shared loss."""

    @staticmethod
    def make(value: float) -> Any:
        return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def run_torch(weights: Any, points: Any, labels: Any) -> tuple[float, float, float, list[float]]:
    start = time.perf_counter()
    loss, params = mlp_loss(TorchScalar.make, weights, points, labels)
    middle = time.perf_counter()
    loss.backward()
    end = time.perf_counter()
    return middle - start, end - middle, loss.item(), [p.grad.item() for p in params]


# ------------------------------------------------------------------ (a) the demo network


def available_engines() -> dict[str, Callable[..., tuple[float, float, float, list[float]]]]:
    engines: dict[str, Callable[..., tuple[float, float, float, list[float]]]] = {
        "fnad": run_fnad,
        "fnad+close": run_fnad_closed,
    }
    if Value is not None:
        engines["micrograd"] = run_micrograd
    if torch is not None:
        torch.set_num_threads(1)
        engines["torch"] = run_torch
    return engines


def bench_mlp(repeats: int, gc_on: bool, only: str | None = None) -> dict[str, tuple[float, float]]:
    points, labels = moons(50, noise=0.1, seed=0)
    weights = initial_weights()
    engines = available_engines()
    if only is not None:
        engines = {only: engines[only]}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    reference: dict[str, tuple[float, list[float]]] = {}
    names = list(engines)
    with collector(gc_on):
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                forward, backward, loss, grads = engines[name](weights, points, labels)
                times[name].append((forward, backward))
                reference[name] = (loss, grads)
    base_loss, base_grads = next(iter(reference.values())) if only else reference["fnad"]
    for name, (loss, grads) in reference.items():
        worst = max(abs(a - b) for a, b in zip(base_grads, grads, strict=True))
        assert abs(loss - base_loss) <= 1e-12 and worst <= 1e-12, (name, loss, worst)
    return {
        name: (statistics.median(f for f, _ in ts), statistics.median(b for _, b in ts))
        for name, ts in times.items()
    }


def report_mlp(repeats: int) -> None:
    with fnad.Tape():
        points, labels = moons(50, noise=0.1, seed=0)
        loss, _ = mlp_loss(Node, initial_weights(), points, labels)
        ops = len(loss.tape)
    print(f"(a) MLP 2-16-16-1, 50 moons points, hinge + L2: {ops} nodes on the fnad tape")
    print("    gradients of every engine equal fnad's to 1e-12")
    for gc_on in (True, False):
        results = bench_mlp(repeats, gc_on)
        reference = sum(results["micrograd"]) if "micrograd" in results else None
        print(f"    garbage collector {'on ' if gc_on else 'off'} (median of {repeats}):")
        for name, (forward, backward) in results.items():
            total = forward + backward
            print(
                f"      {name:10s} forward {forward * 1e3:7.1f} ms  backward {backward * 1e3:7.1f} ms"
                f"  total {total * 1e3:7.1f} ms"
                + (f"  ÷ micrograd = {total / reference:4.2f}x" if reference else "")
            )


def report_mlp_isolated(repeats: int) -> None:
    """Each engine alone in a fresh process, GC on: what a user who runs one engine gets."""
    print(f"    each engine alone in its own process, garbage collector on (median of {repeats}):")
    totals: dict[str, tuple[float, float]] = {}
    for name in available_engines():
        output = subprocess.run(
            [sys.executable, __file__, "--only", name, "--repeats", str(repeats)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        forward, backward = json.loads(output.strip().splitlines()[-1])
        totals[name] = (forward, backward)
    reference = sum(totals["micrograd"]) if "micrograd" in totals else None
    for name, (forward, backward) in totals.items():
        total = forward + backward
        print(
            f"      {name:10s} forward {forward * 1e3:7.1f} ms  backward {backward * 1e3:7.1f} ms"
            f"  total {total * 1e3:7.1f} ms"
            + (f"  ÷ micrograd = {total / reference:4.2f}x" if reference else "")
        )


# ------------------------------------------------------------------ (b) chains


def chain_cost(length: int) -> tuple[float, float]:
    with fnad.Tape():
        start = time.perf_counter()
        x = Node(0.5)
        y = x
        for _ in range(length):
            y = y.tanh()
        middle = time.perf_counter()
        y.backward()
        end = time.perf_counter()
    return (middle - start) / length, (end - middle) / length


def report_chains(lengths: Sequence[int], repeats: int) -> None:
    for gc_on in (True, False):
        print(
            f"(b) chains of tanh: per-op cost (median), garbage collector {'on' if gc_on else 'off'}"
        )
        baseline = None
        with collector(gc_on):
            for length in lengths:
                count = repeats if length < 10**6 else max(1, repeats // 3)
                runs = [chain_cost(length) for _ in range(count)]
                build = statistics.median(b for b, _ in runs)
                back = statistics.median(k for _, k in runs)
                total = build + back
                baseline = baseline or total
                print(
                    f"    {length:>9,} ops: build {build * 1e6:5.2f} µs/op  "
                    f"backward {back * 1e6:5.2f} µs/op  total/10k = {total / baseline:4.2f}x"
                )
                gc.collect()


# ------------------------------------------------------------------ (c) memory


def report_memory(count: int = 100_000) -> None:
    gc.collect()
    with fnad.Tape() as tape:
        x = Node(0.5)
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        y = x
        for _ in range(count):
            y = y.tanh()
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        mixed_ops = 0
        tracemalloc.start()
        before_mixed, _ = tracemalloc.get_traced_memory()
        a, b = Node(1.0), Node(2.0)
        for _ in range(count // 2):
            a, b = a * b, a + b
            mixed_ops += 2
        after_mixed, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(
        f"(c) memory per recorded op: unary chain {(after - before) / count:6.0f} B/op, "
        f"binary ops {(after_mixed - before_mixed) / mixed_ops:6.0f} B/op "
        f"(tape of {len(tape):,} nodes)"
    )


# ------------------------------------------------------------------ (d) big tape, small backward


def report_small_backward_on_big_tape(size: int, repeats: int = 50) -> None:
    with fnad.Tape() as tape:
        noise = Node(0.0)
        for _ in range(size):
            noise = noise.tanh()
        x, w = Node(0.3), Node(-1.2)
        z = x
        for _ in range(5):
            z = (z * w).tanh()  # 10 ops
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            z.backward()
            runs.append(time.perf_counter() - start)
    print(
        f"(d) backward of a 10-op expression on a tape of {len(tape):,} nodes: "
        f"median {statistics.median(runs) * 1e3:.3f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no 1M chain")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="do not gc.freeze() the imported modules' objects before measuring",
    )
    parser.add_argument("--only", help=argparse.SUPPRESS)  # one engine, for the isolated run
    parser.add_argument("--repeats", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        gc.collect()
        gc.freeze()
        print(json.dumps(bench_mlp(args.repeats or 5, gc_on=True, only=args.only)[args.only]))
        return 0
    if not args.no_freeze:
        # torch, micrograd and sympy leave ~10^5-10^6 GC-tracked objects behind at import;
        # without this every full collection during a run traverses them all, and the
        # engine that happens to trigger it pays. Freezing them measures the engines alone.
        gc.collect()
        gc.freeze()
    repeats = 5 if args.quick else 11
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"fnad {fnad.__version__}, micrograd {'yes' if Value else 'missing'}, "
        f"torch {torch.__version__ if torch else 'missing'}"
    )
    sys.stdout.flush()
    report_mlp(repeats)
    report_mlp_isolated(repeats)
    report_chains(
        (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000), 3 if args.quick else 5
    )
    report_memory()
    report_small_backward_on_big_tape(100_000 if args.quick else 1_000_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
