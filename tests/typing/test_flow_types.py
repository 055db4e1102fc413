"""Static types of the summary, group explanation and flow API, checked by mypy and run by pytest."""

from __future__ import annotations

from typing import assert_type

import networkx as nx

import fnad
import fnad.nn.flow
from fnad import GroupExplanation, Node
from fnad.nn.flow import FlowStats, LayerFlow, flow_stats
from fnad.nn.model import MLP, StepResult, hinge_loss
from fnad.viz.summary import GradStats, Summary, VertexInfo


def test_summary_explain_group_and_flow_have_precise_types() -> None:
    def layer(vertex: VertexInfo) -> str | None:
        return vertex.label.split(".")[0] or None

    with fnad.Tape():
        net = MLP(2, [3, 1], seed=0).trace()
        loss = hinge_loss([net((1.0, 2.0))], [1])
        assert_type(fnad.summarize(loss, by="layer"), Summary)
        assert_type(fnad.summarize(loss, by=layer), Summary)
        graph: nx.DiGraph[str] = fnad.summarize(loss, by=layer)  # a networkx graph
        assert isinstance(graph, nx.DiGraph)
        assert_type(fnad.summary_to_dot(fnad.summarize(loss, by="op")), str)
        e = fnad.explain_group(loss, "L0", by="layer", via="L1")
        assert_type(e, GroupExplanation)
        assert_type(e.routes[0].through, tuple[float, ...])
        stats = flow_stats(net, loss.backward())
        assert_type(stats, FlowStats)
        assert_type(stats.layers[0], LayerFlow)
        assert_type(stats.layers[0].weights, GradStats)
        assert_type(stats.layers[0].ratio, float | None)
        assert_type(stats.layers[0].dead_fraction, float | None)
        assert_type(loss, Node)
    result, step_stats = fnad.nn.flow.flow_step(MLP(2, [3, 1], seed=0), [(1.0, 2.0)], [1], lr=0.1)
    assert_type(result, StepResult)
    assert_type(step_stats, FlowStats)
