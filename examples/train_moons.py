"""Train micrograd's MLP(2, [16, 16, 1]) on the two moons with fnad, one immutable step at a time.

    python examples/train_moons.py            # 100 steps, as micrograd's demo
    python examples/train_moons.py 20         # fewer steps
    python examples/train_moons.py --help

The same training as ``fnad demo``, written out as a plain loop (``fnad demo --plot`` also
draws the result). Each step builds its graph on a fresh tape, differentiates the loss, and
returns a *new* model: nothing is updated in place.
"""

from __future__ import annotations

import argparse

import fnad
from fnad.datasets import moons
from fnad.nn import MLP, accuracy, hinge_loss, l2


def main(steps: int = 100, seed: int = 1337) -> float:
    """Train for ``steps`` steps, print the progress, return the final training accuracy."""
    points, labels = moons(100, noise=0.1, seed=seed)  # labels are -1 and +1
    model = MLP(2, [16, 16, 1], seed=seed)  # 337 parameters, all plain floats

    for k in range(steps):
        with fnad.Tape():  # one tape per step: the whole graph is dropped afterwards
            net = model.trace()  # the same network, each parameter a leaf Node
            scores = [net(x) for x in points]
            loss = hinge_loss(scores, labels) + l2(net.parameters(), alpha=1e-4)
            grads = net.gradient(loss.backward())  # ∂loss/∂p, in parameters() order
        lr = 1.0 - 0.9 * k / steps  # micrograd's schedule
        model = model.step(grads, lr)  # a new model; the old one is unchanged
        if k % 10 == 0 or k == steps - 1:
            print(f"step {k:3d}  loss {loss.data:.4f}  accuracy {accuracy(scores, labels):.0%}")

    final = accuracy([model(x) for x in points], labels)  # floats in, floats out: no graph
    print(f"final training accuracy: {final:.0%}")
    return final


if __name__ == "__main__":
    from fnad.demo import positive_int

    parser = argparse.ArgumentParser(
        description="Train micrograd's MLP(2, [16, 16, 1]) on the two moons with fnad."
    )
    parser.add_argument(
        "steps", nargs="?", type=positive_int, default=100, help="training steps (default: 100)"
    )
    parser.add_argument("--seed", type=int, default=1337, help="data and weights seed (1337)")
    args = parser.parse_args()
    main(args.steps, args.seed)
