"""The ``dedup`` filter: exact and near-duplicate queries within a language; the best copy is kept.

* **Exact**: queries equal after normalisation (NFKC, casefold, punctuation and whitespace removed).
* **Near**: MinHash/LSH (``datasketch``'s scheme and band layout) over the query's word set (character bigrams
  for CJK and Thai), estimated Jaccard similarity >= ``threshold``.

"Best" copy = highest ``ce_score``, then highest ``query_logprob``, then smallest ``record_id``
(:func:`hfswim.filters.base.order_key`): rows are visited best first, and a row is dropped when it
equals, or is near, a row already kept — so the kept set does not depend on input order.

Memory: two-pass, with per-language compact state only — per row its ``record_id``, two scores, an
8-byte hash of the normalised query and the MinHash signature (``num_perm`` x 4 bytes: 256 bytes at
the default 64), never whole records, kept as one :class:`DedupBlock` per batch and language. The LSH
index is built per language at selection time, over queries only; languages are independent, so a
pool selects them in parallel (``select(map=pool.imap_unordered)``, as ``run_filters`` does with
``workers > 1``). The MinHash signatures are computed for a whole batch at once with numpy (datasketch's
default "affine32" scheme and permutations, a stable CRC-32 token hash: bit-identical to
``datasketch.MinHash``, tested), far faster than one ``datasketch.MinHash`` per query; the signatures
then go into an index that finds the candidates ``datasketch.MinHashLSH`` finds (same bands, same layout,
tested), without importing datasketch's LSH module, which pulls in scipy (0.3-1.2 s of CPU per run).
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import zlib
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
from pydantic import Field

from hfswim.filters.base import Rejection, Row, SelectFilter
from hfswim.filters.settings import Fraction
from hfswim.languages import UNSPACED_SCRIPTS
from hfswim.records import QUERY_LANGUAGE
from hfswim.text.langid import script_of, scripts_of
from hfswim.text.normalize import normalize, normalize_many

_MAX_HASH = np.uint32((1 << 32) - 1)


def shingles(text: str, norm: str | None = None) -> set[str]:
    """Word set of the normalised query; character bigrams for unspaced scripts."""
    return set(_shingle_list(text, norm))


def _shingle_list(text: str, norm: str | None = None, script: str | None = None) -> list[str]:
    """:func:`shingles` as a list, repeats included: a MinHash is a minimum, so repeats change nothing,
    and no set has to hash the tokens. ``norm`` and ``script``: ``normalize(text)`` and ``script_of(text)``,
    when the caller has them."""
    norm = normalize(text) if norm is None else norm
    if (script_of(text) if script is None else script) in UNSPACED_SCRIPTS:
        chars = norm.replace(" ", "")
        # Bigrams chars[i:i+2], built in C; a text of 0 or 1 characters is its own single shingle.
        return list(map(operator.add, chars[:-1], chars[1:])) if len(chars) > 1 else [chars]
    return norm.split()


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
        self.num_perm, self.seed = num_perm, seed
        # datasketch's affine32 permutations (MinHash._init_permutations: odd a, any b, from a seeded
        # RandomState), drawn here so that building the filter does not import datasketch, whose LSH
        # module pulls in scipy (~0.3 s): the select phase imports it while the workers judge rows.
        # A test checks them against datasketch.MinHash.
        gen = np.random.RandomState(seed)
        self._a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        # The (num_perm, tokens) work array, kept between calls: a fresh one per chunk (~2 MB) costs a page
        # fault per 4 KB each time, as much system time as the arithmetic takes.
        self._work = np.empty((num_perm, 0), dtype=np.uint32)

    def signatures(self, token_sets: Sequence[Collection[str]], chunk: int = 512) -> np.ndarray:
        """``(len(token_sets), num_perm)`` uint32 signatures (of sets, or lists: repeats change nothing);
        an empty one gets the all-max signature."""
        out = np.full((len(token_sets), self.num_perm), _MAX_HASH, dtype=np.uint32)
        crc32, encode = zlib.crc32, str.encode  # str.encode defaults to UTF-8; map() keeps the loop in C
        for first in range(0, len(token_sets), chunk):  # chunks bound the (num_perm, tokens) work array
            part = token_sets[first : first + chunk]
            lengths = np.fromiter(map(len, part), dtype=np.int64, count=len(part))
            total = int(lengths.sum())
            if not total:
                continue
            tokens = itertools.chain.from_iterable(part)
            hv = _fmix32(np.fromiter(map(crc32, map(encode, tokens)), dtype=np.uint32, count=total))
            # (num_perm, tokens): each permutation's values are contiguous, so the per-set minimum
            # (reduceat) runs along memory; uint32 wrap-around is the modulo 2^32 of the scheme.
            if self._work.shape[1] < total:
                self._work = np.empty((self.num_perm, total), dtype=np.uint32)
            phv = self._work[:, :total]
            with np.errstate(over="ignore"):
                np.multiply(self._a[:, None], hv, out=phv)
                phv += self._b[:, None]
            nonempty = lengths > 0
            starts = np.cumsum(lengths) - lengths
            rows = np.arange(first, first + len(part))[nonempty]
            out[rows] = np.minimum.reduceat(phv, starts[nonempty], axis=1).T
        return out


@dataclass
class DedupBlock:
    """Compact state of one batch's surviving rows of one language: what selection needs, no records.

    Built by :meth:`DedupFilter.summarize` (in a worker process when ``workers > 1``) and merged by
    :meth:`DedupFilter.merge`: a few lists and two arrays pickle far faster than one object per row.
    """

    ids: list[str]
    ce: list[float | None]
    lp: list[float | None]
    keys: np.ndarray  # uint64 hash of each normalised query
    sigs: np.ndarray | None  # (rows, num_perm) uint32 MinHash signatures; None for exact-only dedup


class DedupFilter(SelectFilter):
    """Drop exact and near-duplicate queries within each ``query_language``, keeping the best-scored copy.

    Requirements:
        ``datasketch`` (a dependency): its MinHash scheme and LSH band layout are what near-dedup reproduces
        (imported at selection time only for an unusual ``threshold``/``num_perm``, to optimise the layout).

    Inputs:
        Rows with ``record_id``, ``query`` and ``query_language``; ``ce_score`` and ``query_logprob`` (when
        earlier filters or the endpoint filled them in) decide which copy is kept, then ``record_id``.

    Relations:
        A select filter: it compares rows, so it runs in the select phase after every row filter, and
        before the top-k filters (``logprob``, ``cross-encoder``: :data:`~hfswim.filters.base.SELECT_ORDER`),
        so that top-k ranks unique queries.

    Args:
        near: also drop near duplicates (MinHash/LSH); ``False`` = exact only.
        threshold: Jaccard similarity from which two queries are near duplicates.
        num_perm: MinHash permutations (more = more precise, more memory).

    Example::

        >>> from hfswim.filters import filter_rows
        >>> rows = [{"record_id": f"r{i}", "query_language": "sw", "query": q}
        ...         for i, q in enumerate(["Mto Nile uko wapi?", "Mto Nile uko wapi ?", "Mlima Kenya uko wapi?"])]
        >>> kept, rejected, _ = filter_rows(rows, [DedupFilter(near=False)])
        >>> [r["record_id"] for r in kept], [r["reject_reason"].split(":")[0] for r in rejected]
        (['r0', 'r2'], ['exact_duplicate'])
    """

    name: ClassVar[str] = "dedup"
    columns: ClassVar[frozenset[str] | None] = frozenset(
        {"record_id", "query", QUERY_LANGUAGE, "ce_score", "query_logprob"}
    )

    def __init__(
        self, near: bool = True, threshold: Fraction = 0.8, num_perm: Annotated[int, Field(ge=16, le=1024)] = 64
    ):
        self.near, self.threshold, self.num_perm = near, threshold, num_perm
        self.hasher = MinHasher(num_perm) if near else None
        self.reset()

    def reset(self) -> None:
        self._blocks: dict[str, list[DedupBlock]] = defaultdict(list)

    def summarize(self, rows: list[Row]) -> dict[str, DedupBlock]:
        """Per language, the :class:`DedupBlock` of ``rows``: normalising and MinHash, the costly part."""
        # The whole batch in one pass (numpy's fixed costs once, not once per language), then split.
        queries = [row.get("query") or "" for row in rows]
        norms = normalize_many(queries)
        digest = hashlib.blake2b
        keys = np.frombuffer(
            b"".join([digest(norm.encode("utf-8"), digest_size=8).digest() for norm in norms]), dtype=np.uint64
        )
        sigs = None
        if self.hasher is not None:
            sigs = self.hasher.signatures(list(map(_shingle_list, queries, norms, scripts_of(queries))))
        by_lang: dict[str, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            by_lang[row.get(QUERY_LANGUAGE) or ""].append(i)
        blocks = {}
        for lang, at in by_lang.items():
            group = [rows[i] for i in at]
            blocks[lang] = DedupBlock(
                ids=[row["record_id"] for row in group],
                ce=[row.get("ce_score") for row in group],
                lp=[row.get("query_logprob") for row in group],
                keys=keys[at],
                sigs=None if sigs is None else sigs[at],
            )
        return blocks

    def warm_up(self) -> None:
        if self.hasher is not None:
            _band_layout(self.threshold, self.num_perm)  # unusual settings: datasketch optimises the layout

    def merge(self, summary: dict[str, DedupBlock]) -> None:
        for lang, block in summary.items():
            self._blocks[lang].append(block)

    def select(self, excluded: set[str], map=map) -> dict[str, Rejection]:
        """Per language (in parallel when ``map`` is a pool's), the copies to drop."""
        tasks = []
        for blocks in self._blocks.values():
            ids = list(itertools.chain.from_iterable(b.ids for b in blocks))
            sigs = np.concatenate([b.sigs for b in blocks]) if self.hasher is not None else None
            tasks.append(
                _LanguageTask(
                    ids=ids,
                    ce=list(itertools.chain.from_iterable(b.ce for b in blocks)),
                    lp=list(itertools.chain.from_iterable(b.lp for b in blocks)),
                    keys=np.concatenate([b.keys for b in blocks]),
                    sigs=sigs,
                    excluded=excluded.intersection(ids) if excluded else frozenset(),
                    threshold=self.threshold,
                    seed=self.hasher.seed if self.hasher is not None else 0,
                )
            )
        tasks.sort(key=lambda t: -len(t.ids))  # largest first: a pool finishes sooner
        rejects: dict[str, Rejection] = {}
        for found in map(_select_language, tasks):
            for rid, code, detail in found:
                rejects[rid] = self.reject(code, detail)
        return rejects


@dataclass
class _LanguageTask:
    ids: list[str]
    ce: list[float | None]
    lp: list[float | None]
    keys: np.ndarray
    sigs: np.ndarray | None
    excluded: frozenset[str] | set[str]
    threshold: float
    seed: int


def _best_first(task: _LanguageTask) -> list[int]:
    """Row indices, best first (:func:`~hfswim.filters.base.order_key_of`), without excluded rows."""
    ids, ce, lp = task.ids, task.ce, task.lp
    rows = range(len(ids)) if not task.excluded else [i for i, rid in enumerate(ids) if rid not in task.excluded]
    if all(v is None for v in ce) and all(v is None for v in lp):
        return sorted(rows, key=ids.__getitem__)  # same order as order_key_of, in C
    at = np.asarray(rows, dtype=np.int64)
    # order_key_of's (-ce, -lp, record_id) as one numpy lexsort; a missing (or NaN) score sorts last.
    keys = [np.asarray(ids, dtype=str)[at]]
    for scores in (lp, ce):  # lexsort's last key is the primary one
        negated = -np.array([np.nan if v is None else v for v in scores], dtype=np.float64)[at]
        negated[np.isnan(negated)] = np.inf
        keys.append(negated)
    return at[np.lexsort(keys)].tolist()


def _select_language(task: _LanguageTask) -> list[tuple[str, str, str]]:
    """(record_id, code, detail) of the rows of one language that dedup drops."""
    order = _best_first(task)
    ids = task.ids
    found: list[tuple[str, str, str]] = []
    if not order:
        return found
    # Exact duplicates: every copy after the best one of a normalised query. This does not depend on the
    # near-duplicate decisions (a near-duplicate's query still counts as seen).
    ranked = np.asarray(order, dtype=np.int64)
    _, first, inverse = np.unique(task.keys[ranked], return_index=True, return_inverse=True)
    best_copy = first[inverse.reshape(-1)]  # per ranked position, the position of its query's best copy
    is_copy = best_copy != np.arange(len(ranked))
    for pos in np.flatnonzero(is_copy).tolist():
        found.append((ids[order[pos]], "exact_duplicate", f"same normalised query as {ids[order[best_copy[pos]]]}"))
    if task.sigs is not None:
        firsts = ranked[~is_copy].tolist()
        _select_near(task, firsts, found)
    return found


def _select_near(task: _LanguageTask, order: list[int], found: list) -> None:
    """Visit ``order`` (best first) and drop each row whose estimated Jaccard with a kept row reaches
    the threshold; candidates come from an LSH index (:class:`_BandIndex`, datasketch's MinHashLSH layout).

    Only rows that share an LSH band with some row of ``order`` *and* reach the threshold with it
    can be dropped or cause a drop, so only those — found for all rows at once with numpy — go
    through the index, and only those with such a partner *before* them can be dropped, so only they
    query it (the others are inserted): the same decisions at a fraction of the cost.
    """
    sigs, threshold = task.sigs, task.threshold
    num_perm = sigs.shape[1]
    lsh = _BandIndex(*_band_layout(threshold, num_perm))
    rows = np.asarray(order, dtype=np.int64)
    near, near_before = _rows_with_near_partner(sigs[rows], lsh.hashranges, threshold)
    involved = set(rows[near].tolist())
    may_drop = set(rows[near_before].tolist())
    for i in order:
        if i not in involved:
            continue
        sig = sigs[i]
        if i not in may_drop:
            lsh.insert(i, sig)
            continue
        # LSH returns candidates (band collisions); confirm with the estimated Jaccard,
        # else many moderately similar queries would knock each other out.
        # The most similar candidate, the smallest index among equals (every candidate shares a band,
        # so its similarity is > 0).
        best_j, best_k = 0.0, -1
        candidates = lsh.query(sig)
        if candidates:
            keys = np.fromiter(candidates, dtype=np.int64, count=len(candidates))
            agree = np.count_nonzero(sigs[keys] == sig, axis=1)
            most = agree.max()
            best_j, best_k = float(most) / num_perm, int(keys[agree == most].min())
        if best_j >= threshold:
            found.append(
                (
                    task.ids[i],
                    "near_duplicate",
                    f"estimated Jaccard {best_j:.2f} >= {threshold} with {task.ids[best_k]} (kept, scored higher)",
                )
            )
            continue
        lsh.insert(i, sig)


class _BandIndex:
    """The index of datasketch's ``MinHashLSH``, without its storage layers: ``b`` bands of ``r`` signature values,
    a dict per band; :meth:`query` gives every inserted key that has one band equal to the signature's (the
    candidates MinHashLSH.query gives; a test compares them).

    >>> index = _BandIndex(2, 2)
    >>> index.insert(7, np.array([1, 2, 3, 4], dtype=np.uint32))
    >>> index.query(np.array([1, 2, 9, 9], dtype=np.uint32)), index.query(np.array([9, 2, 3, 9], dtype=np.uint32))
    ({7}, set())
    """

    def __init__(self, b: int, r: int):
        self.hashranges = [(i * r, (i + 1) * r) for i in range(b)]
        self._tables: list[dict[bytes, list[int]]] = [{} for _ in range(b)]

    def insert(self, key: int, sig: np.ndarray) -> None:
        for (start, end), table in zip(self.hashranges, self._tables, strict=True):
            band = sig[start:end].tobytes()
            bucket = table.get(band)
            if bucket is None:
                table[band] = [key]
            else:
                bucket.append(key)

    def query(self, sig: np.ndarray) -> set[int]:
        found: set[int] = set()
        for (start, end), table in zip(self.hashranges, self._tables, strict=True):
            bucket = table.get(sig[start:end].tobytes())
            if bucket:
                found.update(bucket)
        return found


def _band_layout(threshold: float, num_perm: int) -> tuple[int, int]:
    """(b bands, r rows) as ``datasketch.MinHashLSH(threshold, num_perm)`` optimises them (equal weights on false
    positives and negatives): from :data:`_LSH_PARAMS` for the usual settings, else asked of datasketch once (its
    LSH module imports scipy: ~0.3 s idle, over 1 s on a busy machine)."""
    layout = _LSH_PARAMS.get((threshold, num_perm))
    if layout is None:
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        layout = _LSH_PARAMS[(threshold, num_perm)] = (lsh.b, lsh.r)
    return layout


# datasketch 2.0's MinHashLSH layouts, (threshold, num_perm) -> (b, r); tests/filters check every entry against it.
_LSH_PARAMS: dict[tuple[float, int], tuple[int, int]] = {
    (0.5, 32): (8, 4), (0.5, 64): (14, 4), (0.5, 128): (25, 5), (0.5, 256): (42, 6),
    (0.6, 32): (6, 5), (0.6, 64): (10, 6), (0.6, 128): (18, 7), (0.6, 256): (32, 8),
    (0.7, 32): (5, 6), (0.7, 64): (8, 8), (0.7, 128): (14, 9), (0.7, 256): (25, 10),
    (0.75, 32): (4, 8), (0.75, 64): (7, 9), (0.75, 128): (11, 11), (0.75, 256): (21, 12),
    (0.8, 32): (3, 10), (0.8, 64): (5, 11), (0.8, 128): (9, 13), (0.8, 256): (17, 15),
    (0.85, 32): (3, 10), (0.85, 64): (4, 15), (0.85, 128): (8, 16), (0.85, 256): (13, 19),
    (0.9, 32): (2, 16), (0.9, 64): (3, 21), (0.9, 128): (5, 25), (0.9, 256): (9, 28),
}  # fmt: skip
_BAND_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: the band hash below is a polynomial mod 2^64


def _rows_with_near_partner(
    sigs: np.ndarray, hashranges: list[tuple[int, int]], threshold: float, small: int = 16, max_bucket: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the rows (in visiting order) that share an LSH band with another row *and* reach
    ``threshold`` with it: with any such row, and with one *before* it.

    Each band is hashed to 64 bits and rows are grouped by that hash; pairs within a group get their
    estimated Jaccard (the fraction of equal signature values, as the LSH loop computes it): along the
    sorted order for groups of up to ``small`` rows, as a full matrix per group up to ``max_bucket``.
    A hash collision only adds pairs, and every row of a larger group is marked in both masks without
    pair checks, so the masks may hold too many rows (the LSH index then decides exactly), never too few.
    """
    n, num_perm = sigs.shape
    near = np.zeros(n, dtype=bool)
    before = np.zeros(n, dtype=bool)
    if n < 2:
        return near, before
    for start, end in hashranges:
        band = sigs[:, start:end].astype(np.uint64)
        h = band[:, 0].copy()
        for j in range(1, end - start):
            h = h * _BAND_MULTIPLIER + band[:, j]  # uint64 arithmetic wraps around
        by_hash = np.argsort(h, kind="stable")  # stable: positions ascend within a group
        sorted_h = h[by_hash]
        first = np.flatnonzero(np.r_[True, sorted_h[1:] != sorted_h[:-1]])
        sizes = np.diff(np.r_[first, n])
        huge = by_hash[np.repeat(sizes > max_bucket, sizes)]
        near[huge] = before[huge] = True
        # Pairs (p, p + d) of sorted positions in the same small group, for d = 1, 2, ...; y comes after x.
        group = np.repeat(np.arange(len(first)), sizes)  # group of each sorted position
        in_small = np.repeat(sizes <= small, sizes)
        for d in range(1, min(int(sizes[sizes <= small].max(initial=1)), n)):
            same = (group[d:] == group[:-d]) & in_small[d:]
            if not same.any():
                break
            x, y = by_hash[:-d][same], by_hash[d:][same]
            close = np.count_nonzero(sigs[x] == sigs[y], axis=1) / num_perm >= threshold
            near[x[close]] = near[y[close]] = True
            before[y[close]] = True
        # Larger groups (a template shared by many queries): all pairs of each group at once.
        for at, size in zip(first.tolist(), sizes.tolist(), strict=True):
            if small < size <= max_bucket:
                members = by_hash[at : at + size]  # ascending positions
                block = sigs[members]
                for lo in range(0, size, 128):  # bounds the (rows, size, num_perm) comparison
                    agree = np.count_nonzero(block[lo : lo + 128, None, :] == block[None, :, :], axis=2)
                    close = agree / num_perm >= threshold
                    local = np.arange(lo, lo + close.shape[0])
                    close[np.arange(close.shape[0]), local] = False  # not itself
                    near[members[lo : lo + 128][close.any(axis=1)]] = True
                    # a partner before it: at a smaller index in the group
                    earlier = close & (np.arange(size)[None, :] < local[:, None])
                    before[members[lo : lo + 128][earlier.any(axis=1)]] = True
    return near, before
