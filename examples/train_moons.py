"""Train micrograd's MLP(2, [16, 16, 1]) on the two moons with fnad, one immutable step at a time.

    python examples/train_moons.py            # 100 steps, as micrograd's demo (a second or two)
    python examples/train_moons.py 20         # fewer steps
    python examples/train_moons.py --eager    # trace every step instead (same numbers, ~30x slower)
    python examples/train_moons.py --help

The same training as ``fnad demo``, written out as a plain loop (``fnad demo --plot`` also
draws the result). Every step returns a *new* model: nothing is updated in place.

The fast way (the default) is how ``fnad demo`` and ``fnad.nn.train_step`` train: the loss
has the same graph at every step (only the 337 parameters change), so it is traced once as a
function of the parameters with ``fnad.compile`` and then replayed at each step's
parameters, which gives the loss, the gradients and the scores bit for bit as tracing would.
``--eager`` shows what each replay stands for: a fresh tape per step, the forward pass
recorded, ``loss.backward()``. Both print the same numbers.
"""

from __future__ import annotations

import argparse

import fnad
from fnad.nn import MLP, MOONS, accuracy, hinge_loss, l2, moons


def main(steps: int = MOONS.steps, seed: int = MOONS.seed, *, eager: bool = False) -> float:
    """Train for ``steps`` steps, print the progress, return the final training accuracy."""
    points, labels = moons(MOONS.samples, noise=MOONS.noise, seed=seed)  # labels -1 and +1
    model = MLP(2, list(MOONS.layers), seed=seed)  # [16, 16, 1]: 337 parameters, all floats

    # The step's loss as a function of the parameters (Nodes while it is traced), with the
    # scores as auxiliary values for the accuracy.
    def loss_of(*params: fnad.Node) -> tuple[fnad.Node, list[fnad.Node]]:
        net = model.with_parameters(params)
        scores = [net(x) for x in points]
        return hinge_loss(scores, labels) + l2(params, alpha=MOONS.alpha), scores

    program = None if eager else fnad.compile(loss_of, *model.parameters(), has_aux=True)

    for k in range(steps):
        if program is not None:
            loss, grads, scores = program.evaluate(model.parameters())  # a replay, no graph
        else:
            with fnad.Tape():  # one tape per step: the whole graph is dropped afterwards
                net = model.trace()  # the same network, each parameter a leaf Node
                traced, nodes = loss_of(*net.parameters())
                grads = net.gradient(traced.backward())  # ∂loss/∂p, in parameters() order
                loss, scores = traced.data, [s.data for s in nodes]
        lr = MOONS.learning_rate(k, steps)  # micrograd's: 1.0 falling linearly to 0.1
        model = model.step(grads, lr)  # a new model; the old one is unchanged
        if k % 10 == 0 or k == steps - 1:
            # the loss and accuracy of the model this step started from, as micrograd prints
            print(f"step {k:3d}  loss {loss:.4f}  accuracy {accuracy(scores, labels):.0%}")

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
    parser.add_argument(
        "--eager",
        action="store_true",
        help="trace and differentiate every step instead of replaying the compiled step "
        "(same numbers, much slower)",
    )
    args = parser.parse_args()
    main(args.steps, args.seed, eager=args.eager)
