"""fnad's hot paths against an older tree of fnad, side by side in one process.

    python benchmarks/against.py                  # 1013c0f (before the packages) vs the working tree
    python benchmarks/against.py REV              # REV vs the working tree
    python benchmarks/against.py REV REV2         # REV vs REV2, both taken from git
    python benchmarks/against.py --quick          # 4 repeats instead of 12
    python benchmarks/against.py --alone          # each tree alone in fresh processes instead
    python benchmarks/against.py --both           # one process, then alone
    python benchmarks/against.py --cpu            # CPU time of the process instead of wall time

The package ``fnad/`` of REV is extracted with ``git archive`` into a temporary directory as
``fnad_<sha>`` and its absolute imports are rewritten (``from fnad…``, ``import fnad…``, and
string literals that are module paths, such as ``for_type_by_name("fnad.nn", …)`` or the
table of moved modules), so the old and the current tree import side by side without the old
one ever being ``fnad``. The current tree is ``fnad`` from the repository this script sits in.

Measured for each tree, in rotating order within every repeat, medians over the repeats,
GC on at its default thresholds and then off (see docs/performance.md):

(a) micrograd's demo network (MLP 2-16-16-1 relu, 50 moons points, hinge + L2, as
    benchmarks/compare.py builds it): eager forward and backward, and the same step closing
    its tape (as fnad.nn.train_step does);
(b) that step as a compiled Program (benchmarks/compiled.py): one ``Program.evaluate``
    (forward + backward) and the compile time (trace + ``Program.from_nodes``);
(c) a 100k tanh chain: build and backward, per op;
(d) ``Program.from_nodes`` alone, on the network's freshly traced step;
(e) the pictures' and files' path: ``to_json`` of the step's loss, and ``summarize(loss,
    by="layer")`` (the document must be the same text in both trees).

Both trees must give bit-identical values and gradients (the eager loss and gradients, the
compiled replay's, and the chain's); the compiled replay must equal its tree's eager run. A
difference is printed and the exit status is 1. Only the standard library and the two trees
are needed (no micrograd, no torch).
"""

from __future__ import annotations

import argparse
import ast
import gc
import hashlib
import importlib
import io
import itertools
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REV = "1013c0f"
"""The last commit before the move into packages and the graph table (issue 18)."""

clock = time.perf_counter
"""What the sections time: wall time, or with --cpu the process's CPU time (time.process_time),
which a loaded machine's waits for a core do not inflate."""

SCHEMA_NAMES = frozenset({"fnad.graph", "fnad.summary"})
"""String literals shaped like module paths that are file-format names: never renamed."""

# ------------------------------------------------------------------ extracting a tree


class AgainstError(Exception):
    """A revision that cannot be extracted or imported side by side; the message says why."""


def git(*args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, check=False)
    except FileNotFoundError as error:
        raise AgainstError("git is not installed; against.py reads old trees with git") from error
    if done.returncode != 0:
        raise AgainstError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def resolve(rev: str) -> str:
    """The full commit id of ``rev``; an AgainstError if this clone does not have it."""
    try:
        return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except AgainstError as error:
        if "not installed" in str(error):
            raise
        raise AgainstError(
            f"no commit {rev!r} in {REPO} (a shallow clone? `git fetch --unshallow` brings "
            "the history)"
        ) from error


_FROM = re.compile(r"^(\s*(?:>>> |\.\.\. )?from\s+)fnad(?=[.\s])", re.MULTILINE)
_IMPORT = re.compile(
    r"^(\s*(?:>>> |\.\.\. )?import\s+)fnad((?:\.\w+)*)(\s+as\s+\w+)?[ \t]*$", re.MULTILINE
)
_MODULE_STRING = re.compile(r"""(?<![\w.])([fF]?)(["'])(fnad(?:\.(?:\w+|\{\w+\}))+)\2""")


def rewrite(source: str, name: str) -> str:
    """``source`` with its absolute ``fnad`` imports and module-path strings naming ``name``.

    ``import fnad.x`` binds ``fnad`` in the importing scope, so it becomes
    ``import name.x; import name as fnad``. String literals that are exactly a dotted path
    under ``fnad`` (``"fnad.nn"``, ``f"fnad.{name}"``) are module paths and are renamed,
    except the file formats' schema names (:data:`SCHEMA_NAMES`).
    """

    def module_import(match: re.Match[str]) -> str:
        head, path, alias = match.group(1), match.group(2), match.group(3)
        if alias:
            return f"{head}{name}{path}{alias}"
        if path:
            return f"{head}{name}{path}; import {name} as fnad"
        return f"{head}{name} as fnad"

    def module_string(match: re.Match[str]) -> str:
        prefix, quote, text = match.groups()
        if text in SCHEMA_NAMES:
            return match.group(0)
        return f"{prefix}{quote}{name}{text[len('fnad') :]}{quote}"

    source = _FROM.sub(lambda m: m.group(1) + name, source)
    source = _IMPORT.sub(module_import, source)
    return _MODULE_STRING.sub(module_string, source)


def imports_of_fnad(source: str) -> list[int]:
    """Lines of ``source`` whose import statements still import ``fnad`` itself."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(n == "fnad" or n.startswith("fnad.") for n in names):
            lines.append(node.lineno)
    return lines


def extract(commit: str, name: str, into: Path) -> Path:
    """Write the ``fnad`` package of ``commit`` to ``into/name``, renamed; returns the folder."""
    target = into / name
    data = git("archive", "--format=tar", commit, "fnad")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            relative = Path(member.name).relative_to("fnad")
            if ".." in relative.parts:
                raise AgainstError(f"{commit}: unexpected path {member.name!r} in the archive")
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            reader = archive.extractfile(member)
            assert reader is not None
            content = reader.read()
            if path.suffix == ".py":
                text = rewrite(content.decode("utf-8"), name)
                left = imports_of_fnad(text)
                if left:
                    raise AgainstError(
                        f"{commit}:fnad/{relative} line {left[0]}: an import of fnad that "
                        "against.py cannot rename; teach rewrite() this form"
                    )
                content = text.encode("utf-8")
            path.write_bytes(content)
    if not (target / "__init__.py").exists():
        raise AgainstError(f"{commit} has no fnad package")
    return target


# ------------------------------------------------------------------ one tree


@dataclass(frozen=True)
class Sizes:
    points: int
    chain: int
    repeats: int
    replays: int
    """Program.evaluate runs per repeat (their median is the repeat's figure)."""
    rounds: int
    """Fresh processes per tree in the alone protocol."""


SIZES = {
    "full": Sizes(points=50, chain=100_000, repeats=12, replays=5, rounds=2),
    "quick": Sizes(points=50, chain=100_000, repeats=4, replays=3, rounds=1),
    "tiny": Sizes(points=3, chain=300, repeats=2, replays=1, rounds=1),
}


def find(package: str, *places: str) -> Any:
    """The first of ``module:attribute`` places (relative to ``package``) that imports."""
    for place in places:
        module, _, attribute = place.partition(":")
        try:
            found = importlib.import_module(f"{package}.{module}" if module else package)
            return getattr(found, attribute)
        except (ImportError, AttributeError):
            continue
    raise AgainstError(f"{package} has none of {', '.join(places)}")


def mlp_loss(
    make: Callable[[float], Any],
    weights: list[list[tuple[list[float], float]]],
    points: Sequence[tuple[float, float]],
    labels: Sequence[int],
    alpha: float,
) -> tuple[Any, list[Any]]:
    """micrograd's demo loss, as benchmarks/compare.py writes it."""
    layers = [[([make(w) for w in ws], make(b)) for ws, b in layer] for layer in weights]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    scores = []
    for x0, x1 in points:
        activations: list[Any] = [make(x0), make(x1)]
        for depth, layer in enumerate(layers):
            last = depth == len(layers) - 1
            outputs = []
            for ws, b in layer:
                act = sum((w * a for w, a in zip(ws, activations, strict=True)), b)
                outputs.append(act if last else act.relu())
            activations = outputs
        scores.append(activations[0])
    losses = [(1 + -y * s).relu() for y, s in zip(labels, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in params)
    return data_loss + reg_loss, params


def bits(values: Sequence[float]) -> list[str]:
    return [float(v).hex() for v in values]


Timings = dict[str, float]
Values = dict[str, list[str]]


class Tree:
    """One imported fnad tree and the benchmark sections run on it."""

    def __init__(self, package: str, sizes: Sizes) -> None:
        self.module = importlib.import_module(package)
        self.sizes = sizes
        self.Node = self.module.Node
        self.Tape = self.module.Tape
        self.Program = self.module.Program
        moons = find(package, "nn.datasets:moons", "datasets:moons")
        settings = find(package, "nn.model:MOONS", "nn:MOONS")
        self.points, self.labels = moons(sizes.points, noise=0.1, seed=0)
        rng = random.Random(settings.seed)
        layers = (2, *settings.layers)
        self.weights = [
            [([rng.uniform(-1, 1) for _ in range(nin)], 0.0) for _ in range(nout)]
            for nin, nout in itertools.pairwise(layers)
        ]
        self.alpha = settings.alpha
        self.to_json = find(package, ":to_json")
        self.summarize = find(package, ":summarize", "viz.summary:summarize", "summary:summarize")
        self.flat = [p for layer in self.weights for ws, b in layer for p in (*ws, b)]

    def loss(self) -> tuple[Any, list[Any]]:
        return mlp_loss(self.Node, self.weights, self.points, self.labels, self.alpha)

    def eager(self) -> tuple[Timings, Values]:
        start = clock()
        with self.Tape():
            loss, params = self.loss()
            middle = clock()
            grads = loss.backward()
            end = clock()
            values = [loss.data, *(grads[p] for p in params)]
        return {"eager forward": middle - start, "eager backward": end - middle}, {
            "eager": bits(values),
            "inputs": bits([*self.flat, *itertools.chain(*self.points), *self.labels]),
        }

    def eager_closed(self) -> tuple[Timings, Values]:
        start = clock()
        with self.Tape() as tape:
            loss, params = self.loss()
            grads = loss.backward()
            values = [loss.data, *(grads[p] for p in params)]
        tape.close()
        return {"eager, tape closed": clock() - start}, {"eager": bits(values)}

    def compiled(self) -> tuple[Timings, Values]:
        start = clock()
        with self.Tape() as tape:
            loss, params = self.loss()
            traced = clock()
            program = self.Program.from_nodes(loss, params)
            built = clock()
        tape.close()
        replays = []
        for _ in range(self.sizes.replays):
            began = clock()
            result = program.evaluate(self.flat)
            replays.append(clock() - began)
        return {
            "replay": statistics.median(replays),
            "compile": built - start,
            "from_nodes": built - traced,
        }, {"compiled": bits([result.value, *result.gradient])}

    def chain(self) -> tuple[Timings, Values]:
        length = self.sizes.chain
        with self.Tape():
            start = clock()
            x = self.Node(0.5)
            y = x
            for _ in range(length):
                y = y.tanh()
            middle = clock()
            grads = y.backward()
            end = clock()
            values = [y.data, grads[x]]
        return {
            "chain build": (middle - start) / length,
            "chain backward": (end - middle) / length,
        }, {"chain": bits(values)}

    def export(self) -> tuple[Timings, Values]:
        with self.Tape() as tape:
            loss, _ = self.loss()
            start = clock()
            text = self.to_json(loss)
            middle = clock()
            self.summarize(loss, by="layer")
            end = clock()
        tape.close()
        digest = hashlib.sha256(text.encode()).hexdigest()
        return {"to_json": middle - start, "summarize": end - middle}, {"export": [digest]}

    def nodes(self) -> int:
        with self.Tape() as tape:
            self.loss()
            count = len(tape)
        tape.close()
        return count


SECTIONS: tuple[Callable[[Tree], tuple[Timings, Values]], ...] = (
    Tree.eager,
    Tree.eager_closed,
    Tree.compiled,
    Tree.chain,
    Tree.export,
)

Samples = dict[str, list[float]]


@contextmanager
def collector(enabled: bool) -> Iterator[None]:
    was = gc.isenabled()
    gc.collect()
    if enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


def measure(trees: Sequence[Tree], repeats: int, gc_on: bool) -> tuple[list[Samples], list[Values]]:
    """Every section on every tree, trees in rotating order within each section and repeat."""
    samples: list[Samples] = [{} for _ in trees]
    values: list[Values] = [{} for _ in trees]
    order = list(range(len(trees)))
    with collector(gc_on):
        for r in range(repeats):
            for section in SECTIONS:
                for k in order[r % len(order) :] + order[: r % len(order)]:
                    timings, found = section(trees[k])
                    for key, seconds in timings.items():
                        samples[k].setdefault(key, []).append(seconds)
                    for key, got in found.items():
                        if values[k].setdefault(key, got) != got:
                            raise AgainstError(f"{key} changed between repeats of one tree")
    return samples, values


# ------------------------------------------------------------------ reporting

ROWS = (
    ("(a) eager forward", "eager forward", 1e3, "ms"),
    ("(a) eager backward", "eager backward", 1e3, "ms"),
    ("(a) eager forward + backward", "eager total", 1e3, "ms"),
    ("(a) eager, tape closed", "eager, tape closed", 1e3, "ms"),
    ("(b) compiled replay (evaluate)", "replay", 1e3, "ms"),
    ("(b) compile (trace + from_nodes)", "compile", 1e3, "ms"),
    ("(c) tanh chain build", "chain build", 1e6, "µs/op"),
    ("(c) tanh chain backward", "chain backward", 1e6, "µs/op"),
    ("(c) tanh chain build + backward", "chain total", 1e6, "µs/op"),
    ("(d) Program.from_nodes", "from_nodes", 1e3, "ms"),
    ("(e) to_json of the step's loss", "to_json", 1e3, "ms"),
    ("(e) summarize by layer", "summarize", 1e3, "ms"),
)


def medians(samples: Samples) -> dict[str, float]:
    found = {key: statistics.median(runs) for key, runs in samples.items()}
    for total, parts in (
        ("eager total", ("eager forward", "eager backward")),
        ("chain total", ("chain build", "chain backward")),
    ):
        # the median of the per-repeat sums, not the sum of the medians
        found[total] = statistics.median(map(sum, zip(*(samples[p] for p in parts), strict=True)))
    return found


def table(title: str, labels: Sequence[str], runs: Sequence[Samples]) -> None:
    old, new = (medians(s) for s in runs)
    width = max(len(label) for label in labels) + 2
    print(f"\n{title}")
    print(f"    {'':34s}{labels[0]:>{width}s}{labels[1]:>{width}s}   new/old")
    for name, key, scale, unit in ROWS:
        a, b = old[key], new[key]
        print(
            f"    {name:34s}{f'{a * scale:.2f} {unit}':>{width}s}{f'{b * scale:.2f} {unit}':>{width}s}"
            f"   {b / a:6.3f}x"
        )


def compare_values(labels: Sequence[str], found: Sequence[Values]) -> list[str]:
    """What differs between the trees' values, and where a replay differs from its eager run."""
    problems = []
    old, new = found
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            a, b = old.get(key, []), new.get(key, [])
            where = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
            detail = (
                f"first at index {where}: {a[where]} vs {b[where]}"
                if where is not None
                else f"{len(a)} vs {len(b)} values"
            )
            problems.append(f"{key}: {labels[0]} and {labels[1]} differ ({detail})")
    for label, values in zip(labels, found, strict=True):
        if values.get("compiled") != values.get("eager"):
            problems.append(f"{label}: the compiled replay differs from the eager run")
    return problems


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cpus)"


# ------------------------------------------------------------------ the two protocols


@dataclass(frozen=True)
class Spec:
    label: str
    package: str
    path: str


def import_side_by_side(specs: Sequence[Spec], sizes: Sizes) -> list[Tree]:
    """Import the trees (extracted ones first), checking the old ones never import ``fnad``."""
    trees: dict[str, Tree] = {}
    for spec in sorted(specs, key=lambda s: s.package == "fnad"):
        sys.path.insert(0, spec.path)
        trees[spec.package] = Tree(spec.package, sizes)
        if spec.package != "fnad" and "fnad" in sys.modules:
            raise AgainstError(f"importing {spec.package} imported fnad: a rename was missed")
    return [trees[spec.package] for spec in specs]


def one_process(specs: Sequence[Spec], sizes: Sizes) -> list[str]:
    trees = import_side_by_side(specs, sizes)
    labels = [s.label for s in specs]
    for spec, tree in zip(specs, trees, strict=True):
        print(f"    {spec.label}: {tree.module.__file__}")
    print(
        f"    MLP step: {trees[0].nodes():,} nodes on {labels[0]}'s tape, {trees[1].nodes():,} on {labels[1]}'s"
    )
    gc.collect()
    gc.freeze()  # what the two imports left behind is neither tree's garbage
    problems: list[str] = []
    for gc_on in (True, False):
        samples, found = measure(trees, sizes.repeats, gc_on)
        table(
            f"one process, interleaved, GC {'on' if gc_on else 'off'}, median of {sizes.repeats} "
            f"({load()})",
            labels,
            samples,
        )
        problems = problems or compare_values(labels, found)
    return problems


def alone(specs: Sequence[Spec], mode: str, sizes: Sizes) -> list[str]:
    """Each tree in fresh processes (GC on), processes of the trees alternating."""
    samples: list[Samples] = [{} for _ in specs]
    found: list[Values] = [{} for _ in specs]
    for r in range(sizes.rounds):
        for k in range(len(specs)) if r % 2 == 0 else reversed(range(len(specs))):
            spec = specs[k]
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    spec.package,
                    "--path",
                    spec.path,
                    "--repeats",
                    str(sizes.repeats),
                    *([] if mode == "full" else [f"--{mode}"]),
                    *(["--cpu"] if clock is time.process_time else []),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise AgainstError(f"{spec.label} alone failed:\n{done.stderr}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            for key, runs in result["samples"].items():
                samples[k].setdefault(key, []).extend(runs)
            found[k] = result["values"]
    labels = [s.label for s in specs]
    table(
        f"each tree alone in its own process, GC on, median of {sizes.rounds} x "
        f"{sizes.repeats} ({load()})",
        labels,
        samples,
    )
    return compare_values(labels, found)


def worker(package: str, path: str, sizes: Sizes) -> None:
    sys.path.insert(0, path)
    tree = Tree(package, sizes)
    if package != "fnad" and "fnad" in sys.modules:
        raise AgainstError(f"importing {package} imported fnad: a rename was missed")
    gc.collect()
    gc.freeze()
    samples, values = measure([tree], sizes.repeats, gc_on=True)
    print(json.dumps({"samples": samples[0], "values": values[0]}))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("rev", nargs="?", default=DEFAULT_REV, help="the old tree (a git revision)")
    parser.add_argument(
        "rev2", nargs="?", default=None, help="the new tree (default: this working tree)"
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="4 repeats")
    size.add_argument("--tiny", action="store_true", help="a 3-point MLP, a 300-op chain, twice")
    protocol = parser.add_mutually_exclusive_group()
    protocol.add_argument("--alone", action="store_true", help="each tree in its own processes")
    protocol.add_argument("--both", action="store_true", help="one process, then alone")
    parser.add_argument(
        "--repeats", type=int, default=None, help="repeats, made even (default 12, --quick 4)"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="time CPU time of the process, not wall time"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    sizes = SIZES[mode]
    if args.repeats:
        # Even, in one process: the tree that runs second in a section collects the garbage
        # the first left (an unclosed tape is cyclic), so each tree must run first equally often.
        repeats = args.repeats if args.worker else args.repeats + args.repeats % 2
        sizes = Sizes(**{**sizes.__dict__, "repeats": repeats})
    if args.cpu:
        global clock
        clock = time.process_time
    try:
        if args.worker:
            worker(args.worker, args.path, sizes)
            return 0
        with tempfile.TemporaryDirectory(prefix="fnad-against-") as scratch:
            specs: list[Spec] = []
            for position, rev in enumerate((args.rev, args.rev2)):
                if rev is None:
                    specs.append(Spec("new (working tree)", "fnad", str(REPO)))
                    continue
                commit = resolve(rev)
                package = f"fnad_{commit[:7]}"
                if any(spec.package == package for spec in specs):
                    package += "_b"  # the same revision twice: two packages all the same
                folder = Path(scratch) / package
                folder.mkdir()
                extract(commit, package, folder)
                specs.append(
                    Spec(f"{'new' if position else 'old'} {commit[:7]}", package, str(folder))
                )
            print(
                f"python {platform.python_version()} on {platform.machine()}, "
                f"{mode} run, {'CPU' if args.cpu else 'wall'} time, "
                f"{specs[0].label} against {specs[1].label}; {load()}"
            )
            sys.stdout.flush()
            problems = []
            if not args.alone:
                problems += one_process(specs, sizes)
            if args.alone or args.both:
                problems += alone(specs, mode, sizes)
            print(f"\n{load()}")
    except AgainstError as error:
        print(f"against.py: {error}", file=sys.stderr)
        return 2
    if problems:
        print("\nVALUES DIFFER:\n  " + "\n  ".join(dict.fromkeys(problems)))
        return 1
    print(
        "\nvalues and gradients bit-identical between the trees (eager, compiled replay, chain),"
        " and the same JSON document"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
