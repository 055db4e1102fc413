"""Compiled replay (fnad.compile / fnad.Program) against eager engines, in one process.

    python benchmarks/compiled.py            # everything (a few minutes)
    python benchmarks/compiled.py --quick    # fewer repeats, no 1M chain, 20-step demo

Measures the targets of compiled replay (figures in docs/performance.md):

(a) micrograd's demo network (MLP 2-16-16-1, 50 moons points, hinge + L2, ~34k nodes),
    forward + backward: the compiled replay against micrograd eager, torch scalars and
    fnad eager, interleaved, GC on at default thresholds, medians; gradients of every
    engine equal to 1e-12; also each engine alone in its own process, and the compile
    time against one eager trace + backward;
(b) tanh chains of 10k, 100k, 1M ops replayed: per-op cost, and 1M ÷ 10k;
(c) memory of a compiled program per recorded op (tracemalloc);
(d) the moons demo at its defaults (100 steps), end to end, compiled against eager, with the
    final loss and accuracy of both.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import (
    Value,
    available_engines,
    collector,
    initial_weights,
    mlp_loss,
    torch,
)

import fnad
from fnad import Node, Program
from fnad.nn.datasets import moons

Engine = Callable[..., tuple[float, float, float, list[float]]]


def compiled_engine(weights: Any, points: Any, labels: Any) -> tuple[Engine, float, float]:
    """A compiled replay of the demo loss, the time to compile it, and one eager step's time."""
    start = time.perf_counter()
    with fnad.Tape() as tape:
        loss, params = mlp_loss(Node, weights, points, labels)
        program = Program.from_nodes(loss, params)
    tape.close()
    compile_time = time.perf_counter() - start
    start = time.perf_counter()
    with fnad.Tape() as tape:
        loss, params = mlp_loss(Node, weights, points, labels)
        loss.backward()
    tape.close()
    eager_time = time.perf_counter() - start
    values = [p for layer in weights for ws, b in layer for p in (*ws, b)]

    def run(weights: Any, points: Any, labels: Any) -> tuple[float, float, float, list[float]]:
        start = time.perf_counter()
        program.evaluate(values, gradient=False)
        middle = time.perf_counter()
        result = program.evaluate(values)
        end = time.perf_counter()
        # forward alone, and forward + backward: report backward as the difference
        forward = middle - start
        return forward, (end - middle) - forward, result.value, list(result.gradient)

    return run, compile_time, eager_time


def engines(weights: Any, points: Any, labels: Any) -> tuple[dict[str, Engine], float, float]:
    found: dict[str, Engine] = dict(available_engines())
    found.pop("fnad+close", None)
    found["fnad eager"] = found.pop("fnad")
    run, compile_time, eager_time = compiled_engine(weights, points, labels)
    return {"fnad compiled": run, **found}, compile_time, eager_time


def bench_mlp(repeats: int, only: str | None = None) -> dict[str, float]:
    points, labels = moons(50, noise=0.1, seed=0)
    weights = initial_weights()
    table, compile_time, eager_time = engines(weights, points, labels)
    if only is not None:
        table = {only: table[only]}
    times: dict[str, list[float]] = {name: [] for name in table}
    results: dict[str, tuple[float, list[float]]] = {}
    names = list(table)
    with collector(True):
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                forward, backward, loss, grads = table[name](weights, points, labels)
                times[name].append(forward + backward)
                results[name] = (loss, grads)
    base_loss, base_grads = next(iter(results.values()))
    for name, (loss, grads) in results.items():
        worst = max(abs(a - b) for a, b in zip(base_grads, grads, strict=True))
        assert abs(loss - base_loss) <= 1e-12 and worst <= 1e-12, (name, loss, worst)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    medians["compile"] = compile_time
    medians["one eager trace + backward"] = eager_time
    return medians


def report_mlp(repeats: int) -> None:
    print("(a) MLP 2-16-16-1, 50 moons points: forward + backward, GC on, one process, interleaved")
    print("    gradients of every engine equal to 1e-12 (checked)")
    medians = bench_mlp(repeats)
    fast = medians["fnad compiled"]
    for name, seconds in medians.items():
        if name in ("compile", "one eager trace + backward"):
            continue
        print(f"      {name:14s} {seconds * 1e3:8.2f} ms   ÷ compiled = {seconds / fast:6.1f}x")
    print(
        f"    compile (trace + order + flatten) {medians['compile'] * 1e3:.1f} ms = "
        f"{medians['compile'] / medians['one eager trace + backward']:.2f}x one eager "
        "trace + backward"
    )
    print("    each engine alone in its own process (GC on):")
    alone: dict[str, float] = {}
    for name in [n for n in medians if n not in ("compile", "one eager trace + backward")]:
        done = subprocess.run(
            [sys.executable, __file__, "--only", name, "--repeats", str(repeats)],
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"{name} alone failed:\n{done.stderr}")
        alone[name] = json.loads(done.stdout.strip().splitlines()[-1])
    for name, seconds in alone.items():
        print(
            f"      {name:14s} {seconds * 1e3:8.2f} ms   ÷ compiled = "
            f"{seconds / alone['fnad compiled']:6.1f}x"
        )


def report_chains(lengths: tuple[int, ...], repeats: int) -> None:
    print("(b) tanh chains replayed (forward + backward), per-op cost, GC on, lengths interleaved")
    programs = {}
    for length in lengths:
        with fnad.Tape() as tape:
            x = Node(0.5, label="x")
            y = x
            for _ in range(length):
                y = y.tanh()
            programs[length] = Program.from_nodes(y, [x])
        tape.close()
        del tape, x, y
        gc.collect()
    # Round-robin over the lengths, so the machine's noise hits every length alike.
    runs: dict[int, list[float]] = {length: [] for length in lengths}
    for _ in range(repeats):
        for length, program in programs.items():
            start = time.perf_counter()
            program.evaluate([0.5])
            runs[length].append((time.perf_counter() - start) / length)
    baseline = statistics.median(runs[lengths[0]])
    for length in lengths:
        per_op = statistics.median(runs[length])
        print(
            f"    {length:>9,} ops: {per_op * 1e9:6.1f} ns/op   ÷ {lengths[0]:,} = "
            f"{per_op / baseline:4.2f}x"
        )
    del programs
    gc.collect()


def report_memory(count: int = 100_000) -> None:
    with fnad.Tape() as tape:
        x = Node(0.5, label="x")
        y = x
        for _ in range(count // 2):
            y = (y * 1.0001).tanh()
        tape.position(x)  # the tape's own index, built before measuring
        gc.collect()
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        program = Program.from_nodes(y, [x])
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    tape.close()
    print(
        f"(c) memory of a compiled program: {(after - before) / count:.0f} B per recorded op "
        f"({len(program):,} vertices: {count:,} ops and their constants)"
    )


def report_demo(steps: int) -> None:
    from fnad.nn.model import MLP, MOONS, accuracy, hinge_loss, l2, train_step

    points, labels = moons(100, noise=0.1, seed=MOONS.seed)

    def run(compiled: bool) -> tuple[float, float, float]:
        start = time.perf_counter()
        model = MLP(2, list(MOONS.layers), seed=MOONS.seed)
        for k in range(steps):
            lr = MOONS.learning_rate(k, steps)
            model, _, _ = train_step(model, points, labels, lr, MOONS.alpha, compiled=compiled)
        seconds = time.perf_counter() - start
        scores = [model(x) for x in points]
        return (
            seconds,
            hinge_loss(scores, labels) + l2(model.parameters(), MOONS.alpha),
            accuracy(scores, labels),
        )

    fast = run(True)
    slow = run(False)
    print(f"(d) the moons demo, {steps} steps, end to end (GC on):")
    print(f"    compiled {fast[0]:7.2f} s   final loss {fast[1]!r}   accuracy {fast[2]:.2f}")
    print(f"    eager    {slow[0]:7.2f} s   final loss {slow[1]!r}   accuracy {slow[2]:.2f}")
    print(f"    eager ÷ compiled = {slow[0] / fast[0]:.1f}x; same final loss: {fast[1] == slow[1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no 1M chain")
    parser.add_argument("--only", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    gc.collect()
    gc.freeze()  # what the imports left behind is not the engines' garbage
    if args.only:
        print(json.dumps(bench_mlp(args.repeats or 5, only=args.only)[args.only]))
        return 0
    repeats = 5 if args.quick else 11
    print(
        f"python {platform.python_version()} on {platform.machine()}, fnad {fnad.__version__}, "
        f"micrograd {'yes' if Value else 'missing'}, torch {torch.__version__ if torch else 'missing'}"
    )
    report_mlp(repeats)
    report_chains((10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000), repeats)
    report_memory()
    report_demo(20 if args.quick else 100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
