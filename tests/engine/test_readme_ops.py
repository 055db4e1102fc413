"""README's table of ops is generated from the rule table: every built-in op, how to call it,
and its local derivatives (the docstring of its partials in fnad/engine/ops.py).

After adding an op, regenerate the table with ``.venv/bin/python -m tests.engine.test_readme_ops``
and paste it between the ``ops-table`` markers of README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import fnad
from fnad import Node
from fnad.engine.methods import NUMPY_UFUNCS
from fnad.engine.ops import BinaryOp, UnaryOp
from fnad.engine.rules import builtin_rules

README = Path(__file__).resolve().parents[2] / "README.md"

OPERATORS = {
    "add": "`a + b`",
    "sub": "`a - b`",
    "mul": "`a * b`",
    "truediv": "`a / b`",
    "pow": "`a ** b`",
    "neg": "`-a`",
    "mod": "`a % b`",
    "abs": "`abs(a)`",
    "floor": "`math.floor(a)`",
    "ceil": "`math.ceil(a)`",
}


def _on_nodes(name: str, arity: int) -> str:
    forms = [OPERATORS[name]] if name in OPERATORS else []
    if name == "leaky_relu":
        forms.append("`a.leaky_relu(negative_slope=0.01)`")
    elif hasattr(Node, name):
        forms.append(f"`a.{name}()`" if arity == 1 else f"`a.{name}(b)`")
    forms += [f"`np.{u}`" for u, op in NUMPY_UFUNCS.items() if op == name and u != name]
    return ", ".join(forms)


def _function(name: str) -> str:
    functions = [
        f"`fnad.{attribute}`"
        for attribute in fnad.__all__
        if isinstance(getattr(fnad, attribute), (UnaryOp, BinaryOp))
        and getattr(fnad, attribute).name == name
    ]
    if name == "leaky_relu":
        functions.append("`fnad.leaky_relu`")
    return ", ".join(functions)


def ops_table() -> str:
    """The markdown table of every built-in op, in the order of fnad/engine/ops.py."""
    lines = [
        "| op | on Nodes | as a function | local derivatives (the rule in `fnad/engine/ops.py`) |",
        "|---|---|---|---|",
    ]
    for name, rule in builtin_rules().items():
        if rule.partials.__module__ != "fnad.engine.ops":
            continue
        derivative = rule.doc.replace("|", "\\|")
        lines.append(
            f"| `{name}` | {_on_nodes(name, rule.arity)} | {_function(name)} | {derivative} |"
        )
    return "\n".join(lines) + "\n"


def test_readme_ops_table_is_generated_from_the_rule_table() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- ops-table:start -->\n(.*?)<!-- ops-table:end -->", text, re.S)
    assert match, "README.md lost its ops-table markers"
    assert match.group(1) == ops_table(), (
        "README's op table is stale: run `.venv/bin/python -m tests.engine.test_readme_ops` and "
        "paste its output between the ops-table markers"
    )


def test_every_unary_op_function_is_listed() -> None:
    table = ops_table()
    for attribute in fnad.__all__:
        function = getattr(fnad, attribute)
        if isinstance(function, UnaryOp):
            assert f"`fnad.{attribute}`" in table, attribute


if __name__ == "__main__":
    print(ops_table(), end="")
