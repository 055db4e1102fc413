"""Loss landscapes (Li et al. 2018) and the batched pictures: directions, values against the
scalar model, the contour plot's bytes, ``fnad demo --landscape`` and the decision boundary."""

from __future__ import annotations

import math
import random
import struct
from pathlib import Path

import pytest

import fnad
from fnad.nn import MLP, hinge_loss, l2, moons
from fnad.nn.landscape import (
    LANDSCAPE_PLOT_SIZE,
    Landscape,
    filter_normalized_direction,
    loss_landscape,
    plot_landscape,
    score_program,
)
from tests.nn.test_demo import png_chunks, run

np = pytest.importorskip("numpy")


def test_directions_are_filter_normalised_and_leave_biases() -> None:
    model = MLP(2, [5, 4, 1], seed=3)
    direction = filter_normalized_direction(model, random.Random(7))
    assert direction == filter_normalized_direction(model, random.Random(7))
    position = 0
    for layer in model.layers:
        for neuron in layer.neurons:
            part = direction[position : position + neuron.nin]
            assert math.hypot(*part) == pytest.approx(math.hypot(*neuron.w), rel=1e-14)
            assert direction[position + neuron.nin] == 0.0  # the bias does not move
            position += neuron.nin + 1
    assert position == len(direction) == len(model.parameters())


def test_landscape_values_are_the_scalar_models_loss() -> None:
    points, labels = moons(30, noise=0.1, seed=2)
    model = MLP(2, [6, 6, 1], seed=2)
    land = loss_landscape(model, points, labels, resolution=7, span=0.5, seed=3)
    assert land.xs == land.ys and land.xs[0] == -0.5 and land.xs[-1] == 0.5 and land.xs[3] == 0.0
    d1, d2 = land.directions
    theta = model.parameters()
    for j, i in [(0, 0), (1, 5), (3, 3), (6, 2), (6, 6)]:
        a, b = land.xs[i], land.ys[j]
        moved = model.with_parameters(
            [p + a * u + b * v for p, u, v in zip(theta, d1, d2, strict=True)]
        )
        expected = hinge_loss([moved(x) for x in points], labels) + l2(moved.parameters(), 1e-4)
        assert land.losses[j][i] == pytest.approx(expected, rel=1e-13)
    assert (
        land.losses[3][3]
        == land.center
        == hinge_loss([model(x) for x in points], labels) + l2(model.parameters(), 1e-4)
    )
    assert land.lowest <= land.center


def test_landscape_refuses_what_it_cannot_draw() -> None:
    points, labels = moons(6, seed=0)
    with pytest.raises(fnad.OperandTypeError, match="one-output"):
        loss_landscape(MLP(2, [3, 2], seed=0), points, labels)
    with pytest.raises(fnad.OperandValueError, match="resolution must be an int >= 2"):
        loss_landscape(MLP(2, [3, 1], seed=0), points, labels, resolution=1)
    with pytest.raises(fnad.OperandValueError, match=r"points is an array of shape \(6, 3\)"):
        loss_landscape(MLP(2, [3, 1], seed=0), np.zeros((6, 3)), labels)


def test_score_program_batch_is_the_model_bit_for_bit() -> None:
    model = MLP(2, [16, 16, 1], seed=1337)
    rng = random.Random(0)
    xs = [rng.uniform(-2, 2) for _ in range(200)]
    ys = [rng.uniform(-2, 2) for _ in range(200)]
    batch = score_program(model).batch({"x0": np.array(xs), "x1": np.array(ys)}, gradient=False)
    assert batch.values.tolist() == [model((x, y)) for x, y in zip(xs, ys, strict=True)]


def png_size(data: bytes) -> tuple[int, int]:
    header = dict(png_chunks(data))[b"IHDR"]
    width, height = struct.unpack(">II", header[:8])
    return width, height


def test_the_contour_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    points, labels = moons(20, noise=0.1, seed=1)
    land = loss_landscape(MLP(2, [4, 1], seed=1), points, labels, resolution=9, seed=1)
    path = tmp_path / "land.png"
    figure = plot_landscape(land, path, "a title")
    data = path.read_bytes()
    assert png_size(data) == LANDSCAPE_PLOT_SIZE
    pixels = imread(str(path))
    assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[-1]).tolist()}) > 50
    axes = figure.axes[0]
    assert axes.get_title() == "a title" and axes.get_xlabel().startswith("a (along")
    assert figure.axes[1].get_ylabel() == "training loss (log scale)"
    assert any(t.get_text().startswith("the model, loss") for t in axes.texts)
    for name, magic in (("land.svg", b"<?xml"), ("land.pdf", b"%PDF")):
        plot_landscape(land, tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(magic)
    with pytest.raises(fnad.OutputFormatError, match=r"name the file \.png, \.svg or \.pdf"):
        plot_landscape(land, tmp_path / "land.jpg")
    with pytest.raises(fnad.OperandTypeError, match="expected a Landscape"):
        plot_landscape(land.losses)  # type: ignore[arg-type]


def test_a_landscape_with_nan_and_inf_still_draws(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    land = Landscape(
        xs=(-1.0, 0.0, 1.0),
        ys=(-1.0, 0.0, 1.0),
        losses=((1.0, math.nan, 2.0), (0.5, 0.1, math.inf), (3.0, 4.0, 5.0)),
        center=0.1,
        directions=((), ()),
    )
    plot_landscape(land, tmp_path / "odd.png")
    assert png_size((tmp_path / "odd.png").read_bytes()) == LANDSCAPE_PLOT_SIZE


def test_demo_landscape_writes_the_picture(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "landscape.png"
    status, out, err = run("--steps", "2", "--samples", "10", "--landscape", str(path))
    assert status == 0 and f"wrote {path}" in out
    assert png_size(path.read_bytes()) == LANDSCAPE_PLOT_SIZE
    never = ("--json", "--steps", "1000000", "--samples", "4", "--landscape")
    status, out, err = run(*never, str(tmp_path / "no-such-dir" / "l.png"))
    assert (status, out) == (2, "") and "does not exist" in err


def test_demo_landscape_without_numpy_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import sys

    monkeypatch.setitem(sys.modules, "numpy", None)
    status, out, err = run("--json", "--steps", "1", "--samples", "4", "--landscape", "x.png")
    assert (status, out) == (2, "") and "--landscape needs numpy" in err
