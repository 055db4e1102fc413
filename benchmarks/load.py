"""Loading an exported graph into a Program, against the time to parse the same file.

    python benchmarks/load.py                 # a 250k-vertex chain (39 MB of JSON)
    python benchmarks/load.py --vertices 50000 --repeats 3

The targets (issue 18, docs/graph-format.md "What a loader costs"): ``fnad.from_json`` of a
chain fnad exported takes at most 2.5x the time ``json.loads`` takes to parse the same file,
and its peak memory (tracemalloc) is at most 3x the file's size; ``fnad.from_graphml`` the
same against its parse floor, ``xml.etree.ElementTree.iterparse`` over the file with each
element cleared once read (the cheapest standard-library pass that sees every element).

Everything runs in one process, interleaved, GC on at its default thresholds; the figures
are medians. The loaded program's value and gradient are checked against the eager graph's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import fnad
from fnad import Node


def chain(vertices: int) -> tuple[Node, Node]:
    """x, then tanh, neg, tanh, ... : a chain of ``vertices`` vertices, and its input."""
    with fnad.Tape():
        x = Node(0.5, label="x")
        y = x
        for k in range(vertices - 1):
            y = y.tanh() if k % 2 == 0 else -y
    return y, x


def iterparse_floor(path: str) -> int:
    count = 0
    for _, element in ElementTree.iterparse(path):
        count += 1
        element.clear()
    return count


def json_floor(path: str) -> Any:
    with open(path, "rb") as file:
        return json.loads(file.read())


def seconds(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def peak(work: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def compare(
    name: str, path: str, floor: Callable[[], Any], load: Callable[[], Any], repeats: int
) -> None:
    size = os.path.getsize(path)
    floors: list[float] = []
    loads: list[float] = []
    for _ in range(repeats):  # interleaved, so both see the same machine
        floors.append(seconds(floor))
        loads.append(seconds(load))
    floor_time, load_time = statistics.median(floors), statistics.median(loads)
    memory = peak(load)
    print(
        f"{name}: {size / 1e6:.1f} MB; floor {floor_time:.2f} s, load {load_time:.2f} s "
        f"({load_time / floor_time:.2f}x the floor); peak {memory / 1e6:.0f} MB "
        f"({memory / size:.2f}x the file)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vertices", type=int, default=250_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    output, x = chain(args.vertices)
    grad = output.backward()[x]
    folder = tempfile.mkdtemp()
    json_path = os.path.join(folder, "chain.json")
    graphml_path = os.path.join(folder, "chain.graphml")
    with open(json_path, "w", encoding="utf-8") as file:
        file.write(fnad.to_json(output))
    fnad.to_graphml(output, graphml_path)
    value = output.data
    del output, x
    for load in (fnad.from_json(json_path), fnad.from_graphml(graphml_path)):
        assert load.value_and_grad(x=0.5) == fnad.ValueAndGrad(value, {"x": grad})
    print(f"a chain of {args.vertices:,} vertices, medians of {args.repeats}")
    compare(
        "JSON    (floor: json.loads)",
        json_path,
        lambda: json_floor(json_path),
        lambda: fnad.from_json(json_path),
        args.repeats,
    )
    compare(
        "GraphML (floor: ElementTree.iterparse)",
        graphml_path,
        lambda: iterparse_floor(graphml_path),
        lambda: fnad.from_graphml(graphml_path),
        args.repeats,
    )


if __name__ == "__main__":
    main()
