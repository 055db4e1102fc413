"""What the ``fnad`` command line shows: its results, its one-line errors, its exit statuses.

Results go to standard output as text (``f = 13.0``, ``df/dx = 7.0``) or as strict JSON;
an error goes to standard error as one line. Characters a stream cannot encode are escaped,
never an error, and names read from a file or the command line are shown through
:func:`~fnad.viz.render.printable`, so none can forge a line or send an escape sequence.

>>> print_result(13.0, {"x": 7.0, "f": 3.0}, as_json=False)
z = 13.0
dz/dx = 7.0
dz/df = 3.0
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import sys
from collections.abc import Container
from typing import Any

from fnad.viz.render import printable

__all__ = [
    "EXIT_CHECK_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "StdoutError",
    "fail",
    "output_name",
    "print_result",
    "silence_stdout",
    "write",
    "write_line",
]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


def write(stream: Any, text: str) -> None:
    """Write ``text``; characters the stream cannot encode are escaped, never an error.

    A closed standard error is ignored: there is nowhere left to report anything.
    """
    if stream is None:  # closed at startup; standard output is checked by write_line
        return
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    stream.write(text)


def write_line(text: str) -> None:
    if sys.stdout is None:
        raise StdoutError(errno.EBADF, "standard output is closed")
    try:
        write(sys.stdout, text + "\n")
    except OSError as error:
        raise StdoutError(error.errno, error.strerror or str(error)) from None


class StdoutError(OSError):
    """Writing the result to standard output failed (closed, or a pipe nobody reads)."""


def fail(prog: str, message: str) -> int:
    # One line, whatever the message holds: it may quote text from a file or the command line.
    one_line = printable(" ".join(message.split()))
    write(sys.stderr, f"{prog}: error: {one_line}\n")
    return EXIT_USAGE


def _number(value: float) -> str:
    # For people, -0.0 is 0.0 (adding +0.0 turns it so, and changes nothing else);
    # --json and the saved files keep the exact signed zero.
    return repr(value + 0.0)


def _json(document: object) -> str:
    return json.dumps(document, allow_nan=False)


def _json_float(value: float) -> float | str:
    # The same encoding as the graph documents (fnad.schema): nan/±inf as strings.
    from fnad.graph.schema import encode_float

    return encode_float(value)


def print_result(value: float, grads: dict[str, float], *, as_json: bool) -> None:
    if as_json:
        document = {
            "value": _json_float(value),
            "grad": {name: _json_float(grad) for name, grad in grads.items()},
        }
        write_line(_json(document))
        return
    # f = 13.0, df/dx = 7.0. Names may be labels read from a file (fnad replay): escaped,
    # so none can forge a line or send an escape sequence.
    output = output_name(grads)
    write_line(f"{output} = {_number(value)}")
    for name, grad in grads.items():
        write_line(f"d{output}/d{printable(name)} = {_number(grad)}")


def output_name(variables: Container[str]) -> str:
    """What the output is called: ``f``; ``z``, ``f1``, ``f2``… if a variable took the name."""
    names = itertools.chain(("f", "z"), (f"f{i}" for i in itertools.count(1)))
    return next(name for name in names if name not in variables)


def silence_stdout() -> None:
    """Point a failed standard output at /dev/null, so Python's final flush stays quiet."""
    if sys.stdout is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file: nothing to flush
        pass
