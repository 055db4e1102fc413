"""from_json on untrusted documents: every malformed class is a GraphFormatError that names it."""

from __future__ import annotations

import copy
import errno
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fnad
from fnad import GraphFormatError, Node, from_json, to_json

Doc = dict[str, Any]


def seed_doc() -> Doc:
    with fnad.Tape():
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        z = x * y + x**2 + y.relu()
    doc: Doc = json.loads(to_json(z))
    return doc


def load(doc: Any, **kwargs: Any) -> fnad.Program:
    return from_json(json.dumps(doc), **kwargs)


def edge(doc: Doc, source: int, target: int) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e for e in doc["edges"] if (e["source"], e["target"]) == (source, target)
    )
    return found


def test_the_untouched_document_loads() -> None:
    assert load(seed_doc()).value_and_grad().value == 13.0


# Each case: a mutation of the seed document (vertices: 0 x, 1 y, 2 mul, 3 const 2, 4 pow,
# 5 add, 6 relu, 7 add) and the words the error must contain.
CASES: list[tuple[str, Callable[[Doc], Any], list[str]]] = [
    (
        "unknown op",
        lambda d: d["nodes"][2].update(op="os.system"),
        ["vertex 2 has op 'os.system', which is not in the rule table", "fnad.defop"],
    ),
    (
        "self-loop",
        lambda d: edge(d, 0, 2).update(source=2),
        ["self-loop on vertex 2", "remove the edge"],
    ),
    (
        "cycle",
        lambda d: [
            edge(d, 2, 5).update(positions=[0]),
            d["edges"].append({"source": 7, "target": 2, "positions": [1]}),
            d["edges"].remove(edge(d, 1, 2)),
        ],
        ["cycle through vertices", "2 -> 5 -> 7 -> 2", "acyclic"],
    ),
    (
        "wrong arity: a missing position",
        lambda d: d["edges"].remove(edge(d, 1, 2)),
        ["vertex 2 (op 'mul') takes 2 argument(s) but position(s) [1] have no edge"],
    ),
    (
        "position beyond the arity",
        lambda d: edge(d, 1, 2).update(positions=[2]),
        ["fills position 2 (int) of vertex 2", "takes 2 argument(s) (positions 0..1)"],
    ),
    (
        "duplicate argument position",
        lambda d: edge(d, 1, 2).update(positions=[0]),
        ["argument 0 of vertex 2 (op 'mul') is filled twice, by vertices 0 and 1"],
    ),
    (
        "position that is not an int",
        lambda d: edge(d, 1, 2).update(positions=["1"]),
        ["fills position '1' (str)"],
    ),
    (
        "empty positions",
        lambda d: edge(d, 1, 2).update(positions=[]),
        ["positions is [] (list), not a non-empty list"],
    ),
    (
        "edge to an undeclared vertex",
        lambda d: edge(d, 1, 2).update(target=99),
        ["has target 99 (int), which is not a declared vertex id"],
    ),
    (
        "edge from an undeclared vertex",
        lambda d: edge(d, 1, 2).update(source=-5),
        ["has source -5 (int), which is not a declared vertex id"],
    ),
    (
        "edge into an input",
        lambda d: d["edges"].append({"source": 1, "target": 0, "positions": [0]}),
        ["gives an argument to vertex 0 (label 'x'), which is an input and takes none"],
    ),
    (
        "edge into a const",
        lambda d: d["edges"].append({"source": 1, "target": 3, "positions": [0]}),
        ["gives an argument to vertex 3, which is a const"],
    ),
    (
        "repeated edge",
        lambda d: d["edges"].append(dict(edge(d, 0, 2))),
        ["repeats the edge 0 -> 2", "single edge's 'positions'"],
    ),
    (
        "duplicate vertex id",
        lambda d: d["nodes"][1].update(id=0),
        ["duplicate vertex id 0 (nodes[1])"],
    ),
    (
        "id that is not an int",
        lambda d: d["nodes"][1].update(id="1"),
        ["nodes[1]: id is '1' (str), not an integer"],
    ),
    (
        "bool id",
        lambda d: d["nodes"][1].update(id=True),
        ["nodes[1]: id is True (bool), not an integer"],
    ),
    (
        "missing id",
        lambda d: d["nodes"][1].pop("id"),
        ["nodes[1] has no 'id' field"],
    ),
    (
        "non-numeric data",
        lambda d: d["nodes"][0].update(data="2.0"),
        ["vertex 0 (label 'x'): data is '2.0' (str), not a number", '"nan", "inf", "-inf"'],
    ),
    (
        "null data",
        lambda d: d["nodes"][3].update(data=None),
        ["vertex 3: data is None (NoneType), not a number"],
    ),
    (
        "bool data",
        lambda d: d["nodes"][3].update(data=True),
        ["vertex 3: data is True (bool), not a number"],
    ),
    (
        "list data",
        lambda d: d["nodes"][3].update(data=[1.0]),
        ["vertex 3: data is [1.0] (list), not a number"],
    ),
    (
        "int too large for a float",
        lambda d: d["nodes"][3].update(data=10**400),
        ["vertex 3: data is", "not a number"],
    ),
    (
        "missing data",
        lambda d: d["nodes"][3].pop("data"),
        ["vertex 3 has no 'data' field"],
    ),
    (
        "non-numeric grad",
        lambda d: d["nodes"][3].update(grad={}),
        ["vertex 3: grad is {} (dict), not a number"],
    ),
    (
        "op that is not a string",
        lambda d: d["nodes"][2].update(op=3),
        ["vertex 2: op is 3 (int), not a string"],
    ),
    (
        "label that is not a string",
        lambda d: d["nodes"][2].update(label=None),
        ["vertex 2: label is None (NoneType), not a string"],
    ),
    (
        "missing op",
        lambda d: d["nodes"][2].pop("op"),
        ["vertex 2 has no 'op' field"],
    ),
    (
        "vertex that is not an object",
        lambda d: d["nodes"].__setitem__(2, [2, "mul"]),
        ["nodes[2] is [2, 'mul'] (list), not an object"],
    ),
    (
        "wrong schema version",
        lambda d: d["graph"].update(version=2),
        ["unsupported schema version 2 (int); this fnad reads version 1", "upgrade fnad"],
    ),
    (
        "older or odd schema version",
        lambda d: d["graph"].update(version="1"),
        ["unsupported schema version '1' (str)", "re-export"],
    ),
    (
        "missing schema version",
        lambda d: d["graph"].pop("version"),
        ["missing schema version (graph.version)"],
    ),
    (
        "wrong schema name",
        lambda d: d["graph"].update(schema="other"),
        ["graph.schema is 'other' (str), expected 'fnad.graph'"],
    ),
    (
        "missing graph object",
        lambda d: d.pop("graph"),
        ["missing the 'graph' object"],
    ),
    (
        "missing output",
        lambda d: d["graph"].pop("output"),
        ["missing graph.output"],
    ),
    (
        "undeclared output",
        lambda d: d["graph"].update(output=42),
        ["graph.output is 42 (int), which is not a declared vertex id"],
    ),
    (
        "vertex that does not feed the output",
        lambda d: d["graph"].update(output=5),
        ["vertex 6 does not feed the output vertex 5 (2 such vertices)"],
    ),
    (
        "nodes not a list",
        lambda d: d.update(nodes={"0": {}}),
        ["'nodes' is {'0': {}} (dict), not a list"],
    ),
    (
        "no vertices",
        lambda d: d.update(nodes=[], edges=[]),
        ["the graph has no vertices"],
    ),
    (
        "undirected",
        lambda d: d.update(directed=False),
        ['set "directed": true'],
    ),
]


@pytest.mark.parametrize(("mutate", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_malformed_document_is_named(mutate: Callable[[Doc], Any], words: list[str]) -> None:
    doc = seed_doc()
    mutate(doc)
    with pytest.raises(GraphFormatError) as info:
        load(doc)
    message = str(info.value)
    assert message.startswith("graph document: ")
    assert "; " in message  # problem; fix
    for word in words:
        assert word in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["not valid JSON"]),
        ("{", ["not valid JSON"]),
        ("[1, 2]", ["the top level is list, not an object"]),
        ('"fnad"', ["the top level is str, not an object"]),
        ('{"graph": {"schema": "fnad.graph", "version": 1, "x": NaN}}', ["NaN is not strict"]),
        ('{"a": Infinity}', ["Infinity is not strict JSON"]),
        ('{"a": -Infinity}', ["-Infinity is not strict JSON"]),
        ('{"graph": {}, "graph": {}}', ["the key 'graph' appears twice"]),
    ],
)
def test_invalid_json_is_named(text: str, words: list[str]) -> None:
    with pytest.raises(GraphFormatError) as info:
        from_json(text)
    for word in words:
        assert word in str(info.value)


def test_non_text_input() -> None:
    with pytest.raises(
        fnad.GraphArgumentError,
        match=r"expected the path or the content of a JSON document .* got dict",
    ) as info:
        from_json({"graph": {}})  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    with pytest.raises(GraphFormatError, match="not UTF-8"):
        from_json(b"\xff\xfe{")
    doc = seed_doc()
    assert from_json(json.dumps(doc).encode()).value == 13.0


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deep_nesting_is_refused_before_parsing(opener: str) -> None:
    depth = sys.getrecursionlimit() * 50
    closer = "]" if opener == "[" else "}"
    text = '{"graph": ' + opener * depth + "1" + closer * depth + "}"
    with pytest.raises(GraphFormatError, match="nests more than 16 levels deep"):
        from_json(text)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    doc = seed_doc()
    doc["nodes"][0]["label"] = '[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{\\"[['
    assert load(doc).input_names[0] == doc["nodes"][0]["label"]


def test_size_limits() -> None:
    text = to_json_seed()
    with pytest.raises(GraphFormatError, match="above the limit of 100; pass a larger max_bytes="):
        from_json(text, max_bytes=100)
    with pytest.raises(GraphFormatError, match="above the limit of 100"):
        from_json(text.encode(), max_bytes=100)
    with pytest.raises(GraphFormatError, match=r"8 vertices, above the limit of 5.*max_vertices="):
        from_json(text, max_vertices=5)


def to_json_seed() -> str:
    return json.dumps(seed_doc())


def test_nothing_in_a_document_is_evaluated_as_python() -> None:
    doc = seed_doc()
    doc["nodes"][2]["op"] = "__import__('os').system('false')"
    with pytest.raises(GraphFormatError, match="not in the rule table"):
        load(doc)
    doc = seed_doc()
    doc["nodes"][2]["op"] = "__class__"
    with pytest.raises(GraphFormatError, match="not in the rule table"):
        load(doc)


def test_unknown_extra_fields_are_ignored() -> None:
    doc = seed_doc()
    doc["nodes"][0]["color"] = "red"
    doc["edges"][0]["weight"] = 2
    doc["graph"]["name"] = "seed"
    assert load(doc).value == 13.0


def test_a_hand_written_document_in_any_vertex_order_loads() -> None:
    doc = {
        "graph": {"schema": "fnad.graph", "version": 1, "output": "z"},
        "nodes": [{"id": 0, "op": "", "data": 1.0}],
        "edges": [],
    }
    with pytest.raises(GraphFormatError, match=r"graph\.output is 'z'"):
        load(doc)
    doc = {
        "graph": {"schema": "fnad.graph", "version": 1, "output": 10},
        "nodes": [
            {"id": 10, "op": "sub", "data": 0.0},
            {"id": 3, "op": "", "label": "b", "data": 1.0},
            {"id": 7, "op": "", "label": "a", "data": "inf"},
        ],
        "edges": [
            {"source": 3, "target": 10, "positions": [0]},
            {"source": 7, "target": 10, "positions": [1]},
        ],
    }
    prog = load(doc)
    assert prog.input_names == ("b", "a")
    assert prog.value_and_grad(a=1.0, b=5.0) == (4.0, {"b": 1.0, "a": -1.0})


@given(st.data())
def test_random_mutations_never_crash(data: st.DataObject) -> None:
    """Any change to a valid document either loads or raises GraphFormatError."""
    doc = seed_doc()
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 12),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        st.sampled_from(["nan", "inf", "mul", "", "const", "relu"]),
        st.lists(st.integers(-1, 3), max_size=3),
    )
    for _ in range(data.draw(st.integers(1, 4))):
        section = data.draw(st.sampled_from(["nodes", "edges", "graph"]))
        if section == "graph":
            key = data.draw(st.sampled_from(["schema", "version", "output"]))
            doc["graph"][key] = data.draw(junk)
            continue
        entries = doc[section]
        if not entries:
            continue
        i = data.draw(st.integers(0, len(entries) - 1))
        action = data.draw(st.sampled_from(["set", "drop", "delete", "copy"]))
        if action == "delete":
            del entries[i]
        elif action == "copy":
            entries.append(copy.deepcopy(entries[i]))
        else:
            key = data.draw(st.sampled_from(sorted(entries[i])))
            if action == "drop":
                del entries[i][key]
            else:
                entries[i][key] = data.draw(junk)
    try:
        prog = load(doc)
    except GraphFormatError:
        return
    prog.value_and_grad()  # whatever loads also replays


# --------------------------------------------------------------------------- GraphML


def seed_graphml(tmp_path: Path) -> str:
    with fnad.Tape():
        x, y = Node(2.0, label="x"), Node(3.0, label="y")
        z = x * y + x**2 + y.relu()
    path = tmp_path / "seed.graphml"
    fnad.to_graphml(z, path)
    return path.read_text(encoding="utf-8")


def test_graphml_loads_back(tmp_path: Path) -> None:
    text = seed_graphml(tmp_path)
    assert fnad.from_graphml(text.encode()).value_and_grad() == (13.0, {"x": 7.0, "y": 3.0})
    assert fnad.from_graphml(tmp_path / "seed.graphml").input_names == ("x", "y")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph><node id="&lol2;"/></graph></graphml>
"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE graphml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph><node id="&secret;"/></graph></graphml>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL], ids=["entities", "external"])
def test_graphml_doctype_and_entities_are_refused_before_parsing(text: str) -> None:
    with pytest.raises(
        GraphFormatError, match="contains a DOCTYPE declaration, which fnad refuses"
    ):
        fnad.from_graphml(text.encode())


def test_graphml_malformed_documents(tmp_path: Path) -> None:
    text = seed_graphml(tmp_path)
    cases = [
        (text[:200], "not well-formed XML"),
        ("<root/>", "the root element is <root>, not <graphml>"),
        (text.replace('<node id="1">', '<node id="n1">'), "id is 'n1' (str), not an integer"),
        (text.replace(">mul<", ">no.such<"), "op 'no.such', which is not in the rule table"),
        (text.replace(">3.0</data>", ">three</data>", 1), "data is 'three' (str), not a number"),
        (
            text.replace('<data key="e_positions">1</data>', '<data key="e_positions">0</data>', 1),
            "is filled twice",
        ),
        (
            text.replace('<data key="g_version">1</data>', '<data key="g_version">2</data>'),
            "unsupported schema version 2",
        ),
        (text.replace('edgedefault="directed"', 'edgedefault="undirected"'), '"directed": true'),
        (text.replace('source="4" target="5"', 'source="5" target="5"'), "self-loop on vertex 5"),
    ]
    for broken, words in cases:
        assert broken != text
        with pytest.raises(GraphFormatError) as info:
            fnad.from_graphml(broken.encode())
        assert words in str(info.value), (words, str(info.value))
    with pytest.raises(GraphFormatError, match="above the limit of 100"):
        fnad.from_graphml(tmp_path / "seed.graphml", max_bytes=100)
    with pytest.raises(GraphFormatError, match="not UTF-8"):
        fnad.from_graphml(b"\xff\xfe<graphml/>")


@pytest.mark.parametrize(
    "text",
    ['\\"' * 1_000_000, '"' + '\\"' * 1_000_000 + "\\", '{"graph": ["' + "\\" * 2_000_001],
)
def test_hostile_text_is_rejected_in_linear_time(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(GraphFormatError, match="not valid JSON"):
        from_json(text.encode())  # bytes: the content, never a path
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- sources: a path or the document itself (docs/graph-format.md)


def test_a_source_is_a_path_or_the_content_by_a_documented_rule(tmp_path: Path) -> None:
    with fnad.Tape():
        x = Node(2.0, label="x")
        z = x * x + 1
    json_path, graphml_path = tmp_path / "z.json", tmp_path / "z.graphml"
    json_path.write_text(to_json(z), encoding="utf-8")
    fnad.to_graphml(z, graphml_path)
    text, xml = json_path.read_text(encoding="utf-8"), graphml_path.read_text(encoding="utf-8")
    sources: tuple[Any, ...] = (text, "\n  " + text, text.encode(), bytearray(text.encode()))
    for source in (*sources, memoryview(text.encode())):
        assert from_json(source).value == 5.0
    assert from_json(json_path).value == from_json(str(json_path)).value == 5.0
    sources = (xml, xml.encode(), memoryview(xml.encode()))
    for source in sources:
        assert fnad.from_graphml(source).value == 5.0  # XML as str content works
    assert fnad.from_graphml(graphml_path).value == fnad.from_graphml(str(graphml_path)).value


@pytest.mark.parametrize("load", [fnad.from_json, fnad.from_graphml], ids=["json", "graphml"])
@pytest.mark.parametrize(
    "source",
    [True, False, 0, 1, 2, None, 3.5, object(), [b"{}"]],
    ids=lambda v: "object()" if type(v) is object else repr(v),  # no address: same in every process
)
def test_anything_else_is_a_type_error_and_no_file_descriptor_is_read(
    load: Callable[..., Any], source: Any
) -> None:
    with pytest.raises(fnad.GraphArgumentError, match="file descriptors are not read") as info:
        load(source)
    assert isinstance(info.value, TypeError) and isinstance(info.value, fnad.FnadError)


def test_an_open_pipe_descriptor_is_neither_read_nor_closed() -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"{}")
        with pytest.raises(fnad.GraphArgumentError):
            fnad.from_graphml(read_end)  # type: ignore[arg-type]
        assert os.read(read_end, 2) == b"{}"  # still open, nothing consumed
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize("load", [fnad.from_json, fnad.from_graphml], ids=["json", "graphml"])
def test_only_regular_files_are_read(load: Callable[..., Any], tmp_path: Path) -> None:
    with pytest.raises(GraphFormatError, match="is a directory, not a regular file"):
        load(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        with pytest.raises(GraphFormatError, match=r"is a named pipe \(FIFO\), not a regular"):
            load(fifo)  # refused at once: no writer is waited for
    if os.path.exists("/dev/null"):
        with pytest.raises(GraphFormatError, match="is a character device"):
            load("/dev/null")
    with pytest.raises(fnad.GraphFileError, match="check the path") as info:
        load(tmp_path / "missing")
    assert isinstance(info.value, OSError) and info.value.filename == str(tmp_path / "missing")


@pytest.mark.parametrize(
    ("load", "text", "opening"),
    [
        (fnad.from_json, "null", """'{', '[' or '"'"""),
        (fnad.from_json, "  true", """'{', '[' or '"'"""),
        (fnad.from_json, "graph.json", """'{', '[' or '"'"""),
        (fnad.from_graphml, "graph.graphml", "'<'"),
    ],
)
def test_a_str_that_is_not_a_document_is_a_path_and_the_error_says_so(
    load: Callable[..., Any], text: str, opening: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(fnad.GraphFileError) as info:
        load(text)
    error = info.value
    assert isinstance(error, OSError) and isinstance(error, fnad.FnadError)
    assert error.errno == errno.ENOENT and error.filename == text
    assert str(error) == (
        f"cannot read the {'JSON' if load is fnad.from_json else 'GraphML'} document from the "
        f"file {text!r}: No such file or directory (the str was taken as a path: a document's "
        f"text starts with {opening} after whitespace, and this one starts with "
        f"{text.strip()[0]!r}); pass the path of an existing file, or the document itself as "
        "text or bytes"
    )


@pytest.mark.parametrize("load", [fnad.from_json, fnad.from_graphml], ids=["json", "graphml"])
@pytest.mark.parametrize(
    "keyword",
    [
        {"max_vertices": "x"},
        {"max_vertices": None},
        {"max_vertices": 1.5},
        {"max_vertices": -1},
        {"max_vertices": True},
        {"max_bytes": "100"},
        {"rules": "x"},
        {"rules": {}},
    ],
    ids=repr,
)
def test_bad_limits_and_tables_are_fnad_type_errors(
    load: Callable[..., Any], keyword: dict[str, Any]
) -> None:
    with pytest.raises(fnad.GraphArgumentError) as info:
        load(to_json_seed(), **keyword)
    assert isinstance(info.value, TypeError)


# --------------------------------------------------------------------------- strict numbers


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "1E400"])
@pytest.mark.parametrize("key", ["data", "grad"])
def test_json_numbers_too_large_for_a_float_are_refused(literal: str, key: str) -> None:
    doc = seed_doc()
    doc["nodes"][0][key] = "LITERAL"
    text = json.dumps(doc).replace('"LITERAL"', literal)
    with pytest.raises(GraphFormatError, match=f"{key} is a number too large for a float"):
        from_json(text)


@pytest.mark.parametrize(
    ("find", "replace", "words"),
    [
        ('<data key="g_version">1<', '<data key="g_version">1_000<', "version '1_000' (str)"),
        ('<data key="g_version">1<', '<data key="g_version"> 1<', "version ' 1' (str)"),
        ('<data key="g_version">1<', '<data key="g_version">+1<', "version '+1' (str)"),
        ('<data key="g_version">1<', '<data key="g_version">١<', "version '١' (str)"),
        ('<node id="1">', '<node id=" 1">', "id is ' 1' (str), not an integer"),
        ('<node id="1">', '<node id="1_0">', "id is '1_0' (str), not an integer"),
        ('key="v_data">2.0<', 'key="v_data">infinity<', "data is 'infinity' (str), not a number"),
        ('key="v_data">2.0<', 'key="v_data">1_0.0<', "data is '1_0.0' (str), not a number"),
        ('key="v_data">2.0<', 'key="v_data"> 2.0<', "data is ' 2.0' (str), not a number"),
        ('key="v_data">2.0<', 'key="v_data">1e999<', "data is '1e999' (str), not a number"),
        ('key="v_data">2.0<', 'key="v_data">NAN<', "data is 'NAN' (str), not a number"),
        ('key="v_data">2.0<', 'key="v_data">Infinity<', "data is 'Infinity' (str), not a number"),
    ],
)
def test_graphml_numbers_are_parsed_strictly(
    tmp_path: Path, find: str, replace: str, words: str
) -> None:
    text = seed_graphml(tmp_path)
    assert find in text
    broken = text.replace(find, replace, 1)
    for source in (broken, broken.replace("    <", "<")):  # fnad's layout, and any other
        with pytest.raises(GraphFormatError) as info:
            fnad.from_graphml(source)
        assert words in str(info.value)


def test_graphml_non_finite_doubles_spelled_as_xml_schema_does_load() -> None:
    with fnad.Tape():
        x = Node(0.0, label="x")
        z = x.log() + fnad.Node(float("nan"))
    path = os.path.join(tempfile.mkdtemp(), "z.graphml")
    fnad.to_graphml(z, path)
    text = Path(path).read_text(encoding="utf-8")
    assert ">-INF<" in text and ">NaN<" in text
    for source in (text, text.replace("    <", "<")):
        program = fnad.from_graphml(source)
        value = program.value_and_grad().value
        assert value != value  # -inf + nan
