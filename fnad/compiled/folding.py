"""Folding: chains of adds over products become one ``SUM`` instruction, bit for bit.

A neuron's ``b + w₁·x₁ + …`` (and the relu or tanh that is its one use) replays as one
instruction. A fold is kept only where it cannot change the order in which additions reach
any adjoint slot (:func:`out_of_order`), so the replay stays identical to eager; see
docs/compile.md.
"""

from __future__ import annotations

from collections.abc import (
    Callable,
    Mapping,
    Sequence,
)
from typing import NamedTuple

from fnad.compiled.instructions import (
    ADD,
    B_ADD,
    B_ADD_A,
    B_MUL,
    B_MUL_A,
    B_SUM,
    B_SUM_RELU,
    B_SUM_TANH,
    MUL,
    RELU,
    SUM,
    SUM_RELU,
    SUM_TANH,
    TANH,
    Instructions,
    Sum,
)

__all__ = [
    "fuse",
    "out_of_order",
]


class Chain(NamedTuple):
    """A chain :func:`fuse` folds: the steps it replaces, the instruction that replaces
    them (at the place of the sum's step), its terms, and its adjoint additions in the
    order it makes them, as ``(rank in the unfused reverse pass, target slot)``."""

    members: list[int]
    head: tuple[int, int, int, int, int]
    sum: Sum
    additions: list[tuple[int, int]]


def fuse(block: Instructions, uses: Sequence[int], users: Sequence[int], kept: set[int]) -> None:
    """Fold each chain of adds over products (a neuron's ``b + w₁·x₁ + w₂·x₂ + …``, a loss
    summed over points), with the relu or tanh that is its one use, into one instruction:
    the loops then run a tight loop over its terms instead of a dispatch per vertex.

    It is exact, not a reassociation: the sum is still added left to right over the same
    products. A folded vertex has one use (``uses``; ``users`` names the vertex that
    uses it) and is not an output, aux or input (``kept``); so its adjoint in eager is
    ``-0.0 + g`` = ``g``, the sum's own adjoint, and its argument gets ``g · factor``
    (``factor`` is the other factor, or 1.0 for a plain term: ``g · 1.0`` is ``g``).
    What could change is the order in which adjoints reach a slot, as they now arrive at
    the sum's place in the reverse order; a fold is kept only if every slot still
    receives its adjoints in eager's order (:func:`out_of_order`), so the gradients
    agree bit for bit."""
    folding = Folding(block, uses, users, kept)
    chains = folding.chains()
    folded = {m for chain in chains.values() for m in chain.members}
    for _ in range(8):
        late = out_of_order(block, chains, folded, folding.rank)
        if not late:
            break
        for f in late:
            folded.difference_update(chains.pop(f).members)
    else:
        return  # keep the unfused program rather than search further
    if chains:
        block.fused = [
            chains[f].head if f in chains else step
            for f, step in enumerate(block.steps)
            if f in chains or f not in folded
        ]
        block.sums = {chain.head[2]: chain.sum for chain in chains.values()}


class Folding:
    """The chains of one block, as :func:`fuse` finds them."""

    def __init__(
        self, block: Instructions, uses: Sequence[int], users: Sequence[int], kept: set[int]
    ) -> None:
        self.block, self.steps, self.uses, self.users = block, block.steps, uses, users
        # The steps whose vertex can fold into its one use (as an add or a product term),
        # and the relu and tanh steps (which can take a sum as their one argument).
        self.inner = {
            step[2]: f
            for f, step in enumerate(self.steps)
            if (step[0] is ADD or step[0] is MUL) and uses[step[2]] == 1 and step[2] not in kept
        }
        self.activations = {
            step[2]: f for f, step in enumerate(self.steps) if step[0] is RELU or step[0] is TANH
        }
        self.kept = kept
        self.one = len(uses)  # the slot of the 1.0 plain terms are multiplied by (_start)
        self.width = 1 + max(map(len, block.nary.values()), default=2)
        self.top = len(self.steps) - 1

    def rank(self, f: int, n: int) -> int:
        """When the unfused reverse pass makes step ``f``'s ``n``-th adjoint addition."""
        return (self.top - f) * self.width + n

    def chains(self) -> dict[int, Chain]:
        """Every chain, by the step of its sum, found from the output backwards."""
        chains: dict[int, Chain] = {}
        taken: set[int] = set()
        for f in range(self.top, -1, -1):
            if f not in taken and self.steps[f][0] is ADD:
                chain = self.chain(f)
                if chain is not None:
                    chains[f] = chain
                    taken.update(chain.members)
        return chains

    def chain(self, f: int) -> Chain | None:
        """The chain whose sum step ``f`` computes, or None if nothing folds into it."""
        steps, inner, one, top, width = self.steps, self.inner, self.one, self.top, self.width
        adds = [f]  # from the sum down
        while True:
            _, _, _, a, b = steps[adds[-1]]
            deeper = inner.get(a)
            if deeper is None or steps[deeper][0] is not ADD:
                deeper = inner.get(b)
                if deeper is None or steps[deeper][0] is not ADD:
                    break
            adds.append(deeper)
        sums = {steps[m][2] for m in adds}
        terms: list[tuple[int, int]] = []
        products: list[int] = []
        singles: list[tuple[int, int, int]] = []  # (rank, target, factor)
        for m in reversed(adds):  # the deepest add first: the forward order of the terms
            _, bcode, _, a, b = steps[m]
            for n, term in enumerate((a, b)):
                if term in sums:
                    continue
                p = inner.get(term)
                if p is not None and steps[p][0] is MUL:
                    products.append(p)
                    terms.append((steps[p][3], steps[p][4]))
                    continue
                terms.append((term, one))
                # A plain term gets the add step's addition, if it has one: both arguments
                # for B_ADD, else only the first (B_ADD_A) or the second (B_ADD_B).
                if bcode is B_ADD:
                    singles.append(((top - m) * width + n, term, one))
                elif n == (0 if bcode is B_ADD_A else 1):
                    singles.append(((top - m) * width, term, one))
        if len(adds) == 1 and not products:
            return None  # a lone add of two plain terms
        pairs: list[tuple[int, int, int]] = []  # (rank, x, y): x gets g·y, then y gets g·x
        for p in products:
            _, bcode, _, x, y = steps[p]
            r = (top - p) * width
            if bcode is B_MUL:
                pairs.append((r, x, y))
            else:
                singles.append((r, x, y) if bcode is B_MUL_A else (r, y, x))
        if {t for _, t, _ in singles} & {s for _, x, y in pairs for s in (x, y)}:
            # A slot both ways: one list keeps its additions in order.
            singles.extend(a for r, x, y in pairs for a in ((r, x, y), (r + 1, y, x)))
            pairs = []
        pairs.sort()
        singles.sort()
        members = adds + products
        head = self.activation(f, members)
        additions = [a for r, x, y in pairs for a in ((r, x), (r + 1, y))]
        additions.extend((r, t) for r, t, _ in singles)
        return Chain(
            members,
            head,
            Sum(
                tuple(terms),
                tuple((x, y) for _, x, y in pairs),
                tuple((t, c) for _, t, c in singles),
            ),
            additions,
        )

    def activation(self, f: int, members: list[int]) -> tuple[int, int, int, int, int]:
        """The chain's instruction: with the relu or tanh that is the sum's one use, if
        any (added to ``members``); its adjoint addition goes to the sum alone."""
        total = self.steps[f][2]
        after = self.activations.get(self.users[total])
        if after is None or self.uses[total] != 1 or total in self.kept:
            return (SUM, B_SUM, total, total, total)
        members.append(after)
        fcode, _, out = self.steps[after][:3]
        if fcode is RELU:
            return (SUM_RELU, B_SUM_RELU, out, total, total)
        return (SUM_TANH, B_SUM_TANH, out, total, total)


def out_of_order(
    block: Instructions,
    chains: Mapping[int, Chain],
    folded: set[int],
    rank: Callable[[int, int], int],
) -> set[int]:
    """The chains that would add to some slot out of the unfused reverse pass's order."""
    last: dict[int, tuple[int, int]] = {}  # slot -> (rank of its latest addition, chain)
    late: set[int] = set()
    for f in range(len(block.steps) - 1, -1, -1):
        chain = chains.get(f)
        owner = f
        if chain is not None:
            additions = chain.additions
        elif f in folded:
            continue
        else:
            additions = [(rank(f, n), t) for n, t in enumerate(block.targets(block.steps[f]))]
            owner = -1  # an unfused step: already in eager's order
        for r, target in additions:
            before = last.get(target)
            if before is not None and before[0] > r:
                # A chain makes its additions at its sum's place, never later than the
                # unfused steps would: the one that came too early is a chain (the
                # earlier one, or this one if it reordered its own): unfold it.
                late.add(before[1])
            last[target] = (r, owner)
    return late
