"""One timed filter run in a fresh process, against whichever hfswim tree is first on PYTHONPATH.

Used by :mod:`benchmarks.filters_throughput` to measure the current tree and a baseline commit (a copy
made with git archive) side by side on the same input; it relies only on API both have (``FilterConfig.from_names``,
``build_filters``, ``filter_rows``, ``run_filters``). Prints one JSON line.

    PYTHONPATH=TREE python benchmarks/filters_child.py filter INPUT.parquet '{"langid": {}}'
    PYTHONPATH=TREE python benchmarks/filters_child.py run INPUT.parquet OUT_DIR 2 [FILTER,NAMES]
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _digest(ids) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


def _decisions_digest(rejected_rows, kept_rows) -> str:
    """Every reject's filter and reason, and every kept row's detected language and score (6 decimals: lingua's
    confidences vary in their last bits from run to run), as one digest: the per-row decisions."""
    lines = [f"R\t{r['record_id']}\t{r['reject_filter']}\t{r['reject_reason']}" for r in rejected_rows]
    lines += [
        f"K\t{r['record_id']}\t{r.get('langid_language')}\t"
        + ("" if r.get("langid_score") is None else f"{r['langid_score']:.6f}")
        for r in kept_rows
    ]
    return _digest(lines)


def one_filter(source: str, spec: str) -> dict:
    """Time one filter alone, in memory, on every row of ``source`` (models loaded before the clock)."""
    import pyarrow.parquet as pq

    from hfswim.filters import FilterConfig, build_filters, filter_rows

    (name, settings), *_ = json.loads(spec).items()
    config = FilterConfig.from_names(name, **({name: settings} if settings else {}))
    rows = pq.read_table(source).to_pylist()
    (f,) = build_filters(config)
    f.apply([dict(rows[0])])  # load models (and what the selection imports) outside the timing
    if hasattr(f, "warm_up"):
        f.warm_up()
    if hasattr(f, "reset"):
        f.reset()
    cpu, wall = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    kept, rejected, _ = filter_rows(rows, [f])
    wall, cpu = time.perf_counter() - wall, _cpu(resource.RUSAGE_SELF) - cpu
    return {
        "wall": wall,
        "cpu": cpu,
        "kept": len(kept),
        "kept_digest": _digest(r["record_id"] for r in kept),
        "decisions_digest": _decisions_digest(rejected, kept),
    }


def end_to_end(source: str, out: str, workers: int, names: str = "parse,langid,dedup,heuristics") -> dict:
    """Time ``run_filters`` end to end (Parquet in and out, models loaded inside the clock)."""
    import pyarrow.parquet as pq

    from hfswim.filters import FilterConfig, run_filters

    config = FilterConfig.from_names(names, workers=workers)
    main, kids, wall = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    report = run_filters(source, out, config)
    wall = time.perf_counter() - wall
    main, kids = _cpu(resource.RUSAGE_SELF) - main, _cpu(resource.RUSAGE_CHILDREN) - kids
    kept = pq.read_table(f"{out}/kept.parquet", columns=["record_id", "langid_language", "langid_score"]).to_pylist()
    rejected = pq.read_table(f"{out}/rejected.parquet", columns=["record_id", "reject_filter", "reject_reason"])
    return {
        "wall": wall,
        "cpu": main + kids,
        "cpu_main": main,
        "kept": report.kept,
        "kept_digest": _digest(r["record_id"] for r in kept),
        "decisions_digest": _decisions_digest(rejected.to_pylist(), kept),
    }


def main(argv: list[str]) -> None:
    import hfswim

    mode, *args = argv
    result = one_filter(*args) if mode == "filter" else end_to_end(args[0], args[1], int(args[2]), *args[3:])
    result["hfswim"] = hfswim.__file__
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
