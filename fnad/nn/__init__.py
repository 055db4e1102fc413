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
    "flow_stats",
    "flow_step",
    "hinge_loss",
    "history_as_dict",
    "l2",
    "linear_decay",
    "moons",
    "mse",
    "plot_flow",
    "softmax_cross_entropy",
    "spirals",
    "step_program",
    "train_step",
]
