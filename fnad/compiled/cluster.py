"""Many points on many machines: :meth:`Program.batch` over a ``dask.array``, block by block.

fnad brings no scheduler of its own: Dask's does the work. :func:`batch_dask` maps
:meth:`fnad.Program.batch` over the row blocks of an ``(N, k)`` dask array with
``map_blocks``; each block is one task, run wherever the scheduler puts it (threads of
this process, worker processes, a ``dask.distributed`` cluster). The program is one
entry of the task graph, so it is pickled (:mod:`fnad.compiled.pickling`) and sent to
each worker once, not once per block. Each point's results are those of
``program.batch`` on this machine, bit for bit: a block is a batch like any other.

Install with ``pip install 'fnad[dask]'``; this module imports Dask only when called.

>>> import dask.array as da, numpy as np, fnad
>>> from fnad.compiled.cluster import batch_dask
>>> prog = fnad.compile(lambda x, y: x * y + y.tanh(), 0.0, 0.0)
>>> X = da.from_array(np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]]), chunks=(2, 2))
>>> lazy = batch_dask(prog, X)
>>> lazy.values
dask.array<getitem, shape=(3,), dtype=float64, chunksize=(2,), chunktype=numpy.ndarray>
>>> result = lazy.compute()  # one pass over the blocks for values and gradients
>>> result.values.tolist() == prog.batch(X.compute()).values.tolist()
True

Dask's worker processes start with ``MALLOC_TRIM_THRESHOLD_=65536`` (its nanny's default),
which hands freed temporaries back to the system, so a batch there maps and faults its
memory in again and again (up to several times slower; docs/scale.md has the figures).
Start clusters under :data:`WORKER_CONFIG`::

    with dask.config.set(WORKER_CONFIG):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1)

Workers import what the program's rules name: fnad itself, and the module that defines
each custom op (define its functions at module level in an importable module, installed
on every worker). Unpickling runs code: give workers programs from people you trust.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from fnad._internal import describe
from fnad.compiled.program import Program
from fnad.errors import FnadError, ReplayInputError

if TYPE_CHECKING:
    import dask.array
    import numpy as np
    from numpy.typing import NDArray

    from fnad.compiled.batch import BatchResult

__all__ = ["WORKER_CONFIG", "DaskBatch", "DaskMissingError", "batch_dask"]


class DaskMissingError(FnadError, ImportError):
    """:func:`batch_dask` needs Dask, which is not installed (``pip install 'fnad[dask]'``)."""


WORKER_CONFIG: dict[str, object] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 1 << 30,
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 1 << 26,
}
"""Dask settings for worker processes that run batches: glibc keeps freed memory up to
1 GiB for reuse and serves arrays below 64 MiB from its heap, so a batch's temporaries
are not mapped and faulted in again at every NumPy operation. (Workers then report more
"unmanaged" memory; memory bounded by the chunk size is reused, not grown.)"""


@attrs.frozen
class DaskBatch:
    """What :func:`batch_dask` returns: lazy dask arrays, one row per point.

    The three arrays share their tasks: compute them together (:meth:`compute`, or
    ``dask.compute(r.values, r.gradient)``) and each block runs once.
    """

    input_names: tuple[str, ...]
    """The names of the gradient's columns, in the program's input order."""
    values: dask.array.Array
    """The output's value at each point, shape ``(N,)``."""
    gradient: dask.array.Array | None
    """∂output/∂input, shape ``(N, inputs)``; None for ``gradient=False``."""
    aux: dask.array.Array
    """The auxiliary values (``has_aux``), shape ``(N, aux)``."""

    def compute(self, **kwargs: Any) -> BatchResult:
        """Run every block (``kwargs`` go to ``dask.compute``, e.g. ``scheduler=``) and
        return the :class:`~fnad.compiled.batch.BatchResult` that ``Program.batch`` gives."""
        from dask.base import compute

        from fnad.compiled.batch import BatchResult

        values, gradient, aux = compute(  # type: ignore[no-untyped-call]
            self.values, self.gradient, self.aux, **kwargs
        )
        return BatchResult(self.input_names, values, gradient, aux)


def batch_dask(
    program: Program,
    points: object,
    *,
    gradient: bool = True,
    rows: int | None = None,
    chunk: int | None = None,
) -> DaskBatch:
    """:meth:`Program.batch` over a dask array of points, one task per block of rows.

    Args:
        program: the program to run at every point.
        points: an ``(N, k)`` ``dask.array`` in :attr:`Program.input_names` order (or an
            array Dask can wrap, with ``rows`` then required). Its row blocks are the
            tasks; its columns are joined into one block.
        gradient: False for values only (``gradient`` is then None).
        rows: points per task, to rechunk ``points`` (see docs/scale.md for the sizes
            that pay: ~100,000 points or more a task).
        chunk: points per NumPy pass inside a task (``Program.batch``'s ``chunk``).

    Returns a :class:`DaskBatch` of lazy arrays; nothing runs until it is computed.
    """
    try:
        import dask.array as da
        import numpy as np
        from dask.delayed import delayed
    except ImportError as error:
        raise DaskMissingError(
            f"batch_dask needs Dask and NumPy ({error}); install the dask extra: "
            "pip install 'fnad[dask]'"
        ) from error

    if not isinstance(program, Program):
        raise ReplayInputError(
            f"batch_dask: the first argument must be a fnad.Program, got {describe(program)}"
        )
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise ReplayInputError(
            f"batch_dask: rows must be a whole number of points >= 1, got {describe(rows)}"
        )
    if isinstance(points, da.Array):
        array = points
    elif rows is None:
        raise ReplayInputError(
            f"batch_dask: points is {describe(points)}, not a dask array; pass "
            "dask.array.from_array(points, chunks=(rows, -1)), or give rows= to split it"
        )
    else:
        array = da.asarray(points)  # type: ignore[no-untyped-call]
    k = len(program.input_names)
    if array.ndim != 2 or array.shape[1] != k:
        raise ReplayInputError(
            f"batch_dask: points has shape {array.shape}, expected (N, {k}): one row per "
            f"point, one column per input ({', '.join(program.input_names) or 'none'})"
        )
    array = array.rechunk(  # type: ignore[no-untyped-call]
        {0: rows if rows is not None else array.chunks[0], 1: -1}
    )
    width = 1 + (k if gradient else 0) + len(program.table.aux)
    shipped = delayed(program, pure=False)  # one graph entry: sent once per worker
    table = array.map_blocks(
        _block,
        shipped,
        gradient,
        chunk,
        chunks=(array.chunks[0], (width,)),
        dtype=np.float64,
        meta=np.empty((0, 0), np.float64),
    )
    return DaskBatch(
        program.input_names,
        table[:, 0],
        table[:, 1 : 1 + k] if gradient else None,
        table[:, width - len(program.table.aux) :],
    )


def _block(
    points: NDArray[np.float64], program: Program, gradient: bool, chunk: int | None
) -> NDArray[np.float64]:
    """One task: the batch of one block, as columns (value, gradient..., aux...)."""
    import numpy as np

    result = program.batch(points, gradient=gradient, chunk=chunk)
    parts = [result.values[:, None]]
    if result.gradient is not None:
        parts.append(result.gradient)
    parts.append(result.aux)
    block: NDArray[np.float64] = np.concatenate(parts, axis=1)
    return block
