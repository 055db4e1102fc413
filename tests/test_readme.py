"""The README's promises: its set-up commands, the output it shows, and its links."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_setup_is_two_commands_one_of_them_is_what_ci_runs() -> None:
    commands = [block.strip() for block in _blocks(README, "bash")]
    assert len(commands) == 2
    main_job, tests = commands
    assert "pip install" in main_job and "fnad grad" in main_job
    assert "pip install" in tests and "pytest" in tests
    marker = README.index("<!-- ci:install-and-test -->")
    assert README.index(tests) > marker
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "install-and-test" in ci
    # users skip the slow tests, CI runs the README's command and then the rest: every test
    assert tests.endswith('.venv/bin/pytest -q -m "not slow"')
    assert "\n.venv/bin/pytest -q -m slow\n" in ci


def test_main_job_prints_what_the_readme_shows(capsys: pytest.CaptureFixture[str]) -> None:
    from fnad.cli.commands import main

    main_job = _blocks(README, "bash")[0].strip()
    argv = shlex.split(main_job.split(".venv/bin/fnad ", 1)[1])
    assert main(argv) == 0
    shown = _blocks(README, "text")[0]
    assert capsys.readouterr().out == shown


@pytest.mark.parametrize(
    "document", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name
)
def test_relative_links_resolve(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (document.parent / target).exists(), f"{document.name} links to missing {target}"
