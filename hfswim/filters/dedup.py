"""The ``dedup`` filter: exact and near-duplicate queries within a language; the best copy is kept.

* **Exact**: queries equal after normalisation (NFKC, casefold, punctuation and whitespace removed).
* **Near**: MinHash/LSH (``datasketch``'s scheme and band layout) over the query's word set (character bigrams
  for CJK and Thai), estimated Jaccard similarity >= ``threshold``.

"Best" copy = highest ``ce_score``, then highest ``query_logprob``, then smallest ``record_id``
(:func:`hfswim.filters.base.order_key`): rows are visited best first, and a row is dropped when it
equals, or is near, a row already kept — so the kept set does not depend on input order.

Memory: two-pass, with per-language compact state only — per row its ``record_id``, two scores, an
8-byte hash of the normalised query and the MinHash signature (``num_perm`` x 4 bytes: 256 bytes at
the default 64), never whole records, kept as one :class:`DedupBlock` per batch and language. Selection
runs per language over queries only; languages are independent, so a pool selects them in parallel
(``select(map=pool.imap_unordered)``, as ``run_filters`` does with ``workers > 1``). The MinHash signatures are
computed for a whole batch at once with numpy (datasketch's default "affine32" scheme and permutations, a stable
CRC-32 token hash: bit-identical to ``datasketch.MinHash``, tested), far faster than one ``datasketch.MinHash`` per
query; near duplicates are then the pairs that share a band of datasketch's ``MinHashLSH`` layout and reach the
threshold, found for all rows at once with numpy: the decisions of a ``MinHashLSH`` queried row by row (tested),
without importing datasketch's LSH module, which pulls in scipy (0.3-1.2 s of CPU per run).
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


def _select_near(task: _LanguageTask, order: list[int], found: list, max_group: int = 1024) -> None:
    """Visit ``order`` (best first) and drop each row whose estimated Jaccard with a kept row that shares an LSH
    band with it (a candidate of datasketch's ``MinHashLSH``, same band layout) reaches the threshold.

    The greedy pass is order-dependent, yet only *close pairs* (sharing a band and reaching the threshold) matter:
    a row is dropped iff a close partner earlier in the order was kept, and the kept row its reason names (the most
    similar candidate, the smallest index among equals) is one of them, since a drop means that candidate reaches the
    threshold. So :func:`_band_groups` finds the close pairs within every band group of up to ``max_group`` rows at
    once with numpy, and the greedy pass walks only those. A larger group (a template shared by thousands of
    queries, or a flood of near copies) would cost its size squared that way, so its rows are compared as they are
    visited with its *kept* members only, held in one array (:class:`_KeptMembers`), as an LSH index compares them:
    the decisions and reasons of a ``MinHashLSH`` inserted and queried row by row (a test compares them), without
    its per-row cost, which was most of the select phase at 1M templated queries.
    """
    sigs, threshold = task.sigs, task.threshold
    num_perm = sigs.shape[1]
    rows = np.asarray(order, dtype=np.int64)
    ordered = sigs[rows]
    later, earlier, agree, large = _band_groups(ordered, _band_layout(threshold, num_perm), threshold, max_group)
    # Each pair once (a pair sharing several bands was found in each), sorted by its later row; rows are visited in
    # order, so a partner's own decision is made before it is read.
    pair, first = np.unique(later * len(rows) + earlier, return_index=True)
    later, earlier, agree = (pair // len(rows)).tolist(), (pair % len(rows)).tolist(), agree[first].tolist()
    in_large: dict[int, list[_KeptMembers]] = defaultdict(list)
    for members in large:
        group = _KeptMembers(num_perm)
        for y in members.tolist():
            in_large[y].append(group)
    index = rows.tolist()
    dropped = bytearray(len(index))
    at, end = 0, len(later)
    for y in sorted(set(later).union(in_large)):
        most, best = -1, -1
        while at < end and later[at] == y:
            x = earlier[at]
            if not dropped[x] and (agree[at] > most or (agree[at] == most and index[x] < best)):
                most, best = agree[at], index[x]
            at += 1
        for group in in_large.get(y, ()):
            top, key = group.most_similar(ordered[y])
            if top / num_perm >= threshold and (top > most or (top == most and key < best)):
                most, best = top, key
        if best >= 0:
            dropped[y] = 1
            found.append(
                (
                    task.ids[index[y]],
                    "near_duplicate",
                    f"estimated Jaccard {most / num_perm:.2f} >= {threshold} with {task.ids[best]} (kept, scored higher)",
                )
            )
        else:
            for group in in_large.get(y, ()):
                group.add(index[y], ordered[y])


class _KeptMembers:
    """The kept members of one large band group so far: keys and signatures in arrays grown by doubling, so that
    comparing a row with them reads contiguous memory."""

    __slots__ = ("keys", "sigs", "size")

    def __init__(self, num_perm: int):
        self.keys = np.empty(16, dtype=np.int64)
        self.sigs = np.empty((16, num_perm), dtype=np.uint32)
        self.size = 0

    def add(self, key: int, sig: np.ndarray) -> None:
        if self.size == len(self.keys):
            self.keys = np.resize(self.keys, 2 * self.size)
            self.sigs = np.resize(self.sigs, (2 * self.size, self.sigs.shape[1]))
        self.keys[self.size], self.sigs[self.size] = key, sig
        self.size += 1

    def most_similar(self, sig: np.ndarray) -> tuple[int, int]:
        """(equal values, key) of the member most similar to ``sig``, the smallest key among equals; (-1, -1) if none."""
        if not self.size:
            return -1, -1
        agree = _count_equal(self.sigs[: self.size], sig)
        top = int(agree.max())
        return top, int(self.keys[: self.size][agree == top].min())


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


def _band_groups(
    sigs: np.ndarray, layout: tuple[int, int], threshold: float, max_group: int, small: int = 16, block: int = 1 << 23
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Rows (positions in ``sigs``) grouped per LSH band (``layout``: b bands of r values) by equal band values:
    ``(later, earlier, equal values)`` of every pair within a group of up to ``max_group`` rows whose estimated
    Jaccard (the fraction of equal signature values) reaches ``threshold``, a pair once per band it shares, and the
    members (ascending) of each larger group.

    A 64-bit hash of the band sorts the rows; a hash collision is detected and the band sorted on its values instead,
    so groups are exact. Groups of up to ``small`` rows are compared along the sorted order for all groups at once;
    larger ones row block by row block against their earlier members, at most ``block`` values compared at a time.
    """
    n, num_perm = sigs.shape
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    large: list[np.ndarray] = []
    b, r = layout
    for start in range(0, b * r, r):
        band = sigs[:, start : start + r]
        h = band[:, 0].astype(np.uint64)
        for j in range(1, r):
            h = h * _BAND_MULTIPLIER + band[:, j]  # uint64 arithmetic wraps around
        by_value = np.argsort(h, kind="stable")  # stable: positions ascend within a group
        same_hash = h[by_value[1:]] == h[by_value[:-1]]
        same = np.all(band[by_value[1:]] == band[by_value[:-1]], axis=1)
        if np.any(same_hash & ~same):  # two band values, one hash: sort on the values themselves
            by_value = np.lexsort(band.T[::-1])
            same = np.all(band[by_value[1:]] == band[by_value[:-1]], axis=1)
        first = np.flatnonzero(np.r_[True, ~same])
        sizes = np.diff(np.r_[first, n])
        # Groups of 2..small rows: pairs (p, p + d) of sorted positions in one group, for d = 1, 2, ...
        group = np.repeat(np.arange(len(first)), sizes)
        in_small = np.repeat(sizes <= small, sizes)
        for d in range(1, min(int(sizes[sizes <= small].max(initial=1)), n)):
            pair = (group[d:] == group[:-d]) & in_small[d:]
            if not pair.any():
                break
            x, y = by_value[:-d][pair], by_value[d:][pair]
            agree = _count_equal(sigs[x], sigs[y])
            close = agree / num_perm >= threshold
            found.append((y[close], x[close], agree[close]))
        for at, size in zip(first[sizes > small].tolist(), sizes[sizes > small].tolist(), strict=True):
            members = by_value[at : at + size]  # ascending positions
            if size > max_group:
                large.append(members)
                continue
            group_sigs = sigs[members]
            step = max(1, block // (size * num_perm))
            for lo in range(1, size, step):  # rows lo..hi against their earlier members 0..hi-1
                hi = min(lo + step, size)
                agree = _count_equal(group_sigs[lo:hi, None, :], group_sigs[None, : hi - 1, :])
                close = agree / num_perm >= threshold
                close &= np.arange(hi - 1)[None, :] < np.arange(lo, hi)[:, None]  # earlier members only
                row, col = np.nonzero(close)
                found.append((members[lo + row], members[col], agree[row, col]))
    if not found:
        found.append((np.empty(0, dtype=np.int64),) * 3)
    later, earlier, agree = (np.concatenate(parts).astype(np.int64) for parts in zip(*found, strict=True))
    return later, earlier, agree, large


_BYTE_SUM = np.uint64(0x0101010101010101)


def _count_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``count_nonzero(a == b, axis=-1)`` (``a`` and ``b`` broadcast), ~1.5x faster when the last axis is a multiple
    of 8 below 256 long (64 values by default): the booleans are summed 8 at a time as the bytes of uint64 words
    (each byte stays below 32), then a multiply adds a word's bytes into its top byte (the total stays below 256)."""
    equal = np.equal(a, b)
    if equal.shape[-1] % 8 or equal.shape[-1] >= 256:
        return np.count_nonzero(equal, axis=-1)
    words = equal.view(np.uint64).sum(axis=-1, dtype=np.uint64)
    return ((words * _BYTE_SUM) >> np.uint64(56)).astype(np.int64)
