"""Reading graph documents back: JSON and GraphML, checked completely, in bounded time and memory.

This is the reader half of the ``fnad.graph`` format: the writer is :mod:`fnad.graph.writer`, the
format itself :mod:`fnad.graph.schema`. The readers return the document as a
:class:`~fnad.engine.table.GraphTable` (also named :data:`CheckedGraph`), in the order an
eager trace of it would have, and :mod:`fnad.compiled.load` compiles that table into a
:class:`~fnad.Program` without building a Node.

A document is untrusted input. Every problem is a :class:`~fnad.GraphFormatError` (a
ValueError) that names it, the vertex or edge, and the fix; nothing in a document is ever
evaluated as Python (ops are looked up by name in the rule table). The checks, in the order
they run:

1. what was passed (:func:`read_json` and :func:`read_graphml` take a path or the
   document's content, see :func:`document_source`), the file's kind (a regular file, never
   a FIFO or a device) and its size (``max_bytes``), before anything is parsed;
2. for GraphML, DOCTYPE and ENTITY declarations (refused before any XML is parsed) and UTF-8;
   a field given twice in one element is refused, as JSON refuses a repeated key;
3. the header: the schema name and version, a directed graph without parallel edges;
4. every vertex, in document order, as it is read: an integer ``id`` not seen before, string
   ``op`` (in the rule table) and ``label``, numbers ``data`` and ``grad``; at most
   ``max_vertices`` of them;
5. every edge: declared ends, no self-loop, one edge per pair, into an op vertex, argument
   positions within the op's arity, each filled once;
6. every argument position has an edge; ``graph.output`` is a vertex;
7. no cycle (found by a walk along argument links, reported with its vertices), and every
   vertex feeds the output.

Bounded cost. A document within the limits is accepted or refused in time linear in its
size, and nothing recurses over it. The reader never materialises a document whole: JSON
vertices and edges are decoded a chunk at a time (about 1 MiB of text, 4 MiB at most),
GraphML is read line by line (the layout fnad writes) or element by element (any other),
and what is kept per vertex is a few machine words (the table's columns). JSON may
nest at most :data:`MAX_DEPTH` levels and one vertex, edge or ignored value may hold at
most :data:`MAX_ENTRY_VALUES` values, both checked before the JSON decoder (which is
recursive) sees the text; a JSON integer may have at most 4,300 digits, and a GraphML comment,
processing instruction or tag at most 1 MiB (longer ones cost quadratic time to parse).
The same holds for one long token of any kind (a label of escapes or entities, a number, a
key). Peak memory is at most 2x the document's size when it is refused
at a malformed entry (the first one stops the reading) and at most 3.5x when it has to be
read to the end: its text, and about 60 bytes a vertex (``tests/graph/test_hostile_documents.py``
checks both).
"""

from __future__ import annotations

from fnad.graph.builder import Builder, check_document
from fnad.graph.checks import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_ENTRY_VALUES,
    MAX_VERTICES,
    CheckedGraph,
    Source,
    Vertex,
)
from fnad.graph.graphml_reader import fnad_layout, read_graphml, xml_layout
from fnad.graph.json_reader import read_json
from fnad.graph.sources import document_source

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_ENTRY_VALUES",
    "MAX_VERTICES",
    "CheckedGraph",
    "Source",
    "Vertex",
    "check_document",
    "document_source",
    "read_graphml",
    "read_json",
]

# The names the tests of the two GraphML paths (tests/compiled/test_replay.py) use.
_Builder = Builder
_fnad_layout = fnad_layout
_xml_layout = xml_layout
