"""One passage reader for every stage (`hfswim generate`, `hfswim index`): hfswim's passage files and BEIR's
corpus.jsonl, each row checked with one-line errors."""

from __future__ import annotations

import json

import pytest

from hfswim.corpus import read_passages
from hfswim.errors import InputError
from hfswim.evaluation.search import _index_rows


def _jsonl(tmp_path, rows: list[dict], name: str = "corpus.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_a_beir_corpus_reads_as_passages_without_a_language(tmp_path):
    path = _jsonl(
        tmp_path, [{"_id": "d1", "title": "Nile", "text": "The Nile flows north."}, {"id": 7, "text": "Seven."}]
    )
    passages = list(read_passages(path))
    assert [(p.passage_id, p.title, p.passage_language) for p in passages] == [("d1", "Nile", None), ("7", "", None)]
    # a corpus of unsplit documents (hfswim's demo corpus): the document is the passage
    whole = _jsonl(tmp_path, [{"doc_id": "en-nile", "lang": "en", "title": "Nile", "text": "The Nile."}], "docs.jsonl")
    assert [(p.passage_id, p.doc_id, p.passage_language) for p in read_passages(whole)] == [
        ("en-nile", "en-nile", "en")
    ]
    # the index keeps the same passages, as the rows it saves
    assert _index_rows(path)[0] == {"passage_id": "d1", "title": "Nile", "text": "The Nile flows north.",
                                    "passage_language": None}  # fmt: skip


def test_hfswim_rows_keep_their_checks(tmp_path):
    both = {"passage_id": "nile#0", "_id": "other", "passage_language": "en", "text": "The Nile."}
    assert next(read_passages(_jsonl(tmp_path, [both]))).passage_id == "nile#0"  # hfswim's id wins
    cases = [
        ({"title": "no id", "text": "Text."}, "row 1: missing or non-string 'passage_id'"),
        ({"_id": "d1", "text": "  "}, "row 1 (passage_id 'd1'): empty passage text"),
        ({"_id": "d1", "passage_language": "xx", "text": "T."}, "unknown passage language 'xx'"),
    ]
    for row, message in cases:
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            list(read_passages(_jsonl(tmp_path, [row])))
    with pytest.raises(InputError, match="no passages"):
        _index_rows(_jsonl(tmp_path, [], "empty.jsonl"))
