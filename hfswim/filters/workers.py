"""Worker processes for ``workers > 1``: the row phase on a pool, the select phase on fresh forks.

Both fork (workers start at once with the imported modules and the loaded models, which they share)
and hand each worker its state through the pool's initializer (inherited through the fork, never
pickled), so nothing in the parent process changes. Row phase: each worker reads its own Parquet row groups (or, for inputs with very large row groups,
receives Arrow batches), judges them, writes the survivors to a spill file and sends back only the
rejected rows, the report's counts and the select filters' compact summaries. Select phase: processes
forked once all summaries are merged inherit them, so the per-language selections run in parallel with
nothing sent but the answers.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from hfswim.filters.arrow import JudgedBatch, judge_arrow
from hfswim.filters.judging import FilterRun
from hfswim.records import upgrade_columns


class _WorkerState:
    """What a worker process holds, set once by the pool's initializer in that process (the parent's
    objects, inherited through the fork)."""

    filters: ClassVar[list] = []  # the row phase's filters, models loaded
    held: ClassVar[tuple[Callable, list] | None] = None  # a forked_map call's function and items


def _init_row_worker(filters: list) -> None:
    _WorkerState.filters = filters


def _worker_judge(batch, spill: str) -> list[JudgedBatch]:
    return [judge_arrow(_WorkerState.filters, batch, compact=True, spill=spill)]


def _worker_judge_row_group(
    file: str, row_group: int, batch_size: int, batches: range, spill: str
) -> list[JudgedBatch]:
    """Read one row group of ``file`` here, in the worker, and judge its batches number ``batches``."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(file) as parquet:
        read = parquet.iter_batches(batch_size=batch_size, row_groups=[row_group], use_threads=False)
        return [
            judge_arrow(_WorkerState.filters, upgrade_columns(batch), compact=True, spill=f"{spill}-{i:06d}.arrow")
            for i, batch in enumerate(itertools.islice(read, batches.stop))
            if i in batches
        ]


def row_group_tasks(files: list[Path], batch_size: int, workers: int) -> list[tuple[str, int, range]] | None:
    """(file, row group, its batches) for the workers to read themselves, or None when a row group is too
    large to hold in a worker at once (> 4 batches: the main process then reads and ships batches).

    A task is a whole row group, except in the last ``workers`` row groups: one task per batch there, so
    that the workers finish together (reading a row group for one batch costs little once, at the end).
    """
    import pyarrow.parquet as pq

    groups = []
    for file in files:
        meta = pq.read_metadata(file)
        for i in range(meta.num_row_groups):
            rows = meta.row_group(i).num_rows
            if rows > 4 * batch_size:
                return None
            groups.append((str(file), i, -(-rows // batch_size)))
    tasks = []
    for at, (file, i, n) in enumerate(groups):
        if at < len(groups) - workers:
            tasks.append((file, i, range(n)))
        else:
            tasks.extend((file, i, range(b, b + 1)) for b in range(n))
    return tasks


@contextlib.contextmanager
def worker_pool(workers: int, filters: list):
    """``workers`` forked processes for the row phase, or ``None`` for ``workers <= 1``.

    fork: workers start at once with the imported modules and the loaded models; nothing here holds
    threads (torch filters are refused with workers > 1).
    """
    if workers <= 1:
        yield None
        return
    import multiprocessing

    import pandas  # noqa: F401 - pyarrow imports it on its first pa.array() (~0.15 s): once here, not per worker

    # The filters are prepared (models loaded) before the fork: the workers share them.
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_row_worker, initargs=(filters,)) as pool:
        yield pool


def _hold(fn: Callable, items: list) -> None:
    _WorkerState.held = (fn, items)


def _call_held(index: int):
    fn, items = _WorkerState.held  # type: ignore[misc]
    return fn(items[index])


def forked_map(workers: int) -> Callable:
    """A ``map`` (results in any order) over ``workers`` processes forked for the call: they inherit the
    items instead of receiving them through a pipe (the select phase's per-language state: ~300 bytes a
    row), and whatever the parent imported meanwhile (datasketch, see :meth:`SelectFilter.warm_up`)."""

    def map_on_forks(fn: Callable, items):
        import multiprocessing

        items = list(items)
        if len(items) <= 1:
            yield from map(fn, items)
            return
        fork = multiprocessing.get_context("fork")
        with fork.Pool(min(workers, len(items)), initializer=_hold, initargs=(fn, items)) as pool:
            yield from pool.imap_unordered(_call_held, range(len(items)))

    return map_on_forks


def judged_batches(run: FilterRun, files: list[Path], batch_size: int, pool, workers: int, spill_dir: Path):
    """(survivors' spill file, rejected table) per batch, in input order, counted into ``run`` and
    merged into its select filters; judged in this process, or on ``pool``'s ``workers`` processes."""
    spills = (str(spill_dir / f"{i:09d}") for i in itertools.count())
    if pool is None:
        for batch in read_batches(files, batch_size):
            judged = judge_arrow(run.filters, batch, spill=next(spills) + ".arrow")
            run.absorb(judged.outcome)  # type: ignore[arg-type]
            yield judged.kept, judged.rejected
        return
    # Survivors stay in the worker's spill file; only rejects and compact summaries come back. The
    # workers read their row groups themselves when these are small enough (no records through a pipe),
    # else batches go out as Arrow buffers. At most 2 tasks per worker in flight (Pool.imap would read
    # the whole input ahead).
    units = row_group_tasks(files, batch_size, workers)
    if units is not None:
        tasks = ((_worker_judge_row_group, (file, i, batch_size, b, next(spills))) for file, i, b in units)
    else:
        tasks = ((_worker_judge, (batch, next(spills) + ".arrow")) for batch in read_batches(files, batch_size))
    pending: deque = deque()

    def take():
        for judged in pending.popleft().get():
            run.absorb(judged.outcome.expand())
            yield judged.kept, judged.rejected

    warm = False
    for fn, args in tasks:
        pending.append(pool.apply_async(fn, args))
        if len(pending) >= 2 * workers:
            if not warm:  # the workers are busy: a good moment for the select phase's imports
                run.warm_up()
                warm = True
            yield from take()
    while pending:
        yield from take()


def read_batches(files: list[Path], batch_size: int):
    """Record batches, one row group at a time (pyarrow.dataset's read-ahead would hold ~16 batches)."""
    import pyarrow.parquet as pq

    for file in files:
        with pq.ParquetFile(file) as parquet:
            # Files generated before the column rename (query_lang, passage_lang) read under the new names.
            yield from map(upgrade_columns, parquet.iter_batches(batch_size=batch_size))
