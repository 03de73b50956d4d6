"""SWIM-IR stratified sampling of passages: an inclusion threshold, a seeded draw per passage, a cap per language.

SWIM-IR (Thakur et al., 2024, §3) samples passages with an inclusion threshold
``I = D_sample / D_total``: each passage gets a uniform draw ``r`` and is kept when ``r < I``;
the number kept per language is then capped.

Here the draw is a hash of ``(seed, passage_id)`` mapped to [0, 1): it needs no random state, so the
kept set does not depend on the order the passages arrive in, on sharding, or on resuming, and the
same seed always keeps the same passages. The cap keeps the ``cap`` lowest draws of each language
with a bounded heap: a uniform sample without replacement in ``O(cap x languages)`` memory.

Example::

    >>> from hfswim.corpus.sampling import StratifiedSampler, passage_draw
    >>> from hfswim.records import Passage
    >>> 0.0 <= passage_draw("doc1#0", seed=0) < 1.0
    True
    >>> passages = [Passage(f"d{i}#0", passage_language="en") for i in range(1000)]
    >>> kept = list(StratifiedSampler(threshold=0.5, cap_per_language=10, seed=0).sample(passages))
    >>> len(kept)
    10
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Iterator, Mapping

from hfswim.records import Passage

_TWO_TO_64 = float(2**64)


def passage_draw(passage_id: str, seed: int = 0) -> float:
    """The passage's uniform draw in [0, 1): a keyed BLAKE2b hash of its id, so no state and no order matter."""
    digest = hashlib.blake2b(passage_id.encode("utf-8"), digest_size=8, key=str(seed).encode("ascii")).digest()
    return int.from_bytes(digest, "big") / _TWO_TO_64


def inclusion_threshold(sample_size: int, total: int) -> float:
    """SWIM-IR's ``I = D_sample / D_total``, at most 1 (a sample larger than the corpus keeps everything)."""
    return 1.0 if total <= 0 else min(1.0, sample_size / total)


class StratifiedSampler:
    """Keep passages whose draw is under the threshold of their language, at most ``cap_per_language`` each.

    Args:
        threshold: one inclusion threshold for every language, or one per language code
            (a language missing from the mapping keeps nothing).
        cap_per_language: the most passages kept per language, or ``None`` for no cap.
        seed: seeds the draws.

    Without a cap, :meth:`sample` streams: kept passages come out in input order as they arrive.
    With a cap, it can only know the lowest draws at the end: it holds at most ``cap`` passages per
    language and yields them by language code, then by draw (an order that does not depend on the input's).
    """

    def __init__(
        self, threshold: float | Mapping[str, float] = 1.0, cap_per_language: int | None = None, seed: int = 0
    ):
        self.threshold = threshold
        self.cap_per_language = cap_per_language
        self.seed = seed
        self.passages_total: int | None = None  # passages in the source, when a first pass counted them

    def _threshold(self, lang: str) -> float:
        if isinstance(self.threshold, Mapping):
            return self.threshold.get(lang, 0.0)
        return self.threshold

    def sample(self, passages: Iterable[Passage]) -> Iterator[Passage]:
        """Yield the kept passages (only ``passage_id`` and ``passage_language`` are read)."""
        if self.cap_per_language is None:
            for passage in passages:
                if passage_draw(passage.passage_id, self.seed) < self._threshold(passage.passage_language):
                    yield passage
            return

        cap = self.cap_per_language
        # Per language, a max-heap (negated draws) of the `cap` lowest draws seen so far.
        heaps: dict[str, list[tuple[float, str, int, Passage]]] = {}
        for position, passage in enumerate(passages):
            draw = passage_draw(passage.passage_id, self.seed)
            lang = passage.passage_language
            if draw >= self._threshold(lang):
                continue
            heap = heaps.setdefault(lang, [])
            # The position only breaks ties between duplicate ids, so that passages are never compared.
            entry = (-draw, passage.passage_id, -position, passage)
            if len(heap) < cap:
                heapq.heappush(heap, entry)
            elif entry[:3] > heap[0][:3]:
                heapq.heapreplace(heap, entry)
        for lang in sorted(heaps):
            for *_, passage in sorted(heaps[lang], reverse=True):
                yield passage
