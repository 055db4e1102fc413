"""The files the command line writes, and the graph file it reads.

``fnad grad --dot/--save/--svg`` write their files all or none (:func:`write_graph_files`):
every target is looked at and every content made before anything is written, then each
file is written beside its target and renamed over it. ``fnad replay`` reads one graph
file: :func:`starts_like_xml` tells GraphML from fnad JSON, and :func:`refuse_drawing`
refuses a drawing of a graph (SVG, DOT, PNG, PDF), which keeps the picture but not the ops.

>>> import tempfile
>>> drawing = Path(tempfile.mkdtemp()) / "graph.svg"
>>> _ = drawing.write_text('<svg xmlns="http://www.w3.org/2000/svg"></svg>')
>>> starts_like_xml(drawing)
True
>>> refuse_drawing(drawing)
Traceback (most recent call last):
...
fnad.errors.FnadError: '.../graph.svg' is an SVG drawing of a graph, which cannot be replayed: ...
>>> drawing.unlink(); drawing.parent.rmdir()
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from fnad.cli.terminal import write
from fnad.engine import Node
from fnad.errors import FnadError
from fnad.viz.render import printable

__all__ = ["refuse_drawing", "starts_like_xml", "write_graph_files"]


def write_graph_files(args: argparse.Namespace, output: Node) -> None:
    """Write the --dot, --save and --svg files: all of them, or none.

    Everything that can fail is done first (the texts, the drawing, a look at each
    target), so a bad target or a missing graphviz leaves no file behind; a file this call
    created is removed again if writing a later one fails.
    """
    from fnad.graph.writer import to_json
    from fnad.viz.render import output_format, to_dot

    if args.svg is not None:
        output_format(args.svg)  # refuse a .jpg before anything is drawn or written
    wanted: list[tuple[str, str, Callable[[], bytes]]] = [
        (option, path, make)
        for option, path, make in (
            ("--dot", args.dot, lambda: to_dot(output).encode("utf-8")),
            ("--save", args.save, lambda: to_json(output).encode("utf-8")),
            ("--svg", args.svg, lambda: _drawn(output, args.svg)),
        )
        if path is not None
    ]
    targets = [Path(path) for _, path, _ in wanted]
    for (option, _, _), target in zip(wanted, targets, strict=True):
        _check_target(option, target, targets)
    contents = [make() for _, _, make in wanted]
    _write_all(
        [(option, target) for (option, _, _), target in zip(wanted, targets, strict=True)], contents
    )
    for target in targets:
        write(sys.stderr, f"fnad: wrote {printable(str(target))}\n")


def _write_all(targets: list[tuple[str, Path]], contents: list[bytes]) -> None:
    """Write every file all-or-nothing: each into a temporary file beside it, then, once all
    are complete, each renamed over its target. A failure (a full disk) leaves every target
    as it was and no temporary file behind; the error names the file."""
    written: list[tuple[Path, Path]] = []  # (temporary file, final path)
    try:
        for (option, target), content in zip(targets, contents, strict=True):
            final = Path(os.path.realpath(target))  # through a symlink: write what it names
            try:
                temporary = _write_temporary(final, content)
            except OSError as error:
                shown = printable(str(target))
                raise FnadError(
                    f"{option} {shown!r}: cannot write the file: {error.strerror or error}; "
                    "no file was changed"
                ) from None
            written.append((temporary, final))
        for temporary, final in written:
            os.replace(temporary, final)
    finally:
        for temporary, _ in written:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()


def _write_temporary(final: Path, content: bytes) -> Path:
    """``content`` in a new file beside ``final`` (same folder, so a rename replaces it
    atomically), with the permissions ``final`` has, or a new file would get."""
    for attempt in itertools.count():
        temporary = final.with_name(f".{final.name}.{os.getpid()}.{attempt}.fnad-tmp")
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with open(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if final.exists():
            os.chmod(temporary, stat.S_IMODE(final.stat().st_mode))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _drawn(output: Node, path: str) -> bytes:
    """The drawing of ``output`` in the format of ``path``'s extension (svg, png, pdf)."""
    from fnad.viz.render import Drawing, dot_to, output_format, render

    drawing = render(output)
    assert isinstance(drawing, Drawing)
    return dot_to(drawing.dot, output_format(path))


def starts_like_xml(path: Path) -> bool:
    """Whether a regular file's first character (after a UTF-8 byte order mark) is '<'."""
    if not path.is_file():
        return False  # the reader refuses it with the right message
    with open(path, "rb") as file:
        head = file.read(64).removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<")


def _file_kind(path: Path) -> str:
    mode = path.stat().st_mode
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


_DRAWINGS = {".svg": "an SVG", ".dot": "a DOT", ".gv": "a DOT", ".png": "a PNG", ".pdf": "a PDF"}


def _drawing_kind(path: Path) -> str | None:
    """``"an SVG"``, ``"a DOT"``, ``"a PNG"``, ``"a PDF"`` if ``path`` is a drawing (by its
    first bytes, else by its extension), or None."""
    if not path.is_file():
        return None  # the reader refuses it with the right message
    with open(path, "rb") as file:
        head = file.read(4096)
    if head.startswith(b"\x89PNG"):
        return "a PNG"
    if head.startswith(b"%PDF"):
        return "a PDF"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if re.match(rb"(?:strict\s+)?(?:di)?graph\b", text):
        return "a DOT"
    if text.startswith(b"<") and re.search(rb"<svg[\s>]|<!DOCTYPE\s+svg", head):
        return "an SVG"
    if text.startswith((b"{", b"<")):
        return None  # a graph document (JSON or GraphML)
    return _DRAWINGS.get(path.suffix.lower())


def refuse_drawing(path: Path) -> None:
    kind = _drawing_kind(path)
    if kind is not None:
        raise FnadError(
            f"{printable(str(path))!r} is {kind} drawing of a graph, which cannot be replayed: "
            "a drawing keeps the picture, not the ops; save the graph itself with "
            "fnad grad EXPR ... --save graph.json (or fnad.to_json(z) in Python) and replay that"
        )


def _check_target(option: str, target: Path, targets: list[Path]) -> None:
    """Refuse an output path before anything is written: a directory, no such folder..."""
    shown = printable(str(target))
    if targets.count(target) > 1:
        raise FnadError(f"{option} {shown!r}: the same file is named twice; give each its own")
    if target.is_dir():
        raise FnadError(f"{option} {shown!r} is a directory; give a file name, e.g. {option} graph")
    if target.exists() and not target.is_file():  # a FIFO would block, a device is no file
        raise FnadError(
            f"{option} {shown!r} is {_file_kind(target)}, not a regular file; fnad writes "
            "its outputs only to regular files: give a file name"
        )
    parent = target.parent
    if not parent.is_dir():
        raise FnadError(f"{option} {shown!r}: there is no folder {printable(str(parent))!r}")
    if target.exists() and not os.access(target, os.W_OK):
        raise FnadError(f"{option} {shown!r}: the file is not writable")
    if not target.exists() and not os.access(parent, os.W_OK):
        raise FnadError(f"{option} {shown!r}: cannot create a file in {printable(str(parent))!r}")
