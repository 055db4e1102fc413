"""Optimizers of :mod:`fnad.nn` as immutable values: a step returns the new model and optimizer.

``SGD`` (with momentum) and ``Adam`` take a learning rate that is a number or a *schedule*:
a function of the step number ``t`` (0 for the first step) that returns the rate.
:func:`linear_decay` is micrograd's schedule.

>>> from fnad.nn import MLP
>>> model = MLP(2, [4, 1], seed=0)
>>> opt = SGD(lr=linear_decay(1.0, 0.1, steps=100), momentum=0.9)
>>> grads = [1.0] * len(model.parameters())
>>> model, opt = opt.step(model, grads)
>>> opt.t, opt.rate(0), opt.rate(50)
(1, 1.0, 0.55)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import attrs

from fnad.engine import to_float
from fnad.errors import OperandTypeError, OperandValueError
from fnad.nn.model import MLP

__all__ = ["SGD", "Adam", "Schedule", "linear_decay"]

Schedule = Callable[[int], float]
"""A learning rate as a function of the step number (0 for the first step)."""


def linear_decay(start: float, stop: float, steps: int) -> Schedule:
    """The rate falling linearly from ``start`` at step 0 toward ``stop`` at step ``steps``.

    ``linear_decay(1.0, 0.1, 100)`` is micrograd's ``1.0 - 0.9·k/100``
    (:meth:`fnad.nn.MoonsSettings.learning_rate`), bit for bit.

    >>> rate = linear_decay(1.0, 0.1, 100)
    >>> rate(0), rate(50), rate(100)
    (1.0, 0.55, 0.09999999999999998)
    """
    first, last = to_float(start, "linear_decay"), to_float(stop, "linear_decay")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise OperandValueError(f"linear_decay: steps must be an int >= 1, got {steps!r}")
    drop = first - last

    def rate(t: int) -> float:
        return first - drop * t / steps

    return rate


def _rate(who: str, lr: float | Schedule, t: int) -> float:
    if callable(lr):
        value = lr(t)
        try:
            return to_float(value, f"{who}: the schedule's rate at step {t}")
        except OperandTypeError:
            raise OperandTypeError(
                f"{who}: the learning-rate schedule returned {value!r:.40} at step {t}; a "
                "schedule takes the step number and returns a number"
            ) from None
    return to_float(lr, f"{who}: lr")


def _check(
    who: str, params: Sequence[object], grads: Sequence[float], state: Sequence[float]
) -> None:
    if len(grads) != len(params):
        raise OperandValueError(
            f"{who}: got {len(grads)} gradients for {len(params)} parameters; pass "
            "net.gradient(loss.backward()), one gradient per parameter"
        )
    if state and len(state) != len(params):
        raise OperandValueError(
            f"{who}: this optimizer state is for {len(state)} parameters, the model has "
            f"{len(params)}; start a fresh {who.split('.')[0]}() for a different model"
        )


@attrs.frozen
class SGD:
    """Gradient descent with momentum, as an immutable value (PyTorch's convention).

    ``v ← momentum·v + g`` (``v = g`` at the first step), then ``p ← p - lr·v``; with
    ``momentum=0`` it is ``p - lr·g``, the very arithmetic of :meth:`fnad.nn.MLP.step`.

    >>> from fnad.nn import MLP
    >>> model = MLP(1, [1], seed=0)
    >>> opt = SGD(lr=0.5, momentum=0.9)
    >>> model2, opt = opt.step(model, [1.0, 1.0])
    >>> model3, opt = opt.step(model2, [1.0, 1.0])
    >>> opt.velocity, model.parameters()[1] - model3.parameters()[1]
    ((1.9, 1.9), 1.45)
    """

    lr: float | Schedule = 0.01
    """The learning rate, or a schedule: a function of :attr:`t`."""
    momentum: float = 0.0
    t: int = 0
    """Steps taken so far."""
    velocity: tuple[float, ...] = ()
    """The momentum buffer, one per parameter (empty before the first step)."""

    def rate(self, t: int | None = None) -> float:
        """The learning rate of step ``t`` (default: the next step's)."""
        return _rate("SGD", self.lr, self.t if t is None else t)

    def step(self, model: MLP[float], grads: Sequence[float]) -> tuple[MLP[float], SGD]:
        """One update of ``model`` for ``grads`` (in ``parameters()`` order)."""
        params = model._parameter_values()
        _check("SGD.step", params, grads, self.velocity)
        lr = self.rate()
        mu = to_float(self.momentum, "SGD: momentum")
        gs = [to_float(g, "SGD.step: gradient", i) for i, g in enumerate(grads, 1)]
        if mu == 0.0:
            velocity: tuple[float, ...] = ()
            directions: Sequence[float] = gs
        else:
            if self.velocity:
                velocity = tuple(mu * v + g for v, g in zip(self.velocity, gs, strict=True))
            else:
                velocity = tuple(gs)
            directions = velocity
        new = tuple(p - lr * d for p, d in zip(params, directions, strict=True))
        return model.with_parameters(new), attrs.evolve(self, t=self.t + 1, velocity=velocity)


@attrs.frozen
class Adam:
    """The Adam optimizer as an immutable value: ``step`` returns the new model *and* optimizer.

    >>> model = MLP(2, [4, 1], seed=0)
    >>> opt = Adam(lr=0.01)
    >>> grads = [1.0] * len(model.parameters())
    >>> model2, opt2 = opt.step(model, grads)
    >>> opt2.t, round(model.parameters()[0] - model2.parameters()[0], 6)
    (1, 0.01)
    """

    lr: float | Schedule = 0.001
    """The learning rate, or a schedule: a function of :attr:`t`."""
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    """Steps taken so far."""
    m: tuple[float, ...] = ()
    """First-moment estimates, one per parameter (empty before the first step)."""
    v: tuple[float, ...] = ()
    """Second-moment estimates."""

    def step(self, model: MLP[float], grads: Sequence[float]) -> tuple[MLP[float], Adam]:
        """One Adam update of ``model`` for ``grads`` (in ``parameters()`` order)."""
        params = model._parameter_values()
        _check("Adam.step", params, grads, self.m)
        lr = _rate("Adam", self.lr, self.t)
        m = self.m or (0.0,) * len(params)
        v = self.v or (0.0,) * len(params)
        t = self.t + 1
        b1, b2 = self.beta1, self.beta2
        new_m = tuple(b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True))
        new_v = tuple(b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True))
        c1, c2 = 1 - b1**t, 1 - b2**t
        new_params = tuple(
            p - lr * (mi / c1) / (math.sqrt(vi / c2) + self.eps)
            for p, mi, vi in zip(params, new_m, new_v, strict=True)
        )
        return model.with_parameters(new_params), attrs.evolve(self, t=t, m=new_m, v=new_v)
