"""The ``fnad`` command line: differentiate an expression and look at its graph.

>>> from fnad.cli import main
>>> main(["grad", "x*y + x**2 + relu(y)", "x=2", "y=3"])
f = 13.0
df/dx = 7.0
df/dy = 3.0
0
>>> main(["grad", "x*y + x**2 + relu(y)", "x=2", "y=3", "--json"])
{"value": 13.0, "grad": {"x": 7.0, "y": 3.0}}
0

Expressions are read by :mod:`fnad.parser`, which never evaluates Python. Exit codes:
0 success, 2 bad input or usage (one line on stderr, never a traceback), 1 a check failed.
Every :class:`~fnad.FnadError` and every unreadable or unwritable file is reported as
one line; anything else is a bug in fnad and keeps its traceback.

Plugins (``--plugin MODULE`` or ``--plugin path/to/file.py``) are imported before the
expression is read, so the ops they register can be called by name. Importing a plugin
runs its code: that is the user's explicit choice, unlike the expression text, which is
only ever parsed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from fnad import parser as expression_parser
from fnad.core import Tape
from fnad.errors import FnadError

__all__ = ["main"]

_EXIT_OK = 0
_EXIT_CHECK_FAILED = 1
_EXIT_USAGE = 2


class _ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors, and expressions such as ``-x*y`` taken as arguments."""

    def _parse_optional(self, arg_string: str) -> Any:
        # argparse reads any unknown word starting with '-' as an option, so "-2**2" or
        # "-x*y" would be refused. fnad's options are all long ('--json'), so a single
        # leading '-' that is not a known option ('-h') starts an expression.
        if (
            arg_string.startswith("-")
            and not arg_string.startswith("--")
            and arg_string not in self._option_string_actions
        ):
            return None
        return super()._parse_optional(arg_string)

    def error(self, message: str) -> NoReturn:
        self.exit(_EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# --------------------------------------------------------------------------- output


def _write(stream: Any, text: str) -> None:
    """Write ``text``; characters the stream cannot encode are escaped, never an error."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    stream.write(text)


def _out(text: str) -> None:
    _write(sys.stdout, text + "\n")


def _fail(prog: str, message: str) -> int:
    one_line = " ".join(message.split())
    _write(sys.stderr, f"{prog}: error: {one_line}\n")
    return _EXIT_USAGE


def _number(value: float) -> str:
    return repr(value)


def _json(document: object) -> str:
    return json.dumps(document, allow_nan=False)


def _json_float(value: float) -> float | str:
    # The same encoding as fnad.export's graph documents: nan/±inf as strings.
    from fnad.export import encode_float

    return encode_float(value)


# --------------------------------------------------------------------------- plugins

_loaded_files: dict[Path, ModuleType] = {}


def _load_plugin(spec: str) -> None:
    """Import a plugin module by name (``mylib.ops``) or from a file (``ops.py``)."""
    try:
        if spec.endswith(".py") or "/" in spec or "\\" in spec:
            path = Path(spec).resolve()
            if path in _loaded_files:
                return
            if not path.is_file():
                raise FnadError(f"plugin file {spec!r} does not exist")
            name = "fnad_plugin_" + "".join(ch if ch.isalnum() else "_" for ch in path.stem)
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None:
                raise FnadError(f"cannot load plugin file {spec!r} as a Python module")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            _loaded_files[path] = module
        else:
            importlib.import_module(spec)
    except FnadError as error:
        raise FnadError(f"plugin {spec!r}: {error}") from None
    except ModuleNotFoundError as error:
        if error.name == spec or (error.name and spec.startswith(error.name + ".")):
            raise FnadError(
                f"cannot import plugin {spec!r}: no module named {error.name!r}; put it on "
                "PYTHONPATH or pass the path of its .py file"
            ) from None
        raise FnadError(f"plugin {spec!r} failed to import: {error}") from None
    except Exception as error:  # the plugin's own code failed: report it, it is not fnad's
        raise FnadError(
            f"plugin {spec!r} failed to import: {type(error).__name__}: {error} "
            f"(run python -c 'import {spec}' to see the traceback)"
        ) from None


def _add_plugin_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (a dotted module name or a .py file) first, so the ops it "
        "registers can be used; may be repeated",
    )


def _add_value_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "assignments",
        nargs="*",
        metavar="NAME=VALUE",
        help="a decimal value for each variable, e.g. x=2 y=-0.5",
    )
    sub.add_argument(
        "--allow-nonfinite",
        action="store_true",
        help="accept nan, inf and -inf as values (and number literals too large for a float)",
    )


# --------------------------------------------------------------------------- fnad grad


def _grad(args: argparse.Namespace) -> int:
    for plugin in args.plugin:
        _load_plugin(plugin)
    expression = expression_parser.parse(args.expression, allow_nonfinite=args.allow_nonfinite)
    values = expression_parser.parse_assignments(
        args.assignments, allow_nonfinite=args.allow_nonfinite
    )
    with Tape():
        output, leaves = expression.build(values)
        gradients = output.backward()
        grads = {name: gradients.get(leaves[name], 0.0) for name in values}
        _write_graph_files(args, output)
    if args.json:
        _out(
            _json(
                {
                    "value": _json_float(output.data),
                    "grad": {name: _json_float(g) for name, g in grads.items()},
                }
            )
        )
    else:
        _out(f"f = {_number(output.data)}")
        for name, grad in grads.items():
            _out(f"df/d{name} = {_number(grad)}")
    return _EXIT_OK


def _write_graph_files(args: argparse.Namespace, output: Any) -> None:
    from fnad import export

    writers: list[tuple[str | None, Callable[[], str]]] = [
        (args.dot, lambda: export.to_dot(output)),
        (args.save, lambda: export.to_json(output)),
    ]
    for path, render in writers:
        if path is not None:
            Path(path).write_text(render(), encoding="utf-8")
            _write(sys.stderr, f"fnad: wrote {path}\n")


# --------------------------------------------------------------------------- the parser


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``fnad`` command (``fnad --help``)."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _ArgumentParser(
        prog="fnad",
        description="Differentiate an expression and look at its computation graph.",
        epilog="Run 'fnad COMMAND --help' for the options of a command.",
        formatter_class=formatter,
    )
    from fnad import __version__

    parser.add_argument("--version", action="version", version=f"fnad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    grad = commands.add_parser(
        "grad",
        help="evaluate an expression and print its value and every partial derivative",
        description=(
            "Evaluate EXPR at the given values and print the value and the partial\n"
            "derivative with respect to each variable, by reverse-mode autodiff."
        ),
        epilog=(
            "EXPR may use decimal numbers, variables, + - * / ** (Python precedence:\n"
            "-2**2 is -4), parentheses and calls of registered ops: "
            + ", ".join(expression_parser.available_functions())
            + ".\nIt is parsed, never evaluated as Python.\n\n"
            "examples:\n"
            '  fnad grad "x*y + x**2 + relu(y)" x=2 y=3\n'
            '  fnad grad "tanh(w*x + b)" w=0.5 x=2 b=0 --json\n'
            '  fnad grad "x*y" x=2 y=3 --dot graph.dot --save graph.json'
        ),
        formatter_class=formatter,
    )
    grad.add_argument("expression", metavar="EXPR", help='the expression, e.g. "x*y + relu(y)"')
    _add_value_options(grad)
    grad.add_argument(
        "--json",
        action="store_true",
        help='print {"value": ..., "grad": {NAME: ...}} as strict JSON '
        '(nan and infinities as the strings "nan", "inf", "-inf")',
    )
    grad.add_argument("--dot", metavar="FILE", help="write the graph in graphviz DOT to FILE")
    grad.add_argument(
        "--save",
        metavar="FILE",
        help="write the graph as fnad JSON (node-link, schema fnad.graph) to FILE",
    )
    _add_plugin_option(grad)
    grad.set_defaults(handler=_grad)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fnad`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    >>> main(["grad", "x**-1", "x=2"])
    f = 0.5
    df/dx = -0.25
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        code = exit_.code
        return code if isinstance(code, int) else (_EXIT_OK if code is None else _EXIT_USAGE)
    prog = f"fnad {args.command}"
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except FnadError as error:
        return _fail(prog, str(error))
    except OSError as error:
        target = f" {error.filename!r}" if error.filename else ""
        return _fail(prog, f"cannot access{target}: {error.strerror or error}")
