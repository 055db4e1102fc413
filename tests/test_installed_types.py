"""fnad's types reach mypy in a user's project, outside this repository.

A user script in an empty temporary directory is type-checked with ``mypy --strict``
against the *installed* fnad, as a user's project would be. setuptools' default editable
install (an import-hook finder) hides the package from mypy, so every type would be Any:
the README's dev install uses ``--config-settings editable_mode=strict`` (a link tree mypy
can read); a regular ``pip install`` works as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

USER_SCRIPT = """
import fnad
from fnad.nn.model import MLP

with fnad.Tape():
    x = fnad.Node(2.0, label="x")
    y = x * x + 1
    grads = y.backward()
reveal_type(y)
reveal_type(grads)
reveal_type(grads[x])
reveal_type(fnad.tanh(0.5))
reveal_type(MLP(2, [4, 1]).parameters())
x.zero_grad()
"""


def test_a_user_script_sees_fnads_types(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    (tmp_path / "user.py").write_text(USER_SCRIPT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "user.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = done.stdout
    assert "import-not-found" not in report and 'Revealed type is "Any"' not in report, (
        "mypy cannot see the installed fnad (setuptools' default editable install hides it); "
        "reinstall with: pip install -e '.[dev]' --config-settings editable_mode=strict\n" + report
    )
    assert 'user.py:9: note: Revealed type is "fnad.engine.node.Node"' in report
    assert 'user.py:10: note: Revealed type is "fnad.engine.backward.Gradients[float]"' in report
    assert 'user.py:11: note: Revealed type is "float"' in report
    assert 'user.py:12: note: Revealed type is "float"' in report
    assert 'user.py:13: note: Revealed type is "tuple[float, ...]"' in report
    # micrograd's habit is a type error too, not only a run-time one
    assert 'user.py:14: error: "Node" has no attribute "zero_grad"  [attr-defined]' in report
    assert report.rstrip().endswith("Found 1 error in 1 file (checked 1 source file)")
