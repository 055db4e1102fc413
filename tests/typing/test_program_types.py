"""Static types of compiled replay, checked by mypy (mypy.ini covers tests/) and run by pytest."""

from __future__ import annotations

from typing import assert_type

import fnad
from fnad import Evaluation, Node, Program, ValueAndGrad
from fnad.nn.model import MLP, StepResult, step_program, train_step


def test_compile_and_replay_have_precise_types() -> None:
    prog = fnad.compile(lambda x, y: x * y, 1.0, 2.0)
    assert_type(prog, Program)
    assert_type(prog(1.0, 2.0), float)
    assert_type(prog.value_and_grad(x=1.0), ValueAndGrad)
    assert_type(prog.value_and_grad(1.0, 2.0).grads, dict[str, float])
    assert_type(prog.grad(1.0, 2.0), tuple[float, ...])
    assert_type(prog.jvp((1.0, 2.0), (1.0, 0.0)), tuple[float, float])
    assert_type(prog.evaluate([1.0, 2.0]), Evaluation)
    assert_type(prog.evaluate([1.0, 2.0]).gradient, tuple[float, ...])
    assert_type(prog.sweep([(1.0, 2.0)]), list[ValueAndGrad])
    assert_type(prog.input_names, tuple[str, ...])
    assert_type(prog.as_node(), Node)
    assert_type(prog.trace(), tuple[Node, dict[str, Node]])
    assert_type(prog.check(1.0, 2.0), None)
    aux = fnad.compile(lambda x: (x * x, [x + 1.0]), 1.0, has_aux=True)
    assert_type(aux.evaluate([2.0]).aux, tuple[float, ...])
    assert aux.evaluate([2.0]) == Evaluation(4.0, (4.0,), (3.0,))


def test_from_nodes_and_files_give_programs() -> None:
    with fnad.Tape():
        x = Node(1.0, label="x")
        z = x * x
    assert_type(Program.from_nodes(z, [x]), Program)
    assert_type(fnad.from_json(fnad.to_json(z)), Program)


def test_compiled_training_step_types() -> None:
    from fnad.nn.datasets import moons

    points, labels = moons(4, seed=0)
    model = MLP(2, [2, 1], seed=0)
    assert_type(train_step(model, points, labels, 0.1, compiled=True), StepResult)
    assert_type(step_program(model, points, labels), Program)
