"""Add SentencePiece pieces and embedding rows for scripts the USE vocabulary reads badly (Indic, Greek, Vietnamese).

USE Multilingual v3's 128k pieces have nothing for Devanagari, Bengali, Tamil, Telugu, ...: every such word is
``<unk>``, so no amount of fine-tuning can tell two Hindi passages apart; Greek is read letter by letter, and most
Vietnamese letters with two diacritics are ``<unk>`` (:mod:`hfswim.encoders.scripts` has the measurements).
:func:`extend_vocabulary`, for each script asked for:

1. learns a SentencePiece unigram model on text in that script (the corpus being used: passages, generated
   queries), keeps its pieces made only of the script's letters (optionally after the word-start mark ``▁``; for
   Vietnamese, which shares the Latin alphabet, only pieces holding a letter the original reads as ``<unk>``),
   and adds one piece per letter of the script so that none of them is ``<unk>`` again;
2. appends them to the original SentencePiece model *after* its 128k pieces (original ids unchanged, and every
   text the original could read outside the script segmented exactly as before);
3. gives each new piece an embedding row: the mean of the original rows of its romanisation's pieces
   (``भारत`` starts near ``bhaarata``, ``Πάνθερς`` near ``Panthers``), or the ``<unk>`` row for a bare sign; rows
   live in ``added_embeddings`` with a learning-rate multiplier (see :class:`USEncoder`);
4. saves the extended sentence-transformers model, to be fine-tuned with ``hfswim train --base-model``.

Example (the extension is skipped as a test: it loads the default encoder and needs a Hindi corpus)::

    >>> from hfswim.encoders import default_encoder
    >>> from hfswim.encoders.extend import extend_vocabulary
    >>> extend_vocabulary(default_encoder(), hindi_passages, "runs/usem3-indic")  # doctest: +SKIP
    >>> extend_vocabulary(default_encoder(), hi_el_vi_texts, "runs/usem3-x", scripts=("indic", "greek", "vietnamese"))  # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch

from hfswim.encoders.module import UNK_ID, USEncoder, load_sentencepiece
from hfswim.encoders.scripts import SCRIPTS, ExtensionScript
from hfswim.errors import InputError

WORD_START = "\u2581"
DEFAULT_ADDED_LR_SCALE = 500.0


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def append_pieces(model_proto: bytes, pieces: list[tuple[str, float]]) -> bytes:
    """``model_proto`` (a serialized SentencePiece ``ModelProto``) with ``pieces`` appended as NORMAL pieces.

    ``ModelProto.pieces`` is field 1; protobuf appends repeated fields in the order they are read, so records
    written after the original message come after the original pieces: ids ``n, n+1, ...``.
    """
    out = bytearray(model_proto)
    for piece, score in pieces:
        text = piece.encode("utf-8")
        inner = b"\x0a" + _varint(len(text)) + text + b"\x15" + struct.pack("<f", score)
        out += b"\x0a" + _varint(len(inner)) + inner
    return bytes(out)


def _is_script_piece(piece: str, script: ExtensionScript, unknown: frozenset[str]) -> bool:
    """Made of the script's letters only, and (a non-exclusive script) holding one the original cannot read."""
    body = piece[1:] if piece.startswith(WORD_START) else piece
    if not body or not all(script.is_letter(c) for c in body):
        return False
    return script.exclusive or any(c in unknown for c in body)


def unknown_characters(original, texts: Iterable[str]) -> frozenset[str]:
    """The characters of ``texts`` that the original SentencePiece model turns into ``<unk>``."""
    chars = {c for t in texts for c in t if not c.isspace()}
    return frozenset(c for c in chars if UNK_ID in original.encode(c))


def learn_pieces(
    texts: Iterable[str],
    vocab_size: int = 4000,
    script: ExtensionScript = SCRIPTS["indic"],
    unknown: frozenset[str] = frozenset(),
) -> list[tuple[str, float]]:
    """SentencePiece unigram pieces (with log-probability scores) learned on the text in ``script``."""
    import sentencepiece as spm

    lines = [t for t in texts if any(script.is_letter(c) and (script.exclusive or c in unknown) for c in t)]
    if not lines:
        raise InputError(f"extend_vocabulary: none of the given texts is in the {_script_label(script)} script")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,  # a small corpus yields fewer pieces than asked: fine
        normalization_rule_name="nmt_nfkc",  # what USE's own model applies before matching pieces
        minloglevel=2,
    )
    learned = spm.SentencePieceProcessor(model_proto=model.getvalue())
    return [
        (learned.id_to_piece(i), learned.get_score(i))
        for i in range(learned.get_piece_size())
        if not (learned.is_control(i) or learned.is_unknown(i))
        and _is_script_piece(learned.id_to_piece(i), script, unknown)
    ]


def _script_label(script: ExtensionScript) -> str:
    return script.name.capitalize()


def new_pieces(
    original,
    learned: list[tuple[str, float]],
    script: ExtensionScript = SCRIPTS["indic"],
    unknown: frozenset[str] = frozenset(),
    seen: set[str] | None = None,
) -> list[tuple[str, float]]:
    """Learned pieces the original lacks, plus every letter of the script on its own (scored below the learned
    ones; for a non-exclusive script only the letters the original cannot read)."""
    seen = {original.id_to_piece(i) for i in range(original.get_piece_size())} if seen is None else seen
    out: list[tuple[str, float]] = []
    for piece, score in learned:
        if piece not in seen:
            out.append((piece, score))
            seen.add(piece)
    floor = min((s for _, s in out), default=0.0) - 2.0
    for char in script.letters():
        if char in seen or not (script.exclusive or UNK_ID in original.encode(char)):
            continue
        out.append((char, floor))
        seen.add(char)
    return out


def initial_rows(
    original, table: torch.Tensor, pieces: list[tuple[str, float]], romanize: Callable[[str], str] | None = None
) -> torch.Tensor:
    """One row per new piece: the mean original row of its romanisation's pieces (``<unk>``'s row if none)."""
    romanize = romanize or SCRIPTS["indic"].romanize
    rows = torch.empty((len(pieces), table.shape[1]), dtype=table.dtype)
    space = original.piece_to_id(WORD_START)
    for i, (piece, _) in enumerate(pieces):
        latin = romanize(piece.lstrip(WORD_START)).strip()
        ids = [j for j in original.encode(latin) if j not in (UNK_ID, space)] if latin else []
        rows[i] = table[ids].mean(dim=0) if ids else table[UNK_ID]
    return rows


def extend_vocabulary(
    model_path: str | os.PathLike,
    texts: Iterable[str],
    output: str | os.PathLike,
    vocab_size: int = 4000,
    added_lr_scale: float = DEFAULT_ADDED_LR_SCALE,
    scripts: Sequence[str] = ("indic",),
) -> Path:
    """Save to ``output`` the model at ``model_path`` with pieces learned from ``texts`` (see module doc).

    Args:
        scripts: names in :data:`~hfswim.encoders.scripts.SCRIPTS` (``indic``, ``greek``, ``vietnamese``); one
            SentencePiece model of up to ``vocab_size`` pieces is learned per script, on the texts written in it.

    Returns:
        ``output``, a sentence-transformers folder (same module, more pieces, original ids unchanged).
    """
    from sentence_transformers import SentenceTransformer

    from hfswim.encoders.loading import load_sentence_transformer

    base = load_sentence_transformer(model_path, device="cpu")[0]
    if not isinstance(base, USEncoder):
        raise InputError(f"{model_path}: not a USE model (its first module is {type(base).__name__})")
    original = base.tokenizer
    if base.vocab_size != base.original_vocab_size:
        raise InputError(f"{model_path}: already extended ({base.vocab_size - base.original_vocab_size} added pieces)")
    unknown_names = [name for name in scripts if name not in SCRIPTS]
    if unknown_names or not scripts:
        raise InputError(f"extend_vocabulary: unknown script(s) {unknown_names}; expected some of {', '.join(SCRIPTS)}")
    texts = list(texts)
    unknown = unknown_characters(original, texts)
    seen = {original.id_to_piece(i) for i in range(original.get_piece_size())}
    pieces: list[tuple[str, float]] = []
    romanizers: list[Callable[[str], str]] = []  # one per new piece: its script's romaniser
    for name in dict.fromkeys(scripts):
        script = SCRIPTS[name]
        added = new_pieces(original, learn_pieces(texts, vocab_size, script, unknown), script, unknown, seen)
        pieces += added
        romanizers += [script.romanize] * len(added)
    proto = append_pieces(original.serialized_model_proto(), pieces)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    sp_path = output / "extended.model"
    sp_path.write_bytes(proto)
    extended = load_sentencepiece(sp_path)
    if extended.get_piece_size() != original.get_piece_size() + len(pieces):
        raise RuntimeError("SentencePiece did not read the appended pieces")
    config = base.get_config_dict() | {
        "vocab_size": base.vocab_size + len(pieces),
        "original_vocab_size": base.vocab_size,
        "added_lr_scale": added_lr_scale,
    }
    model = USEncoder(sp_model_path=str(sp_path), **config)
    state = base.state_dict()
    with torch.no_grad():
        rows = [
            initial_rows(original, state["embeddings.weight"], [piece], romanize)
            for piece, romanize in zip(pieces, romanizers, strict=True)
        ]
        state["added_embeddings"] = torch.cat(rows) / added_lr_scale
        model.load_state_dict(state)
    SentenceTransformer(modules=[model], device="cpu", similarity_fn_name="cosine").save(
        str(output), create_model_card=False
    )
    sp_path.unlink()  # saved again by the module as sentencepiece.model
    return output


def added_pieces_by_script(encoder: USEncoder) -> dict[str, int]:
    """How many pieces an extended encoder added per script (``{}`` for the original vocabulary); a piece is
    counted under the first script of :data:`~hfswim.encoders.scripts.SCRIPTS` whose letters make it up."""
    counts: dict[str, int] = {}
    for piece_id in range(encoder.original_vocab_size, encoder.vocab_size):
        body = encoder.tokenizer.id_to_piece(piece_id).lstrip(WORD_START)
        name = next((n for n, s in SCRIPTS.items() if body and all(s.is_letter(c) for c in body)), "other")
        counts[name] = counts.get(name, 0) + 1
    return counts
