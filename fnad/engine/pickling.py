"""How rules pickle: by reference, never as code.

A :class:`~fnad.engine.rules.Rule` holds functions, and pickle stores a function as the
name it can be imported by, never as its code. So:

- **fnad's own rules** (the built-in ops of :mod:`fnad.engine.ops`) pickle as their op
  name and unpickle as the very same :class:`Rule` object (``is``), in any process;
- **a custom op's rule** pickles as its fields, each function by its importable name
  (``mylib.ops.softplus``), so unpickling imports that module; the wrappers
  :func:`fnad.defop` puts around ``impl`` and ``partials`` are rebuilt from the wrapped
  functions (:func:`rebuild_with`);
- a rule whose functions cannot be imported by name (a lambda, a function defined inside
  another function) refuses to pickle with an :class:`~fnad.errors.UnpicklableError`
  that names the op and the fix, before pickle writes anything of it.

Copying (``copy.copy``, ``copy.deepcopy``) needs none of this: a rule is immutable, so
a copy is the rule itself.

Unpickling imports modules and calls the functions named in the data: unpickle only
what you trust. ``fnad.to_json`` / ``fnad.from_json`` is the format for untrusted data.

>>> import pickle
>>> from fnad.engine.rules import builtin_rules
>>> tanh = builtin_rules()["tanh"]
>>> pickle.loads(pickle.dumps(tanh)) is tanh
True

Dependencies inside the engine: :mod:`fnad.engine.rules` and :mod:`fnad.engine.ops`.
"""

from __future__ import annotations

import importlib
import pickle
import types
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from fnad.engine import ops  # noqa: F401 - registers the built-in rules before _OWN reads them
from fnad.engine.rules import Rule, builtin_rules
from fnad.errors import UnpicklableError

__all__ = ["builtin_rule", "by_reference", "rebuild_with", "reduce_rule", "rule_from_fields"]

F = TypeVar("F", bound=Callable[..., Any])

# fnad's own rules, as `import fnad` registered them (fnad.engine imports this module, and
# it imports fnad.engine.ops first): a user's defop(..., replace=True) of a built-in name later
# replaces the table's entry, not what a pickled "tanh" means.
_OWN: dict[str, Rule] = {
    name: rule
    for name, rule in builtin_rules().lookup.items()
    if str(getattr(rule.partials, "__module__", "")).startswith("fnad.")
}

_REBUILD = "__fnad_rebuild__"


def builtin_rule(name: str) -> Rule:
    """fnad's own rule of op ``name``: what a pickled built-in rule loads as.

    >>> builtin_rule("mul") is builtin_rules()["mul"]
    True
    """
    return _OWN[name]


def rebuild_with(wrapper: F, factory: Callable[..., Any], *args: object) -> F:
    """Mark ``wrapper`` (a function made inside ``factory``) as rebuilt by
    ``factory(*args)`` when a rule holding it is pickled; return it.

    :func:`fnad.defop` wraps ``impl`` and ``partials`` in checking closures this way:
    the closures cannot be imported by name, the factory and the user's functions can.
    """
    setattr(wrapper, _REBUILD, (factory, args))
    return wrapper


def importable(fn: object) -> bool:
    """Whether pickle can store ``fn`` as the name it is imported by (and find it again).

    >>> import math
    >>> importable(math.sqrt), importable(builtin_rule), importable(lambda x: x)
    (True, True, False)
    """
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return False
    try:
        found: object = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:  # any failure to import or find it means "not by name"
        return False
    return found is fn


class _Rebuilt:
    """Stands in, inside a pickle, for a wrapper that ``factory(*args)`` makes again."""

    __slots__ = ("args", "factory")

    def __init__(self, factory: Callable[..., Any], args: tuple[object, ...]) -> None:
        self.factory = factory
        self.args = args

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[object, ...]]:
        return self.factory, self.args


def by_reference(op: str, role: str, fn: object) -> object:
    """``fn`` as it goes into a pickle of op ``op``'s rule: itself when it pickles by
    reference, a rebuild recipe for fnad's wrappers; otherwise an UnpicklableError."""
    if fn is None:
        return None
    recipe = getattr(fn, _REBUILD, None)
    if recipe is not None:
        factory, args = recipe
        by_reference(op, role, factory)
        for arg in args:
            if callable(arg):
                by_reference(op, role, arg)
        return _Rebuilt(factory, args)
    if isinstance(fn, (types.FunctionType, types.MethodType)):
        ok = importable(fn)
    else:  # a builtin, a NumPy ufunc, a functools.partial, an instance with __call__
        try:
            pickle.dumps(fn)
        except Exception:
            ok = False
        else:
            ok = True
    if not ok:
        name = getattr(fn, "__qualname__", None) or type(fn).__name__
        module = getattr(fn, "__module__", None) or "?"
        raise UnpicklableError(
            f"op {op!r} cannot be pickled: its {role} {name!r} (module {module!r}) cannot be "
            "imported by name, and pickle stores functions by name, never as code. Define "
            f"the op's functions with `def` at module level in an importable module (e.g. "
            f"mylib/ops.py, then `from mylib.ops import ...`) and call fnad.defop there; or "
            "exchange the graph as data with fnad.to_json / fnad.from_json"
        )
    return fn


def reduce_rule(rule: Rule) -> tuple[Callable[..., Rule], tuple[Any, ...]]:
    """What ``pickle`` stores for ``rule`` (:meth:`Rule.__reduce__`)."""
    if _OWN.get(rule.name) is rule:
        return builtin_rule, (rule.name,)
    fields = attrs.asdict(rule, recurse=False)
    for field in attrs.fields(Rule):
        value = fields[field.name]
        if callable(value):
            role = {"forward": "impl", "array_forward": "array_impl"}.get(field.name, field.name)
            fields[field.name] = by_reference(rule.name, role, value)
    return rule_from_fields, (fields,)


def rule_from_fields(fields: dict[str, Any]) -> Rule:
    """A custom op's rule again, from its pickled fields (checked as a new rule is)."""
    return Rule(**fields)
