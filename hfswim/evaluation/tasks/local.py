"""Local retrieval tasks: BEIR folders and hfswim held-out splits in MTEB layout.

Two layouts are read, with one subset per language:

* **BEIR**: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
  ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score`` with a header). A folder of such
  folders (``beir/de``, ``beir/zh``, ``beir_xling/de-en``) is one multilingual task, a subset per folder.
* **MTEB layout**, as ``hfswim build-dataset`` (under ``data/``) and mteb's ``push_to_hub`` write it: config
  folders ``<lang>-corpus``, ``<lang>-queries``, ``<lang>-qrels`` (or ``corpus``/``queries``/``qrels``) of
  Parquet or JSON-lines files, split files named ``<split>*.parquet``.

Subset names are language codes (``de``) or pairs (``de-en``: German queries, English passages);
they become the task's ``eval_langs``.

Example (skipped as a test: it reads a BEIR folder relative to a checkout)::

    >>> task = local_retrieval_task("tests/evaluation/fixtures/beir_multi")  # doctest: +SKIP
    >>> task.metadata.eval_langs  # doctest: +SKIP
    {'de': ['deu-Latn'], 'en': ['eng-Latn']}
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfswim.errors import InputError

from ._common import split_data, subset_languages

_TABULAR = (".parquet", ".jsonl", ".json", ".jsonl.gz")


@dataclass
class LocalSource:
    """Where one subset's data lives."""

    subset: str
    layout: str  # "beir" | "mteb"
    root: Path


def _is_beir(folder: Path) -> bool:
    return (folder / "corpus.jsonl").is_file() or (folder / "queries.jsonl").is_file()


def _mteb_configs(folder: Path) -> list[str]:
    """Subset names of an MTEB-layout folder (``de`` for ``de-corpus``; ``default`` for bare ``corpus``)."""
    names = {p.name for p in folder.iterdir() if p.is_dir()}
    subsets = sorted(n[: -len("-corpus")] for n in names if n.endswith("-corpus"))
    if "corpus" in names:
        subsets.insert(0, "default")
    return subsets


def discover_sources(path: str | Path) -> list[LocalSource]:
    """Find the subsets under ``path`` (a BEIR folder, a folder of them, or an MTEB-layout folder)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise InputError(f"{root}: no such folder (expected a BEIR folder or an MTEB-layout dataset)")
    if _is_beir(root):
        return [LocalSource(root.name, "beir", root)]
    # `hfswim build-dataset` keeps its configs under data/ (data/sw-corpus/test-00000-of-00001.parquet).
    for mteb_root in (root, root / "data"):
        configs = _mteb_configs(mteb_root) if mteb_root.is_dir() else []
        if configs:
            return [LocalSource(c, "mteb", mteb_root) for c in configs]
    children = sorted(p for p in root.iterdir() if p.is_dir() and _is_beir(p))
    if children:
        return [LocalSource(p.name, "beir", p) for p in children]
    raise InputError(
        f"{root}: found neither corpus.jsonl/queries.jsonl (BEIR) nor <lang>-corpus folders (MTEB layout), "
        "nor subfolders holding them"
    )


def _languages(source: LocalSource) -> list[str]:
    """mteb eval_langs of a subset: its name's languages (``de-en``: both), plus, for an ``hfswim build-dataset``
    folder, its passages' languages from the build state (``hfswim.json``): config ``de`` of cross-lingual
    data holds German queries about English passages, so it is ``["deu-Latn", "eng-Latn"]``, not monolingual."""
    from hfswim.hub.build import load_state

    from ._common import mteb_language

    langs = subset_languages(source.subset)
    if source.layout != "mteb":
        return langs
    for folder in (source.root, source.root.parent):
        state = load_state(folder, check_format=False)
        if state is not None:
            info = state.get("configs", {}).get(source.subset, {})
            passages = [mteb_language(code) for code in info.get("passage_languages", [])]
            return langs + [lang for lang in passages if lang and lang not in langs]
    return langs


def _read_jsonl_rows(file: Path, kind: str) -> list[dict[str, Any]]:
    from hfswim.io import iter_jsonl

    rows = []
    for lineno, row in enumerate(iter_jsonl(file), 1):
        doc_id = row.get("_id", row.get("id"))
        if doc_id is None or "text" not in row:
            raise InputError(f"{file}:{lineno}: a {kind} row needs '_id' (or 'id') and 'text'")
        rows.append({"id": str(doc_id), "title": row.get("title") or "", "text": row["text"] or ""})
    return rows


def _read_qrels_tsv(file: Path) -> list[tuple[str, str, int, int]]:
    """(query id, doc id, score, line number) rows; the header line is optional."""
    rows = []
    with open(file, encoding="utf-8", newline="") as fh:
        for lineno, fields in enumerate(csv.reader(fh, delimiter="\t"), 1):
            if not fields or not "".join(fields).strip():
                continue
            if lineno == 1 and fields[0].strip().lower() in {"query-id", "query_id", "qid"}:
                continue
            if len(fields) == 4:  # TREC qrels: qid 0 docid rel
                fields = [fields[0], fields[2], fields[3]]
            if len(fields) != 3:
                raise InputError(f"{file}:{lineno}: expected 3 tab-separated columns (query-id, corpus-id, score)")
            try:
                score = int(float(fields[2]))
            except ValueError:
                raise InputError(f"{file}:{lineno}: score {fields[2]!r} is not a number") from None
            rows.append((fields[0].strip(), fields[1].strip(), score, lineno))
    return rows


def _check_qrels(
    qrel_rows: list[tuple[str, str, int, int]], corpus_ids: set[str], query_ids: set[str], where: str
) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for query_id, doc_id, score, lineno in qrel_rows:
        if doc_id not in corpus_ids:
            raise InputError(f"{where}:{lineno}: qrel points at corpus-id {doc_id!r}, which is not in the corpus")
        if query_id not in query_ids:
            raise InputError(f"{where}:{lineno}: qrel points at query-id {query_id!r}, which is not in the queries")
        qrels.setdefault(query_id, {})[doc_id] = score
    if not qrels:
        raise InputError(f"{where}: no relevance judgements")
    return qrels


def load_beir_folder(folder: str | Path, split: str = "test") -> dict[str, Any]:
    """Read one BEIR folder into mteb's ``RetrievalSplitData`` (corpus, queries, relevant_docs, top_ranked)."""
    folder = Path(folder)
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (folder / name).is_file():
            raise InputError(f"{folder}: missing {name} (a BEIR folder needs corpus.jsonl, queries.jsonl, qrels/)")
    qrels_file = folder / "qrels" / f"{split}.tsv"
    if not qrels_file.is_file():
        found = sorted(p.name for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        hint = f" (found: {', '.join(found)}; pick one with --split)" if found else ""
        raise InputError(f"{folder}: missing qrels/{split}.tsv{hint}")
    corpus = _read_jsonl_rows(folder / "corpus.jsonl", "corpus")
    queries = _read_jsonl_rows(folder / "queries.jsonl", "query")
    qrels = _check_qrels(
        _read_qrels_tsv(qrels_file), {r["id"] for r in corpus}, {r["id"] for r in queries}, str(qrels_file)
    )
    queries = [q for q in queries if q["id"] in qrels]
    return split_data(corpus, queries, qrels)


def _config_files(root: Path, config: str, split: str) -> list[Path]:
    folder = root / config
    if not folder.is_dir():
        raise InputError(f"{root}: missing config folder {config}/")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(_TABULAR))
    if not files:
        raise InputError(f"{folder}: no Parquet or JSON-lines files")
    # Hub layout names split files "<split>-00000-of-00001.parquet"; one unnamed file is taken as is.
    named = [p for p in files if re.match(rf"{re.escape(split)}([-_.]|$)", p.name)]
    return named or files


def _read_table_rows(files: list[Path]) -> list[dict[str, Any]]:
    from hfswim.io import iter_rows

    rows: list[dict[str, Any]] = []
    for file in files:
        rows.extend(iter_rows(file))
    return rows


def load_mteb_layout(root: str | Path, subset: str, split: str = "test") -> dict[str, Any]:
    """Read one subset of an MTEB-layout folder (``<subset>-corpus`` etc.; ``default`` = bare names)."""
    root = Path(root)
    prefix = "" if subset == "default" else f"{subset}-"
    corpus_rows = _read_table_rows(_config_files(root, f"{prefix}corpus", split))
    query_rows = _read_table_rows(_config_files(root, f"{prefix}queries", split))
    qrel_files = _config_files(root, f"{prefix}qrels", split)
    corpus = [
        {"id": str(r.get("_id", r.get("id"))), "title": r.get("title") or "", "text": r.get("text") or ""}
        for r in corpus_rows
    ]
    queries = [{"id": str(r.get("_id", r.get("id"))), "text": r.get("text") or ""} for r in query_rows]
    qrel_rows = []
    for lineno, r in enumerate(_read_table_rows(qrel_files), 1):
        try:
            qrel_rows.append((str(r["query-id"]), str(r["corpus-id"]), int(r.get("score", 1)), lineno))
        except KeyError as err:
            raise InputError(f"{qrel_files[0]}: row {lineno} lacks column {err}") from None
    where = str(qrel_files[0]) if len(qrel_files) == 1 else str(root / f"{prefix}qrels")
    qrels = _check_qrels(qrel_rows, {r["id"] for r in corpus}, {r["id"] for r in queries}, where)
    return split_data(corpus, [q for q in queries if q["id"] in qrels], qrels)


def local_retrieval_task(
    path: str | Path,
    split: str = "test",
    name: str | None = None,
    subsets: list[str] | None = None,
    ignore_identical_ids: bool = True,
):
    """An mteb ``AbsTaskRetrieval`` over a local folder, with one subset per language folder.

    Args:
        path: a BEIR folder, a folder of BEIR folders, or an MTEB-layout dataset folder.
        split: the qrels split to evaluate (``qrels/<split>.tsv`` or ``<split>*`` files).
        name: task name in results (default: ``LocalRetrieval-<folder name>``).
        subsets: keep only these subsets (language codes), e.g. from ``--languages``.
        ignore_identical_ids: drop a retrieved document whose id is the query's own id before scoring, as
            BEIR's evaluator does by default (``EvaluateRetrieval.evaluate``) and mteb's ArguAna/Quora tasks
            do: in a folder where queries and documents share one id space (a query that is itself a corpus
            document), finding the query itself is no retrieval. ``False`` keeps mteb's default.
    """
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.task_metadata import TaskMetadata

    root = Path(path).expanduser().resolve()
    sources = discover_sources(root)
    if subsets:
        wanted = set(subsets)
        kept = [s for s in sources if s.subset in wanted or s.subset.split("-")[0] in wanted]
        if not kept:
            raise InputError(
                f"{root}: none of the languages {sorted(wanted)} is among its subsets {[s.subset for s in sources]}"
            )
        sources = kept
    by_subset = {s.subset: s for s in sources}
    multilingual = not (len(sources) == 1 and sources[0].subset == "default")
    eval_langs: Any = {s.subset: _languages(s) for s in sources} if multilingual else ["und-Zyyy"]
    metadata = TaskMetadata(
        name=name or f"LocalRetrieval-{root.name}",
        description=f"Local retrieval data read from {root}.",
        dataset={"path": str(root), "revision": "local"},
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=[split],
        eval_langs=eval_langs,
        main_score="ndcg_at_10",
        reference=None,
    )

    class LocalRetrieval(AbsTaskRetrieval):
        __doc__ = f"Retrieval on the local folder {root}."

        def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
            if self.data_loaded:
                return
            self.dataset = {}
            for subset in self.hf_subsets:
                source = by_subset[subset if multilingual else "default"]
                data = (
                    load_beir_folder(source.root, split)
                    if source.layout == "beir"
                    else load_mteb_layout(source.root, source.subset, split)
                )
                self.dataset[subset] = {split: data}
            self.data_loaded = True

    LocalRetrieval.metadata = metadata
    LocalRetrieval.ignore_identical_ids = ignore_identical_ids
    return LocalRetrieval()
