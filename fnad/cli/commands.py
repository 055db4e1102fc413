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

This module runs the commands; the argparse parser that reads their arguments is in
:mod:`fnad.cli.arguments`, what they print and their exit statuses in
:mod:`fnad.cli.terminal`, the files they write and read in :mod:`fnad.cli.files`, and
plugin loading in :mod:`fnad.cli.plugins`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from fnad.cli import parser as expression_parser
from fnad.cli.arguments import Handler, build_parser, prepare_demo, refuse_options_among_values
from fnad.cli.files import refuse_drawing, starts_like_xml, write_graph_files
from fnad.cli.plugins import load_plugin
from fnad.cli.terminal import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    StdoutError,
    fail,
    output_name,
    print_result,
    silence_stdout,
    write,
    write_line,
)
from fnad.engine import Tape
from fnad.errors import FnadError, NonFiniteError

__all__ = ["main"]


# --------------------------------------------------------------------------- fnad grad


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
