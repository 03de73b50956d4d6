"""Stream documents from a corpus source: a Hub dataset, JSONL/Parquet/CSV files, a BEIR folder, or plain text.

Every reader streams (one row or one batch at a time), so a corpus of any size passes through in
bounded memory. Rows are mapped to :class:`Document` by a column mapping detected from common names
(``_id``/``doc_id``/``id``, ``title``, ``text``/``contents``, ``passage_language``/``lang``/``language``) or given explicitly.

Bad input gets one :class:`~hfswim.errors.InputError` naming the file and row: a missing path, a
malformed JSON line or CSV row, a text that is not a string, an unknown language, or an empty text
(unless ``skip_empty`` is set, in which case empty documents are skipped and counted: real dumps
have a few, while in a hand-made corpus an empty row is usually a mistake).

Example::

    >>> from hfswim.corpus import demo_corpus_path
    >>> from hfswim.corpus.config import CorpusConfig
    >>> from hfswim.corpus.sources import iter_documents
    >>> doc = next(iter_documents(CorpusConfig(source=str(demo_corpus_path()))))
    >>> doc.lang
    'en'
"""

from __future__ import annotations

import csv
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hfswim.corpus.config import ColumnMapping, CorpusConfig
from hfswim.errors import HfswimError, InputError
from hfswim.io import iter_utf8_lines, open_parquet, resolve_files
from hfswim.languages import get_language

SUFFIXES: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl", ".json", ".jsonl.gz", ".json.gz"),
    "parquet": (".parquet",),
    "csv": (".csv", ".tsv", ".csv.gz", ".tsv.gz"),
    "text": (".txt",),
}
BEIR_CORPUS_FILES = ("corpus.jsonl", "corpus.jsonl.gz")
# Detected column names, most specific first.
COLUMN_CANDIDATES: dict[str, tuple[str, ...]] = {
    "id": ("doc_id", "_id", "id", "docid"),
    "title": ("title",),
    "text": ("text", "contents", "content", "passage", "body"),
    "lang": ("passage_language", "lang", "language"),  # passage_language: an `hfswim sample` file as a source
}


@dataclass(frozen=True)
class Document:
    """One source document, before chunking.

    Attributes:
        doc_id: the source's id (or ``<file>:<row>`` when the source has no id column).
        lang: SWIM-IR language code.
        title: the title, or ``None``.
        text: the full text.
        source: the file path or dataset id it came from.
    """

    doc_id: str
    lang: str
    title: str | None
    text: str
    source: str


@dataclass
class CorpusStats:
    """What a pass over the source saw: documents read, skipped, and passages produced."""

    documents: int = 0
    passages: int = 0
    skipped_empty: int = 0
    skipped_language: int = 0
    passages_per_language: dict[str, int] = field(default_factory=dict)


def detect_format(source: str) -> str:
    """The source format of a path (or ``hub`` for something that is not a local path).

    Raises:
        InputError: for a local-looking path that does not exist, or a folder with no known file.
    """
    path = Path(source)
    if not path.exists():
        looks_local = source.startswith((".", "/", "~")) or any(
            source.endswith(s) for v in SUFFIXES.values() for s in v
        )
        if looks_local or source.count("/") > 1:
            raise InputError(f"{source}: no such file or folder.")
        return "hub"
    if path.is_dir():
        if any((path / name).is_file() for name in BEIR_CORPUS_FILES):
            return "beir"
        found = {
            fmt
            for f in path.rglob("*")
            if f.is_file() and not f.name.startswith(".")
            for fmt, suffixes in SUFFIXES.items()
            if f.name.endswith(suffixes)
        }
        if len(found) == 1:
            return found.pop()
        if not found:
            known = ", ".join(s for v in SUFFIXES.values() for s in v)
            raise InputError(f"{source}: the folder holds no corpus file ({known}) and no BEIR corpus.jsonl.")
        raise InputError(f"{source}: the folder mixes {', '.join(sorted(found))} files; pass --format to pick one.")
    for fmt, suffixes in SUFFIXES.items():
        if path.name.endswith(suffixes):
            return fmt
    raise InputError(f"{source}: cannot tell the format from the file name; pass --format (jsonl, parquet, csv, text).")


def _utf8_lines(file: Path) -> Iterator[str]:
    """The file's lines, line ends kept (:func:`hfswim.io.iter_utf8_lines`: a byte that is not UTF-8 names its line)."""
    return (line for _, line in iter_utf8_lines(file))


def _newlines(lines: Iterator[str]) -> Iterator[str]:
    """Windows line ends as "\\n", as a text-mode read gives them (CSV keeps its own: the csv module wants them)."""
    return (line.replace("\r\n", "\n") for line in lines)


def _jsonl_rows(files: list[Path]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    from hfswim.io import iter_jsonl_file

    for file in files:
        for lineno, row in iter_jsonl_file(file):
            yield str(file), f"{file}:{lineno}", row


def _parquet_rows(files: list[Path]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for file in files:
        # pyarrow's defaults pre-buffer and read ahead: on a 180 MiB file they held the whole file in
        # memory. Unbuffered, single-threaded reads keep one column page at a time.
        reader = open_parquet(file, pre_buffer=False, buffer_size=1 << 20)
        row_number = 0
        for batch in reader.iter_batches(batch_size=1024, use_threads=False):
            for row in batch.to_pylist():
                row_number += 1
                yield str(file), f"{file}: row {row_number}", row


def _csv_rows(files: list[Path]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    csv.field_size_limit(sys.maxsize if sys.maxsize < 2**63 else 2**31 - 1)
    for file in files:
        delimiter = "\t" if ".tsv" in file.name else ","
        reader = csv.DictReader(_utf8_lines(file), delimiter=delimiter)
        try:
            for row in reader:
                if None in row or None in row.values():  # DictReader's marks for extra / missing fields
                    header = len(reader.fieldnames or [])
                    fields = header + len(row[None]) if None in row else sum(v is not None for v in row.values())
                    raise InputError(
                        f"{file}:{reader.line_num}: malformed row: {fields} fields where the header has {header}."
                    )
                yield str(file), f"{file}:{reader.line_num}", row
        except csv.Error as err:
            raise InputError(f"{file}:{reader.line_num}: malformed CSV ({err}).") from None


def _text_rows(files: list[Path], root: Path, unit: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for file in files:
        name = file.relative_to(root).with_suffix("").as_posix() if root.is_dir() else file.stem
        content = "".join(_newlines(_utf8_lines(file))) if unit == "file" else None
        if content is not None:
            yield str(file), f"{file}", {"id": name, "text": content}
            continue
        # One document per blank-line paragraph, streamed line by line (a final "" closes the last one).
        lines: list[str] = []
        start = number = 0
        for lineno, line in enumerate(itertools.chain(_newlines(_utf8_lines(file)), [""]), 1):
            if line.strip():
                if not lines:
                    start = lineno
                lines.append(line)
            elif lines:
                number += 1
                yield str(file), f"{file}:{start}", {"id": f"{name}:p{number}", "text": "".join(lines)}
                lines = []


def _hub_rows(config: CorpusConfig) -> Iterator[tuple[str, str, dict[str, Any]]]:
    import datasets

    path = Path(config.source)
    try:
        if path.is_file():  # one local file: datasets needs its builder and data_files
            builder = {"jsonl": "json", "parquet": "parquet", "csv": "csv", "text": "text"}[
                detect_format(config.source)
            ]
            dataset = datasets.load_dataset(builder, data_files=str(path), split="train", streaming=True)
        else:
            dataset = datasets.load_dataset(config.source, name=config.hub_config, split=config.split, streaming=True)
    except HfswimError:
        raise
    except Exception as err:  # datasets raises many kinds: not found, offline, bad config or split
        raise InputError(
            f"{config.source}: not a local file or folder, and it cannot be loaded as a Hub dataset "
            f"(config={config.hub_config}, split={config.split}): {type(err).__name__}: {err}"
        ) from None
    for index, row in enumerate(dataset):
        yield config.source, f"{config.source} [{config.split}] row {index}", row


def _raw_rows(config: CorpusConfig) -> Iterator[tuple[str, str, dict[str, Any]]]:
    fmt = detect_format(config.source) if config.format == "auto" else config.format
    if fmt == "hub":
        return _hub_rows(config)
    path = Path(config.source).expanduser()
    if fmt == "beir":
        if path.is_dir():
            corpus = next((path / n for n in BEIR_CORPUS_FILES if (path / n).is_file()), None)
            if corpus is None:
                raise InputError(f"{path}: not a BEIR folder (no corpus.jsonl or corpus.jsonl.gz).")
            return _jsonl_rows([corpus])
        return _jsonl_rows(resolve_files(path, SUFFIXES["jsonl"]))
    files = resolve_files(path, SUFFIXES[fmt])
    if fmt == "jsonl":
        return _jsonl_rows(files)
    if fmt == "parquet":
        return _parquet_rows(files)
    if fmt == "csv":
        return _csv_rows(files)
    return _text_rows(files, path, config.text_unit)


def _resolve_columns(row: dict[str, Any], mapping: ColumnMapping, where: str) -> dict[str, str | None]:
    """Map each passage field to a column of ``row``: the given name, else the first known name present."""
    resolved: dict[str, str | None] = {}
    for key, candidates in COLUMN_CANDIDATES.items():
        given = getattr(mapping, key)
        if given is not None:
            if given not in row:
                raise InputError(
                    f"{where}: no column {given!r} (the {key} column); the columns are: {', '.join(map(str, row))}."
                )
            resolved[key] = given
        else:
            resolved[key] = next((c for c in candidates if c in row), None)
    if resolved["text"] is None:
        raise InputError(
            f"{where}: no text column (looked for {', '.join(COLUMN_CANDIDATES['text'])}); the columns are: "
            f"{', '.join(map(str, row))}. Name it with --text-column."
        )
    return resolved


def iter_documents(config: CorpusConfig, stats: CorpusStats | None = None) -> Iterator[Document]:
    """Stream the source's documents as :class:`Document`, validated and language-filtered.

    Args:
        config: the corpus config (source, format, columns, languages, default_lang, skip_empty).
        stats: if given, counts documents read and skipped.

    Raises:
        InputError: for a missing source or a malformed, empty (without ``skip_empty``) or
            unknown-language row, naming the file and row.
    """
    stats = stats if stats is not None else CorpusStats()
    keep = set(config.languages) if config.languages else None
    lang_cache: dict[str, str] = {}
    columns: dict[str, str | None] | None = None
    current_source = None
    row_in_source = 0
    for source, where, row in _raw_rows(config):
        row_in_source += 1
        if columns is None or source != current_source:
            columns, current_source, row_in_source = _resolve_columns(row, config.columns, where), source, 1
            if columns["lang"] is None and config.default_lang is None:
                raise InputError(
                    f"{source}: the rows have no language column (lang or language); pass --default-lang "
                    "(e.g. --default-lang en) or name the column with --lang-column."
                )
        stats.documents += 1

        raw_lang = row.get(columns["lang"]) if columns["lang"] else None
        if raw_lang is None or raw_lang == "":
            if config.default_lang is None:
                raise InputError(f"{where}: the {columns['lang']!r} value is empty and no --default-lang is set.")
            lang = config.default_lang
        else:
            lang = lang_cache.get(raw_lang) if isinstance(raw_lang, str) else None
            if lang is None:
                try:
                    lang = get_language(str(raw_lang)).code
                except HfswimError as err:
                    raise InputError(f"{where}: {err}") from None
                lang_cache[raw_lang] = lang
        if keep is not None and lang not in keep:
            stats.skipped_language += 1
            continue

        if columns["text"] not in row:  # JSON lines need not share keys: columns come from a file's first row
            raise InputError(f"{where}: malformed row: no {columns['text']!r} field (the file's first row has one).")
        text = row[columns["text"]]
        if text is not None and not isinstance(text, str):
            raise InputError(f"{where}: the {columns['text']!r} value is a {type(text).__name__}, not a string.")
        # Without an id column the row number is the id: stable as long as the file is.
        doc_id = row.get(columns["id"]) if columns["id"] else f"{Path(source).name}:{row_in_source}"
        if doc_id is None or doc_id == "" or isinstance(doc_id, (dict, list)):
            raise InputError(f"{where}: the {columns['id']!r} value is missing.")
        if not text or not text.strip():
            if config.skip_empty:
                stats.skipped_empty += 1
                continue
            raise InputError(
                f"{where}: document {doc_id!s} has an empty text; fix the row or pass --skip-empty to skip such rows."
            )
        title = row.get(columns["title"]) if columns["title"] else None
        yield Document(
            doc_id=str(doc_id),
            lang=lang,
            title=str(title) if title not in (None, "") else None,
            text=text,
            source=source,
        )
