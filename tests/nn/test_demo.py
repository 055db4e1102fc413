"""The moons demo: accuracy at the defaults, --json, --plot, progress on stderr, the example."""

from __future__ import annotations

import argparse
import io
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from fnad.nn import demo

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    return parser.parse_args(list(argv))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = demo.run(parse(*argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG file, each CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    chunks = []
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        position += 12 + length
    return chunks


def test_default_settings_reach_95_percent_with_json_and_plot(tmp_path: Path) -> None:
    # The one full-size run of the suite: micrograd's setup, 100 steps, the default seed.
    picture = tmp_path / "moons.png"
    status, out, err = run("--json", "--plot", str(picture))
    assert status == 0
    assert err == ""  # --json: no progress bar, nothing on stderr
    summary = json.loads(out)
    assert set(summary) >= {"steps", "loss", "accuracy", "seconds"}
    assert summary["steps"] == 100 and summary["seed"] == 1337 and summary["samples"] == 100
    assert summary["accuracy"] >= 0.95
    assert 0.0 <= summary["loss"] < 0.1 and summary["seconds"] > 0.0
    assert f"{summary['loss']:.4f}" == "0.0113"  # the final loss docs/performance.md quotes

    chunks = png_chunks(picture.read_bytes())
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == demo.PLOT_SIZE == (640, 480)
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(set(pixels)) > 20  # a picture, not a blank canvas


def test_runs_are_deterministic_per_seed() -> None:
    first = json.loads(run("--json", "--steps", "3", "--samples", "20")[1])
    second = json.loads(run("--json", "--steps", "3", "--samples", "20")[1])
    other = json.loads(run("--json", "--steps", "3", "--samples", "20", "--seed", "7")[1])
    for summary in (first, second, other):
        del summary["seconds"]
    assert first == second
    assert first != other


def test_progress_bar_goes_to_stderr_and_summary_to_stdout() -> None:
    status, out, err = run("--steps", "2", "--samples", "10")
    assert status == 0
    assert "training" in err and "2/2" in err and "loss=" in err and "accuracy=" in err
    assert "2/2" not in out and "step/s" not in out
    assert "MLP(2, [16, 16, 1]) on 10 moons points" in out and "training accuracy" in out


def test_missing_extras_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` fail
    status, out, err = run("--steps", "1", "--samples", "4")
    assert status == 2 and out == ""
    assert "tqdm" in err and "pip install 'fnad[demo]'" in err
    assert run("--json", "--steps", "1", "--samples", "4")[0] == 0  # --json needs no tqdm

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status, out, err = run("--json", "--plot", "x.png", "--steps", "1", "--samples", "4")
    assert status == 2 and out == ""
    assert "matplotlib" in err and "pip install 'fnad[demo]'" in err


def test_unwritable_plot_path_is_refused_before_training(tmp_path: Path) -> None:
    # A million steps would take hours: the path is checked before the first one.
    never = ("--json", "--steps", "1000000", "--samples", "4", "--plot")
    target = tmp_path / "missing-dir" / "moons.png"
    status, out, err = run(*never, str(target))
    assert (status, out) == (2, "")
    assert "cannot write the plot" in err and "missing-dir" in err and "does not exist" in err
    (tmp_path / "folder.png").mkdir()
    status, _, err = run(*never, str(tmp_path / "folder.png"))
    assert status == 2 and "it is a folder" in err


@pytest.mark.parametrize("name", ["moons.jpg", "moons", "moons.png.txt"])
def test_a_plot_format_the_demo_cannot_write_is_refused_before_training(
    tmp_path: Path, name: str
) -> None:
    status, out, err = run("--json", "--steps", "1000000", "--plot", str(tmp_path / name))
    assert (status, out) == (2, "")
    assert "name the file .png, .svg or .pdf" in err
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize(("name", "magic"), [("moons.svg", b"<?xml"), ("moons.PDF", b"%PDF")])
def test_the_plot_format_follows_the_extension(tmp_path: Path, name: str, magic: bytes) -> None:
    status, _, _ = run("--json", "--steps", "1", "--samples", "6", "--plot", str(tmp_path / name))
    assert status == 0
    assert (tmp_path / name).read_bytes().startswith(magic)


def test_plot_without_a_path_returns_the_figure() -> None:
    from fnad.nn.datasets import moons
    from fnad.nn.model import MLP

    points, labels = moons(6, noise=0.1, seed=0)
    figure = demo.plot(MLP(2, [4, 1], seed=0), points, labels, title="six points")
    assert type(figure).__name__ == "Figure"
    assert figure.axes[0].get_title() == "six points"


@pytest.mark.parametrize(
    "argv", [["--steps", "0"], ["--steps", "x"], ["--samples", "1"], ["--noise", "-1"]]
)
def test_bad_options_are_rejected_by_argparse(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_python_dash_m_runs_standalone() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fnad.nn.demo", "--json", "--steps", "1", "--samples", "6"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(result.stdout)["steps"] == 1
    assert result.stderr == ""


def test_example_script_trains() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_moons.py"), "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "step   0" in result.stdout and "final training accuracy" in result.stdout


def test_the_demo_example_and_benchmarks_share_one_home_for_the_settings() -> None:
    """micrograd's settings live in fnad.nn.MOONS; the demo's defaults are read from it."""
    from fnad.nn.model import MOONS, train_step

    assert (MOONS.layers, MOONS.alpha, MOONS.seed) == ((16, 16, 1), 1e-4, 1337)
    assert [MOONS.learning_rate(k, 100) for k in (0, 50)] == [1.0, 0.55]
    assert (MOONS.layers, MOONS.alpha) == (demo.LAYERS, demo.ALPHA)
    assert train_step.__defaults__ == (MOONS.alpha,)
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.steps, args.seed, args.samples, args.noise) == (
        MOONS.steps,
        MOONS.seed,
        MOONS.samples,
        MOONS.noise,
    )
    root = Path(__file__).resolve().parents[2]
    for script in ("examples/train_moons.py", "benchmarks/train_step.py", "benchmarks/compare.py"):
        text = (root / script).read_text(encoding="utf-8")
        assert "MOONS" in text and "1e-4" not in text.split('"""', 2)[-1], script


def test_example_script_handles_help() -> None:
    script = str(ROOT / "examples" / "train_moons.py")
    result = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("usage: train_moons.py") and "steps" in result.stdout
    refused = subprocess.run([sys.executable, script, "0"], capture_output=True, text=True)
    assert refused.returncode == 2 and "must be at least 1" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_example_script_fast_and_eager_print_the_same_numbers() -> None:
    script = str(ROOT / "examples" / "train_moons.py")
    fast, eager = (
        subprocess.run(
            [sys.executable, script, "2", *flag], capture_output=True, text=True, check=True
        ).stdout
        for flag in ((), ("--eager",))
    )
    assert fast == eager and "step   1  loss" in fast
    assert "fnad.compile(loss_of" in Path(script).read_text(encoding="utf-8")


def test_the_progress_bar_ends_on_the_summary_loss() -> None:
    status, out, err = run("--steps", "3", "--samples", "10")
    assert status == 0
    bar_loss = re.findall(r"loss=([0-9.]+)", err)[-1]
    summary_loss = re.search(r"final loss ([0-9.]+)", out)
    assert summary_loss is not None and bar_loss == summary_loss.group(1)
    assert "(the trained model, after step 3)" in out
