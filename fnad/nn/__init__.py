"""A small immutable neural-net library: models, training steps, datasets, gradient-flow statistics, the demo."""

from fnad.nn.datasets import (
    Dataset,
    Point,
    moons,
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
from fnad.nn.losses import accuracy, hinge_loss, l2
from fnad.nn.model import MLP, Layer, Neuron
from fnad.nn.optim import Adam
from fnad.nn.training import MOONS, MoonsSettings, StepResult, step_program, train_step

__all__ = [
    "FLOW_PLOT_SIZE",
    "MLP",
    "MOONS",
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
    "StepResult",
    "accuracy",
    "flow_stats",
    "flow_step",
    "hinge_loss",
    "history_as_dict",
    "l2",
    "moons",
    "plot_flow",
    "step_program",
    "train_step",
]
