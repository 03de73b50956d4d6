"""Constrain a local model's decoding to hfswim's JSON answer: ``{"summary": "...", "query": "..."}``.

What TGI's ``grammar`` and vLLM/SGLang/llama.cpp's ``response_format`` do on a server, for hfswim's one
schema shape (an object of string fields, in order), as a token mask: after the text generated so far, a token
is allowed when the text stays a prefix of ``{"f1": "<chars>", "f2": "<chars>"}`` where ``<chars>`` holds no
quote, backslash or control character, and end-of-sequence is allowed only once the object is closed (the
fixed parts, such as ``{"query": "``, only in their longest tokens: the tokenizer's own spelling). The
vocabulary is classified once (tokens that are plain string content, tokens holding a quote, tokens by first
character), so a step costs a boolean-mask copy plus a check of the few tokens that can close a string or
spell a literal.

Used by ``benchmarks/structured_output.py`` (the embedded Gemma 3 270M, with and without the constraint) and
meant for the embedded server (:mod:`hfswim.generation.embedded_server` does not constrain its decoding yet).

Example::

    >>> texts = ['{"', 'query', '":', ' "', 'wapi', '?', '"}', '"', ' x', '']  # id 9: end of sequence
    >>> constraint = JsonFieldsConstraint(texts, ("query",), eos_ids=[9])
    >>> [texts[i] for i in constraint.allowed_ids("")]  # a literal: its longest spelling only
    ['{"']
    >>> sorted(texts[i] for i in constraint.allowed_ids('{"query": "wapi'))  # content, or a quote closing it
    [' "', ' x', '"', '"}', '?', 'query', 'wapi', '{"']
    >>> constraint.allowed_ids('{"query": "wapi?"}').tolist()
    [9]
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np


def _plain(text: str) -> bool:
    return bool(text) and '"' not in text and "\\" not in text and all(ord(c) >= 0x20 for c in text)


class JsonFieldsConstraint:
    """Allowed next tokens for a JSON object of string ``fields`` (in this order), given the text so far.

    Args:
        token_texts: the text of every token id (what it adds to the decoded output); special tokens as
            their markup (never plain, so never allowed except as end-of-sequence).
        fields: the object's string fields, e.g. ``("summary", "query")``.
        eos_ids: the end-of-sequence token ids.
    """

    def __init__(
        self,
        token_texts: list[str],
        fields: tuple[str, ...],
        eos_ids: list[int],
        max_lengths: dict[str, int] | None = None,
    ):
        self.texts = token_texts
        # maxLength of each string (characters): at the limit, only a closing quote is allowed.
        self.max_lengths = [(max_lengths or {}).get(name) for name in fields]
        self.lengths = np.array([len(t) for t in token_texts], dtype=np.int64)
        self.fields = tuple(fields)
        self.eos_ids = np.array(sorted(set(eos_ids)), dtype=np.int64)
        # {"f1": "  ...  ", "f2": "  ...  "}  : literals around the strings
        self.literals = [
            ("{" if i == 0 else '", ') + json.dumps(name) + ': "' for i, name in enumerate(self.fields)
        ] + ['"}']
        self.plain = np.array([_plain(t) for t in token_texts], dtype=bool)
        self.with_quote = [i for i, t in enumerate(token_texts) if '"' in t and "\\" not in t and t.isprintable()]
        by_first: dict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(token_texts):
            if t and t.isprintable():
                by_first[t[0]].append(i)
        self.by_first = dict(by_first)

    def state(self, text: str) -> tuple[str, int, str]:
        """("literal", index, remaining literal), ("string", index, content so far) or ("done", -1, ""); ValueError
        if the text is not a prefix of the object (it never is when every token went through :meth:`allowed_ids`)."""
        pos = 0
        for i, literal in enumerate(self.literals):
            rest = text[pos:]
            if len(rest) < len(literal):
                if not literal.startswith(rest):
                    raise ValueError(f"not a prefix of the JSON object: {text!r}")
                return "literal", i, literal[len(rest) :]
            if not rest.startswith(literal):
                raise ValueError(f"not a prefix of the JSON object: {text!r}")
            pos += len(literal)
            if i == len(self.literals) - 1:
                if text[pos:]:
                    raise ValueError(f"text after the JSON object: {text!r}")
                return "done", -1, ""
            close = text.find('"', pos)
            if close == -1:
                return "string", i, text[pos:]
            pos = close
        raise AssertionError("unreachable")

    def _fits_after_literal(self, token: str, remaining: str, index: int) -> bool:
        """The token spells (a prefix of) the rest of literal ``index``, possibly running on into the next string."""
        if remaining.startswith(token):
            return True
        if not token.startswith(remaining) or index == len(self.literals) - 1:
            return False
        tail = token[len(remaining) :]
        return _plain(tail) or self._closes_string(tail, index + 1)

    def _closes_string(self, token: str, next_literal: int, room: int | None = None) -> bool:
        """A token holding a quote: plain text (at most ``room`` characters), then the start of the literal that
        closes this string."""
        head, _, tail = token.partition('"')
        if head and not _plain(head):
            return False
        if room is not None and len(head) > room:
            return False
        rest = '"' + tail
        literal = self.literals[next_literal]
        return literal.startswith(rest)

    def allowed_ids(self, text: str) -> np.ndarray:
        """The token ids allowed after ``text``."""
        kind, index, remaining = self.state(text)
        if kind == "done":
            return self.eos_ids
        if kind == "literal":
            # Only the tokens spelling the LONGEST part of the literal: left free, a small model spells
            # '{"query": "' one character at a time (greedy prefers 'q', 'ue', 'r', 'y'), lands in a tokenization
            # it never saw, and writes digits. The longest match is the tokenizer's own spelling of the literal.
            fitting = [
                i
                for i in self.by_first.get(remaining[0], [])
                if self._fits_after_literal(self.texts[i], remaining, index)
            ]
            if not fitting:
                return np.array([], dtype=np.int64)
            longest = max(min(len(self.texts[i]), len(remaining)) for i in fitting)
            return np.array([i for i in fitting if min(len(self.texts[i]), len(remaining)) == longest], dtype=np.int64)
        limit = self.max_lengths[index]
        room = None if limit is None else max(0, limit - len(remaining))
        closing = [i for i in self.with_quote if self._closes_string(self.texts[i], index + 1, room)]
        content = self.plain if room is None else self.plain & (self.lengths <= room)
        return np.concatenate([np.flatnonzero(content), np.array(closing, dtype=np.int64)])


class JsonLogitsProcessor:
    """A ``transformers`` logits processor applying :class:`JsonFieldsConstraint` to every row of a batch.

    Args:
        constraint: the constraint.
        prompt_length: tokens of the (left-padded) prompt; what follows is the generated text.
    """

    def __init__(self, constraint: JsonFieldsConstraint, prompt_length: int):
        self.constraint = constraint
        self.prompt_length = prompt_length

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        masked = torch.full_like(scores, float("-inf"))
        for row in range(input_ids.shape[0]):
            generated = input_ids[row, self.prompt_length :].tolist()
            text = "".join(self.constraint.texts[i] for i in generated)
            allowed = torch.from_numpy(self.constraint.allowed_ids(text))
            masked[row, allowed] = scores[row, allowed]
        return masked


def token_texts_of(tokenizer: Any) -> list[str]:
    """What each token id adds to the decoded text (SentencePiece's ``▁`` as a space); special tokens and byte
    tokens (``<0x0A>``) as "" (never allowed inside the object)."""
    special = set(tokenizer.all_special_ids)
    texts = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return [
        ""
        if i in special or not isinstance(t, str) or (t.startswith("<0x") and t.endswith(">"))
        else t.replace("▁", " ")
        for i, t in enumerate(texts)
    ]
