"""What the command line says to a newcomer (docs/cli.md): hints for unknown names, constants, --strict,
drawings given to replay, plugins imported once, and outputs written all-or-nothing."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fnad
import fnad.cli.files
from tests.cli.test_cli import assert_one_line_error, run

# --------------------------------------------------------------------------- expressions


def test_an_expression_starting_with_two_minus_signs_is_an_expression() -> None:
    assert run("grad", "--x", "x=2") == (0, "f = 2.0\ndf/dx = 1.0\n", "")
    assert run("grad", "--x", "x=2", "--json")[1] == '{"value": 2.0, "grad": {"x": 1.0}}\n'
    assert run("grad", "--x*y", "x=2", "y=3")[1] == "f = 6.0\ndf/dx = 3.0\ndf/dy = 2.0\n"


def test_a_misspelt_option_is_an_error_with_a_hint() -> None:
    code, out, err = run("grad", "x", "x=1", "--jsn")
    assert_one_line_error(code, out, err)
    assert "unrecognized arguments: --jsn (did you mean --json?)" in err
    code, out, err = run("grad", "x", "x=1", "--sav=g.json")
    assert "--sav=g.json (did you mean --save" in err


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("max(x, y)", "unknown function 'max' (did you mean maximum(x, y)?)"),
        ("min(x, y)", "unknown function 'min' (did you mean minimum(x, y)?)"),
        ("Relu(x)", "unknown function 'Relu' (did you mean relu(x)?)"),
        ("TANH(x)", "unknown function 'TANH' (did you mean tanh(x)?)"),
        ("pow(x, y)", "unknown function 'pow' (powers are written with **: x**2, x**y)"),
        ("ln(x)", "unknown function 'ln' (did you mean log(x)?)"),
        ("sigmiod(x)", "unknown function 'sigmiod' (did you mean sigmoid(x)?)"),
    ],
)
def test_an_unknown_function_gets_a_did_you_mean(expression: str, hint: str) -> None:
    code, out, err = run("grad", expression, "x=0.5", "y=2")
    assert_one_line_error(code, out, err)
    assert hint in err
    assert "available functions: abs, acos" in err


def test_the_suggested_spellings_work() -> None:
    assert run("grad", "maximum(x, y)", "x=0.5", "y=2")[0] == 0
    assert run("grad", "x**y", "x=0.5", "y=2")[0] == 0
    assert run("grad", "relu(x)", "x=0.5")[0] == 0


def test_unrelated_names_get_no_guess() -> None:
    err = run("grad", "foo(x)", "x=1")[2]
    assert "unknown function 'foo'; available functions" in err


def test_pi_and_e_are_numbers() -> None:
    code, out, err = run("grad", "pi*x + e", "x=2", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "value": math.pi * 2 + math.e,
        "grad": {"x": math.pi},
    }
    assert run("grad", "-pi")[1] == "f = -3.141592653589793\n"
    code, out, err = run("grad", "e", "e=2")
    assert_one_line_error(code, out, err)
    assert "cannot use 'e' as a variable: it is the number 2.718281828459045" in err


def test_inf_and_nan_are_numbers_only_when_non_finite_values_are_allowed() -> None:
    code, out, err = run("grad", "x*inf", "x=1")
    assert_one_line_error(code, out, err)
    assert "'inf' is not a finite number; allow non-finite values explicitly" in err
    code, out, err = run("grad", "x*inf + nan*0", "x=1", "--allow-nonfinite", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"value": "nan", "grad": {"x": "inf"}}


# --------------------------------------------------------------------------- -0 and --strict


def test_text_output_shows_zero_and_json_keeps_the_signed_zero() -> None:
    assert run("grad", "relu(x*-2)", "x=1") == (0, "f = 0.0\ndf/dx = 0.0\n", "")
    assert run("grad", "relu(x*-2)", "x=1", "--json")[1] == (
        '{"value": 0.0, "grad": {"x": -0.0}}\n'
    )


def test_strict_runs_the_command_under_fnad_strict() -> None:
    assert run("grad", "log(x)", "x=0")[1] == "f = -inf\ndf/dx = inf\n"
    code, out, err = run("grad", "log(x)", "x=0", "--strict")
    assert_one_line_error(code, out, err)
    assert "fnad.strict: op 'log' produced -inf from (x=0.0)" in err
    assert "run without --strict" in err
    assert run("grad", "x*y", "x=2", "y=3", "--strict")[0] == 0
    code, out, err = run("explain", "log(x)", "x=0", "--strict")
    assert_one_line_error(code, out, err, "explain")
    assert not fnad.is_strict()


def test_strict_on_replay(tmp_path: Path) -> None:
    saved = tmp_path / "g.json"
    assert run("grad", "log(x)", "x=1", "--save", str(saved))[0] == 0
    assert run("replay", str(saved), "x=0")[0] == 0
    code, out, err = run("replay", str(saved), "x=0", "--strict")
    assert_one_line_error(code, out, err, "replay")
    assert "NonFinite" not in err and "-inf" in err


def test_demo_help_says_flow_takes_png_svg_or_pdf() -> None:
    code, out, _ = run("demo", "--help")
    assert code == 0
    assert "--flow FILE " in out and "FILE.png" not in out
    words = out.split()
    flow_help = " ".join(words[words.index("--flow") + 2 :][:40]).split("--")[0]
    assert "PNG" in flow_help and "SVG" in flow_help and "PDF" in flow_help


# --------------------------------------------------------------------------- replay of drawings


def test_replay_of_a_drawing_says_what_the_file_is_and_points_to_save(tmp_path: Path) -> None:
    graph = ["grad", "x*y", "x=2", "y=3"]
    dot, saved = tmp_path / "seed.dot", tmp_path / "seed.json"
    assert run(*graph, "--dot", str(dot), "--save", str(saved))[0] == 0
    svg = tmp_path / "seed.svg"
    svg.write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg width="8pt"></svg>\n'
    )
    png = tmp_path / "seed.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    for path, kind in [(dot, "a DOT"), (svg, "an SVG"), (png, "a PNG")]:
        code, out, err = run("replay", str(path))
        assert_one_line_error(code, out, err, "replay")
        assert f"is {kind} drawing of a graph, which cannot be replayed" in err
        assert "--save graph.json" in err
    # the fix it names works
    assert run("replay", str(saved))[1] == "f = 6.0\ndf/dx = 3.0\ndf/dy = 2.0\n"
    # a saved graph under a drawing's name is still a graph
    misnamed = tmp_path / "graph.svg"
    misnamed.write_bytes(saved.read_bytes())
    assert run("replay", str(misnamed))[0] == 0


# --------------------------------------------------------------------------- plugins


@pytest.mark.parametrize(
    "plugin", ["fnad.engine.tape", "fnad.engine.rules", "fnad", "fnad.core", "FNAD_FILE"]
)
@pytest.mark.parametrize("command", ["grad x x=1", "check --op relu"])
def test_fnads_own_modules_are_refused_as_plugins(plugin: str, command: str) -> None:
    if plugin == "FNAD_FILE":
        plugin = str(Path(fnad.engine.tape.__file__))
    before = sorted(fnad.current_rules())
    argv = command.split()
    code, out, err = run(*argv, "--plugin", plugin)
    assert_one_line_error(code, out, err, argv[0])
    assert "is one of fnad's own modules, not a plugin" in err
    assert sorted(fnad.current_rules()) == before
    assert run("check", "--op", "relu", "--order", "1")[0] == 0


def test_a_plugin_module_is_imported_once_and_never_reloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "counted_plugin.py").write_text(
        "import fnad\nimport builtins\n"
        "builtins.fnad_plugin_runs = getattr(builtins, 'fnad_plugin_runs', 0) + 1\n"
        "fnad.defop('counted.twice', impl=lambda x: 2 * x, partials=lambda x, out: (2.0,),"
        " samples=[(0.5,)])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import builtins

    with fnad.isolated_rules():
        for _ in range(3):
            assert run("grad", "counted.twice(x)", "x=1", "--plugin", "counted_plugin")[0] == 0
        assert run("check", "--plugin", "counted_plugin", "--op", "counted.twice")[0] == 0
    assert builtins.fnad_plugin_runs == 1  # type: ignore[attr-defined]
    monkeypatch.delitem(sys.modules, "counted_plugin")
    del builtins.fnad_plugin_runs  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- outputs


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize("option", ["--save", "--dot"])
def test_an_output_that_is_a_fifo_is_refused_without_hanging(tmp_path: Path, option: str) -> None:
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "fnad", "grad", "x", "x=1", option, str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert f"{option} '{fifo}' is a named pipe (FIFO), not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_output_that_is_a_device_is_refused() -> None:
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null here")
    code, out, err = run("grad", "x", "x=1", "--save", "/dev/null")
    assert_one_line_error(code, out, err)
    assert "--save '/dev/null' is a character device, not a regular file" in err


def test_a_failing_later_output_leaves_every_earlier_one_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dot, saved = tmp_path / "g.dot", tmp_path / "g.json"
    dot.write_text("the old dot")
    saved.write_text("the old json")
    real = fnad.cli.files._write_temporary
    calls: list[Path] = []

    def disk_full_on_the_second(final: Path, content: bytes) -> Path:
        calls.append(final)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(final, content)

    monkeypatch.setattr(fnad.cli.files, "_write_temporary", disk_full_on_the_second)
    code, out, err = run("grad", "x*y", "x=2", "y=3", "--dot", str(dot), "--save", str(saved))
    assert_one_line_error(code, out, err)
    assert f"--save '{saved}': cannot write the file: No space left on device" in err
    assert "no file was changed" in err
    assert dot.read_text() == "the old dot" and saved.read_text() == "the old json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.json"]  # no temporaries


def test_outputs_replace_files_whole_and_keep_their_permissions(tmp_path: Path) -> None:
    saved = tmp_path / "g.json"
    saved.write_text("x" * 100_000)
    saved.chmod(0o640)
    assert run("grad", "x*y", "x=2", "y=3", "--save", str(saved))[0] == 0
    assert json.loads(saved.read_text())["graph"]["schema"] == "fnad.graph"
    assert saved.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]
    # through a symlink, the file it names is written and the link stays
    link = tmp_path / "link.json"
    link.symlink_to(saved)
    assert run("grad", "x", "x=5", "--save", str(link))[0] == 0
    assert link.is_symlink() and json.loads(saved.read_text())["nodes"][0]["data"] == 5.0


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_all_three_outputs_are_written(tmp_path: Path) -> None:
    names = [tmp_path / "g.svg", tmp_path / "g.dot", tmp_path / "g.json"]
    code, _, err = run(
        "grad",
        "x*y",
        "x=2",
        "y=3",
        "--svg",
        str(names[0]),
        "--dot",
        str(names[1]),
        "--save",
        str(names[2]),
    )
    assert code == 0 and err.count("fnad: wrote") == 3
    assert names[0].read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(("name", "magic"), [("flow.svg", b"<?xml"), ("flow.pdf", b"%PDF")])
def test_demo_flow_writes_the_format_of_its_extension(
    tmp_path: Path, name: str, magic: bytes
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / name
    code, _, _ = run("demo", "--json", "--steps", "1", "--samples", "10", "--flow", str(target))
    assert code == 0
    assert target.read_bytes().startswith(magic)


@pytest.mark.parametrize("character", ["\u202e", "\u2066", "\u200b", "\u3164", "\u2800"])
def test_invisible_characters_of_labels_are_escaped_on_the_terminal(
    tmp_path: Path, character: str
) -> None:
    with fnad.Tape():
        x = fnad.Node(2.0, label=f"a{character}b")
        saved = tmp_path / "g.json"
        saved.write_text(fnad.to_json(x * 3.0))
    code, out, err = run("replay", str(saved))
    assert (code, err) == (0, "")
    assert character not in out
    assert f"df/da\\u{ord(character):04x}b = 3.0" in out
    assert json.loads(run("replay", str(saved), "--json")[1])["grad"] == {f"a{character}b": 3.0}
