"""How the ``fnad`` command line reads its arguments: the argparse parser of every command.

:func:`build_parser` declares the commands, their help and their options. Its argparse is
tuned: an error is one line, abbreviated options are off (``--s`` does not mean ``--save``),
and a word such as ``-x*y`` or ``-2`` is an expression, not an unknown option.

>>> handlers = dict.fromkeys(["grad", "replay", "explain", "check"], lambda args: 0)
>>> parser, commands = build_parser(handlers)
>>> args = commands["grad"].parse_intermixed_args(["-x*y", "x=2", "--json", "y=3"])
>>> args.expression, args.assignments, args.json
('-x*y', ['x=2', 'y=3'], True)
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from fnad._internal import positive_int
from fnad.cli.terminal import EXIT_USAGE
from fnad.cli.vocabulary import available_functions
from fnad.errors import FnadError
from fnad.viz.render import printable

__all__ = ["Handler", "build_parser", "prepare_demo", "refuse_options_among_values"]

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


def refuse_options_among_values(args: argparse.Namespace) -> None:
    """An unknown ``--name`` that reached the NAME=VALUE list was meant as an option."""
    for item in args.assignments:
        if _LONG_OPTION.match(item):
            raise FnadError(
                f"unrecognized option {printable(item)!r}: it is neither an option of "
                f"fnad {args.command} nor NAME=VALUE (see 'fnad {args.command} --help')"
            )


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
            + ", ".join(available_functions())
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
