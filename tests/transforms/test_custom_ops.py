"""fnad.defop: custom ops at orders 1 and 2 under every transform, checked by
check_rules(), every registration mistake with its message, thread-safe registration and
isolated rule tables."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sympy

import fnad
from fnad import CustomBinaryOp, CustomNaryOp, CustomUnaryOp, Node, RuleError, Tape
from fnad.errors import UnknownOpError


@pytest.fixture(autouse=True)
def private_rules() -> Iterator[fnad.RuleTable]:
    """Every test registers into its own copy of the rule table."""
    with fnad.isolated_rules() as table:
        yield table


def make_softplus() -> CustomUnaryOp:
    return fnad.defop(
        "mylib.softplus",
        impl=lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0),
        partials=lambda x, out: (fnad.sigmoid(x),),
        samples=[(0.5,), (-2.0,), (3.0,)],
    )


def make_logaddexp() -> CustomBinaryOp:
    def impl(a: float, b: float) -> float:
        m = max(a, b)
        return m + math.log(math.exp(a - m) + math.exp(b - m))

    return fnad.defop(
        "mylib.logaddexp",
        impl=impl,
        partials=lambda a, b, out: (fnad.exp(a - out), fnad.exp(b - out)),
        samples=[(0.5, -1.0), (2.0, 2.5)],
    )


X, Y = sympy.symbols("x y", real=True)
SOFTPLUS = sympy.log(1 + sympy.exp(X))
LOGADDEXP = sympy.log(sympy.exp(X) + sympy.exp(Y))


def sym(expr: sympy.Expr, *wrt: sympy.Symbol, **point: float) -> float:
    return float(sympy.diff(expr, *wrt).subs({X: point.get("x", 0.0), Y: point.get("y", 0.0)}))


# --------------------------------------------------------------------------- a unary op


def test_softplus_values_and_types() -> None:
    softplus = make_softplus()
    assert isinstance(softplus, CustomUnaryOp) and isinstance(softplus, fnad.UnaryOp)
    assert repr(softplus) == "<fnad op 'mylib.softplus'>"
    assert softplus(0.0) == pytest.approx(math.log(2.0))
    assert softplus(1000.0) == 1000.0  # the stable impl, on floats
    with Tape() as tape:
        x = Node(0.5, label="x")
        y = softplus(x)
    assert y.op == "mylib.softplus" and y.inputs == (x,)
    assert tape.graph.nodes[y]["op"] == "mylib.softplus"
    assert y.backward()[x] == pytest.approx(1 / (1 + math.exp(-0.5)))


@pytest.mark.parametrize("x0", [-2.0, 0.0, 0.7, 3.0])
def test_softplus_under_every_transform_at_orders_one_and_two(x0: float) -> None:
    softplus = make_softplus()
    d1 = sym(SOFTPLUS, X, x=x0)
    d2 = sym(SOFTPLUS, X, X, x=x0)
    assert fnad.grad(softplus)(x0) == pytest.approx(d1, rel=1e-12)
    assert fnad.value_and_grad(softplus)(x0)[1] == pytest.approx(d1, rel=1e-12)
    assert fnad.jvp(softplus, (x0,), (1.0,))[1] == pytest.approx(d1, rel=1e-12)
    assert fnad.vjp(softplus, x0)[1](2.0) == pytest.approx((2 * d1,), rel=1e-12)
    assert fnad.grad(fnad.grad(softplus))(x0) == pytest.approx(d2, rel=1e-12)
    assert fnad.hessian(softplus)(x0) == pytest.approx(d2, rel=1e-12)
    fwd2 = fnad.jvp(lambda x: fnad.jvp(softplus, (x,), (1.0,))[1], (x0,), (1.0,))[1]
    assert fwd2 == pytest.approx(d2, rel=1e-12)
    assert fnad.jvp(fnad.grad(softplus), (x0,), (1.0,))[1] == pytest.approx(d2, rel=1e-12)
    # inside a bigger function
    f = lambda x: softplus(x * x) * x
    expr = SOFTPLUS.subs(X, X * X) * X
    assert fnad.grad(fnad.grad(f))(x0) == pytest.approx(sym(expr, X, X, x=x0), rel=1e-10)


def test_softplus_passes_check_rules_and_check_grad() -> None:
    softplus = make_softplus()
    report = fnad.check_rules(ops=["mylib.softplus"])
    assert report.ok and report.results[0].status == "ok"
    assert report.results[0].checked == 3 * 2 * 2  # 3 samples x 2 orders x 2 modes
    fnad.check_grad(lambda x: softplus(x.sin()), 0.4, order=3)


# --------------------------------------------------------------------------- a binary op


@pytest.mark.parametrize(("a", "b"), [(0.5, -1.0), (2.0, 2.5), (-0.3, -0.3)])
def test_logaddexp_under_every_transform_at_orders_one_and_two(a: float, b: float) -> None:
    lae = make_logaddexp()
    assert isinstance(lae, CustomBinaryOp)
    assert lae(a, b) == pytest.approx(math.log(math.exp(a) + math.exp(b)))
    ga, gb = sym(LOGADDEXP, X, x=a, y=b), sym(LOGADDEXP, Y, x=a, y=b)
    assert fnad.grad(lae, argnums=(0, 1))(a, b) == pytest.approx((ga, gb), rel=1e-12)
    assert fnad.value_and_grad(lae, argnums=1)(a, b)[1] == pytest.approx(gb, rel=1e-12)
    assert fnad.jvp(lae, (a, b), (1.0, 2.0))[1] == pytest.approx(ga + 2 * gb, rel=1e-12)
    assert fnad.vjp(lae, a, b)[1](1.0) == pytest.approx((ga, gb), rel=1e-12)
    expected = [[sym(LOGADDEXP, p, q, x=a, y=b) for q in (X, Y)] for p in (X, Y)]
    h = fnad.hessian(lae, argnums=(0, 1))(a, b)
    for i in range(2):
        assert h[i] == pytest.approx(expected[i], rel=1e-10, abs=1e-14)
    mixed = fnad.grad(fnad.grad(lae, argnums=0), argnums=1)(a, b)
    assert mixed == pytest.approx(expected[0][1], rel=1e-10)
    # mixed with numbers on either side
    with Tape():
        x = Node(a)
        assert lae(x, 1.0).inputs[1].op == "const"
        assert lae(1.0, x).op == "mylib.logaddexp"


def test_logaddexp_passes_check_rules() -> None:
    make_logaddexp()
    report = fnad.check_rules(ops=["mylib.logaddexp"])
    assert report.ok, str(report)
    assert report.results[0].checked == 2 * (2 + 4) * 2  # samples x (1st + 2nd order) x modes


def test_an_op_of_three_arguments() -> None:
    lerp = fnad.defop(
        "mylib.lerp",
        impl=lambda a, b, t: a + t * (b - a),
        partials=lambda a, b, t, out: (1 - t, t, b - a),
        samples=[(1.0, 3.0, 0.25)],
    )
    assert isinstance(lerp, CustomNaryOp)
    assert lerp(1.0, 3.0, 0.25) == 1.5
    assert fnad.grad(lerp, argnums=(0, 1, 2))(1.0, 3.0, 0.25) == (0.75, 0.25, 2.0)
    assert fnad.hessian(lerp, argnums=(0, 1, 2))(1.0, 3.0, 0.25)[2] == (-1.0, 1.0, 0.0)
    assert fnad.check_rules(ops=["mylib.lerp"]).ok
    with pytest.raises(RuleError, match=r"op 'mylib.lerp' takes 3 arguments, got 2"):
        lerp(1.0, 2.0)
    with Tape():
        assert lerp(Node(1.0), 3.0, 0.5).op == "mylib.lerp"


# --------------------------------------------------------------------------- registration errors


def test_duplicate_names_fail_unless_replacing() -> None:
    make_softplus()
    with pytest.raises(
        RuleError,
        match=r"op 'mylib.softplus' is already registered; choose another name "
        r"\(e.g. 'mylib.name'\) or pass replace=True to override it",
    ):
        make_softplus()
    with pytest.raises(RuleError, match="op 'tanh' is already registered"):
        fnad.defop("tanh", impl=math.tanh, partials=lambda x, out: (1 - out * out,))
    twice = fnad.defop(
        "mylib.softplus", impl=lambda x: 2 * x, partials=lambda x, out: (2.0,), replace=True
    )
    assert fnad.current_rules()["mylib.softplus"] is twice.rule
    assert fnad.grad(twice)(1.0) == 2.0


@pytest.mark.parametrize("name", ["my op", "1abc", "mylib..f", "mylib.", "", "mylib.f-g"])
def test_names_must_be_dotted_identifiers(name: str) -> None:
    with pytest.raises(RuleError, match=r"is not a \(dotted\) identifier; use names like"):
        fnad.defop(name, impl=lambda x: x, partials=lambda x, out: (1.0,))


def test_a_name_must_be_a_string() -> None:
    with pytest.raises(RuleError, match=r"op name must be a str like 'mylib.softplus', got 3"):
        fnad.defop(3, impl=lambda x: x, partials=lambda x, out: (1.0,))  # type: ignore[call-overload]


def test_partials_must_take_the_arguments_then_out() -> None:
    with pytest.raises(
        RuleError,
        match=r"op 'mylib.f': impl\(x\) takes 1 argument\(s\), so partials must take those 1 "
        r"then `out`: partials\(x\) cannot be called that way \(it is missing `out`",
    ):
        fnad.defop("mylib.f", impl=lambda x: x, partials=lambda x: (1.0,))
    with pytest.raises(
        RuleError, match=r"impl\(a, b\) takes 2 argument\(s\).*partials\(a, out\) cannot be"
    ):
        fnad.defop("mylib.g", impl=lambda a, b: a * b, partials=lambda a, out: (1.0,))
    with pytest.raises(RuleError, match=r"takes 1 argument\(s\).*partials\(a, b, c, out\)"):
        fnad.defop("mylib.h", impl=lambda x: x, partials=lambda a, b, c, out: (1.0,))
    assert "mylib.f" not in fnad.current_rules()


def test_impl_and_partials_must_be_usable_functions() -> None:
    with pytest.raises(RuleError, match=r"op 'mylib.f': impl takes \*args, so its arity is"):
        fnad.defop("mylib.f", impl=lambda *args: 0.0, partials=lambda x, out: (1.0,))
    with pytest.raises(RuleError, match="impl takes no arguments; an op needs at least one"):
        fnad.defop("mylib.f", impl=lambda: 0.0, partials=lambda out: ())  # type: ignore[arg-type,misc]
    with pytest.raises(RuleError, match=r"impl must be a function of floats, got 3.0"):
        fnad.defop("mylib.f", impl=3.0, partials=lambda x, out: (1.0,))  # type: ignore[call-overload]
    with pytest.raises(RuleError, match=r"op 'mylib.f': no partials given; pass partials="):
        fnad.defop("mylib.f", impl=lambda x: x, partials=None)  # type: ignore[call-overload]
    with pytest.raises(RuleError, match="partials must be callable, got 'd' "):
        fnad.defop("mylib.f", impl=lambda x: x, partials="d")  # type: ignore[call-overload]
    with pytest.raises(RuleError, match="table must be a fnad RuleTable"):
        fnad.defop("mylib.f", impl=lambda x: x, partials=lambda x, out: (1.0,), table={})  # type: ignore[call-overload]


def test_bad_partials_results_fail_at_registration_when_samples_are_given() -> None:
    with pytest.raises(
        RuleError,
        match=r"op 'mylib.f': partials returned 2 value\(s\) for 1 argument\(s\); return one",
    ):
        fnad.defop("mylib.f", impl=lambda x: x, partials=lambda x, out: (1.0, 2.0), samples=[0.5])
    with pytest.raises(
        RuleError,
        match=r"op 'mylib.f': partials returned 1.0 \(float\); return a tuple with one local "
        r"derivative per argument, e.g. `return \(x,\)` \(mind the trailing comma",
    ):
        fnad.defop(
            "mylib.f",
            impl=lambda x: x,
            partials=lambda x, out: 1.0,  # type: ignore[arg-type,return-value]
            samples=[0.5],
        )
    with pytest.raises(RuleError, match=r"op 'mylib.f': partial 1 is 'one' \(str\), not a number"):
        fnad.defop("mylib.f", impl=lambda x: x, partials=lambda x, out: ("one",), samples=[0.5])
    with pytest.raises(RuleError, match=r"op 'mylib.f': partial 2 is None \(NoneType\)"):
        fnad.defop(
            "mylib.f",
            impl=lambda a, b: a + b,
            partials=lambda a, b, out: (1.0, None),
            samples=[(1.0, 2.0)],
        )
    assert "mylib.f" not in fnad.current_rules()


def test_partials_that_cannot_run_on_nodes_fail_at_registration() -> None:
    with pytest.raises(
        RuleError,
        match=r"op 'mylib.f': partials cannot run on fnad.Node arguments .*write them with "
        r"fnad functions and operators \(fnad.exp\(x\), not math.exp\(x\)\)",
    ):
        fnad.defop("mylib.f", impl=math.exp, partials=lambda x, out: (math.exp(x),), samples=[0.5])
    assert "mylib.f" not in fnad.current_rules()


def test_partials_may_compare_nodes_by_value() -> None:
    # Comparisons read a Node's value and record nothing: a piecewise partial is constant
    # on each piece, so its own derivative is 0, as relu's second derivative is.
    step = fnad.defop(
        "mylib.g",
        impl=lambda x: max(x, 0.0),
        partials=lambda x, out: (1.0 if x > 0 else 0.0,),
        samples=[0.5, -0.5],
    )
    assert fnad.grad(step)(0.5) == 1.0 and fnad.grad(step)(-0.5) == 0.0
    assert fnad.grad(fnad.grad(step))(0.5) == 0.0


def test_bad_partials_results_fail_at_use_without_samples() -> None:
    wrong_count = fnad.defop("mylib.a", impl=lambda x: x, partials=lambda x, out: (1.0, 1.0))
    with pytest.raises(RuleError, match=r"op 'mylib.a': partials returned 2 value\(s\) for 1"):
        fnad.grad(wrong_count)(1.0)
    with pytest.raises(RuleError, match=r"op 'mylib.a': partials returned 2 value\(s\) for 1"):
        fnad.jvp(wrong_count, (1.0,), (1.0,))
    with pytest.raises(RuleError, match=r"op 'mylib.a': partials returned 2 value\(s\) for 1"):
        fnad.grad(fnad.grad(wrong_count))(1.0)
    text = fnad.defop("mylib.b", impl=lambda x: x, partials=lambda x, out: ("1",))
    with (
        pytest.raises(RuleError, match=r"op 'mylib.b': partial 1 is '1' \(str\), not a number"),
        Tape(),
    ):
        text(Node(1.0)).backward()
    bare = fnad.defop("mylib.c", impl=lambda x: x, partials=lambda x, out: out)
    with pytest.raises(RuleError, match=r"op 'mylib.c': partials returned .*Node"):
        fnad.hessian(bare)(1.0)


@pytest.mark.parametrize("raised", [RuntimeError("boom"), TypeError("bad type"), KeyError("k")])
def test_an_impl_that_raises_is_a_rule_error_naming_the_op_and_point(raised: Exception) -> None:
    # Before: impl errors other than arithmetic ones propagated raw.
    def impl(x: float) -> float:
        if x > 5:
            raise raised
        return x

    op = fnad.defop("mylib.brittle", impl=impl, partials=lambda x, out: (1.0,), samples=[1.0])
    pattern = (
        rf"op 'mylib.brittle': impl raised {type(raised).__name__}: .* at \(6.0,\); .*fix impl"
    )
    with pytest.raises(RuleError, match=pattern) as caught:
        op(6.0)
    assert caught.value.__cause__ is raised
    with Tape() as tape:
        x = Node(6.0, label="x")
        with pytest.raises(RuleError, match=pattern):
            op(x)
    assert len(tape) == 1
    with pytest.raises(RuleError, match=pattern):
        fnad.grad(op)(6.0)
    assert op(1.0) == 1.0


def test_an_impl_returning_an_int_beyond_float_range_is_a_rule_error() -> None:
    huge = fnad.defop("mylib.huge", impl=lambda x: 10**400, partials=lambda x, out: (0.0,))
    with pytest.raises(RuleError, match=r"op 'mylib.huge': .*OverflowError.* at \(1.0,\)"):
        huge(1.0)


@pytest.mark.parametrize(
    "raised", [RuntimeError("boom"), TypeError("bad type"), OverflowError("too big")]
)
def test_partials_that_raise_are_a_rule_error_naming_the_op_and_point(raised: Exception) -> None:
    def partials(x: Any, out: Any) -> tuple[Any]:
        if fnad.value(x) > 5:
            raise raised
        return (2 * x,)

    op = fnad.defop("mylib.sq", impl=lambda x: x * x, partials=partials, samples=[1.0])
    name = type(raised).__name__
    for call in (
        lambda: fnad.grad(op)(6.0),
        lambda: fnad.jvp(op, (6.0,), (1.0,)),
        lambda: fnad.vjp(op, 6.0)[1](1.0),
    ):
        with pytest.raises(RuleError, match=rf"op 'mylib.sq': partials raised {name}: .*6.0") as e:
            call()
        assert isinstance(e.value.__cause__, type(raised))
    with pytest.raises(RuleError, match=rf"op 'mylib.sq': .*{name}.*6.0.*nothing was recorded"):
        fnad.grad(fnad.grad(op))(6.0)
    assert fnad.grad(fnad.grad(op))(1.0) == 2.0


def test_partials_that_fail_on_nodes_leave_no_stray_vertices() -> None:
    # Before: partials evaluated on Nodes (create_graph) recorded their first steps
    # before failing, leaving stray vertices on the caller's tape.
    op = fnad.defop(
        "mylib.bumpy",
        impl=lambda x: x * x,
        partials=lambda x, out: (2 * x if fnad.value(x) < 5 else 2 * x * math.cos(x),),
        samples=[1.0],
    )
    with Tape() as tape:
        x = Node(6.0, label="x")
        y = op(x)
        with pytest.raises(RuleError, match=r"'mylib.bumpy': partials cannot run on fnad.Node"):
            y.backward(create_graph=True)
        assert len(tape) == 2
        # nested transforms: only the trace of f (its identity variable and the op) stays
        for call in (lambda: fnad.grad(op)(x), lambda: fnad.jvp(op, (x,), (1.0,))):
            size = len(tape)
            with pytest.raises(RuleError, match=r"'mylib.bumpy': partials cannot run on"):
                call()
            assert [n.op for n in list(tape.graph)[size:]] == ["identity", "mylib.bumpy"]


def test_partials_on_nodes_record_only_what_they_return() -> None:
    def partials(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
        unused = fnad.exp(a) * 3  # computed, never returned: not recorded
        del unused
        return (b * fnad.cos(a * b), a * fnad.cos(a * b))

    op = fnad.defop("mylib.sinprod", impl=lambda a, b: math.sin(a * b), partials=partials)
    with Tape() as tape:
        a, b = Node(0.5, label="a"), Node(2.0, label="b")
        y = op(a, b)
        size = len(tape)
        grads = y.backward(create_graph=True)
        da, db = grads[a], grads[b]
        assert da.tape is tape and db.tape is tape
        assert math.isclose(da.data, 2.0 * math.cos(1.0)) and math.isclose(
            db.data, 0.5 * math.cos(1.0)
        )
        # b*cos(a*b) and a*cos(a*b), and y's own gradient 1.0: no exp, no constant 3
        recorded = sorted(n.op for n in list(tape.graph)[size:])
        assert recorded == ["const", "cos", "cos", "mul", "mul", "mul", "mul"]
        assert math.isclose(da.backward()[b], math.cos(1.0) - 1.0 * math.sin(1.0))
    # same partial twice (x*x-like): identity of the arguments is kept
    square = fnad.defop("mylib.mul2", impl=lambda a, b: a * b, partials=lambda a, b, out: (b, a))
    assert fnad.hessian(square, argnums=(0, 1))(3.0, 4.0) == ((0.0, 1.0), (1.0, 0.0))
    with Tape():
        x = Node(3.0)
        dx = square(x, x).backward(create_graph=True)[x]
        assert dx.data == 6.0 and dx.backward()[x] == 2.0


def test_samples_are_validated() -> None:
    with pytest.raises(RuleError, match=r"sample point \(1.0, 2.0\) has 2 values, expected 1"):
        fnad.defop("mylib.f", impl=lambda x: x, partials=lambda x, out: (1.0,), samples=[(1, 2)])
    with pytest.raises(RuleError, match=r"sample 0.5 is not a tuple of 2 numbers"):
        fnad.defop(
            "mylib.f", impl=lambda a, b: a, partials=lambda a, b, out: (1.0, 0.0), samples=[0.5]
        )
    with pytest.raises(
        RuleError,
        match=r"op 'mylib.f': sample \('x',\) holds 'x' \(str\); sample points are tuples",
    ):
        fnad.defop(
            "mylib.f",
            impl=lambda x: x,
            partials=lambda x, out: (1.0,),
            samples=[("x",)],  # type: ignore[list-item]
        )


def test_numbers_of_other_types_are_accepted_as_partials() -> None:
    from fractions import Fraction

    third = fnad.defop(
        "mylib.third", impl=lambda x: x / 3, partials=lambda x, out: (Fraction(1, 3),)
    )
    assert fnad.grad(third)(1.0) == pytest.approx(1 / 3)
    assert fnad.grad(fnad.grad(third))(1.0) == 0.0


# --------------------------------------------------------------------------- threads, isolation


def test_registration_from_many_threads_is_safe() -> None:
    table = fnad.builtin_rules().copy()
    barrier = threading.Barrier(16)
    outcomes: list[str] = []
    lock = threading.Lock()

    def register(i: int, name: str) -> None:
        barrier.wait()
        try:
            fnad.defop(name, impl=lambda x: x * i, partials=lambda x, out: (float(i),), table=table)
            result = "ok"
        except RuleError as error:
            result = str(error)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=register, args=(i, f"mt.op{i}")) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["ok"] * 16
    assert all(f"mt.op{i}" in table for i in range(16))

    outcomes.clear()
    barrier = threading.Barrier(16)
    threads = [threading.Thread(target=register, args=(i, "mt.same")) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert all("is already registered" in o for o in outcomes if o != "ok")


def test_isolated_rules_do_not_leak() -> None:
    with fnad.isolated_rules():
        inner = fnad.defop("leak.f", impl=lambda x: x, partials=lambda x, out: (1.0,))
        assert fnad.grad(inner)(1.0) == 1.0
    assert "leak.f" not in fnad.current_rules()
    assert "leak.f" not in fnad.builtin_rules()
    assert inner(2.0) == 2.0  # numbers use the op's own rule
    with (
        Tape() as tape,
        pytest.raises(
            UnknownOpError,
            match=r"op 'leak.f' is not in the rule table of Tape\(.*\); it was registered in "
            r"another table",
        ),
    ):
        inner(Node(1.0))
    assert len(tape) == 1  # nothing recorded


def test_a_plugin_table_used_by_tape_or_by_use_rules() -> None:
    table = fnad.builtin_rules().copy()
    cube = fnad.defop(
        "plugin.cube", impl=lambda x: x**3, partials=lambda x, out: (3 * x * x,), table=table
    )
    assert "plugin.cube" not in fnad.current_rules()
    with Tape(rules=table):
        x = Node(2.0)
        assert cube(x).backward()[x] == 12.0
    with pytest.raises(UnknownOpError):
        fnad.grad(cube)(2.0)  # transforms trace on fresh tapes of the current table
    with fnad.use_rules(table):
        assert fnad.grad(fnad.grad(cube))(2.0) == 12.0
    report = fnad.check_rules(table, ops=["plugin.cube"])
    assert report.results[0].status == "unchecked"


def test_strict_mode_and_ieee_numerics_apply_to_custom_ops() -> None:
    inv = fnad.defop("mylib.inv", impl=lambda x: 1 / x, partials=lambda x, out: (-out * out,))
    assert inv(0.0) == math.inf  # ZeroDivisionError becomes IEEE inf
    assert fnad.grad(inv)(0.0) == -math.inf
    with fnad.strict(), pytest.raises(fnad.NonFiniteError, match=r"op 'mylib\.inv' produced inf"):
        inv(0.0)


def test_custom_op_docs_default_to_impl() -> None:
    def cube(x: float) -> float:
        """x cubed."""
        return x**3

    op: Any = fnad.defop("mylib.cube", impl=cube, partials=lambda x, out: (3 * x * x,))
    assert op.__doc__ == "x cubed." and op.rule.doc == "x cubed."
    other = fnad.defop("mylib.cube2", impl=cube, partials=lambda x, out: (3 * x * x,), doc="y")
    assert other.__doc__ == "y"
