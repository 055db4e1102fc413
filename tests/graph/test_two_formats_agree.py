"""The JSON and GraphML readers give the same verdict on the same content.

Each case is one document written both ways from the same fields (a list of pairs per
vertex, edge and header, so a field may be given twice); GraphML is written in a layout
other than fnad's, so it goes through the XML parser. A field given twice is refused by
both: JSON refuses a repeated key, GraphML a repeated ``<data>`` (it used to keep the last).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

import fnad
from fnad.graph.schema import GRAPHML_NAMESPACE

Pairs = list[tuple[str, Any]]

# x * y + x, as fnad.to_json writes it (ids 0..4: x, y, mul, add)
HEADER: Pairs = [("schema", "fnad.graph"), ("version", 1), ("output", 3)]
VERTICES: list[Pairs] = [
    [("id", 0), ("op", ""), ("label", "x"), ("data", 2.0), ("grad", 4.0)],
    [("id", 1), ("op", ""), ("label", "y"), ("data", 3.0), ("grad", 2.0)],
    [("id", 2), ("op", "mul"), ("label", ""), ("data", 6.0), ("grad", 1.0)],
    [("id", 3), ("op", "add"), ("label", "z"), ("data", 8.0), ("grad", 1.0)],
]
EDGES: list[Pairs] = [
    [("source", 0), ("target", 2), ("positions", [0])],
    [("source", 1), ("target", 2), ("positions", [1])],
    [("source", 2), ("target", 3), ("positions", [0])],
    [("source", 0), ("target", 3), ("positions", [1])],
]
# GraphML keys: (id, for, attr.name, attr.type); "note" is a field fnad ignores
KEYS = [
    ("g_schema", "graph", "schema", "string"),
    ("g_version", "graph", "version", "int"),
    ("g_output", "graph", "output", "int"),
    ("g_note", "graph", "note", "string"),
    ("v_op", "node", "op", "string"),
    ("v_label", "node", "label", "string"),
    ("v_data", "node", "data", "double"),
    ("v_grad", "node", "grad", "double"),
    ("v_note", "node", "note", "string"),
    ("e_positions", "edge", "positions", "string"),
    ("e_note", "edge", "note", "string"),
]
ATTRIBUTES = {"id", "source", "target"}  # XML attributes in GraphML, not <data>


def json_value(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(str(value))  # "nan", "inf", "-inf"
    return json.dumps(value)


def json_object(pairs: Pairs) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{json_value(v)}" for k, v in pairs) + "}"


def to_json_text(header: Pairs, vertices: list[Pairs], edges: list[Pairs]) -> str:
    return (
        '{"directed":true,"multigraph":false,"graph":'
        + json_object(header)
        + ',"nodes":['
        + ",".join(map(json_object, vertices))
        + '],"edges":['
        + ",".join(map(json_object, edges))
        + "]}"
    )


def graphml_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return (
            "NaN"
            if math.isnan(value)
            else "INF"
            if value > 0 and math.isinf(value)
            else ("-INF" if math.isinf(value) else repr(value))
        )
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def graphml_element(tag: str, prefix: str, pairs: Pairs) -> str:
    attributes = "".join(f' {k}="{v}"' for k, v in pairs if k in ATTRIBUTES)
    fields = "".join(
        f'<data key="{prefix}_{k}">{graphml_value(v)}</data>'
        for k, v in pairs
        if k not in ATTRIBUTES
    )
    return f"<{tag}{attributes}>{fields}</{tag}>"


def to_graphml_text(header: Pairs, vertices: list[Pairs], edges: list[Pairs]) -> str:
    keys = "".join(
        f'<key id="{k}" for="{scope}" attr.name="{name}" attr.type="{kind}"/>'
        for k, scope, name, kind in KEYS
    )
    graph = "".join(f'<data key="g_{k}">{graphml_value(v)}</data>' for k, v in header)
    return (
        f'<graphml xmlns="{GRAPHML_NAMESPACE}">{keys}<graph edgedefault="directed">{graph}'
        + "".join(graphml_element("node", "v", v) for v in vertices)
        + "".join(graphml_element("edge", "e", e) for e in edges)
        + "</graph></graphml>"
    )


def verdict(load: Any, text: str) -> str:
    try:
        load(text)
    except fnad.GraphFormatError:
        return "refused"
    return "accepted"


def repeated(pairs: Pairs, field: str, value: Any) -> Pairs:
    """``pairs`` with ``field`` given again (with ``value``) right after its first place."""
    place = next((i for i, (k, _) in enumerate(pairs) if k == field), len(pairs) - 1)
    return [*pairs[: place + 1], (field, value), *pairs[place + 1 :]]


def cases() -> list[tuple[str, Pairs, list[Pairs], list[Pairs], str]]:
    """(name, header, vertices, edges, the expected verdict) for every paired document."""
    found: list[tuple[str, Pairs, list[Pairs], list[Pairs], str]] = [
        ("as written", HEADER, VERTICES, EDGES, "accepted"),
        ("an ignored field", [*HEADER, ("note", "hi")], VERTICES, EDGES, "accepted"),
    ]
    for field, value in [*HEADER, ("note", "hi")]:
        for again in (value, "other"):
            header = HEADER if field != "note" else [*HEADER, ("note", "hi")]
            found.append(
                (f"graph.{field} twice", repeated(header, field, again), VERTICES, EDGES, "refused")
            )
    for n in (0, 2, 3):
        for field, value in [*VERTICES[n][1:], ("note", "hi")]:
            base = VERTICES[n] if field != "note" else [*VERTICES[n], ("note", "hi")]
            for again in (value, 5.0 if field in ("data", "grad") else "neg"):
                vertices = list(VERTICES)
                vertices[n] = repeated(base, field, again)
                found.append((f"nodes[{n}].{field} twice", HEADER, vertices, EDGES, "refused"))
    for e in (0, 3):
        for field, value in [("positions", [0]), ("note", "hi")]:
            base = EDGES[e] if field != "note" else [*EDGES[e], ("note", "hi")]
            edges = list(EDGES)
            edges[e] = repeated(base, field, value)
            found.append((f"edges[{e}].{field} twice", HEADER, VERTICES, edges, "refused"))
        edges = list(EDGES)
        edges[e] = repeated(EDGES[e], "source", EDGES[e][0][1])
        found.append((f"edges[{e}].source twice", HEADER, VERTICES, edges, "refused"))
    vertices = list(VERTICES)
    vertices[2] = [pair for pair in VERTICES[2] if pair[0] != "op"]
    found.append(("nodes[2] without op", HEADER, vertices, EDGES, "refused"))
    return found


CASES = cases()


@pytest.mark.parametrize(
    ("header", "vertices", "edges", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_same_content_gets_the_same_verdict_in_both_formats(
    header: Pairs, vertices: list[Pairs], edges: list[Pairs], expected: str
) -> None:
    assert verdict(fnad.from_json, to_json_text(header, vertices, edges)) == expected
    assert verdict(fnad.from_graphml, to_graphml_text(header, vertices, edges)) == expected


def test_the_corpus_is_read_the_same_when_accepted() -> None:
    program = fnad.from_json(to_json_text(HEADER, VERTICES, EDGES))
    same = fnad.from_graphml(to_graphml_text(HEADER, VERTICES, EDGES))
    assert program.value_and_grad(x=2.0, y=3.0) == same.value_and_grad(x=2.0, y=3.0)
    assert program.value_and_grad(x=2.0, y=3.0).grads == {"x": 4.0, "y": 2.0}


def test_a_repeated_graphml_field_is_named() -> None:
    vertices = list(VERTICES)
    vertices[2] = repeated(VERTICES[2], "op", "add")
    with pytest.raises(
        fnad.GraphFormatError,
        match=r"nodes\[2\] gives the field 'op' twice \(two <data> elements for key 'v_op'\)",
    ):
        fnad.from_graphml(to_graphml_text(HEADER, vertices, EDGES))
    with pytest.raises(fnad.GraphFormatError, match="the key id 'v_op' is declared twice"):
        text = to_graphml_text(HEADER, VERTICES, EDGES)
        key = '<key id="v_op" for="node" attr.name="op" attr.type="string"/>'
        fnad.from_graphml(text.replace(key, key * 2))
