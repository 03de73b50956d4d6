"""hfswim's XOR-Retrieve, XTREME-UP and local tasks against the official scorers (tests/evaluation/official_scorers.py).

Each test feeds one ranked list per question both to the official scoring logic, in the official file formats,
and to hfswim's task through mteb's own ``AbsTaskRetrieval.evaluate`` (a search model that returns fixed
rankings stands in for the retriever), and requires the same numbers: per language exactly, means to 1e-12
(the official XOR script averages with ``statistics.mean``). One test per difference found in issue 18, plus
a small real sample (XQuAD's English Wikipedia paragraphs and its Russian/Arabic questions).
"""

from __future__ import annotations

import csv
import json
import random
import statistics
from pathlib import Path
from typing import Any

import pytest

from hfswim.errors import InputError
from hfswim.evaluation.config import EvaluateConfig
from hfswim.evaluation.language_sets import XTREME_UP_CROSS_LANGUAGES, XTREME_UP_NEW_INDIC
from hfswim.evaluation.results import ScoreRow, mean_rows, summary_markdown
from hfswim.evaluation.tasks import local_retrieval_task, resolve_tasks
from hfswim.evaluation.tasks.xor_retrieve import XOR_PASSAGES_URL, XORRetrieve
from hfswim.evaluation.tasks.xtreme_up import XtremeUpRetrieval

from .official_scorers import (
    beir_ndcg_at_10,
    xor_official_scores,
    xtreme_up_score_file,
    xtreme_up_task_score,
)

FIXTURES = Path(__file__).parent / "fixtures"
BUDGETS = {"recall_at_5kt": 5000, "recall_at_2kt": 2000}


class FixedRankings:
    """An mteb search model that returns given rankings: ``{qid: [doc_id, ...]}`` (best first, distinct scores)
    or ``{qid: [(doc_id, score), ...]}`` (in the retriever's order, ties allowed)."""

    def __init__(self, rankings: dict[str, list[Any]]) -> None:
        self.rankings = rankings

    def index(self, corpus: Any, **kwargs: Any) -> None:
        self.corpus_ids = set(corpus["id"])

    def search(self, queries: Any, **kwargs: Any) -> dict[str, dict[str, float]]:
        out = {}
        for qid in queries["id"]:
            ranking = self.rankings.get(qid, [])
            pairs = [(d, 1.0 - i / 10_000) if isinstance(d, str) else d for i, d in enumerate(ranking)]
            out[qid] = {d: s for d, s in pairs if d in self.corpus_ids}  # a retriever only returns indexed ids
        return out

    @property
    def mteb_model_meta(self) -> None:
        return None


def run_task(task: Any, rankings: dict[str, list[Any]], split: str) -> dict[str, dict[str, float]]:
    return dict(task.evaluate(FixedRankings(rankings), split, encode_kwargs={}))


# --- XOR-Retrieve ---------------------------------------------------------------------------------


def write_xor(folder: Path, questions: list[dict[str, Any]], passages: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "xor_dev_retrieve_eng_span_v1_1.jsonl", "w", encoding="utf-8") as fh:
        for q in questions:
            fh.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(folder / "enwiki_20190201_w100.tsv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "text", "title"])
        for pid, text in passages.items():
            writer.writerow([pid, text, ""])
    return folder


def read_xor(folder: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    with open(folder / "xor_dev_retrieve_eng_span_v1_1.jsonl", encoding="utf-8") as fh:
        questions = [json.loads(line) for line in fh]
    with open(folder / "enwiki_20190201_w100.tsv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    return questions, {r[0]: r[1] for r in rows}


def xor_both(
    folder: Path, rankings: dict[str, list[str]], **task_kwargs: Any
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Per budget: official per-language R@kt (percent) with the macro mean under "mean"; and hfswim's, alike."""
    questions, passages = read_xor(folder)
    predictions = [
        {"id": q["id"], "lang": q["lang"], "ctxs": [passages[d] for d in rankings[q["id"]]]} for q in questions
    ]
    official, ours = {}, {}
    task = XORRetrieve(data_path=folder, **task_kwargs)
    scores = run_task(task, rankings, "dev")
    for metric, budget in BUDGETS.items():
        per_lang, macro = xor_official_scores(predictions, questions, budget)
        official[metric] = {**per_lang, "mean": macro}
        rows = [ScoreRow("XORRetrieve", "dev", lang, [], metric, s[metric], s) for lang, s in scores.items()]
        mine = {lang: 100 * s[metric] for lang, s in scores.items()}
        means = mean_rows(rows) if len(rows) > 1 else []
        ours[metric] = {**mine, "mean": 100 * (means[0].main_score if means else rows[0].main_score)}
    return official, ours


def assert_same(official: dict[str, dict[str, float]], ours: dict[str, dict[str, float]]) -> None:
    for metric in official:
        assert set(ours[metric]) == set(official[metric]), metric
        for lang, value in official[metric].items():
            if lang == "mean":
                assert ours[metric][lang] == pytest.approx(value, rel=1e-12, abs=1e-12), (metric, lang)
            else:
                assert ours[metric][lang] == value, (metric, lang)


def comma_passage(seed: int, answer: str = "") -> str:
    """100 words, each followed by a comma: 100 whitespace tokens but 200 NLTK tokens."""
    words = [f"w{seed}x{i}," for i in range(100)]
    if answer:
        words[50] = f"{answer},"
    return " ".join(words)


def test_token_budget_counts_nltk_tokens_not_words(tmp_path):
    # Difference 1: the budget is in NLTK tokens. The answers sit in passage 30, 15 and 12 of comma-rich passages:
    # inside 5000/2000 whitespace words, but past 5000/2000 NLTK tokens for the first and third.
    answers = {"q-far": ("Zanzibar", 29), "q-mid": ("Kilimanjaro", 14), "q-2kt": ("Serengeti", 11)}
    passages, questions, rankings = {}, [], {}
    for qid, (answer, at) in answers.items():
        ids = []
        for i in range(60):
            pid = f"{qid}-{i}"
            passages[pid] = comma_passage(i, answer if i == at else "")
            ids.append(pid)
        rankings[qid] = ids
        questions.append({"id": qid, "question": "?", "answers": [answer], "lang": "te"})
    folder = write_xor(tmp_path / "xor", questions, passages)
    official, ours = xor_both(folder, rankings)
    assert official["recall_at_5kt"]["te"] == pytest.approx(200 / 3) and official["recall_at_2kt"]["te"] == 0.0
    assert_same(official, ours)
    # Counting whitespace words (hfswim before) reaches twice as many passages: all three at 5kt, two at 2kt.
    _, by_words = xor_both(folder, rankings, tokenize="whitespace")
    assert by_words["recall_at_5kt"]["te"] == 100.0 and by_words["recall_at_2kt"]["te"] == pytest.approx(200 / 3)


MATCHING_CASES = {
    # answer: the passage text holding it
    "Tolstoy's": "Leo Tolstoy's novel was published in Russia.",
    "$5 million": "The film cost $5 million to make.",
    "Paris, France": "She was born in Paris, France, in spring.",
    "50%": "About 50% of the votes were counted.",
    "(1889)": "The tower (1889) is made of iron.",
    "4 July 1889.": "It opened on 4 July 1889. Crowds came.",
    '"Hello world"': 'The first program printed "Hello world" on screen.',
    "１８８９": "The tower was completed in 1889 for the fair.",  # full-width digits: equal only after NFKC
}


def test_answer_matching_is_a_substring_of_the_tokenised_window(tmp_path):
    # Difference 2: officially the answer must be a substring of the space-joined NLTK tokens, with no Unicode
    # normalisation, so none of these match; the lenient column (tokenised, NFKC) finds them all.
    passages = {f"p{i}": text for i, text in enumerate(MATCHING_CASES.values())}
    questions = [
        {"id": f"q{i}", "question": "?", "answers": [answer], "lang": "ja"} for i, answer in enumerate(MATCHING_CASES)
    ]
    questions.append({"id": "q-plain", "question": "?", "answers": ["iron"], "lang": "ja"})
    rankings = {
        q["id"]: [f"p{i}" for i in range(len(passages))] if q["id"] == "q-plain" else [f"p{q['id'][1:]}"]
        for q in questions
    }
    folder = write_xor(tmp_path / "xor", questions, passages)
    official, ours = xor_both(folder, rankings)
    assert official["recall_at_5kt"]["ja"] == 100 / len(questions)  # only "iron"
    assert_same(official, ours)
    scores = run_task(XORRetrieve(data_path=folder), rankings, "dev")["ja"]
    assert scores["recall_at_5kt_lenient"] == 1.0 and scores["recall_at_2kt_lenient"] == 1.0


def test_yes_no_and_empty_answers_as_officially(tmp_path):
    # Difference 3: only exactly "yes"/"no" are skipped ("Yes" is looked for as a string), and an empty answer
    # is a substring of any window, so it is a hit; the lenient column skips both kinds instead.
    passages = {"p": "Helsinki is the capital of Finland."}
    cases = {
        "q-yes": ["yes"],
        "q-yes-no": ["no", "yes"],
        "q-Yes": ["Yes"],
        "q-empty": [""],
        "q-empty-and-span": ["", "Oslo"],
        "q-span": ["Helsinki"],
    }
    questions = [{"id": q, "question": "?", "answers": a, "lang": "fi"} for q, a in cases.items()]
    rankings = {q: ["p"] for q in cases}
    folder = write_xor(tmp_path / "xor", questions, passages)
    official, ours = xor_both(folder, rankings)
    # Judged: q-Yes (miss), q-empty (hit), q-empty-and-span (hit), q-span (hit).
    assert official["recall_at_5kt"]["fi"] == 75.0
    assert_same(official, ours)
    scores = run_task(XORRetrieve(data_path=folder), rankings, "dev")["fi"]
    assert scores["recall_at_5kt_lenient"] == pytest.approx(1 / 2)  # q-empty-and-span (miss), q-span (hit)


def test_default_corpus_is_xor_retrieves_wikipedia(tmp_path, monkeypatch):
    # Difference 4: without a local path the task fetches XOR-Retrieve's 2019-02-01 English Wikipedia, not DPR's.
    monkeypatch.setenv("HFSWIM_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "xor_retrieve").mkdir()
    (tmp_path / "xor_retrieve" / "xor_dev_retrieve_eng_span_v1_1.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=r"enwiki_20190201_w100\.tsv is not downloaded") as err:
        XORRetrieve().load_data()
    assert XOR_PASSAGES_URL in str(err.value)
    assert "enwiki_20190201_w100" in XORRetrieve.metadata.dataset["revision"]


def test_real_sample_agrees_with_the_official_scorer():
    # XQuAD's English Wikipedia paragraphs as the corpus and its Russian/Arabic questions (answer spans read off the
    # gold paragraphs), with
    # rankings that put the gold paragraph at spread-out depths: real text, real tokenisation, real answers.
    folder = FIXTURES / "xor_real_sample"
    questions, passages = read_xor(folder)
    rankings = {}
    for n, q in enumerate(questions):
        others = sorted(p for p in passages if p != q["gold_passage"])
        random.Random(n).shuffle(others)
        others.insert([0, 3, 9, 17, 24, 33, 41, 55, 70][n % 9], q["gold_passage"])
        rankings[q["id"]] = others
    official, ours = xor_both(folder, rankings)
    assert_same(official, ours)
    assert 0 < official["recall_at_2kt"]["mean"] < official["recall_at_5kt"]["mean"] < 100
    scores = run_task(XORRetrieve(data_path=folder), rankings, "dev")
    # "a bachelor's degree" is tokenised "bachelor 's": unmatchable officially, found by the lenient column.
    assert all(s["recall_at_5kt_lenient"] >= s["recall_at_5kt"] for s in scores.values())
    assert any(s["recall_at_5kt_lenient"] > s["recall_at_5kt"] for s in scores.values())


def test_xor_retrieve_mean_over_its_seven_languages_is_the_official_macro_average():
    per_lang = {"ar": 0.5, "bn": 0.25, "fi": 0.75, "ja": 0.4, "ko": 0.6, "ru": 0.3, "te": 0.2}
    rows = [
        ScoreRow("XORRetrieve", "dev", lang, [], "recall_at_5kt", v, {"recall_at_5kt": v})
        for lang, v in per_lang.items()
    ]
    (mean,) = mean_rows(rows)  # the official set covers every row: no second, unnamed mean
    assert mean.label == "mean (XOR-Retrieve official: 7 langs)"
    assert 100 * mean.main_score == pytest.approx(statistics.mean(100 * v for v in per_lang.values()), rel=1e-12)


# --- XTREME-UP ------------------------------------------------------------------------------------


def write_xtreme_up(root: Path, index_ids: list[str], questions: dict[str, list[str]]) -> Path:
    """``retrieval_cross_lang`` with the given index ids and, per language, the gold id of each question line."""
    folder = root / "retrieval_cross_lang"
    (folder / "test").mkdir(parents=True, exist_ok=True)
    with open(folder / "index.jsonl", "w", encoding="utf-8") as fh:
        for pid in index_ids:
            fh.write(json.dumps({"id": pid, "title": pid, "context": f"Passage {pid}."}) + "\n")
    for lang, golds in questions.items():
        with open(folder / "test" / f"{lang}.jsonl", "w", encoding="utf-8") as fh:
            for n, gold in enumerate(golds):
                row = {"id": gold, "title": gold, "context": f"Passage {gold}.", "question": f"{lang} question {n}"}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return root


def xtreme_up_both(
    root: Path, questions: dict[str, list[str]], rankings: dict[str, list[Any]]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Official per-language MRR (prediction lines = rankings in the retriever's order, top 10) and hfswim's."""
    official = {}
    for lang, golds in questions.items():
        gold_rows = [{"id": g} for g in golds]
        prediction_rows = [
            {"prediction": [d if isinstance(d, str) else d[0] for d in rankings.get(f"{lang}-{n}", [])][:10]}
            for n in range(len(golds))
        ]
        official[lang] = xtreme_up_score_file(gold_rows, prediction_rows)
    ours = run_task(XtremeUpRetrieval(data_path=root), rankings, "test")
    return official, ours


def test_xtreme_up_headline_mean_is_the_official_language_set(tmp_path):
    # Difference 5: the official task score averages the 21 under-represented languages; SWIM-X's table the 20 new
    # Indic ones; hfswim's summary shows both, named, next to the mean of everything evaluated.
    rng = random.Random(5)
    index_ids = [f"p{i}" for i in range(30)]
    questions = {lang: [rng.choice(index_ids) for _ in range(4)] for lang in XTREME_UP_CROSS_LANGUAGES}
    rankings = {
        f"{lang}-{n}": rng.sample(index_ids, 12) for lang, golds in questions.items() for n in range(len(golds))
    }
    root = write_xtreme_up(tmp_path, index_ids, questions)
    official, ours = xtreme_up_both(root, questions, rankings)
    assert {lang: s["mrr_at_10"] for lang, s in ours.items()} == official
    rows = [
        ScoreRow("XtremeUpCrossLangRetrieval", "test", lang, [], "mrr_at_10", s["main_score"], s)
        for lang, s in ours.items()
    ]
    means = {m.label: m.main_score for m in mean_rows(rows)}
    assert means["mean (XTREME-UP official: 21 under-represented langs)"] == pytest.approx(
        xtreme_up_task_score(official), rel=1e-12
    )
    assert means["mean (SWIM-X: 20 new Indic langs)"] == pytest.approx(
        sum(official[lang] for lang in XTREME_UP_NEW_INDIC) / 20, rel=1e-12
    )
    assert means["mean of all 26 langs"] == pytest.approx(sum(official.values()) / 26, rel=1e-12)
    summary = summary_markdown(rows)
    assert "| test | **mean (XTREME-UP official: 21 under-represented langs)** | mrr_at_10 |" in summary
    assert "| test | **mean (SWIM-X: 20 new Indic langs)** | mrr_at_10 |" in summary
    # Without all of a set's languages there is no official mean, and the label says what is missing.
    partial = mean_rows([r for r in rows if r.subset not in {"bn", "as"}])
    assert [m.label for m in partial] == [
        "mean of 24 langs; XTREME-UP official: 21 under-represented langs lacks bn, as; "
        "SWIM-X: 20 new Indic langs lacks as"
    ]


def test_xtreme_up_questions_sharing_a_gold_passage_stay_apart(tmp_path):
    # Difference 6: two questions with the same gold passage are two queries (ids are line positions).
    questions = {"bn": ["p1", "p1", "p2"]}
    rankings = {"bn-0": ["p1", "p2"], "bn-1": ["p3", "p2", "p1"], "bn-2": ["p3", "p2"]}
    root = write_xtreme_up(tmp_path, ["p1", "p2", "p3"], questions)
    official, ours = xtreme_up_both(root, questions, rankings)
    assert official["bn"] == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)
    assert ours["bn"]["mrr_at_10"] == official["bn"]


def test_xtreme_up_gold_missing_from_the_index_scores_zero(tmp_path):
    # Difference 7: a gold id absent from index.jsonl cannot be retrieved, so the question scores 0.
    questions = {"te": ["p1", "p-missing"]}
    rankings = {"te-0": ["p2", "p1"], "te-1": ["p1", "p2"]}  # a retriever can only return indexed passages
    root = write_xtreme_up(tmp_path, ["p1", "p2"], questions)
    official, ours = xtreme_up_both(root, questions, rankings)
    assert official["te"] == pytest.approx(1 / 4)
    assert ours["te"]["mrr_at_10"] == official["te"]
    task = XtremeUpRetrieval(data_path=root)
    task.load_data()
    assert "p-missing" not in task.dataset["te"]["test"]["corpus"]["id"]


def test_xtreme_up_exact_ties_keep_the_retrievers_order(tmp_path):
    # Difference 8: with equal scores the official scorer keeps the submitted order; pytrec_eval (mteb's
    # mrr) would sort "p9" before "p1" by doc id and give 1.0 here instead of 0.5.
    questions = {"ta": ["p1", "p5"]}
    rankings = {"ta-0": [("p9", 0.5), ("p1", 0.5), ("p2", 0.1)], "ta-1": [("p5", 0.7), ("p6", 0.7)]}
    root = write_xtreme_up(tmp_path, ["p1", "p2", "p5", "p6", "p9"], questions)
    official, ours = xtreme_up_both(root, questions, rankings)
    assert official["ta"] == pytest.approx((1 / 2 + 1) / 2)
    assert ours["ta"]["mrr_at_10"] == official["ta"] and ours["ta"]["main_score"] == official["ta"]


# --- local BEIR tasks -----------------------------------------------------------------------------


def write_argument_beir(folder: Path) -> Path:
    """ArguAna-style: every query is also a corpus document (same id); its relevant document is its counter."""
    folder.mkdir(parents=True)
    args = {f"a{i}": f"Argument {i} about topic {i // 2}." for i in range(8)}
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for aid, text in args.items():
            fh.write(json.dumps({"_id": aid, "title": "", "text": text}) + "\n")
    queries = ["a0", "a2", "a4", "a6"]
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for qid in queries:
            fh.write(json.dumps({"_id": qid, "text": args[qid]}) + "\n")
    (folder / "qrels").mkdir()
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\ta{int(q[1:]) + 1}\t1" for q in queries]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_local_tasks_ignore_identical_ids_as_beir_does(tmp_path):
    # Difference 9: the query's own document, retrieved first, is dropped before scoring, as BEIR does.
    folder = write_argument_beir(tmp_path / "arguana")
    rankings = {
        "a0": ["a0", "a1", "a3"],
        "a2": ["a2", "a5", "a3"],
        "a4": ["a4", "a6", "a7", "a5"],
        "a6": ["a6", "a0", "a1", "a7"],
    }
    qrels = {q: {f"a{int(q[1:]) + 1}": 1} for q in rankings}
    run = {q: {d: 1.0 - i / 100 for i, d in enumerate(ids)} for q, ids in rankings.items()}
    beir = beir_ndcg_at_10(qrels, run)
    (ours,) = run_task(local_retrieval_task(folder), rankings, "test").values()
    assert ours["ndcg_at_10"] == beir
    (kept,) = run_task(local_retrieval_task(folder, ignore_identical_ids=False), rankings, "test").values()
    assert kept["ndcg_at_10"] < beir


def test_identical_ids_setting_reaches_local_tasks(tmp_path):
    folder = write_argument_beir(tmp_path / "arguana")
    assert EvaluateConfig(model="bm25", tasks=f"local:{folder}").ignore_identical_ids is True
    (default,) = resolve_tasks(f"local:{folder}")
    (kept,) = resolve_tasks(f"local:{folder}", ignore_identical_ids=False)
    assert default.ignore_identical_ids is True and kept.ignore_identical_ids is False
