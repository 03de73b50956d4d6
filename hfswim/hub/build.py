"""Build a local Hugging Face dataset repo from hfswim records: Parquet configs per language + a dataset card.

Input: filtered records (``hfswim filter``'s ``kept.parquet``, or a folder of filtered Parquet: rows with a
``reject_filter`` are skipped) or plain generated records; optionally the generation ``manifest.json`` and
the filter ``quality_report.json`` for the card. Output: a folder that *is* the dataset repo (layout in
:mod:`hfswim.hub.layout`)::

    >>> import tempfile, pathlib, datasets
    >>> from hfswim.hub.build import build_dataset
    >>> from hfswim.io import AtomicParquetWriter
    >>> from hfswim.records import GENERATED_SCHEMA
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> with AtomicParquetWriter(tmp / "records.parquet", GENERATED_SCHEMA) as w:
    ...     w.write_rows([{"record_id": f"r{i}", "passage_id": f"d{i}#0", "title": "Nile", "text": "The Nile.",
    ...                    "passage_language": "en", "query_language": "sw", "setting": "cross-lingual",
    ...                    "query": "Mto mrefu zaidi?", "parse_status": "ok"} for i in range(3)])
    >>> result = build_dataset(tmp / "records.parquet", tmp / "repo")
    >>> datasets.get_dataset_config_names(str(tmp / "repo"))
    ['sw']
    >>> datasets.load_dataset(str(tmp / "repo"), "sw", split="train")[0]["query"]
    'Mto mrefu zaidi?'

Streaming and bounded memory: records are read in Arrow batches (only the needed columns), split per
config with vectorised compute, and written by one :class:`~hfswim.hub.shards.ShardWriter` per config that
buffers at most one row group. With a held-out split, each config also keeps the set of its passage ids
(to write each corpus passage once): about 100 bytes per distinct passage.

Incremental: building into an existing repo folder replaces the configs present in the new input and keeps
the others byte for byte (so a push re-uploads only the new language and the card). Build state — per-config
counts and provenance, the manifest and quality report of each input — lives in ``hfswim.json``, from which
the card is rendered; nothing time-dependent is written, so rebuilding the same input changes no file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hfswim.errors import ConfigError, InputError
from hfswim.hub.config import BuildConfig
from hfswim.hub.heldout import held_out_mask
from hfswim.hub.layout import (
    CORPUS_SCHEMA,
    DATA_DIR,
    EVAL_PARTS,
    EVAL_SCHEMAS,
    EVAL_SPLIT,
    HUB_SCHEMA,
    QRELS_SCHEMA,
    QUERIES_SCHEMA,
    STATE_FILE,
    TRAIN_SPLIT,
    config_name,
    eval_config_names,
)
from hfswim.hub.rows import ConfigSlice, InputStats, iter_record_batches, split_by_config
from hfswim.hub.shards import ShardWriter, remove_stale_staging
from hfswim.io import FolderLock, make_dir, read_text, write_json_atomic
from hfswim.languages import get_language
from hfswim.records import PASSAGE_LANGUAGE, canonical_json

logger = logging.getLogger(__name__)

LOCK_FILE = ".hfswim.lock"  # hidden: never pushed
CARD_TEMPLATE_FILE = ".hfswim-card-template"  # hidden: the custom card template's path on this machine
STATE_FORMAT = 1
MAX_PROVENANCE_VALUES = 20  # distinct models/templates/params listed per config in the card
_SECRET_KEYS = ("api_key", "apikey", "authorization", "headers", "secret", "password", "hf_token", "access_token")


@dataclass
class ConfigInfo:
    """One published config, as recorded in ``hfswim.json`` and shown in the card."""

    name: str
    code: str
    language: str
    setting: str
    passage_languages: list[str]
    rows: int
    train_rows: int
    train_shards: int
    heldout: dict[str, Any] | None = None
    provenance: dict[str, list[str]] = field(default_factory=dict)
    run: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfigInfo:
        return cls(**data)


@dataclass
class BuildResult:
    """What :func:`build_dataset` wrote."""

    folder: Path
    built: list[str]  # configs (re)built from this input
    configs: list[ConfigInfo]  # every train config in the repo after the build, by name
    stats: InputStats
    card_path: Path

    def config(self, name: str) -> ConfigInfo:
        """The config called ``name`` (KeyError if the repo has none)."""
        for info in self.configs:
            if info.name == name:
                return info
        raise KeyError(name)


class _ConfigBuild:
    """Writers and counters of one config while the input streams."""

    def __init__(self, folder: Path, name: str, code: str, setting: str, config: BuildConfig):
        self.name, self.code, self.setting = name, code, setting
        kwargs = {
            "shard_rows": config.shard_rows,
            "shard_bytes": config.shard_bytes,
            "row_group_rows": config.row_group_rows,
            "buffer_bytes": config.buffer_bytes,
        }
        self.train = ShardWriter(folder, name, TRAIN_SPLIT, HUB_SCHEMA, **kwargs)
        self.eval: dict[str, ShardWriter] = {}
        if config.heldout_fraction > 0:
            names = eval_config_names(name)
            self.eval = {
                part: ShardWriter(folder, names[part], EVAL_SPLIT, EVAL_SCHEMAS[part], **kwargs) for part in EVAL_PARTS
            }
        self.fraction, self.seed = config.heldout_fraction, config.seed
        self.rows = 0
        self.heldout_queries = 0
        self.corpus_ids: set[str] = set()
        self.provenance: dict[str, set[str]] = {}

    def add(self, piece: ConfigSlice) -> None:
        table = piece.table
        self.rows += table.num_rows
        for key, values in piece.provenance.items():
            bucket = self.provenance.setdefault(key, set())
            if len(bucket) < MAX_PROVENANCE_VALUES:
                bucket.update(sorted(values)[: MAX_PROVENANCE_VALUES - len(bucket)])
        if not self.eval:
            self.train.write(table)
            return
        held = held_out_mask(table.column("passage_id"), self.fraction, self.seed)
        self.train.write(table.filter(pc.invert(held)))
        test = table.filter(held)
        self.heldout_queries += test.num_rows
        if test.num_rows:
            self.eval["queries"].write(
                pa.table({"_id": test.column("_id"), "text": test.column("query")}, schema=QUERIES_SCHEMA)
            )
            self.eval["qrels"].write(
                pa.table(
                    {
                        "query-id": test.column("_id"),
                        "corpus-id": test.column("passage_id"),
                        "score": pa.repeat(1, test.num_rows).cast(pa.int64()),
                    },
                    schema=QRELS_SCHEMA,
                )
            )
        passage_ids = table.column("passage_id").to_pylist()
        new = []
        for index, pid in enumerate(passage_ids):
            if pid not in self.corpus_ids:
                self.corpus_ids.add(pid)
                new.append(index)
        if new:
            rows = table.take(pa.array(new, pa.int64()))
            self.eval["corpus"].write(
                pa.table(
                    {"_id": rows.column("passage_id"), "title": rows.column("title"), "text": rows.column("text")},
                    schema=CORPUS_SCHEMA,
                )
            )

    def writers(self) -> list[ShardWriter]:
        return [self.train, *self.eval.values()]

    def commit(self, run: str, folder: Path) -> ConfigInfo:
        shards = self.train.commit()
        heldout = None
        if self.eval and self.heldout_queries == 0:
            # No passage of this config fell into the held-out draw: an MTEB split without queries
            # would be an unloadable config, so the config gets no held-out split this time.
            for writer in self.eval.values():
                writer.abort()
            self.eval = {}
        if self.eval:
            for writer in self.eval.values():
                writer.commit()
            heldout = {
                "fraction": self.fraction,
                "seed": self.seed,
                "queries": self.heldout_queries,
                "corpus": len(self.corpus_ids),
                "configs": eval_config_names(self.name),
            }
        else:  # a rebuild without a held-out split drops the previous one
            _remove_eval_configs(folder, self.name)
        passage_languages = sorted(self.provenance.pop(PASSAGE_LANGUAGE, set()))
        return ConfigInfo(
            name=self.name,
            code=self.code,
            language=get_language(self.code).english_name,
            setting=self.setting,
            passage_languages=passage_languages,
            rows=self.rows,
            train_rows=self.train.rows_written,
            train_shards=len(shards),
            heldout=heldout,
            provenance={k: sorted(v) for k, v in sorted(self.provenance.items())},
            run=run,
        )


def _remove_eval_configs(folder: Path, name: str) -> None:
    import shutil

    for eval_name in eval_config_names(name).values():
        shutil.rmtree(folder / DATA_DIR / eval_name, ignore_errors=True)


def load_state(folder: str | os.PathLike, check_format: bool = True) -> dict[str, Any] | None:
    """The build state of a repo folder (``hfswim.json``), or None for a new folder.

    ``check_format=False``: any format is returned (a reader of a few fields, e.g. the evaluation's passage
    languages, need not refuse a folder an older hfswim built; a build that extends the folder must).
    """
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: malformed build state ({err.msg}).") from None
    if check_format and state.get("format") != STATE_FORMAT:
        raise InputError(f"{path}: build state format {state.get('format')!r}, this hfswim reads {STATE_FORMAT}.")
    return state


def check_shard_schemas(folder: str | os.PathLike) -> None:
    """Every shard already in the repo must have the schema this build writes for its config.

    Raises:
        InputError: naming the first shard whose columns or types differ.
    """
    data_dir = Path(folder) / DATA_DIR
    if not data_dir.is_dir():
        return
    for config_dir in sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for shard in sorted(config_dir.glob("*.parquet")):
            part = next((p for p in EVAL_PARTS if config_dir.name.endswith(f"-{p}")), None)
            expected = EVAL_SCHEMAS[part] if part and shard.name.startswith(f"{EVAL_SPLIT}-") else HUB_SCHEMA
            try:
                actual = pq.read_schema(shard)
            except (OSError, pa.ArrowInvalid) as err:
                raise InputError(f"{shard}: unreadable Parquet shard ({err}).") from None
            if not actual.remove_metadata().equals(expected):
                raise InputError(f"{shard}: schema mismatch with this build: {_schema_diff(actual, expected)}.")


def _schema_diff(actual: pa.Schema, expected: pa.Schema) -> str:
    missing = [n for n in expected.names if n not in actual.names]
    extra = [n for n in actual.names if n not in expected.names]
    typed = [
        f"{n} is {actual.field(n).type}, expected {expected.field(n).type}"
        for n in expected.names
        if n in actual.names and actual.field(n).type != expected.field(n).type
    ]
    parts = []
    if missing:
        parts.append("missing column(s) " + ", ".join(missing))
    if extra:
        parts.append("unexpected column(s) " + ", ".join(extra))
    parts.extend(typed)
    if not parts and actual.names != expected.names:
        parts.append(f"column order {actual.names}")
    return "; ".join(parts) or "nullability differs"


def _read_json(path: Path | None, what: str) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(read_text(path, what))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: malformed {what} ({err.msg}).") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object for the {what}.")
    return data


def scrub_secrets(obj: Any) -> Any:
    """Drop credential-like keys and token-looking strings before anything reaches the card."""
    if isinstance(obj, dict):
        return {
            k: scrub_secrets(v)
            for k, v in obj.items()
            if not any(s in str(k).lower() for s in _SECRET_KEYS)
            and not (isinstance(v, str) and v.startswith(("hf_", "Bearer ", "sk-")))
        }
    if isinstance(obj, list):
        return [scrub_secrets(v) for v in obj if not (isinstance(v, str) and v.startswith(("hf_", "Bearer ", "sk-")))]
    return obj


_LOOPBACK = ("127.", "localhost", "[::1]", "0.0.0.0")


def scrub_local(obj: Any) -> Any:
    """Drop what only means something on this machine before it is published: absolute paths become their
    file name, loopback/private URLs are removed (the embedded server's ``http://127.0.0.1:PORT``).

    >>> scrub_local({"model_id": "/root/.cache/hfswim/models/gemma", "url": "http://127.0.0.1:4000", "k": 1})
    {'model_id': 'gemma', 'k': 1}
    """
    from urllib.parse import urlparse

    def local_url(value: str) -> bool:
        if "://" not in value:
            return False
        host = urlparse(value).hostname or ""
        return host.startswith(_LOOPBACK) or host in ("localhost", "::1", "0.0.0.0")

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            if local_url(value):
                return None
            if value.startswith(("/", "~/")) or (len(value) > 2 and value[1:3] in (":\\", ":/")):
                return Path(value).name
        return scrub_local(value)

    if isinstance(obj, dict):
        cleaned = {k: clean(v) for k, v in obj.items()}
        return {k: v for k, v in cleaned.items() if not (v is None and isinstance(obj[k], str))}
    if isinstance(obj, list):
        return [c for c in (clean(v) for v in obj) if c is not None]
    return obj


def build_dataset(
    records: str | os.PathLike,
    output: str | os.PathLike,
    config: BuildConfig | None = None,
) -> BuildResult:
    """Stream ``records`` into the dataset repo folder ``output`` and (re)render its card.

    Args:
        records: a Parquet file or folder of filtered/generated records.
        output: the repo folder (created; an existing hfswim repo is updated config by config).
        config: options; default :class:`~hfswim.hub.config.BuildConfig`'s.

    Raises:
        InputError: no publishable record, a requested language without records, a malformed row,
            an existing shard with another schema.
        ConfigError: records of a setting the existing repo's layout does not hold.
    """
    config = config or BuildConfig()
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder.")
    make_dir(folder)
    # Two builds into one folder would delete each other's staging shards and drop each other's configs
    # from hfswim.json and the card: the second one stops here, naming the first.
    with lock_repo_folder(folder):
        return _build_locked(records, folder, config)


def lock_repo_folder(folder: Path) -> FolderLock:
    """The exclusive lock that build-dataset and push-dataset hold on a dataset repo folder."""
    return FolderLock(
        folder, LOCK_FILE, "hfswim build-dataset/push-dataset", "wait for it to finish, or use another folder"
    )


def _build_locked(records: str | os.PathLike, folder: Path, config: BuildConfig) -> BuildResult:
    from hfswim.hub.card import write_card

    state = load_state(folder)
    if state is None and folder.is_dir() and any((folder / DATA_DIR).glob("*/*.parquet")):
        raise InputError(f"{folder}: holds Parquet shards but no {STATE_FILE}; build into a new folder.")
    layout = config.layout or (state or {}).get("layout") or "both"
    if state is not None and config.layout is not None and state["layout"] != config.layout:
        raise ConfigError(f"{folder}: this repo was built with layout {state['layout']!r}, not {config.layout!r}.")
    check_shard_schemas(folder)
    remove_stale_staging(folder)

    manifest = scrub_local(scrub_secrets(_read_json(config.manifest, "generation manifest")))
    report = scrub_local(scrub_secrets(_read_json(config.quality_report, "quality report")))
    stats = InputStats()
    builds: dict[str, _ConfigBuild] = {}
    wanted = set(config.languages) if config.languages else None
    from hfswim.progress import parquet_rows, progress_bar

    bar = progress_bar("build-dataset", total=parquet_rows(records), unit="row")
    try:
        for file, first_row, batch in iter_record_batches(records, batch_size=config.batch_size):
            bar.update(batch.num_rows)
            for piece in split_by_config(batch, file, first_row, stats):
                if wanted is not None and piece.code not in wanted:
                    stats.drop("language not selected", piece.table.num_rows)
                    stats.rows_kept -= piece.table.num_rows
                    continue
                name = config_name(piece.code, piece.setting, layout)  # type: ignore[arg-type]
                if name not in builds:
                    builds[name] = _ConfigBuild(folder, name, piece.code, piece.setting, config)
                builds[name].add(piece)
        if not builds:
            raise InputError(
                f"{records}: no publishable record ({stats.rows_read} read; dropped: "
                f"{', '.join(f'{k}: {v}' for k, v in stats.dropped.items()) or 'none'})."
            )
        if wanted is not None:
            empty = sorted(wanted - {b.code for b in builds.values()})
            if empty:
                raise InputError(f"{records}: language(s) {', '.join(empty)}: no publishable record (empty language).")
    except BaseException:
        for build in builds.values():
            for writer in build.writers():
                writer.abort()
        raise
    finally:
        bar.close()

    run = hashlib.blake2b(canonical_json([manifest, report, sorted(builds)]).encode("utf-8"), digest_size=6).hexdigest()
    infos = {name: build.commit(run, folder) for name, build in sorted(builds.items())}

    state = state or {"format": STATE_FORMAT, "layout": layout, "configs": {}, "runs": {}}
    state.update(license=config.license, pretty_name=config.pretty_name)
    if config.card_template is not None:  # push re-renders the card: with the same template
        # A machine path: kept in a hidden file (never pushed), not in the published hfswim.json.
        state.pop("card_template", None)
        from hfswim.io import write_text_atomic

        write_text_atomic(folder / CARD_TEMPLATE_FILE, str(Path(config.card_template).resolve()) + "\n")
    if config.source_datasets or "source_datasets" not in state:
        state["source_datasets"] = config.source_datasets
    configs = {**state["configs"], **{name: info.__dict__ for name, info in infos.items()}}
    state["configs"] = dict(sorted(configs.items()))
    state["runs"][run] = {
        "inputs": sorted(Path(p).name for p in _input_names(records)),
        "rows_read": stats.rows_read,
        "rows_published": stats.rows_kept,
        "dropped": dict(sorted(stats.dropped.items())),
        "manifest": manifest,
        "quality_report": report,
    }
    live_runs = {c["run"] for c in state["configs"].values()}
    state["runs"] = {k: v for k, v in sorted(state["runs"].items()) if k in live_runs}
    _verify_counts(folder, state)
    write_json_atomic(folder / STATE_FILE, state)
    draw_funnel(folder, state)
    card_path = write_card(folder, state, template_path=config.card_template)
    return BuildResult(
        folder=folder,
        built=sorted(infos),
        configs=[ConfigInfo.from_dict(v) for v in state["configs"].values()],
        stats=stats,
        card_path=card_path,
    )


def draw_funnel(folder: Path, state: dict[str, Any]) -> Path | None:
    """The card's chart (``images/filter_funnel.png``): per language, the queries kept and those each filter
    rejected, from the quality reports of the builds in the repo. None (and no file) without a report."""
    from hfswim.hub.card import FUNNEL_IMAGE

    per_language: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for run in state["runs"].values():
        report = run.get("quality_report") or {}
        for name in report.get("execution_order") or report.get("per_filter") or []:
            if name not in order:
                order.append(str(name))
        for code, entry in (report.get("per_language") or {}).items():
            if not isinstance(entry, dict):
                continue
            target = per_language.setdefault(code, {"kept": 0, "rejected": {}})
            target["kept"] += int(entry.get("kept", 0))
            for name, counts in (entry.get("by_filter") or {}).items():
                if isinstance(counts, dict) and counts.get("rejected"):
                    target["rejected"][name] = target["rejected"].get(name, 0) + int(counts["rejected"])
    path = folder / FUNNEL_IMAGE
    if not per_language:
        path.unlink(missing_ok=True)
        return None
    try:
        from hfswim.report.charts import funnel_chart
    except ImportError:  # matplotlib missing: the card goes without its chart
        return None
    return funnel_chart(per_language, order, path)


def _input_names(records: str | os.PathLike) -> list[Path]:
    from hfswim.io import PARQUET_SUFFIXES, resolve_files

    return resolve_files(records, PARQUET_SUFFIXES)


def _verify_counts(folder: Path, state: dict[str, Any]) -> None:
    """The shards on disk hold exactly the rows the state says (catches a hand-edited repo)."""
    for name, info in state["configs"].items():
        shards = sorted((folder / DATA_DIR / name).glob(f"{TRAIN_SPLIT}-*.parquet"))
        rows = sum(pq.ParquetFile(s).metadata.num_rows for s in shards)
        if rows != info["train_rows"] or len(shards) != info["train_shards"]:
            raise InputError(
                f"{folder / DATA_DIR / name}: {len(shards)} shard(s) with {rows} rows on disk, but {STATE_FILE} "
                f"records {info['train_shards']} with {info['train_rows']}; rebuild that language."
            )
