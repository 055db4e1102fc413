"""The ``fnad`` command line: results equal the Python API, bad input is one line and exit 2."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fnad
import fnad.cli.commands
from fnad.cli.commands import main
from fnad.cli.parser import MAX_DEPTH, MAX_LENGTH
from fnad.cli.terminal import write
from tests.cli.test_parser import VARIABLES, expressions, python_oracle, same

FNAD = Path(sys.executable).with_name("fnad")


@contextlib.contextmanager
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


def run(*argv: str) -> tuple[int, str, str]:
    with captured() as (out, err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def decode(value: float | str) -> float:
    return float(value)  # "nan", "inf" and "-inf" are what float() reads


def strict_json(text: str) -> dict[str, object]:
    def refuse(token: str) -> object:
        raise AssertionError(f"not strict JSON: {token}")

    document = json.loads(text, parse_constant=refuse)
    assert isinstance(document, dict)
    return document


def assert_one_line_error(code: int, out: str, err: str, command: str = "grad") -> None:
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err[:300]
    assert err.startswith(f"fnad {command}: error: ") or err.startswith("fnad: error: ")
    assert "Traceback" not in err
    assert len(err) < 1000


# --------------------------------------------------------------------------- fnad grad


def test_grad_json_is_the_issue_example() -> None:
    code, out, err = run("grad", "x*y + x**2 + relu(y)", "x=2", "y=3", "--json")
    assert (code, err) == (0, "")
    assert out == '{"value": 13.0, "grad": {"x": 7.0, "y": 3.0}}\n'


def test_grad_text_output_reads_like_the_seed_example() -> None:
    assert run("grad", "x*y + x**2 + relu(y)", "x=2", "y=3") == (
        0,
        "f = 13.0\ndf/dx = 7.0\ndf/dy = 3.0\n",
        "",
    )
    # a variable called f: the output is z
    assert run("grad", "f*2", "f=1")[1] == "z = 2.0\ndz/df = 2.0\n"


@pytest.mark.parametrize(
    ("argv", "value", "grads"),
    [
        (["-2**2"], -4.0, {}),
        (["x**-1", "x=2"], 0.5, {"x": -0.25}),
        (["-x*y", "x=2", "y=3"], -6.0, {"x": -3.0, "y": -2.0}),
        (["-x", "x=2"], -2.0, {"x": -1.0}),
        (["--", "--x", "x=2"], 2.0, {"x": 1.0}),
        (["- x", "x=-2"], 2.0, {"x": -1.0}),
        (["(-2)**2"], 4.0, {}),
    ],
)
def test_grad_values(argv: list[str], value: float, grads: dict[str, float]) -> None:
    code, out, err = run("grad", "--json", *argv)
    assert (code, err) == (0, "")
    assert strict_json(out) == {"value": value, "grad": grads}


def test_options_may_come_anywhere() -> None:
    expected = run("grad", "x*y", "x=2", "y=3", "--json")
    assert run("grad", "--json", "x*y", "x=2", "y=3") == expected
    assert run("grad", "x*y", "--json", "x=2", "y=3") == expected


def test_gradients_are_listed_in_the_order_given() -> None:
    out = run("grad", "x*y", "y=3", "x=2", "--json")[1]
    assert out == '{"value": 6.0, "grad": {"y": 2.0, "x": 3.0}}\n'


def test_non_finite_results_are_strict_json() -> None:
    code, out, _ = run("grad", "log(x) + 0*y", "x=0", "y=-1", "--json")
    assert code == 0
    document = strict_json(out)
    assert document == {"value": "-inf", "grad": {"x": "inf", "y": 0.0}}
    code, out, _ = run("grad", "sqrt(x)", "x=-1", "--json")
    assert strict_json(out) == {"value": "nan", "grad": {"x": "nan"}}
    assert run("grad", "sqrt(x)", "x=-1")[1] == "f = nan\ndf/dx = nan\n"


def test_non_finite_values_need_the_flag() -> None:
    code, out, err = run("grad", "x", "x=inf")
    assert_one_line_error(code, out, err)
    assert "--allow-nonfinite" in err
    code, out, _ = run("grad", "x*2", "x=-inf", "--allow-nonfinite", "--json")
    assert strict_json(out) == {"value": "-inf", "grad": {"x": 2.0}}
    code, out, _ = run("grad", "x*0", "x=nan", "--allow-nonfinite", "--json")
    assert strict_json(out) == {"value": "nan", "grad": {"x": 0.0}}
    assert_one_line_error(*run("grad", "x*1e999", "x=1"))
    assert strict_json(run("grad", "1e999", "--allow-nonfinite", "--json")[1])["value"] == "inf"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x*y", "x=2"], "no value for variable 'y'"),
        (["x", "x=2", "y=3"], "value given for 'y', which the expression does not use"),
        (["x", "x=2", "x=3"], "'x' is given twice"),
        (["x", "x"], "expected NAME=VALUE"),
        (["x", "x=two"], "x: 'two' is not a decimal number"),
        (["x", "x=0x10"], "not a decimal number"),
        (["x", "x=1_0"], "not a decimal number"),
        (["relu(x)", "relu=1", "x=1"], "cannot use 'relu' as a variable"),
        (["softmax(x)", "x=1"], "unknown function 'softmax'; available functions: abs, acos"),
        ([""], "the expression is empty"),
        (["x", "x=__import__('os').system('touch PWNED')"], "not a decimal number"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str) -> None:
    code, out, err = run("grad", *argv)
    assert_one_line_error(code, out, err)
    assert message in err


def test_usage_errors_are_one_line() -> None:
    for argv in (["grad"], ["grad", "x", "--nope"], ["nope"], ["replay"]):
        code, out, err = run(*argv)
        assert_one_line_error(code, out, err, argv[0] if argv[0] != "nope" else "")
        assert "--help" in err


def test_bare_fnad_prints_the_help() -> None:
    code, out, err = run()
    assert (code, err) == (0, "")
    assert out == run("--help")[1]
    assert out.startswith("usage: fnad") and "grad" in out and "explain" in out


@pytest.mark.parametrize("command", [[], ["grad"], ["replay"], ["explain"], ["check"]])
def test_help_on_every_command(command: list[str]) -> None:
    code, out, err = run(*command, "--help")
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: fnad {' '.join(command)}".rstrip())
    assert "example" in out or not command


def test_options_are_not_abbreviated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("grad", "x", "x=1", "--sav=graph.json")
    assert_one_line_error(code, out, err, "grad")
    assert list(tmp_path.iterdir()) == []


def test_a_chain_of_100k_terms() -> None:
    code, out, err = run("grad", "+".join(["x"] * 100_000), "x=0.5", "--json")
    assert (code, err) == (0, "")
    assert strict_json(out) == {"value": 50_000.0, "grad": {"x": 100_000.0}}


def test_version() -> None:
    assert run("--version") == (0, f"fnad {fnad.__version__}\n", "")


# --------------------------------------------------------------------------- injection corpus

CORPUS = [
    "__import__('os').system('touch PWNED')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "x.__class__.__mro__[-1].__subclasses__()",
    "lambda: __import__('os').system('touch PWNED')",
    "(lambda: 0)()",
    "[__import__('os').system('touch PWNED') for _ in range(10**9)]",
    "(x for x in range(10**100))",
    "{x: x for x in range(10**9)}",
    "-" * 100_000 + "x",
    "(" * 10_000 + "x" + ")" * 10_000,
    "relu(" * 10_000 + "x" + ")" * 10_000,
    "x" + "**x" * 10_000,
    "x" * (10 * 2**20),
    "x\x00",
    "\x00__import__('os').system('touch PWNED')",
    "x; __import__('os').system('touch PWNED')",
    "x\n__import__('os').system('touch PWNED')",
    "open('PWNED', 'w')",
    "exec(\"open('PWNED', 'w')\")",
    "eval('1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "__builtins__",
    "getattr(x, '__class__')",
    "breakpoint()",
    "x if __import__('os').system('touch PWNED') else x",
    "f\"{__import__('os').system('touch PWNED')}\"",
    "(PWNED := 1)",
    "x.__class__.__init__.__globals__['os'].system('touch PWNED')",
    "\uff58 + 1",
    "\u0445",  # Cyrillic small ha, looks like x
    "x\u202e + 1",
    "1j",
    "not x",
    "x < y",
    "relu(x=1)",
    "relu(*[x])",
    "'PWNED'",
    "import os",
    "tanh.__globals__",
    "\\x41",
]


@pytest.mark.parametrize("text", CORPUS, ids=lambda text: repr(text[:30]))
@pytest.mark.parametrize("command", ["grad", "explain"])
def test_injection_corpus(
    text: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    extra = ["--wrt", "x"] if command == "explain" else []
    code, out, err = run(command, text, "x=1", *extra)
    assert_one_line_error(code, out, err, command)
    assert "\x00" not in err and err.isascii()
    assert list(tmp_path.iterdir()) == []


def test_the_limits_are_what_the_corpus_hits() -> None:
    err = run("grad", "-" * 100_000 + "x", "x=1")[2]
    assert f"more than {MAX_DEPTH} levels" in err and "column 101" in err
    err = run("grad", "x" * (10 * 2**20))[2]
    assert f"the limit is {MAX_LENGTH}" in err


# --------------------------------------------------------------------------- Hypothesis


@contextlib.contextmanager
def scratch_directory() -> Iterator[Path]:
    """Run in an empty temporary directory (random text may spell '--save=FILE')."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as directory:
        os.chdir(directory)
        try:
            yield Path(directory)
        finally:
            os.chdir(previous)


@settings(max_examples=200)
@given(st.text(max_size=80), st.lists(st.text(max_size=12), max_size=3))
def test_any_text_exits_0_or_2_without_a_traceback(text: str, assignments: list[str]) -> None:
    with scratch_directory():
        code, out, err = run("grad", text, *assignments)
    assert code in (0, 2)
    if code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err
    else:
        assert err == "" and out


@given(
    expressions(),
    st.fixed_dictionaries(
        {name: st.sampled_from([-1.5, -0.5, 0.0, 0.25, 2.0]) for name in VARIABLES}
    ),
)
@example(("--x", "--x"), {"x": 2.0, "y": 0.0, "z": 0.0})  # argparse read it as an option
@example(("--x*y", "--x*y"), {"x": 2.0, "y": -0.5, "z": 0.0})
def test_cli_output_equals_the_python_api(pair: tuple[str, str], values: dict[str, float]) -> None:
    text, oracle_text = pair
    used = {name: value for name, value in values.items() if name in fnad.parse(text).variables}
    code, out, err = run("grad", text, *(f"{k}={v!r}" for k, v in used.items()), "--json")
    assert (code, err) == (0, "")
    document = strict_json(out)
    expected_value, expected_grads = python_oracle(oracle_text, used)
    assert isinstance(document["value"], (float, int, str))
    assert same(decode(document["value"]), expected_value)
    grads = document["grad"]
    assert isinstance(grads, dict) and grads.keys() == expected_grads.keys()
    for name, grad in grads.items():
        assert same(decode(grad), expected_grads[name]), (text, name)


# --------------------------------------------------------------------------- graph files


def test_save_then_replay(tmp_path: Path) -> None:
    saved = tmp_path / "graph.json"
    code, _, err = run("grad", "x*y + x**2 + relu(y)", "x=2", "y=3", "--save", str(saved))
    assert code == 0 and err == f"fnad: wrote {saved}\n"
    assert json.loads(saved.read_text())["graph"]["schema"] == "fnad.graph"
    assert (
        run("replay", str(saved), "--json")[1]
        == run("grad", "x*y + x**2 + relu(y)", "x=2", "y=3", "--json")[1]
    )
    assert (
        run("replay", str(saved), "x=1", "y=-1", "--json")[1]
        == run("grad", "x*y + x**2 + relu(y)", "x=1", "y=-1", "--json")[1]
    )
    # y keeps its saved value 3
    assert run("replay", str(saved), "x=1") == (0, "f = 7.0\ndf/dx = 5.0\ndf/dy = 2.0\n", "")


def test_replay_reads_graphml_too(tmp_path: Path) -> None:
    with fnad.Tape():
        x, y = fnad.Node(2.0, label="x"), fnad.Node(3.0, label="y")
        z = x * y + x**2 + y.relu()
    fnad.to_graphml(z, tmp_path / "seed.graphml")
    code, out, err = run("replay", str(tmp_path / "seed.graphml"), "x=1", "y=-1", "--json")
    assert (code, err) == (0, "")
    assert out == run("grad", "x*y + x**2 + relu(y)", "x=1", "y=-1", "--json")[1]
    marked = tmp_path / "bom.xml"  # any name; a UTF-8 byte order mark
    marked.write_bytes(b"\xef\xbb\xbf" + (tmp_path / "seed.graphml").read_bytes())
    assert run("replay", str(marked), "x=1", "y=-1", "--json")[1] == out
    bad = tmp_path / "bad.graphml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><graphml/>')
    code, out, err = run("replay", str(bad))
    assert_one_line_error(code, out, err, "replay")


def test_replay_rejects_bad_files_and_inputs(tmp_path: Path) -> None:
    saved = tmp_path / "graph.json"
    run("grad", "x*y", "x=2", "y=3", "--save", str(saved))
    document = json.loads(saved.read_text())
    for case, message in [
        (["q=1"], "no input named 'q'"),
        (["x"], "expected NAME=VALUE"),
        (["x=nan"], "--allow-nonfinite"),
        (["x=1", "x=2"], "given twice"),
    ]:
        code, out, err = run("replay", str(saved), *case)
        assert_one_line_error(code, out, err, "replay")
        assert message in err
    bad = tmp_path / "bad.json"
    for text in ["{", "[]", '{"graph": {"schema": "fnad.graph", "version": 99}}', "\x00"]:
        bad.write_text(text)
        assert_one_line_error(*run("replay", str(bad)), "replay")
    document["nodes"][-1]["op"] = "__import__"
    bad.write_text(json.dumps(document))
    code, out, err = run("replay", str(bad))
    assert_one_line_error(code, out, err, "replay")
    assert "__import__" in err
    code, out, err = run("replay", str(tmp_path / "missing.json"))
    assert_one_line_error(code, out, err, "replay")
    assert "No such file" in err
    assert_one_line_error(*run("replay", str(tmp_path)), "replay")


FORGED = "x = 0.0\nf = 42.0\ndf/dx"
ESCAPES = "\x1b[2J\x1b]0;owned\x07y"


def labelled_graph(tmp_path: Path) -> Path:
    with fnad.Tape():
        a, b = fnad.Node(2.0, label=FORGED), fnad.Node(3.0, label=ESCAPES)
        z = a * b
    path = tmp_path / "labels.json"
    path.write_text(fnad.to_json(z), encoding="utf-8")
    return path


def test_replay_escapes_labels_from_the_file(tmp_path: Path) -> None:
    """Labels are untrusted text: they can neither forge result lines nor drive the terminal."""
    code, out, err = run("replay", str(labelled_graph(tmp_path)))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines == [
        "f = 6.0",
        "df/dx = 0.0\\nf = 42.0\\ndf/dx = 3.0",
        "df/d\\x1b[2J\\x1b]0;owned\\x07y = 2.0",
    ]
    assert "\x1b" not in out and "\x07" not in out
    code, out, _ = run("replay", str(labelled_graph(tmp_path)), "--json")
    assert json.loads(out)["grad"] == {FORGED: 3.0, ESCAPES: 2.0}  # exact in JSON


def test_explanations_and_results_of_a_loaded_graph_escape_labels(tmp_path: Path) -> None:
    program = fnad.from_json(labelled_graph(tmp_path))
    out, inputs = program.trace()
    for text in (
        str(fnad.explain(out, inputs[FORGED])),
        str(fnad.explain(out, inputs[ESCAPES])),
        str(program.value_and_grad()),
        repr(program),
    ):
        assert "\x1b" not in text and "\x07" not in text
        assert "f = 42.0" not in text.splitlines()
    assert len(str(fnad.explain(out, inputs[FORGED])).splitlines()) == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_replay_refuses_a_fifo_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "graph.json"
    os.mkfifo(fifo)
    done = subprocess_run(sys.executable, "-m", "fnad", "replay", str(fifo), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "is a named pipe (FIFO), not a regular file" in done.stderr
    assert "Traceback" not in done.stderr


def test_replay_refuses_a_device(tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    code, out, err = run("replay", "/dev/zero")
    assert_one_line_error(code, out, err, "replay")
    assert "is a character device, not a regular file" in err


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX shell")
@pytest.mark.parametrize("command", ["grad x x=1", "grad x x=1 --json", "explain x x=1 --wrt x"])
def test_a_closed_stdout_is_one_line_and_no_traceback(tmp_path: Path, command: str) -> None:
    script = f'exec "$0" -m fnad {command} >&-'
    done = subprocess.run(
        ["sh", "-c", script, sys.executable],
        cwd=tmp_path,
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.count("\n") == 1 and "standard output is closed" in done.stderr


def test_a_pipe_nobody_reads_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe fails: EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fnad", "grad", "x*y + x**2 + relu(y)", "x=2", "y=3"],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.count("\n") == 1 and "cannot write the result" in done.stderr


def test_dot_file(tmp_path: Path) -> None:
    target = tmp_path / "graph.dot"
    assert run("grad", "x*3", "x=2", "--dot", str(target))[0] == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("digraph fnad {") and text == fnad.to_dot(fnad.Node(2.0, label="x") * 3)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_svg_file(tmp_path: Path) -> None:
    pytest.importorskip("graphviz")
    target = tmp_path / "graph.svg"
    assert run("grad", "x*y + relu(y)", "x=2", "y=3", "--svg", str(target))[0] == 0
    assert "<svg" in target.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
@pytest.mark.parametrize(("name", "magic"), [("g.png", b"\x89PNG\r\n\x1a\n"), ("g.pdf", b"%PDF-")])
def test_svg_option_writes_the_format_of_the_extension(
    tmp_path: Path, name: str, magic: bytes
) -> None:
    pytest.importorskip("graphviz")
    assert run("grad", "x*y", "x=2", "y=3", "--svg", str(tmp_path / name))[0] == 0
    assert (tmp_path / name).read_bytes().startswith(magic)


def test_svg_option_refuses_other_extensions_before_writing_anything(tmp_path: Path) -> None:
    dot, picture = tmp_path / "g.dot", tmp_path / "g.jpg"
    code, out, err = run("grad", "x*y", "x=2", "y=3", "--dot", str(dot), "--svg", str(picture))
    assert_one_line_error(code, out, err)
    assert "'.jpg' is not a format fnad draws" in err and ".svg, .png or .pdf" in err
    assert list(tmp_path.iterdir()) == []


def test_unwritable_file_is_one_line(tmp_path: Path) -> None:
    code, out, err = run("grad", "x", "x=1", "--save", str(tmp_path / "no" / "such" / "dir.json"))
    assert_one_line_error(code, out, err)
    assert "there is no folder" in err


@pytest.mark.parametrize(
    "bad",
    [
        ["--save", "{folder}"],
        ["--save", "{folder}/missing/g.json"],
        ["--save", "{folder}/g.dot"],  # the same file as --dot
    ],
    ids=["a directory", "no such folder", "the same file twice"],
)
def test_no_file_is_written_when_another_output_fails(tmp_path: Path, bad: list[str]) -> None:
    """Every output is checked before the first is written:: no partial results."""
    argv = [part.format(folder=tmp_path) for part in bad]
    code, out, err = run("grad", "x*y", "x=2", "y=3", "--dot", str(tmp_path / "g.dot"), *argv)
    assert_one_line_error(code, out, err)
    assert not (tmp_path / "g.dot").exists()
    assert "wrote" not in err


def test_no_file_is_written_when_the_drawing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the module itself: fnad.render is the function, and the old module path a proxy
    render_module = importlib.import_module("fnad.viz.render")

    def no_graphviz(text: str, kind: str) -> bytes:
        raise fnad.RenderError("render() needs graphviz's `dot` program, which is not on PATH")

    monkeypatch.setattr(render_module, "dot_to", no_graphviz)
    code, out, err = run(
        "grad", "x", "x=1", "--save", str(tmp_path / "g.json"), "--svg", str(tmp_path / "g.svg")
    )
    assert_one_line_error(code, out, err)
    assert list(tmp_path.iterdir()) == []


def test_a_file_written_first_is_removed_when_a_later_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_open = os.open

    def disk_full_for_json(path: Any, flags: int, *args: Any, **kwargs: Any) -> Any:
        if ".json" in str(path) and flags & os.O_WRONLY:
            raise OSError(28, "No space left on device", str(path))
        return original_open(path, flags, *args, **kwargs)

    monkeypatch.setattr("os.open", disk_full_for_json)
    code, out, err = run(
        "grad", "x", "x=1", "--dot", str(tmp_path / "g.dot"), "--save", str(tmp_path / "g.json")
    )
    assert_one_line_error(code, out, err)
    assert "No space left" in err
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- fnad explain


def test_explain_the_seed_example() -> None:
    code, out, err = run("explain", "x*y + x**2 + relu(y)", "x=2", "y=3", "--wrt", "x")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("∂f/∂x = 7, the sum over 2 paths from x to f")
    assert lines[1].split() == ["4", "=", "x", "─[4]→", "pow", "─[1]→", "add", "─[1]→", "f"]
    assert lines[2].split() == ["3", "=", "x", "─[3]→", "mul", "─[1]→", "add", "─[1]→", "f"]
    # the output is z when a variable is called f, f1 when z is taken too: never a name twice
    out = run("explain", "f*y", "f=2", "y=3", "--wrt", "f")[1]
    assert out.startswith("∂z/∂f = 3, the sum over 1 path from f to z")
    out = run("explain", "f*z", "f=2", "z=3", "--wrt", "z")[1]
    assert out == (
        "∂f1/∂z = 2, the sum over 1 path from z to f1 of the product of the local derivatives "
        "along each path (largest first):\n  2  =  z ─[2]→ f1\n"
    )
    # an expression that is a variable: the one path has no hop and starts at x
    out = run("explain", "x", "x=3")[1]
    assert out.splitlines() == [
        "∂f/∂x = 1, the sum over 1 path from x to f of the product of the local derivatives "
        "along each path (largest first):",
        "  1  =  x",
    ]


def test_grad_and_replay_name_the_output_apart_from_every_variable(tmp_path: Path) -> None:
    assert run("grad", "f*z", "f=2", "z=3")[1] == "f1 = 6.0\ndf1/df = 3.0\ndf1/dz = 2.0\n"
    assert run("grad", "f*z*f1", "f=2", "z=3", "f1=1")[1].splitlines()[0] == "f2 = 6.0"
    assert run("grad", "f*y", "f=2", "y=3")[1] == "z = 6.0\ndz/df = 3.0\ndz/dy = 2.0\n"
    saved = tmp_path / "g.json"
    assert run("grad", "f*z", "f=2", "z=3", "--save", str(saved))[0] == 0
    assert run("replay", str(saved), "f=1")[1] == "f1 = 3.0\ndf1/df = 3.0\ndf1/dz = 1.0\n"


def test_explain_infers_wrt_when_there_is_one_variable() -> None:
    code, out, err = run("explain", "x**2", "x=3")
    assert (code, err) == (0, "")
    assert out == run("explain", "x**2", "x=3", "--wrt", "x")[1]
    assert out.startswith("∂f/∂x = 6, the sum over 1 path from x to f")
    code, out, err = run("explain", "x*y", "x=2", "y=3")
    assert_one_line_error(code, out, err, "explain")
    assert "2 variables (x, y)" in err and "--wrt x" in err
    code, out, err = run("explain", "2*3")
    assert_one_line_error(code, out, err, "explain")
    assert "no variables" in err


def test_explain_errors() -> None:
    code, out, err = run("explain", "x*y", "x=2", "y=3", "--wrt", "q")
    assert_one_line_error(code, out, err, "explain")
    assert "--wrt 'q'" in err
    code, out, err = run("explain", "x*y", "x=2", "y=3", "--wrt", "x", "--max-paths", "0")
    assert_one_line_error(code, out, err, "explain")
    assert "--max-paths: must be at least 1" in err


def test_explain_limits_the_paths() -> None:
    text = "+".join(["x*y"] * 30)
    code, out, _ = run("explain", text, "x=1", "y=2", "--wrt", "x", "--max-paths", "2")
    assert code == 0 and len(out.splitlines()) == 4
    assert "showing the 2 largest of 30 paths; the other 28 add up to 56" in out


def test_output_that_the_terminal_cannot_encode_is_escaped() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    write(stream, "∂z/∂x = 7\n")
    stream.flush()
    assert raw.getvalue() == b"\\u2202z/\\u2202x = 7\n"


# --------------------------------------------------------------------------- plugins

PLUGIN = """
import math
import fnad

fnad.defop(
    "{name}.softplus",
    impl=lambda x: math.log1p(math.exp(x)),
    partials=lambda x, out: (fnad.sigmoid(x),),
    samples=[(0.5,), (-2.0,)],
)
"""


def test_plugin_by_path_and_by_module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_path = tmp_path / "plugin_by_path.py"
    by_path.write_text(PLUGIN.format(name="bypath"))
    (tmp_path / "plugin_by_name.py").write_text(PLUGIN.format(name="byname"))
    monkeypatch.syspath_prepend(str(tmp_path))
    with fnad.isolated_rules():
        code, out, err = run("grad", "bypath.softplus(x)", "x=0", "--plugin", str(by_path))
        assert (code, err) == (0, "")
        assert out == "f = 0.6931471805599453\ndf/dx = 0.5\n"
        code, out, err = run(
            "grad", "byname.softplus(x) * 2", "x=0", "--json", "--plugin", "plugin_by_name"
        )
        assert (code, err) == (0, "")
        assert strict_json(out) == {"value": 2 * math.log(2), "grad": {"x": 1.0}}
        # run again in the same table: the plugins are not registered twice
        again = run("grad", "bypath.softplus(x)", "x=0", "--plugin", str(by_path))
        assert again == (0, "f = 0.6931471805599453\ndf/dx = 0.5\n", "")
        assert run("check", "--plugin", "plugin_by_name", "--op", "byname.softplus")[0] == 0
    monkeypatch.delitem(sys.modules, "plugin_by_name")


def test_replay_needs_the_plugin_of_a_custom_op(tmp_path: Path) -> None:
    plugin = tmp_path / "replay_plugin.py"
    plugin.write_text(PLUGIN.format(name="replayed"))
    saved = tmp_path / "graph.json"
    with fnad.isolated_rules():
        argv = ["replayed.softplus(x) * y", "x=0", "y=2", "--plugin", str(plugin)]
        assert run("grad", *argv, "--save", str(saved))[0] == 0
    with fnad.isolated_rules():
        code, out, err = run("replay", str(saved), "x=1")
        assert_one_line_error(code, out, err, "replay")
        assert "replayed.softplus" in err
        code, out, err = run("replay", str(saved), "x=0", "--plugin", str(plugin), "--json")
        assert (code, err) == (0, "")
        assert strict_json(out) == {"value": 2 * math.log(2), "grad": {"x": 1.0, "y": math.log(2)}}


def test_plugin_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plugin_raises.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "plugin_imports.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for plugin, message in [
        ("no_such_plugin_xyz", "cannot import plugin 'no_such_plugin_xyz'"),
        ("plugin_raises", "RuntimeError: boom"),
        ("plugin_imports", "No module named 'no_such_dependency_xyz'"),
        (str(tmp_path / "missing.py"), "does not exist"),
    ]:
        code, out, err = run("grad", "x", "x=1", "--plugin", plugin)
        assert_one_line_error(code, out, err)
        assert message in err


# --------------------------------------------------------------------------- fnad check

WRONG_RULE = """
import math
import fnad

# d/dx softplus(x) is sigmoid(x); this plugin gets it wrong on purpose.
fnad.defop(
    "{name}.softplus",
    impl=lambda x: math.log1p(math.exp(x)),
    partials=lambda x, out: (2 * fnad.sigmoid(x),),
    samples=[(0.5,), (-2.0,)],
)
"""


def test_check_passes_on_the_builtins() -> None:
    code, out, err = run("check")
    assert (code, err) == (0, "")
    assert out.startswith("fnad rule check: ")
    for name in ("add", "mul", "pow", "tanh", "relu", "log", "sqrt"):
        assert any(line.split()[:2] == ["ok", name] for line in out.splitlines())
    assert out.splitlines()[-1].startswith("all checked ops passed")


def test_check_fails_on_a_plugin_with_a_wrong_rule(tmp_path: Path) -> None:
    plugin = tmp_path / "wrong_rule.py"
    plugin.write_text(WRONG_RULE.format(name="wrong"))
    with fnad.isolated_rules():
        code, out, err = run("check", "--plugin", str(plugin))
        assert code == 1 and err == ""
        failed = [line for line in out.splitlines() if "FAILED" in line]
        assert failed[0].split()[:2] == ["FAILED", "wrong.softplus"]
        assert out.splitlines()[-1].startswith("1 FAILED")
        # only the plugin's op, by name
        code, out, _ = run("check", "--op", "wrong.softplus", "--order", "1")
        assert code == 1 and out.startswith("fnad rule check: 1 ops")
    code, out, err = run("check", "--op", "wrong.softplus")
    assert_one_line_error(code, out, err, "check")
    assert "no rule for op 'wrong.softplus'" in err


def test_check_with_a_plugin_in_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "wrong_plugin.py").write_text(WRONG_RULE.format(name="wrongsub"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "fnad", "check", "--plugin", "wrong_plugin", "--order", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "FAILED     wrongsub.softplus" in done.stdout and "Traceback" not in done.stderr


# --------------------------------------------------------------------------- fnad demo


def test_demo_json() -> None:
    code, out, err = run("demo", "--json", "--steps", "1", "--samples", "8")
    assert (code, err) == (0, "")
    summary = strict_json(out)
    assert summary["steps"] == 1 and summary["samples"] == 8
    assert set(summary) >= {"loss", "accuracy", "seconds", "seed", "noise"}


def test_demo_exit_statuses_follow_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run("demo", "--json", "--plot", str(tmp_path / "moons.jpg"))
    assert (code, out) == (2, "") and ".png, .svg or .pdf" in err
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the demo extra is missing
    code, out, err = run("demo", "--steps", "1")
    assert (code, out) == (2, "") and "pip install 'fnad[demo]'" in err


def test_demo_help_and_bad_options() -> None:
    code, out, _ = run("demo", "--help")
    assert code == 0 and out.startswith("usage: fnad demo") and "--steps" in out
    code, out, err = run("demo", "--steps", "0")
    assert_one_line_error(code, out, err, "demo")


# --------------------------------------------------------------------------- real processes


def subprocess_run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=120, env=env, check=False
    )


@pytest.mark.skipif(not FNAD.exists(), reason="the fnad console script is not installed")
def test_console_script(tmp_path: Path) -> None:
    done = subprocess_run(
        str(FNAD), "grad", "x*y + x**2 + relu(y)", "x=2", "y=3", "--json", cwd=tmp_path
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"value": 13.0, "grad": {"x": 7.0, "y": 3.0}}


def test_python_m_fnad_refuses_without_a_traceback(tmp_path: Path) -> None:
    for text in ("__import__('os').system('touch PWNED')", "-" * 100_000 + "x"):
        done = subprocess_run(sys.executable, "-m", "fnad", "grad", text, "x=1", cwd=tmp_path)
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("fnad grad: error:")
        assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


LOADED_MODULES = """
import sys
from fnad.cli.commands import main
code = main(sys.argv[1:])
print(" ".join(sorted(name for name in sys.modules if name.startswith("fnad"))))
raise SystemExit(code)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["grad", "x*y + relu(y)", "x=2", "y=3"],
        ["explain", "x*x", "x=2", "--wrt", "x"],
        ["check", "--op", "tanh", "--order", "1"],
        ["--help"],
    ],
    ids=["grad", "explain", "check", "help"],
)
def test_commands_other_than_demo_do_not_import_nn_or_the_demo(
    argv: list[str], tmp_path: Path
) -> None:
    done = subprocess_run(sys.executable, "-c", LOADED_MODULES, *argv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.splitlines()[-1].split()
    assert "fnad.cli.commands" in loaded and "fnad.cli.parser" in loaded  # the check can fail
    assert not [name for name in loaded if name.startswith("fnad.nn")]


def test_the_demo_command_imports_the_demo(tmp_path: Path) -> None:
    done = subprocess_run(sys.executable, "-c", LOADED_MODULES, "demo", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "fnad.nn.demo" in done.stdout.splitlines()[-1].split()


def test_python_m_fnad_help(tmp_path: Path) -> None:
    done = subprocess_run(sys.executable, "-m", "fnad", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "grad" in done.stdout and "replay" in done.stdout


def test_the_documented_limits_are_the_real_ones() -> None:
    from fnad.cli.parser import MAX_NODES
    from fnad.viz.render import MAX_RENDER_NODES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"| length | {MAX_LENGTH:,} characters |" in doc
    assert f"| nesting depth | {MAX_DEPTH} levels |" in doc
    assert f"| size | {MAX_NODES:,} |" in doc
    assert f"`fnad.viz.render.MAX_RENDER_NODES` ({MAX_RENDER_NODES})" in doc


def test_interrupt_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import fnad.cli.commands

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(fnad.cli.commands, "_grad", interrupted)
    assert run("grad", "x", "x=1") == (130, "", "fnad grad: interrupted\n")
