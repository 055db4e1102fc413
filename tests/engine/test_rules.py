"""The rule table itself: validation of rules, lookups that fail loudly, per-tape tables."""

from __future__ import annotations

import pickle
import threading

import pytest

import fnad
from fnad import Node
from fnad.engine.rules import Rule, RuleTable, builtin_rules, isolated_rules


def _twice(x: float, out: float) -> tuple[float]:
    return (2.0,)


def test_unknown_op_names_the_op_and_lists_the_known_ones() -> None:
    with fnad.Tape() as tape:
        x = Node(1.0)
        before = len(tape)
        with pytest.raises(fnad.UnknownOpError) as caught:
            tape.apply("softmax", x)
        assert len(tape) == before
    message = str(caught.value)
    assert "'softmax'" in message and "tanh" in message
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)


def test_a_recorded_graph_keeps_its_rules_even_if_the_table_loses_one() -> None:
    table = RuleTable()
    table.register(Rule("demo.twice", 1, lambda x: 2 * x, _twice, samples=((1.0,), (2.0,))))
    with fnad.Tape(rules=table) as tape:
        x = Node(3.0, label="x")
        y = tape.apply("demo.twice", x)
        assert y.backward()[x] == 2.0
    # A table cannot lose a rule through the public API; simulate it through its storage.
    del table._rules["demo.twice"]
    assert y.backward()[x] == 2.0  # the tape fixed the rule at the op's first use


def test_backward_through_an_op_missing_from_the_tapes_table_names_it() -> None:
    """An unpickled graph resolves its ops in the current table when differentiated."""
    with fnad.isolated_rules():
        fnad.defop("demo.twice", impl=lambda v: 2 * v, partials=_twice)
        with fnad.Tape():
            x = Node(3.0, label="x")
            y = fnad.current_rules()["demo.twice"].forward(3.0) * x
            z = y.tape.apply("demo.twice", y)
        blob = pickle.dumps(z)
    restored = pickle.loads(blob)
    with pytest.raises(fnad.UnknownOpError, match=r"no rule for op 'demo\.twice'"):
        restored.backward()


def test_wrong_arity_at_apply_time() -> None:
    with fnad.Tape() as tape:
        x = Node(1.0)
        with pytest.raises(fnad.RuleError, match="'tanh' takes 1 argument"):
            tape.apply("tanh", x, x)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "has space"}, "not a (dotted) identifier"),
        ({"name": "1abc"}, "not a (dotted) identifier"),
        ({"name": "a..b"}, "not a (dotted) identifier"),
        ({"name": ""}, "not a (dotted) identifier"),
        ({"arity": 0}, "arity must be an int >= 1"),
        ({"arity": True}, "arity must be an int >= 1"),
        ({"forward": 3.0}, "forward must be callable"),
        ({"partials": None}, "partials must be callable"),
        ({"arity": 2}, "cannot be called with 2 positional arguments"),
        ({"partials": lambda x: (1.0,)}, "its arguments then `out`"),
        ({"samples": ((1.0, 2.0),)}, "has 2 values, expected 1"),
    ],
)
def test_malformed_rules_fail_loudly(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "name": "demo.ok",
        "arity": 1,
        "forward": lambda x: x,
        "partials": _twice,
        "samples": ((1.0,),),
    }
    fields.update(kwargs)
    with pytest.raises(fnad.RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Rule(**fields)  # type: ignore[arg-type]


def test_duplicate_registration_needs_replace() -> None:
    table = RuleTable()
    rule = Rule("demo.once", 1, lambda x: x, _twice)
    table.register(rule)
    with pytest.raises(fnad.RuleError, match="already registered"):
        table.register(rule)
    table.register(rule, replace=True)
    assert table["demo.once"] is rule
    binary = Rule("demo.once", 2, lambda a, b: a, lambda a, b, out: (1.0, 0.0))
    with pytest.raises(fnad.RuleError, match="must keep it"):
        table.register(binary, replace=True)
    with pytest.raises(fnad.RuleError, match="takes a fnad Rule"):
        table.register("demo.once")  # type: ignore[arg-type]


def test_isolated_rules_do_not_leak_and_tapes_keep_their_table() -> None:
    with isolated_rules() as table:
        table.register(Rule("demo.scoped", 1, lambda x: 3 * x, lambda x, out: (3.0,)))
        with fnad.Tape() as tape:
            x = Node(1.0)
            y = tape.apply("demo.scoped", x)
    assert "demo.scoped" not in builtin_rules() and "demo.scoped" not in fnad.current_rules()
    assert y.data == 3.0 and y.backward()[x] == 3.0  # the tape still has its table


def test_concurrent_registration_is_safe() -> None:
    table = RuleTable()
    errors: list[Exception] = []

    def register(i: int) -> None:
        for j in range(50):
            try:
                table.register(Rule(f"demo.r{i}_{j}", 1, lambda x: x, _twice))
            except Exception as error:  # pragma: no cover - the assertion reports it
                errors.append(error)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(table) == 400
