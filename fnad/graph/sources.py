"""Where a document comes from: a path or the content itself (:func:`document_source`).

A file is read only if it is a regular file (never a FIFO or a device) within the size limit,
both checked before anything is read.
"""

from __future__ import annotations

import codecs
import os
import stat
from typing import Any

from fnad.engine.rules import RuleTable, current_rules
from fnad.errors import GraphArgumentError, GraphFileError
from fnad.graph.checks import CHUNK, fail, too_large

__all__ = ["document_source"]

# --------------------------------------------------------------------------- sources


def document_source(
    source: Any, *, what: str, opening: str, max_bytes: int
) -> bytes | bytearray | memoryview | str:
    """The document's content, by the rule :func:`read_json` and :func:`read_graphml` follow.

    - ``bytes``, ``bytearray`` or ``memoryview``: the document itself (UTF-8);
    - a ``str`` that is blank or whose first character after whitespace is one of
      ``opening`` (``{`` or ``[`` for JSON, ``<`` for GraphML): the document itself;
    - any other ``str``, and any ``os.PathLike`` (such as ``pathlib.Path``): the path of a
      file, which must be a regular file (never a FIFO, a socket or a device: those could
      block or never end) of at most ``max_bytes`` bytes;
    - anything else (a file descriptor, ``None``, an open file...) is a
      :class:`~fnad.GraphArgumentError`.

    A file that cannot be read (missing, not readable) is a :class:`~fnad.GraphFileError`
    (an ``OSError``) that names the path and, for a ``str``, why it was taken as one.

    >>> document_source("  {}", what="JSON", opening="{[", max_bytes=100)
    '  {}'
    >>> document_source(3, what="JSON", opening="{[", max_bytes=100)
    Traceback (most recent call last):
    ...
    fnad.errors.GraphArgumentError: expected the path or the content of a JSON document (str, os.PathLike, bytes), got int (3); pass a path such as 'graph.json' or pathlib.Path(...), or the text itself (file descriptors are not read)
    >>> document_source("null", what="JSON", opening='{["', max_bytes=100)
    Traceback (most recent call last):
    ...
    fnad.errors.GraphFileError: cannot read the JSON document from the file 'null': No such file or directory (the str was taken as a path: a document's text starts with '{', '[' or '"' after whitespace, and this one starts with 'n'); pass the path of an existing file, or the document itself as text or bytes
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = source.nbytes if isinstance(source, memoryview) else len(source)
        if size > max_bytes:
            raise too_large(size, max_bytes, "bytes")
        return source
    if isinstance(source, str):
        start = source.lstrip(" \t\r\n\ufeff")[:1]
        if not start or start in opening:
            if len(source) > max_bytes:
                raise too_large(len(source), max_bytes)
            return source
        return _read_path(source, max_bytes, what, _why_a_path(source, opening))
    if isinstance(source, os.PathLike):
        return _read_path(os.fspath(source), max_bytes, what, "")
    suffix = "json" if what == "JSON" else "graphml"
    raise GraphArgumentError(
        f"expected the path or the content of a {what} document (str, os.PathLike, bytes), "
        f"got {type(source).__name__} ({source!r:.40}); pass a path such as 'graph.{suffix}' "
        "or pathlib.Path(...), or the text itself (file descriptors are not read)"
    )


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(path: Any, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise fail(
        f"{os.fsdecode(path)!r} is {kind}, not a regular file",
        "save the document to a file and pass its path (fnad reads no pipes or devices)",
    )


def _why_a_path(text: str, opening: str) -> str:
    """Why ``text`` was taken as a path: it does not start as a document does."""
    firsts = [repr(char) for char in opening]
    spelled = ", ".join(firsts[:-1]) + f" or {firsts[-1]}" if len(firsts) > 1 else firsts[0]
    start = text.lstrip(" \t\r\n\ufeff")[:1]
    return (
        f" (the str was taken as a path: a document's text starts with {spelled} after "
        f"whitespace, and this one starts with {start!r})"
    )


def _read_path(path: str, max_bytes: int, what: str, why: str) -> bytes:
    """:func:`_read_file`, with the operating system's refusal as a :class:`GraphFileError`."""
    try:
        return _read_file(path, max_bytes)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        failure = GraphFileError(
            f"cannot read the {what} document from the file {path!r:.200}: {reason}{why}; "
            "pass the path of an existing file, or the document itself as text or bytes"
            if why
            else f"cannot read the {what} document from the file {path!r:.200}: {reason}; "
            "check the path and the file's permissions"
        )
        failure.errno, failure.strerror, failure.filename = error.errno, error.strerror, path
        raise failure from None


def _read_file(path: str | bytes, max_bytes: int) -> bytes:
    """A regular file's bytes: its kind and size are checked before it is read."""
    _check_regular(path, os.stat(path).st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)  # non-blocking: a FIFO swapped in cannot hang us
    with open(descriptor, "rb", closefd=True) as file:
        info = os.fstat(descriptor)
        _check_regular(path, info.st_mode)
        if info.st_size > max_bytes:
            raise too_large(info.st_size, max_bytes, "bytes")
        # Not read(max_bytes + 1): that allocates max_bytes (1.5 GiB) before reading.
        data = file.read(min(info.st_size, max_bytes) + 1)
        if len(data) > info.st_size:  # the file grew since fstat: read the rest in pieces
            pieces = [data]
            size = len(data)
            while size <= max_bytes and (piece := file.read(1 << 20)):
                pieces.append(piece)
                size += len(piece)
            data = b"".join(pieces)
    if len(data) > max_bytes:
        raise too_large(len(data), max_bytes, "bytes")
    return data


def decode_in_pieces(raw: bytes | bytearray | memoryview, encoding: str = "utf-8") -> str:
    """``raw`` decoded a megabyte at a time and joined: decoded at once, text that is not
    ASCII first takes two or four bytes per byte in CPython's decoder (its peak memory)."""
    if len(raw) <= CHUNK or (isinstance(raw, (bytes, bytearray)) and raw.isascii()):
        return codecs.decode(raw, encoding)
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(raw)
    pieces = [decoder.decode(view[start : start + CHUNK]) for start in range(0, len(raw), CHUNK)]
    pieces.append(decoder.decode(b"", final=True))
    return "".join(pieces)


def rule_table(rules: Any) -> RuleTable:
    if rules is None:
        return current_rules()
    if not isinstance(rules, RuleTable):
        raise GraphArgumentError(
            f"rules must be a fnad.RuleTable or None, got {type(rules).__name__}; "
            "pass fnad.current_rules() or a table from fnad.isolated_rules()"
        )
    return rules


def checked_limit(name: str, value: Any) -> int:
    if type(value) is not int or value < 0:
        raise GraphArgumentError(
            f"{name} must be a whole number >= 0, got {value!r} ({type(value).__name__}); "
            f"e.g. {name}=10_000_000"
        )
    return value
