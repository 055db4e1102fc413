"""The ``fnad`` command line: differentiate an expression and look at its graph.

>>> from fnad.cli.commands import main
>>> main(["grad", "x*y + x**2 + relu(y)", "x=2", "y=3"])
f = 13.0
df/dx = 7.0
df/dy = 3.0
0
>>> main(["grad", "x*y + x**2 + relu(y)", "x=2", "y=3", "--json"])
{"value": 13.0, "grad": {"x": 7.0, "y": 3.0}}
0

Expressions are read by :mod:`fnad.cli.parser`, which never evaluates Python. Exit codes:
0 success, 2 bad input or usage (one line on stderr, never a traceback), 1 a check failed,
130 interrupted (Ctrl-C). A bare ``fnad`` prints the help.
Every :class:`~fnad.FnadError` and every unreadable or unwritable file is reported as
one line; anything else is a bug in fnad and keeps its traceback.

Plugins (``--plugin MODULE`` or ``--plugin path/to/file.py``) are imported before the
expression is read, so the ops they register can be called by name. A plugin is code that
runs with the user's rights, like any Python module they import: that is the user's
explicit choice, unlike the expression text, which is only ever parsed. A module is
imported once (never reloaded), and fnad's own modules are refused.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import importlib
import importlib.metadata
import importlib.util
import itertools
import json
import os
import re
import stat
import sys
from collections.abc import Callable, Container, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import attrs

from fnad._internal import positive_int
from fnad.cli import parser as expression_parser
from fnad.engine import Node, Tape
from fnad.engine.rules import RuleTable, current_rules
from fnad.errors import FnadError, NonFiniteError
from fnad.viz.render import printable

__all__ = ["main"]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace], int]
"""What runs one command: its parsed arguments in, its exit status out."""

_LONG_OPTION = re.compile(r"--[A-Za-z][A-Za-z0-9-]*(=|\Z)")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors, and expressions such as ``-x*y`` taken as arguments.

    Abbreviated options are off: ``--s`` must not silently mean ``--save``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def _parse_optional(self, arg_string: str) -> Any:
        # argparse reads any word starting with '-' as an option, so "-2**2", "-x*y" or
        # "--x" would be refused. fnad's options are all long ('--json'), so only '-h',
        # this command's options ('--name', '--name=value') and near misses of them (a typo
        # such as '--jsn', which argparse then reports) are options; '-x*y', '-2', '--x'
        # or '---x' are expressions.
        if arg_string.startswith("-") and arg_string != "--":
            if arg_string in self._option_string_actions:
                return super()._parse_optional(arg_string)
            match = _LONG_OPTION.match(arg_string)
            if match is None:
                return None
            name = arg_string.split("=", 1)[0]
            if name not in self._option_string_actions and not self._near_options(name):
                return None
        return super()._parse_optional(arg_string)

    def _near_options(self, name: str) -> list[str]:
        """This parser's long options that ``name`` is a likely misspelling of."""
        known = [option for option in self._option_string_actions if option.startswith("--")]
        return difflib.get_close_matches(name, known, n=2, cutoff=0.8)

    def error(self, message: str) -> NoReturn:
        one_line = " ".join(message.split())
        if one_line.startswith("unrecognized arguments:"):
            words = one_line.split(":", 1)[1].split()
            hints = [
                f"{word} (did you mean {' or '.join(near)}?)"
                for word in words
                if (near := self._near_options(word.split("=", 1)[0]))
            ]
            if hints:
                one_line = f"unrecognized arguments: {', '.join(hints)}"
        if len(one_line) > 300:  # argparse quotes the arguments, which may be huge
            one_line = one_line[:297] + "..."
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line} (see '{self.prog} --help')\n")


# --------------------------------------------------------------------------- output


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


# --------------------------------------------------------------------------- plugins

# (plugin file, rule table) pairs already run. A plugin file registers its ops in the
# current table when it runs; when main() runs again in the same process with another
# current table (fnad.isolated_rules), the file runs again to register there. A plugin
# given by module name is imported once, as Python imports any module: never reloaded,
# since reloading a module others hold (fnad's own, a library's) breaks them.
_loaded: list[tuple[Path, RuleTable]] = []

_FNAD_PACKAGE = Path(__file__).resolve().parent.parent


def _refuse_fnad_module(spec: str, path: Path | None) -> None:
    if path is None:
        own = spec == "fnad" or spec.startswith("fnad.")
    else:
        own = path.is_relative_to(_FNAD_PACKAGE)
    if own:
        raise FnadError(
            f"--plugin {spec!r} is one of fnad's own modules, not a plugin: fnad's ops are "
            "always there; a plugin is a module of yours that registers ops with fnad.defop"
        )


def load_plugin(spec: str) -> None:
    """Import a plugin module by name (``mylib.ops``), or run a plugin file (``ops.py``)."""
    table = current_rules()
    is_file = spec.endswith(".py") or "/" in spec or "\\" in spec
    path = Path(spec).resolve() if is_file else None
    _refuse_fnad_module(spec, path)
    if path is not None and any(done == path and loaded is table for done, loaded in _loaded):
        return
    try:
        if is_file:
            _exec_file(spec)
        elif spec not in sys.modules:  # imported once: never reloaded
            importlib.import_module(spec)
    except FnadError as error:
        raise FnadError(f"plugin {spec!r}: {error}") from None
    except ModuleNotFoundError as error:
        if not is_file and (error.name == spec or spec.startswith(f"{error.name}.")):
            raise FnadError(
                f"cannot import plugin {spec!r}: no module named {error.name!r}; put it on "
                "PYTHONPATH or pass the path of its .py file"
            ) from None
        raise FnadError(f"plugin {spec!r} failed to import: {error}") from None
    except Exception as error:  # the plugin's own code failed: report it, it is not fnad's
        rerun = f"python {spec}" if is_file else f"python -c 'import {spec}'"
        raise FnadError(
            f"plugin {spec!r} failed to import: {type(error).__name__}: {error} "
            f"(run {rerun} to see the traceback)"
        ) from None
    if path is not None:
        _loaded.append((path, table))


def _exec_file(spec: str) -> ModuleType:
    path = Path(spec).resolve()
    if not path.is_file():
        raise FnadError(f"plugin file {spec!r} does not exist")
    name = "fnad_plugin_" + "".join(ch if ch.isalnum() else "_" for ch in path.stem)
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise FnadError(f"cannot load plugin file {spec!r} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _add_plugin_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (a dotted module name or a .py file) first, so the ops it "
        "registers can be used; it is code that runs with your rights; may be repeated",
    )


def _add_strict_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--strict",
        action="store_true",
        help="run under fnad.strict(): the first op whose value or gradient is nan or "
        "infinite is an error naming it, instead of IEEE inf/nan",
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


def refuse_options_among_values(args: argparse.Namespace) -> None:
    """An unknown ``--name`` that reached the NAME=VALUE list was meant as an option."""
    for item in args.assignments:
        if _LONG_OPTION.match(item):
            raise FnadError(
                f"unrecognized option {printable(item)!r}: it is neither an option of "
                f"fnad {args.command} nor NAME=VALUE (see 'fnad {args.command} --help')"
            )


def _grad(args: argparse.Namespace) -> int:
    refuse_options_among_values(args)
    for plugin in args.plugin:
        load_plugin(plugin)
    expression = expression_parser.parse(args.expression, allow_nonfinite=args.allow_nonfinite)
    values = expression_parser.parse_assignments(
        args.assignments, allow_nonfinite=args.allow_nonfinite
    )
    with Tape():
        output, leaves = expression.build(values)
        gradients = output.backward()
        grads = {name: gradients.get(leaves[name], 0.0) for name in values}
        write_graph_files(args, output)
    print_result(output.data, grads, as_json=args.json)
    return EXIT_OK


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


# --------------------------------------------------------------------------- fnad replay


def _replay_values(items: Sequence[str], allow_nonfinite: bool) -> dict[str, float]:
    """NAME=VALUE pairs for a saved graph, whose input names may be any label (``w#3``)."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.rpartition("=")
        if not sep or not name:
            raise FnadError(f"expected NAME=VALUE, got {item!r}")
        if name in values:
            raise FnadError(f"{name!r} is given twice")
        try:
            values[name] = expression_parser.parse_value(text, allow_nonfinite=allow_nonfinite)
        except FnadError as error:
            raise FnadError(f"{name}: {error}") from None
    return values


def _replay(args: argparse.Namespace) -> int:
    from fnad.compiled.load import from_graphml, from_json

    refuse_options_among_values(args)
    for plugin in args.plugin:
        load_plugin(plugin)
    values = _replay_values(args.assignments, args.allow_nonfinite)
    # A path: the readers open only a regular file (never a FIFO or a device, which could
    # hang) and check its size before reading it. GraphML (fnad.to_graphml) is XML and
    # starts with '<'; fnad's JSON starts with '{'.
    path = Path(args.file)
    refuse_drawing(path)
    program = from_graphml(path) if starts_like_xml(path) else from_json(path)
    value, grads = program.value_and_grad(**values)
    print_result(value, grads, as_json=args.json)
    return EXIT_OK


# --------------------------------------------------------------------------- fnad explain


def _explain(args: argparse.Namespace) -> int:
    from fnad.viz.explain import explain

    refuse_options_among_values(args)
    for plugin in args.plugin:
        load_plugin(plugin)
    expression = expression_parser.parse(args.expression, allow_nonfinite=args.allow_nonfinite)
    values = expression_parser.parse_assignments(
        args.assignments, allow_nonfinite=args.allow_nonfinite
    )
    wrt = args.wrt
    if wrt is None:  # one variable: it is the one to differentiate by
        if not values:
            raise FnadError(
                "the expression has no variables, so there is nothing to differentiate by"
            )
        if len(values) > 1:
            raise FnadError(
                f"the expression has {len(values)} variables ({', '.join(values)}); say which "
                f"one to differentiate by, e.g. --wrt {next(iter(values))}"
            )
        (wrt,) = values
    if wrt not in values:
        given = ", ".join(values) or "no variables"
        raise FnadError(
            f"--wrt {wrt!r} is not one of the variables given ({given}); "
            "name one of them, e.g. --wrt x"
        )
    with Tape():
        output, leaves = expression.build(values)
        explanation = explain(output, leaves[wrt], max_paths=args.max_paths)
    # The output is called f, as fnad grad prints it (z if a variable is called f).
    names = (output_name(values), wrt)
    write_line(str(attrs.evolve(explanation, names=names)))
    return EXIT_OK


# --------------------------------------------------------------------------- fnad check


def _check(args: argparse.Namespace) -> int:
    from fnad.transforms.check import check_rules

    for plugin in args.plugin:
        load_plugin(plugin)
    report = check_rules(ops=args.op or None, order=args.order)
    write_line(str(report))
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


# --------------------------------------------------------------------------- fnad demo


def prepare_demo(sub: argparse.ArgumentParser) -> None:
    """Import the demo (and fnad.nn) only when it is asked for, and add its options to ``sub``.

    The demo's optional dependencies (tqdm, matplotlib) are imported by the demo itself
    when a run needs them, so importing it cannot fail for want of them.
    """
    from fnad.nn import demo

    demo.add_arguments(sub)
    for action in sub._actions:
        if "--flow" in action.option_strings and action.metavar == "FILE.png":
            # --flow writes PNG, SVG or PDF by the extension, as --plot does
            action.metavar = "FILE"
            action.help = (
                "draw the gradient flow of every step (|gradient| per layer, dead relu units) "
                "into FILE, as PNG, SVG or PDF by its extension (needs matplotlib)"
            )
    sub.set_defaults(handler=demo.run)


# --------------------------------------------------------------------------- the parser


def _version() -> str:
    # The installed distribution's version (fnad.__version__ is the same string); reading
    # it here keeps the command line from importing the whole package and its display.
    try:
        return importlib.metadata.version("fnad")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "(not installed)"


def build_parser(
    handlers: Mapping[str, Handler],
) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The argparse parser of the ``fnad`` command (``fnad --help``), and one per command.

    ``handlers`` runs each command but ``demo`` (see :func:`prepare_demo`): ``"grad"``,
    ``"replay"``, ``"explain"`` and ``"check"``.
    """
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _ArgumentParser(
        prog="fnad",
        description="Differentiate an expression and look at its computation graph.",
        epilog="Run 'fnad COMMAND --help' for the options of a command.",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"fnad {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    grad = commands.add_parser(
        "grad",
        help="evaluate an expression and print its value and every partial derivative",
        description=(
            "Evaluate EXPR at the given values and print the value and the partial\n"
            "derivative with respect to each variable, by reverse-mode autodiff."
        ),
        epilog=(
            "EXPR may use decimal numbers, the numbers pi and e, variables, + - * / **\n"
            "(Python precedence: -2**2 is -4), parentheses and calls of registered ops: "
            + ", ".join(expression_parser.available_functions())
            + ".\nIt is parsed, never evaluated as Python.\n\n"
            "examples:\n"
            '  fnad grad "x*y + x**2 + relu(y)" x=2 y=3\n'
            '  fnad grad "tanh(w*x + b)" w=0.5 x=2 b=0 --json\n'
            '  fnad grad "x*y" x=2 y=3 --svg graph.svg --save graph.json\n'
            '  fnad grad "log(x)" x=0 --strict'
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
    grad.add_argument(
        "--svg",
        metavar="FILE",
        help="draw the graph (values, gradients, local derivatives) into FILE, as SVG, PNG "
        "or PDF by its extension; needs graphviz: pip install 'fnad[viz]' and the dot program",
    )
    grad.add_argument("--dot", metavar="FILE", help="write the graph in graphviz DOT to FILE")
    grad.add_argument(
        "--save",
        metavar="FILE",
        help="write the graph as fnad JSON (node-link, schema fnad.graph) to FILE",
    )
    _add_plugin_option(grad)
    _add_strict_option(grad)
    grad.set_defaults(handler=handlers["grad"])

    replay = commands.add_parser(
        "replay",
        help="evaluate and differentiate a saved graph (fnad grad --save) at new inputs",
        description=(
            "Load a graph saved as fnad JSON (fnad grad --save, fnad.to_json) or as GraphML\n"
            "(fnad.to_graphml) and print its value and the partial derivative for each\n"
            "input at the given values.\n"
            "Inputs not given keep the values stored in the file. The file is untrusted\n"
            "input: it is validated completely, and its ops are looked up by name."
        ),
        epilog=(
            "examples:\n"
            '  fnad grad "x*y + x**2 + relu(y)" x=2 y=3 --save graph.json\n'
            "  fnad replay graph.json x=1 y=-1 --json"
        ),
        formatter_class=formatter,
    )
    replay.add_argument(
        "file", metavar="FILE", help="a fnad JSON graph (schema fnad.graph) or a GraphML file"
    )
    _add_value_options(replay)
    replay.add_argument(
        "--json", action="store_true", help="print the result as strict JSON, as fnad grad does"
    )
    _add_plugin_option(replay)
    _add_strict_option(replay)
    replay.set_defaults(handler=handlers["replay"])

    explain = commands.add_parser(
        "explain",
        help="show a partial derivative as a sum over paths of products of local derivatives",
        description=(
            "Evaluate EXPR at the given values and show d(EXPR)/d(NAME) as the chain rule\n"
            "computes it: the sum, over every path from NAME to the output, of the\n"
            "product of the local derivatives along the path."
        ),
        epilog=(
            "examples:\n"
            '  fnad explain "x*y + x**2 + relu(y)" x=2 y=3 --wrt x\n'
            '  fnad explain "x*x*x" x=2'
        ),
        formatter_class=formatter,
    )
    explain.add_argument("expression", metavar="EXPR", help="the expression, as for fnad grad")
    _add_value_options(explain)
    explain.add_argument(
        "--wrt",
        metavar="NAME",
        help="the variable to differentiate by (may be left out when there is only one)",
    )
    explain.add_argument(
        "--max-paths",
        type=positive_int,
        default=20,
        metavar="N",
        help="list at most the N largest paths (default: 20); the rest are summed",
    )
    _add_plugin_option(explain)
    _add_strict_option(explain)
    explain.set_defaults(handler=handlers["explain"])

    check = commands.add_parser(
        "check",
        help="check every registered op's derivative rule against finite differences",
        description=(
            "Check the derivative rule of every registered op (built-in, and those of\n"
            "--plugin modules) at the op's sample points: first and second derivatives,\n"
            "in reverse and forward mode, against finite differences. Exit status 0 if\n"
            "all agree, 1 with a report of the disagreements otherwise."
        ),
        epilog=("examples:\n  fnad check\n  fnad check --plugin mylib.ops --op mylib.softplus"),
        formatter_class=formatter,
    )
    check.add_argument(
        "--op",
        action="append",
        default=[],
        metavar="NAME",
        help="check only this op (may be repeated); default: every registered op",
    )
    check.add_argument(
        "--order",
        type=positive_int,
        default=2,
        metavar="N",
        help="check derivatives of orders 1 to N (default: 2)",
    )
    _add_plugin_option(check)
    check.set_defaults(handler=handlers["check"])

    commands.add_parser(
        "demo",
        help="train micrograd's MLP on the two-moons data (fnad demo --help for options)",
        description=(
            "Train micrograd's MLP(2, [16, 16, 1]) on two interleaving half moons with\n"
            "fnad. The progress bar needs tqdm and --plot needs matplotlib:\n"
            "pip install 'fnad[demo]'."
        ),
        formatter_class=formatter,
    )
    return parser, dict(commands.choices)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fnad`` command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    >>> main(["grad", "x**-1", "x=2"])
    f = 0.5
    df/dx = -0.25
    0
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    handlers = {"grad": _grad, "replay": _replay, "explain": _explain, "check": _check}
    parser, commands = build_parser(handlers)
    if not arguments:  # a bare `fnad`: show what it can do
        write(sys.stdout, parser.format_help())
        return EXIT_OK
    try:
        if arguments and arguments[0] in commands:
            # Intermixed, so options may also come between the expression and the values
            # (but argparse's intermixed mode mishandles '--', after which all is positional).
            command, rest = commands[arguments[0]], arguments[1:]
            if arguments[0] == "demo":
                prepare_demo(command)
            parse = command.parse_args if "--" in rest else command.parse_intermixed_args
            args = parse(rest)
            args.command = arguments[0]
        else:
            args = parser.parse_args(arguments)
    except SystemExit as exit_:  # --help, --version and usage errors
        code = exit_.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
    prog = f"fnad {args.command}"
    handler: Handler = args.handler
    try:
        if getattr(args, "strict", False):
            from fnad.engine import strict

            try:
                with strict():
                    code = handler(args)
            except NonFiniteError as error:
                raise NonFiniteError(
                    str(error).replace("leave the strict() block", "run without --strict")
                ) from None
        else:
            code = handler(args)
        if sys.stdout is not None:
            try:
                sys.stdout.flush()  # a pipe nobody reads fails here, inside the try
            except OSError as error:
                raise StdoutError(error.errno, error.strerror or str(error)) from None
        return code
    except FnadError as error:
        return fail(prog, str(error))
    except StdoutError as error:
        silence_stdout()
        return fail(prog, f"cannot write the result: {error.strerror or error}")
    except OSError as error:
        target = f" {error.filename!r}" if error.filename else ""
        return fail(prog, f"cannot access{target}: {error.strerror or error}")
    except KeyboardInterrupt:
        write(sys.stderr, f"{prog}: interrupted\n")
        return 130  # 128 + SIGINT, as shells report it


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
