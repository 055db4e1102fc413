"""The architecture is a test: dependencies point one way, and no module reaches into
another's private names.

The layers are written once, as an import-linter contract in pyproject.toml
(``[tool.importlinter]``); README.md's "Layout" section and ``fnad/__init__.py`` draw the
same picture, and a test below keeps the three in step.
"""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fnad
from fnad import _moved

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fnad"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # A subprocess: import-linter imports the package under analysis by name.
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports; "
            "raise SystemExit(lint_imports('pyproject.toml', no_cache=True, no_logo=True))",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(root), "PATH": ""},
        timeout=120,
    )


def test_the_layer_contract_holds() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """The contract can fail: the engine's node module importing the writer (an upper layer) is reported."""
    copy = tmp_path / "tree"
    shutil.copytree(PACKAGE, copy / "fnad", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    node = copy / "fnad" / "engine" / "node.py"
    node.write_text(node.read_text() + "\n\ndef _upward() -> None:\n    import fnad.graph.writer\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "fnad.engine.node -> fnad.graph.writer" in result.stdout, result.stdout


def test_compiled_importing_transforms_breaks_the_contract(tmp_path: Path) -> None:
    """compiled and transforms are independent: the replay never reaches for a transform."""
    copy = tmp_path / "tree"
    shutil.copytree(PACKAGE, copy / "fnad", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    program = copy / "fnad" / "compiled" / "program.py"
    program.write_text(program.read_text() + "\n\nimport fnad.transforms.functional\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "fnad.compiled.program -> fnad.transforms.functional" in result.stdout, result.stdout


def _underscore_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fnad"):
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                module = node.module == "fnad" and (PACKAGE / f"{alias.name}.py").exists()
                if private and not module:  # `from fnad import _internal` is the way in
                    found.append(f"{path.name}: from {node.module} import {alias.name}")
    return found


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    """Shared helpers live in fnad/_internal.py under plain names."""
    assert _underscore_imports(path) == []


def test_the_private_name_check_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from fnad.engine.tape import _make\n")
    assert _underscore_imports(sample) == ["sample.py: from fnad.engine.tape import _make"]


def _contract_layers() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = text.split("layers = [", 1)[1].split("]", 1)[0]
    return re.findall(r'"([^"]+)"', block)


def test_readme_and_init_show_the_contract() -> None:
    """README's Layout section and the package docstring list every layer of the contract,
    in the same order (top layer first)."""
    layers = _contract_layers()
    readme = (ROOT / "README.md").read_text().split("## Layout", 1)[1]
    init = (PACKAGE / "__init__.py").read_text().split("Packages by role", 1)[1].split('"""', 1)[0]
    for text, opening in ((readme, "```text"), (init, "::")):
        block = text.split(opening, 1)[1]
        lines = block.strip().splitlines()[: len(layers)]
        shown = [line.strip().split("  ")[0] for line in lines]
        assert shown == layers


def test_every_module_is_in_a_layer() -> None:
    named = {name.strip() for layer in _contract_layers() for name in layer.split("|")}
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert modules | packages == named


@pytest.mark.parametrize("old", sorted(_moved.MOVED), ids=str)
def test_an_old_module_path_still_imports_with_a_deprecation_warning(old: str) -> None:
    """The flat layout's paths (``from fnad.reader import read_json``) keep working for this
    version: the same objects as the new path, with a warning that names it."""
    new = importlib.import_module(_moved.MOVED[old])
    name = next(n for n in getattr(new, "__all__", dir(new)) if not n.startswith("_"))
    with pytest.warns(DeprecationWarning, match=rf"{old} moved to {_moved.MOVED[old]}"):
        found = getattr(importlib.import_module(old), name)
    assert found is getattr(new, name)


def test_old_submodule_attributes_of_the_package_still_resolve() -> None:
    importlib.import_module("fnad.flow")  # `import fnad.flow`, the first layout's spelling
    with pytest.warns(DeprecationWarning, match="fnad.flow moved to fnad.nn.flow"):
        found = getattr(fnad, "flow").plot_flow  # noqa: B009  (fnad.flow, unknown to mypy)
    assert found is importlib.import_module("fnad.nn.flow").plot_flow
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        getattr(fnad, "nonexistent")  # noqa: B009


def test_every_package_init_re_exports_only_what_its_modules_declare() -> None:
    """A package's ``__all__`` is the union of its modules' ``__all__``: nothing invented there."""
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        package = importlib.import_module(f"fnad.{init.parent.name}")
        declared = set()
        for module in init.parent.glob("*.py"):
            if module.stem != "__init__":
                mod = importlib.import_module(f"fnad.{init.parent.name}.{module.stem}")
                declared |= set(getattr(mod, "__all__", ()))
        assert set(package.__all__) <= declared, init
        for name in package.__all__:
            assert getattr(package, name) is not None
