"""Hostile documents within the default limits are refused in linear time and bounded memory.

The guarantee (docs/graph-format.md, "What a loader costs"): a document is accepted or
refused in time linear in its size, with peak memory at most 2x its size when it is refused
at a malformed entry and at most 3.5x when it has to be read to the end. The documents come
from ``tests/hostile_documents.py`` at a few MiB (``python -m tests.hostile_documents 100``
gives the full-size figures); time is measured as a ratio between two sizes, not in seconds.
"""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import fnad
from fnad.graph.builder import Builder
from tests import hostile_documents as hostile

MIB = 2**20
READ_TO_THE_END = {"inputs that feed nothing", "ids before the header"}


def peak_ratio(load: Callable[..., Any], document: bytes) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(fnad.GraphFormatError):
            load(document)
        return tracemalloc.get_traced_memory()[1] / len(document)
    finally:
        tracemalloc.stop()


def seconds(load: Callable[..., Any], document: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        with pytest.raises(fnad.GraphFormatError):
            load(document)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("name", list(hostile.SIZED))
def test_hostile_documents_are_refused_in_bounded_memory(name: str) -> None:
    make, load = hostile.SIZED[name]
    document = make(4 * MIB)
    bound = 3.5 if name in READ_TO_THE_END else 2.0
    assert peak_ratio(load, document) <= bound


@pytest.mark.parametrize("name", list(hostile.SIZED))
def test_hostile_documents_are_refused_in_linear_time(name: str) -> None:
    make, load = hostile.SIZED[name]
    small, large = make(1 * MIB), make(4 * MIB)
    # 4x the size may take at most 4x the time, with room for noise on a shared machine
    # (and a floor, as a refusal at the first entry takes a few milliseconds).
    assert seconds(load, large) <= 8 * max(seconds(load, small), 0.02)


def test_the_issue_cases_are_refused_at_the_first_entry() -> None:
    """The issue's 100 MiB cases (``{}`` vertices, empty ``<node/>``s) stop at the first one."""
    with pytest.raises(fnad.GraphFormatError, match=r"nodes\[0\] has no 'id' field"):
        fnad.from_json(hostile.empty_objects(4 * MIB))
    with pytest.raises(fnad.GraphFormatError, match=r"nodes\[0\]: id is None"):
        fnad.from_graphml(hostile.graphml_empty_nodes(4 * MIB))
    with pytest.raises(fnad.GraphFormatError, match=r"edges\[0\] holds more than 4,096 values"):
        fnad.from_json(hostile.wide_positions(4 * MIB))
    with pytest.raises(fnad.GraphFormatError, match=r"edges\[0\] lists more than 4,096"):
        fnad.from_graphml(hostile.graphml_wide_positions(4 * MIB))


def test_entries_before_what_they_need_are_counted_and_shaped_at_once() -> None:
    with pytest.raises(fnad.GraphFormatError, match="above the limit of 1,000"):
        fnad.from_json(hostile.ids_before_the_header(MIB), max_vertices=1000)
    with pytest.raises(fnad.GraphFormatError, match=r"nodes\[0\] has no 'id' field"):
        fnad.from_json(hostile.empty_objects_before_the_header(MIB))
    with pytest.raises(fnad.GraphFormatError, match=r"edges\[0\] has no 'source' field"):
        fnad.from_json(hostile.empty_edges_before_the_vertices(MIB))


@pytest.mark.parametrize(
    ("make", "load"),
    [
        (hostile.chain_with_a_back_edge, fnad.from_json),
        (hostile.graphml_chain_with_a_back_edge, fnad.from_graphml),
    ],
    ids=["JSON", "GraphML"],
)
def test_a_long_cycle_is_found_by_a_linear_walk(
    make: Callable[[int], bytes], load: Callable[..., Any]
) -> None:
    with pytest.raises(fnad.GraphFormatError) as info:
        load(make(30_000))
    assert "cycle through vertices 1 -> 2 -> 3 -> 4 -> 5 -> 6 -> 7 -> 8 ..." in str(info.value)
    assert peak_ratio(load, make(10_000)) <= 3.5


def test_the_cycle_search_is_linear() -> None:
    """The search alone: 10x the vertices take at most ~10x the time (it was quadratic)."""

    def search(vertices: int) -> float:
        text = hostile.chain_with_a_back_edge(vertices)
        doc = json.loads(text)
        builder = Builder(fnad.current_rules(), vertices)
        builder.add_vertices(doc["nodes"], 0)
        builder.add_edges(doc["edges"], 0)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            with pytest.raises(fnad.GraphFormatError, match="cycle"):
                builder.finish(doc["graph"])
            best = min(best, time.perf_counter() - started)
        return best

    assert search(100_000) <= 20 * max(search(10_000), 0.005)
