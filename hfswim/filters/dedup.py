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
import zlib
from collections import defaultdict
from typing import ClassVar

import numpy as np

from hfswim.filters.base import Rejection, Row, SelectFilter, order_key
from hfswim.filters.text import normalize
from hfswim.langid import script_of
from hfswim.languages import UNSPACED_SCRIPTS

_MAX_HASH = np.uint32((1 << 32) - 1)


def shingles(text: str, norm: str | None = None) -> set[str]:
    """Word set of the normalised query; character bigrams for unspaced scripts."""
    norm = normalize(text) if norm is None else norm
    if script_of(text) in UNSPACED_SCRIPTS:
        chars = norm.replace(" ", "")
        return {chars[i : i + 2] for i in range(max(len(chars) - 1, 1))}
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

    def signatures(self, token_sets: list[set[str]]) -> np.ndarray:
        """``(len(token_sets), num_perm)`` uint32 signatures; an empty set gets the all-max signature."""
        hashes: list[int] = []
        starts: list[int] = []
        for toks in token_sets:
            starts.append(len(hashes))
            hashes.extend(zlib.crc32(t.encode("utf-8")) for t in toks)
        out = np.full((len(token_sets), self.num_perm), _MAX_HASH, dtype=np.uint32)
        if hashes:
            hv = _fmix32(np.asarray(hashes, dtype=np.uint32)).reshape(-1, 1)
            with np.errstate(over="ignore"):  # wrap-around is the modulo 2^32 of the scheme
                phv = hv * self._a + self._b
            lengths = np.diff(np.asarray([*starts, len(hashes)]))
            nonempty = lengths > 0
            out[nonempty] = np.minimum.reduceat(phv, np.asarray(starts)[nonempty], axis=0)
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

    def fingerprint(self, rows: list[Row]) -> list[tuple[bytes, np.ndarray | None]]:
        """(hash of the normalised query, MinHash signature) per row: the costly part of observing.

        Parallel runs compute it in the worker processes and hand it over as ``row["_dedup"]``.
        """
        norms = [normalize(row.get("query") or "") for row in rows]
        keys = [hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest() for norm in norms]
        if self.hasher is None:
            return [(key, None) for key in keys]
        sigs = self.hasher.signatures([shingles(r.get("query") or "", n) for r, n in zip(rows, norms, strict=True)])
        return list(zip(keys, sigs, strict=True))

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
                state.sigs.append(np.stack(block))

    def select(self, excluded: set[str]) -> dict[str, Rejection]:
        from datasketch import MinHashLSH

        rejects: dict[str, Rejection] = {}
        for lang in sorted(self._state):
            state = self._state[lang]
            sigs = np.concatenate(state.sigs) if state.sigs else None
            order = sorted(
                (i for i, rid in enumerate(state.ids) if rid not in excluded),
                key=lambda i: order_key(
                    {"record_id": state.ids[i], "ce_score": state.ce[i], "query_logprob": state.lp[i]}
                ),
            )
            seen: dict[bytes, str] = {}
            lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm) if sigs is not None else None
            for i in order:
                rid = state.ids[i]
                if state.keys[i] in seen:
                    rejects[rid] = self.reject("exact_duplicate", f"same normalised query as {seen[state.keys[i]]}")
                    continue
                seen[state.keys[i]] = rid
                if lsh is not None:
                    mh = self.hasher.minhash(sigs[i])  # type: ignore[union-attr]
                    # LSH returns candidates (band collisions); confirm with the estimated Jaccard,
                    # else many moderately similar queries would knock each other out.
                    best_j, best_k = 0.0, -1
                    for k in lsh.query(mh):
                        j = float(np.count_nonzero(sigs[k] == sigs[i])) / self.num_perm
                        if j > best_j or (j == best_j and k < best_k):
                            best_j, best_k = j, k
                    if best_j >= self.threshold:
                        rejects[rid] = self.reject(
                            "near_duplicate",
                            f"estimated Jaccard {best_j:.2f} >= {self.threshold} with {state.ids[best_k]} (kept, scored higher)",
                        )
                        continue
                    lsh.insert(i, mh, check_duplication=False)
        return rejects
