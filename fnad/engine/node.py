"""Node: an immutable scalar value, recorded on a tape with the op that produced it.

Invariants:

- **Identity.** A Node is an immutable value that hashes and compares by identity: two
  ``Node(2.0)`` are two vertices of the tape. Every attribute is read-only, ``grad`` too:
  it reads the tape's latest ``backward()``. Ordering comparisons compare values and
  record nothing.
- **DAG by construction.** A node's ``inputs`` exist before it does, so no tape can hold a
  cycle; ``inputs`` keeps the argument order (``x - x`` has ``inputs == (x, x)``).
- **Written once.** Only the tape (:mod:`fnad.engine.recording`) writes a Node's slots,
  once, when it records the node; after that nothing does.
- **Nothing recursive.** ``repr`` never walks the graph; pickling a node pickles its whole
  tape once, as flat columns.

Dependencies inside the engine: :mod:`fnad.engine.scope` (the current tape) and
:mod:`fnad.engine.methods` (the operators and op methods Node inherits). Every call from a
Node to its tape goes through the ``tape`` it holds.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from decimal import Decimal
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    NoReturn,
    SupportsFloat,
    TypeAlias,
    Union,
    overload,
)

import attrs

from fnad._internal import describe
from fnad.engine import scope
from fnad.engine.methods import NodeMethods
from fnad.engine.scope import current_tape
from fnad.errors import (
    ImmutableError,
    MissingAttributeError,
    OperandTypeError,
    OperandValueError,
)

if TYPE_CHECKING:
    from fnad.engine.backward import Gradients
    from fnad.engine.tape import Tape

__all__ = [
    "CONST",
    "DisplayHook",
    "Node",
    "Operand",
    "set_display_hook",
    "to_float",
]

Operand: TypeAlias = Union["Node", SupportsFloat]
"""What an op accepts: a Node or a real number (int, float, Fraction, Decimal, NumPy scalar)."""

CONST = "const"
"""``Node.op`` of a number that an op wrapped into the graph (``2`` in ``x * 2``)."""

# --------------------------------------------------------------------------- operands


def to_float(value: object, op: str = "Node", position: int | None = None) -> float:
    """``value`` as a builtin float, or a clear error naming ``op`` and the argument.

    Accepts any real number: int, float, Fraction, Decimal, NumPy scalars. Rejects bool,
    complex, str, None and containers with :class:`~fnad.OperandTypeError`, and ints too
    large for a float with :class:`~fnad.OperandValueError`.

    >>> to_float(3), to_float(1.5)
    (3.0, 1.5)
    >>> to_float("2", "add", 2)
    Traceback (most recent call last):
    ...
    fnad.errors.OperandTypeError: add: argument 2 is '2' (str), not a real number; pass a float, an int or a fnad.Node (convert text with float(...) first)
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    where = f"{op}: argument {position}" if position is not None else f"{op}"
    if kind is bool or isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
        hint = ""
        if isinstance(value, str):
            hint = " (convert text with float(...) first)"
        elif isinstance(value, bool):
            hint = " (booleans are not numbers here; use 1.0 or 0.0)"
        elif isinstance(value, complex):
            hint = " (fnad is real-valued; pass value.real or abs(value))"
        raise OperandTypeError(
            f"{where} is {describe(value)}, not a real number; "
            f"pass a float, an int or a fnad.Node{hint}"
        )
    try:
        result = float(value)
    except OverflowError:
        result = math.inf  # too large: reported below, the same for every number type
    except Exception as error:  # a numbers.Real whose __float__ fails: name it, keep the cause
        raise OperandValueError(
            f"{where} is {describe(value)}, which has no float value "
            f"({type(error).__name__}: {error}); pass a finite real"
        ) from error
    if result - result and result == result and _finite_number(value):
        shown = (
            f"an int with {len(str(value).lstrip('-'))} digits"
            if isinstance(value, numbers.Integral)
            else describe(value)
        )
        raise OperandValueError(
            f"{where} is {shown}, too large for a float (max ~1.8e308); "
            "scale it down or pass float('inf') if that is what you mean"
        )
    return result


def _finite_number(value: object) -> bool:
    """Whether a number that converted to ±inf was itself finite (so it overflowed)."""
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, numbers.Rational):
        return True
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return True


# --------------------------------------------------------------------------- rich display

DisplayHook: TypeAlias = Callable[[object, Any, Any], "dict[str, Any] | None"]
"""``hook(obj, include, exclude)``: a Jupyter mime bundle for a Node or Gradients, or None."""

_display_hooks: list[DisplayHook] = []


def set_display_hook(hook: DisplayHook | None) -> None:
    """Install the function that shows Nodes and Gradients in Jupyter (None removes it).

    A Node draws its graph, which takes the renderer, and the renderer sits above the
    engine: so the engine only asks the hook, and :mod:`fnad.viz.display` installs it when fnad is imported.
    """
    _display_hooks[:] = [] if hook is None else [hook]


def rich_display(obj: object, include: Any, exclude: Any) -> dict[str, Any] | None:
    return _display_hooks[0](obj, include, exclude) if _display_hooks else None


# --------------------------------------------------------------------------- Node


@attrs.frozen(eq=False, init=False, repr=False)
class Node(NodeMethods):
    """A scalar value recorded on a :class:`Tape`, with the op that produced it.

    Its operators and op methods (``x * y``, ``x.tanh()``, ``np.tanh(x)``) come from
    :class:`~fnad.engine.methods.NodeMethods`; this class is what makes it a value.

    >>> x = Node(2.0, label="x")
    >>> y = Node(3.0, label="y")
    >>> z = x * y + x**2 + y.relu()
    >>> z.data
    13.0
    >>> _ = z.backward()
    >>> x.grad, y.grad
    (7.0, 3.0)
    """

    data: float
    """The value, always a builtin float."""
    op: str
    """The op that produced this node: ``""`` for a leaf, ``"const"`` for a wrapped number."""
    label: str
    """A name for humans and for export; ``""`` if none was given."""
    inputs: tuple[Node, ...]
    """The op's arguments, in order (``x - x`` has ``inputs == (x, x)``)."""
    tape: Tape
    """The tape this node is recorded on."""

    def __init__(self, data: SupportsFloat, label: str = "") -> None:
        """A leaf on the current tape (see :func:`~fnad.current_tape`)."""
        if isinstance(data, Node):
            raise OperandTypeError(
                f"Node() takes a real number, got a Node ({data!r}); use that node directly"
            )
        if not isinstance(label, str):
            raise OperandTypeError(f"Node(): label must be a str, got {describe(label)}")
        value = to_float(data, "Node")
        tape = current_tape()
        tape._leaf(self, value, label)
        if len(tape) >= scope.DEFAULT_TAPE_WARNING:
            scope.default_tape_grows(tape)

    # -- read-only views -------------------------------------------------------------

    @property
    def grad(self) -> float:
        """∂z/∂self for the output z of the tape's latest ``backward()`` (0.0 if none)."""
        return self.tape._grads.get(self, 0.0)

    @property
    def prev(self) -> frozenset[Node]:
        """The set of input nodes (micrograd's ``_prev``); see ``inputs`` for their order."""
        return frozenset(self.inputs)

    def __repr__(self) -> str:
        parts = [f"data={self.data!r}", f"grad={self.grad!r}"]
        if self.op:
            parts.append(f"op={self.op!r}")
        if self.label:
            parts.append(f"label={self.label!r}")
        return f"Node({', '.join(parts)})"

    def __reduce__(self) -> tuple[Callable[[Tape, int], Node], tuple[Tape, int]]:
        # Pickle the whole tape once (flat, no recursion) and this node's position on it.
        return _node_at, (self.tape, self.tape.position(self))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        """Jupyter's display: the graph as SVG (see :mod:`fnad.viz.display`)."""
        return rich_display(self, include, exclude)

    # -- comparisons: values, recorded nowhere (== stays identity) ----------------------

    def __lt__(self, other: Operand) -> bool:
        """``x < y`` compares the values, as PyTorch and JAX do; nothing is recorded."""
        return self.data < _compared(other, "<")

    def __le__(self, other: Operand) -> bool:
        return self.data <= _compared(other, "<=")

    def __gt__(self, other: Operand) -> bool:
        return self.data > _compared(other, ">")

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _compared(other, ">=")

    # -- habits from micrograd and PyTorch: an answer that names the fnad way ----------
    # Hidden from type checkers, so mypy still reports x.zero_grad() or float(x) as errors
    # (and a Node does not pass for a SupportsFloat); at run time they explain themselves.
    if not TYPE_CHECKING:

        def __float__(self):
            raise _not_a_number(self, "float() or math.*")

        def __int__(self):
            raise _not_a_number(self, "int()")

        def __round__(self, ndigits=None):
            raise _not_a_number(self, "round()")

    # -- naming --------------------------------------------------------------------------

    def with_label(self, label: str) -> Node:
        """This node under a name: a new vertex with the same op, inputs and value, and ``label``.

        A Node never changes, so a computed node is named the way a leaf is, where it is
        made: ``e = (a * b).with_label("e")`` (micrograd's ``e = a*b; e.label = "e"``).
        Nothing is recomputed; the copy is recorded on the same tape, and the exports,
        :func:`fnad.render` and :func:`fnad.explain` show its label. Use the returned node
        from then on: the unlabelled original stays on the tape, a vertex nothing depends
        on. (On a leaf it makes a new leaf, a variable of its own, with the same value.)

        >>> x, y = Node(2.0, label="x"), Node(3.0, label="y")
        >>> e = (x * y).with_label("e")
        >>> e.label, e.op, e.data, [a.label for a in e.inputs]
        ('e', 'mul', 6.0, ['x', 'y'])
        >>> (e + x).backward()[x]
        4.0
        """
        if not isinstance(label, str):
            raise OperandTypeError(f"with_label: label must be a str, got {describe(label)}")
        return self.tape._labelled(self, label)

    # -- backward ----------------------------------------------------------------------

    @overload
    def backward(self, *, create_graph: Literal[False] = False) -> Gradients[float]: ...
    @overload
    def backward(self, *, create_graph: Literal[True]) -> Gradients[Node]: ...
    @overload
    def backward(self, *, create_graph: bool) -> Gradients[float] | Gradients[Node]: ...
    def backward(self, *, create_graph: bool = False) -> Gradients[float] | Gradients[Node]:
        """Compute ∂self/∂v for every ancestor v and record them on the tape.

        Returns the gradients as an immutable mapping; afterwards ``v.grad`` reads them.
        A second call replaces the records, it never adds to them. With
        ``create_graph=True`` the gradients are Nodes recorded on the tape, so they can be
        differentiated again.

        >>> x = Node(3.0, label="x")
        >>> y = x * x * x
        >>> grads = y.backward()
        >>> grads[x], y.backward()[x], x.grad
        (27.0, 27.0, 27.0)
        >>> dydx = y.backward(create_graph=True)[x]
        >>> dydx.data, dydx.backward()[x]
        (27.0, 18.0)
        """
        if len(self.tape) >= scope.DEFAULT_TAPE_WARNING:
            scope.default_tape_grows(self.tape)
        return self.tape.backward(self, create_graph=create_graph)


def _compared(other: object, op: str) -> float:
    return other.data if type(other) is Node else to_float(other, op, 2)


def _not_a_number(node: Node, call: str) -> OperandTypeError:
    return OperandTypeError(
        f"{call} on {node!r}: a Node is not a float, and converting it would drop it from "
        "the graph. Read its value with x.data, or stay differentiable with fnad's functions: "
        "fnad.exp(x) (or x.exp()) instead of math.exp(x), and likewise fnad.log, fnad.sqrt, "
        "fnad.tanh, ..."
    )


class _Habit:
    """A name micrograd or PyTorch users reach for on a Node (``x.zero_grad``, ``x.item``):
    reading it raises :class:`MissingAttributeError` naming the fnad way.

    One descriptor per name, not ``Node.__getattr__``: a class with ``__getattr__`` loses
    CPython's fast attribute access for *every* attribute (``x.data``, ``x.tape`` on the
    recording and backward paths measured ~4x slower per read)."""

    def __init__(self, name: str, fix: str) -> None:
        self.name, self.fix = name, fix

    def __get__(self, node: object, owner: type | None = None) -> NoReturn:
        if node is None:
            raise AttributeError(f"type object 'Node' has no attribute {self.name!r}")
        raise MissingAttributeError(f"{node!r} has no {self.name}: {self.fix}")


_NODE_HABITS = {
    "zero_grad": (
        "fnad never accumulates gradients. Each backward() replaces the previous ones "
        "(x.grad reads the latest), so there is nothing to reset: call loss.backward() again"
    ),
    "_prev": "use x.prev (the set of inputs, micrograd's _prev) or x.inputs (in argument order)",
    "_op": "use x.op",
    "_backward": (
        "fnad keeps no closure per node; backward() applies the op's rule from the rule "
        "table (x.tape.rules[x.op]); call z.backward()"
    ),
    "item": "use x.data, the value as a builtin float",
}
for _name, _fix in _NODE_HABITS.items():
    setattr(Node, _name, _Habit(_name, _fix))  # hidden from mypy, so x.zero_grad() still fails it
del _name, _fix

_READ_ONLY = {
    "data": (
        "a Node is an immutable value. For a gradient step on a model, get a new model: "
        "model = model.step(net.gradient(loss.backward()), lr) (fnad.nn); for one value, make a "
        "new leaf: x = fnad.Node(x.data - lr * x.grad, label=x.label)"
    ),
    "grad": (
        "it is read from the tape's latest backward(), and every backward() replaces it "
        "(gradients never accumulate), so there is nothing to reset (no x.grad = 0, no "
        "zero_grad()): call loss.backward() again"
    ),
    "label": (
        'a node is named where it is made: a leaf by fnad.Node(2.0, label="w"), a computed '
        'node by taking its labelled copy, e = (a * b).with_label("e"), and using that'
    ),
}


def _refuse_assignment(node: Node, name: str, value: object = None) -> None:
    fix = _READ_ONLY.get(name)
    if fix is None and name in attrs.fields_dict(Node):
        fix = "a Node never changes once recorded; compute a new node instead (e.g. y = x * 2)"
    if fix is None:
        raise ImmutableError(
            f"{node!r} takes no attribute {name!r}: a Node is an immutable value. Keep extra "
            "information beside it, e.g. in a dict keyed by the node (nodes hash by identity)"
        )
    raise ImmutableError(f"{node!r}: Node.{name} is read-only: {fix}")


# attrs refuses a frozen class with its own __setattr__, so Node's is set afterwards: the
# same refusal as attrs' (a FrozenInstanceError), with a message that names the fix.
Node.__setattr__ = _refuse_assignment  # type: ignore[method-assign,assignment]
Node.__delattr__ = _refuse_assignment  # type: ignore[method-assign,assignment]


def _node_at(tape: Tape, position: int) -> Node:
    return tape._nodes_in_order()[position]
