"""Third-party noise is hidden inside `third_party_noise()` and everything is restored after it."""

from __future__ import annotations

import logging
import warnings

import pytest

from hfswim.noise import third_party_noise


def test_warnings_logs_and_bars_are_hidden_then_restored():
    from datasets.utils import logging as ds_logging
    from transformers.utils import logging as hf_logging

    mteb = logging.getLogger("mteb")
    level, verbosity = mteb.level, hf_logging.get_verbosity()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with third_party_noise():
            warnings.warn("renamed", FutureWarning, stacklevel=1)
            assert mteb.level == logging.ERROR and not hf_logging.is_progress_bar_enabled()
            assert not ds_logging.is_progress_bar_enabled()
        warnings.warn("shown again", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["shown again"]
    assert mteb.level == level and hf_logging.get_verbosity() == verbosity and hf_logging.is_progress_bar_enabled()


def test_verbose_changes_nothing():
    mteb = logging.getLogger("mteb")
    level = mteb.level
    with warnings.catch_warnings(record=True) as caught, third_party_noise(verbose=True):
        warnings.simplefilter("always")
        warnings.warn("kept", FutureWarning, stacklevel=1)
        assert mteb.level == level
    assert len(caught) == 1


def test_bm25s_bars_are_hidden_then_restored(capsys):
    bm25s = pytest.importorskip("bm25s")
    original = bm25s.tokenize
    corpus = ["the cat sat on the mat", "a dog barked at the cat"]
    with third_party_noise(verbose=False):
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(corpus))
        retriever.retrieve(bm25s.tokenize(["cat"]), k=1)
    assert "Split strings" not in capsys.readouterr().err
    assert bm25s.tokenize is original


def test_stderr_of_third_party_setup_is_hidden_unless_verbose(capsys):
    import sys

    from hfswim import console
    from hfswim.noise import stderr_hidden_unless_verbose

    saved = dict(console._state)
    try:
        console._state.update(configured=False)  # library use: no command configured the console
        with stderr_hidden_unless_verbose():
            print("library use: shown", file=sys.stderr)
        with third_party_noise(verbose=False), stderr_hidden_unless_verbose():
            print("Computing widget examples", file=sys.stderr)
        with third_party_noise(verbose=True), stderr_hidden_unless_verbose():
            print("verbose: shown", file=sys.stderr)
        console._state.update(configured=True, verbose=False)  # `hfswim train` without --verbose
        with stderr_hidden_unless_verbose():
            print("Computing widget examples", file=sys.stderr)
    finally:
        console._state.update(saved)
    err = capsys.readouterr().err
    assert "library use: shown" in err and "verbose: shown" in err and "widget" not in err
