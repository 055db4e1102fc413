"""Compiled replay: trace a graph once, then replay its values and adjoints over flat arrays.

A :class:`Program` is a recorded graph ordered once with ``networkx.topological_sort`` and
stored as flat lists (one slot per vertex: its op's rule, its arguments' positions, its
value). Calling it replays the forward values and, for a gradient, the backward adjoints
in that order, through the very same rule table an eager trace uses, with no Node, no
tape and no networkx per call::

    >>> import fnad
    >>> prog = fnad.compile(lambda x, y: x * y + x**2 + y.relu(), 2.0, 3.0)
    >>> prog(2.0, 3.0)
    13.0
    >>> prog.value_and_grad(x=1.0, y=-1.0)
    ValueAndGrad(value=0.0, grads={'x': 1.0, 'y': 1.0})

One concept, two sources: :func:`compile` traces a Python function at example arguments,
:func:`fnad.from_json` loads an exported graph; both give a Program that replays, exports
(``fnad.to_json(prog)``), renders and explains the same way.

Invariants this module keeps:

- **Identical to eager.** Values and gradients equal an eager trace + ``backward()`` at the
  same point bit for bit: the forward functions and partials are the rules' own, and the
  adjoints are accumulated in the same order (the reverse of the same networkx order). The
  loops inline a few common ops (:data:`SPECIALISED`), only while the program's rule for
  that op *is* the built-in one; the test suite checks each inlined path against its rule.
  Chains of adds over products (a neuron's weighted sum and its relu or tanh) are folded
  into one instruction where that keeps every adjoint's order (:func:`fuse`).
- **The structure is frozen at trace time.** Python control flow that depended on values
  (``if x > 0``, a loop bound) was decided while tracing: a replay evaluates the recorded
  graph, like ``jax.jit``. :meth:`Program.check` compares a replay with a fresh eager
  trace at given points and names the first vertex that differs
  (:mod:`fnad.compiled.checking`).
- **Strict mode as eager.** Under :func:`fnad.strict`, a replay judges what eager judges
  (values, and the adjoints of vertices that depend on an input; never the inner terms of
  a partial); when it meets nan or ±inf it re-runs the point eagerly, so it raises exactly
  when eager does, with exactly the eager error (:mod:`fnad.compiled.strict`).
- **No code generation.** A program is data run by one interpreter loop; nothing is
  ``exec``'d, so programs from untrusted files are safe to replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, SupportsFloat, cast, overload

from fnad._internal import (
    describe,
    name_of,
    printable,
)
from fnad.compiled.arguments import bind_point, bind_tangents, check_nodes
from fnad.compiled.compiler import compile_table
from fnad.compiled.scalar import (
    backward,
    forward,
    push_tangents,
)
from fnad.compiled.strict import judged_backward, judged_forward
from fnad.engine import Node, Operand, Tape, is_strict, to_float
from fnad.engine.rules import RuleTable
from fnad.engine.table import GraphTable, record
from fnad.engine.tracing import check_output, parameter_names
from fnad.errors import FnadError, ReplayInputError, TransformError

if TYPE_CHECKING:
    from fnad.compiled.batch import BatchResult

__all__ = [
    "Evaluation",
    "Program",
    "ProgramMismatchError",
    "ValueAndGrad",
    "compile",
]


_SHOWN_INPUTS = 5
"""How many input names a Program's repr lists before "… N more"."""


class ProgramMismatchError(FnadError, ValueError):
    """:meth:`Program.check`: an eager trace at a point differs from the compiled program."""


class ValueAndGrad(NamedTuple):
    """What :meth:`Program.value_and_grad` returns: the value and ``{input name: gradient}``."""

    value: float
    grads: dict[str, float]

    def __str__(self) -> str:
        lines = [f"value = {self.value!r}"]
        # Input names can be labels from a file: escaped, so none can forge a line or send
        # the terminal an escape sequence.
        lines.extend(f"∂/∂{printable(name)} = {grad!r}" for name, grad in self.grads.items())
        return "\n".join(lines)


class Evaluation(NamedTuple):
    """What :meth:`Program.evaluate` returns, in the program's input order."""

    value: float
    """The output's value."""
    gradient: tuple[float, ...]
    """∂output/∂input for each input (empty when not asked for)."""
    aux: tuple[float, ...]
    """The values of the auxiliary vertices (``has_aux``), e.g. a network's scores."""


# --------------------------------------------------------------------------- Program


class Program:
    """A recorded graph, compiled: replay it at new inputs through the rule table.

    Build one with :func:`compile` (from a function), :func:`fnad.from_json` /
    :func:`fnad.from_graphml` (from a file) or :meth:`from_nodes` (from a traced output).
    Inputs are named by :attr:`input_names`; pass them by position or by name. Inputs left
    out of a call keep their stored values (:attr:`inputs`).

    >>> import fnad
    >>> prog = fnad.compile(lambda x: (x * x).tanh(), 0.5)
    >>> prog
    Program(3 vertices, inputs (x), output op 'tanh')
    >>> round(prog(0.1), 6), [round(v, 6) for v in prog.grad(0.1)]
    (0.01, [0.19998])
    """

    __slots__ = (
        "_aux",
        "_batch_plan",  # fnad.compiled.batch's arrays for this program, made on first use
        "_extra",
        "_function",
        "_graph",
        "_has_aux",
        "_inputs",
        "_lost_function",  # why an unpickled program has no _function (fnad.compiled.pickling)
        "_main",
        "_names",
        "_ops",
        "_output",
        "_reached",
        "_table",
        "_unjudged",
        "_values",
    )

    def __init__(self, table: GraphTable, rules: RuleTable | None = None) -> None:
        """Use :meth:`from_table`, :meth:`from_nodes` or :func:`compile`."""
        output = table.output
        self._graph = table
        self._values = table.values
        self._ops = table.ops
        self._output = output
        self._inputs = list(table.inputs)
        self._reached = [k <= output for k in self._inputs]  # 0 .. output: its ancestors
        self._names = tuple(table.names)
        self._aux = tuple(table.aux)
        self._table = table.rule_table() if rules is None else rules
        self._function: Callable[..., Any] | None = None
        self._has_aux = False
        self._lost_function = ""
        self._main, self._extra, self._unjudged = compile_table(table)

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_table(cls, table: GraphTable) -> Program:
        """Compile a :class:`~fnad.engine.table.GraphTable` (from a tape or a file).

        >>> import fnad
        >>> from fnad.engine.table import GraphTable
        >>> x = fnad.Node(3.0, label="x")
        >>> Program.from_table(GraphTable.of(x * x, [x])).value_and_grad(x=2.0)
        ValueAndGrad(value=4.0, grads={'x': 4.0})
        """
        return cls(table)

    @classmethod
    def from_nodes(
        cls,
        output: Node,
        inputs: Sequence[Node],
        *,
        aux: Sequence[Node] = (),
        names: Sequence[str] | None = None,
    ) -> Program:
        """Compile the graph of ``output`` with ``inputs`` (leaves on its tape) as inputs.

        The order is ``networkx.topological_sort`` of the output's ancestors, as
        ``output.backward()`` uses it; inputs and ``aux`` nodes outside them are kept as
        extra vertices. Names default to the inputs' labels, made unique as
        :func:`fnad.engine.table.input_names` does.

        >>> import fnad
        >>> with fnad.Tape():
        ...     x, y = fnad.Node(1.0, label="x"), fnad.Node(2.0, label="y")
        ...     z = x * y
        >>> Program.from_nodes(z, [x, y]).value_and_grad(x=3.0, y=4.0)
        ValueAndGrad(value=12.0, grads={'x': 4.0, 'y': 3.0})
        """
        check_nodes(output, inputs, aux, names)
        return cls(GraphTable.of(output, inputs, aux=aux, names=names), output.tape.rules)

    # -- what it is --------------------------------------------------------------------

    @property
    def input_names(self) -> tuple[str, ...]:
        """The names of the inputs, in the order positional arguments take them."""
        return self._names

    @property
    def inputs(self) -> dict[str, float]:
        """The stored input values (the example arguments, or the document's values)."""
        return {name: self._values[k] for name, k in zip(self._names, self._inputs, strict=True)}

    @property
    def value(self) -> float:
        """The output's stored value."""
        return self._values[self._output]

    @property
    def table(self) -> GraphTable:
        """The program's graph as a :class:`~fnad.engine.table.GraphTable` (its rules fixed)."""
        return self._graph

    @property
    def rules(self) -> RuleTable:
        """The rule table the program's ops were resolved in."""
        return self._table

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        op = self._ops[self._output] or "input"
        shown = self._names[:_SHOWN_INPUTS]
        names = ", ".join(map(printable, shown))  # labels from a file are escaped
        if len(self._names) > len(shown):
            names += f", … {len(self._names) - len(shown)} more"
        return f"Program({len(self._values)} vertices, inputs ({names}), output op {op!r})"

    # -- pickling (fnad.compiled.pickling: as its graph table, compiled again on load) ---

    def __reduce__(self) -> tuple[Callable[..., Program], tuple[Any, ...]]:
        from fnad.compiled.pickling import reduce_program

        return reduce_program(self)

    def __copy__(self) -> Program:
        return self  # nothing about a program changes after it is compiled

    def __deepcopy__(self, memo: dict[int, object]) -> Program:
        from fnad.compiled.pickling import copy_program

        return copy_program(self, memo)

    # -- replay ------------------------------------------------------------------------

    def evaluate(self, point: Sequence[float], *, gradient: bool = True) -> Evaluation:
        """Replay at ``point`` (one float per input, in order): the fast path under
        :meth:`__call__` and :meth:`value_and_grad`, for loops that call it many times.

        >>> import fnad
        >>> fnad.compile(lambda a, b: a / b, 1.0, 2.0).evaluate([3.0, 4.0])
        Evaluation(value=0.75, gradient=(0.25, -0.1875), aux=())
        """
        if len(point) != len(self._inputs):
            raise ReplayInputError(
                f"evaluate() takes one value per input ({len(self._inputs)}: "
                f"{', '.join(self._names)}), got {len(point)}"
            )
        values = self._start(point)
        strict_mode = is_strict()
        if strict_mode:
            judged_forward(self, point, values)
        else:
            forward(self._main, values)
            if self._extra.steps:
                forward(self._extra, values)
        aux = tuple(values[k] for k in self._aux)
        if not gradient:
            return Evaluation(values[self._output], (), aux)
        adjoints = [-0.0] * len(values)  # -0.0: the IEEE additive identity, as in eager
        adjoints[self._output] = 1.0
        if strict_mode:
            judged_backward(self, point, values, adjoints)
        else:
            backward(self._main, values, adjoints)
        grads = tuple(
            adjoints[k] if reached else 0.0
            for k, reached in zip(self._inputs, self._reached, strict=True)
        )
        return Evaluation(values[self._output], grads, aux)

    def _start(self, point: Sequence[float]) -> list[float]:
        """The values a replay starts from: the stored ones, the point's at the inputs, and
        the 1.0 that SUM instructions multiply plain terms by, one past the vertices."""
        values = [*self._values, 1.0]
        for k, x in zip(self._inputs, point, strict=True):
            values[k] = x if type(x) is float else to_float(x, "evaluate")
        return values

    def __call__(self, /, *args: SupportsFloat, **inputs: SupportsFloat) -> float:
        """The output's value at the given inputs (by position or by name)."""
        return self.evaluate(bind_point(self, args, inputs), gradient=False).value

    def value_and_grad(self, /, *args: SupportsFloat, **inputs: SupportsFloat) -> ValueAndGrad:
        """The output's value and ``{input name: ∂output/∂input}`` at the given inputs.

        >>> import fnad
        >>> fnad.compile(lambda a, b: a - b, 5.0, 2.0).value_and_grad(1.0, b=10.0)
        ValueAndGrad(value=-9.0, grads={'a': 1.0, 'b': -1.0})
        """
        result = self.evaluate(bind_point(self, args, inputs))
        return ValueAndGrad(result.value, dict(zip(self._names, result.gradient, strict=True)))

    def grad(self, /, *args: SupportsFloat, **inputs: SupportsFloat) -> tuple[float, ...]:
        """∂output/∂input for every input, in :attr:`input_names` order."""
        return self.evaluate(bind_point(self, args, inputs)).gradient

    def sweep(
        self, points: Iterable[Sequence[SupportsFloat] | Mapping[str, SupportsFloat]]
    ) -> list[ValueAndGrad]:
        """:meth:`value_and_grad` at many points (each a sequence or a mapping of inputs),
        reusing the one compiled order. Every point is checked before any is evaluated.

        >>> import fnad
        >>> prog = fnad.compile(lambda x: x * x, 0.0)
        >>> [r.grads["x"] for r in prog.sweep([[1.0], [2.0], {"x": 3.0}])]
        [2.0, 4.0, 6.0]
        """
        checked = [
            bind_point(self, (), p) if isinstance(p, Mapping) else bind_point(self, tuple(p), {})
            for p in points
        ]
        results = []
        for point in checked:
            result = self.evaluate(point)
            grads = dict(zip(self._names, result.gradient, strict=True))
            results.append(ValueAndGrad(result.value, grads))
        return results

    def batch(self, X: object, *, gradient: bool = True, chunk: int | None = None) -> BatchResult:
        """The program at N points at once, over NumPy arrays (``pip install 'fnad[batch]'``).

        ``X`` is an ``(N, k)`` array (or list of rows) in :attr:`input_names` order, or
        ``{input name: 1-D array}`` (inputs left out keep their stored values). Returns a
        :class:`~fnad.compiled.batch.BatchResult`: ``values`` ``(N,)``, ``gradient``
        ``(N, k)`` (None for ``gradient=False``), ``aux`` ``(N, a)``. Points run ``chunk``
        at a time (default: 16 MiB per matrix; see docs/batch.md), each instruction one
        NumPy operation over the chunk, with the results of :meth:`evaluate`.

        >>> import fnad
        >>> prog = fnad.compile(lambda x, y: x * y + y.relu(), 0.0, 0.0)
        >>> result = prog.batch({"x": [1.0, 2.0, 3.0], "y": [-1.0, 0.5, 2.0]})
        >>> result.values, result.gradient[:, 0]
        (array([-1. ,  1.5,  8. ]), array([-1. ,  0.5,  2. ]))
        """
        from fnad.compiled.batch import run_batch  # imports NumPy: not at `import fnad`

        return run_batch(self, X, gradient=gradient, chunk=chunk)

    def jvp(
        self, primals: Sequence[SupportsFloat], tangents: Sequence[SupportsFloat]
    ) -> tuple[float, float]:
        """Forward mode: the value and the directional derivative along ``tangents``
        (one per input), pushed forward with the rules' partials as :func:`fnad.jvp` does.

        >>> import fnad
        >>> fnad.compile(lambda x, y: x * y, 0.0, 0.0).jvp((2.0, 3.0), (1.0, 0.0))
        (6.0, 3.0)
        """
        point = bind_point(self, tuple(primals), {})
        seeds = bind_tangents(point, tangents)
        values = self._start(point)
        # Every vertex, unfolded: the tangents below read the values of a sum's terms.
        judged_forward(self, point, values, unfolded=True)
        tangent: dict[int, float] = {}
        for k, seed in zip(self._inputs, seeds, strict=True):
            tangent[k] = tangent[k] + seed if k in tangent else seed
        push_tangents(self._main, self._ops, self._graph.labels, values, tangent)
        return values[self._output], tangent.get(self._output, 0.0)

    # -- back to a graph ---------------------------------------------------------------

    def trace(self, /, **inputs: SupportsFloat) -> tuple[Node, dict[str, Node]]:
        """Rebuild the graph on a fresh tape; return the output node and the input nodes.

        >>> import fnad
        >>> z, leaves = fnad.compile(lambda x: x * x, 3.0).trace(x=4.0)
        >>> z.data, z.backward()[leaves["x"]]
        (16.0, 8.0)
        """
        point = bind_point(self, (), inputs)
        nodes = record(self._graph, at=dict(zip(self._inputs, point, strict=True)))
        names = dict(zip(self._inputs, self._names, strict=True))
        output = nodes[self._output]
        assert isinstance(output, Node)  # record() without bind= gives Nodes only
        return output, {names[k]: cast(Node, nodes[k]) for k in self._inputs}

    def as_node(self) -> Node:
        """The program's output traced at its stored inputs, on a fresh tape.

        The exporters, pictures and summaries do not need it (they read :attr:`table`); it is
        for what works on Nodes, such as ``fnad.explain(prog.as_node(), ...)``.
        """
        return self.trace()[0]

    # -- checking a compiled function --------------------------------------------------

    def check(self, /, *args: SupportsFloat, **inputs: SupportsFloat) -> None:
        """Trace the compiled function eagerly at a point and compare it with the program.

        Raises :class:`ProgramMismatchError` naming the first vertex where the eager graph
        differs (Python control flow on values took another branch) or, with the same
        graph, the value or gradient that differs. Only for programs made by :func:`compile`.

        >>> import fnad
        >>> prog = fnad.compile(lambda x: x * x if x.data > 0 else -x, 2.0)
        >>> prog.check(3.0)
        >>> prog.check(-1.0)
        Traceback (most recent call last):
        ...
        fnad.compiled.program.ProgramMismatchError: the program compiled from <lambda> no longer matches it at this point: vertex 1 is op 'neg' in the eager trace but 'mul' in the program. ...
        """
        from fnad.compiled.checking import check_program  # checking builds on this module

        check_program(self, args, inputs)


# --------------------------------------------------------------------------- compile


@overload
def compile(  # noqa: A001 - fnad.compile, like torch.compile; Python's own is untouched
    f: Callable[..., Operand], /, *example_args: SupportsFloat, has_aux: Literal[False] = False
) -> Program: ...
@overload
def compile(  # noqa: A001
    f: Callable[..., tuple[Operand, Sequence[Node]]],
    /,
    *example_args: SupportsFloat,
    has_aux: Literal[True],
) -> Program: ...
@overload
def compile(  # noqa: A001
    f: Callable[..., Any], /, *example_args: SupportsFloat, has_aux: bool
) -> Program: ...
def compile(  # noqa: A001
    f: Callable[..., Any], /, *example_args: SupportsFloat, has_aux: bool = False
) -> Program:
    """Trace ``f`` once at ``example_args`` and compile it to a :class:`Program`.

    ``f`` takes one Node per argument and returns a scalar (a Node or a number); with
    ``has_aux=True`` it returns ``(scalar, aux)`` where ``aux`` is a sequence of Nodes
    whose values :meth:`Program.evaluate` also reports. The arguments are the program's
    inputs, named after ``f``'s parameters. The trace happens on a private tape, closed
    before this returns.

    Control flow on values is fixed at trace time, as with ``jax.jit``: the program
    computes what ``f`` computed at ``example_args``. Use :meth:`Program.check` to test
    a point.

    >>> import fnad
    >>> prog = fnad.compile(lambda x, y: x * y + x**2 + y.relu(), 2.0, 3.0)
    >>> prog.value_and_grad(2.0, 3.0)
    ValueAndGrad(value=13.0, grads={'x': 7.0, 'y': 3.0})
    """
    if not callable(f):
        raise TransformError(
            f"fnad.compile: the first argument must be a function, got {describe(f)}"
        )
    names = parameter_names(f, len(example_args))
    values = [to_float(v, "fnad.compile", i) for i, v in enumerate(example_args, 1)]
    with Tape() as tape:
        leaves = [Node(v, label=name) for v, name in zip(values, names, strict=True)]
        result = f(*leaves)
    try:
        aux_nodes: list[Node] = []
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise TransformError(
                    f"fnad.compile(has_aux=True): {name_of(f)} returned {describe(result)}; "
                    "return a pair (scalar, aux) where aux is a sequence of Nodes"
                )
            result, aux = result
            for item in aux:
                if not isinstance(item, Node) or item.tape is not tape:
                    raise TransformError(
                        f"fnad.compile: an aux value of {name_of(f)} is {describe(item)}; "
                        "aux holds Nodes computed from the function's arguments"
                    )
                aux_nodes.append(item)
        out = check_output("compile", f, tape, result)
        if not isinstance(out, Node):
            with tape:
                out = tape.constant(out)
        program = Program.from_nodes(out, leaves, aux=aux_nodes, names=names)
    finally:
        tape.close()
    program._function = f
    program._has_aux = has_aux
    return program
