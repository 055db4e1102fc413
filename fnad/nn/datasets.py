"""Small toy datasets in pure Python, deterministic per seed.

The data are plain tuples of floats: no NumPy or scikit-learn needed. The same ``seed``
gives the same points on every run and every platform (they come from a private
``random.Random(seed)``, never from the global random state).

>>> from fnad.nn.datasets import moons
>>> points, labels = moons(6, noise=0.0, seed=0)
>>> len(points), sorted(labels)
(6, [-1, -1, -1, 1, 1, 1])
>>> moons(100, noise=0.1, seed=7) == moons(100, noise=0.1, seed=7)
True
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

from fnad.engine import to_float
from fnad.errors import OperandTypeError, OperandValueError

__all__ = ["Dataset", "Point", "moons", "spirals"]

Point = tuple[float, float]
"""A point of the plane, ``(x, y)``."""


class Dataset(NamedTuple):
    """Points and their labels, index for index; unpacks as ``points, labels = ...``.

    Labels are ±1 for :func:`moons` and class indices 0, 1, … for :func:`spirals`."""

    points: tuple[Point, ...]
    labels: tuple[int, ...]


def moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles, as scikit-learn's ``make_moons``, labelled -1 and +1.

    The outer moon (label -1) is the upper half of the unit circle; the inner one (label
    +1) is the lower half of a unit circle centred at ``(1, 0.5)``. Each moon gets half of
    the ``n`` points (the outer one the smaller half), evenly spaced along its arc, then
    Gaussian noise of standard deviation ``noise`` is added to both coordinates and the
    points are shuffled. Labels are -1 and +1 rather than scikit-learn's 0 and 1, so they
    go straight into :func:`fnad.nn.hinge_loss`.

    Args:
        n: number of points (at least 2).
        noise: standard deviation of the Gaussian noise (0 for points on the arcs).
        seed: the data depend on this and nothing else.

    >>> points, labels = moons(4, noise=0.0, seed=1)
    >>> sorted(zip(labels, [(round(x, 3), round(y, 3)) for x, y in points]))
    [(-1, (-1.0, 0.0)), (-1, (1.0, 0.0)), (1, (0.0, 0.5)), (1, (2.0, 0.5))]
    >>> moons(1)
    Traceback (most recent call last):
    ...
    fnad.errors.OperandValueError: moons: n must be an int >= 2 (one point per moon at least), got 1
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise OperandTypeError(f"moons: n must be an int, got {n!r} ({type(n).__name__})")
    if n < 2:
        raise OperandValueError(
            f"moons: n must be an int >= 2 (one point per moon at least), got {n!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise OperandTypeError(f"moons: seed must be an int, got {seed!r} ({type(seed).__name__})")
    sigma = to_float(noise, "moons")
    if not (sigma >= 0.0 and math.isfinite(sigma)):
        raise OperandValueError(f"moons: noise must be a finite number >= 0, got {noise!r}")

    rng = random.Random(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    points: list[Point] = []
    labels: list[int] = []
    for count, label in ((n_outer, -1), (n_inner, 1)):
        for i in range(count):
            angle = math.pi * i / (count - 1) if count > 1 else 0.0
            if label < 0:
                x, y = math.cos(angle), math.sin(angle)
            else:
                x, y = 1.0 - math.cos(angle), 0.5 - math.sin(angle)
            if sigma:
                x += rng.gauss(0.0, sigma)
                y += rng.gauss(0.0, sigma)
            points.append((x, y))
            labels.append(label)
    order = list(range(n))
    rng.shuffle(order)
    return Dataset(tuple(points[i] for i in order), tuple(labels[i] for i in order))


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """``classes`` interleaved spiral arms, labelled 0 to ``classes - 1``: a multi-class toy set.

    CS231n's spiral data: arm ``c`` has ``n // classes`` points (the first arms one more when
    ``n`` does not divide), at radii evenly spaced from 0 to 1 and angles
    ``2π·c/classes + 4·r`` turning with the radius ``r``, plus Gaussian noise of standard deviation
    ``noise`` on the angle; points are shuffled. Train ``MLP(2, [16, 16, classes])`` on it
    with :func:`fnad.nn.softmax_cross_entropy` and measure it with :func:`fnad.nn.accuracy`.

    Args:
        n: number of points (at least ``classes``).
        classes: number of arms (at least 2).
        noise: standard deviation of the angular noise, in radians (0: on the arms).
        seed: the data depend on this and nothing else.

    >>> points, labels = spirals(6, classes=3, noise=0.0)
    >>> sorted(labels), len(points)
    ([0, 0, 1, 1, 2, 2], 6)
    >>> spirals(90, seed=3) == spirals(90, seed=3)
    True
    >>> spirals(2, classes=3)
    Traceback (most recent call last):
    ...
    fnad.errors.OperandValueError: spirals: n must be an int >= classes (3), one point per arm at least, got 2
    """
    for name, number in (("n", n), ("classes", classes), ("seed", seed)):
        if isinstance(number, bool) or not isinstance(number, int):
            raise OperandTypeError(
                f"spirals: {name} must be an int, got {number!r} ({type(number).__name__})"
            )
    if classes < 2:
        raise OperandValueError(f"spirals: classes must be an int >= 2, got {classes}")
    if n < classes:
        raise OperandValueError(
            f"spirals: n must be an int >= classes ({classes}), one point per arm at least, got {n}"
        )
    sigma = to_float(noise, "spirals")
    if not (sigma >= 0.0 and math.isfinite(sigma)):
        raise OperandValueError(f"spirals: noise must be a finite number >= 0, got {noise!r}")
    rng = random.Random(seed)
    points: list[Point] = []
    labels: list[int] = []
    for c in range(classes):
        count = n // classes + (1 if c < n % classes else 0)
        for i in range(count):
            radius = i / (count - 1) if count > 1 else 1.0
            angle = 2.0 * math.pi * c / classes + 4.0 * radius
            if sigma:
                angle += rng.gauss(0.0, sigma)
            points.append((radius * math.sin(angle), radius * math.cos(angle)))
            labels.append(c)
    order = list(range(len(points)))
    rng.shuffle(order)
    return Dataset(tuple(points[i] for i in order), tuple(labels[i] for i in order))
