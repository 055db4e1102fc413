"""How the vertices of a graph are grouped for a summary (:func:`fnad.summarize`).

The grouping gives some vertices a group of their own (for the label presets: the
labelled ones, e.g. a network's parameters). Every other vertex is placed by one rule,
applied in topological order, so the ops of a neuron join the neuron:

1. an op joins the group of its first argument that has a group of its own
   (``w * x`` joins ``w``'s neuron);
2. otherwise an op joins the group its arguments share (``relu(a)``, ``a + b`` with
   ``a`` and ``b`` in one neuron);
3. otherwise (arguments from different groups) it goes to the group ``"rest"``;
4. a leaf without a group is in ``"input"``, or ``"const"`` if it is a number an op
   wrapped.

>>> place([0, 1, 2, 3], {0: "L0"}, [(), (), (0, 1), (2,)].__getitem__, lambda v: "")
{0: 'L0', 1: 'input', 2: 'L0', 3: 'L0'}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import NamedTuple, TypeAlias, TypeVar, Union

import attrs

from fnad.engine import CONST
from fnad.errors import OperandTypeError
from fnad.graph.snapshot import Snapshot

__all__ = [
    "CONST_GROUP",
    "INPUT_GROUP",
    "PRESETS",
    "REST_GROUP",
    "GroupAssignment",
    "Grouping",
    "VertexInfo",
    "assign_groups",
    "place",
    "select_groups",
]

REST_GROUP = "rest"
"""The group of ops whose arguments come from different groups (rule 3)."""
INPUT_GROUP = "input"
"""The group of inputs (user leaves) the grouping gives no group."""
CONST_GROUP = "const"
"""The group of constants (numbers an op wrapped) the grouping gives no group."""


class VertexInfo(NamedTuple):
    """What a grouping function is shown of a vertex."""

    id: int
    """Its id in :func:`fnad.to_networkx` of the same output (or in the graph summarised)."""
    op: str
    """``""`` for an input, ``"const"`` for a wrapped number, else the op's name."""
    label: str
    data: float


Grouping: TypeAlias = Union[str, "re.Pattern[str]", Callable[[VertexInfo], "str | None"]]
"""How to group vertices: a preset name (see :data:`PRESETS`), a compiled label pattern, or a
function of a :class:`VertexInfo` returning a group name (None or ``""``: no group of its own).

A pattern gives a group to each labelled vertex whose label it matches (``re.match``): the
text of its first parenthesised group, or of the whole match if it has none.
"""

PRESETS = {
    "layer": re.compile(r"(L\d+)(?:\.|$)"),
    "neuron": re.compile(r"(L\d+\.N\d+)(?:\.|$)"),
    "op": None,
    "label": None,
}
"""The named groupings: ``"layer"`` and ``"neuron"`` read the :mod:`fnad.nn` labels
(``L1.N3.w0`` is in layer ``L1`` and neuron ``L1.N3``), ``"op"`` puts every vertex in the
group of its op (``input`` and ``const`` for leaves), ``"label"`` gives every labelled
vertex the group of its own label."""


# --------------------------------------------------------------------------- grouping


@attrs.frozen
class GroupAssignment:
    """The group of every vertex of a :class:`~fnad.graph.snapshot.Snapshot`.

    ``groups[i]`` is the group of vertex ``i``; ``own[i]`` says whether the grouping gave it
    that group itself (rather than the placement rules); ``names`` lists the groups in order
    of their first vertex.
    """

    groups: list[str]
    own: list[bool]
    names: list[str]
    by: str
    """A description of the grouping, e.g. ``"layer"`` or ``"function my_grouping"``."""


def _key_function(by: Grouping) -> tuple[Callable[[int, str, str, float], str | None], str]:
    if isinstance(by, str):
        if by not in PRESETS:
            raise OperandTypeError(
                f"summarize: unknown grouping {by!r}; use one of "
                f"{', '.join(repr(name) for name in PRESETS)}, a compiled pattern "
                "(re.compile(r'...')) or a function of a fnad.summary.VertexInfo"
            )
        if by == "op":
            return (lambda i, op, label, data: op or INPUT_GROUP), by
        if by == "label":
            return (lambda i, op, label, data: label or None), by
        pattern = PRESETS[by]
        assert pattern is not None
        return _pattern_key(pattern), by
    if isinstance(by, re.Pattern):
        if not isinstance(by.pattern, str):
            raise OperandTypeError(
                f"summarize: the pattern {by.pattern!r} is a bytes pattern; labels are str, "
                "compile a str pattern"
            )
        return _pattern_key(by), f"pattern {by.pattern!r}"
    if callable(by):
        function = by
        return (
            lambda i, op, label, data: function(VertexInfo(i, op, label, data))
        ), f"function {getattr(by, '__name__', type(by).__name__)}"
    raise OperandTypeError(
        f"summarize: by must be a preset name, a compiled pattern or a function, got "
        f"{type(by).__name__} ({by!r:.60}); e.g. by='layer'"
    )


def _pattern_key(pattern: re.Pattern[str]) -> Callable[[int, str, str, float], str | None]:
    group = 1 if pattern.groups else 0

    def key(i: int, op: str, label: str, data: float) -> str | None:
        if not label:
            return None
        match = pattern.match(label)
        return match.group(group) if match is not None else None

    return key


def assign_groups(
    snap: Snapshot, by: Grouping, ids: Sequence[int] | None = None
) -> GroupAssignment:
    """Group every vertex of ``snap``: by ``by`` where it gives a group, else by the
    placement rules of this module's docstring (:func:`place`). ``ids``: the vertex ids the
    grouping is shown (default ``0 .. n-1``, those of :func:`fnad.to_networkx`)."""
    key, description = _key_function(by)
    own: dict[int, str] = {}
    for i, (vertex, op, label, value) in enumerate(
        zip(
            range(len(snap)) if ids is None else ids,
            snap.ops,
            snap.labels,
            snap.values,
            strict=True,
        )
    ):
        name = key(vertex, op, label, value)
        if name is not None and not isinstance(name, str):
            raise OperandTypeError(
                f"summarize: the grouping {description} returned {name!r} "
                f"({type(name).__name__}) for vertex {vertex} (op {op!r}, label "
                f"{label!r}); return a group name (str), or None for no group of its own"
            )
        if name:
            own[i] = name
    placed = place(range(len(snap)), own, snap.arguments, snap.ops.__getitem__)
    groups = list(placed.values())
    return GroupAssignment(
        groups, [i in own for i in range(len(groups))], list(dict.fromkeys(groups)), description
    )


V = TypeVar("V", bound=Hashable)


def place(
    vertices: Iterable[V],
    own: Mapping[V, str],
    arguments: Callable[[V], Sequence[V]],
    op: Callable[[V], str],
) -> dict[V, str]:
    """The group of every vertex, given the groups ``own`` that a grouping gave some of them.

    ``vertices`` come in a topological order; ``arguments(v)`` lists v's arguments in order,
    ``op(v)`` is its op. The others are placed by the rules of this module's docstring:
    the own group of the first argument that has one, else the group all arguments share,
    else ``"rest"``; a leaf without a group is ``"const"`` or ``"input"``. One pass, any
    hashable vertices (ids, or the Nodes of a tape).

    >>> place([0, 1, 2, 3], {0: "A"}, [(), (), (0, 1), (1,)].__getitem__, lambda v: "")
    {0: 'A', 1: 'input', 2: 'A', 3: 'input'}
    """
    groups: dict[V, str] = {}
    for v in vertices:
        name = own.get(v)
        if name is None:
            args = arguments(v)
            if not args:
                name = CONST_GROUP if op(v) == CONST else INPUT_GROUP
            else:
                for a in args:
                    name = own.get(a)
                    if name is not None:
                        break
                else:
                    name = groups[args[0]]
                    for a in args[1:]:
                        if groups[a] != name:
                            name = REST_GROUP
                            break
        groups[v] = name
    return groups


def select_groups(names: Sequence[str], selector: str, what: str = "group") -> tuple[str, ...]:
    """The group names ``selector`` picks: the one equal to it, or else every name that
    starts with ``selector + "."`` (``"L0"`` picks ``L0.N0`` … ``L0.N15``).

    >>> select_groups(["L0.N0", "L0.N1", "L1.N0", "rest"], "L0")
    ('L0.N0', 'L0.N1')
    """
    if selector in names:
        return (selector,)
    chosen = tuple(name for name in names if name.startswith(selector + "."))
    if not chosen:
        shown = ", ".join(repr(name) for name in list(names)[:12])
        more = f" and {len(names) - 12:,} more" if len(names) > 12 else ""
        raise OperandTypeError(
            f"{what} {selector!r} is not a group of this graph, nor a prefix of one; the "
            f"groups are {shown}{more}"
        )
    return chosen
