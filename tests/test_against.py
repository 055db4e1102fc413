"""benchmarks/against.py, the old-tree-against-new benchmark, kept from rotting.

The benchmark's figures are not asserted (no wall-clock in tests): these run it at its tiny
size and check what it prints, and check its renaming of a tree's imports on known source.
See docs/performance.md, "Measuring against an older tree".
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "against.py"


def head() -> str:
    """HEAD's short commit id, or a skip where there is no git history to read a tree from."""
    if not SCRIPT.exists():
        pytest.skip("no benchmarks/ beside the tests (an installed fnad)")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("not a git checkout with a HEAD commit")
    return done.stdout.strip()[:7]


def against() -> ModuleType:
    spec = importlib.util.spec_from_file_location("against", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["against"] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["against"]
    return module


def test_head_against_the_working_tree_runs_in_one_process_and_alone() -> None:
    """HEAD, extracted and renamed, beside this tree's ``fnad``: bit-identical, three tables.

    In a clean checkout this is HEAD against HEAD. An uncommitted change that alters fnad's
    values makes it fail, naming the values that differ.
    """
    short = head()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "HEAD", "--tiny", "--both"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"old {short} against new (working tree)" in out
    assert f"/fnad_{short}/__init__.py" in out
    assert f"new (working tree): {REPO / 'fnad' / '__init__.py'}" in out
    for title in (
        "one process, interleaved, GC on, median of 2",
        "one process, interleaved, GC off, median of 2",
        "each tree alone in its own process, GC on, median of 1 x 2",
    ):
        assert title in out
    assert out.count("(b) compiled replay (evaluate)") == 3
    assert "values and gradients bit-identical between the trees" in out


def test_an_unknown_revision_is_named_with_the_fix() -> None:
    head()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "0" * 40, "--tiny"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"against.py: no commit '{'0' * 40}' in {REPO} (a shallow clone? "
        "`git fetch --unshallow` brings the history)\n"
    )


def test_rewrite_renames_every_import_form_and_module_path_strings() -> None:
    module = against()
    source = (
        "from fnad import Node\n"
        "from fnad.engine.core import Tape\n"
        "import fnad\n"
        "import fnad.nn.model\n"
        "import fnad.flow as flow\n"
        "    >>> import fnad\n"
        "fnadish = 1\n"
        "formatters.for_type_by_name(\"fnad.nn\", 'MLP', html)\n"
        'moved = MOVED.get(f"fnad.{name}")\n'
        'SCHEMA = "fnad.graph"\n'
        'version("fnad")\n'
        'raise Error(f"fnad.{name}: bad")\n'
    )
    assert module.rewrite(source, "fnad_abc") == (
        "from fnad_abc import Node\n"
        "from fnad_abc.engine.core import Tape\n"
        "import fnad_abc as fnad\n"
        "import fnad_abc.nn.model; import fnad_abc as fnad\n"
        "import fnad_abc.flow as flow\n"
        "    >>> import fnad_abc as fnad\n"
        "fnadish = 1\n"
        "formatters.for_type_by_name(\"fnad_abc.nn\", 'MLP', html)\n"
        'moved = MOVED.get(f"fnad_abc.{name}")\n'
        'SCHEMA = "fnad.graph"\n'
        'version("fnad")\n'
        'raise Error(f"fnad.{name}: bad")\n'
    )
    # a form it does not rename is found, so extraction stops instead of importing fnad
    assert module.imports_of_fnad("import os, fnad\nfrom fnad_abc import x\n") == [1]
