"""Shortcuts on the client's per-completion path give the answers of the plain code they replace."""

from __future__ import annotations

import gc
import random

import pytest

from hfswim.gc_tuning import fewer_gc_passes
from hfswim.generation.endpoints import _SEPARATOR_BYTES, estimate_tokens
from hfswim.generation.engine import unusable_answer


def _plain_estimate(text: str) -> int:
    return max(len(text.split()), (len(text.encode("utf-8")) + 3) // 4) if text else 0


def test_separator_bytes_cover_every_whitespace_character():
    """The word-count bound holds only if each character str.split() splits on has its first UTF-8 byte listed."""
    for code in range(0x110000):
        char = chr(code)
        if char.isspace():
            assert char.encode("utf-8")[0] in _SEPARATOR_BYTES, hex(code)


@pytest.mark.parametrize("seed", range(5))
def test_estimate_tokens_equals_the_plain_count(seed):
    rng = random.Random(seed)
    pieces = ["a", "wapi", "नदी", "莱茵河", " ", "  ", "\n", "\t", "\u3000", "\xa0", "\u2003", "\x1c", "é", "?"]
    texts = ["", " ", "a b c d e f g", "\u3000" * 9 + "x", "\xa0a" * 30, "a " * 50]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 400))) for _ in range(300)]
    for text in texts:
        assert estimate_tokens(text) == _plain_estimate(text), repr(text[:60])


def test_unusable_answer_matches_the_old_substitution():
    import re

    old = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
    for text in ["", " ", "\n\t\x85", "\x01\x7f", "ok", " wapi?", "\xa0\u3000", "\u3000x", "x\x00", "\x9f\x9e é"]:
        assert unusable_answer(text) == ("\x00" in text or not old.sub("", text)), repr(text)


def test_fewer_gc_passes_restores_the_collector():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with fewer_gc_passes(young_threshold=50_000):
        assert gc.get_threshold()[0] == max(before[0], 50_000)
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
    gc.disable()
    try:
        with fewer_gc_passes():
            assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
    finally:
        gc.enable()


def test_fewer_gc_passes_still_collects_cycles():
    import weakref

    class Node:
        pass

    with fewer_gc_passes():
        node = Node()
        node.self = node
        ref = weakref.ref(node)
        del node
        gc.collect()
        assert ref() is None
