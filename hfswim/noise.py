"""Keep third-party output a user cannot act on out of the console (unless ``--verbose``).

What it silences, each seen in ``make demo``: sentence-transformers' ``Computing widget examples`` bar (around the
trainer's set-up, :func:`stderr_hidden_unless_verbose`), mteb's ``FutureWarning``/``DeprecationWarning`` lines and its
INFO logs, datasets' ``Standardizing text corpus format`` bars, bm25s' tokenize/index/retrieve bars, the ``Writing model shards`` bar transformers shows at every checkpoint save, the raw
``{'loss': ..., 'grad_norm': ...}`` dicts the trainer prints at every logging step (hfswim's own training
progress bar shows the loss), and the INFO logs of transformers, sentence-transformers, datasets and httpx.
hfswim's own bars (tqdm, on stderr) and messages stay. Everything is restored on exit.

    >>> import warnings
    >>> with third_party_noise(verbose=False):
    ...     warnings.warn("mteb will change this", FutureWarning)  # not shown
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import warnings
from collections.abc import Iterator

QUIET_LOGGERS = (
    "mteb",
    "transformers",
    "sentence_transformers",
    "datasets",
    "huggingface_hub",
    "httpx",
    "faiss",
    "bm25s",
    "torch",
)
_hiding = 0  # how many non-verbose third_party_noise blocks are open


@contextlib.contextmanager
def third_party_noise(verbose: bool = False) -> Iterator[None]:
    """Within the block, third-party warnings, INFO logs and save-time progress bars are hidden."""
    if verbose:
        yield
        return
    global _hiding
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    _hiding += 1
    with warnings.catch_warnings(), _transformers_quiet(), _datasets_quiet(), _bm25s_quiet():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", module=r"(mteb|transformers|sentence_transformers|torch|datasets)(\.|$)")
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            yield
        finally:
            _hiding -= 1
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def stderr_hidden_unless_verbose() -> Iterator[None]:
    """In a command without ``--verbose`` (or a non-verbose :func:`third_party_noise` block), hide what the wrapped
    call writes straight to stderr.

    For third-party set-up code with a bar no switch turns off: sentence-transformers' trainer shows a
    "Computing widget examples" bar while it is built (its model-card callback; tqdm, on stderr). Logging handlers
    keep the stream they hold, and exceptions still propagate; with ``--verbose``, or in library use, it is a no-op.

        >>> import sys
        >>> with third_party_noise(verbose=False), stderr_hidden_unless_verbose():
        ...     print("not shown", file=sys.stderr)
    """
    from hfswim.console import hides_noise

    if not (_hiding or hides_noise()):
        yield
        return
    with contextlib.redirect_stderr(io.StringIO()):
        yield


@contextlib.contextmanager
def _transformers_quiet() -> Iterator[None]:
    """transformers' verbosity and its save-time bars ("Writing model shards"), when transformers is installed."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def _datasets_quiet() -> Iterator[None]:
    """datasets' per-map bars ("Standardizing text corpus format" at every mteb evaluation)."""
    try:
        from datasets.utils import logging as ds_logging
    except ImportError:
        yield
        return
    bars = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars:
            ds_logging.enable_progress_bar()


@contextlib.contextmanager
def _bm25s_quiet() -> Iterator[None]:
    """bm25s' per-call bars ("Split strings", "Stem Tokens", "BM25S Retrieve": eight lines per BM25 evaluation).

    mteb's BM25 baseline calls ``bm25s.tokenize`` and ``BM25.index``/``retrieve`` without their public
    ``show_progress`` argument, and bm25s has no global switch: within the block that argument defaults to False.
    """
    try:
        import bm25s
    except ImportError:
        yield
        return
    originals = {"tokenize": bm25s.tokenize, "index": bm25s.BM25.index, "retrieve": bm25s.BM25.retrieve}

    def quiet(function):
        @functools.wraps(function)
        def call(*args, **kwargs):
            kwargs.setdefault("show_progress", False)
            return function(*args, **kwargs)

        return call

    bm25s.tokenize = quiet(originals["tokenize"])
    bm25s.BM25.index = quiet(originals["index"])
    bm25s.BM25.retrieve = quiet(originals["retrieve"])
    try:
        yield
    finally:
        bm25s.tokenize = originals["tokenize"]
        bm25s.BM25.index = originals["index"]
        bm25s.BM25.retrieve = originals["retrieve"]
