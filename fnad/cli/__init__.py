"""The command line (``fnad grad``, ``fnad replay``, ``fnad demo``, …) and its expression parser.

The parser: ``tokenizer`` → ``parser`` (the grammar, the limits, NAME=VALUE) → ``expression``
(the postfix program, run on a tape), over the ``vocabulary`` of names an expression may use.
The command line: ``commands`` (``main`` and each command) over ``arguments`` (argparse),
``terminal`` (output, exit statuses), ``files`` and ``plugins``.
"""

from fnad.cli.commands import (
    main,
)
from fnad.cli.expression import (
    Expression,
)
from fnad.cli.parser import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_NODES,
    parse,
    parse_assignments,
    parse_value,
    positive_int,
)
from fnad.cli.vocabulary import (
    OPERATOR_OPS,
    available_functions,
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
