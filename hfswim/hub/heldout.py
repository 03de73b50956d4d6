"""Choose a held-out evaluation split deterministically, by passage.

A passage is held out when a keyed hash of its id falls below ``fraction``: the same (seed, fraction)
always picks the same passages, whatever the order or sharding of the input, and a larger fraction
holds out a superset. Splitting by *passage* rather than by query means no training query shares a
positive passage with a held-out query, so the evaluation never rewards memorised passages.

The held-out rows are exported in MTEB's retrieval layout (``<config>-corpus``, ``-queries``, ``-qrels``)
and excluded from ``train``. The corpus holds every distinct passage of the config (train passages are
the distractors), so held-out queries are retrieved against a realistic pool.

Example::

    >>> import pyarrow as pa
    >>> ids = pa.array([f"doc{i}#0" for i in range(1000)])
    >>> picked = held_out_mask(ids, fraction=0.1, seed=0)
    >>> 60 < sum(picked.to_pylist()) < 140, held_out_mask(ids, 0.1, 0) == picked
    (True, True)
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

_SCALE = float(1 << 64)


def passage_draw(passage_id: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by (seed, passage id).

    The key is salted with "heldout" so the draw is independent of the corpus sampler's
    (:func:`hfswim.corpus.sampling.passage_draw`): with the same key, the passages a sample kept
    (the lowest draws) would all fall below the held-out fraction and nothing would be left to train on.
    """
    key = f"heldout:{seed}".encode()
    digest = hashlib.blake2b(passage_id.encode("utf-8"), digest_size=8, key=key).digest()
    return int.from_bytes(digest, "big") / _SCALE


def held_out_mask(passage_ids: pa.Array | pa.ChunkedArray, fraction: float, seed: int) -> pa.BooleanArray:
    """True for the rows whose passage is held out."""
    if fraction <= 0:
        return pa.repeat(False, len(passage_ids))
    return pa.array([passage_draw(p or "", seed) < fraction for p in passage_ids.to_pylist()], pa.bool_())
