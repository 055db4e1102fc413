"""Doctests of the docs: docs/cli.md runs its commands in an empty temporary directory,
and the ops its plugin example registers disappear with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import fnad


@pytest.fixture(autouse=True)
def _cli_examples_in_a_scratch_directory(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    if Path(str(request.node.path)).name != "cli.md":
        yield
        return
    monkeypatch.chdir(tmp_path)
    with fnad.isolated_rules():
        yield


@pytest.fixture(autouse=True)
def _custom_op_examples_in_a_private_rule_table(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """docs/custom-ops.md and docs/transforms.md register ops; they disappear with the file."""
    if Path(str(request.node.path)).name not in ("custom-ops.md", "transforms.md"):
        yield
        return
    with fnad.isolated_rules():
        yield


@pytest.fixture(autouse=True)
def _render_examples_need_graphviz(request: pytest.FixtureRequest) -> None:
    """docs/visualize.md draws SVGs: skip it without graphviz, unless FNAD_REQUIRE_DOT=1."""
    if Path(str(request.node.path)).name != "visualize.md":
        return
    import importlib.util
    import os
    import shutil

    missing = []
    if shutil.which("dot") is None:
        missing.append("graphviz's `dot` (apt-get install graphviz)")
    if importlib.util.find_spec("graphviz") is None:
        missing.append("the graphviz package (pip install 'fnad[viz]')")
    if missing:
        if os.environ.get("FNAD_REQUIRE_DOT") == "1":
            pytest.fail(f"FNAD_REQUIRE_DOT=1 but {' and '.join(missing)} is missing")
        pytest.skip(f"docs/visualize.md renders SVG and needs {' and '.join(missing)}")
