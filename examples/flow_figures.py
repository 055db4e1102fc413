"""Draw the figures of docs/flow.md from real runs (a few minutes: it trains the moons demo).

    python examples/flow_figures.py docs        # writes docs/flow-*.svg, docs/flow-*.png and
                                                # docs/moons-landscape.png

Needs the viz and demo extras (graphviz with its dot program, matplotlib).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import fnad
from fnad import Node
from fnad.nn.datasets import moons
from fnad.nn.demo import ALPHA, LAYERS, plot, train
from fnad.nn.flow import FlowStats, plot_flow
from fnad.nn.landscape import loss_landscape, plot_landscape
from fnad.nn.losses import hinge_loss, l2
from fnad.nn.model import MLP, Layer, Neuron


def moons_loss(model: MLP[float], seed: int = 1337) -> tuple[Node, MLP[Node]]:
    """The demo's loss at ``model``'s weights, on the demo's 100 points."""
    points, labels = moons(100, noise=0.1, seed=seed)
    with fnad.Tape():
        net = model.trace()
        loss = hinge_loss([net(x) for x in points], labels) + l2(net.parameters(), ALPHA)
    return loss, net


def tanh_net_loss(depth: int, width: int, scale: float, seed: int) -> Node:
    """A deep tanh network with a linear output, weights ~ N(0, scale²/fan_in), labelled as
    fnad.nn labels its parameters; the loss of one input."""
    rng = random.Random(seed)
    with fnad.Tape():
        h: list[Node | float] = [0.5, -0.3]
        for i in range(depth):
            acts = []
            for j in range(width if i < depth - 1 else 1):
                act: Node = Node(0.0, label=f"L{i}.N{j}.b")
                for k, x in enumerate(h):
                    weight = Node(rng.gauss(0.0, scale / len(h) ** 0.5), label=f"L{i}.N{j}.w{k}")
                    act = act + weight * x
                acts.append(act)
            h = [a.tanh() for a in acts] if i < depth - 1 else list(acts)
        out = h[0]
        assert isinstance(out, Node)
        return (out - 1.0) ** 2


def negative_biases(model: MLP[float], bias: float) -> MLP[float]:
    """The same network with every hidden neuron's bias set to ``bias``."""
    layers = [
        Layer.of([Neuron.of(n.w, bias if n.nonlin else n.b, n.nonlin) for n in layer.neurons])
        for layer in model.layers
    ]
    return MLP.of(layers)


def health_figure(path: Path, runs: dict[str, list[FlowStats]]) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10.0, 4.2), dpi=100, layout="constrained")
    left, right = figure.subplots(1, 2)
    depth = 12
    for name, scale, color in (
        ("healthy: weights ~ N(0, 1/fan_in)", 1.0, "#238b45"),
        ("small weights: × 0.4", 0.4, "#2171b5"),
        ("large weights: × 8 (saturated)", 8.0, "#cb181d"),
    ):
        layers = fnad.summarize(tanh_net_loss(depth, 8, scale, seed=1), by="layer")
        norms = [layers.nodes[f"L{i}"]["own_grad_norm"] for i in range(depth)]
        left.plot(range(depth), norms, marker="o", color=color, label=name)
    left.set_yscale("log")
    left.set_xlabel("layer (input side left)")
    left.set_ylabel("‖∂loss/∂(layer's weights and biases)‖")
    left.set_title("a deep tanh network, 12 layers of 8", fontsize="medium")
    left.legend(fontsize="small")
    left.grid(True, alpha=0.3)
    for (name, history), color in zip(runs.items(), ("#238b45", "#cb181d"), strict=False):
        for k, style in ((0, "-"), (1, "--")):
            dead = [stats.layers[k].dead_fraction or 0.0 for stats in history]
            right.plot(range(len(history)), dead, style, color=color, label=f"{name}, L{k}")
    right.set_ylim(-0.03, 1.03)
    right.yaxis.set_major_formatter("{x:.0%}")
    right.set_xlabel("training step")
    right.set_ylabel("dead relu units")
    right.set_title("the moons network, trained", fontsize="medium")
    right.legend(fontsize="small")
    right.grid(True, alpha=0.3)
    figure.savefig(path, format="png", dpi=100)


def main(folder: str = "docs") -> None:
    out = Path(folder)
    points, labels = moons(100, noise=0.1, seed=1337)
    model = MLP(2, list(LAYERS), seed=1337)

    loss, _ = moons_loss(model)
    fnad.render_summary(fnad.summarize(loss, by="layer"), out / "flow-moons-layers.svg")
    fnad.render_summary(fnad.summarize(loss, by="neuron"), out / "flow-moons-neurons.svg")
    print("wrote the summaries")

    history: list[FlowStats] = []
    trained = train(model, points, labels, 100, flows=history)
    plot_flow(history, out / "flow-moons.png", "gradient flow of MLP(2, [16, 16, 1]) on the moons")
    plot(trained, points, labels, str(out / "flow-moons-boundary.png"), "after 100 steps")
    land = loss_landscape(trained, points, labels, alpha=ALPHA, seed=1337)
    title = "training loss around the trained MLP(2, [16, 16, 1]) on the moons"
    plot_landscape(land, out / "moons-landscape.png", title)
    print("wrote the moons run")

    bad: list[FlowStats] = []
    train(negative_biases(model, -1.0), points, labels, 100, flows=bad)
    health_figure(out / "flow-health.png", {"default start": history, "hidden biases at -1": bad})
    print("wrote the health figure")


if __name__ == "__main__":
    main(*sys.argv[1:])
