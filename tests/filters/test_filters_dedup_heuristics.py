"""Dedup (exact + MinHash/LSH, best copy kept) and the heuristic rules, on crafted records."""

from __future__ import annotations

import random
import zlib

import numpy as np
import pytest
from datasketch import MinHash

from hfswim.filters.dedup import DedupFilter, MinHasher, shingles
from hfswim.filters.heuristics import HeuristicsFilter
from hfswim.filters.pipeline import filter_rows
from hfswim.text.normalize import longest_common_run, normalize, tokens


def _kept_ids(rows, filters):
    kept, _, _ = filter_rows(rows, filters)
    return sorted(r["record_id"] for r in kept)


def test_filters_dedup_exact_keeps_best_scored_copy(row):
    rows = [
        row("Wo entspringt der Rhein?", record_id="a", query_logprob=-0.9),
        row("wo entspringt der  RHEIN", record_id="b", query_logprob=-0.3),  # same after normalisation, better
        row("Wo entspringt der Rhein?", record_id="c", query_logprob=-0.3),  # tie with b: larger id loses
        row("Wo entspringt der Rhein?", record_id="d", lang="sw"),  # other language: not a duplicate
        row("Wie lang ist der Nil?", record_id="e"),
    ]
    kept, rejected, report = filter_rows(rows, [DedupFilter()])
    assert sorted(r["record_id"] for r in kept) == ["b", "d", "e"]
    reasons = {r["record_id"]: r["reject_reason"] for r in rejected}
    assert reasons["a"].startswith("exact_duplicate") and "b" in reasons["a"]
    assert report.to_dict()["per_filter"]["dedup"] == {
        "phase": "select",
        "in": 5,
        "rejected": 2,
        "out": 3,
        "reasons": {"exact_duplicate": 2},
    }


def test_filters_dedup_cross_encoder_score_outranks_logprob(row):
    rows = [
        row("Wo entspringt der Rhein?", record_id="a", query_logprob=-0.1, ce_score=0.2),
        row("Wo entspringt der Rhein?", record_id="b", query_logprob=-2.0, ce_score=0.9),
        row("Wo entspringt der Rhein?", record_id="c", query_logprob=None, ce_score=None),
    ]
    assert _kept_ids(rows, [DedupFilter()]) == ["b"]


def test_filters_dedup_near_duplicates_and_independence_of_input_order(row):
    base = "in welchem jahr wurde die erste brücke über den rhein bei köln gebaut"
    rows = [
        row(base + "?", record_id="a", query_logprob=-1.0),
        row(base + " genau?", record_id="b", query_logprob=-0.5),  # 13/14 words shared: near duplicate, better
        row("Wer baute die erste Brücke über die Themse in London?", record_id="c"),
    ]
    kept, rejected, _ = filter_rows(rows, [DedupFilter(threshold=0.8)])
    assert sorted(r["record_id"] for r in kept) == ["b", "c"]
    assert rejected[0]["reject_reason"].startswith("near_duplicate")
    assert _kept_ids(rows, [DedupFilter(near=False)]) == ["a", "b", "c"]
    for seed in range(3):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert _kept_ids(shuffled, [DedupFilter()]) == ["b", "c"]


def test_filters_dedup_selects_languages_in_parallel_with_the_same_result(row):
    """Summaries merged batch by batch and a pool selecting one language per task decide exactly
    what one in-process pass decides."""
    import multiprocessing

    rng = random.Random(0)
    words = "rhein brücke köln basel bonn mainz fluss stadt jahr erste".split()
    rows = []
    for i in range(600):
        lang = ("de", "sw", "fr")[i % 3]
        query = " ".join(rng.sample(words, 6)) + ("?" if i % 2 else "")
        if i % 10 == 9:  # an exact copy, up to case and punctuation, of an earlier query of this language
            query = rows[i - 3 * rng.randint(1, 3)]["query"].upper().rstrip("?")
        rows.append(row(query, lang=lang, record_id=f"r{i:04d}", query_logprob=rng.choice([None, -rng.random()])))
    whole = DedupFilter()
    whole.observe([dict(r) for r in rows])
    expected = whole.select(set())
    assert {rej.code for rej in expected.values()} == {"exact_duplicate", "near_duplicate"}
    batched = DedupFilter()
    for i in range(0, len(rows), 64):
        batched.merge(batched.summarize([dict(r) for r in rows[i : i + 64]]))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert batched.select(set(), map=pool.imap_unordered) == expected
    excluded = {"r0001", "r0002"}
    assert whole.select(excluded) == _select_without(rows, excluded)


def _select_without(rows, excluded):
    f = DedupFilter()
    f.observe([dict(r) for r in rows if r["record_id"] not in excluded])
    return f.select(set())


def test_filters_dedup_visits_rows_in_order_key_order():
    """The numpy ordering of the selection is order_key_of's: higher ce_score, then higher query_logprob,
    then smaller record_id; missing and NaN scores last."""
    from hfswim.filters.base import order_key_of
    from hfswim.filters.dedup import _best_first, _LanguageTask

    rng = random.Random(1)
    values = [None, float("nan"), -0.0, 0.0, -1.5, 2.0, -1e-300]
    ids = [f"r{rng.randrange(10**6):07d}-{i}" for i in range(400)]
    ce = [rng.choice(values + [None] * 5) for _ in ids]
    lp = [rng.choice(values) for _ in ids]
    task = _LanguageTask(ids, ce, lp, np.zeros(len(ids), np.uint64), None, {ids[3], ids[7]}, 0.8, 1)
    expected = sorted((i for i in range(len(ids)) if i not in (3, 7)), key=lambda i: order_key_of(ids[i], ce[i], lp[i]))
    assert _best_first(task) == expected


def test_filters_dedup_batch_minhash_is_datasketch_minhash():
    hasher = MinHasher(num_perm=64)
    a, b = MinHash(num_perm=64, seed=1, scheme="affine32").permutations
    assert np.array_equal(hasher._a, a) and np.array_equal(hasher._b, b)
    texts = ["Wo entspringt der Rhein?", "莱茵河发源于哪里？", "ライン川はどこ", "?"]
    sets = [shingles(t) for t in texts]
    sigs = hasher.signatures(sets)
    for toks, sig in zip(sets, sigs, strict=True):
        ref = MinHash(num_perm=64, seed=1, hashfunc=lambda b: zlib.crc32(b))
        ref.update_batch([t.encode("utf-8") for t in toks])
        assert np.array_equal(ref.hashvalues, sig)
    assert shingles("莱茵河发源") == {"莱茵", "茵河", "河发", "发源"}
    # The work array is kept between calls: a larger call, then a smaller one, as a fresh hasher gives.
    many = [shingles(f"{t} {i}") for i in range(300) for t in texts]
    assert np.array_equal(hasher.signatures(many, chunk=1024), MinHasher(num_perm=64).signatures(many))
    assert np.array_equal(hasher.signatures(sets), sigs)


def test_filters_normalize_many_is_normalize_text_by_text():
    """The batch path (a numpy table over the BMP) agrees with the regex on any text: combining marks,
    compatibility forms, odd whitespace, lone surrogates, characters beyond the BMP."""
    from hfswim.text import normalize as text

    rng = random.Random(0)
    texts = [
        "".join(
            chr(rng.choice([rng.randrange(0x20, 0x3000), rng.randrange(0x2000, 0x2100), rng.randrange(0x110000)]))
            for _ in range(rng.randrange(0, 24))
        )
        for _ in range(3000)
    ]
    texts += [
        "Où  est-il ?",
        " \x1c a \x1c ",
        "x\u0301",
        "\u0301x",
        "ﬁn Ǆ",
        "\ud800x",
        "😀 hi 😀",
        "?!",
        "",
        "北京在哪里？",
    ]
    expected = [text._normalize(t) for t in texts]
    text._NORM_MEMO.clear()
    assert text.normalize_many(texts) == expected
    assert [normalize(t) for t in texts] == expected  # now from the memo


def test_filters_text_helpers():
    assert normalize("¿Dónde  nace el RÍO?") == "dónde nace el río"
    assert tokens("हिन्दी में क्या है?") == ["हिन्दी", "में", "क्या", "है"]  # vowel signs stay inside words
    assert longest_common_run(list("abcxabcd"), list("zabcdz")) == 4


def test_filters_heuristics_lengths_are_counted_per_script(row):
    f = HeuristicsFilter(min_words=3, max_words=6, min_chars=4, max_chars=12)
    rows = [
        row("Rhein?", record_id="short"),
        row("Wo entspringt der Rhein?", record_id="ok"),
        row("Wo entspringt der Rhein und wohin fließt er am Ende?", record_id="long"),
        row("莱茵河发源于哪里？", lang="zh", record_id="zh-ok"),  # 8 characters, one "word"
        row("莱茵河？", lang="zh", record_id="zh-short"),
        row("莱茵河发源于哪里，流经哪些国家？", lang="zh", record_id="zh-long"),
    ]
    result = f.apply(rows)
    assert sorted(r["record_id"] for r in result.kept) == ["ok", "zh-ok"]
    codes = {r["record_id"]: j.code for r, j in result.rejected}
    assert codes == {"short": "too_short", "long": "too_long", "zh-short": "too_short", "zh-long": "too_long"}


def test_filters_heuristics_copies(row):
    passage = (
        "The Rhine rises in the Swiss Alps and flows north through Germany and the Netherlands into the North Sea."
    )
    f = HeuristicsFilter()
    copied = row("The Rhine rises in the Swiss Alps and flows north", lang="en", record_id="copy")
    untranslated = row("The Rhine rises in the Swiss Alps and flows north?", lang="sw", record_id="untranslated")
    short_copy = row("flows north through Germany and", lang="en", record_id="short-copy")  # 5/5 words copied
    fine = row("Where does the Rhine rise?", lang="en", record_id="fine")
    repeat = row("A famous river in Europe", lang="en", summary="A famous river in Europe.", record_id="repeat")
    lazy = row("Where does the Rhine end?", lang="en", summary=passage, record_id="lazy-summary")
    extractive = row(
        "Where does the Rhine end?", lang="en", summary="The Rhine flows into the North Sea.", record_id="extractive"
    )
    # Hindi queries for an English summary: one repeats it (its ASCII words are the summary's), one does not.
    summary = "The Swiss Alps feed the Rhine."
    hi_repeat = row("स्विस the swiss alps feed the rhine", lang="hi", summary=summary, record_id="hi-repeat")
    hi_fine = row("राइन नदी the swiss alps से निकलती है", lang="hi", summary=summary, record_id="hi-fine")
    result = f.apply([copied, untranslated, short_copy, fine, repeat, lazy, extractive, hi_repeat, hi_fine])
    codes = {r["record_id"]: j.code for r, j in result.rejected}
    assert codes == {
        "copy": "copied_from_passage",
        "untranslated": "copied_from_passage",
        "short-copy": "copied_from_passage",
        "repeat": "repeats_summary",
        "lazy-summary": "summary_copies_passage",
        "hi-repeat": "repeats_summary",
    }
    assert sorted(r["record_id"] for r in result.kept) == ["extractive", "fine", "hi-fine"]


def test_filters_heuristics_question_form_is_optional(row):
    rows = [
        row("Wo entspringt der Rhein", record_id="stmt"),
        row("ライン川はどこにありますか？", lang="ja", record_id="q"),
    ]
    assert len(HeuristicsFilter().apply(rows).kept) == 2
    result = HeuristicsFilter(require_question=True).apply(rows)
    assert [r["record_id"] for r in result.kept] == ["q"]
    assert result.rejected[0][1].code == "not_a_question"


def test_filters_heuristics_count_vietnamese_syllables_as_parts_of_words(row):
    # Vietnamese writes every syllable apart: 9 copied syllables are ~5 words (kept), 12 are ~8 words (rejected).
    passage = "Sau khi rời công ty của Edison, Tesla hợp tác với hai doanh nhân ở New York vào năm 1886."
    mono = {"text": passage, "passage_language": "vi", "setting": "monolingual", "summary": "Tesla và hai doanh nhân."}
    short = row("Tesla hợp tác với hai doanh nhân ở đâu vậy?", lang="vi", record_id="short-run", **mono)
    long = row("Sau khi rời công ty của Edison, Tesla hợp tác với ai?", lang="vi", record_id="long-run", **mono)
    result = HeuristicsFilter().apply([short, long])
    assert [r["record_id"] for r in result.kept] == ["short-run"]
    assert {r["record_id"]: j.code for r, j in result.rejected} == {"long-run": "copied_from_passage"}
    # The same 9-token run in a language written word by word is a long copy.
    en = {"text": "one two three four five six seven eight nine ten", "passage_language": "en", "summary": "x y"}
    as_words = row("one two three four five six seven eight nine?", lang="en", record_id="en", **en)
    assert HeuristicsFilter().apply([as_words]).rejected[0][1].code == "copied_from_passage"


def _lsh_greedy_reference(sigs, ids, order, threshold):
    """dedup's near-duplicate pass as datasketch's MinHashLSH does it, row by row: query the kept rows, drop when
    the most similar candidate (smallest index among equals) reaches the threshold, else insert."""
    from datasketch import LeanMinHash, MinHashLSH

    num_perm = sigs.shape[1]
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    found = []
    for i in order:
        mh = LeanMinHash(seed=1, hashvalues=sigs[i], scheme="affine32")
        keys = sorted(lsh.query(mh))
        if keys:
            agree = np.count_nonzero(sigs[keys] == sigs[i], axis=1)
            most = int(agree.max())
            best = min(k for k, a in zip(keys, agree.tolist(), strict=True) if a == most)
            if most / num_perm >= threshold:
                detail = (
                    f"estimated Jaccard {most / num_perm:.2f} >= {threshold} with {ids[best]} (kept, scored higher)"
                )
                found.append((ids[i], "near_duplicate", detail))
                continue
        lsh.insert(i, mh, check_duplication=False)
    return found


@pytest.mark.parametrize(
    ("threshold", "num_perm", "templates", "max_group"),
    [(0.8, 64, 40, 1024), (0.8, 64, 6, 1024), (0.8, 64, 6, 32), (0.5, 128, 12, 1024), (0.9, 256, 8, 16)],
)
def test_filters_dedup_near_pairs_decide_as_datasketch_lsh_row_by_row(threshold, num_perm, templates, max_group):
    """The near-duplicate pass drops the rows, with the same reasons, that datasketch's MinHashLSH inserted and
    queried row by row drops: small band groups, large ones (few templates: groups of ~100 rows) compared block by
    block or, above ``max_group``, row by row with their kept members; signatures of 64, 128 and 256 values; every
    tabled LSH layout is the one MinHashLSH optimises."""
    from datasketch import MinHashLSH

    from hfswim.filters.dedup import _LSH_PARAMS, _LanguageTask, _select_near

    for (t, p), layout in _LSH_PARAMS.items():
        lsh = MinHashLSH(threshold=t, num_perm=p)
        assert (lsh.b, lsh.r) == layout, (t, p)
    rng = np.random.default_rng(templates)
    base = rng.integers(0, 1 << 32, size=(templates, num_perm), dtype=np.uint32)
    sigs = base[rng.integers(0, templates, size=700)].copy()
    noise = rng.random(sigs.shape) < rng.choice([0.03, 0.15, 0.4], size=(len(sigs), 1))  # near and far copies
    sigs[noise] = rng.integers(0, 1 << 32, size=int(noise.sum()), dtype=np.uint32)
    ids = [f"r{i:04d}" for i in range(len(sigs))]
    task = _LanguageTask(
        ids, [None] * len(ids), [None] * len(ids), np.zeros(len(ids), np.uint64), sigs, set(), threshold, 1
    )
    order = rng.permutation(len(sigs)).tolist()
    found: list = []
    _select_near(task, order, found, max_group=max_group)
    expected = _lsh_greedy_reference(sigs, ids, order, threshold)
    assert sorted(found) == sorted(expected)
    assert 50 < len(expected) < len(sigs) - 50  # both kinds of decision, many of each


def test_filters_heuristics_shared_summary_judged_as_if_fresh(row):
    """One SAP summary serves every language's row of a passage: its tokens are cached per (summary, unspaced), and
    every row is judged as a fresh filter judges it alone (spaced and unspaced queries, copies and fine rows)."""
    summary = "莱茵河 A famous old river of central Europe 莱茵河发源于瑞士"
    rows = [
        row("A famous old river of central Europe", lang="en", summary=summary, record_id="en-copy"),
        row("Where does the Rhine rise?", lang="en", summary=summary, record_id="en-fine"),
        row("莱茵河发源于瑞士", lang="zh", summary=summary, record_id="zh-copy"),
        row("莱茵河流经哪些国家？", lang="zh", summary=summary, record_id="zh-fine"),
    ] * 2
    shared = HeuristicsFilter()
    together = [j and j.code for j in shared.judge([dict(r) for r in rows])]
    alone = [(HeuristicsFilter().judge([dict(r)])[0] or None) for r in rows]
    assert together == [j and j.code for j in alone]
    assert together[:4] == ["repeats_summary", None, "repeats_summary", None]
