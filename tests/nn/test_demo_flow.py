"""fnad demo --flow FILE.png and the "flow" key of --json."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest

import fnad
from fnad.nn import demo
from fnad.nn.datasets import moons
from fnad.nn.flow import FLOW_PLOT_SIZE, FlowStats, flow_stats
from fnad.nn.model import MLP, hinge_loss, l2
from tests.nn.test_demo import png_chunks, run


def test_json_reports_the_flow_of_every_step(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    picture = str(tmp_path / "flow.png")
    status, out, err = run("--json", "--steps", "3", "--samples", "10", "--flow", picture)
    assert status == 0 and err == ""
    plain = json.loads(run("--json", "--steps", "3", "--samples", "10")[1])
    assert "flow" not in plain  # without --flow the demo replays its compiled step
    document = json.loads(out, parse_constant=lambda token: pytest.fail(f"not strict: {token}"))
    flow = document["flow"]
    assert flow["layers"] == ["L0", "L1", "L2"]
    assert len(flow["steps"]) == 3
    first = flow["steps"][0]
    assert first["samples"] == 10
    assert [layer["units"] for layer in first["layers"]] == [16, 16, 1]
    assert set(first["layers"][0]) >= {
        "weights",
        "biases",
        "norm",
        "ratio",
        "dead",
        "dead_fraction",
    }
    assert first["layers"][-1]["ratio"] is None and first["layers"][-1]["dead_fraction"] is None


def test_the_recorded_flow_is_that_of_each_step_and_training_is_unchanged(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    points, labels = moons(10, noise=0.1, seed=1337)
    model = MLP(2, list(demo.LAYERS), seed=1337)
    flows: list[FlowStats] = []
    trained = demo.train(model, points, labels, 2, flows=flows)
    assert trained == demo.train(model, points, labels, 2)  # the same arithmetic
    # step 0's statistics are those of the initial model on the data
    with fnad.Tape():
        net = model.trace()
        loss = hinge_loss([net(x) for x in points], labels) + l2(net.parameters(), demo.ALPHA)
        assert flows[0] == flow_stats(net, loss.backward())
    status, out, _ = run(
        "--json", "--steps", "2", "--samples", "10", "--flow", str(tmp_path / "f.png")
    )
    assert status == 0
    assert json.loads(out)["flow"]["steps"] == [stats.as_dict() for stats in flows]


def test_flow_option_draws_the_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    picture = tmp_path / "flow.png"
    boundary = tmp_path / "moons.png"
    status, out, err = run(
        "--steps", "3", "--samples", "10", "--flow", str(picture), "--plot", str(boundary)
    )
    assert status == 0, err
    assert f"wrote {picture}" in out and f"wrote {boundary}" in out
    chunks = png_chunks(picture.read_bytes())  # checks the magic bytes and every CRC
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    assert struct.unpack(">II", chunks[0][1][:8]) == FLOW_PLOT_SIZE
    assert boundary.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_flow_option_needs_matplotlib_and_a_writable_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "missing-dir" / "flow.png"
    status, _, err = run("--json", "--steps", "1", "--samples", "4", "--flow", str(target))
    assert status == 2 and "missing-dir" in err  # refused before training (docs/cli.md)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    status, out, err = run("--json", "--flow", "x.png", "--steps", "1", "--samples", "4")
    assert status == 2 and out == ""  # a missing extra is exit status 2 (docs/cli.md)
    assert "--flow needs matplotlib" in err and "pip install 'fnad[demo]'" in err


def test_demo_flow_from_the_compiled_step_equals_the_eager_flow(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    options = ("--json", "--steps", "3", "--samples", "12", "--flow")
    compiled = json.loads(run(*options, str(tmp_path / "a.png"))[1])
    eager = json.loads(run(*options, str(tmp_path / "b.png"), "--eager")[1])
    assert compiled["flow"] == eager["flow"] and compiled["loss"] == eager["loss"]
