"""Benchmark: one training step of micrograd's moons demo in fnad, micrograd and torch scalars.

Same data (``fnad.nn.datasets.moons(100, 0.1, seed)``), same initial weights (fnad's
``MLP(2, [16, 16, 1], seed=seed)`` copied into the others), same loss (hinge + 1e-4·L2 on
all 100 points), same learning-rate schedule, one process. The engines are interleaved
step by step: step k of fnad, then of micrograd, then of torch, so machine noise hits all of
them alike. Reports the median time per step, the ratios, and the first step at which each
reached 95% training accuracy. Python's cyclic GC is left on (what users get); it frees
both engines' graphs, which are full of reference cycles, and dominates at these sizes.

Before timing, it checks that one step's gradients agree between the engines for the
same weights.

Usage::

    .venv/bin/pip install -e '.[bench]'          # micrograd==0.1.0
    .venv/bin/pip install torch==2.13.0          # optional: torch scalars
    .venv/bin/python benchmarks/train_step.py    # timing, 100 steps
    .venv/bin/python benchmarks/train_step.py --no-gc     # the same with the cyclic GC off
    .venv/bin/python benchmarks/train_step.py --memory 1000   # fnad's peak RSS over 1000 steps
    .venv/bin/python benchmarks/train_step.py --demo-flow 5   # `fnad demo --flow` vs `fnad demo`
    .venv/bin/python benchmarks/train_step.py --landscape 5   # 50x50 loss landscape: batch vs per point
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import fnad
from fnad.nn import MLP, MOONS, accuracy, hinge_loss, l2, train_step
from fnad.nn.datasets import moons

Step = Callable[[float], tuple[float, float]]
"""One training step at a learning rate; returns (loss, accuracy) before the update."""


# --------------------------------------------------------------------------- engines


def fnad_engine(
    weights: Sequence[float], points: Any, labels: Any, *, compiled: bool = True
) -> tuple[Step, Callable[[], list[float]]]:
    """fnad's train_step: by default the compiled step (traced once, replayed); with
    ``compiled=False`` every step traced and differentiated eagerly."""
    state = {"model": MLP(2, list(MOONS.layers), seed=0).with_parameters(weights)}

    def step(lr: float) -> tuple[float, float]:
        result = train_step(state["model"], points, labels, lr, MOONS.alpha, compiled=compiled)
        state["model"] = result.model
        return result.loss, result.accuracy

    def gradient() -> list[float]:
        with fnad.Tape():
            net = state["model"].trace()
            loss = hinge_loss([net(x) for x in points], labels) + l2(net.parameters(), MOONS.alpha)
            return list(net.gradient(loss.backward()))

    return step, gradient


def micrograd_engine(
    weights: Sequence[float], points: Any, labels: Any
) -> tuple[Step, Callable[[], list[float]]]:
    from micrograd.engine import Value
    from micrograd.nn import MLP as MicroMLP

    model = MicroMLP(2, list(MOONS.layers))
    params = model.parameters()
    for p, w in zip(params, weights, strict=True):
        p.data = w

    def loss_of() -> tuple[Any, list[Any]]:
        # micrograd's demo loss, verbatim
        inputs = [list(map(Value, x)) for x in points]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = MOONS.alpha * sum(p * p for p in params)
        return data_loss + reg_loss, scores

    def step(lr: float) -> tuple[float, float]:
        total, scores = loss_of()
        model.zero_grad()
        total.backward()
        for p in params:
            p.data -= lr * p.grad
        return total.data, accuracy([s.data for s in scores], labels)

    def gradient() -> list[float]:
        total, _ = loss_of()
        model.zero_grad()
        total.backward()
        return [float(p.grad) for p in params]

    return step, gradient


def torch_engine(
    weights: Sequence[float], points: Any, labels: Any
) -> tuple[Step, Callable[[], list[float]]]:
    import torch

    torch.set_num_threads(1)
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    sizes = [2, *MOONS.layers]
    layout = []
    position = 0
    for depth, (nin, nout) in enumerate(itertools.pairwise(sizes)):
        neurons = []
        for _ in range(nout):
            neurons.append((params[position : position + nin], params[position + nin]))
            position += nin + 1
        layout.append((neurons, depth != len(MOONS.layers) - 1))

    def loss_of() -> tuple[Any, list[float]]:
        scores = []
        for x in points:
            values = [torch.tensor(v, dtype=torch.float64) for v in x]
            for neurons, nonlin in layout:
                outputs = []
                for w, b in neurons:
                    act = b
                    for wi, xi in zip(w, values, strict=True):
                        act = act + wi * xi
                    outputs.append(act.relu() if nonlin else act)
                values = outputs
            scores.append(values[0])
        losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = MOONS.alpha * sum(p * p for p in params)
        return data_loss + reg_loss, [float(s) for s in scores]

    def step(lr: float) -> tuple[float, float]:
        total, scores = loss_of()
        for p in params:
            p.grad = None
        total.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        return float(total), accuracy(scores, labels)

    def gradient() -> list[float]:
        total, _ = loss_of()
        for p in params:
            p.grad = None
        total.backward()
        return [float(p.grad) for p in params]

    return step, gradient


# --------------------------------------------------------------------------- runs


def machine() -> str:
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {platform.machine()}, "
        f"fnad {fnad.__version__}"
    )


def compare(
    seed: int, steps: int, engines: dict[str, Any], gc_on: bool = True, only: str | None = None
) -> dict[str, Any]:
    points, labels = moons(MOONS.samples, MOONS.noise, seed)
    weights = MLP(2, list(MOONS.layers), seed=seed).parameters()
    built = {name: make(weights, points, labels) for name, make in engines.items()}

    reference = built["fnad"][1]()
    gradients: dict[str, float] = {}
    for name, (_, gradient) in built.items():
        theirs = gradient()
        worst = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(reference, theirs, strict=True))
        gradients[name] = worst
        if worst > 1e-9:
            raise SystemExit(f"{name}'s gradients differ from fnad's by {worst:.3g} (relative)")

    if only is not None:  # the gradients were compared above; time one engine alone
        built = {only: built[only]}
    times: dict[str, list[float]] = {name: [] for name in built}
    reached: dict[str, int | None] = {name: None for name in built}
    final: dict[str, tuple[float, float]] = {}
    if not gc_on:
        gc.disable()
    for k in range(steps):
        lr = MOONS.learning_rate(k, steps)
        if not gc_on:
            gc.collect()  # untimed: free the previous round's graphs between rounds
        for name, (step, _) in built.items():
            started = time.perf_counter()
            loss, acc = step(lr)
            times[name].append(time.perf_counter() - started)
            final[name] = (loss, acc)
            if acc >= 0.95 and reached[name] is None:
                reached[name] = k
        print(
            f"step {k}: "
            + ", ".join(f"{n} {times[n][-1]:.3f}s acc {final[n][1]:.2f}" for n in built),
            file=sys.stderr,
        )

    gc.enable()
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    return {
        "machine": machine(),
        "gc": "on (default thresholds)" if gc_on else "off while timing, collected between rounds",
        "seed": seed,
        "steps": steps,
        "median_step_seconds": medians,
        "p10_p90_step_seconds": {
            name: (statistics.quantiles(ts, n=10)[0], statistics.quantiles(ts, n=10)[-1])
            for name, ts in times.items()
        },
        "ratio_to_micrograd": {name: medians[name] / medians["micrograd"] for name in medians}
        if "micrograd" in medians
        else {},
        "first_step_at_95_percent": reached,
        "loss_and_accuracy_at_last_step": final,
        "max_relative_gradient_difference_vs_fnad": gradients,
    }


def peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory(seed: int, steps: int) -> dict[str, Any]:
    points, labels = moons(MOONS.samples, MOONS.noise, seed)
    model = MLP(2, list(MOONS.layers), seed=seed)
    gc.collect()
    checkpoints: dict[int, int] = {}
    started = time.perf_counter()
    for k in range(1, steps + 1):
        model = train_step(
            model, points, labels, MOONS.learning_rate(k - 1, steps), MOONS.alpha
        ).model
        if k in (1, 10, 100) or k % 100 == 0 or k == steps:
            checkpoints[k] = peak_rss_bytes()
            print(f"step {k}: peak RSS {checkpoints[k] / 2**20:.1f} MiB", file=sys.stderr)
    return {
        "machine": machine(),
        "gc": "on (default thresholds), no explicit collections",
        "steps": steps,
        "seconds": time.perf_counter() - started,
        "peak_rss_mib_after_step": {k: round(v / 2**20, 1) for k, v in checkpoints.items()},
        "ratio_final_to_step_10": checkpoints[steps] / checkpoints[10],
        "final_accuracy": accuracy([model(x) for x in points], labels),
    }


def demo_flow(rounds: int) -> dict[str, Any]:
    """``fnad demo --json`` against ``fnad demo --json --flow FILE.png`` at the defaults.

    Two measures, rounds interleaved (plain, then with --flow), medians: the demo's own
    ``run`` in this process (training, statistics, picture; imports already done), and the
    CPU time (user + sys) of a fresh ``python -m fnad.nn.demo`` process, imports included,
    which a busy machine does not inflate as it does wall-clock time.
    """
    import subprocess
    import tempfile

    from fnad.nn import demo

    folder = tempfile.mkdtemp()
    picture = os.path.join(folder, "flow.png")
    plain_args = ["--json"]
    flow_args = ["--json", "--flow", picture]
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    sink = open(os.devnull, "w")  # noqa: SIM115 - kept for every round
    in_process: dict[str, list[float]] = {"plain": [], "flow": []}
    processes: dict[str, list[float]] = {"plain": [], "flow": []}
    for _ in range(rounds):
        for name, options in (("plain", plain_args), ("flow", flow_args)):
            started = time.perf_counter()
            demo.run(parser.parse_args(options), stdout=sink, stderr=sink)
            in_process[name].append(time.perf_counter() - started)
        for name, options in (("plain", plain_args), ("flow", flow_args)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(
                [sys.executable, "-m", "fnad.nn.demo", *options], check=True, capture_output=True
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            processes[name].append(
                after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            )
    sink.close()
    medians = {
        "in_process_seconds": {k: statistics.median(v) for k, v in in_process.items()},
        "process_cpu_seconds": {k: statistics.median(v) for k, v in processes.items()},
    }
    return {
        "machine": machine(),
        "rounds": rounds,
        **medians,
        "ratio_in_process": medians["in_process_seconds"]["flow"]
        / medians["in_process_seconds"]["plain"],
        "ratio_process_cpu": medians["process_cpu_seconds"]["flow"]
        / medians["process_cpu_seconds"]["plain"],
        "target": "flow <= 2x plain",
    }


def landscape(rounds: int, sample: int = 250) -> dict[str, Any]:
    """The demo's 50×50 loss landscape around the trained moons model: the batched
    :func:`fnad.nn.loss_landscape` against the training loss replayed point by point
    (``step_program(...).evaluate(θ, gradient=False)``, timed on ``sample`` grid points and
    scaled to 2,500). Medians of ``rounds``, wall clock and CPU time, GC on."""
    import numpy as np

    from fnad.nn import loss_landscape, step_program
    from fnad.nn.demo import train

    points, labels = moons(MOONS.samples, MOONS.noise, MOONS.seed)
    model = train(MLP(2, list(MOONS.layers), seed=MOONS.seed), points, labels, MOONS.steps)
    program = step_program(model, points, labels, MOONS.alpha)
    land = loss_landscape(model, points, labels, alpha=MOONS.alpha, seed=0)
    theta = np.array(model.parameters())
    d1, d2 = (np.array(d) for d in land.directions)
    grid = [(a, b) for b in land.ys for a in land.xs]
    rng = np.random.default_rng(0)
    chosen = [grid[i] for i in rng.choice(len(grid), sample, replace=False)]
    batch_wall, batch_cpu, point_wall = [], [], []
    worst = 0.0
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        land = loss_landscape(model, points, labels, alpha=MOONS.alpha, seed=0)
        batch_wall.append(time.perf_counter() - wall)
        batch_cpu.append(time.process_time() - cpu)
        wall = time.perf_counter()
        for a, b in chosen:
            value = program.evaluate((theta + a * d1 + b * d2).tolist(), gradient=False).value
            i, j = land.xs.index(a), land.ys.index(b)
            worst = max(worst, abs(value - land.losses[j][i]) / abs(value))
        point_wall.append((time.perf_counter() - wall) * len(grid) / sample)
    return {
        "machine": machine(),
        "program_vertices": len(program),
        "grid": "50 x 50",
        "batch_seconds_median": statistics.median(batch_wall),
        "batch_cpu_seconds_median": statistics.median(batch_cpu),
        "per_point_seconds_median_scaled_to_2500": statistics.median(point_wall),
        "speedup": statistics.median(point_wall) / statistics.median(batch_wall),
        "largest_relative_difference": worst,
        "target": "batch <= 2 s",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=MOONS.seed)
    parser.add_argument("--steps", type=int, default=MOONS.steps)
    parser.add_argument("--no-torch", action="store_true", help="skip torch even if installed")
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="time with the cyclic GC off (collecting between rounds): the engines' own work",
    )
    parser.add_argument(
        "--memory", type=int, metavar="STEPS", help="measure fnad's peak RSS instead"
    )
    parser.add_argument(
        "--only",
        choices=("fnad", "fnad-eager", "micrograd", "torch"),
        help="time this engine alone (run once per engine, each in its own process, to keep "
        "one engine's garbage from being collected on another's time)",
    )
    parser.add_argument(
        "--demo-flow",
        type=int,
        metavar="ROUNDS",
        help="time `fnad demo --flow` against `fnad demo` instead",
    )
    parser.add_argument(
        "--landscape",
        type=int,
        metavar="ROUNDS",
        help="time the demo's 50x50 loss landscape, batched against per point, instead",
    )
    args = parser.parse_args(argv)
    if args.landscape:
        print(json.dumps(landscape(args.landscape), indent=2))
        return 0
    if args.demo_flow:
        print(json.dumps(demo_flow(args.demo_flow), indent=2))
        return 0
    if args.memory:
        print(json.dumps(memory(args.seed, args.memory), indent=2))
        return 0
    engines: dict[str, Any] = {
        "fnad": fnad_engine,
        "fnad-eager": functools.partial(fnad_engine, compiled=False),
        "micrograd": micrograd_engine,
    }
    if not args.no_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("torch not installed: comparing with micrograd only", file=sys.stderr)
        else:
            engines["torch"] = torch_engine
    result = compare(args.seed, args.steps, engines, gc_on=not args.no_gc, only=args.only)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
