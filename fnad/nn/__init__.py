"""A small immutable neural-net library: models, training steps, datasets, gradient-flow statistics, the demo."""

from fnad.nn.datasets import (
    Dataset,
    Point,
    moons,
    spirals,
)
from fnad.nn.flow import (
    FLOW_PLOT_SIZE,
    FlowStats,
    GradStats,
    LayerFlow,
    NeuronFlow,
    flow_stats,
    flow_step,
    history_as_dict,
    plot_flow,
)
from fnad.nn.landscape import (
    Landscape,
    filter_normalized_direction,
    loss_landscape,
    plot_landscape,
    score_program,
)
from fnad.nn.losses import accuracy, bce_with_logits, hinge_loss, l2, mse, softmax_cross_entropy
from fnad.nn.model import ACTIVATIONS, MLP, Layer, Neuron
from fnad.nn.optim import SGD, Adam, Schedule, linear_decay
from fnad.nn.training import MOONS, MoonsSettings, StepResult, step_program, train_step

__all__ = [
    "ACTIVATIONS",
    "FLOW_PLOT_SIZE",
    "MLP",
    "MOONS",
    "SGD",
    "Adam",
    "Dataset",
    "FlowStats",
    "GradStats",
    "Landscape",
    "Layer",
    "LayerFlow",
    "MoonsSettings",
    "Neuron",
    "NeuronFlow",
    "Point",
    "Schedule",
    "StepResult",
    "accuracy",
    "bce_with_logits",
    "filter_normalized_direction",
    "flow_stats",
    "flow_step",
    "hinge_loss",
    "history_as_dict",
    "l2",
    "linear_decay",
    "loss_landscape",
    "moons",
    "mse",
    "plot_flow",
    "plot_landscape",
    "score_program",
    "softmax_cross_entropy",
    "spirals",
    "step_program",
    "train_step",
]
