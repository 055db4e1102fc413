"""The command line (``fnad grad``, ``fnad replay``, ``fnad demo``, …) and its expression parser."""

from fnad.cli.commands import (
    main,
)
from fnad.cli.parser import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    OPERATOR_OPS,
    Expression,
    available_functions,
    parse,
    parse_assignments,
    parse_value,
    positive_int,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "OPERATOR_OPS",
    "Expression",
    "available_functions",
    "main",
    "parse",
    "parse_assignments",
    "parse_value",
    "positive_int",
]
