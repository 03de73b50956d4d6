"""Task loaders: local BEIR / MTEB-layout folders, XOR-Retrieve and XTREME-UP fixtures, task specs, bad inputs."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hfswim.errors import ConfigError, InputError
from hfswim.evaluation.tasks import load_beir_folder, local_retrieval_task, resolve_tasks
from hfswim.evaluation.tasks.xor_retrieve import NO_ANSWER_PASSAGE, XORRetrieve, answer_bearing_passages
from hfswim.evaluation.tasks.xtreme_up import XtremeUpRetrieval

N_TOPICS = N_QUERIES = 6  # see conftest.TOPICS / QUERIES


def test_beir_folder_loads(beir_folder):
    data = load_beir_folder(beir_folder)
    assert len(data["corpus"]) == N_TOPICS
    assert data["corpus"][0]["title"] == "Eiffel Tower"
    assert len(data["queries"]) == N_QUERIES
    assert data["relevant_docs"]["q-fuji"] == {"fuji": 1}


def test_folder_of_beir_folders_is_one_multilingual_task(beir_multi):
    task = local_retrieval_task(beir_multi)
    assert task.metadata.eval_langs == {"de-en": ["deu-Latn", "eng-Latn"], "en": ["eng-Latn"]}
    assert task.metadata.main_score == "ndcg_at_10"
    task.load_data()
    assert set(task.dataset) == {"de-en", "en"}
    assert len(task.dataset["en"]["test"]["corpus"]) == N_TOPICS
    only_en = local_retrieval_task(beir_multi, subsets=["en"])
    assert only_en.hf_subsets == ["en"]


def test_mteb_layout_folder_loads(tmp_path):
    # hfswim build-dataset's held-out split: data/<config>-corpus|queries|qrels/test-*.parquet
    root = tmp_path / "heldout" / "data"
    tables = {
        "sw-corpus": {"_id": ["d1", "d2"], "title": ["", ""], "text": ["Nairobi ni mji mkuu.", "Mto Nile ni mrefu."]},
        "sw-queries": {"_id": ["q1"], "text": ["Mji mkuu wa Kenya ni upi?"]},
        "sw-qrels": {"query-id": ["q1"], "corpus-id": ["d1"], "score": [1]},
    }
    for config, columns in tables.items():
        (root / config).mkdir(parents=True)
        pq.write_table(pa.table(columns), root / config / "test-00000-of-00001.parquet")
    task = local_retrieval_task(root.parent)
    assert task.metadata.eval_langs == {"sw": ["swa-Latn"]}
    task.load_data()
    split = task.dataset["sw"]["test"]
    assert split["relevant_docs"] == {"q1": {"d1": 1}} and len(split["corpus"]) == 2


def test_missing_qrels_is_one_clear_error(tmp_path, make_beir):
    folder = make_beir(tmp_path / "en", with_qrels=False)
    with pytest.raises(InputError, match=r"en: missing qrels/test\.tsv"):
        load_beir_folder(folder)


def test_other_split_is_suggested(beir_folder):
    with pytest.raises(InputError, match=r"missing qrels/dev\.tsv \(found: test\.tsv"):
        load_beir_folder(beir_folder, split="dev")


def test_qrel_pointing_at_unknown_doc_names_file_and_line(tmp_path, make_beir):
    folder = make_beir(tmp_path / "en", qrels_rows=[("q-fuji", "fuji", 1), ("q-volga", "amazon", 1)])
    with pytest.raises(InputError, match=r"qrels/test\.tsv:3: qrel points at corpus-id 'amazon'"):
        load_beir_folder(folder)


def test_not_a_dataset_folder(tmp_path):
    with pytest.raises(InputError, match=r"found neither corpus\.jsonl"):
        local_retrieval_task(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        local_retrieval_task(tmp_path / "nope")


def test_unknown_task_name_suggests_close_matches():
    with pytest.raises(ConfigError, match=r"unknown task 'MIRACLRetrievl'; did you mean MIRACLRetrieval"):
        resolve_tasks("MIRACLRetrievl")
    with pytest.raises(ConfigError, match="unknown task 'xor-retreive'; did you mean xor-retrieve"):
        resolve_tasks("xor-retreive")


def test_official_task_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="XQuADRetrieval downloads its data from the Hugging Face Hub"):
        resolve_tasks("xquadretrieval")


def test_task_specs_resolve(beir_folder, xor_fixture, xtreme_up_fixture):
    tasks = resolve_tasks(f"local:{beir_folder},xor-retrieve:{xor_fixture},xtreme-up:{xtreme_up_fixture}")
    assert [t.metadata.name for t in tasks] == ["LocalRetrieval-en", "XORRetrieve", "XtremeUpCrossLangRetrieval"]
    assert [t.metadata.main_score for t in tasks] == ["ndcg_at_10", "recall_at_5kt", "mrr_at_10"]
    (xor,) = resolve_tasks(f"xor-retrieve:{xor_fixture}", languages=["ja", "ru"])
    assert xor.hf_subsets == ["ja", "ru"]


def test_xor_retrieve_loads_the_official_format(xor_fixture):
    task = XORRetrieve(data_path=xor_fixture).filter_languages(["jpn", "rus"])
    task.load_data()
    ja = task.dataset["ja"]["dev"]
    assert len(ja["corpus"]) == 6 and ja["corpus"][1]["title"] == "Mount Fuji"
    assert ja["relevant_docs"] == {"-1001": {"2": 1}, "-1002": {"1": 1}, "-1003": {"3": 1}}
    ru = task.dataset["ru"]["dev"]
    # The yes/no question is left out; an answer found in no passage keeps a placeholder and counts as a miss.
    assert sorted(ru["queries"]["id"]) == ["-2001", "-2003"]
    assert ru["relevant_docs"]["-2003"] == {NO_ANSWER_PASSAGE: 1}


def test_xor_recall_at_kt_from_a_ranking(xor_fixture):
    task = XORRetrieve(data_path=xor_fixture).filter_languages(["jpn"])
    task.load_data()
    qrels = task.dataset["ja"]["dev"]["relevant_docs"]
    # Passages are ~17 tokens: with a 2000-token budget all fit, so only the last question (Volga not retrieved) misses.
    results = {"-1001": {"2": 0.9}, "-1002": {"4": 0.9, "1": 0.5}, "-1003": {"5": 0.9}}
    scores = task.task_specific_scores({}, qrels, results, "dev", "ja")
    assert scores == {
        "recall_at_5kt": pytest.approx(2 / 3),
        "recall_at_2kt": pytest.approx(2 / 3),
        "recall_at_5kt_lenient": pytest.approx(2 / 3),
        "recall_at_2kt_lenient": pytest.approx(2 / 3),
    }


def test_answer_bearing_passages_finds_overlapping_answers():
    passages = [{"id": "a", "text": "Paris Hilton visited Paris."}, {"id": "b", "text": "Hilton hotels"}]
    found = answer_bearing_passages(
        passages, {"q1": ["Paris"], "q2": ["Paris Hilton"], "q3": ["Hilton"], "q4": ["Rome"]}
    )
    assert found == {"q1": {"a"}, "q2": {"a"}, "q3": {"a", "b"}}


def test_xtreme_up_loads_the_official_format(xtreme_up_fixture):
    task = XtremeUpRetrieval(data_path=xtreme_up_fixture)
    task.load_data()
    assert task.hf_subsets == ["bn", "hi"]
    bn = task.dataset["bn"]["test"]
    # Query ids are line positions, as the official scorer pairs questions and predictions.
    assert bn["relevant_docs"] == {"bn-0": {"p-tagore": 1}, "bn-1": {"p-ganges": 1}}
    assert "Rabindranath Tagore Rabindranath Tagore was" in bn["corpus"][3]["text"]
    hi = task.dataset["hi"]["test"]
    # p-qutub is not in index.jsonl: it stays out of the pool (officially that question cannot score).
    assert "p-qutub" not in hi["corpus"]["id"] and len(hi["corpus"]) == 5
    assert hi["relevant_docs"]["hi-1"] == {"p-qutub": 1}


def test_xtreme_up_missing_folder(tmp_path):
    (tmp_path / "retrieval_cross_lang").mkdir()
    with pytest.raises(InputError, match=r"no XTREME-UP retrieval_cross_lang/index\.jsonl"):
        XtremeUpRetrieval(data_path=tmp_path).load_data()


def test_dpr_corpus_is_accepted_with_a_warning(tmp_path, xor_fixture, caplog):
    for name in ("xor_dev_retrieve_eng_span_v1_1.jsonl", "enwiki_20190201_w100.tsv"):
        target = "psgs_w100.tsv" if name.startswith("enwiki") else name
        (tmp_path / target).write_bytes((xor_fixture / name).read_bytes())
    task = XORRetrieve(data_path=tmp_path).filter_languages(["jpn"])
    task.load_data()
    assert len(task.dataset["ja"]["dev"]["corpus"]) == 6
    assert "not XOR-Retrieve's 2019-02-01 dump" in caplog.text


def test_xor_questions_missing_fields(tmp_path):
    (tmp_path / "xor_dev.jsonl").write_text(json.dumps({"id": "1", "question": "q"}) + "\n")
    (tmp_path / "passages.jsonl").write_text(json.dumps({"_id": "p", "text": "t"}) + "\n")
    with pytest.raises(InputError, match=r"xor_dev.jsonl:1: an XOR-Retrieve question needs answers, lang"):
        XORRetrieve(data_path=tmp_path).load_data()
