"""faiss search against numpy brute force, index kinds, and saved-index round trips."""

from __future__ import annotations

import numpy as np
import pytest

from hfswim.errors import ConfigError, InputError
from hfswim.evaluation.index import FaissIndex, FaissSearchBackend, IndexParams, SavedIndex, normalize


def _clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(16, dim))
    return (centers[rng.integers(0, 16, n)] + 0.3 * rng.normal(size=(n, dim))).astype("float32")


def test_flat_search_equals_numpy_brute_force():
    corpus, queries = _clustered(500, 32), _clustered(20, 32, seed=1)
    scores, ids = FaissIndex.build(corpus, kind="flat").search(queries, k=10)
    sims = normalize(queries) @ normalize(corpus).T
    expected_ids = np.argsort(-sims, axis=1, kind="stable")[:, :10]
    np.testing.assert_allclose(scores, np.take_along_axis(sims, expected_ids, axis=1), rtol=1e-5, atol=1e-5)
    # Ids agree wherever scores are not tied.
    assert (ids == expected_ids).mean() > 0.99


def test_hnsw_and_ivfpq_approximate_exact_search():
    corpus, queries = _clustered(3000, 32), _clustered(50, 32, seed=2)
    _, exact = FaissIndex.build(corpus, kind="flat").search(queries, k=10)
    _, hnsw = FaissIndex.build(corpus, kind="hnsw", params=IndexParams(hnsw_m=16, hnsw_ef_search=64)).search(
        queries, k=10
    )
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, hnsw, strict=True)])
    assert recall >= 0.9
    _, ivfpq = FaissIndex.build(corpus, kind="ivfpq", params=IndexParams(ivf_nprobe=8)).search(queries, k=10)
    assert ivfpq.shape == (50, 10) and (ivfpq >= 0).all()
    recall_pq = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, ivfpq, strict=True)])
    assert recall_pq >= 0.3  # compressed codes: approximate, but far above chance (10/3000)


def test_unknown_kind_and_bad_shapes_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown index kind 'lsh'"):
        FaissIndex.build(np.eye(4), kind="lsh")
    index = FaissIndex.build(np.eye(4), kind="flat")
    with pytest.raises(InputError, match="dim 3, the index has dim 4"):
        index.search(np.ones((1, 3)))
    with pytest.raises(ConfigError):
        FaissSearchBackend("annoy")


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_saved_index_round_trip(tmp_path, kind):
    vectors = _clustered(200, 16)
    passages = [
        {"passage_id": f"p{i}", "title": f"T{i}", "text": f"text {i}", "passage_language": "en"} for i in range(200)
    ]
    saved = SavedIndex.from_embeddings(vectors, passages, model="some/model", kind=kind)
    saved.save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["index.faiss", "index.json", "passages.parquet"]
    loaded = SavedIndex.load(tmp_path / "idx")
    assert (loaded.metadata.model, loaded.metadata.dim, loaded.metadata.kind, loaded.metadata.count) == (
        "some/model",
        16,
        kind,
        200,
    )
    assert loaded.metadata.metric == "cosine"
    before = saved.search_vectors(vectors[:5], k=5)
    after = loaded.search_vectors(vectors[:5], k=5)
    assert [[h.passage_id for h in hits] for hits in before] == [[h.passage_id for h in hits] for hits in after]
    assert after[0][0].passage_id == "p0" and after[0][0].title == "T0" and after[0][0].score == pytest.approx(1.0)


def test_loading_a_folder_that_is_not_an_index(tmp_path):
    (tmp_path / "index.json").write_text("{}")
    with pytest.raises(InputError, match=r"missing index\.faiss, passages\.parquet"):
        SavedIndex.load(tmp_path)


def test_search_backend_follows_mtebs_protocol():
    backend = FaissSearchBackend("flat")
    corpus = _clustered(50, 8)
    backend.add_documents(corpus[:30], [f"d{i}" for i in range(30)])
    backend.add_documents(corpus[30:], [f"d{i}" for i in range(30, 50)])
    scores, ids = backend.search(corpus[:2], top_k=3)
    assert [row[0] for row in ids] == [0, 1] and len(scores[0]) == 3
    # Reranking returns indices into each query's candidate list, as mteb's FaissSearchIndex does.
    scores, ids = backend.search(corpus[:1], top_k=2, top_ranked={"q": ["d7", "d0", "d9"]}, query_idx_to_id={0: "q"})
    assert ids[0][0] == 1
    backend.clear()
    with pytest.raises(InputError):
        backend.search(corpus[:1], top_k=1)
