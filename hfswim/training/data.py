"""Training pairs from any hfswim source, normalised to ``(anchor, positive, lang)``.

Three kinds of input land here, and all leave as one :class:`datasets.Dataset` with the columns
``anchor`` (the query), ``positive`` (``title + " " + text``, or the text alone) and ``lang``
(the query language code):

* a Hub dataset id with one config per language (SWIM-IR: ``nthakur/swim-ir-cross-lingual``);
* a local dataset folder written by ``hfswim build-dataset`` (``data/<lang>/train-*.parquet``,
  configs declared in its README), or any folder ``datasets`` can load;
* Parquet/JSONL files from the pipeline (``hfswim generate`` / ``hfswim filter``): filtered-out rows
  (``reject_filter`` set) and unparsed generations (``parse_status != "ok"``) are dropped.

The sentence-transformers trainer then gets either one concatenated dataset (batches mix
languages) or a ``DatasetDict`` with one dataset per language (each batch holds one language):
see :func:`for_batching`.

Example::

    >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> path = tempfile.mkdtemp() + "/pairs.parquet"
    >>> pq.write_table(pa.table({"query": ["wapi mto?"], "title": ["Nile"], "text": ["The Nile is a river."],
    ...                          "query_language": ["sw"]}), path)
    >>> pairs = load_pairs(path)
    >>> pairs[0]
    {'anchor': 'wapi mto?', 'positive': 'Nile The Nile is a river.', 'query_language': 'sw'}
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hfswim.errors import ConfigError, HfswimError, InputError
from hfswim.languages import SETTINGS, get_language, languages_in
from hfswim.records import HUB_LANGUAGE_CODE, HUB_LANGUAGE_NAME, QUERY_LANGUAGE, old_names

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict

logger = logging.getLogger(__name__)

PAIR_COLUMNS = ["anchor", "positive", QUERY_LANGUAGE]
# Accepted spellings, first match wins. SWIM-IR's own `lang` holds English names ("Swahili")
# and `code` the code, so codes are preferred; names are mapped back to codes below.
QUERY_COLUMNS = ("query", "anchor")
PASSAGE_COLUMNS = ("text", "positive", "passage")
TITLE_COLUMNS = ("title",)
LANG_COLUMNS = (
    QUERY_LANGUAGE,  # hfswim records and published rows
    HUB_LANGUAGE_CODE,  # SWIM-IR's published code
    *old_names(QUERY_LANGUAGE),  # records written before the rename
    HUB_LANGUAGE_NAME,  # SWIM-IR's English name ("Swahili"), mapped back to a code
    "language",
)
# Held-out configs of a dataset built by `hfswim build-dataset` (MTEB retrieval layout).
HELDOUT_SUFFIXES = ("-corpus", "-queries", "-qrels")


@dataclass
class HeldOut:
    """Held-out retrieval data for one language, shaped for ``InformationRetrievalEvaluator``."""

    lang: str
    queries: dict[str, str]
    corpus: dict[str, str]
    relevant_docs: dict[str, set[str]]


def parse_language_list(languages: list[str] | str | None) -> list[str] | None:
    """Language codes as given, with SWIM-IR setting names (``xor``, ``miracl``, ``indic``) expanded.

    Codes outside the 33 SWIM-IR languages are kept: a dataset's configs decide what exists.

    >>> parse_language_list("sw, xor")[:3]
    ['sw', 'ar', 'bn']
    """
    if languages is None:
        return None
    items = languages.split(",") if isinstance(languages, str) else languages
    out: list[str] = []
    for item in (i.strip() for i in items):
        group = [lang.code for lang in languages_in(item.lower())] if item.lower() in SETTINGS else [item]
        out.extend(code for code in group if code and code not in out)
    return out or None


def load_pairs(
    source: str | Path,
    languages: list[str] | str | None = None,
    split: str = "train",
    max_samples_per_language: int | None = None,
    seed: int = 42,
    parallel_passages: str | Path | None = None,
) -> Dataset:
    """Load ``source`` as ``(anchor, positive, lang)`` pairs.

    ``languages`` selects configs of a dataset with one config per language (``sw``, ``sw-mono``, ...),
    or filters the ``lang`` column of a single-table source. ``parallel_passages`` (a passages file) replaces
    each row's passage by the one with the same document id (:mod:`hfswim.training.parallel`).

    Raises:
        InputError: no such path, or a required column is missing (named, with the columns found).
        ConfigError: a requested language has no config (the available configs are listed).
    """
    from datasets import concatenate_datasets

    wanted = parse_language_list(languages)
    raw = list(_load_raw(str(source), wanted, split))
    if parallel_passages is not None:
        from hfswim.training.parallel import load_parallel_passages, swap_positives

        passages = load_parallel_passages(parallel_passages)
        swapped = []
        for ds, origin, config in raw:
            ds, dropped = swap_positives(ds, passages, origin)
            if dropped:
                logger.warning(
                    "%s: %d rows have no parallel passage in %s (dropped)", origin, dropped, parallel_passages
                )
            swapped.append((ds, origin, config))
        raw = swapped
    parts = [_normalise(ds, origin, config) for ds, origin, config in raw]
    if not parts:
        raise InputError(f"{source}: no {split!r} rows to train on (a dataset of held-out configs only?).")
    pairs = concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    selected_by_config = any(config is not None for _, _, config in raw)
    if wanted is not None and not selected_by_config:
        present = set(pairs.unique(QUERY_LANGUAGE))
        missing = [lang for lang in wanted if lang not in present]
        if missing:
            raise ConfigError(
                f"{source}: no training pairs for language(s) {', '.join(missing)}; "
                f"languages in the data: {', '.join(sorted(present)) or 'none'}."
            )
        pairs = pairs.filter(lambda batch: [lang in wanted for lang in batch[QUERY_LANGUAGE]], batched=True)
    if max_samples_per_language:
        pairs = _cap_per_language(pairs, max_samples_per_language, seed)
    if len(pairs) == 0:
        raise InputError(f"{source}: no usable (query, passage) pairs after dropping rejected and empty rows.")
    return pairs


def dataset_configs(source: str | Path) -> list[str] | None:
    """The configs of a Hub id or dataset folder; None for plain files (or a folder without configs)."""
    import datasets

    path = Path(source).expanduser()
    if path.is_file() or (path.is_dir() and not _is_dataset_repo(path)):
        return None
    try:
        configs = datasets.get_dataset_config_names(str(path) if path.exists() else str(source))
    except Exception:
        return None
    return None if configs == ["default"] else configs


def load_mteb_heldout(source: str | Path, languages: list[str] | str | None = None) -> list[HeldOut]:
    """The held-out split ``hfswim build-dataset`` writes in MTEB's layout (``<config>-corpus/-queries/-qrels``).

    Returns one :class:`HeldOut` per training config that has the three parts; ``[]`` when there are none.
    """
    import datasets

    configs = dataset_configs(source) or []
    wanted = parse_language_list(languages)
    repo = str(Path(source).expanduser()) if Path(source).expanduser().exists() else str(source)
    tasks = []
    for config in [c for c in configs if not c.endswith(HELDOUT_SUFFIXES)]:
        if wanted is not None and config not in wanted:
            continue
        parts = [f"{config}{suffix}" for suffix in HELDOUT_SUFFIXES]
        if not all(p in configs for p in parts):
            continue
        corpus_ds, queries_ds, qrels_ds = (datasets.load_dataset(repo, p, split="test") for p in parts)
        corpus = {r["_id"]: f"{r.get('title') or ''} {r['text']}".strip() for r in corpus_ds}
        queries = {r["_id"]: r["text"] for r in queries_ds}
        relevant: dict[str, set[str]] = defaultdict(set)
        for r in qrels_ds:
            if r["score"] > 0:
                relevant[r["query-id"]].add(r["corpus-id"])
        tasks.append(HeldOut(config, queries, corpus, dict(relevant)))
    return tasks


def _looks_like_path(source: str) -> bool:
    # A Hub id is "name" or "owner/name"; anything else that does not exist is a missing local path.
    return (
        source.startswith((".", "/", "~"))
        or source.count("/") > 1
        or "\\" in source
        or source.endswith((".parquet", ".jsonl", ".json"))
    )


def check_record_files(source: str) -> None:
    """Fail fast (before any model loads) on a local source that is missing, of another format, or not Parquet.

    Hub ids and dataset repo folders are checked when they load.
    """
    path = Path(source).expanduser()
    if path.is_file() or (path.is_dir() and not _is_dataset_repo(path)):
        _record_files(path)
    elif not path.exists() and _looks_like_path(source):
        raise InputError(f"{source}: no such file or folder.")


def _record_files(path: Path) -> tuple[list[Path], str]:
    from hfswim.io import JSONL_SUFFIXES, PARQUET_SUFFIXES, open_parquet, resolve_files

    files = resolve_files(path)
    kinds = {"parquet" if f.name.endswith(PARQUET_SUFFIXES) else "json" for f in files}
    odd = [f for f in files if not f.name.endswith(PARQUET_SUFFIXES + JSONL_SUFFIXES)]
    if odd or len(kinds) > 1:
        raise InputError(
            f"{odd[0] if odd else path}: expected records as Parquet (.parquet) or JSON lines (.jsonl), "
            "all of one kind (e.g. the kept.parquet of `hfswim filter`)."
        )
    builder = kinds.pop()
    if builder == "parquet":
        for file in files:
            open_parquet(file)  # a truncated or non-Parquet file: one line naming it
    return files, builder


def _load_record_files(datasets: Any, path: Path) -> Any:
    """Parquet or JSONL record files as one ``datasets.Dataset``; a file of another format is an InputError."""
    files, builder = _record_files(path)
    try:
        return datasets.load_dataset(builder, data_files=[str(f) for f in files], split="train")
    except datasets.exceptions.DatasetGenerationError as err:
        cause = err.__cause__ or err
        detail = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise InputError(f"{path}: cannot read the records ({type(cause).__name__}: {detail}).") from None


def _load_raw(source: str, wanted: list[str] | None, split: str):
    """Yield ``(dataset, origin, config_language)`` triples for the requested languages."""
    import datasets

    path = Path(source).expanduser()
    if path.is_file() or (path.is_dir() and not _is_dataset_repo(path)):
        yield _load_record_files(datasets, path), source, None
        return
    if not path.exists() and _looks_like_path(source):
        raise InputError(f"{source}: no such file or folder.")

    repo = str(path) if path.exists() else source
    try:
        configs = datasets.get_dataset_config_names(repo)
    except Exception as err:  # offline, private, or not a dataset: say which
        raise InputError(f"{source}: cannot list the dataset's configs ({type(err).__name__}: {err}).") from err
    train_configs = [c for c in configs if not c.endswith(HELDOUT_SUFFIXES)]
    if train_configs == ["default"] or (wanted is None and len(train_configs) == 1):
        # One config holding every language: filter by the language column instead.
        yield _load_split(repo, train_configs[0], split), source, None
        return
    chosen = train_configs if wanted is None else wanted
    unknown = [lang for lang in chosen if lang not in train_configs]
    if unknown:
        raise ConfigError(
            f"{source}: unknown language config(s) {', '.join(unknown)}; available configs: {', '.join(train_configs)}."
        )
    for config in chosen:
        yield _load_split(repo, config, split), f"{source} [{config}]", config


def _is_dataset_repo(path: Path) -> bool:
    return (path / "README.md").is_file() or (path / "data").is_dir()


def _load_split(repo: str, config: str, split: str) -> Dataset:
    import datasets

    try:
        return datasets.load_dataset(repo, config, split=split)
    except ValueError as err:  # unknown split
        raise ConfigError(f"{repo} [{config}]: cannot load split {split!r}: {err}") from err


def _first_present(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c in columns), None)


@lru_cache(maxsize=256)
def _language_code(value: str) -> str:
    try:
        return get_language(value).code
    except HfswimError:
        return value


def _normalise(ds: Dataset, origin: str, config_lang: str | None) -> Dataset:
    columns = ds.column_names
    query_col = _first_present(columns, QUERY_COLUMNS)
    text_col = _first_present(columns, PASSAGE_COLUMNS)
    for role, found, options in (("query", query_col, QUERY_COLUMNS), ("passage", text_col, PASSAGE_COLUMNS)):
        if found is None:
            raise InputError(
                f"{origin}: missing column {options[0]!r} (the {role}; also accepted: "
                f"{', '.join(repr(o) for o in options[1:])}). Columns found: {', '.join(columns)}."
            )
    title_col = _first_present(columns, TITLE_COLUMNS)
    lang_col = _first_present(columns, LANG_COLUMNS)

    if "reject_filter" in columns:
        ds = ds.filter(lambda b: [r is None for r in b["reject_filter"]], batched=True)
    if "parse_status" in columns:
        ds = ds.filter(lambda b: [s in (None, "ok") for s in b["parse_status"]], batched=True)

    def to_pairs(batch):
        n = len(batch[query_col])
        titles = batch[title_col] if title_col else [None] * n
        langs = batch[lang_col] if lang_col else [config_lang or "und"] * n
        out = {"anchor": [], "positive": [], QUERY_LANGUAGE: []}
        for query, title, text, lang in zip(batch[query_col], titles, batch[text_col], langs, strict=False):
            query, text = (query or "").strip(), (text or "").strip()
            if not query or not text:
                continue
            title = (title or "").strip()
            out["anchor"].append(query)
            out["positive"].append(f"{title} {text}" if title else text)
            # The row's language column wins (config "sw-mono" holds language "sw"); else the config name.
            out[QUERY_LANGUAGE].append(_language_code(lang) if lang else config_lang or "und")
        return out

    pairs = ds.map(to_pairs, batched=True, remove_columns=columns, desc=f"Normalising {origin}")
    return pairs.select_columns(PAIR_COLUMNS)  # a source `query_language` column would otherwise keep its position


def _cap_per_language(pairs: Dataset, cap: int, seed: int) -> Dataset:
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(pairs[QUERY_LANGUAGE]):
        by_lang[lang].append(i)
    rng = random.Random(seed)
    keep = sorted(i for idx in by_lang.values() for i in (rng.sample(idx, cap) if len(idx) > cap else idx))
    return pairs.select(keep)


def split_heldout(
    pairs: Dataset, fraction: float, max_queries: int = 500, seed: int = 42
) -> tuple[Dataset, Dataset | None]:
    """Hold out ``fraction`` of the *passages* (with all their queries), at most ``max_queries`` queries.

    Splitting by passage keeps a held-out passage out of training altogether, so the held-out
    score measures retrieval of unseen passages rather than memorised ones.
    """
    if fraction <= 0:
        return pairs, None
    passages = sorted(set(pairs["positive"]))
    rng = random.Random(seed)
    rng.shuffle(passages)
    n_held = max(1, round(fraction * len(passages)))
    if n_held >= len(passages):
        raise ConfigError(f"eval_fraction={fraction} leaves no training passages ({len(passages)} passages in all).")
    held = set(passages[:n_held])
    held_idx, train_idx = [], []
    for i, positive in enumerate(pairs["positive"]):
        (held_idx if positive in held else train_idx).append(i)
    rng.shuffle(held_idx)
    return pairs.select(train_idx), pairs.select(sorted(held_idx[:max_queries]))


def heldout_by_language(heldout: Dataset, train: Dataset | None = None, distractors: int = 1000) -> list[HeldOut]:
    """Per-language retrieval tasks: held-out queries against held-out passages plus training distractors.

    Training passages of the same language join the corpus (up to ``distractors``) so that the task
    is not trivially small; they are never relevant, since held-out passages are disjoint from them.
    """
    tasks: dict[str, HeldOut] = {}
    passage_ids: dict[str, str] = {}
    for row in heldout:
        task = tasks.setdefault(row[QUERY_LANGUAGE], HeldOut(row[QUERY_LANGUAGE], {}, {}, {}))
        pid = passage_ids.setdefault(row["positive"], f"p{len(passage_ids)}")
        task.corpus[pid] = row["positive"]
        qid = f"q{sum(len(t.queries) for t in tasks.values())}"
        task.queries[qid] = row["anchor"]
        task.relevant_docs[qid] = {pid}
    if train is not None and distractors:
        counts: dict[str, int] = defaultdict(int)
        for lang, positive in zip(train[QUERY_LANGUAGE], train["positive"], strict=False):
            if lang in tasks and counts[lang] < distractors and positive not in passage_ids:
                passage_ids[positive] = f"d{len(passage_ids)}"
                tasks[lang].corpus[passage_ids[positive]] = positive
                counts[lang] += 1
    return [tasks[lang] for lang in sorted(tasks)]


def for_batching(pairs: Dataset, batching: str, columns: list[str] | None = None) -> Dataset | DatasetDict:
    """The trainer's input: one dataset (mixed-language batches) or one per language (single-language batches).

    sentence-transformers turns a ``DatasetDict`` into a ``ConcatDataset`` with one batch sampler per
    sub-dataset, so every batch comes from exactly one language; the multi-dataset batch sampler
    (round-robin or proportional) decides which language comes next.
    """
    from datasets import DatasetDict

    keep = columns or [c for c in pairs.column_names if c != QUERY_LANGUAGE]
    if batching == "mixed":
        return pairs.select_columns(keep)
    if batching != "single-language":
        raise ConfigError(f"batching must be 'mixed' or 'single-language', not {batching!r}.")
    langs = sorted(set(pairs[QUERY_LANGUAGE]))
    groups: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(pairs[QUERY_LANGUAGE]):
        groups[lang].append(i)
    return DatasetDict({lang: pairs.select(groups[lang]).select_columns(keep) for lang in langs})
