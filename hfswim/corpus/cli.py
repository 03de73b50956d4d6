"""`hfswim sample`: read a corpus, cut it into passages and write a SWIM-IR stratified sample as Parquet."""

from __future__ import annotations

from pathlib import Path

import typer

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


def sample(
    source: str = typer.Argument(
        None,
        help="A corpus: JSONL/Parquet/CSV/TSV file or folder, a BEIR folder (corpus.jsonl), .txt files, "
        "or a Hub dataset id (streamed; a local dataset folder works too). 'demo' is the packaged corpus.",
        show_default=False,
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the passages (Parquet, PASSAGE_SCHEMA)."),
    format: str = typer.Option(None, "--format", "-f", help="auto (default), hub, jsonl, parquet, csv, beir or text."),
    config_file: Path = typer.Option(
        None, "--config", help="A YAML/JSON file of CorpusConfig fields; options given here override it."
    ),
    hub_config: str = typer.Option(None, "--hub-config", help="Hub dataset config name, e.g. 20231101.sw."),
    split: str = typer.Option(None, "--split", help="Hub dataset split (default: train)."),
    id_column: str = typer.Option(None, "--id-column", help="Document id column (default: doc_id, _id, id, docid)."),
    title_column: str = typer.Option(None, "--title-column", help="Title column (default: title, if present)."),
    text_column: str = typer.Option(None, "--text-column", help="Text column (default: text, contents, ...)."),
    lang_column: str = typer.Option(None, "--lang-column", help="Language column (default: lang, language)."),
    default_lang: str = typer.Option(
        None, "--default-lang", "--lang", help="Language of every row when the source has no language column."
    ),
    languages: str = typer.Option(
        None,
        "--languages",
        "-l",
        help="Keep only these languages: codes or names, comma-separated, or xor/miracl/indic.",
    ),
    text_unit: str = typer.Option(None, "--text-unit", help="Plain text: one document per 'file' or 'paragraph'."),
    skip_empty: bool = typer.Option(False, "--skip-empty", help="Skip and count empty documents instead of failing."),
    max_words: int = typer.Option(None, "--max-words", help="Passage length limit in words (default: 100)."),
    sample_size: int = typer.Option(
        None, "--sample-size", "-n", help="About how many passages to keep: SWIM-IR threshold I = N / total."
    ),
    rate: float = typer.Option(None, "--rate", help="Keep each passage with this probability (instead of -n)."),
    allocation: str = typer.Option(
        None, "--allocation", help="With -n: 'proportional' (one threshold) or 'equal' (about N per language)."
    ),
    total: int = typer.Option(None, "--total", help="Number of passages, if known: skips the counting pass."),
    cap_per_language: int = typer.Option(None, "--cap-per-language", help="Keep at most this many per language."),
    seed: int = typer.Option(None, "--seed", help="Seed of the per-passage draws (default: 0)."),
) -> None:
    """Cut a corpus into passages and write a seeded SWIM-IR stratified sample (help text: _HELP)."""
    from hfswim.corpus import make_config, write_passages
    from hfswim.corpus.sources import CorpusStats
    from hfswim.errors import ConfigError

    options: dict[str, object] = {}
    if config_file is not None:
        from hfswim.config import load_yaml

        loaded = load_yaml(config_file, "corpus config") or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{config_file}: expected a mapping of CorpusConfig fields.")
        options.update(loaded.get("corpus", loaded))
    columns = {
        k: v for k, v in {"id": id_column, "title": title_column, "text": text_column, "lang": lang_column}.items() if v
    }
    if columns:
        options["columns"] = {**(options.get("columns") or {}), **columns}  # type: ignore[dict-item]
    given = {
        "source": source,
        "format": format,
        "hub_config": hub_config,
        "split": split,
        "default_lang": default_lang,
        "languages": languages,
        "text_unit": text_unit,
        "skip_empty": skip_empty or None,
        "max_words": max_words,
        "sample_size": sample_size,
        "rate": rate,
        "allocation": allocation,
        "total": total,
        "cap_per_language": cap_per_language,
        "seed": seed,
    }
    options.update({k: v for k, v in given.items() if v is not None})
    if "source" not in options:
        raise ConfigError(
            "No corpus given: pass SOURCE (a file, folder or Hub dataset id) or a --config with 'source'."
        )
    config = make_config(**options)

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


sample.__doc__ = _HELP + "\n\n" + _EPILOG
