"""fnad.nn.datasets.moons: shape, labels, determinism, geometry, errors, no heavy dependencies."""

from __future__ import annotations

import math
import random
import statistics
import subprocess
import sys

import pytest

import fnad
from fnad.nn.datasets import moons


@pytest.mark.parametrize("n", [2, 3, 7, 100, 101])
def test_sizes_and_balanced_labels(n: int) -> None:
    points, labels = moons(n, noise=0.1, seed=0)
    assert len(points) == len(labels) == n
    assert labels.count(-1) == n // 2 and labels.count(1) == n - n // 2
    assert all(type(x) is float and type(y) is float for x, y in points)
    assert isinstance(points, tuple) and isinstance(labels, tuple)


def test_deterministic_per_seed_and_independent_of_global_random() -> None:
    random.seed(1)
    first = moons(100, 0.1, seed=5)
    random.seed(2)
    assert moons(100, 0.1, seed=5) == first
    assert moons(100, 0.1, seed=6) != first
    # pinned values: the same seed gives the same data on every run
    assert first.points[0] == pytest.approx((1.559171291280009, -0.0846613206651172), abs=1e-12)
    assert first.labels[:5] == (1, -1, -1, -1, -1)


def test_noiseless_points_lie_on_the_two_arcs() -> None:
    points, labels = moons(50, noise=0.0, seed=3)
    for (x, y), label in zip(points, labels, strict=True):
        if label == -1:
            assert math.isclose(math.hypot(x, y), 1.0) and y >= -1e-12
        else:
            assert math.isclose(math.hypot(x - 1.0, y - 0.5), 1.0) and y <= 0.5 + 1e-12
    outer = sorted(p for p, label in zip(points, labels, strict=True) if label == -1)
    assert outer[0] == pytest.approx((-1.0, 0.0)) and outer[-1] == pytest.approx((1.0, 0.0))


def test_noise_has_the_requested_spread() -> None:
    points, labels = moons(4000, noise=0.2, seed=0)
    radial = [
        math.hypot(x, y) - 1.0 if label == -1 else math.hypot(x - 1.0, y - 0.5) - 1.0
        for (x, y), label in zip(points, labels, strict=True)
    ]
    # the radial deviation of 2-D Gaussian noise of std σ has std ≈ σ
    assert statistics.pstdev(radial) == pytest.approx(0.2, rel=0.1)


def test_points_are_shuffled() -> None:
    _, labels = moons(100, noise=0.1, seed=0)
    assert labels != tuple(sorted(labels))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 1}, fnad.OperandValueError, "n must be an int >= 2"),
        ({"n": 2.5}, fnad.OperandTypeError, "n must be an int"),
        ({"n": True}, fnad.OperandTypeError, "n must be an int"),
        ({"noise": -0.1}, fnad.OperandValueError, "noise must be a finite number >= 0"),
        ({"noise": math.nan}, fnad.OperandValueError, "noise must be"),
        ({"noise": "0.1"}, fnad.OperandTypeError, "moons"),
        ({"seed": "1"}, fnad.OperandTypeError, "seed must be an int"),
    ],
)
def test_bad_arguments_are_clear_fnad_errors(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        moons(**kwargs)  # type: ignore[arg-type]


def test_needs_neither_numpy_nor_scikit_learn() -> None:
    code = (
        "import sys, fnad.nn.datasets; fnad.nn.datasets.moons(10, 0.1, 0); "
        "print(sorted(m for m in ('numpy', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
