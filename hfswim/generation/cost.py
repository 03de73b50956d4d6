"""What a generation job will cost before it runs (``hfswim generate --dry-run``), and what it did cost (manifest).

The estimate renders every prompt the job would send (the same strategy, exemplars, languages, shard and
``--max-passages`` as the run) and counts:

* **prompt tokens** exactly as rendered, with hfswim's tokenizer-free count (``estimate_tokens``: ~4 bytes
  per token, at least one per word; ~12% above Gemma 3's tokenizer on SAP prompts in five languages, so the
  estimate errs on the high side). Two-step SAP's
  query prompts hold the summary, which does not exist yet: it is counted at its full token limit;
* **completion tokens** at their limits (``--max-new-tokens``, ``--summary-max-new-tokens``): an upper bound;
  small models usually stop well before it (the manifest of a short trial run gives the real ratio).

With ``--price-in`` / ``--price-out`` (USD per million prompt / completion tokens) the cost follows.
huggingface_hub publishes no prices, so for Inference Providers take them from the provider's page.
Records already in the run folder are not subtracted (a resumed job costs less).

Example::

    >>> cost_usd(2_000_000, 500_000, price_in=0.2, price_out=0.6)
    0.7
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hfswim.generation.config import GenerateConfig


def cost_usd(
    prompt_tokens: int, completion_tokens: int, *, price_in: float | None, price_out: float | None
) -> float | None:
    """USD for these token counts at these prices per million tokens; None without both prices."""
    if price_in is None or price_out is None:
        return None
    return round(prompt_tokens / 1e6 * price_in + completion_tokens / 1e6 * price_out, 6)


@dataclass
class JobEstimate:
    """Token and cost figures of one job (this shard), by step ("summary", "query")."""

    passages: int = 0
    records: int = 0  # (passage, language) pairs: the queries the job asks for
    requests: dict[str, int] = field(default_factory=lambda: {"summary": 0, "query": 0})
    prompt_tokens: dict[str, int] = field(default_factory=lambda: {"summary": 0, "query": 0})
    completion_tokens_max: dict[str, int] = field(default_factory=lambda: {"summary": 0, "query": 0})
    price_in: float | None = None
    price_out: float | None = None
    model: str | None = None

    @property
    def prompt_total(self) -> int:
        return sum(self.prompt_tokens.values())

    @property
    def completion_total(self) -> int:
        return sum(self.completion_tokens_max.values())

    def as_dict(self) -> dict[str, Any]:
        usd = cost_usd(self.prompt_total, self.completion_total, price_in=self.price_in, price_out=self.price_out)
        return {
            "passages": self.passages,
            "records": self.records,
            "requests": dict(self.requests),
            "prompt_tokens": dict(self.prompt_tokens, total=self.prompt_total),
            "completion_tokens_max": dict(self.completion_tokens_max, total=self.completion_total),
            "price_in_per_million": self.price_in,
            "price_out_per_million": self.price_out,
            "cost_usd_max": usd,
            "cost_usd_per_1k_records_max": round(usd / self.records * 1000, 4)
            if usd is not None and self.records
            else None,
        }


def estimate_job(config: GenerateConfig) -> JobEstimate:
    """Render every prompt of the job and count its tokens (see the module docstring); sends nothing."""
    from hfswim.corpus.reading import read_passages
    from hfswim.generation.endpoints import estimate_tokens
    from hfswim.generation.engine import check_strategy_languages, passage_shard
    from hfswim.generation.runner import load_strategy

    strategy = load_strategy(config)
    languages = config.language_codes()
    check_strategy_languages(strategy, languages, config.is_monolingual)
    summary_limit = config.summary_max_new_tokens or config.max_new_tokens
    # The summary is not known before the run: the query prompt holds a placeholder of the summary's full limit.
    placeholder = " ".join(["word"] * summary_limit)
    estimate = JobEstimate(price_in=config.price_in, price_out=config.price_out, model=config.model)
    taken = 0
    for passage in read_passages(config.passages):
        if config.num_shards > 1 and passage_shard(passage.passage_id, config.num_shards) != config.shard_index:
            continue
        if config.max_passages is not None and taken >= config.max_passages:
            break
        taken += 1
        if config.is_monolingual:
            targets = [passage.passage_language] if passage.passage_language in languages else []
        else:
            targets = [lang for lang in languages if lang != passage.passage_language]
        if not targets:
            continue
        estimate.passages += 1
        estimate.records += len(targets)
        if strategy.two_step:
            estimate.requests["summary"] += 1
            estimate.prompt_tokens["summary"] += estimate_tokens(strategy.summary_prompt(passage))
            estimate.completion_tokens_max["summary"] += summary_limit
        for lang in targets:
            prompt = strategy.query_prompt(passage, lang, summary=placeholder if strategy.two_step else None)
            estimate.requests["query"] += 1
            estimate.prompt_tokens["query"] += estimate_tokens(prompt)
            estimate.completion_tokens_max["query"] += config.max_new_tokens
    return estimate


def format_estimate(estimate: JobEstimate) -> str:
    """The dry run's report: a few lines a user reads before paying."""
    d = estimate.as_dict()
    lines = [
        f"dry run: {d['passages']} passages -> {d['records']} queries; requests: {d['requests']['summary']} summary + "
        f"{d['requests']['query']} query (nothing sent)",
        f"prompt tokens (estimated from the rendered prompts): {d['prompt_tokens']['total']:,}",
        f"completion tokens (at most, from the token limits): {d['completion_tokens_max']['total']:,}",
    ]
    if d["cost_usd_max"] is not None:
        lines.append(
            f"cost at most ${d['cost_usd_max']:,.2f} (${d['price_in_per_million']}/M in, "
            f"${d['price_out_per_million']}/M out; ${d['cost_usd_per_1k_records_max']:,.4f} per 1K queries)"
        )
    else:
        lines.append("cost: pass --price-in and --price-out (USD per million tokens) to see it")
    return "\n".join(lines)


def actual_cost(tokens: dict[str, Any], config: GenerateConfig) -> dict[str, Any]:
    """The manifest's cost block: the counted tokens at the configured prices."""
    return {
        "price_in_per_million": config.price_in,
        "price_out_per_million": config.price_out,
        "prompt_tokens": tokens.get("prompt", 0),
        "completion_tokens": tokens.get("completion", 0),
        "usd": cost_usd(tokens.get("prompt", 0), tokens.get("completion", 0), price_in=config.price_in,
                        price_out=config.price_out),
    }  # fmt: skip
