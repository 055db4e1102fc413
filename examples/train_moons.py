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
from fnad.nn.datasets import moons
from fnad.nn.model import MLP, MOONS, accuracy, hinge_loss, l2


def main(steps: int = MOONS.steps, seed: int = MOONS.seed) -> float:
    """Train for ``steps`` steps, print the progress, return the final training accuracy."""
    points, labels = moons(MOONS.samples, noise=MOONS.noise, seed=seed)  # labels -1 and +1
    model = MLP(2, list(MOONS.layers), seed=seed)  # [16, 16, 1]: 337 parameters, all floats

    for k in range(steps):
        with fnad.Tape():  # one tape per step: the whole graph is dropped afterwards
            net = model.trace()  # the same network, each parameter a leaf Node
            scores = [net(x) for x in points]
            loss = hinge_loss(scores, labels) + l2(net.parameters(), alpha=MOONS.alpha)
            grads = net.gradient(loss.backward())  # ∂loss/∂p, in parameters() order
        lr = MOONS.learning_rate(k, steps)  # micrograd's: 1.0 falling linearly to 0.1
        model = model.step(grads, lr)  # a new model; the old one is unchanged
        if k % 10 == 0 or k == steps - 1:
            print(f"step {k:3d}  loss {loss.data:.4f}  accuracy {accuracy(scores, labels):.0%}")

    final = accuracy([model(x) for x in points], labels)  # floats in, floats out: no graph
    print(f"final training accuracy: {final:.0%}")
    return final


if __name__ == "__main__":
    from fnad.cli.parser import positive_int

    parser = argparse.ArgumentParser(
        description="Train micrograd's MLP(2, [16, 16, 1]) on the two moons with fnad."
    )
    parser.add_argument(
        "steps",
        nargs="?",
        type=positive_int,
        default=MOONS.steps,
        help=f"training steps (default: {MOONS.steps})",
    )
    parser.add_argument(
        "--seed", type=int, default=MOONS.seed, help=f"data and weights seed ({MOONS.seed})"
    )
    args = parser.parse_args()
    main(args.steps, args.seed)
