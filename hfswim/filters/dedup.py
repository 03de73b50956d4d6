"""The ``dedup`` filter: exact and near-duplicate queries within a language; the best copy is kept.

* **Exact**: queries equal after normalisation (NFKC, casefold, punctuation and whitespace removed).
* **Near**: MinHash/LSH from ``datasketch`` over the query's word set (character bigrams for CJK and
  Thai), estimated Jaccard similarity >= ``threshold``.

"Best" copy = highest ``ce_score``, then highest ``query_logprob``, then smallest ``record_id``
(:func:`hfswim.filters.base.order_key`): rows are visited best first, and a row is dropped when it
equals, or is near, a row already kept — so the kept set does not depend on input order.

Memory: two-pass, with per-language compact state only — per row its ``record_id``, two scores, an
8-byte hash of the normalised query and the MinHash signature (``num_perm`` x 4 bytes: 256 bytes at
the default 64), never whole records. The LSH index is built per language at selection time, over
queries only. The MinHash signatures are computed for a whole batch at once with numpy (datasketch's
default "affine32" scheme and permutations, a stable CRC-32 token hash: bit-identical to
``datasketch.MinHash``, tested), far faster than one ``datasketch.MinHash`` per query; the signatures
are then handed to ``datasketch.MinHashLSH``.
"""

from __future__ import annotations

import hashlib
import operator
import zlib
from collections import defaultdict
from typing import ClassVar

import numpy as np

from hfswim.filters.base import Rejection, Row, SelectFilter, order_key_of
from hfswim.filters.text import normalize
from hfswim.langid import script_of
from hfswim.languages import UNSPACED_SCRIPTS

_MAX_HASH = np.uint32((1 << 32) - 1)


def shingles(text: str, norm: str | None = None) -> set[str]:
    """Word set of the normalised query; character bigrams for unspaced scripts."""
    norm = normalize(text) if norm is None else norm
    if script_of(text) in UNSPACED_SCRIPTS:
        chars = norm.replace(" ", "")
        # Bigrams chars[i:i+2], built in C; a text of 0 or 1 characters is its own single shingle.
        return set(map(operator.add, chars[:-1], chars[1:])) if len(chars) > 1 else {chars}
    return set(norm.split())


def _fmix32(hv: np.ndarray) -> np.ndarray:
    # MurmurHash3's 32-bit finalizer, as datasketch's "affine32" scheme pre-mixes every token hash.
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


class MinHasher:
    """Batch MinHash signatures, identical to ``datasketch.MinHash(num_perm, seed, hashfunc=crc32)``
    (its default "affine32" scheme), computed for many texts in one numpy pass."""

    def __init__(self, num_perm: int = 64, seed: int = 1):
        from datasketch import MinHash

        self.num_perm, self.seed = num_perm, seed
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        self._a, self._b = np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)

    def signatures(self, token_sets: list[set[str]], chunk: int = 4096) -> np.ndarray:
        """``(len(token_sets), num_perm)`` uint32 signatures; an empty set gets the all-max signature."""
        out = np.full((len(token_sets), self.num_perm), _MAX_HASH, dtype=np.uint32)
        crc32, encode = zlib.crc32, str.encode  # str.encode defaults to UTF-8; map() keeps the loop in C
        for first in range(0, len(token_sets), chunk):  # chunks bound the (num_perm, tokens) work array
            hashes: list[int] = []
            starts: list[int] = []
            for toks in token_sets[first : first + chunk]:
                starts.append(len(hashes))
                hashes.extend(map(crc32, map(encode, toks)))
            if not hashes:
                continue
            hv = _fmix32(np.asarray(hashes, dtype=np.uint32))
            # (num_perm, tokens): each permutation's values are contiguous, so the per-set minimum
            # (reduceat) runs along memory; uint32 wrap-around is the modulo 2^32 of the scheme.
            with np.errstate(over="ignore"):
                phv = np.multiply.outer(self._a, hv)
                phv += self._b[:, None]
            bounds = np.asarray(starts)
            nonempty = np.diff(np.append(bounds, len(hashes))) > 0
            rows = np.arange(first, first + len(starts))[nonempty]
            out[rows] = np.minimum.reduceat(phv, bounds[nonempty], axis=1).T
        return out

    def minhash(self, signature: np.ndarray):
        # LeanMinHash: no permutations to regenerate (a MinHash would redo them for every row).
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme="affine32")


class _LangState:
    __slots__ = ("ce", "ids", "keys", "lp", "sigs")

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.ce: list[float | None] = []
        self.lp: list[float | None] = []
        self.keys: list[bytes] = []
        self.sigs: list[np.ndarray] = []  # one (batch, num_perm) block per observed batch


class DedupFilter(SelectFilter):
    """Drop exact and near-duplicate queries within each ``query_lang``, keeping the best-scored copy.

    Args:
        near: also drop near duplicates (MinHash/LSH); ``False`` = exact only.
        threshold: Jaccard similarity from which two queries are near duplicates.
        num_perm: MinHash permutations (more = more precise, more memory).
    """

    name: ClassVar[str] = "dedup"

    def __init__(self, near: bool = True, threshold: float = 0.8, num_perm: int = 64):
        self.near, self.threshold, self.num_perm = near, threshold, num_perm
        self.hasher = MinHasher(num_perm) if near else None
        self.reset()

    def reset(self) -> None:
        self._state: dict[str, _LangState] = defaultdict(_LangState)

    def fingerprint(self, rows: list[Row]) -> list[tuple[bytes, bytes | None]]:
        """(hash of the normalised query, MinHash signature as ``num_perm`` uint32 bytes) per row: the
        costly part of observing.

        Parallel runs compute it in the worker processes and hand it over as ``row["_dedup"]`` (bytes
        cross process boundaries far cheaper than one small numpy array per row).
        """
        norms = [normalize(row.get("query") or "") for row in rows]
        keys = [hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest() for norm in norms]
        if self.hasher is None:
            return [(key, None) for key in keys]
        sigs = self.hasher.signatures([shingles(r.get("query") or "", n) for r, n in zip(rows, norms, strict=True)])
        blob, width = sigs.tobytes(), 4 * self.num_perm
        return [(key, blob[i * width : (i + 1) * width]) for i, key in enumerate(keys)]

    def observe(self, rows: list[Row]) -> None:
        by_lang: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_lang[row.get("query_lang") or ""].append(row)
        for lang, group in by_lang.items():
            state = self._state[lang]
            missing = [r for r in group if "_dedup" not in r]
            for row, fp in zip(missing, self.fingerprint(missing), strict=True):
                row["_dedup"] = fp
            block = []
            for row in group:
                key, sig = row.pop("_dedup")
                state.ids.append(row["record_id"])
                state.ce.append(row.get("ce_score"))
                state.lp.append(row.get("query_logprob"))
                state.keys.append(key)
                if sig is not None:
                    block.append(sig)
            if block:  # one (rows, num_perm) array per batch: no per-row numpy overhead
                sigs = np.frombuffer(b"".join(block), dtype=np.uint32).reshape(len(block), self.num_perm)
                state.sigs.append(sigs)

    def select(self, excluded: set[str]) -> dict[str, Rejection]:
        rejects: dict[str, Rejection] = {}
        for lang in sorted(self._state):
            state = self._state[lang]
            ids, ce, lp = state.ids, state.ce, state.lp
            order = sorted(
                (i for i, rid in enumerate(ids) if rid not in excluded),
                key=lambda i: order_key_of(ids[i], ce[i], lp[i]),
            )
            # Exact duplicates: every copy after the best one of a normalised query. This does not depend
            # on the near-duplicate decisions (a near-duplicate's query still counts as seen).
            seen: dict[bytes, str] = {}
            firsts: list[int] = []
            for i in order:
                key = state.keys[i]
                if key in seen:
                    rejects[ids[i]] = self.reject("exact_duplicate", f"same normalised query as {seen[key]}")
                else:
                    seen[key] = ids[i]
                    firsts.append(i)
            if self.hasher is not None and state.sigs:
                self._select_near(state, np.concatenate(state.sigs), firsts, rejects)
        return rejects

    def _select_near(self, state: _LangState, sigs: np.ndarray, order: list[int], rejects: dict) -> None:
        """Visit ``order`` (best first) and drop each row whose estimated Jaccard with a kept row reaches
        the threshold; candidates come from datasketch's MinHashLSH.

        Only rows that share an LSH band with some row of ``order`` *and* reach the threshold with it
        can be dropped or cause a drop, so only those — found for all rows at once with numpy — go
        through the index: the same decisions at a fraction of the cost.
        """
        lsh = _lsh(self.threshold, self.num_perm)
        rows = np.asarray(order, dtype=np.int64)
        near = _rows_with_near_partner(sigs[rows], lsh.hashranges, self.threshold)
        involved = set(rows[near].tolist())
        for i in order:
            if i not in involved:
                continue
            mh = self.hasher.minhash(sigs[i])  # type: ignore[union-attr]
            # LSH returns candidates (band collisions); confirm with the estimated Jaccard,
            # else many moderately similar queries would knock each other out.
            # The most similar candidate, the smallest index among equals (every candidate shares a band,
            # so its similarity is > 0).
            best_j, best_k = 0.0, -1
            candidates = lsh.query(mh)
            if candidates:
                keys = np.asarray(candidates, dtype=np.int64)
                agree = np.count_nonzero(sigs[keys] == sigs[i], axis=1)
                most = agree.max()
                best_j, best_k = float(most) / self.num_perm, int(keys[agree == most].min())
            if best_j >= self.threshold:
                rejects[state.ids[i]] = self.reject(
                    "near_duplicate",
                    f"estimated Jaccard {best_j:.2f} >= {self.threshold} with {state.ids[best_k]} (kept, scored higher)",
                )
                continue
            lsh.insert(i, mh, check_duplication=False)


def _lsh(threshold: float, num_perm: int):
    """A fresh ``MinHashLSH``; its band layout (b, r) is optimised once per (threshold, num_perm)."""
    from datasketch import MinHashLSH

    params = _LSH_PARAMS.get((threshold, num_perm))
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=params)
    _LSH_PARAMS[(threshold, num_perm)] = (lsh.b, lsh.r)
    return lsh


_LSH_PARAMS: dict[tuple[float, int], tuple[int, int]] = {}
_BAND_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: the band hash below is a polynomial mod 2^64


def _rows_with_near_partner(
    sigs: np.ndarray, hashranges: list[tuple[int, int]], threshold: float, max_bucket: int = 64
) -> np.ndarray:
    """Mask of the rows that share an LSH band with another row *and* reach ``threshold`` with it.

    Each band is hashed to 64 bits and rows are grouped by that hash; pairs within a group get their
    estimated Jaccard (the fraction of equal signature values, as the LSH loop computes it). A hash
    collision only adds pairs, and every row of a group larger than ``max_bucket`` is marked without
    pair checks, so the mask may hold too many rows (the LSH index then decides exactly), never too few.
    """
    n, num_perm = sigs.shape
    mask = np.zeros(n, dtype=bool)
    if n < 2:
        return mask
    for start, end in hashranges:
        band = sigs[:, start:end].astype(np.uint64)
        h = band[:, 0].copy()
        for j in range(1, end - start):
            h = h * _BAND_MULTIPLIER + band[:, j]  # uint64 arithmetic wraps around
        by_hash = np.argsort(h, kind="stable")
        sorted_h = h[by_hash]
        first = np.flatnonzero(np.r_[True, sorted_h[1:] != sorted_h[:-1]])
        sizes = np.diff(np.r_[first, n])
        group = np.repeat(np.arange(len(first)), sizes)  # group of each sorted position
        big = np.repeat(sizes > max_bucket, sizes)
        mask[by_hash[big]] = True
        # Pairs (p, p + d) of sorted positions in the same small group, for d = 1, 2, ...
        for d in range(1, min(int(sizes[sizes <= max_bucket].max(initial=1)), n)):
            same = (group[d:] == group[:-d]) & ~big[d:]
            if not same.any():
                break
            x, y = by_hash[:-d][same], by_hash[d:][same]
            near = np.count_nonzero(sigs[x] == sigs[y], axis=1) / num_perm >= threshold
            mask[x[near]] = True
            mask[y[near]] = True
    return mask
