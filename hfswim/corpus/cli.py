"""`hfswim sample`: read a corpus, cut it into passages and write a SWIM-IR stratified sample as Parquet."""

from __future__ import annotations

from pathlib import Path

import typer

from hfswim.corpus.config import CorpusConfig
from hfswim.options import short_flag, stage_command

_HELP = (
    "Cut a corpus into passages of at most 100 words and write a seeded SWIM-IR stratified sample.\n\n"
    "Reads a corpus, splits documents on paragraph and sentence boundaries (characters count as fractions of "
    "words for Chinese, Japanese and Thai), keeps each passage whose seeded draw is below the inclusion threshold "
    "I = sample-size / total, caps each language, and writes Parquet with passage_id (<doc_id>#<chunk>), doc_id, "
    "lang, title, text and source. Prints the count per language.\n\n"
    "Streams: memory stays bounded whatever the corpus size. The same seed keeps the same passages, in any order."
)
_EPILOG = (
    "Examples:\n\n"
    "  hfswim sample corpus.jsonl -o passages.parquet --sample-size 10000 --cap-per-language 2000\n\n"
    "  hfswim sample ./beir/scifact --default-lang en -o passages.parquet --rate 0.1 --seed 1\n\n"
    "  hfswim sample wikimedia/wikipedia --hub-config 20231101.sw --default-lang sw --sample-size 50000 "
    "-o sw.parquet\n\n"
    "  hfswim sample ./texts --format text --text-unit paragraph --default-lang de -o de.parquet"
)


def _sample(
    config: CorpusConfig,
    output: Path = typer.Option(
        ..., *short_flag("--output"), help="Where to write the passages (Parquet, PASSAGE_SCHEMA)."
    ),
) -> None:
    from hfswim.corpus import write_passages
    from hfswim.corpus.sources import CorpusStats

    stats = CorpusStats()
    counts = write_passages(config, output, stats)
    kept = sum(counts.values())
    typer.echo(
        f"Read {stats.documents} documents -> {stats.passages} passages "
        f"(skipped: {stats.skipped_language} other-language, {stats.skipped_empty} empty)."
    )
    typer.echo(f"Kept {kept} passages in {len(counts)} languages -> {output}")
    for lang, count in counts.items():
        seen = stats.passages_per_language.get(lang, 0)
        typer.echo(f"  {lang:<4} {count:>9}  of {seen}")


sample = stage_command(CorpusConfig, _sample, arguments=("source",), section="corpus", help=_HELP + "\n\n" + _EPILOG)
