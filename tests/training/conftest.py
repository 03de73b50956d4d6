"""Fixtures for training tests: a synthetic retrieval task the tiny model can learn in seconds.

Every passage carries a unique pair of "key" words among filler words; its query asks for the
same key words. An untrained random encoder ranks the right passage only somewhat above chance
(shared tokens), so retrieval quality has room to improve, and a few dozen steps measurably do.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

KEYS = (
    "river city capital museum history science music water energy planet ocean forest mountain school "
    "language book king queen war peace football fluss stadt hauptstadt ciudad ville fleuve mji"
).split()
LANGUAGE_NAMES = {"sw": "Swahili", "de": "German", "te": "Telugu"}  # SWIM-IR's `lang` column holds names
FILLER = "the a of in is der die das und ist el la de que es le les est".split()


def synthetic_rows(n: int, langs: tuple[str, ...] = ("sw", "de"), seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    pairs = [(a, b) for a in KEYS for b in KEYS if a != b]
    rng.shuffle(pairs)
    rows = []
    for i, (a, b) in enumerate(pairs[:n]):
        filler = rng.sample(FILLER, 6)
        text = " ".join([*filler[:3], a, *filler[3:], b])
        rows.append(
            {
                "query": f"what {a} where {b}",
                "title": "",
                "text": text,
                "query_language": langs[i % len(langs)],
                "passage_id": f"p{i}",
                "parse_status": "ok",
                "reject_filter": None,
            }
        )
    return rows


def write_parquet(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_dataset_repo(rows: list[dict], folder: Path, heldout_every: int = 0) -> Path:
    """A folder shaped like `hfswim build-dataset`'s output: data/<lang>/train-*.parquet + README configs.

    With ``heldout_every=k``, every k-th row goes to the MTEB-layout held-out configs
    ``<lang>-corpus/-queries/-qrels`` (split ``test``) instead of ``train``.
    """
    configs = ""
    for lang in sorted({r["query_language"] for r in rows}):
        mine = [r for r in rows if r["query_language"] == lang]
        held = [r for i, r in enumerate(mine) if heldout_every and i % heldout_every == 0]
        swim = [
            {"_id": r["passage_id"], "lang": LANGUAGE_NAMES.get(lang, lang), "code": lang, "query": r["query"],
             "title": r["title"], "text": r["text"]}
            for r in mine
            if r not in held
        ]  # fmt: skip
        write_parquet(swim, folder / "data" / lang / "train-00000-of-00001.parquet")
        configs += f"- config_name: {lang}\n  data_files:\n  - split: train\n    path: data/{lang}/train-*.parquet\n"
        if held:
            parts = {
                "corpus": [{"_id": r["passage_id"], "title": r["title"], "text": r["text"]} for r in mine],
                "queries": [{"_id": f"q-{r['passage_id']}", "text": r["query"]} for r in held],
                "qrels": [{"query-id": f"q-{r['passage_id']}", "corpus-id": r["passage_id"], "score": 1} for r in held],
            }
            for part, part_rows in parts.items():
                write_parquet(part_rows, folder / "data" / f"{lang}-{part}" / "test-00000-of-00001.parquet")
                configs += (
                    f"- config_name: {lang}-{part}\n  data_files:\n  - split: test\n"
                    f"    path: data/{lang}-{part}/test-*.parquet\n"
                )
    (folder / "README.md").write_text(f"---\nconfigs:\n{configs}---\n# synthetic\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def synthetic_parquet(tmp_path_factory) -> Path:
    """400 pipeline-style (FILTERED) rows in two languages, plus 2 rejected rows that must be dropped."""
    rows = synthetic_rows(400)
    rows.append({**rows[0], "query": "REJECTED", "reject_filter": "langid"})
    rows.append({**rows[1], "query": "UNPARSED", "parse_status": "no query found"})
    return write_parquet(rows, tmp_path_factory.mktemp("synthetic") / "filtered.parquet")


@pytest.fixture(scope="session")
def synthetic_repo(tmp_path_factory) -> Path:
    return write_dataset_repo(synthetic_rows(120), tmp_path_factory.mktemp("repo") / "dataset")


class SyntheticData:
    """Builders for test data, handed to tests as the ``synthetic`` fixture."""

    rows = staticmethod(synthetic_rows)
    write_parquet = staticmethod(write_parquet)
    write_dataset_repo = staticmethod(write_dataset_repo)


@pytest.fixture
def synthetic() -> SyntheticData:
    return SyntheticData()
