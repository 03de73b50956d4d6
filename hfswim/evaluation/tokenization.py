"""Tokenisers for XOR-Retrieve's token budget, the official one first.

XOR-Retrieve's scorer (``evals/eval_xor_retrieve.py`` in the XORQA repository) counts tokens of
``nltk.word_tokenize``: Punkt English sentence splitting, then NLTK's Treebank-style word tokeniser.
The Punkt model (``punkt_tab/english``) ships with hfswim (``hfswim/evaluation/nltk_data``, Apache-2.0)
because NLTK cannot download it offline; :func:`nltk_word_tokenize` puts that folder first on
``nltk.data.path`` and never downloads anything.

* ``nltk``: ``word_tokenize(text)``, the official unit (default);
* ``nltk-line``: ``word_tokenize(text, preserve_line=True)``, no sentence splitting (needs no Punkt data,
  but keeps a sentence-final period glued to its word, so it is not the official unit);
* ``whitespace``: ``str.split()``, hfswim's unit before it matched the official scorer.

Example::

    >>> nltk_word_tokenize("It opened in 1889. Gustave Eiffel's company built it.")
    ['It', 'opened', 'in', '1889', '.', 'Gustave', 'Eiffel', "'s", 'company', 'built', 'it', '.']
    >>> get_tokenizer("nltk-line")("It opened in 1889. It is tall.")
    ['It', 'opened', 'in', '1889.', 'It', 'is', 'tall', '.']
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hfswim.errors import ConfigError

NLTK_DATA = Path(__file__).with_name("nltk_data")
TOKENIZER_NAMES = ("nltk", "nltk-line", "whitespace")
Tokenizer = Callable[[str], list[str]]


@functools.cache
def _nltk() -> Any:
    try:
        import nltk
    except ImportError:
        raise ConfigError("XOR-Retrieve's official token budget needs NLTK (pip install 'hfswim[eval]')") from None
    # First on the path, so the bundled model is used whatever else is installed: scores must not depend on it.
    if str(NLTK_DATA) not in nltk.data.path:
        nltk.data.path.insert(0, str(NLTK_DATA))
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        raise ConfigError(f"NLTK's punkt_tab English model is missing from {NLTK_DATA} (a broken install?)") from None
    return nltk


@functools.lru_cache(maxsize=8192)
def _word_tokenize(text: str, preserve_line: bool) -> tuple[str, ...]:
    # Popular passages are in the top ranks of many questions (and answers repeat): memoise, with a bound, since a
    # 100-word passage is ~130 token strings (the cache holds at most some tens of MB).
    return tuple(_nltk().word_tokenize(text, preserve_line=preserve_line))


def nltk_word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize(text)``: the token unit of XOR-Retrieve's official Recall@kt."""
    return list(_word_tokenize(text, False))


def nltk_line_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize(text, preserve_line=True)``: Treebank words without Punkt sentence splitting."""
    return list(_word_tokenize(text, True))


def whitespace_tokenize(text: str) -> list[str]:
    """Split on whitespace."""
    return text.split()


def get_tokenizer(name: str | Tokenizer | None) -> Tokenizer:
    """A tokeniser by name (``nltk``, ``nltk-line``, ``whitespace``); a callable is returned as is, ``None`` -> nltk."""
    if name is None:
        return nltk_word_tokenize
    if callable(name):
        return name
    table = {"nltk": nltk_word_tokenize, "nltk-line": nltk_line_tokenize, "whitespace": whitespace_tokenize}
    if name not in table:
        raise ConfigError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZER_NAMES)}")
    return table[name]
