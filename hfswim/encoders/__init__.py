"""Sentence encoders hfswim ships: USE Multilingual v3 ported to PyTorch, the offline default.

- :func:`default_encoder`: path to the converted model (converted once, cached under ``~/.cache/hfswim/models``).
- :class:`~hfswim.encoders.module.USEncoder`: the sentence-transformers module (tokenizer + encoder).
- :func:`~hfswim.encoders.extend.extend_vocabulary`: add SentencePiece pieces and embedding rows for scripts the
  original vocabulary lacks (the Indic scripts).
"""

from __future__ import annotations

from hfswim.encoders.convert import build_usem3_model, cache_root, default_encoder
from hfswim.encoders.loading import load_sentence_transformer, resolve_encoder, uses_hfswim_modules

__all__ = [
    "build_usem3_model",
    "cache_root",
    "default_encoder",
    "load_sentence_transformer",
    "resolve_encoder",
    "uses_hfswim_modules",
]
