"""The graphs the tests share: the seed example, micrograd's README example, a neuron.

Each is recorded on a tape of its own, so tests never see each other's vertices.
"""

from __future__ import annotations

import fnad
from fnad import Node


def seed() -> tuple[Node, Node, Node]:
    """The seed example (README): ``z = x*y + x**2 + relu(y)`` at x = 2, y = 3, as
    ``(z, x, y)``; z is 13, ∂z/∂x 7 and ∂z/∂y 3."""
    with fnad.Tape():
        x = Node(2.0, label="x")
        y = Node(3.0, label="y")
        z = x * y + x**2 + y.relu()
    return z, x, y


def micrograd_readme(a0: float = -4.0, b0: float = 2.0) -> tuple[Node, Node, Node]:
    """micrograd's README example (35 vertices, edges that cross, a nan exponent partial):
    the output ``g`` and the leaves ``a`` and ``b`` (tests/test_seed.py has it verbatim)."""
    with fnad.Tape():
        a = Node(a0, label="a")
        b = Node(b0, label="b")
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
    return g, a, b


def neuron() -> Node:
    """A tanh neuron of two inputs: ``tanh(x1·w1 + x2·w2 + b)``."""
    with fnad.Tape():
        x1, x2 = Node(1.0, label="x1"), Node(-2.0, label="x2")
        w1, w2 = Node(0.5, label="w1"), Node(-0.3, label="w2")
        return (x1 * w1 + x2 * w2 + Node(0.1, label="b")).tanh()
