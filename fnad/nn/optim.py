"""Optimizers of :mod:`fnad.nn` as immutable values: a step returns the new model and optimizer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from fnad.errors import OperandValueError
from fnad.nn.model import MLP

__all__ = ["Adam"]


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

    lr: float = 0.001
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
        params = model.parameters()
        if len(grads) != len(params):
            raise OperandValueError(
                f"Adam.step: got {len(grads)} gradients for {len(params)} parameters"
            )
        m = self.m or (0.0,) * len(params)
        v = self.v or (0.0,) * len(params)
        if len(m) != len(params):
            raise OperandValueError(
                f"Adam.step: this optimizer state is for {len(m)} parameters, the model has "
                f"{len(params)}; start a fresh Adam() for a different model"
            )
        t = self.t + 1
        b1, b2 = self.beta1, self.beta2
        new_m = tuple(b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True))
        new_v = tuple(b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True))
        c1, c2 = 1 - b1**t, 1 - b2**t
        new_params = tuple(
            p - self.lr * (mi / c1) / (math.sqrt(vi / c2) + self.eps)
            for p, mi, vi in zip(params, new_m, new_v, strict=True)
        )
        return model.with_parameters(new_params), attrs.evolve(self, t=t, m=new_m, v=new_v)
