"""Hostile graph documents of a given size, and how long and how much memory refusing them takes.

``tests/test_hostile_documents.py`` checks them at a few MiB; run this module to measure the
full-size figures (a few minutes)::

    .venv/bin/python -m tests.hostile_documents 100      # documents of 100 MiB
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import fnad

HEADER = (
    '{"directed":true,"multigraph":false,"graph":{"schema":"fnad.graph","version":1,"output":1},'
)
GRAPH = '"graph":{"schema":"fnad.graph","version":1,"output":1}'
GRAPHML_HEAD = '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph>'


def _repeat(head: str, item: str, tail: str, size: int) -> bytes:
    count = max(1, (size - len(head) - len(tail)) // len(item))
    return (head + item * count + tail).encode()


def empty_objects(size: int) -> bytes:
    """The issue's case: a header, then ``{}`` vertices filling the document."""
    return _repeat(HEADER + '"nodes":[', "{},", '{}],"edges":[]}', size)


def empty_objects_before_the_header(size: int) -> bytes:
    """``{}`` vertices before the header: read (and counted) before anything is checked."""
    return _repeat('{"nodes":[', "{},", '{}],"edges":[],' + GRAPH + "}", size)


def ids_before_the_header(size: int) -> bytes:
    """Vertices with nothing but an id, before the header: counted up to the limit."""
    count = size // 12
    nodes = ",".join(f'{{"id":{i}}}' for i in range(count))
    return f'{{"nodes":[{nodes}],"edges":[],{GRAPH}}}'.encode()


def empty_edges_before_the_vertices(size: int) -> bytes:
    """``{}`` edges before the vertices: read before anything can be checked against them."""
    return _repeat('{"edges":[', "{},", "{}]," + GRAPH + ',"nodes":[]}', size)


def many_inputs(size: int) -> bytes:
    """Well-formed input vertices, none of which feeds the output: read to the end, then refused."""
    count = size // 40
    nodes = ",".join(f'{{"id":{i},"op":"","data":0.5}}' for i in range(count))
    return f'{HEADER}"nodes":[{nodes}],"edges":[]}}'.encode()


def wide_positions(size: int) -> bytes:
    """One edge that claims millions of argument positions."""
    head = HEADER + (
        '"nodes":[{"id":0,"op":"","data":1.0},{"id":1,"op":"neg","data":-1.0}],'
        '"edges":[{"source":0,"target":1,"positions":['
    )
    return _repeat(head, "0,", "0]}]}", size)


def large_annotation(size: int) -> bytes:
    """An ignored top-level key holding millions of values."""
    return _repeat(HEADER + '"tool":[', "0,", '0],"nodes":[],"edges":[]}', size)


def deep_nesting(size: int) -> bytes:
    """Brackets nested as deep as the document is long."""
    depth = size // 2
    return ('{"graph":' + "[" * depth + "]" * depth + "}").encode()


def repeated_keys(size: int) -> bytes:
    """Every vertex repeats a key."""
    return _repeat(HEADER + '"nodes":[', '{"id":0,"id":0},', '{"id":0}],"edges":[]}', size)


def chain_with_a_back_edge(vertices: int) -> bytes:
    """A chain x -> neg -> neg ... whose first op takes the last one instead of x: one big cycle."""
    nodes = ['{"id":0,"op":"","label":"x","data":1.0}']
    nodes.extend(f'{{"id":{i},"op":"neg","data":1.0}}' for i in range(1, vertices))
    edges = [f'{{"source":{vertices - 1},"target":1,"positions":[0]}}']
    edges.extend(f'{{"source":{i - 1},"target":{i},"positions":[0]}}' for i in range(2, vertices))
    head = HEADER.replace('"output":1', f'"output":{vertices - 1}')
    return f'{head}"nodes":[{",".join(nodes)}],"edges":[{",".join(edges)}]}}'.encode()


def graphml_empty_nodes(size: int) -> bytes:
    """The issue's GraphML case: empty ``<node/>`` elements filling the file."""
    return _repeat(GRAPHML_HEAD, "<node/>", "</graph></graphml>", size)


def graphml_wide_positions(size: int) -> bytes:
    """One GraphML edge whose positions string holds millions of commas."""
    keys = "".join(
        f'<key id="{k}" for="{scope}" attr.name="{k}" attr.type="{kind}"/>'
        for k, scope, kind in (
            ("schema", "graph", "string"),
            ("version", "graph", "int"),
            ("output", "graph", "int"),
            ("op", "node", "string"),
            ("data", "node", "double"),
            ("positions", "edge", "string"),
        )
    )
    head = (
        f'<graphml xmlns="http://graphml.graphdrawing.org/xmlns">{keys}<graph edgedefault="directed">'
        '<data key="schema">fnad.graph</data><data key="version">1</data>'
        '<data key="output">1</data>'
        '<node id="0"><data key="op"></data><data key="data">1.0</data></node>'
        '<node id="1"><data key="op">neg</data><data key="data">-1.0</data></node>'
        '<edge source="0" target="1"><data key="positions">'
    )
    return _repeat(head, "0,", "0</data></edge></graph></graphml>", size)


def graphml_chain_with_a_back_edge(vertices: int) -> bytes:
    """The same cycle as :func:`chain_with_a_back_edge`, in the layout fnad.to_graphml writes."""
    with fnad.Tape():
        x = fnad.Node(1.0, label="x")
        y = x
        for _ in range(3):
            y = -y
    path = os.path.join(tempfile.mkdtemp(), "small.graphml")
    fnad.to_graphml(y, path)
    with open(path, encoding="utf-8") as file:
        small = file.read()
    head = small[: small.index('    <node id="0">')]
    head = re.sub(r'"g_output">\d+<', f'"g_output">{vertices - 1}<', head)
    node = (
        '    <node id="{i}"><data key="v_op">neg</data><data key="v_label"></data>'
        '<data key="v_data">1.0</data><data key="v_grad">1.0</data></node>\n'
    )
    edge = (
        '    <edge source="{s}" target="{t}"><data key="e_positions">0</data>'
        '<data key="e_partial">-1.0</data><data key="e_flow">-1.0</data></edge>\n'
    )
    lines = [
        head,
        '    <node id="0"><data key="v_op"></data><data key="v_label">x</data>'
        '<data key="v_data">1.0</data><data key="v_grad">1.0</data></node>\n',
    ]
    lines.extend(node.format(i=i) for i in range(1, vertices))
    lines.append(edge.format(s=vertices - 1, t=1))
    lines.extend(edge.format(s=i - 1, t=i) for i in range(2, vertices))
    lines.append("  </graph>\n</graphml>\n")
    return "".join(lines).encode()


SIZED: dict[str, tuple[Callable[[int], bytes], Callable[..., Any]]] = {
    "{} vertices": (empty_objects, fnad.from_json),
    "{} vertices before the header": (empty_objects_before_the_header, fnad.from_json),
    "ids before the header": (ids_before_the_header, fnad.from_json),
    "{} edges before the vertices": (empty_edges_before_the_vertices, fnad.from_json),
    "inputs that feed nothing": (many_inputs, fnad.from_json),
    "an edge with millions of positions": (wide_positions, fnad.from_json),
    "a large ignored annotation": (large_annotation, fnad.from_json),
    "deep nesting": (deep_nesting, fnad.from_json),
    "repeated keys": (repeated_keys, fnad.from_json),
    "GraphML <node/> elements": (graphml_empty_nodes, fnad.from_graphml),
    "GraphML positions with millions of commas": (graphml_wide_positions, fnad.from_graphml),
}
"""Each hostile document by name: its generator (size in bytes -> document) and its loader."""


def measure(load: Callable[..., Any], document: bytes) -> tuple[float, float, str]:
    """(seconds, peak traced bytes / document bytes, the error) of refusing ``document``.

    The time is taken in a run of its own: tracemalloc slows allocation down.
    """
    gc.collect()
    started = time.perf_counter()
    try:
        load(document)
    except fnad.GraphFormatError as error:
        message = str(error)
    else:
        message = "(accepted)"
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    with contextlib.suppress(fnad.GraphFormatError):
        load(document)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / len(document), message


def main(argv: list[str]) -> None:
    mib = int(argv[0]) if argv else 100
    size = mib * 2**20
    print(f"hostile documents of {mib} MiB (time, peak traced memory / size):")
    for name, (make, load) in SIZED.items():
        document = make(size)
        seconds, ratio, message = measure(load, document)
        print(f"  {name:45} {seconds:6.2f} s  {ratio:5.2f}x  {message[:90]}")
        del document
    for name, make, load in (
        ("1M-vertex JSON chain with a back edge", chain_with_a_back_edge, fnad.from_json),
        (
            "1M-vertex GraphML chain with a back edge",
            graphml_chain_with_a_back_edge,
            fnad.from_graphml,
        ),
    ):
        document = make(1_000_000)
        seconds, ratio, message = measure(load, document)
        print(
            f"  {name:45} {seconds:6.2f} s  {ratio:5.2f}x  ({len(document) / 2**20:.0f} MiB) "
            f"{message[:60]}"
        )
        del document


if __name__ == "__main__":
    main(sys.argv[1:])
