"""A loopback LLM server speaking TGI's and the OpenAI Messages API, with scripted faults.

It answers instantly (or after a set delay) with deterministic completions shaped like hfswim's prompts
(a summary for prompts ending in ``Summary:``, a question otherwise; a JSON object when the request asks for
one with TGI's ``grammar`` or OpenAI's ``response_format``), honours ``stop`` sequences and
``max_new_tokens``, returns token log-probs, and can fail on purpose: HTTP 429/503 (with ``Retry-After``),
garbage bodies, slow answers, dropped connections. It counts every request server-side, so tests can prove
that retries happened and that a resumed run requested nothing twice. Used by hfswim's tests, by the
client-overhead benchmark, and for dry runs of a pipeline without a model.

Run it as a process::

    python -m hfswim.testing.loopback --port 8089 --kind tgi

or in-process (a background thread)::

    >>> server = LoopbackLLM(kind="openai").start()
    >>> import httpx; httpx.get(server.url + "/v1/models").json()["data"][0]["id"]
    'hfswim/loopback'
    >>> server.stop()
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MODEL_ID = "hfswim/loopback"
_TITLE = re.compile(r"^Title:[ \t]*(.*)$", re.M)
_LANG = re.compile(r"Query \(([^)\n]+)\):")


@dataclass
class Fault:
    """What to do with one request instead of answering it: an HTTP status, "garbage" (HTML with status 200),
    "drop" (close the connection), "slow" (answer after ``delay``), "trickle" (status 200, then the body one
    byte every ``delay`` seconds, for at most a minute), "empty" (a well-formed answer with no text) or "nul"
    (a well-formed answer whose text holds NUL and other control bytes)."""

    action: str | int
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class LoopbackState:
    """Counters and the fault script, shared between the server and the test that drives it."""

    faults: list[Fault] = field(default_factory=list)  # consumed in order, one per generation request
    fault_every: dict[int, Fault] = field(default_factory=dict)  # request number -> fault (1-based)
    prompt_faults: dict[str, list[Fault]] = field(default_factory=dict)  # prompt substring -> faults to pop
    delay: float = 0.0
    requests: int = 0
    answered: int = 0
    by_status: Counter = field(default_factory=Counter)
    prompts: Counter = field(default_factory=Counter)  # sha1(prompt) -> times answered with 200
    answered_at: dict[str, list[float]] = field(default_factory=dict)  # sha1(prompt) -> time.monotonic() of each
    authorization: Counter = field(default_factory=Counter)  # Authorization header values seen ("" = none)
    injected: Counter = field(default_factory=Counter)  # faults served, by action ("503", "drop", "empty"...)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, prompt: str = "") -> Fault | None:
        with self.lock:
            self.requests += 1
            fault = None
            for needle, faults in self.prompt_faults.items():
                if faults and needle in prompt:
                    fault = faults.pop(0)
                    break
            else:
                if self.requests in self.fault_every:
                    fault = self.fault_every[self.requests]
                elif self.faults:
                    fault = self.faults.pop(0)
            if fault is not None:
                self.injected[str(fault.action)] += 1
            return fault


def fake_completion(prompt: str, max_new_tokens: int, stop: list[str] | None) -> tuple[str, list[str]]:
    """A deterministic completion for an hfswim prompt, cut at ``stop`` (kept, as TGI does) and at the token limit."""
    titles = _TITLE.findall(prompt)
    title = titles[-1].strip() if titles else "the passage"
    tag = hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:6]
    tail = prompt.rstrip()
    if tail.endswith("Summary:"):
        langs = _LANG.findall(prompt)
        text = f" {title} is described in this passage ({tag})."
        if langs:  # one-step SAP: the exemplars show a query after the summary
            text += f"\nQuery ({langs[-1]}): what about {title} {tag}?"
        text += "\n\nTitle: next"
    else:
        text = f" what about {title} {tag}?\n\nTitle: next"
    pieces = re.findall(r"\s*\S+|\s+", text)
    pieces = pieces[:max_new_tokens]
    out = "".join(pieces)
    for s in stop or []:
        i = out.find(s)
        if s and i != -1:
            out = out[: i + len(s)]
            pieces = re.findall(r"\s*\S+|\s+", out)
    return out, pieces


def schema_fields(body: dict[str, Any]) -> list[str] | None:
    """The string fields a request constrains its answer to (TGI ``parameters.grammar`` of type json, OpenAI
    ``response_format`` json_schema), or None for a free-text request."""
    grammar = (body.get("parameters") or {}).get("grammar")
    schema = grammar.get("value") if isinstance(grammar, dict) and grammar.get("type") == "json" else None
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
    if not isinstance(schema, dict):
        return None
    return list((schema.get("properties") or {}).keys())


def fake_json_completion(prompt: str, fields: list[str]) -> tuple[str, list[str]]:
    """What a server constraining its answer to ``fields`` writes: the fake summary/query as one JSON object."""
    titles = _TITLE.findall(prompt)
    title = titles[-1].strip() if titles else "the passage"
    tag = hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:6]
    values = {"summary": f"{title} is described in this passage ({tag}).", "query": f"what about {title} {tag}?"}
    text = json.dumps({name: values.get(name, "") for name in fields}, ensure_ascii=False)
    return text, re.findall(r"\s*\S+|\s+", text)


def _completion(
    prompt: str, body: dict[str, Any], max_new_tokens: int, stop: list[str] | None
) -> tuple[str, list[str]]:
    fields = schema_fields(body)
    return fake_json_completion(prompt, fields) if fields else fake_completion(prompt, max_new_tokens, stop)


def tgi_answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    """TGI's ``/generate`` answer (with ``details``) to a request body."""
    params = body.get("parameters") or {}
    text, pieces = _completion(body["inputs"], body, int(params.get("max_new_tokens") or 20), params.get("stop"))
    tokens = [{"id": i, "text": p, "logprob": -0.25 - 0.01 * i, "special": False} for i, p in enumerate(pieces)]
    details = {
        "finish_reason": "stop_sequence",
        "generated_tokens": len(pieces),
        "seed": params.get("seed"),
        "prefill": [],
        "tokens": tokens,
    }
    return [{"generated_text": text, "details": details}]


def chat_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The Messages API answer to a ``/v1/chat/completions`` request body."""
    prompt = "".join(m.get("content", "") for m in body["messages"])
    text, pieces = _completion(prompt, body, int(body.get("max_tokens") or 20), body.get("stop"))
    for s in body.get("stop") or []:  # OpenAI-style servers leave the stop sequence out
        if s and text.endswith(s):
            text = text[: -len(s)]
    content = [{"token": p, "logprob": -0.25 - 0.01 * i, "top_logprobs": []} for i, p in enumerate(pieces)]
    return {
        "id": "loopback",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or MODEL_ID,
        "system_fingerprint": "loopback",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": {"content": content} if body.get("logprobs") else None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": len(prompt.split()),
            "completion_tokens": len(pieces),
            "total_tokens": len(prompt.split()) + len(pieces),
        },
    }


def _with_text(payload: Any, text: str, tgi: bool) -> Any:
    """An answer rewritten to carry ``text`` (one token), for the "empty" and "nul" faults."""
    tokens = [{"id": 0, "text": text, "logprob": -0.5, "special": False}] if text else []
    if tgi:
        payload[0]["generated_text"] = text
        payload[0]["details"].update(tokens=tokens, generated_tokens=len(tokens))
    else:
        payload["choices"][0]["message"]["content"] = text
        if payload["choices"][0]["logprobs"]:
            payload["choices"][0]["logprobs"]["content"] = [{"token": text, "logprob": -0.5, "top_logprobs": []}]
    return payload


class LoopbackLLM:
    """The server; ``kind`` is "tgi" (``/info``, ``/generate`` and the Messages API) or "openai" (Messages API only)."""

    def __init__(self, kind: str = "tgi", host: str = "127.0.0.1", port: int = 0, max_concurrent_requests: int = 32):
        self.kind = kind
        self.host = host
        self.port = port
        self.max_concurrent_requests = max_concurrent_requests
        self.state = LoopbackState()
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None

    # ---- handlers ----

    async def _fault(self, request: Any, prompt: str) -> Any:
        from aiohttp import web

        with self.state.lock:
            self.state.authorization[request.headers.get("Authorization", "")] += 1
        fault = self.state.next_fault(prompt)
        delay = self.state.delay + (fault.delay if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if fault is None or fault.action in ("slow", "empty", "nul", "trickle"):
            return fault
        if fault.action == "garbage":
            self._count(200)
            return web.Response(text="<html>502 Bad Gateway?", content_type="text/html")
        if fault.action == "drop":
            transport = request.transport
            if transport is not None:
                transport.abort()  # the client sees a dropped connection; nothing more can be sent
            return web.Response(status=204)
        status = int(fault.action)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        self._count(status)
        body = {"error": "Model is overloaded", "error_type": "overloaded"} if status == 429 else {"error": "fault"}
        return web.json_response(body, status=status, headers=headers)

    async def _answer(self, request: Any, fault: Fault | None, body: dict[str, Any], prompt: str, tgi: bool) -> Any:
        """The answer to a request that gets one (possibly an empty, NUL-laden or trickled one)."""
        from aiohttp import web

        # Only a real answer counts as the prompt being answered (a drill checks no finished record is re-asked).
        self._count(200, prompt if fault is None or fault.action == "slow" else None)
        if fault is not None and fault.action in ("empty", "nul"):
            text = "" if fault.action == "empty" else " wa\x00pi\x01 \x1b[2J?"
            payload: Any = _with_text(tgi_answer(body) if tgi else chat_answer(body), text, tgi)
        else:
            payload = tgi_answer(body) if tgi else chat_answer(body)
        if fault is None or fault.action != "trickle":
            return web.json_response(payload)
        data = json.dumps(payload).encode()
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = len(data)
        deadline = time.monotonic() + 60.0  # bounded: the server never hangs a test run
        try:
            await response.prepare(request)
            for i in range(len(data)):
                if time.monotonic() > deadline:
                    break
                await response.write(data[i : i + 1])
                await asyncio.sleep(fault.delay or 0.2)
        except ConnectionError:  # the client gave up (its whole-request timeout, or it was killed)
            pass
        return response

    def _count(self, status: int, prompt: str | None = None) -> None:
        with self.state.lock:
            self.state.by_status[status] += 1
            if prompt is not None:
                self.state.answered += 1
                sha = hashlib.sha1(prompt.encode("utf-8")).hexdigest()
                self.state.prompts[sha] += 1
                self.state.answered_at.setdefault(sha, []).append(time.monotonic())

    async def _info(self, request: Any) -> Any:
        from aiohttp import web

        if self.kind != "tgi":
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(
            {"model_id": MODEL_ID, "max_concurrent_requests": self.max_concurrent_requests, "version": "loopback"}
        )

    async def _models(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response({"object": "list", "data": [{"id": MODEL_ID, "object": "model"}]})

    async def _health(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response({"status": "ok"})

    async def _generate(self, request: Any) -> Any:
        from aiohttp import web

        if self.kind != "tgi":
            return web.json_response({"error": "not found"}, status=404)
        body = await request.json()
        prompt = body["inputs"]
        fault = await self._fault(request, prompt)
        if fault is not None and not isinstance(fault, Fault):
            return fault
        return await self._answer(request, fault, body, prompt, tgi=True)

    async def _chat(self, request: Any) -> Any:

        body = await request.json()
        prompt = "".join(m.get("content", "") for m in body["messages"])
        fault = await self._fault(request, prompt)
        if fault is not None and not isinstance(fault, Fault):
            return fault
        return await self._answer(request, fault, body, prompt, tgi=False)

    def app(self) -> Any:
        from aiohttp import web

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/info", self._info)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/", self._generate)
        app.router.add_post("/generate", self._generate)
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    # ---- lifecycle ----

    async def _serve(self) -> None:
        from aiohttp import web

        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=4096)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackLLM:
        """Serve from a background thread; returns self once the socket listens."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="loopback-llm", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> LoopbackLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _FastHTTP(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive protocol for :func:`serve_fast`: Content-Length bodies, no chunking.

    ``counts`` is shared by every connection of one server: completion requests answered so far (``GET /stats``
    reads it, so a benchmark can tell retries from first attempts). With ``delay`` each answer is written that
    many seconds after its request arrived (a fixed server latency; answers on one connection keep their order).
    """

    def __init__(self, kind: str, loads: Any, dumps: Any, counts: Counter, delay: float = 0.0):
        self.kind, self.loads, self.dumps = kind, loads, dumps
        self.counts, self.delay = counts, delay
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = self.buffer[:head_end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                break
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            method, path = head.split(b" ", 2)[:2]
            out.append(self._answer(method, path.split(b"?")[0], body))
        if out and self.delay:
            asyncio.get_running_loop().call_later(self.delay, self._write, out)
        elif out:
            self.transport.writelines(out)

    def _write(self, out: list[bytes]) -> None:
        if not self.transport.is_closing():
            self.transport.writelines(out)

    def _answer(self, method: bytes, path: bytes, body: bytes) -> bytes:
        status, payload = b"200 OK", None
        if method == b"POST" and path in (b"/generate", b"/") and self.kind == "tgi":
            payload = tgi_answer(self.loads(body))
            self.counts["completions"] += 1
        elif method == b"POST" and path == b"/v1/chat/completions":
            payload = chat_answer(self.loads(body))
            self.counts["completions"] += 1
        elif path == b"/stats":
            payload = dict(self.counts)
        elif path == b"/info" and self.kind == "tgi":
            payload = {"model_id": MODEL_ID, "max_concurrent_requests": 256, "version": "loopback-fast"}
        elif path == b"/v1/models":
            payload = {"object": "list", "data": [{"id": MODEL_ID, "object": "model"}]}
        elif path == b"/health":
            payload = {"status": "ok"}
        else:
            status, payload = b"404 Not Found", {"error": "not found"}
        data = self.dumps(payload)
        return (
            b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(data)).encode() + b"\r\n\r\n" + data
        )  # fmt: skip


def serve_fast(kind: str, host: str, port: int, delay: float = 0.0) -> None:
    """Serve the loopback answers from a raw asyncio protocol (uvloop when installed): no faults.

    The benchmark server: a fraction of aiohttp's per-request cost, so that on a shared 2-core machine the
    client's own cost is what a client-overhead figure measures. ``delay`` seconds of latency per answer stand
    for a real server's generation time; ``GET /stats`` returns ``{"completions": N}``, the completion requests
    answered so far.
    """
    try:
        from orjson import dumps, loads
    except ImportError:  # pragma: no cover
        loads, dumps = json.loads, lambda obj: json.dumps(obj).encode()
    counts: Counter = Counter(completions=0)
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: _FastHTTP(kind, loads, dumps, counts, delay), host, port, backlog=4096)
    )
    try:
        loop.run_forever()
    finally:
        server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--kind", choices=["tgi", "openai"], default="tgi")
    parser.add_argument("--max-concurrent-requests", type=int, default=256)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--fast", action="store_true", help="raw asyncio protocol server (no faults; --delay applies)")
    args = parser.parse_args(argv)
    if args.fast:
        print(json.dumps({"url": f"http://{args.host}:{args.port}", "kind": args.kind}), flush=True)
        serve_fast(args.kind, args.host, args.port, args.delay)
        return
    from aiohttp import web

    server = LoopbackLLM(args.kind, args.host, args.port, args.max_concurrent_requests)
    server.state.delay = args.delay
    print(json.dumps({"url": f"http://{args.host}:{args.port}", "kind": args.kind}), flush=True)
    web.run_app(server.app(), host=args.host, port=args.port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
