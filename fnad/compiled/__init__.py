"""Compiled replay: a Program, compiled from a trace or loaded from a file, and its interpreters."""

from fnad.compiled.cluster import WORKER_CONFIG, DaskBatch, batch_dask
from fnad.compiled.instructions import SPECIALISED
from fnad.compiled.load import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_VERTICES,
    from_graphml,
    from_json,
)
from fnad.compiled.program import (
    Evaluation,
    Program,
    ProgramMismatchError,
    ValueAndGrad,
    compile,
)

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VERTICES",
    "SPECIALISED",
    "WORKER_CONFIG",
    "DaskBatch",
    "Evaluation",
    "Program",
    "ProgramMismatchError",
    "ValueAndGrad",
    "batch_dask",
    "compile",
    "from_graphml",
    "from_json",
]
