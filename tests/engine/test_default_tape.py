"""The default-tape trap: a micrograd-style loop without ``with fnad.Tape():`` is warned about.

A default tape keeps every node, so such a loop grows by a whole graph per step. fnad warns
once (a ResourceWarning that names ``with fnad.Tape()``), early, and shows it although
Python hides ResourceWarning by default.
"""

from __future__ import annotations

import contextvars
import subprocess
import sys
import warnings
from collections.abc import Callable
from typing import TypeVar

import pytest

import fnad
import fnad.engine.scope
from fnad.nn.datasets import moons
from fnad.nn.model import MLP, hinge_loss, l2

T = TypeVar("T")


def in_a_fresh_context(function: Callable[[], T]) -> T:
    """Run ``function`` with its own default tape, which is dropped afterwards."""
    return contextvars.Context().run(function)


def micrograd_demo_loop(steps: int, *, tape_per_step: bool) -> list[tuple[int, int, int]]:
    """micrograd's demo loop in fnad; (step, default tape size, warnings so far) per step."""
    points, labels = moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], seed=1337)
    seen: list[tuple[int, int, int]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for k in range(steps):
            if tape_per_step:
                with fnad.Tape():
                    net = model.trace()
                    scores = [net(x) for x in points]
                    loss = hinge_loss(scores, labels) + l2(net.parameters(), alpha=1e-4)
                    grads = net.gradient(loss.backward())
            else:  # what a micrograd user writes first
                net = model.trace()
                scores = [net(x) for x in points]
                loss = hinge_loss(scores, labels) + l2(net.parameters(), alpha=1e-4)
                grads = net.gradient(loss.backward())
            model = model.step(grads, lr=1.0 - 0.9 * k / 100)
            growth = [w for w in caught if issubclass(w.category, fnad.TapeGrowthWarning)]
            seen.append((k, len(fnad.current_tape()), len(growth)))
            if growth:
                message = str(growth[0].message)
                assert "with fnad.Tape()" in message and "train_step" in message
                assert growth[0].filename == __file__  # points at the user's line
                assert issubclass(growth[0].category, ResourceWarning)
    return seen


def test_micrograds_loop_without_a_tape_block_is_warned_about_early() -> None:
    seen = in_a_fresh_context(lambda: micrograd_demo_loop(5, tape_per_step=False))
    sizes = [size for _, size, _ in seen]
    assert sizes == [65_814 * (k + 1) for k in range(5)]  # a whole graph per step, kept
    first = next(k for k, _, count in seen if count)
    assert first == 3  # the 4th step, at ~260 MB, of the 100 (~6.5 GB) the demo would take
    assert [count for _, _, count in seen] == [0, 0, 0, 1, 1]  # once


def test_the_same_loop_with_a_tape_per_step_is_not_warned_about_and_stays_flat() -> None:
    seen = in_a_fresh_context(lambda: micrograd_demo_loop(4, tape_per_step=True))
    assert [(size, count) for _, size, count in seen] == [(0, 0)] * 4


def test_tapes_of_with_blocks_are_never_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fnad.engine.scope, "DEFAULT_TAPE_WARNING", 1_000)

    def big_block() -> int:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fnad.Tape():
                x = fnad.Node(0.5)
                y = x
                for _ in range(2_000):
                    y = y + 1
                fnad.Node(1.0)
                y.backward()
        return len(caught)

    assert in_a_fresh_context(big_block) == 0


def test_the_warning_shows_under_pythons_default_filters() -> None:
    script = (
        "import fnad, fnad.engine.scope\n"
        "fnad.engine.scope.DEFAULT_TAPE_WARNING = 1_000  # the real one is tested above\n"
        "y = fnad.Node(0.5)\n"
        "for _ in range(2_000):\n"
        "    y = y + 1\n"
        "y.backward()\n"
        "fnad.Node(1.0)\n"
        "y.backward()\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert shown.stderr.count("TapeGrowthWarning: the default tape now holds 4,001 nodes") == 1
    assert "with fnad.Tape()" in shown.stderr
    quiet = subprocess.run(
        [sys.executable, "-W", "ignore::ResourceWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert quiet.stderr == ""  # the user's own filters win
