"""Hostile graph documents of a given size, and how long and how much memory refusing them takes.

``tests/test_hostile_documents.py`` checks them at a few MiB; run this module to measure the
full-size figures (a few minutes)::

    .venv/bin/python -m tests.hostile_documents 100      # documents of 100 MiB
    .venv/bin/python -m tests.hostile_documents tokens 16   # one long token, 16 and 32 MiB
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


# --------------------------------------------------------------------------- one long token

# A small graph (x * 2) as fnad writes it, whose label is replaced by one long token.
_SMALL_JSON = (
    '{"directed":true,"multigraph":false,"graph":{"schema":"fnad.graph","version":1,"output":2},'
    '"nodes":[{"id":0,"op":"","label":LABEL,"data":1.0,"grad":2.0},'
    '{"id":1,"op":"const","label":"","data":2.0,"grad":1.0},'
    '{"id":2,"op":"mul","label":"","data":2.0,"grad":1.0}],'
    '"edges":[{"source":0,"target":2,"positions":[0],"partial":2.0,"flow":2.0},'
    '{"source":1,"target":2,"positions":[1],"partial":1.0,"flow":1.0}]EXTRA}'
)


def _small_graphml(label: str, escaped: bool = False) -> str:
    with fnad.Tape():
        y = fnad.Node(1.0, label="LABEL") * 2
    path = os.path.join(tempfile.mkdtemp(), "small.graphml")
    fnad.to_graphml(y, path)
    with open(path, encoding="utf-8") as file:
        text = file.read()
    flag = '<data key="v_label_escaped">true</data>' if escaped else ""
    return text.replace(">LABEL</data>", f">{label}</data>{flag}")


_GRAPHML_TEMPLATE = _small_graphml("LABEL")


def _fnad_graphml(label: str, escaped: bool = False) -> str:
    flag = '<data key="v_label_escaped">true</data>' if escaped else ""
    return _GRAPHML_TEMPLATE.replace(">LABEL</data>", f">{label}</data>{flag}")


def _other_layout(text: str) -> str:
    """The same GraphML in a layout fnad does not write: read by the XML parser."""
    return text.replace("<?xml version='1.0' encoding='utf-8'?>", '<?xml version="1.0"?>', 1)


def _json_label(body: str, unit: str, size: int) -> bytes:
    """The small JSON graph with the label ``"unit" * n`` filling ``size`` bytes."""
    count = max(1, (size - len(_SMALL_JSON)) // len(unit.encode()))
    return _SMALL_JSON.replace("LABEL", f'"{unit * count}"').replace("EXTRA", body).encode()


def json_plain_label(size: int) -> bytes:
    return _json_label("", "a", size)


def json_unicode_escapes(size: int) -> bytes:
    """A label of \\u03b8 escapes (what fnad.to_json writes for "θ" * n)."""
    return _json_label("", "\\u03b8", size)


def json_quote_escapes(size: int) -> bytes:
    return _json_label("", '\\"', size)


def json_short_escapes(size: int) -> bytes:
    return _json_label("", "\\n", size)


def json_raw_utf8(size: int) -> bytes:
    return _json_label("", "θ", size)


def json_long_float(size: int) -> bytes:
    """data spelled with millions of digits (it reads as 1.0)."""
    digits = max(1, size - len(_SMALL_JSON))
    text = _SMALL_JSON.replace("LABEL", '"x"').replace("EXTRA", "")
    return text.replace('"data":1.0', f'"data":1.{"0" * digits}', 1).encode()


def json_long_integer(size: int) -> bytes:
    """An ignored field holding an integer literal with millions of digits."""
    digits = max(1, size - len(_SMALL_JSON))
    return _SMALL_JSON.replace("LABEL", '"x"').replace("EXTRA", f',"n":{"7" * digits}').encode()


def json_whitespace(size: int) -> bytes:
    spaces = max(1, size - len(_SMALL_JSON))
    return _SMALL_JSON.replace("LABEL", '"x"').replace("EXTRA", " " * spaces).encode()


def json_long_key(size: int) -> bytes:
    """An ignored field whose key is millions of characters long."""
    count = max(1, size - len(_SMALL_JSON))
    return _SMALL_JSON.replace("LABEL", '"x"').replace("EXTRA", f',"{"k" * count}":0').encode()


def _graphml_label(unit: str, size: int, *, other: bool = False, escaped: bool = False) -> bytes:
    count = max(1, (size - len(_GRAPHML_TEMPLATE)) // len(unit.encode()))
    text = _fnad_graphml(unit * count, escaped)
    return (_other_layout(text) if other else text).encode()


def graphml_plain_label(size: int) -> bytes:
    return _graphml_label("a", size)


def graphml_entities(size: int) -> bytes:
    """A label "a<" * n as fnad.to_graphml writes it: a&lt;a&lt;..."""
    return _graphml_label("a&lt;", size)


def graphml_character_references(size: int) -> bytes:
    return _graphml_label("&#952;", size)


def graphml_entities_other_layout(size: int) -> bytes:
    return _graphml_label("a&lt;", size, other=True)


def graphml_raw_utf8(size: int) -> bytes:
    return _graphml_label("θ", size)


def graphml_escaped_label(size: int) -> bytes:
    """A label fnad had to escape (label_escaped): \\x07 escapes."""
    return _graphml_label("\\x07", size, escaped=True)


def graphml_cdata(size: int) -> bytes:
    count = max(1, size - len(_GRAPHML_TEMPLATE))
    return _other_layout(_fnad_graphml(f"<![CDATA[{'a' * count}]]>")).encode()


def graphml_comment(size: int) -> bytes:
    count = max(1, size - len(_GRAPHML_TEMPLATE))
    text = _GRAPHML_TEMPLATE.replace(">LABEL<", ">x<").replace(
        "<graphml ", f"<!--{'c' * count}--><graphml ", 1
    )
    return text.encode()


def graphml_processing_instruction(size: int) -> bytes:
    count = max(1, size - len(_GRAPHML_TEMPLATE))
    text = _GRAPHML_TEMPLATE.replace(">LABEL<", ">x<").replace(
        "<graphml ", f"<?pi {'p' * count}?><graphml ", 1
    )
    return text.encode()


def graphml_attribute(size: int) -> bytes:
    """An attribute value of millions of characters (on the root element)."""
    count = max(1, size - len(_GRAPHML_TEMPLATE))
    text = _GRAPHML_TEMPLATE.replace(">LABEL<", ">x<").replace(
        "<graphml ", f'<graphml note="{"v" * count}" ', 1
    )
    return text.encode()


def graphml_whitespace(size: int) -> bytes:
    count = max(1, size - len(_GRAPHML_TEMPLATE))
    return (
        _GRAPHML_TEMPLATE.replace(">LABEL<", ">x<")
        .replace("  </graph>", " " * count + "</graph>")
        .encode()
    )


def graphml_nested(depth: int) -> bytes:
    """``depth`` elements nested in one another inside the graph."""
    text = _GRAPHML_TEMPLATE.replace(">LABEL<", ">x<")
    return text.replace("  </graph>", "<a>" * depth + "</a>" * depth + "</graph>").encode()


def json_nested(depth: int) -> bytes:
    """``depth`` arrays nested in one another in an ignored field."""
    return (
        _SMALL_JSON.replace("LABEL", '"x"')
        .replace("EXTRA", f',"n":{"[" * depth}{"]" * depth}')
        .encode()
    )


TOKENS: dict[str, tuple[Callable[[int], bytes], Callable[..., Any]]] = {
    "JSON: a plain label": (json_plain_label, fnad.from_json),
    "JSON: a label of \\u escapes": (json_unicode_escapes, fnad.from_json),
    'JSON: a label of \\" escapes': (json_quote_escapes, fnad.from_json),
    "JSON: a label of \\n escapes": (json_short_escapes, fnad.from_json),
    "JSON: a label of raw UTF-8": (json_raw_utf8, fnad.from_json),
    "JSON: a float of millions of digits": (json_long_float, fnad.from_json),
    "JSON: an integer of millions of digits": (json_long_integer, fnad.from_json),
    "JSON: a run of whitespace": (json_whitespace, fnad.from_json),
    "JSON: a key of millions of characters": (json_long_key, fnad.from_json),
    "GraphML: a plain label": (graphml_plain_label, fnad.from_graphml),
    "GraphML: a label of &lt; entities": (graphml_entities, fnad.from_graphml),
    "GraphML: a label of &#952; references": (graphml_character_references, fnad.from_graphml),
    "GraphML: entities, any other layout": (graphml_entities_other_layout, fnad.from_graphml),
    "GraphML: a label of raw UTF-8": (graphml_raw_utf8, fnad.from_graphml),
    "GraphML: an escaped label (\\x07)": (graphml_escaped_label, fnad.from_graphml),
    "GraphML: a CDATA section": (graphml_cdata, fnad.from_graphml),
    "GraphML: a comment": (graphml_comment, fnad.from_graphml),
    "GraphML: a processing instruction": (graphml_processing_instruction, fnad.from_graphml),
    "GraphML: an attribute value": (graphml_attribute, fnad.from_graphml),
    "GraphML: a run of whitespace": (graphml_whitespace, fnad.from_graphml),
}
"""Documents with one long token of each kind (generator, loader); most are valid graphs."""


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


def tokens(mib: int) -> None:
    """Time per MB and peak memory per MB of each long-token document at ``mib`` and 2x."""
    print(f"one long token, {mib} and {2 * mib} MiB (ms per MiB; peak traced MiB per MiB):")
    for name, (make, load) in TOKENS.items():
        small, large = make(mib * 2**20), make(2 * mib * 2**20)
        t1, m1, message = measure(load, small)
        t2, m2, _ = measure(load, large)
        print(
            f"  {name:42} {1000 * t1 / mib:6.1f} {1000 * t2 / (2 * mib):6.1f} ms/MiB "
            f"(x{t2 / t1:4.2f})  {m1:4.2f} {m2:4.2f}  {message[:50]}"
        )
        del small, large


def main(argv: list[str]) -> None:
    if argv[:1] == ["tokens"]:
        tokens(int(argv[1]) if len(argv) > 1 else 16)
        return
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
