"""The two examples every micrograd user knows, reproduced exactly."""

from __future__ import annotations

import math

import pytest

import fnad
from fnad import Node


def test_seed_example_prints_the_documented_values(capsys: pytest.CaptureFixture[str]) -> None:
    x = Node(2.0, label="x")
    y = Node(3.0, label="y")
    z = x * y + x**2 + y.relu()
    z.backward()
    print(f"z: {z.data}")
    print(f"dz/dx: {x.grad}")
    print(f"dz/dy: {y.grad}")
    assert capsys.readouterr().out == "z: 13.0\ndz/dx: 7.0\ndz/dy: 3.0\n"


def test_micrograd_readme_example_is_exact() -> None:
    with fnad.Tape():
        a = Node(-4.0, label="a")
        b = Node(2.0, label="b")
        c = a + b
        d = a * b + b**3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        e = c - d
        f = e**2
        g = f / 2.0
        g += 10.0 / f
        g.backward()
    assert g.data == 24.70408163265306
    # a.grad sums five contributions; the order of that sum (any reverse topological order
    # is valid) decides the last bit. micrograd's own backward gives 138.83381924198252 for
    # this graph, its README 138.8338192419825: both are within one ulp, as is fnad.
    assert abs(a.grad - 138.8338192419825) <= math.ulp(138.8338192419825)
    assert abs(b.grad - 645.5772594752186) <= math.ulp(645.5772594752186)


def test_seed_api_attributes() -> None:
    with fnad.Tape():
        x = Node(2.0, label="x")
        y = Node(3.0, label="y")
        z = x * y
    assert (z.data, z.op, z.label) == (6.0, "mul", "")
    assert z.prev == frozenset({x, y})
    assert z.inputs == (x, y)
    assert (x.op, x.label, x.prev) == ("", "x", frozenset())
    assert x.grad == 0.0  # before any backward
