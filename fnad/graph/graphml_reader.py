"""The GraphML reader: :func:`read_graphml`.

The exact layout :func:`fnad.to_graphml` writes is recognised line by line (fast); any
other layout goes through expat, element by element, in up to three passes. DOCTYPE and
ENTITY declarations are refused before any XML is parsed.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Callable, Sequence
from typing import Any
from xml.parsers import expat

from fnad.engine.rules import RuleTable
from fnad.engine.table import GraphTable
from fnad.errors import GraphFormatError
from fnad.graph.builder import Builder
from fnad.graph.checks import (
    BATCH,
    CHUNK,
    MAX_BYTES,
    MAX_ENTRY_VALUES,
    MAX_VERTICES,
    Source,
    describe,
    fail,
    without_cyclic_gc,
)
from fnad.graph.schema import (
    GRAPHML_KEYS,
    GRAPHML_NAMESPACE,
    decode_double,
    decode_graphml_label,
)
from fnad.graph.sources import checked_limit, decode_in_pieces, document_source, rule_table

__all__ = ["read_graphml"]

# --------------------------------------------------------------------------- GraphML


def read_graphml(
    source: Source,
    *,
    rules: RuleTable | None = None,
    max_bytes: int = MAX_BYTES,
    max_vertices: int = MAX_VERTICES,
) -> GraphTable:
    """Read and check a GraphML file written by :func:`fnad.to_graphml` (a path, or its content).

    ``source`` follows the rule of :func:`document_source` (XML content starts with ``<``).
    Before any XML is parsed, DOCTYPE and ENTITY declarations are refused (no entity is
    ever expanded, no external file read). The file is then read as GraphML: the exact
    layout fnad writes is recognised line by line (fast); any other layout (a file saved
    by networkx, yEd or Gephi) goes through an XML parser, element by element, in up to
    three passes (the header and the counts, the vertices, the edges), so the graph's
    attributes may come anywhere in it.
    """
    table = rule_table(rules)
    limit = checked_limit("max_bytes", max_bytes)
    vertex_limit = checked_limit("max_vertices", max_vertices)
    content = document_source(source, what="GraphML", opening="<", max_bytes=limit)
    if isinstance(content, str):
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as error:
            raise fail(f"the GraphML text is not Unicode text ({error})", "pass UTF-8") from None
    else:
        data = bytes(content)
    del content
    _check_utf8(data)
    declaration = _FORBIDDEN_XML.search(data)
    if declaration is not None:
        token = declaration.group()[2:].decode().upper()
        raise fail(
            f"the GraphML contains a {token} declaration, which fnad refuses "
            "(entity expansion can exhaust memory or read local files)",
            "remove the DOCTYPE/ENTITY declarations; fnad.to_graphml writes none",
        )
    with without_cyclic_gc():
        graph = fnad_layout(data, Builder(table, vertex_limit, json=False))
        if graph is None:
            graph = xml_layout(data, Builder(table, vertex_limit, json=False))
    return graph


_FORBIDDEN_XML = re.compile(rb"<!(?i:doctype|entity)")
_GRAPHML = f"{GRAPHML_NAMESPACE} "  # how expat names elements with namespace_separator " "


def _check_utf8(data: bytes) -> None:
    if data.isascii():
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), CHUNK):
            decoder.decode(data[start : start + CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise fail(f"the GraphML is not UTF-8 ({error})", "save it as UTF-8") from None


def _graphml_int(text: str | None) -> int | str | None:
    if text is not None and _INT.fullmatch(text):
        return int(text)
    return text


_INT = re.compile(r"-?[0-9]{1,18}")


def _graphml_number(text: str) -> float | str:
    """A GraphML double as a float (NaN and INF included); text that is not one stays as is."""
    value = decode_double(text)
    if value is None or (value - value != 0.0 and text.lstrip("+") not in _NON_FINITE_DOUBLES):
        return text  # not a double, or one too large for a float (1e999)
    return value


_NON_FINITE_DOUBLES = ("NaN", "INF", "-INF", "nan", "inf", "-inf")


def _converted(kind: str | None, text: str) -> Any:
    if kind in ("double", "float"):
        return _graphml_number(text)
    if kind in ("int", "long"):
        return _graphml_int(text)
    return text


def _graphml_vertex(n: int, entry: dict[str, Any]) -> dict[str, Any]:
    """Decode a label that fnad.to_graphml had to escape (``label_escaped`` is true)."""
    flag = entry.pop("label_escaped", None)
    if flag is None or flag in ("false", "0"):
        return entry
    label = entry.get("label", "")
    if flag not in ("true", "1") or not isinstance(label, str):
        raise fail(f"nodes[{n}]: label_escaped is {describe(flag)}", 'write "true" or "false"')
    decoded = _decoded_label(label)
    if decoded is None:
        raise fail(
            f"nodes[{n}]: the escaped label {label!r:.60} has a malformed escape",
            "write \\\\, \\xNN or \\uNNNN escapes only, as fnad.to_graphml does",
        )
    entry["label"] = decoded
    return entry


def _decoded_label(text: str) -> str | None:
    """:func:`~fnad.graph.schema.decode_graphml_label`, in memory a small multiple of the text."""
    if len(text) < 4096:
        return decode_graphml_label(text)
    try:
        return _substituted(_LABEL_ESCAPE, text, _label_char, "\\")
    except _NotFnadLayout:
        return None


_LABEL_ESCAPE = re.compile(r"\\(?:(\\)|x([0-9a-f]{2})|u([0-9a-f]{4}))")


def _label_char(match: re.Match[str]) -> str:
    backslash, byte, unit = match.groups()
    return "\\" if backslash else chr(int(byte or unit, 16))


def _graphml_edge(e: int, entry: dict[str, Any]) -> dict[str, Any]:
    positions = entry.get("positions")
    if isinstance(positions, str):
        # Counted before it is split: a string of ten million commas is refused at once.
        if positions.count(",") >= MAX_ENTRY_VALUES:
            raise fail(
                f"edges[{e}] lists more than {MAX_ENTRY_VALUES:,} argument positions",
                'list the argument positions this edge fills, e.g. "0" or "0,1"',
            )
        parts = positions.split(",") if positions.strip() else []
        entry["positions"] = [_graphml_int(p) for p in parts]
    return entry


# ---------------------------------------------------------------- the layout fnad writes

# Each field as fnad writes it, strictly: a line that differs in any way (another number
# spelling, an attribute more, other whitespace) sends the whole file to the XML parser.
# Text is one run of characters (its references are checked by _text): a repeated group
# here would keep regex backtracking state per reference, ~140 bytes each.
_TEXT = rb"([^<>\x00-\x08\x0b\x0c\x0e-\x1f\r]*)"
_ID = rb"(-?[0-9]{1,18})"
_OP = rb"([A-Za-z0-9_.]*)"
_DOUBLE = rb"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:INF|inf)|NaN|nan)"


def _key_line(key: str, scope: str, name: str, kind: str) -> bytes:
    line = f'  <key id="{key}" for="{scope}" attr.name="{name}" attr.type="{kind}" />\n'
    return re.escape(line.encode())


_HEAD = re.compile(
    rb"<\?xml version='1\.0' encoding='utf-8'\?>\n"
    + re.escape(f'<graphml xmlns="{GRAPHML_NAMESPACE}">\n'.encode())
    + b"".join(_key_line(*key) for key in GRAPHML_KEYS)
    + rb'  <graph id="fnad" edgedefault="directed">\n'
    + rb'    <data key="g_schema">'
    + _TEXT
    + rb"</data>\n"
    + rb'    <data key="g_version">'
    + _TEXT
    + rb"</data>\n"
    + rb'    <data key="g_output">'
    + _TEXT
    + rb"</data>\n"
)
_NODE = re.compile(
    rb'    <node id="' + _ID + rb'"><data key="v_op">' + _OP + rb"</data>"
    rb'<data key="v_label">' + _TEXT + rb"</data>"
    rb'(<data key="v_label_escaped">true</data>)?'
    rb'<data key="v_data">'
    + _DOUBLE
    + rb'</data><data key="v_grad">'
    + _DOUBLE
    + rb"</data></node>\n"
)
_EDGE = re.compile(
    rb'    <edge source="' + _ID + rb'" target="' + _ID + rb'">'
    rb'<data key="e_positions">([0-9]{1,18}(?:,[0-9]{1,18})*)</data>'
    rb'<data key="e_partial">'
    + _TEXT
    + rb'</data><data key="e_flow">'
    + _TEXT
    + rb"</data></edge>\n"
)
_TAILS = (b"  </graph>\n</graphml>\n", b"  </graph>\n</graphml>")
_ANY_VERTEX = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?node[\s/>]")
_REFERENCE = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _NotFnadLayout(Exception):
    """The file is not laid out exactly as fnad.to_graphml writes it: parse it as XML."""


def _xml_char(match: re.Match[str]) -> str:
    name, decimal, hexadecimal = match.groups()
    if name:
        return _ENTITIES[name]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if not (
        code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF
    ) or code in (0xFFFE, 0xFFFF):
        raise _NotFnadLayout  # not well-formed: let the XML parser say so
    return chr(code)


def _text(raw: bytes) -> str:
    """The text of a field, its references replaced; _NotFnadLayout if one is malformed.

    Memory stays within a small multiple of the text whatever the number of references:
    the five named ones are replaced by ``str.replace``; character references by
    :func:`_substituted`.
    """
    text = raw.decode("utf-8") if len(raw) <= CHUNK or raw.isascii() else decode_in_pieces(raw)
    if "&" not in text:
        return text
    if "&#" not in text:
        named = sum(map(text.count, _NAMED))
        if named != text.count("&"):
            raise _NotFnadLayout  # an ampersand that starts no reference
        for reference in _NAMED:  # &amp; last: "&amp;lt;" is "&lt;", not "<"
            text = text.replace(reference, _ENTITIES[reference[1:-1]])
        return text
    return _substituted(_REFERENCE, text, _xml_char, "&")


_NAMED = ("&lt;", "&gt;", "&quot;", "&apos;", "&amp;")


def _substituted(
    pattern: re.Pattern[str], text: str, replace: Callable[[re.Match[str]], str], start: str
) -> str:
    """``pattern.sub(replace, text)`` where every ``start`` character must begin a match.

    In pieces of about a thousand matches joined as they come, so memory stays a small
    multiple of the text (``re.sub`` keeps a string per match: ~100 bytes each); raises
    :class:`_NotFnadLayout` if a ``start`` character begins no match.
    """
    done: list[str] = []
    pieces: list[str] = []
    end = 0
    for match in pattern.finditer(text):
        if text.find(start, end, match.start()) != -1:
            raise _NotFnadLayout
        pieces.append(text[end : match.start()])
        pieces.append(replace(match))
        end = match.end()
        if len(pieces) >= 2048:
            done.append("".join(pieces))
            pieces = []
    if text.find(start, end) != -1:
        raise _NotFnadLayout
    pieces.append(text[end:])
    done.append("".join(pieces))
    return "".join(done)


def fnad_layout(data: bytes, builder: Builder) -> GraphTable | None:
    """Read a file laid out exactly as fnad.to_graphml writes it; None if it is not."""
    if b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:
        return None  # U+FFFE/U+FFFF: not XML characters; the XML parser refuses them
    tail = next((len(data) - len(t) for t in _TAILS if data.endswith(t)), None)
    try:
        head = _HEAD.match(data, 3 if data.startswith(codecs.BOM_UTF8) else 0)
        if head is None or tail is None:
            return None
        schema, version, output = (_text(raw) for raw in head.groups())
        graph = {"schema": schema, "version": _graphml_int(version), "output": _graphml_int(output)}
        builder.check_header(graph)
        position = _fnad_nodes(data, head.end(), builder)
        # Edges are checked against every vertex: no vertex may come after them.
        if _ANY_VERTEX.search(data, position, tail) is not None:
            return None
        if _fnad_edges(data, position, builder) != tail:
            return None
    except _NotFnadLayout:
        return None
    return builder.finish(graph)


def _fnad_nodes(data: bytes, position: int, builder: Builder) -> int:
    """Read the vertex lines from ``position`` on, in batches; return where they end."""
    match_node = _NODE.match
    rows: list[tuple[bytes, ...]] = []
    count = 0
    while (match := match_node(data, position)) is not None:
        position = match.end()
        rows.append(match.groups())
        if len(rows) == BATCH:
            _vertex_rows(rows, count, builder)  # empties rows
            count += BATCH
    _vertex_rows(rows, count, builder)
    return position


def _vertex_rows(rows: list[tuple[bytes, ...]], first: int, builder: Builder) -> None:
    """Check vertex lines column by column (the template made every field well-formed).

    Empties ``rows``: each label's bytes are let go of once it is decoded (a label may be
    most of the file).
    """
    if not rows:
        return
    ids, ops, labels, escaped, data, grads = zip(*rows, strict=True)
    rows.clear()
    texts = list(map(_text, labels))
    del labels
    if not any(escaped):
        values = list(map(float, data))
        gradients = list(map(float, grads))
        if _spelled_non_finite(data, values) and _spelled_non_finite(grads, gradients):
            names = list(map(bytes.decode, ops))
            if builder.keep_vertices(list(map(int, ids)), names, texts, values, gradients):
                return
    entries = []
    for n, (vertex, op, label, flag, value, grad) in enumerate(
        zip(ids, ops, texts, escaped, data, grads, strict=True), first
    ):
        entry = {
            "id": int(vertex),
            "label": label,
            "op": op.decode(),
            "data": _graphml_number(value.decode()),
            "grad": _graphml_number(grad.decode()),
        }
        if flag:
            entry["label_escaped"] = "true"
        entries.append(_graphml_vertex(n, entry))
    builder.add_vertices(entries, first)


def _spelled_non_finite(texts: Sequence[bytes], values: Sequence[float]) -> bool:
    """Whether every non-finite value was spelled NaN, INF or -INF (not 1e999, too large)."""
    if all(map(math.isfinite, values)):
        return True
    return all(
        text.lstrip(b"+").decode() in _NON_FINITE_DOUBLES
        for text, value in zip(texts, values, strict=True)
        if not math.isfinite(value)
    )


def _fnad_edges(data: bytes, position: int, builder: Builder) -> int:
    """Read the edge lines from ``position`` on, in batches; return where they end."""
    match_edge = _EDGE.match
    rows: list[tuple[bytes, ...]] = []
    count = 0
    while (match := match_edge(data, position)) is not None:
        position = match.end()
        rows.append(match.group(1, 2, 3))
        if len(rows) == BATCH:
            _edge_rows(rows, count, builder)
            count += len(rows)
            rows = []
    _edge_rows(rows, count, builder)
    return position


def _edge_rows(rows: list[tuple[bytes, ...]], first: int, builder: Builder) -> None:
    """Check edge lines column by column if each fills one position, else line by line."""
    if not rows:
        return
    sources, targets, positions = zip(*rows, strict=True)
    if b"," not in b"".join(positions) and builder.keep_edges(
        list(map(int, sources)), list(map(int, targets)), list(map(int, positions))
    ):
        return
    entries = []
    for e, (source, target, places) in enumerate(rows, first):
        entry = {"source": int(source), "target": int(target), "positions": places.decode()}
        entries.append(_graphml_edge(e, entry))
    builder.add_edges(entries, first)


# ---------------------------------------------------------------- any other layout


class _Pass:
    """expat handlers shared by the passes: element depth, namespace, ``<data>`` fields."""

    def __init__(self, keys: dict[Any, tuple[Any, Any, Any]], ns: str) -> None:
        self.keys = keys
        self.ns = ns
        self.depth = 0
        self.field: tuple[str, str | None] | None = None  # (name, kind) of the <data> being read
        self.field_depth = 0
        self.text: list[str] = []
        self.fields: set[str] = set()  # the fields the current element has given

    def local(self, name: str) -> str | None:
        """The element's name if it is in the file's GraphML namespace, else None."""
        if self.ns:
            return name[len(self.ns) :] if name.startswith(self.ns) else None
        return None if " " in name else name

    def characters(self, text: str) -> None:
        # Only the text before a <data> element's first child counts, as ElementTree's .text.
        if self.field is not None and self.depth == self.field_depth:
            self.text.append(text)

    def open_field(self, attributes: dict[str, str]) -> None:
        key = attributes.get("key")
        _, name, kind = self.keys.get(key, (None, None, None))
        # A field given twice is refused, as JSON refuses a repeated key: never "last wins".
        field = name if name is not None else f"<data key={key!r}>"
        if field in self.fields:
            raise fail(
                f"{self.where()} gives the field {field!r} twice (two <data> elements"
                f"{'' if name is None else f' for key {key!r}'})",
                "keep one of them (a JSON document may not repeat a key either)",
            )
        self.fields.add(field)
        if name is not None:
            self.field, self.field_depth, self.text = (name, kind), self.depth, []

    def where(self) -> str:
        """The element whose ``<data>`` is being read, for messages."""
        return "the graph"

    def close_field(self, target: dict[str, Any]) -> None:
        if self.field is not None:
            name, kind = self.field
            target[name] = _converted(kind, "".join(self.text))
            self.field = None

    def child_started(self) -> None:
        if self.field is not None and self.depth > self.field_depth:
            self.field_depth = -1  # text after a child is not the field's text

    def run(self, data: bytes) -> None:
        parser = expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
        parser.buffer_text = True
        parser.buffer_size = 1 << 16
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.characters
        view = memoryview(data)
        try:
            for offset in range(0, len(data), CHUNK):
                parser.Parse(view[offset : offset + CHUNK], False)
                # The token expat has not finished starts at CurrentByteIndex; it scans it
                # again from its start at every call (pyexpat feeds it a megabyte at a
                # time whatever we pass), so a long one would cost quadratic time.
                start = max(parser.CurrentByteIndex, 0)
                if offset + CHUNK - start > MAX_MARKUP and offset + CHUNK < len(data):
                    raise _long_markup(data, start)
            parser.Parse(b"", True)
        except expat.ExpatError as error:
            raise fail(
                f"not well-formed XML ({error})", "pass a file fnad.to_graphml wrote"
            ) from None

    def start(self, name: str, attributes: dict[str, str]) -> None:
        raise NotImplementedError

    def end(self, name: str) -> None:
        raise NotImplementedError


MAX_MARKUP = CHUNK
"""The longest comment, processing instruction or tag (with its attributes) read: 1 MiB.
Labels are text, which has no limit but ``max_bytes``."""


MAX_XML_DEPTH = 256
"""How deeply GraphML elements may nest: fnad writes 4 levels, yEd about 10. The XML
parser keeps every open element (~100 bytes each), so a million nested ones took 17x the
file's size."""


def _too_deep() -> GraphFormatError:
    return fail(
        f"the GraphML nests elements more than {MAX_XML_DEPTH} levels deep "
        "(a fnad GraphML file nests 4 levels)",
        "this is not a file fnad.to_graphml wrote",
    )


def _long_markup(data: bytes, start: int) -> GraphFormatError:
    head = data[start : start + 64]
    if head.startswith(b"<!--"):
        kind = "a comment"
    elif head.startswith(b"<?"):
        kind = "a processing instruction"
    elif head.startswith(b"</"):
        kind = "an end tag"
    else:
        name = re.match(rb"<([^\s/>]{0,40})", head)
        kind = f"the tag <{name.group(1).decode('utf-8', 'replace') if name else ''} ...>"
    return fail(
        f"the GraphML has {kind} of more than {MAX_MARKUP:,} bytes (at byte {start:,})",
        "remove it: fnad reads comments, processing instructions and tags of at most 1 MiB "
        "(an XML parser scans a longer one again at every megabyte, in quadratic time)",
    )


class _HeaderPass(_Pass):
    """Pass 1: the keys, the graph's attributes, the number of graphs and of vertices."""

    def __init__(self, builder: Builder) -> None:
        super().__init__({}, "")
        self.builder = builder
        self.graphs = 0
        self.in_graph = False
        self.edgedefault = "directed"
        self.meta: dict[str, Any] = {}
        self.vertices = 0
        self.edges = 0
        self.vertex_after_edge = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise _too_deep()
        self.child_started()
        if self.depth == 1:
            if name not in (_GRAPHML + "graphml", "graphml"):
                namespace, _, bare = name.rpartition(" ")
                tag = f"{{{namespace}}}{bare}" if namespace else bare
                raise fail(f"the root element is <{tag}>, not <graphml>", "pass a GraphML file")
            self.ns = _GRAPHML if name.startswith(_GRAPHML) else ""
        elif self.depth == 2:
            local = self.local(name)
            if local == "key":
                if attributes.get("id") in self.keys:
                    raise fail(
                        f"the key id {attributes.get('id')!r} is declared twice",
                        "give every <key> its own id",
                    )
                self.keys[attributes.get("id")] = (
                    attributes.get("for"),
                    attributes.get("attr.name"),
                    attributes.get("attr.type"),
                )
            elif local == "graph":
                self.graphs += 1
                self.in_graph = self.graphs == 1
                self.fields = set()
                edgedefault = attributes.get("edgedefault")
                if self.in_graph and edgedefault is not None:
                    self.edgedefault = edgedefault
        elif self.depth == 3 and self.in_graph:
            local = self.local(name)
            if local == "data":
                self.open_field(attributes)
            elif local == "node":
                # A vertex without an integer id is refused at once, not after the file.
                vertex = _graphml_int(attributes.get("id"))
                if type(vertex) is not int:
                    raise fail(
                        f"nodes[{self.vertices}]: id is {describe(vertex)}, not an integer",
                        "use integer ids",
                    )
                self.vertices += 1
                self.vertex_after_edge = self.vertex_after_edge or self.edges > 0
                self.builder.count(self.vertices, exact=False)
            elif local == "edge":
                self.edges += 1

    def end(self, name: str) -> None:
        if self.depth == 3 and self.in_graph:
            self.close_field(self.meta)
        elif self.depth == 2:
            self.in_graph = False
        self.depth -= 1


class _EntryPass(_Pass):
    """Passes 2 and 3: the vertices and/or the edges, in batches, to the checks."""

    def __init__(self, header: _HeaderPass, builder: Builder, kinds: str) -> None:
        super().__init__(header.keys, header.ns)
        self.builder = builder
        self.kinds = kinds  # "node", "edge" or "node edge"
        self.in_graph = False
        self.graphs = 0
        self.entry: dict[str, Any] | None = None
        self.is_vertex = False
        self.vertices: list[Any] = []
        self.edges: list[Any] = []
        self.vertex_count = self.edge_count = 0
        self.commas = 0

    def characters(self, text: str) -> None:
        super().characters(text)
        if self.field is not None and self.field[0] == "positions" and not self.is_vertex:
            # Counted as it arrives: ten million commas are refused before they are kept.
            self.commas += text.count(",")
            if self.commas >= MAX_ENTRY_VALUES:
                _graphml_edge(self.edge_count + len(self.edges), {"positions": "," * self.commas})

    def open_field(self, attributes: dict[str, str]) -> None:
        super().open_field(attributes)
        self.commas = 0

    def where(self) -> str:
        if self.is_vertex:
            return f"nodes[{self.vertex_count + len(self.vertices)}]"
        return f"edges[{self.edge_count + len(self.edges)}]"

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise _too_deep()
        self.child_started()
        if self.depth == 2:
            if self.local(name) == "graph":
                self.graphs += 1
                self.in_graph = self.graphs == 1
        elif self.depth == 3 and self.in_graph:
            local = self.local(name)
            if local == "node" and "node" in self.kinds:
                self.entry = {"id": _graphml_int(attributes.get("id")), "label": ""}
                self.is_vertex = True
                self.fields = set()
            elif local == "edge" and "edge" in self.kinds:
                self.entry = {
                    "source": _graphml_int(attributes.get("source")),
                    "target": _graphml_int(attributes.get("target")),
                }
                self.is_vertex = False
                self.fields = set()
        elif self.depth == 4 and self.entry is not None and self.local(name) == "data":
            self.open_field(attributes)

    def end(self, name: str) -> None:
        depth = self.depth
        self.depth -= 1
        entry = self.entry
        if depth == 2:
            self.in_graph = False
        if entry is None:
            return
        if depth == 4:
            self.close_field(entry)
        elif depth == 3:
            self.entry = None
            if self.is_vertex:
                n = self.vertex_count + len(self.vertices)
                self.vertices.append(_graphml_vertex(n, entry))
                if len(self.vertices) == BATCH:
                    self.flush_vertices()
            else:
                self.flush_vertices()  # every vertex comes before the first edge
                e = self.edge_count + len(self.edges)
                self.edges.append(_graphml_edge(e, entry))
                if len(self.edges) == BATCH:
                    self.flush_edges()

    def flush_vertices(self) -> None:
        if self.vertices:
            self.builder.add_vertices(self.vertices, self.vertex_count)
            self.vertex_count += len(self.vertices)
            self.vertices = []

    def flush_edges(self) -> None:
        if self.edges:
            self.builder.add_edges(self.edges, self.edge_count)
            self.edge_count += len(self.edges)
            self.edges = []


def xml_layout(data: bytes, builder: Builder) -> GraphTable:
    """Any GraphML layout, through expat: the header and the counts first, then the entries."""
    header = _HeaderPass(builder)
    header.run(data)
    if header.graphs != 1:
        raise fail(
            f"the file holds {header.graphs} graphs", "a fnad GraphML file holds exactly one"
        )
    builder.check_header(header.meta)
    builder.check_shape(header.edgedefault == "directed", False)
    builder.count(header.vertices, exact=True)
    for kinds in ("node", "edge") if header.vertex_after_edge else ("node edge",):
        entries = _EntryPass(header, builder, kinds)
        entries.run(data)
        entries.flush_vertices()
        entries.flush_edges()
    return builder.finish(header.meta)
