"""The ``fnad.graph`` file format, version 1: the one module its writer and its reader share.

:mod:`fnad.graph.writer` writes documents and :mod:`fnad.compiled.load` reads them back; both take
everything that defines the format from here, so the two cannot drift apart:

- :data:`SCHEMA` and :data:`SCHEMA_VERSION`, the ``graph.schema`` and ``graph.version``
  fields of every document;
- the op names with a meaning of their own: :data:`INPUT` (``""``, a leaf the user created)
  and :data:`CONST` (``"const"``, a number an op wrapped);
- how numbers are written: JSON has no spelling for nan and the infinities, so
  :func:`encode_float` writes them as the strings ``"nan"``, ``"inf"``, ``"-inf"`` and
  :func:`decode_float` reads them back; GraphML uses XML Schema doubles
  (:func:`encode_double` / :func:`decode_double`, ``NaN``, ``INF``, ``-INF``);
- the GraphML keys (:data:`GRAPHML_KEYS`) and namespace;
- :func:`input_names`, how a loaded program names its inputs.

The human-readable description of the format is ``docs/graph-format.md``.

>>> SCHEMA, SCHEMA_VERSION, INPUT, CONST
('fnad.graph', 1, '', 'const')
>>> decode_float(encode_float(float("-inf")))
-inf
"""

from __future__ import annotations

import math
import re

from fnad.engine import CONST
from fnad.engine.table import INPUT, input_names

__all__ = [
    "CONST",
    "GRAPHML_KEYS",
    "GRAPHML_NAMESPACE",
    "INPUT",
    "SCHEMA",
    "SCHEMA_VERSION",
    "decode_double",
    "decode_float",
    "decode_graphml_label",
    "encode_double",
    "encode_float",
    "encode_graphml_label",
    "input_names",
]

SCHEMA = "fnad.graph"
"""The ``graph.schema`` field of every document :func:`fnad.to_json` writes."""

SCHEMA_VERSION = 1
"""The ``graph.version`` field; :func:`fnad.from_json` reads exactly this version."""

GRAPHML_NAMESPACE = "http://graphml.graphdrawing.org/xmlns"
"""The XML namespace of GraphML elements."""

GRAPHML_KEYS = (
    ("g_schema", "graph", "schema", "string"),
    ("g_version", "graph", "version", "int"),
    ("g_output", "graph", "output", "int"),
    ("v_op", "node", "op", "string"),
    ("v_label", "node", "label", "string"),
    ("v_label_escaped", "node", "label_escaped", "boolean"),
    ("v_data", "node", "data", "double"),
    ("v_grad", "node", "grad", "double"),
    ("e_positions", "edge", "positions", "string"),
    ("e_partial", "edge", "partial", "double"),
    ("e_flow", "edge", "flow", "double"),
)
"""``(key id, for, attr.name, attr.type)`` of every GraphML ``<key>`` fnad writes."""


# XML 1.0 cannot hold these characters at all, not even as character references.
_XML_INVALID = frozenset(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF]
)
_LABEL_ESCAPE = re.compile(r"\\(?:(\\)|x([0-9a-f]{2})|u([0-9a-f]{4}))")


def encode_graphml_label(label: str) -> tuple[str, bool]:
    r"""A label as GraphML can hold it, and whether it had to be escaped.

    XML 1.0 cannot hold control characters other than tab and newlines, lone surrogates,
    U+FFFE or U+FFFF at all. A label with any of them is written with ``\xNN`` and
    ``\uNNNN`` escapes, its backslashes doubled, and the vertex is marked
    ``label_escaped``, so :func:`decode_graphml_label` gives back the exact label. Any
    other label is written as it is.

    >>> encode_graphml_label("x\\y")
    ('x\\y', False)
    >>> encode_graphml_label("a\x07\\b")
    ('a\\x07\\\\b', True)
    """
    if not any(ord(ch) in _XML_INVALID for ch in label):
        return label, False
    out = []
    for ch in label:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif code not in _XML_INVALID:
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out), True


def decode_graphml_label(text: str) -> str | None:
    r"""The label :func:`encode_graphml_label` escaped, or None if an escape is malformed.

    >>> decode_graphml_label("a\\x07\\\\b") == "a\x07\\b"
    True
    >>> decode_graphml_label("a\\q") is None
    True
    """
    if "\\" not in text:
        return text
    pieces = _LABEL_ESCAPE.split(text)
    out = [pieces[0]]
    for i in range(1, len(pieces), 4):
        backslash, byte, unit, rest = pieces[i : i + 4]
        out.append("\\" if backslash else chr(int(byte or unit, 16)))
        out.append(rest)
    decoded = "".join(out)
    if "\\" in "".join(pieces[0::4]):
        return None  # a backslash that starts no escape
    return decoded


# --------------------------------------------------------------------------- numbers

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode_float(value: float) -> float | str:
    """A float as strict JSON allows it: finite numbers as is, else ``"nan"``/``"inf"``/``"-inf"``.

    >>> encode_float(1.5), encode_float(float("-inf")), encode_float(float("nan"))
    (1.5, '-inf', 'nan')
    """
    if value - value == 0.0:
        return value
    if value != value:
        return "nan"
    return "inf" if value > 0 else "-inf"


def decode_float(value: object) -> float | None:
    """The float a JSON value encodes (see :func:`encode_float`), or None if it is none."""
    if type(value) is float:
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            return None
    if type(value) is str:
        return _NON_FINITE.get(value)
    return None


def encode_double(value: float) -> str:
    """A float as an XML Schema double (yEd and Gephi read ``NaN``, ``INF``, ``-INF``).

    >>> encode_double(0.1), encode_double(float("-inf")), encode_double(float("nan"))
    ('0.1', '-INF', 'NaN')
    """
    if value != value:
        return "NaN"
    if value - value != 0.0:
        return "INF" if value > 0 else "-INF"
    return repr(value)


_DOUBLE = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:INF|inf)|NaN|nan"
)


def decode_double(text: str) -> float | None:
    """The float an XML Schema double spells, or None if the text is not one.

    Strict, as XML Schema defines the lexical form: no whitespace, no ``_`` digit
    separators, no ``infinity``; non-finite values are ``NaN``, ``INF`` and ``-INF``, or
    ``nan``, ``inf`` and ``-inf`` as networkx writes them.

    >>> decode_double("-1.5e3"), decode_double("-INF"), decode_double(" 1"), decode_double("1_0")
    (-1500.0, -inf, None, None)
    """
    if _DOUBLE.fullmatch(text) is None:
        return None
    return float(text)
