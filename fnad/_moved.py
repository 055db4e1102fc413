"""The module paths of fnad's first, flat layout, kept working for this version.

``import fnad.flow`` or ``from fnad.reader import read_json`` still work, with a
:class:`DeprecationWarning` that names the new path. Each old path is a small proxy module
in ``sys.modules`` that forwards attribute reads to the module's new home, so nothing is
imported twice and the new module stays the one source of truth.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings

MOVED = {
    "fnad.core": "fnad.engine",
    "fnad.engine.core": "fnad.engine",
    "fnad.rules": "fnad.engine.rules",
    "fnad.ops": "fnad.engine.ops",
    "fnad.custom": "fnad.transforms.custom",
    "fnad.check": "fnad.transforms.check",
    "fnad.schema": "fnad.graph.schema",
    "fnad.export": "fnad.graph.writer",
    "fnad.reader": "fnad.graph.reader",
    "fnad.program": "fnad.compiled.program",
    "fnad.replay": "fnad.compiled.load",
    "fnad.render": "fnad.viz.render",
    "fnad.summary": "fnad.viz.summary",
    "fnad.explain": "fnad.viz.explain",
    "fnad.flow": "fnad.nn.flow",
    "fnad.datasets": "fnad.nn.datasets",
    "fnad.demo": "fnad.nn.demo",
    "fnad.parser": "fnad.cli.parser",
}
"""Old module path → new module path (the layout of docs/architecture.md)."""

PICKLED = {
    "_restore_tape": "fnad.engine.tape",
    "_node_at": "fnad.engine.node",
}
"""The private functions that pickles of tapes and nodes name, under ``fnad.core`` or
``fnad.engine.core`` if they were made before the engine was split: where they live now."""


class MovedModule(types.ModuleType):
    """Stands at an old module path; every attribute read warns and reads the new module."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(old, f"Moved to {new}; this path works with a DeprecationWarning.")
        self.__dict__["_new"] = new

    def __getattr__(self, name: str) -> object:
        new: str = self.__dict__["_new"]
        if name in PICKLED:
            new = PICKLED[name]
        if name.startswith("__"):  # import machinery and introspection probe dunders
            raise AttributeError(name)
        warnings.warn(
            f"{self.__name__} moved to {new} in fnad 0.2; import {name} from {new} "
            f"(or from fnad, where it is public) instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new), name)

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self.__dict__["_new"]))


def install() -> None:
    """Put a proxy at every old path that nothing has imported yet."""
    for old, new in MOVED.items():
        sys.modules.setdefault(old, MovedModule(old, new))
