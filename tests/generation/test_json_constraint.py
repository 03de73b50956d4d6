"""The JSON token mask: any walk through allowed tokens ends in a JSON object with exactly the asked fields."""

from __future__ import annotations

import json
import random

import pytest

from hfswim.generation.json_constraint import JsonFieldsConstraint
from hfswim.prompts.parser import parse_json_output

# A vocabulary with the awkward cases: tokens spanning literal and content, quotes inside tokens, escapes,
# newlines, a token closing one string and opening the next field.
VOCAB = ['{"', "{", '"', "summary", "query", '":', ' "', ": ", ' "', "Nile", " flows", " north", "?", "wapi", ".",
         '"}', '",', ' "query": "', '", "', "}", "\\", "\n", "a\"b", '" x', " ", "é", "，", ",", ", ", ""]  # fmt: skip
EOS = len(VOCAB) - 1


@pytest.mark.parametrize("fields", [("query",), ("summary", "query")])
def test_random_walks_through_allowed_tokens_are_always_valid_json(fields):
    constraint = JsonFieldsConstraint(VOCAB, fields, eos_ids=[EOS])
    rng = random.Random(0)
    completed = 0
    for _ in range(300):
        text = ""
        for _step in range(200):
            allowed = constraint.allowed_ids(text).tolist()
            assert allowed, f"dead end after {text!r}"
            choice = rng.choice(allowed)
            if choice == EOS:
                break
            text += VOCAB[choice]
        else:
            continue  # ran out of steps inside a string: as a token limit would
        data = json.loads(text)
        assert list(data) == list(fields) and all(isinstance(v, str) for v in data.values())
        assert parse_json_output(text, fields) is not None
        completed += 1
    assert completed > 100


def test_end_of_sequence_only_after_the_object_closes():
    constraint = JsonFieldsConstraint(VOCAB, ("query",), eos_ids=[EOS])
    assert EOS not in constraint.allowed_ids('{"query": "wapi').tolist()
    assert constraint.allowed_ids('{"query": "wapi"}').tolist() == [EOS]
    with pytest.raises(ValueError):
        constraint.state('{"summary": "')  # not this object's field


def test_max_length_closes_the_string():
    constraint = JsonFieldsConstraint(VOCAB, ("query",), eos_ids=[EOS], max_lengths={"query": 5})
    allowed = {VOCAB[i] for i in constraint.allowed_ids('{"query": "wapi')}  # one character of room left
    assert all(len(t.partition('"')[0]) <= 1 for t in allowed) and {"?", '"}'} <= allowed and "Nile" not in allowed
    assert {VOCAB[i] for i in constraint.allowed_ids('{"query": "wapi?')} == {'"', '"}'}
