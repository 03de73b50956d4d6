"""Accounting: what a run produced and spent, shown live (tqdm) and written to ``manifest.json``.

:class:`RunStats` counts records (accepted = parse status "ok", rejected = anything else) per language,
LLM tokens per step (summary vs query), failures and retries by kind. :class:`ProgressBar` shows records/s,
tokens/s and the accepted/rejected/failed counts; :func:`write_manifest` writes the manifest atomically.

Example::

    >>> stats = RunStats()
    >>> stats.add_tokens("query", prompt=120, completion=9)
    >>> stats.add_record("sw", accepted=True)
    >>> stats.summary()["tokens"]["total"], stats.accepted
    (129, 1)
"""

from __future__ import annotations

import platform
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hfswim.io import write_json_atomic

STEPS = ("summary", "query")


@dataclass
class RunStats:
    """Counters of one run (this process); resumed work from earlier runs is counted in ``skipped_done``."""

    started: float = field(default_factory=time.time)
    passages_seen: int = 0
    passages_in_shard: int = 0
    passages_skipped_done: int = 0
    passages_without_target: int = 0  # monolingual: passage language not selected; nothing to generate
    records_skipped_done: int = 0
    summaries_reused: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    per_language: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    reject_reasons: Counter = field(default_factory=Counter)
    prompt_tokens: Counter = field(default_factory=Counter)  # by step
    completion_tokens: Counter = field(default_factory=Counter)
    estimated_token_counts: int = 0  # requests whose token counts were estimated, not reported
    requests_by_step: Counter = field(default_factory=Counter)
    structured: Counter = field(default_factory=Counter)  # JSON answers: "json" parsed, "text_fallback" not JSON

    def add_tokens(self, step: str, *, prompt: int, completion: int, estimated: bool = False) -> None:
        self.prompt_tokens[step] += prompt
        self.completion_tokens[step] += completion
        self.requests_by_step[step] += 1
        self.estimated_token_counts += int(estimated)

    def add_record(self, lang: str, *, accepted: bool, reason: str | None = None) -> None:
        if accepted:
            self.accepted += 1
            self.per_language[lang]["accepted"] += 1
        else:
            self.rejected += 1
            self.per_language[lang]["rejected"] += 1
            self.reject_reasons[reason or "unknown"] += 1

    def add_failure(self, lang: str) -> None:
        self.failed += 1
        self.per_language[lang]["failed"] += 1

    @property
    def total_tokens(self) -> int:
        return sum(self.prompt_tokens.values()) + sum(self.completion_tokens.values())

    @property
    def records(self) -> int:
        return self.accepted + self.rejected

    def summary(self) -> dict[str, Any]:
        wall = time.time() - self.started
        steps = {
            step: {
                "requests": self.requests_by_step[step],
                "prompt": self.prompt_tokens[step],
                "completion": self.completion_tokens[step],
            }
            for step in STEPS
        }
        return {
            "wall_time_s": round(wall, 3),
            "passages": {
                "read": self.passages_seen,
                "in_shard": self.passages_in_shard,
                "already_done": self.passages_skipped_done,
                "without_target_language": self.passages_without_target,
            },
            "records": {
                "accepted": self.accepted,
                "rejected": self.rejected,
                "failed": self.failed,
                "already_done": self.records_skipped_done,
                "records_per_s": round(self.records / wall, 3) if wall > 0 else None,
            },
            "per_language": {lang: dict(c) for lang, c in sorted(self.per_language.items())},
            "reject_reasons": dict(self.reject_reasons.most_common()),
            "summaries_reused": self.summaries_reused,
            "structured_output": dict(self.structured),
            "tokens": {
                "prompt": sum(self.prompt_tokens.values()),
                "completion": sum(self.completion_tokens.values()),
                "total": self.total_tokens,
                "by_step": steps,
                "estimated_requests": self.estimated_token_counts,
                "per_accepted_query": round(self.total_tokens / self.accepted, 3) if self.accepted else None,
                "tokens_per_s": round(self.total_tokens / wall, 3) if wall > 0 else None,
            },
        }


class ProgressBar:
    """A tqdm bar over records, with tokens/s and accepted/rejected/failed in the postfix."""

    def __init__(self, total: int | None, enabled: bool = True, min_interval: float = 0.5, initial: int = 0):
        from tqdm.auto import tqdm

        # delay: a run that stops at once (a bad row, an endpoint error) prints its one error line, no bar.
        # initial: a resumed run's bar starts at the records already done (its rate counts only this run's).
        self._bar = tqdm(
            total=total,
            initial=initial,
            unit="rec",
            desc="generate",
            disable=not enabled,
            dynamic_ncols=True,
            delay=1.0,
        )
        self._last = 0.0
        self._min_interval = min_interval
        self._stats: RunStats | None = None
        self._retries = 0

    def _postfix(self, stats: RunStats, retries: int, refresh: bool) -> None:
        wall = max(time.time() - stats.started, 1e-9)
        self._bar.set_postfix(
            tok_s=f"{stats.total_tokens / wall:.0f}",
            ok=stats.accepted,
            rej=stats.rejected,
            fail=stats.failed,
            retry=retries,
            refresh=refresh,
        )

    def update(self, stats: RunStats, n: int = 1, retries: int = 0) -> None:
        self._stats, self._retries = stats, retries
        now = time.monotonic()
        if now - self._last >= self._min_interval:
            self._last = now
            self._postfix(stats, retries, refresh=False)  # before the update, which redraws with these counts
        self._bar.update(n)

    def close(self) -> None:
        if self._stats is not None:  # the line left on screen shows the final counts, not the last throttled ones
            self._postfix(self._stats, self._retries, refresh=True)
        self._bar.close()


class PhaseStatus:
    """One status line for what happens before the first record ("converting model", "starting embedded
    server"), with the elapsed time ticking, so a long start does not look like a bar stuck at 0.

    Call it with each phase's name; ``close()`` leaves the last phase and its duration on screen.

    Example::

        status = PhaseStatus()
        status("starting embedded server")   # shows "starting embedded server… 3s", ticking
        status.close()
    """

    def __init__(self, enabled: bool = True, interval: float = 1.0):
        import threading

        from tqdm.auto import tqdm

        self._bar = tqdm(total=None, bar_format="{desc}", disable=not enabled, dynamic_ncols=True, leave=True)
        self._enabled = enabled
        self._interval = interval
        self._phase: str | None = None
        self._since = time.monotonic()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="hfswim-phase", daemon=True) if enabled else None
        self.phases: list[tuple[str, float]] = []  # (phase, seconds), finished phases first

    def __call__(self, phase: str) -> None:
        now = time.monotonic()
        if self._phase is not None:
            self.phases.append((self._phase, round(now - self._since, 3)))
        self._phase, self._since = phase, now
        self._show()
        if self._thread is not None and not self._thread.is_alive():
            self._thread.start()

    def _show(self) -> None:
        if self._phase is not None:
            self._bar.set_description_str(f"{self._phase}… {time.monotonic() - self._since:.0f}s")

    def _tick(self) -> None:
        while not self._closed.wait(self._interval):
            self._show()

    def close(self) -> None:
        if self._phase is not None:
            self.phases.append((self._phase, round(time.monotonic() - self._since, 3)))
            self._show()
            self._phase = None
        self._closed.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=2)
        self._bar.close()


def write_manifest(path: str | Path, payload: dict[str, Any]) -> None:
    """Write the run manifest atomically (tmp + rename): a reader never sees half a manifest."""
    from hfswim import __version__

    write_json_atomic(
        path,
        {
            "hfswim_version": __version__,
            "python": platform.python_version(),
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **payload,
        },
    )
