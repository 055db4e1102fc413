"""The engine's module docstrings tell the truth about dependencies: each module's
"Dependencies inside the engine: …" sentence names exactly the engine modules it imports,
and the package docstring lists the modules in an order where each imports only the ones
before it (so the Node ↔ Tape cycle is designed, not left to import order)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "fnad" / "engine"
MODULES = sorted(p.stem for p in ENGINE.glob("*.py") if p.stem != "__init__")
CLAIM = re.compile(r"Dependencies inside the engine:\s*(.*?)\.(?:\s|$)", re.S)


def engine_imports(source: str) -> set[str]:
    """The engine modules ``source`` imports when it is imported: module-level imports, not
    those under ``if TYPE_CHECKING:`` nor inside functions."""
    found: set[str] = set()
    for node in ast.parse(source).body:  # module level only
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "fnad.engine":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("fnad.engine."):
                found.add(node.module.removeprefix("fnad.engine."))
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("fnad.engine.")
                for a in node.names
                if a.name.startswith("fnad.engine.")
            }
    return found


def claimed(source: str) -> set[str] | None:
    """The engine modules a module's docstring says it depends on (None: it says nothing)."""
    docstring = ast.get_docstring(ast.parse(source)) or ""
    match = CLAIM.search(docstring)
    if match is None:
        return None
    sentence = " ".join(match.group(1).split())
    named = set(re.findall(r":mod:`fnad\.engine\.(\w+)`", sentence))
    assert named or sentence.startswith("none"), sentence
    return named


@pytest.mark.parametrize("module", MODULES)
def test_each_module_states_its_engine_dependencies_truly(module: str) -> None:
    source = (ENGINE / f"{module}.py").read_text(encoding="utf-8")
    assert claimed(source) == engine_imports(source)


def test_the_package_lists_its_modules_in_dependency_order() -> None:
    docstring = ast.get_docstring(ast.parse((ENGINE / "__init__.py").read_text())) or ""
    order = re.findall(r"^    (\w+)  +\S", docstring, re.M)
    assert sorted(order) == MODULES
    for i, module in enumerate(order):
        imports = engine_imports((ENGINE / f"{module}.py").read_text(encoding="utf-8"))
        assert imports <= set(order[:i]), f"{module} imports {imports - set(order[:i])}"


def test_the_checks_can_fail() -> None:
    lying = '"""A module.\n\nDependencies inside the engine: :mod:`fnad.engine.rules`.\n"""\n'
    assert claimed(lying) == {"rules"}
    assert engine_imports(lying + "from fnad.engine.node import Node\n") == {"node"}
    hidden = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fnad.engine.tape import Tape\n"
    assert engine_imports(hidden) == set()
    assert engine_imports("from fnad.engine import scope\n") == {"scope"}
