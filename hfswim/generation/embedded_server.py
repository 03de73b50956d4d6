"""hfswim's embedded LLM server: OpenAI-compatible, batched, with a prefix KV cache (see ``prefix_batching``).

Run as a managed subprocess by :class:`hfswim.generation.embedded.EmbeddedServer` (like ``transformers serve``
before it), on a loopback port::

    python -m hfswim.generation.embedded_server MODEL_DIR --port 8123 [--max-batch 8] [--threads 1]

Routes:

* ``GET /health``: 200 once the model is loaded and calibrated.
* ``GET /info``: capacity as TGI names it: ``max_concurrent_requests`` (what hfswim sends at once),
  ``max_batch_size``, and the calibration (``prefill_tokens_per_s``, ``decode_step_s`` at a full batch) from
  which the client derives its request timeout.
* ``GET /v1/models``; ``POST /v1/chat/completions`` (non-streaming; ``max_tokens``, ``temperature``,
  ``top_p``, ``seed``, ``stop``, ``logprobs``, and vLLM's ``ignore_eos``). ``usage.prompt_tokens_details.cached_tokens`` says how many
  prompt tokens came from the prefix cache. A request whose client disconnects is dropped from the batch at
  the next step: a timed-out request leaves no computation behind.
* ``POST /v1/score``: ``{"prefix": str, "continuations": [str, ...]}`` → ``{"scores": [{"logprob", "mean_logprob",
  "tokens"}, ...]}``, log P(continuation | prefix) by teacher forcing (:mod:`hfswim.generation.scoring`; the
  prefix computed once): what query-likelihood selection (the ``upr`` filter) asks.
* ``GET /stats``: the generator's counters (prompt tokens computed vs reused, cancelled requests, mean batch).

The prompt is the model's chat template applied to the messages, tokenized without extra special tokens,
exactly as ``transformers serve`` does, so both servers see the same token ids.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
import uuid
from typing import Any

logger = logging.getLogger(__name__)

DISCONNECT_POLL_S = 0.25


def default_threads() -> int:
    """Torch threads: half the cores (at least 1), leaving the rest to the hfswim client and other work.

    On the 2-core reference machine 1 thread was far faster than 2 under contention (see BENCHMARKS.md).
    """
    return max(1, (os.cpu_count() or 2) // 2)


def load_tokenizer(model_dir: str) -> Any:
    """The folder's tokenizer; a ``tokenizer.json`` is read directly into ``PreTrainedTokenizerFast``.

    ``AutoTokenizer.from_pretrained`` took 1.8x as long on Gemma 3's 262k-token vocabulary (side by side on a
    busy 2-core machine; 5.3 s of a ~20 s server start when quiet); the ids of 84 SAP prompts, the special tokens
    and the chat template are the same (tested against ``AutoTokenizer`` on a tiny model). Folders without
    ``tokenizer.json`` use ``AutoTokenizer``.
    """
    import json
    from pathlib import Path

    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    folder = Path(model_dir)
    if not (folder / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(model_dir)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    special = {k: v for k, v in config.items() if k.endswith("_token") and isinstance(v, str)}
    template_path = folder / "chat_template.jinja"
    template = template_path.read_text(encoding="utf-8") if template_path.is_file() else config.get("chat_template")
    return PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), chat_template=template, **special)


def load_model(model_dir: str, dtype: str = "float32") -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
    return model, tokenizer


def calibrate(
    generator: Any, tokenizer: Any, prompt_tokens: int = 48, rows: int = 4, steps: int = 2
) -> dict[str, float]:
    """Measure prefill throughput and (an upper bound of) the decode step of a full batch: ~2 s on 2 CPU cores.

    The decode step is timed on ``rows`` rows and scaled linearly to the full batch: a step's cost grows less
    than linearly with its rows, so the estimate errs on the long side, as a timeout should.
    """
    from hfswim.generation.prefix_batching import GenerationRequest

    base = tokenizer("The river flows through the old city to the sea. " * 64, add_special_tokens=False)["input_ids"]
    stats = generator.stats
    generator.generate([GenerationRequest(base[:prompt_tokens], max_new_tokens=1)])
    prefill_s = stats.prefill_s
    rows = min(rows, generator.max_batch)
    steps_before, decode_before = stats.decode_steps, stats.decode_s
    generator.generate([GenerationRequest(base[i + 1 : i + 5], max_new_tokens=steps + 1) for i in range(rows)])
    step_s = (stats.decode_s - decode_before) / max(1, stats.decode_steps - steps_before)
    return {
        "prefill_tokens_per_s": round(prompt_tokens / max(prefill_s, 1e-6), 2),
        "decode_step_s": round(step_s * generator.max_batch / rows, 4),
    }


def build_app(generator: Any, tokenizer: Any, *, model_id: str, info: dict[str, Any]) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from hfswim.generation.prefix_batching import GenerationRequest

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def server_info(_: Request) -> JSONResponse:
        # "model", not TGI's "model_id": hfswim's endpoint discovery must see an OpenAI-compatible server
        return JSONResponse({"model": model_id, **info, "queued": generator.queued})

    async def models(_: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "hfswim"}]})

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse(generator.stats.as_dict())

    async def chat_completions(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            messages = body["messages"]
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            stop = body.get("stop") or ()
            gen_request = GenerationRequest(
                prompt_ids=list(ids),
                max_new_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or 256),
                temperature=float(body.get("temperature") or 0.0),
                top_p=float(body["top_p"]) if body.get("top_p") is not None else None,
                seed=int(body["seed"]) if body.get("seed") is not None else None,
                stop=(stop,) if isinstance(stop, str) else tuple(stop),
                logprobs=bool(body.get("logprobs")),
                ignore_eos=bool(body.get("ignore_eos")),
            )
            future = asyncio.wrap_future(generator.submit(gen_request))
        except (KeyError, TypeError, ValueError) as err:
            return JSONResponse({"error": {"message": f"bad request: {err}", "type": "invalid_request"}}, 400)
        while True:
            done, _ = await asyncio.wait({future}, timeout=DISCONNECT_POLL_S)
            if done:
                break
            if await request.is_disconnected():  # the client timed out or went away: stop computing its answer
                gen_request.cancel()
                return JSONResponse({"error": {"message": "client disconnected"}}, 499)
        result = future.result()
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": result.text},
            "finish_reason": result.finish_reason,
        }
        if result.logprobs is not None:
            choice["logprobs"] = {"content": [{"token": t, "logprob": lp} for t, lp in result.logprobs]}
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model_id,
                "choices": [choice],
                "usage": {
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": len(result.token_ids),
                    "total_tokens": result.prompt_tokens + len(result.token_ids),
                    "prompt_tokens_details": {"cached_tokens": result.cached_tokens},
                },
            }
        )

    async def score(request: Request) -> JSONResponse:
        from hfswim.generation.scoring import score_continuations

        try:
            body = await request.json()
            prefix, continuations = str(body["prefix"]), [str(c) for c in body["continuations"]]
        except (KeyError, TypeError, ValueError) as err:
            return JSONResponse({"error": {"message": f"bad request: {err}", "type": "invalid_request"}}, 400)
        # A separate forward pass beside the generator's thread: scoring never enters the decoding batch.
        scores = await asyncio.to_thread(score_continuations, generator.model, tokenizer, prefix, continuations)
        return JSONResponse({"model": model_id, "scores": scores})

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/info", server_info),
            Route("/stats", stats),
            Route("/v1/models", models),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/score", score, methods=["POST"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hfswim.generation.embedded_server", description=__doc__)
    parser.add_argument("model", help="local model folder (safetensors + tokenizer with a chat template)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-batch", type=int, default=16, help="rows decoded together")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: half the cores)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--no-prefix-cache", action="store_true", help="compute every prompt in full")
    parser.add_argument("--model-id", default=None, help="the name /v1/models answers (default: MODEL)")
    args = parser.parse_args(argv)

    import torch
    import uvicorn

    from hfswim.generation.prefix_batching import PrefixCachingGenerator

    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    model, tokenizer = load_model(args.model, args.dtype)
    generator = PrefixCachingGenerator(
        model, tokenizer, max_batch=args.max_batch, use_prefix_cache=not args.no_prefix_cache
    ).start()
    measured = calibrate(generator, tokenizer)
    generator.stats.__init__()  # calibration is not work done for clients
    info = {
        "server": "hfswim-embedded",
        "max_concurrent_requests": args.max_batch,
        "max_batch_size": args.max_batch,
        "threads": threads,
        "prefix_cache": not args.no_prefix_cache,
        **measured,
    }
    logger.warning("hfswim embedded server ready: %s", info)
    app = build_app(generator, tokenizer, model_id=args.model_id or args.model, info=info)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=1)
    finally:
        generator.stop()


if __name__ == "__main__":
    main()
