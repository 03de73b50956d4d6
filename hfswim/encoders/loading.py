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


def load_sentence_transformer(name_or_path: str | Path, **kwargs: Any) -> SentenceTransformer:
    """``SentenceTransformer(name_or_path, **kwargs)``, with ``trust_remote_code`` for hfswim's own modules."""
    from sentence_transformers import SentenceTransformer

    if uses_hfswim_modules(name_or_path):
        kwargs["trust_remote_code"] = True
    return SentenceTransformer(str(name_or_path), **kwargs)
