"""fnad: a typed, immutable, scalar-valued reverse-mode autodiff engine on a networkx tape.

>>> from fnad import Node
>>> x = Node(2.0, label="x")
>>> y = Node(3.0, label="y")
>>> z = x * y + x**2 + y.relu()
>>> _ = z.backward()
>>> z.data, x.grad, y.grad
(13.0, 7.0, 3.0)

Packages by role, each importing only from the ones below it (an import-linter contract in
pyproject.toml, checked by the tests; docs/architecture.md has the picture)::

    cli                        the command line and its expression parser
    nn                         models, training, datasets, gradient-flow statistics, the demo
    viz                        render, summary, explain, Jupyter display
    compiled | transforms      Program and its interpreters | grad, jvp, hessian, custom ops, checker
    graph                      the graph table and its files: schema, writer, readers
    engine                     Node, Tape, the rule table, the built-in ops, the chain rule
    _internal                  private helpers shared between packages
    errors | _floats | _moved  exceptions | IEEE float functions | the old module paths

``fnad.nn`` and ``fnad.cli`` are subpackages, imported on demand.
"""

from typing import TYPE_CHECKING

from fnad import _moved
from fnad.cli.parser import Expression, parse
from fnad.compiled.load import from_graphml, from_json
from fnad.compiled.program import Evaluation, Program, ProgramMismatchError, ValueAndGrad, compile
from fnad.engine import (
    Gradients,
    Node,
    Operand,
    Tape,
    current_tape,
    is_strict,
    strict,
    to_float,
)
from fnad.engine import ops as _ops
from fnad.engine.ops import *  # noqa: F403  (the built-in ops: fnad.exp & co., ops.__all__)
from fnad.engine.rules import (
    Rule,
    RuleTable,
    builtin_rules,
    current_rules,
    isolated_rules,
    use_rules,
)
from fnad.errors import (
    ExpressionError,
    FnadError,
    GradCheckError,
    GraphArgumentError,
    GraphFileError,
    GraphFormatError,
    GraphSizeError,
    ImmutableError,
    MissingAttributeError,
    NoGradientError,
    NonFiniteError,
    OperandTypeError,
    OperandValueError,
    OutputFormatError,
    OutputTypeError,
    RenderError,
    ReplayInputError,
    RuleError,
    TapeError,
    TapeGrowthWarning,
    TransformError,
    UnknownOpError,
    UnpicklableError,
)
from fnad.graph.writer import to_graphml, to_json, to_networkx
from fnad.transforms.check import Mismatch, OpCheck, RuleCheckReport, check_grad, check_rules
from fnad.transforms.custom import CustomBinaryOp, CustomNaryOp, CustomUnaryOp, defop
from fnad.transforms.functional import (
    ScalarFunction,
    Transformed,
    grad,
    hessian,
    jvp,
    value_and_grad,
    vjp,
)
from fnad.viz import display  # noqa: F401  (imported for its effect: Jupyter display)
from fnad.viz.explain import (
    Explanation,
    GradientPath,
    GroupExplanation,
    GroupRoute,
    explain,
    explain_group,
)
from fnad.viz.render import render, to_dot
from fnad.viz.summary import render_summary, summarize, summary_to_dot

__version__ = "0.2.0"

_moved.install()


if not TYPE_CHECKING:  # type checkers see fnad's real attributes only
    _RENAMED = {
        "Value": "micrograd's Value is fnad.Node: from fnad import Node "
        "(same API: Node(2.0, label='x'), .data, .grad, .backward())",
        "draw_dot": "micrograd's draw_dot(z) is fnad.render(z): a drawing that shows itself "
        "in Jupyter and saves with fnad.render(z, 'graph.svg') (or .png, .pdf)",
    }

    def __getattr__(name: str) -> object:
        """``fnad.flow``, ``fnad.datasets``, ``fnad.demo``: the first layout's submodules
        (deprecated); micrograd's names (``Value``, ``draw_dot``): an ImportError naming
        fnad's."""
        moved = _moved.MOVED.get(f"fnad.{name}")
        if moved is not None and name in ("flow", "datasets", "demo"):
            import sys

            return sys.modules[f"fnad.{name}"]
        if name in _RENAMED:
            # An ImportError, not an AttributeError: `from fnad import Value` would turn an
            # AttributeError into a bare "cannot import name" and lose the hint.
            from fnad.errors import RenamedError

            raise RenamedError(
                f"cannot import name {name!r} from 'fnad': {_RENAMED[name]}",
                name=name,
                path=__file__,
            )
        raise AttributeError(f"module 'fnad' has no attribute {name!r}")


__all__ = [
    "CustomBinaryOp",
    "CustomNaryOp",
    "CustomUnaryOp",
    "Evaluation",
    "Explanation",
    "Expression",
    "ExpressionError",
    "FnadError",
    "GradCheckError",
    "GradientPath",
    "Gradients",
    "GraphArgumentError",
    "GraphFileError",
    "GraphFormatError",
    "GraphSizeError",
    "GroupExplanation",
    "GroupRoute",
    "ImmutableError",
    "Mismatch",
    "MissingAttributeError",
    "NoGradientError",
    "Node",
    "NonFiniteError",
    "OpCheck",
    "Operand",
    "OperandTypeError",
    "OperandValueError",
    "OutputFormatError",
    "OutputTypeError",
    "Program",
    "ProgramMismatchError",
    "RenderError",
    "ReplayInputError",
    "Rule",
    "RuleCheckReport",
    "RuleError",
    "RuleTable",
    "ScalarFunction",
    "Tape",
    "TapeError",
    "TapeGrowthWarning",
    "TransformError",
    "Transformed",
    "UnknownOpError",
    "UnpicklableError",
    "ValueAndGrad",
    "__version__",
    "builtin_rules",
    "check_grad",
    "check_rules",
    "compile",
    "current_rules",
    "current_tape",
    "defop",
    "explain",
    "explain_group",
    "from_graphml",
    "from_json",
    "grad",
    "hessian",
    "is_strict",
    "isolated_rules",
    "jvp",
    "parse",
    "render",
    "render_summary",
    "strict",
    "summarize",
    "summary_to_dot",
    "to_dot",
    "to_float",
    "to_graphml",
    "to_json",
    "to_networkx",
    "use_rules",
    "value_and_grad",
    "vjp",
]
__all__ += _ops.__all__
