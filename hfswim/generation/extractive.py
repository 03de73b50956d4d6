"""Extractive summaries without an LLM, for SAP's first step (``summary_source: lead`` or ``centroid``).

SAP asks the LLM for an *extractive* summary of the passage (one or two sentences that copy its most important
facts), then asks for a query from that summary. On a small CPU model the summary step costs more than the
query steps together (a long prompt with the whole passage, and a summary near its token limit). Two classic
extractive baselines pick the sentences instead, at no LLM cost:

* ``lead``: the passage's first sentence (the next one too while the summary is shorter than ``min_words``):
  news-style and encyclopedic passages state their topic first (Lead-N in summarization benchmarks).
* ``centroid``: the sentence closest to the whole passage by TF-IDF cosine (IDF over the passage's sentences),
  the centroid method of extractive summarization (Radev et al., 2004), for passages whose first sentence is
  only a lead-in.

Both cut the summary at ``max_words`` words, at a word boundary.

Example::

    >>> text = "Kilimanjaro is Africa's highest mountain. It has three volcanic cones. Many climbers visit it."
    >>> lead_summary(text, min_words=8)
    "Kilimanjaro is Africa's highest mountain. It has three volcanic cones."
    >>> lead_summary(text, min_words=3)
    "Kilimanjaro is Africa's highest mountain."
    >>> centroid_summary("Tea is grown in Kenya. Kenya exports tea to many countries. The weather was nice.", min_words=3)
    'Kenya exports tea to many countries.'
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

DEFAULT_MIN_WORDS = 12
DEFAULT_MAX_WORDS = 60
# A sentence ends at . ! ? (then closing quotes or brackets) before whitespace and a capital, digit or non-Latin
# letter, or at 。！？। . Not after an initial or a common abbreviation ("J. S. Bach", "No. 5", "Mr. Smith").
_CANDIDATE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+(\S))|[。！？।]+")
_ABBREVIATIONS = frozenset("mr mrs ms dr st no vs etc jr sr prof gen col lt sgt fig ca approx e.g i.e".split())
_WORD = re.compile(r"\w+", re.UNICODE)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, whitespace collapsed.

    >>> split_sentences("The Rhine is long. It flows north!  Does it?")
    ['The Rhine is long.', 'It flows north!', 'Does it?']
    >>> split_sentences("J. S. Bach was born in 1685. He died in 1750 in Leipzig, aged 65.")
    ['J. S. Bach was born in 1685.', 'He died in 1750 in Leipzig, aged 65.']
    """
    text = " ".join(text.split())
    out, start = [], 0
    for match in _CANDIDATE_END.finditer(text):
        following = match.group(1)
        if following is not None:  # a Latin-script period: check the word before it and the character after it
            before = text[start : match.start()].rsplit(" ", 1)[-1].lower()
            single_initial = len(before) == 1 and before.isalpha()
            if single_initial or before in _ABBREVIATIONS or following.islower():
                continue
        sentence = text[start : match.end()].strip()
        if sentence:
            out.append(sentence)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _cap_words(text: str, max_words: int) -> str:
    words = text.split()
    return text if len(words) <= max_words else " ".join(words[:max_words])


def lead_summary(text: str, *, min_words: int = DEFAULT_MIN_WORDS, max_words: int = DEFAULT_MAX_WORDS) -> str:
    """The first sentence(s) of ``text``: sentences are added until the summary has ``min_words`` words."""
    picked: list[str] = []
    for sentence in split_sentences(text):
        picked.append(sentence)
        if len(" ".join(picked).split()) >= min_words:
            break
    return _cap_words(" ".join(picked), max_words)


def centroid_summary(text: str, *, min_words: int = DEFAULT_MIN_WORDS, max_words: int = DEFAULT_MAX_WORDS) -> str:
    """The sentence most similar to the whole passage (TF-IDF cosine); the one after it is added while the
    summary is shorter than ``min_words``. Ties go to the earlier sentence."""
    sentences = split_sentences(text)
    if len(sentences) <= 1:
        return _cap_words(" ".join(sentences), max_words)
    bags = [Counter(w.lower() for w in _WORD.findall(s)) for s in sentences]
    df = Counter(w for bag in bags for w in bag)
    idf = {w: math.log(1 + len(bags) / n) for w, n in df.items()}
    centroid: Counter[str] = Counter()
    for bag in bags:
        centroid.update(bag)
    centroid_vec = {w: c * idf[w] for w, c in centroid.items()}
    centroid_norm = math.sqrt(sum(v * v for v in centroid_vec.values())) or 1.0

    def score(bag: Counter[str]) -> float:
        vec = {w: c * idf[w] for w, c in bag.items()}
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return sum(v * centroid_vec[w] for w, v in vec.items()) / (norm * centroid_norm) if norm else 0.0

    best = max(range(len(sentences)), key=lambda i: (score(bags[i]), -i))
    picked = [sentences[best]]
    for sentence in sentences[best + 1 :]:
        if len(" ".join(picked).split()) >= min_words:
            break
        picked.append(sentence)
    return _cap_words(" ".join(picked), max_words)


EXTRACTIVE_SUMMARIZERS: dict[str, Callable[[str], str]] = {"lead": lead_summary, "centroid": centroid_summary}
