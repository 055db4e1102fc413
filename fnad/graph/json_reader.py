"""The streaming JSON reader: :func:`read_json`.

The top-level object is read member by member; the vertices and the edges are decoded a
chunk at a time (about 1 MiB of text, 4 MiB at most) after their brackets have been
counted, so the recursive JSON decoder never sees more than :data:`MAX_DEPTH` levels or
:data:`MAX_ENTRY_VALUES` values in one entry.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any, Literal, overload

from fnad.engine.rules import RuleTable
from fnad.engine.table import GraphTable
from fnad.errors import GraphFormatError
from fnad.graph.builder import Builder
from fnad.graph.checks import (
    CHUNK,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_ENTRY_VALUES,
    MAX_VERTICES,
    Source,
    fail,
    without_cyclic_gc,
)
from fnad.graph.sources import checked_limit, decode_in_pieces, document_source, rule_table

__all__ = ["read_json"]

# --------------------------------------------------------------------------- JSON


def _reject_constant(token: str) -> Any:
    raise fail(
        f"the JSON token {token} is not strict JSON",
        'write non-finite numbers as the strings "nan", "inf" and "-inf", as fnad.to_json does',
    )


def _bounded_int(literal: str) -> int:
    """A JSON integer, converted only if short: Python's conversion is quadratic in its length."""
    if len(literal) <= _MAX_DIGITS:
        try:
            return int(literal)
        except ValueError:  # a lower sys.set_int_max_str_digits() limit
            pass
    raise fail(
        f"a JSON integer literal has {len(literal):,} digits ({literal:.20}...), more than "
        "fnad reads",
        "write it as a float (1e5000 is refused too: use a finite number) or remove it; "
        "fnad.to_json writes no such number",
    )


_MAX_DIGITS = 4300  # CPython's default limit of int() on a str (sys.int_info)


_DIGIT_MAP = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_RUN = b"0" * 4301


def _long_digits(piece: str) -> bool:
    """Whether ``piece`` holds a run of more than 4,300 digits (linear, at C speed)."""
    return _LONG_RUN in piece.encode("utf-8", "surrogatepass").translate(_DIGIT_MAP)


def _SAFE_INTS() -> bool:
    """Whether the plain decoder refuses long integers itself (``int()``'s limit is on and
    at most ours): then a chunk needs no scan for long digit runs first."""
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    return 0 < limit <= _MAX_DIGITS


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, value in pairs:
            if key in seen:
                raise fail(
                    f"the key {key!r:.60} appears twice in one JSON object (value {value!r:.40})",
                    "keep one of them",
                )
            seen.add(key)
    return result


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_constant=_reject_constant, parse_int=_bounded_int
)
_WS = re.compile(r"[ \t\n\r]*")
# A string (or an unterminated one up to the end: every attempt at a quote succeeds, so a
# scan stays linear on text such as '\\"' * 10**6), or one structural character. The
# repeats are possessive: the regex engine keeps no backtracking state per escape (with
# plain ones, a string of a million escapes held ~70 bytes of it per escape).
_STRUCTURE = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+\\?(?:"|\Z)|[\[\]{},]', re.DOTALL)
_BOUNDARY = re.compile(r"\}[ \t\n\r]*,[ \t\n\r]*\{")


def read_json(
    source: Source,
    *,
    rules: RuleTable | None = None,
    max_bytes: int = MAX_BYTES,
    max_vertices: int = MAX_VERTICES,
) -> GraphTable:
    """Read and check a ``fnad.graph`` JSON document (a path, or its text or bytes).

    ``source`` follows the rule of :func:`document_source`. Ops are resolved by name in
    ``rules`` (default: :func:`fnad.current_rules`).

    >>> read_json('{"graph": {"schema": "fnad.graph", "version": 9}}')
    Traceback (most recent call last):
    ...
    fnad.errors.GraphFormatError: graph document: unsupported schema version 9 (int); this fnad reads version 1; upgrade fnad to read it
    """
    table = rule_table(rules)
    limit = checked_limit("max_bytes", max_bytes)
    builder = Builder(table, checked_limit("max_vertices", max_vertices))
    content = document_source(source, what="JSON", opening='{["', max_bytes=limit)
    if isinstance(content, str):
        text = content
    else:
        try:
            text = decode_in_pieces(content, "utf-8-sig")
        except UnicodeDecodeError as error:
            raise fail(f"the bytes are not UTF-8 ({error})", "save the file as UTF-8") from None
        del content
    reader = _JsonReader(text, builder)
    del text  # the reader lets go of it before the last checks, which need only the columns
    with without_cyclic_gc():
        return reader.read()


class _JsonReader:
    """The top-level object member by member; vertices and edges decoded chunk by chunk.

    Vertices are checked as soon as the header has been read, edges once every vertex has
    been: an array that comes too early is skipped (and counted) and read again later.
    """

    def __init__(self, text: str, builder: Builder) -> None:
        self.text = text
        self.builder = builder
        self.chunk = max(1 << 14, min(CHUNK, len(text) // 64))
        self.slow_until = 0  # entries before this position are read one at a time
        self.members: dict[str, Any] = {}
        self.arrays: dict[str, int] = {}  # "nodes"/"edges" -> where the '[' is
        self.done: set[str] = set()

    def syntax(self, message: str, position: int) -> GraphFormatError:
        error = json.JSONDecodeError(message, self.text, position)
        return fail(f"not valid JSON ({error})", "pass the text fnad.to_json wrote")

    def ws(self, position: int) -> int:
        match = _WS.match(self.text, position)
        assert match is not None
        return match.end()

    # ---------------------------------------------------------------- top level

    def read(self) -> GraphTable:
        text = self.text
        i = self.ws(0)
        if not text.startswith("{", i):
            kind = "list" if text.startswith("[", i) else type(self.value(i, 1)[0]).__name__
            raise fail(
                f"the top level is {kind}, not an object",
                'a fnad.graph document is {"graph": ..., "nodes": [...], "edges": [...]}',
            )
        i = self.ws(i + 1)
        if text.startswith("}", i):
            i += 1
        else:
            i = self.members_from(i)
        if self.ws(i) != len(text):
            raise self.syntax("Extra data", self.ws(i))
        del text
        return self.finish()

    def members_from(self, i: int) -> int:
        """Read the members of the top-level object from ``i``; return the end of the object."""
        text = self.text
        while True:
            if not text.startswith('"', i):
                raise self.syntax("Expecting property name enclosed in double quotes", i)
            key, i = self.value(i, 1)
            i = self.ws(i)
            if not text.startswith(":", i):
                raise self.syntax("Expecting ':' delimiter", i)
            i = self.ws(i + 1)
            if key in self.members or key in self.arrays:
                value = self.value(i, 2, preview=True)[0]
                raise fail(
                    f"the key {key!r:.60} appears twice in one JSON object (value {value!r:.40})",
                    "keep one of them",
                )
            if key in ("nodes", "edges") and text.startswith("[", i):
                self.arrays[key] = i
                i = self.array(i, key, check=self.ready(key))
            else:
                self.members[key], i = self.value(i, 2, f"the value of {key!r:.60}")
            i = self.ws(i)
            if text.startswith(",", i):
                i = self.ws(i + 1)
            elif text.startswith("}", i):
                return i + 1
            else:
                raise self.syntax("Expecting ',' delimiter", i)

    def ready(self, key: str) -> bool:
        """Whether ``key``'s entries can be checked now: the header first, vertices before edges."""
        if "graph" not in self.members or (key == "edges" and "nodes" not in self.done):
            return False
        self.check_header()
        return True

    def check_header(self) -> None:
        members = self.members
        self.builder.check_header(members.get("graph"))
        self.builder.check_shape(members.get("directed", True), members.get("multigraph", False))

    def finish(self) -> GraphTable:
        self.check_header()
        self.builder.check_lists(
            [] if "nodes" in self.arrays else self.members.get("nodes"),
            [] if "edges" in self.arrays else self.members.get("edges"),
        )
        for key in ("nodes", "edges"):
            if key not in self.done:
                self.array(self.arrays[key], key, check=True)
        self.text = ""
        return self.builder.finish(self.members["graph"])

    # ---------------------------------------------------------------- values

    def value(self, i: int, depth: int, what: str = "", preview: bool = False) -> tuple[Any, int]:
        """Decode the value at ``i`` (at nesting ``depth``) once its extent is known to be small."""
        text = self.text
        if text.startswith(("[", "{"), i):
            try:
                self.extent(i, depth, what or f"the value at character {i:,}")
            except GraphFormatError:
                if preview:
                    return ("[...]" if text[i] == "[" else "{...}"), i
                raise
        try:
            return _DECODER.raw_decode(text, i)
        except json.JSONDecodeError as error:
            raise fail(f"not valid JSON ({error})", "pass the text fnad.to_json wrote") from None

    def extent(self, i: int, depth: int, what: str) -> int:
        """Scan the container at ``i`` without decoding it: its end, if shallow and small enough."""
        text = self.text
        level = count = 0
        for match in _STRUCTURE.finditer(text, i):
            char = text[match.start()]
            if char == '"':
                continue
            if char in "[{":
                level += 1
                count += 1
                if depth + level - 1 > MAX_DEPTH:
                    raise fail(
                        f"the JSON nests more than {MAX_DEPTH} levels deep "
                        "(a fnad.graph document nests 4 levels)",
                        "this is not a document fnad.to_json wrote",
                    )
            elif char in "]}":
                level -= 1
                if level == 0:
                    return match.end()
            else:
                count += 1
            if count > MAX_ENTRY_VALUES:
                raise fail(
                    f"{what} holds more than {MAX_ENTRY_VALUES:,} values (a vertex or an edge "
                    "holds about 10)",
                    "remove the large annotation; fnad ignores extra fields, but only small ones",
                )
        return len(text)  # unterminated: the decoder says so

    # ---------------------------------------------------------------- arrays

    def array(self, i: int, key: str, check: bool) -> int:
        """Read the array of vertices or edges at ``i``; check its entries if ``check``.

        Otherwise (it comes before what it needs) it is read again later; meanwhile its
        entries are counted and their shape is checked, so junk is refused at once.
        """
        text, builder = self.text, self.builder
        handle: Callable[[list[Any], int], None] = builder.check_shapes
        if check:
            handle = builder.add_vertices if key == "nodes" else builder.add_edges
            self.done.add(key)
        elif key == "edges":
            handle = builder.check_edge_shapes
        i = self.ws(i + 1)
        count = 0
        if text.startswith("]", i):
            return i + 1
        while True:
            batch, i = self.batch(i, f"{key}[{count}]")
            i = self.ws(i)
            if key == "nodes":  # exact when this batch ends the array
                builder.count(count + len(batch), exact=text.startswith("]", i))
            handle(batch, count)
            count += len(batch)
            if text.startswith("]", i):
                return i + 1
            if not text.startswith(",", i):
                raise self.syntax("Expecting ',' delimiter", i)
            i = self.ws(i + 1)

    def batch(self, i: int, where: str) -> tuple[list[Any], int]:
        """The entries from ``i`` on: about a chunk of them, or the next one alone.

        Returns them and where the last one ends (the array's ``]`` if it was reached). A
        chunk ends at the first ``},{`` after one chunk of text; its brackets are checked
        to nest at most :data:`MAX_DEPTH` deep before the decoder sees it. When a chunk
        does not decode (the ``},{`` was in a string or a nested value, or no chunk fits),
        the entries up to where it would have ended are read one at a time.
        """
        text = self.text
        if text.startswith("{", i) and i >= self.slow_until:
            chunk = self.chunk
            match = _BOUNDARY.search(text, i + chunk, i + 4 * chunk)
            stop = match.start() + 1 if match is not None else len(text)
            if match is not None or stop - i <= 4 * chunk:
                piece = text[i:stop]
                keys = _skeleton_keys(piece, MAX_DEPTH - 2)
                if keys is not None and (_SAFE_INTS() or not _long_digits(piece)):
                    try:  # the array goes on after the piece
                        return _decode_chunk(f"[{piece}]", keys, whole=True), stop
                    except ValueError:  # JSONDecodeError, or an int() over Python's limit
                        pass
                    try:  # the array ends in the piece
                        entries, end = _decode_chunk(f"[{piece}", keys, whole=False)
                        return entries, i + end - 2  # where its ']' is
                    except ValueError:
                        pass
            self.slow_until = min(stop, i + 4 * chunk)
        if text.startswith(("[", "{"), i):
            self.extent(i, 3, where)
        try:
            entry, end = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError as error:
            raise fail(f"not valid JSON ({error})", "pass the text fnad.to_json wrote") from None
        return [entry], end


_KEEP = b'"[]{}:'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_QUOTED = re.compile(rb'"[^"]*"')


def _skeleton_keys(piece: str, rounds: int) -> int | None:
    """How many keys the JSON text ``piece`` holds, if it nests at most ``rounds`` levels
    before it closes more brackets than it opens (where a decoder stops); else None.

    Strings are set aside first, so nothing inside one counts; all at C speed.
    """
    raw = piece.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    if raw.count(b'"') % 2:
        return None  # ends inside a string
    skeleton = raw.translate(None, _DROP).replace(b'""', b"")  # no escapes: quotes pair up
    if b'"' in skeleton:
        skeleton = _QUOTED.sub(b"", skeleton)  # strings that hold brackets or colons
    keys = skeleton.count(b":")
    skeleton = skeleton.replace(b":", b"")
    for _ in range(rounds):
        reduced = skeleton.replace(b"{}", b"").replace(b"[]", b"")
        if reduced == skeleton:
            break
        skeleton = reduced
    return keys if not skeleton or skeleton[0] in b"]}" else None


_FAST_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


@overload
def _decode_chunk(text: str, keys: int, whole: Literal[True]) -> list[Any]: ...
@overload
def _decode_chunk(text: str, keys: int, whole: Literal[False]) -> tuple[list[Any], int]: ...


def _decode_chunk(text: str, keys: int, whole: bool) -> Any:
    """Decode a chunk of entries; a repeated key is found by counting keys, not by a hook.

    Decoding without a Python call per object is several times faster; when the keys of
    the entries do not add up to the ``keys`` in the text (a key repeated, or keys in
    nested objects or after the array's end), the chunk is decoded again with the check.
    """
    result = _FAST_DECODER.decode(text) if whole else _FAST_DECODER.raw_decode(text)
    entries = result if whole else result[0]
    if set(map(type, entries)) == {dict} and sum(map(len, entries)) == keys:
        return result
    return _DECODER.decode(text) if whole else _DECODER.raw_decode(text)
