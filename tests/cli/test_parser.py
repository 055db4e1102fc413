"""The expression parser: Python's meaning for what it accepts, a clear error for the rest."""

from __future__ import annotations

import builtins
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnad
from fnad import ExpressionError, Node, Rule
from fnad.cli.parser import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    Expression,
    available_functions,
    parse,
    parse_assignments,
    parse_value,
)

FUNCTIONS = ("relu", "tanh", "exp", "log", "sigmoid", "sin", "cos", "sqrt", "abs")
MORE_FUNCTIONS = (
    *("tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "log1p"),
    *("expm1", "log2", "log10", "exp2", "erf", "sign", "floor", "ceil", "softplus", "gelu"),
    "silu",
)
BINARY_FUNCTIONS = ("atan2", "hypot", "fmod", "mod", "minimum", "maximum", "leaky_relu")


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# --------------------------------------------------------------------------- meaning


def test_the_issue_examples() -> None:
    assert parse("x*y + x**2 + relu(y)").value_and_grad(x=2, y=3) == (13.0, {"x": 7.0, "y": 3.0})
    assert parse("-2**2").value_and_grad() == (-4.0, {})
    assert parse("x**-1").value_and_grad(x=2) == (0.5, {"x": -0.25})


@pytest.mark.parametrize(
    "text",
    [
        "-2**2",
        "2**-1",
        "2**3**2",
        "(2**3)**2",
        "-2**-2",
        "2**-2**-1",
        "--2",
        "-+-2",
        "+2",
        "2*3+4",
        "2+3*4",
        "2-3-4",
        "2-(3-4)",
        "2/4/8",
        "2/(4/8)",
        "2*-3",
        "-2*3",
        "-3**2*2",
        "2**-1*3",
        "1 - -1",
        "6/3*2",
        "2 ** 0.5",
        ".5 + 5. + 1e2 + 1E-2 + 2.5e+1",
        "0.1 + 0.2",
        "((((1))))",
    ],
)
def test_numbers_follow_python_precedence(text: str) -> None:
    # Python itself is the oracle here: the test's own, trusted literals.
    expected = eval(text, {"__builtins__": {}})
    assert parse(text).value_and_grad()[0] == expected


def test_dotted_names_lex_one_token_and_calls_allow_spaces() -> None:
    assert parse("abs (x)").value_and_grad(x=-2) == (2.0, {"x": -1.0})
    assert parse(" \tx\t+ 1 ").value_and_grad(x=1) == (2.0, {"x": 1.0})


def test_graph_matches_the_python_api() -> None:
    with fnad.Tape():
        z, leaves = parse("x * -2 + tanh(x) - x").build({"x": 0.5})
    x = leaves["x"]
    assert z.op == "sub" and z.inputs[1] is x
    product = z.inputs[0].inputs[0]
    assert product.op == "mul" and product.inputs[0] is x
    # '-2' is one constant, as Python's compiler folds it: x * -2 records mul(x, const -2)
    assert product.inputs[1].op == "const" and product.inputs[1].data == -2.0
    with fnad.Tape():
        x2 = Node(0.5, label="x")
        reference = x2 * -2 + fnad.tanh(x2) - x2
    assert z.data == reference.data
    assert z.backward()[x] == reference.backward()[x2]


def test_a_variable_is_one_labelled_leaf() -> None:
    expr = parse("x*x - x/x + y")
    assert expr.variables == ("x", "y")
    with fnad.Tape() as tape:
        z, leaves = expr.build({"x": 3.0, "y": 1.0})
    assert leaves["x"].label == "x" and leaves["x"].op == ""
    assert sum(1 for node in tape.graph if node.label == "x") == 1
    assert z.backward()[leaves["x"]] == 6.0


def test_unary_minus_is_folded_into_a_literal_only() -> None:
    ops = [p[1] for p in parse("-2**2").program if p[0] == 2]
    assert ops == ["pow", "neg"]
    assert parse("-(2)").program == ((0, -2.0, 1, 0),)
    with fnad.Tape():
        z, _ = parse("-x").build({"x": 1.0})
    assert z.op == "neg"


def test_ieee_numbers_not_python_exceptions() -> None:
    assert parse("1/0").value_and_grad()[0] == math.inf
    assert parse("x/0").value_and_grad(x=-1.0) == (-math.inf, {"x": math.inf})
    value, grads = parse("log(x)").value_and_grad(x=0)
    assert value == -math.inf and grads == {"x": math.inf}
    assert math.isnan(parse("sqrt(-1)").value_and_grad()[0])
    assert parse("2**10000").value_and_grad()[0] == math.inf
    assert parse("tanh(1000)").value_and_grad()[0] == 1.0


def test_all_builtin_functions_are_callable_and_operators_are_not() -> None:
    unary = (*FUNCTIONS, *MORE_FUNCTIONS)
    assert sorted(available_functions()) == sorted((*unary, *BINARY_FUNCTIONS))
    for name in unary:
        value, grads = parse(f"{name}(x)").value_and_grad(x=0.7)
        with fnad.Tape():
            x = Node(0.7)
            reference = getattr(x, name)()
        assert same(value, reference.data) and same(grads["x"], reference.backward()[x])
    for name in BINARY_FUNCTIONS:
        value, grads = parse(f"{name}(x, y)").value_and_grad(x=-0.7, y=0.3)
        with fnad.Tape():
            x, y = Node(-0.7), Node(0.3)
            reference = getattr(x, name)(y)
            expected = reference.backward()
        assert value == reference.data
        assert (grads["x"], grads["y"]) == (expected[x], expected[y])
    for operator in ("add", "mul", "pow", "neg", "truediv", "sub"):
        with pytest.raises(ExpressionError, match="unknown function"):
            parse(f"{operator}(x, y)")


def test_custom_ops_by_dotted_name() -> None:
    with fnad.isolated_rules() as table:
        table.register(
            Rule(
                "mylib.softplus",
                1,
                lambda x: math.log1p(math.exp(x)),
                lambda x, out: (fnad.sigmoid(x),),
            )
        )
        table.register(Rule("mylib.hyp", 2, math.hypot, lambda a, b, out: (a / out, b / out)))
        assert "mylib.softplus" in available_functions()
        value, grads = parse("mylib.softplus(x) + mylib.hyp(x, 4)").value_and_grad(x=3)
        assert value == pytest.approx(math.log1p(math.exp(3)) + 5)
        assert grads["x"] == pytest.approx(fnad.sigmoid(3.0) + 3 / 5)
        with pytest.raises(ExpressionError, match=r"mylib\.hyp\(\) takes 2 argument\(s\), got 1"):
            parse("mylib.hyp(x)")
        with pytest.raises(ExpressionError, match=r"'mylib\.softplus' is a function"):
            parse("mylib.softplus + 1")
    with pytest.raises(ExpressionError, match=r"unknown function 'mylib\.softplus'"):
        parse("mylib.softplus(x)")


def test_an_explicit_rule_table() -> None:
    table = fnad.builtin_rules().copy()
    table.register(Rule("twice", 1, lambda x: 2 * x, lambda x, out: (2.0,)))
    expr = parse("twice(x)", rules=table)
    assert expr.functions == ("twice",)
    with fnad.use_rules(table), fnad.Tape():
        z, _ = expr.build({"x": 3})
        assert z.data == 6.0
    with pytest.raises(ExpressionError, match="unknown function 'twice'"):
        parse("twice(x)")


def test_evaluation_never_uses_eval_exec_compile_or_ast() -> None:
    import ast

    calls: list[str] = []

    def forbidden(name: str) -> Callable[..., None]:
        def refuse(*args: object, **kwargs: object) -> None:
            calls.append(name)
            raise AssertionError(f"the parser called {name}")

        return refuse

    results: list[object] = []
    with pytest.MonkeyPatch.context() as patch:
        for name in ("eval", "exec", "compile"):
            patch.setattr(builtins, name, forbidden(name))
        patch.setattr(ast, "parse", forbidden("ast.parse"))
        results.append(parse("x*y + x**2 + relu(y)").value_and_grad(x=2, y=3)[0])
        try:
            parse("__import__('os').system('touch PWNED')")
        except ExpressionError as error:
            results.append(type(error))
    assert calls == []
    assert results == [13.0, ExpressionError]


# --------------------------------------------------------------------------- rejections

REJECTED = [
    # (text, part of the message, column)
    ("x.__class__", "attribute access ('.__class__')", 2),
    ("().__class__.__bases__[0].__subclasses__()", "empty parentheses", 1),
    ("(x).real", "attribute access", 4),
    ("__import__('os').system('touch PWNED')", "unknown function '__import__'", 1),
    ("os.system('ls')", "unknown function 'os.system' (attribute access", 1),
    ("x[0]", "subscripts", 2),
    ("lambda: 1", "lambda", 1),
    ("[x for x in range(10**9)]", "lists", 1),
    ("(x for x in range(10**9))", "comprehensions", 4),
    ("relu(x=1)", "keyword arguments", 7),
    ("relu(*x)", "starred", 6),
    ("relu(**x)", "'**' unpacking", 6),
    ("x < y", "comparisons ('<')", 3),
    ("x == y", "comparisons ('==')", 3),
    ("x is y", "comparisons ('is')", 3),
    ("x and y", "boolean operators ('and')", 3),
    ("not x", "boolean operators ('not')", 1),
    ("x if y else z", "conditional", 3),
    ("'a'", "strings", 1),
    ('x + "a"', "strings", 5),
    ("f'{x}'", "f-strings", 1),
    ("rb'x'", "strings", 1),
    ("1j", "complex literals", 1),
    ("x + 2.5J", "complex literals", 5),
    ("(y := 1)", "assignment expressions", 4),
    ("x = 1", "assignments ('=')", 3),
    ("x += 1", "assignments ('+=')", 3),
    ("x; import os", "statements", 2),
    ("x\nimport os", "line breaks", 2),
    ("import os", "keyword 'import'", 1),
    ("softmax(x)", "unknown function 'softmax'; available functions: abs, acos, acosh,", 1),
    ("x(1)", "unknown function 'x'", 1),
    ("relu", "'relu' is a function", 1),
    ("2 + tanh", "'tanh' is a function", 5),
    ("add + 1", "'add' is the name of an op", 1),
    ("\uff58 + 1", "U+FF58 FULLWIDTH LATIN SMALL LETTER X is not allowed (did you mean 'x'?)", 1),
    ("x + \u0455", "U+0455 CYRILLIC SMALL LETTER DZE", 5),
    ("\u03c0 * 2", "non-ASCII", 1),
    ("x\u202e", "RIGHT-TO-LEFT OVERRIDE", 2),
    ("x\x00", "control character U+0000", 2),
    ("x\x0b", "control character", 2),
    ("", "empty", None),
    ("   ", "empty", None),
    ("2x", "write an operator between them", 2),
    ("0x1F", "only decimal numbers", 1),
    ("1_000", "digit separators", 2),
    ("x ^ 2", "'^' is not supported", 3),
    ("x // 2", "'//' is not supported", 3),
    ("x % 2", "'%' is not supported", 3),
    ("x @ y", "'@'", 3),
    ("~x", "'~'", 1),
    ("x, y", "tuples", 2),
    ("()", "empty parentheses", 1),
    ("relu()", "relu() takes 1 argument(s), got 0", 1),
    ("relu(x, y)", "relu() takes 1 argument(s), got 2", 1),
    ("relu(x,)", "expected a value before ')'", 8),
    ("(x", "'(' is never closed", 1),
    ("tanh(x", "'tanh(' is never closed", 1),
    ("x)", "unmatched ')'", 2),
    ("x +", "expected a value", 3),
    ("* x", "starred", 1),
    ("x y", "missing operator between 'x' and 'y'", 3),
    ("(x)(y)", "only registered functions can be called", 4),
    ("2(x)", "only registered functions can be called", 2),
    ("1e999", "too large for a float", 1),
    ("True + 1", "True is not a number", 1),
    ("None", "None is not a number", 1),
    ("{x}", "braces", 1),
    ("x # comment", "comments", 3),
    ("x...", "Ellipsis", 2),
    ("x\\", "backslashes", 2),
    ("x.5", "missing operator", 2),
    ("1.5.2", "write an operator", 4),
    ("`x`", "'`'", 1),
    ("x $ y", "'$'", 3),
]


@pytest.mark.parametrize(("text", "message", "column"), REJECTED)
def test_rejected(text: str, message: str, column: int | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    text_of_error = str(caught.value)
    assert message in text_of_error
    assert caught.value.column == column
    if column is not None:
        assert text_of_error.startswith(f"column {column}: ")
    assert "\n" not in text_of_error and "\x00" not in text_of_error
    assert text_of_error.isascii()


def test_rejected_is_a_value_error_and_an_fnad_error() -> None:
    with pytest.raises(ValueError):
        parse("x.y")
    with pytest.raises(fnad.FnadError):
        parse("x.y")
    with pytest.raises(ExpressionError, match="must be a str"):
        parse(b"x")  # type: ignore[arg-type]


def test_the_first_problem_from_the_left_is_reported() -> None:
    with pytest.raises(ExpressionError, match="column 3: "):
        parse("x x.y 'a' [")


# --------------------------------------------------------------------------- limits


def test_length_limit_is_checked_before_anything_else() -> None:
    text = "x" * (MAX_LENGTH + 1)
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match=f"limit is {MAX_LENGTH}"):
        parse(text)
    assert time.perf_counter() - start < 0.1
    with pytest.raises(ExpressionError, match="characters long"):
        parse("(" * 10_000_000)


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "(" * n + "x" + ")" * n,
        lambda n: "-" * n + "x",
        lambda n: "relu(" * n + "x" + ")" * n,
        lambda n: "**".join(["x"] * (n + 1)),
    ],
    ids=["parentheses", "signs", "calls", "powers"],
)
def test_depth_limit(make: Callable[[int], str]) -> None:
    assert isinstance(parse(make(MAX_DEPTH)), Expression)
    with pytest.raises(ExpressionError, match=f"more than {MAX_DEPTH} levels"):
        parse(make(MAX_DEPTH + 1))


def test_deep_nesting_far_past_any_recursion_limit_is_a_clean_error() -> None:
    for text in ("(" * 10_000 + "x" + ")" * 10_000, "-" * 100_000 + "x", "x" + "**x" * 50_000):
        with pytest.raises(ExpressionError, match="levels deep"):
            parse(text)


def test_node_limit() -> None:
    with pytest.raises(ExpressionError, match=f"more than {MAX_NODES} numbers"):
        parse("+".join(["1"] * (MAX_NODES // 2 + 1)))


def test_a_chain_of_100k_terms_is_parsed_and_differentiated_iteratively() -> None:
    text = "+".join(["x"] * 100_000)
    assert len(text) < MAX_LENGTH
    value, grads = parse(text).value_and_grad(x=1.5)
    assert value == 150_000.0 and grads == {"x": 100_000.0}


def test_flat_chains_do_not_count_as_depth() -> None:
    text = "*".join(f"(x{i % 7}+1)" for i in range(5000))
    assert len(parse(text).variables) == 7


# --------------------------------------------------------------------------- values


def test_values_missing_or_unknown() -> None:
    expr = parse("x*y")
    with pytest.raises(ExpressionError, match=r"no value for variable 'y' \(column 3\)") as e:
        expr.value_and_grad(x=1)
    assert e.value.column == 3
    with pytest.raises(ExpressionError, match="value given for 'z', which the expression does"):
        expr.value_and_grad(x=1, y=2, z=3)
    with pytest.raises(ExpressionError, match="uses no variables"):
        parse("2").value_and_grad(x=1)
    with pytest.raises(fnad.OperandTypeError):
        expr.value_and_grad(x=True, y=1)


@pytest.mark.parametrize(
    ("text", "value"),
    [("2", 2.0), ("-1.5", -1.5), ("+.5", 0.5), ("1e-3", 0.001), ("3.", 3.0), (" 7 ", 7.0)],
)
def test_parse_value(text: str, value: float) -> None:
    assert parse_value(text) == value


@pytest.mark.parametrize(
    "text", ["0x10", "1_000", "", "abc", "1/2", "2j", "nan", "inf", "-inf", "Infinity", "1e400"]
)
def test_parse_value_rejects(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_value(text)


def test_nonfinite_values_need_the_flag() -> None:
    assert math.isnan(parse_value("nan", allow_nonfinite=True))
    assert parse_value("-Infinity", allow_nonfinite=True) == -math.inf
    assert parse_value("1e400", allow_nonfinite=True) == math.inf
    assert parse("x * 1e999", allow_nonfinite=True).value_and_grad(x=1)[0] == math.inf


def test_parse_assignments() -> None:
    assert parse_assignments(["x=2", " y = -3 "]) == {"x": 2.0, "y": -3.0}
    for items, message in [
        (["x"], "expected NAME=VALUE"),
        (["x=1", "x=2"], "given twice"),
        (["relu=1"], "name of an op"),
        (["mul=1"], "name of an op"),
        (["if=1"], "keyword"),
        (["2x=1"], "not a variable name"),
        (["a.b=1"], "not a variable name"),
        (["\uff58=1"], r"U\+FF58"),
        (["x=abc"], "x: 'abc' is not a decimal number"),
        (["x=nan"], "--allow-nonfinite"),
    ]:
        with pytest.raises(ExpressionError, match=message):
            parse_assignments(items)


# --------------------------------------------------------------------------- Hypothesis

VARIABLES = ("x", "y", "z")


@st.composite
def expressions(draw: st.DrawFn, depth: int = 4) -> tuple[str, str]:
    """Random expression text, and the same text with every literal wrapped as C(...).

    The second text is for Python's own ``eval`` as an independent oracle of precedence
    (the test's own, trusted text); wrapping the literals makes Python compute through
    fnad's IEEE ops instead of raising on ``1/0``.
    """
    choice = draw(st.integers(0, 6 if depth > 0 else 1))
    space = draw(st.sampled_from(["", " "]))
    if choice == 0:
        name = draw(st.sampled_from(VARIABLES))
        return name, name
    if choice == 1:
        number = draw(
            st.sampled_from(["0", "1", "2", "0.5", "3.25", ".5", "2.", "1e-3", "1.5e2", "10"])
        )
        return number, f"C({number})"
    a, a_oracle = draw(expressions(depth - 1))
    if choice == 2:
        sign = draw(st.sampled_from(["-", "+"]))
        return f"{sign}{space}{a}", f"{sign}{space}{a_oracle}"
    if choice == 3:
        return f"({a})", f"({a_oracle})"
    if choice == 4:
        name = draw(st.sampled_from(FUNCTIONS))
        return f"{name}({a})", f"{name}({a_oracle})"
    b, b_oracle = draw(expressions(depth - 1))
    op = draw(st.sampled_from(["+", "-", "*", "/", "**"]))
    return f"{a}{space}{op}{space}{b}", f"{a_oracle}{space}{op}{space}{b_oracle}"


def python_oracle(oracle_text: str, values: dict[str, float]) -> tuple[float, dict[str, float]]:
    with fnad.Tape() as tape:
        leaves = {name: Node(value, label=name) for name, value in values.items()}
        namespace: dict[str, Any] = {name: getattr(fnad, name) for name in FUNCTIONS}
        namespace.update(leaves, C=tape.constant)
        output = eval(oracle_text, {"__builtins__": {}}, namespace)
        grads = output.backward()
        return output.data, {name: grads.get(leaf, 0.0) for name, leaf in leaves.items()}


@settings(max_examples=150)
@given(
    expressions(),
    st.fixed_dictionaries(
        {name: st.sampled_from([-1.5, -0.5, 0.0, 0.25, 2.0]) for name in VARIABLES}
    ),
)
def test_expressions_mean_what_python_says(pair: tuple[str, str], values: dict[str, float]) -> None:
    text, oracle_text = pair
    expression = parse(text)
    used = {name: values[name] for name in expression.variables}
    value, grads = expression.value_and_grad(**used)
    expected_value, expected_grads = python_oracle(oracle_text, used)
    assert same(value, expected_value), (text, value, expected_value)
    assert grads.keys() == expected_grads.keys()
    for name in grads:
        assert same(grads[name], expected_grads[name]), (text, name)


TOKENS = [
    "x", "y", "relu", "tanh(", "(", ")", "+", "-", "*", "/", "**", ",", ".", "1", "2.5",
    "1e5", "j", "'", '"', "[", "]", "{", "}", "=", "==", ":", ";", "lambda", "for", "in",
    "if", "else", "not", "and", "_", "__class__", "\x00", "\uff58", "\n", " ", "mylib.f(",
    "import", "@", "%", "//", "^", "~", "...", "#", "\\", "1j", "0x", "True",
]  # fmt: skip


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)))
def test_any_text_parses_or_raises_expression_error(text: str) -> None:
    try:
        expression = parse(text)
    except ExpressionError as error:
        message = str(error)
        assert message and "\n" not in message and message.isascii()
        assert error.column is None or 1 <= error.column <= max(len(text), 1)
        return
    assert all(name.isidentifier() and name.isascii() for name in expression.variables)
    value, grads = expression.value_and_grad(**dict.fromkeys(expression.variables, 0.5))
    assert isinstance(value, float) and grads.keys() == set(expression.variables)


def test_nothing_escapes_as_recursion_or_memory_error() -> None:
    seen: list[str] = []

    def attempts() -> Iterator[str]:
        yield "(" * 5000
        yield ")" * 5000
        yield "-" * 5000
        yield "x" + "+(x" * 5000
        yield "relu(" * 3000
        yield "x" * (MAX_LENGTH - 1)

    for text in attempts():
        try:
            parse(text)
        except ExpressionError as error:
            seen.append(str(error)[:20])
    assert len(seen) == 5  # the long single name is a (valid) variable


# --------------------------------------------------------------------------- issue 20: constants


def test_pi_and_e_are_numbers_in_the_python_api_too() -> None:
    from fnad.cli.parser import CONSTANTS, parse, parse_assignments

    assert parse("2*pi").value_and_grad() == (2 * math.pi, {})
    assert parse("e**x").variables == ("x",)
    assert parse("e**x").value_and_grad(x=1.0) == (math.e, {"x": math.e})
    assert math.isnan(parse("nan", allow_nonfinite=True).value_and_grad()[0])
    with pytest.raises(ExpressionError, match=r"column 3: 'nan' is not a finite number"):
        parse("x*nan")
    for name in CONSTANTS:
        with pytest.raises(ExpressionError, match=rf"cannot use '{name}' as a variable"):
            parse_assignments([f"{name}=1"])
