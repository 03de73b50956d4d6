"""XTREME-UP cross-language retrieval (Ruder et al., 2023) as an mteb retrieval task with MRR@10.

Queries in 26 languages (the XOR-TyDi languages plus new Indic ones) retrieve English passages.
XTREME-UP's release lays it out as JSON lines::

    retrieval_cross_lang/
      index.jsonl              # the English passage pool: id, title, context
      validation/<lang>.jsonl  # one row per question: id, title, context, question
      test/<lang>.jsonl

A question's ``id`` is the id of its gold passage in ``index.jsonl``; several questions can share one.
The official scorer (``evaluation/score_system.py`` and ``metrics.compute_mrr`` in the xtreme-up
repository) pairs the i-th prediction line with the i-th question line and scores MRR@10 on the
submitted ranking as is, so hfswim mirrors it:

* query ids are ``<lang>-<line index>``, one per question even when gold passages repeat;
* a gold id missing from the index stays missing: the question cannot be answered and scores 0;
* ``mrr_at_10`` is computed on the ranked list in the retriever's order
  (:func:`hfswim.evaluation.metrics.ranked_mrr`), not with pytrec_eval's doc-id tie-break.

The passage text is ``title + " " + context``, as in XTREME-UP's baseline. The headline number of the
task is the mean over the 21 under-represented languages (the official ``TaskResult.score``), see
:mod:`hfswim.evaluation.language_sets`.

Source (used when no local folder is given, needs network):
``https://storage.googleapis.com/xtreme-up/xtreme-up-v1.1.jsonl.tgz``.
"""

from __future__ import annotations

import logging
import tarfile
from pathlib import Path
from typing import Any

from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.task_metadata import TaskMetadata

from hfswim.errors import InputError
from hfswim.evaluation.language_sets import XTREME_UP_CROSS_LANGUAGES

from ._common import cache_dir, download, split_data, subset_languages

logger = logging.getLogger(__name__)

XTREME_UP_URL = "https://storage.googleapis.com/xtreme-up/xtreme-up-v1.1.jsonl.tgz"
MRR_CUTOFF = 10


def _passage_text(row: dict[str, Any]) -> str:
    return f"{row.get('title') or ''} {row.get('context') or ''}".strip()


def find_task_folder(path: Path) -> Path:
    """The ``retrieval_cross_lang`` folder at or below ``path``."""
    if (path / "index.jsonl").is_file():
        return path
    for candidate in (path / "retrieval_cross_lang", *sorted(path.glob("*/retrieval_cross_lang"))):
        if (candidate / "index.jsonl").is_file():
            return candidate
    raise InputError(f"{path}: no XTREME-UP retrieval_cross_lang/index.jsonl found")


def load_xtreme_up_language(folder: Path, lang: str, split: str) -> dict[str, Any]:
    """mteb split data for one language: the shared English pool, the language's questions, gold qrels."""
    from hfswim.io import iter_jsonl, iter_jsonl_file

    questions_file = folder / split / f"{lang}.jsonl"
    if not questions_file.is_file():
        raise InputError(f"{questions_file}: missing (XTREME-UP has {split}/<lang>.jsonl per language)")
    pool = []
    for lineno, row in enumerate(iter_jsonl(folder / "index.jsonl"), 1):
        if "id" not in row:
            raise InputError(f"{folder / 'index.jsonl'}:{lineno}: an index row needs 'id', 'title', 'context'")
        pool.append({"id": str(row["id"]), "title": "", "text": _passage_text(row)})
    known = {p["id"] for p in pool}
    queries, qrels, missing = [], {}, 0
    for n, (lineno, row) in enumerate(iter_jsonl_file(questions_file)):
        if "id" not in row or "question" not in row:
            raise InputError(f"{questions_file}:{lineno}: a question row needs 'id' and 'question'")
        gold = str(row["id"])
        missing += gold not in known
        # The official scorer pairs questions and predictions by position: the position is the query id.
        qid = f"{lang}-{n}"
        queries.append({"id": qid, "text": row["question"]})
        qrels[qid] = {gold: 1}
    if missing:
        logger.warning(
            "XTREME-UP %s: %d of %d gold passages are not in index.jsonl; those questions score 0, as officially",
            lang,
            missing,
            len(queries),
        )
    return split_data(pool, queries, qrels)


class XtremeUpRetrieval(AbsTaskRetrieval):
    """XTREME-UP cross-language retrieval: queries in 26 languages, English passages, MRR@10 as main score.

    Args:
        data_path: a local copy of the release (the folder holding ``retrieval_cross_lang/``, or that folder);
            ``None`` downloads and unpacks the official archive.
        split: ``validation`` or ``test``.
    """

    metadata = TaskMetadata(
        name="XtremeUpCrossLangRetrieval",
        description="XTREME-UP cross-language retrieval: English passages for questions in 26 under-represented and XOR-TyDi languages; MRR@10.",
        reference="https://github.com/google-research/xtreme-up",
        dataset={"path": XTREME_UP_URL, "revision": "v1.1"},
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=["test"],
        eval_langs={lang: subset_languages(lang) for lang in XTREME_UP_CROSS_LANGUAGES},
        main_score="mrr_at_10",
        date=("2023-05-01", "2023-05-31"),
        domains=["Encyclopaedic", "Written"],
        task_subtypes=["Question answering"],
        license="cc-by-sa-4.0",
        annotations_creators="human-annotated",
        dialect=[],
        sample_creation="found",
        bibtex_citation=r"""@inproceedings{ruder-etal-2023-xtreme,
  title = {{XTREME}-{UP}: A User-Centric Scarce-Data Benchmark for Under-Represented Languages},
  author = {Ruder, Sebastian and Clark, Jonathan H. and others},
  booktitle = {Findings of EMNLP},
  year = {2023},
}""",
    )
    corpus_language = "eng-Latn"  # every subset searches the English passages (cross-lingual)

    def __init__(self, data_path: str | Path | None = None, split: str = "test", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_path = Path(data_path).expanduser() if data_path else None
        if split != self.metadata.eval_splits[0]:
            self.metadata = self.metadata.model_copy(update={"eval_splits": [split]})

    def _folder(self) -> Path:
        if self.data_path is not None:
            return find_task_folder(self.data_path)
        root = cache_dir("xtreme_up")
        if not any(root.glob("**/retrieval_cross_lang/index.jsonl")):
            archive = download(XTREME_UP_URL, root / Path(XTREME_UP_URL).name)
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers() if "retrieval_cross_lang/" in m.name]
                tar.extractall(root, members=members, filter="data")
        return find_task_folder(root)

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        if self.data_loaded:
            return
        folder = self._folder()
        split = self.metadata.eval_splits[0]
        available = {p.stem for p in (folder / split).glob("*.jsonl")}
        self.hf_subsets = [lang for lang in self.hf_subsets if lang in available]
        if not self.hf_subsets:
            raise InputError(f"{folder / split}: no question files for the requested languages")
        self.dataset = {lang: {split: load_xtreme_up_language(folder, lang, split)} for lang in self.hf_subsets}
        self.data_loaded = True

    def task_specific_scores(
        self,
        scores: dict[str, dict[str, float]],
        qrels: dict[str, dict[str, int]],
        results: dict[str, dict[str, float]],
        hf_split: str,
        hf_subset: str,
    ) -> dict[str, float]:
        """``mrr_at_10`` as XTREME-UP scores it (replacing mteb's, which breaks exact ties by document id)."""
        from hfswim.evaluation.metrics import ranked_ids, ranked_mrr

        qids = list(qrels)
        targets = [next(iter(qrels[q])) for q in qids]
        rankings = [ranked_ids(results.get(q, {}))[:MRR_CUTOFF] for q in qids]
        return {f"mrr_at_{MRR_CUTOFF}": ranked_mrr(targets, rankings, MRR_CUTOFF)}
