"""``--plugin MODULE``: import a module of the user's (or run their ``.py`` file) that registers ops.

A plugin runs with the user's rights, like any Python module they import: that is their
explicit choice. A module is imported once (never reloaded); a file runs once per rule table;
fnad's own modules are refused, and a plugin that fails to import is one
:class:`~fnad.FnadError` naming it.

>>> load_plugin("fnad.engine.ops")
Traceback (most recent call last):
...
fnad.errors.FnadError: --plugin 'fnad.engine.ops' is one of fnad's own modules, not a plugin: ...
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from fnad.engine.rules import RuleTable, current_rules
from fnad.errors import FnadError

__all__ = ["load_plugin"]

# (plugin file, rule table) pairs already run. A plugin file registers its ops in the
# current table when it runs; when main() runs again in the same process with another
# current table (fnad.isolated_rules), the file runs again to register there. A plugin
# given by module name is imported once, as Python imports any module: never reloaded,
# since reloading a module others hold (fnad's own, a library's) breaks them.
_loaded: list[tuple[Path, RuleTable]] = []

_FNAD_PACKAGE = Path(__file__).resolve().parent.parent


def _refuse_fnad_module(spec: str, path: Path | None) -> None:
    if path is None:
        own = spec == "fnad" or spec.startswith("fnad.")
    else:
        own = path.is_relative_to(_FNAD_PACKAGE)
    if own:
        raise FnadError(
            f"--plugin {spec!r} is one of fnad's own modules, not a plugin: fnad's ops are "
            "always there; a plugin is a module of yours that registers ops with fnad.defop"
        )


def load_plugin(spec: str) -> None:
    """Import a plugin module by name (``mylib.ops``), or run a plugin file (``ops.py``)."""
    table = current_rules()
    is_file = spec.endswith(".py") or "/" in spec or "\\" in spec
    path = Path(spec).resolve() if is_file else None
    _refuse_fnad_module(spec, path)
    if path is not None and any(done == path and loaded is table for done, loaded in _loaded):
        return
    try:
        if is_file:
            _exec_file(spec)
        elif spec not in sys.modules:  # imported once: never reloaded
            importlib.import_module(spec)
    except FnadError as error:
        raise FnadError(f"plugin {spec!r}: {error}") from None
    except ModuleNotFoundError as error:
        if not is_file and (error.name == spec or spec.startswith(f"{error.name}.")):
            raise FnadError(
                f"cannot import plugin {spec!r}: no module named {error.name!r}; put it on "
                "PYTHONPATH or pass the path of its .py file"
            ) from None
        raise FnadError(f"plugin {spec!r} failed to import: {error}") from None
    except Exception as error:  # the plugin's own code failed: report it, it is not fnad's
        rerun = f"python {spec}" if is_file else f"python -c 'import {spec}'"
        raise FnadError(
            f"plugin {spec!r} failed to import: {type(error).__name__}: {error} "
            f"(run {rerun} to see the traceback)"
        ) from None
    if path is not None:
        _loaded.append((path, table))


def _exec_file(spec: str) -> ModuleType:
    path = Path(spec).resolve()
    if not path.is_file():
        raise FnadError(f"plugin file {spec!r} does not exist")
    name = "fnad_plugin_" + "".join(ch if ch.isalnum() else "_" for ch in path.stem)
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise FnadError(f"cannot load plugin file {spec!r} as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module
