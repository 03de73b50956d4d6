"""hfswim's LLM client: one request path, one ``aiohttp`` session per endpoint, public APIs only.

Every completion is ONE ``POST`` with a JSON body, answered by ONE JSON document:

* ``tgi`` — Text Generation Inference's native ``/generate`` (``details=True``: every generated token with
  its log-prob), the request and answer shapes of ``huggingface_hub.InferenceClient.text_generation``;
* ``openai`` — the OpenAI-compatible Messages API (``/v1/chat/completions``) of TGI, vLLM, SGLang,
  llama.cpp, ``transformers serve``, hosted APIs and Hugging Face Inference Providers (the router,
  ``https://router.huggingface.co/v1``, which takes ``model="org/model"`` or ``"org/model:provider"``).

Why an owned client and not ``AsyncInferenceClient``: measured against a zero-latency server
(``benchmarks/client_overhead.py``), huggingface_hub's public typed path (httpx2, one validated dataclass per
generated token, a thread hop per call) costs ~1 ms of client CPU per completion, which caps a run near
1,000 completions/s on one core, under the >= 2,000/s this project needs; reaching that through
``AsyncInferenceClient`` took its private ``_inner_post`` and provider helpers, which a minor release may
change. This module is what datatrove's ``inference/servers`` clients are: a small aiohttp client that knows
the two request shapes, with errors mapped once, by HTTP status (as TGI's ``clients/python/.../errors.py``):

* :class:`HTTPStatusError` — the server answered with a status >= 300 (``retry_after`` from ``Retry-After``,
  ``retry-after-ms`` or OpenAI-style ``x-ratelimit-reset-*`` headers);
* :class:`EndpointConnectionError` (a ``ConnectionError``) — refused, reset or dropped connections;
* :class:`ConnectTimeout` / :class:`ReadTimeout` (``TimeoutError``) — no connection, or no whole answer, in time;
* :class:`BadResponseError` (a ``ValueError``) — HTTP 200 with something that is not a completion.

Credentials: the ``Authorization`` header (bearer token or API key, or ``Basic`` from a URL's
``user:password@``) is sent to the endpoint's URL only; redirects are not followed, so it cannot travel on.

Example::

    >>> from hfswim.testing.loopback import LoopbackLLM
    >>> from hfswim.generation.endpoints import Endpoint
    >>> import asyncio
    >>> async def one(url):
    ...     async with LLMClient(Endpoint(url=url, kind="tgi"), max_connections=4) as client:
    ...         return await client.complete("Title: Nile\\nSummary:", max_new_tokens=8, temperature=0.0,
    ...                                      top_p=None, seed=0, stop=["\\n\\n"])
    >>> with LoopbackLLM(kind="tgi") as server:
    ...     completion = asyncio.run(one(server.url))
    >>> completion.text.startswith(" Nile is described"), completion.completion_tokens > 0
    (True, True)
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from typing import Any

from hfswim.generation.endpoints import Completion, Endpoint, estimate_tokens

try:  # orjson parses a TGI answer with 100 tokens ~5x faster than json
    from orjson import dumps as _orjson_dumps
    from orjson import loads as _loads

    def _dumps(obj: Any) -> bytes:
        return _orjson_dumps(obj)

except ImportError:  # pragma: no cover - orjson is a dependency
    _loads = json.loads

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")


class HTTPStatusError(Exception):
    """The server answered with an HTTP error status.

    Attributes:
        status: the HTTP status code.
        retry_after: seconds the server asks to wait before retrying (None when it does not say).
        body: the start of the answer's body (redacted by whoever records it).
    """

    def __init__(self, status: int, message: str, *, retry_after: float | None = None, body: str = ""):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.body = body


class EndpointConnectionError(ConnectionError):
    """The server could not be reached, or dropped the connection before answering."""


class ConnectTimeout(TimeoutError):
    """No connection to the server within the timeout (the server is probably down)."""


class ReadTimeout(TimeoutError):
    """Connected, but no whole answer within the timeout."""


class BadResponseError(ValueError):
    """The server answered 200 with something that is not a completion."""


def parse_duration(value: str | None) -> float | None:
    """Seconds from a rate-limit reset header: ``"1.5"``, ``"20ms"``, ``"1s"``, ``"6m0s"``, ``"1h2m3.5s"``.

    >>> parse_duration("6m0s"), parse_duration("20ms"), parse_duration("2.5"), parse_duration("soon")
    (360.0, 0.02, 2.5, None)
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value)
    if not parts or "".join(n + u for n, u in parts) != value.replace(" ", ""):
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def retry_after_of(headers: Any) -> float | None:
    """How long a 429/503 answer asks to wait: ``Retry-After`` (seconds or HTTP date), else ``retry-after-ms``,
    else the longer of OpenAI-style ``x-ratelimit-reset-requests`` / ``-tokens``, else None."""
    from hfswim.generation.backpressure import parse_retry_after

    found = parse_retry_after(headers.get("retry-after"))
    if found is not None:
        return found
    ms = parse_duration(headers.get("retry-after-ms"))
    if ms is not None:
        return ms / 1000.0
    resets = [parse_duration(headers.get(name)) for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")]
    resets = [r for r in resets if r is not None]
    return max(resets) if resets else None


def _proxy_configured() -> bool:
    import os

    return any(
        os.environ.get(name)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    )


@functools.lru_cache(maxsize=16)  # one schema per step, built once (callers must not modify it)
def json_output_schema(fields: tuple[str, ...]) -> dict[str, Any]:
    """The JSON schema of a structured answer: an object with these string fields, all required, nothing else,
    each at most as long as the parser accepts (``maxLength``: a model that would run on is cut, not paid for).

    >>> schema = json_output_schema(("query",))
    >>> schema["required"], schema["properties"]["query"]["maxLength"]
    (['query'], 250)
    """
    from hfswim.prompts.parser import MAX_QUERY_CHARS, MAX_SUMMARY_CHARS

    limits = {"query": MAX_QUERY_CHARS, "summary": MAX_SUMMARY_CHARS}
    return {
        "type": "object",
        "properties": {
            name: {"type": "string", **({"maxLength": limits[name]} if name in limits else {})} for name in fields
        },
        "required": list(fields),
        "additionalProperties": False,
    }


class LLMClient:
    """The HTTP client of one endpoint: ``await client.complete(prompt, ...)`` -> :class:`Completion`.

    Args:
        endpoint: the discovered endpoint (URL, kind, model name, credentials, structured-output support).
        max_connections: connection pool size; hfswim's backpressure bounds the requests in flight below it.
        timeout: seconds for connecting and for each read (the engine bounds the whole request separately).
    """

    def __init__(self, endpoint: Endpoint, *, max_connections: int = 100, timeout: float | None = None):
        from hfswim import __version__

        self.endpoint = endpoint
        self.max_connections = max(1, max_connections)
        self.timeout = timeout
        self._url = endpoint.url + ("/generate" if endpoint.kind == "tgi" else endpoint.chat_path)
        self._headers = {"Content-Type": "application/json", "User-Agent": f"hfswim/{__version__}"}
        authorization = endpoint.authorization()
        if authorization:
            self._headers["Authorization"] = authorization
        self._session: Any = None
        self._timeouts: Any = None
        # OpenAI-style servers: does the server return log-probs? None = not known yet. transformers serve
        # ignores the field yet generates ~8x slower when it is set, so until the first answer settles it, ONE
        # request asks and the others wait for its answer, instead of the first `concurrency` all paying for it.
        self.request_logprobs: bool | None = None
        self._logprobs_known: asyncio.Event | None = None
        # Structured output: sent while the server accepts it; a 4xx naming the field turns it off for the run.
        self.structured = endpoint.structured_output
        self.structured_rejected = 0

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _get_session(self) -> Any:
        if self._session is None or self._session.closed:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self.max_connections, ttl_dns_cache=300)
            # trust_env makes aiohttp look proxies up on every request: only pay for it when one is configured.
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._headers, trust_env=_proxy_configured()
            )
            self._timeouts = aiohttp.ClientTimeout(
                total=self.timeout, connect=self.timeout, sock_connect=self.timeout, sock_read=self.timeout
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post_json(self, payload: dict[str, Any]) -> Any:
        """POST ``payload`` to the endpoint's completion route and return the decoded JSON answer.

        Raises:
            HTTPStatusError, EndpointConnectionError, ConnectTimeout, ReadTimeout, BadResponseError.
        """
        import aiohttp

        session = self._get_session()
        try:
            async with session.post(
                self._url, data=_dumps(payload), timeout=self._timeouts, allow_redirects=False
            ) as response:
                content = await response.read()
                status = response.status
                if status >= 300:
                    raise HTTPStatusError(
                        status,
                        f"HTTP {status} from {self.endpoint.public_url}: {_error_text(content)}",
                        retry_after=retry_after_of(response.headers) if status in (429, 503) else None,
                        body=content[:500].decode("utf-8", "replace"),
                    )
        except asyncio.TimeoutError as err:  # aiohttp's ServerTimeoutError is an asyncio.TimeoutError
            if "connect" in str(err).lower() or type(err).__name__ == "ConnectionTimeoutError":
                raise ConnectTimeout(f"connect timeout: {self.endpoint.public_url}") from err
            raise ReadTimeout(f"read timeout: {self.endpoint.public_url}") from err
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as err:
            raise EndpointConnectionError(f"{type(err).__name__}: {err}") from err
        except aiohttp.ClientError as err:  # invalid URL, bad headers...
            raise EndpointConnectionError(f"{type(err).__name__}: {err}") from err
        try:
            return _loads(content)
        except ValueError:
            raise BadResponseError(f"not JSON: {content[:200]!r}") from None

    async def complete(
        self,
        prompt: str,
        *,
        max_new_tokens: int,
        temperature: float,
        top_p: float | None,
        seed: int | None,
        stop: list[str],
        json_fields: tuple[str, ...] | None = None,
    ) -> Completion:
        """One completion of ``prompt``; errors propagate for the retry layer to classify.

        ``json_fields``: ask for a JSON object with these string fields (TGI ``grammar``, OpenAI
        ``response_format``) when the endpoint supports structured output; ``Completion.structured`` says
        whether it was asked. Stop sequences are not sent then: the grammar ends the answer.
        """
        structured = bool(json_fields) and self.structured
        if structured:
            try:
                return await self._complete(prompt, max_new_tokens, temperature, top_p, seed, [], json_fields)
            except HTTPStatusError as err:
                if not (400 <= err.status < 500 and err.status != 429 and _names_structured(err.body)):
                    raise
                self.structured = False  # the server does not take the field: text from now on
                self.structured_rejected += 1
        return await self._complete(prompt, max_new_tokens, temperature, top_p, seed, stop, None)

    async def _complete(
        self, prompt: str, max_new_tokens: int, temperature: float, top_p: float | None, seed: int | None,
        stop: list[str], json_fields: tuple[str, ...] | None,
    ) -> Completion:  # fmt: skip
        if self.endpoint.kind == "tgi":
            return await self._generate(prompt, max_new_tokens, temperature, top_p, seed, stop, json_fields)
        if self.request_logprobs is None and self._logprobs_known is not None:
            await self._logprobs_known.wait()  # another request is finding out whether log-probs come back
        if self.request_logprobs is None and self._logprobs_known is None:
            self._logprobs_known = asyncio.Event()
            try:
                return await self._chat(prompt, max_new_tokens, temperature, top_p, seed, stop, json_fields)
            finally:
                self._logprobs_known.set()  # settled, or this request failed: the next answer settles it
        return await self._chat(prompt, max_new_tokens, temperature, top_p, seed, stop, json_fields)

    async def _generate(
        self, prompt: str, max_new_tokens: int, temperature: float, top_p: float | None, seed: int | None,
        stop: list[str], json_fields: tuple[str, ...] | None,
    ) -> Completion:  # fmt: skip
        sampling = temperature > 0
        parameters: dict[str, Any] = {
            "details": True,
            "decoder_input_details": False,
            "return_full_text": False,
            "max_new_tokens": max_new_tokens,
            "do_sample": sampling,
            "seed": seed,
        }
        if stop:
            parameters["stop"] = stop
        if sampling:  # TGI rejects temperature=0: greedy is do_sample=False
            parameters["temperature"] = temperature
            if top_p is not None:
                parameters["top_p"] = top_p
        if json_fields:
            parameters["grammar"] = {"type": "json", "value": json_output_schema(json_fields)}
        out = await self.post_json({"inputs": prompt, "parameters": parameters, "stream": False})
        if isinstance(out, list) and out:
            out = out[0]
        if not isinstance(out, dict) or not isinstance(out.get("generated_text"), str):
            raise BadResponseError(f"TGI answered without generated_text: {str(out)[:200]!r}")
        details = out.get("details")
        tokens = details.get("tokens") if isinstance(details, dict) else None
        if tokens is None:
            raise BadResponseError("TGI answered without token details (is this a TGI server?)")
        finish = details.get("finish_reason")
        return Completion(
            text=strip_stop(out["generated_text"], stop),
            # TGI's /generate does not count prompt tokens (only its response headers do): estimate.
            prompt_tokens=estimate_tokens(prompt),
            completion_tokens=int(details["generated_tokens"]),
            tokens=tuple(
                (t["text"], float(t["logprob"]))
                for t in tokens
                if not t.get("special") and t.get("logprob") is not None
            ),
            estimated=True,
            finish_reason=str(finish) if finish is not None else None,
            structured=bool(json_fields),
        )

    async def _chat(
        self, prompt: str, max_new_tokens: int, temperature: float, top_p: float | None, seed: int | None,
        stop: list[str], json_fields: tuple[str, ...] | None,
    ) -> Completion:  # fmt: skip
        asked_logprobs = self.request_logprobs is not False
        payload: dict[str, Any] = {
            "model": self.endpoint.request_model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_new_tokens,
            "temperature": temperature,
            "stream": False,
        }
        if asked_logprobs:
            payload["logprobs"] = True
        if stop:
            payload["stop"] = stop
        if top_p is not None:
            payload["top_p"] = top_p
        if seed is not None:
            payload["seed"] = seed
        if json_fields:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "hfswim_" + "_".join(json_fields), "schema": json_output_schema(json_fields),
                                "strict": True},
            }  # fmt: skip
        if payload["model"] is None:
            del payload["model"]
        out = await self.post_json(payload)
        choices = out.get("choices") if isinstance(out, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise BadResponseError(f"the server answered without choices: {str(out)[:200]!r}")
        choice = choices[0]
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(text, str):
            raise BadResponseError(f"the server answered without message content: {str(choice)[:200]!r}")
        text = strip_stop(text, stop)
        tokens = None
        logprobs = choice.get("logprobs")
        content = logprobs.get("content") if isinstance(logprobs, dict) else None
        if content:
            tokens = tuple((str(t["token"]), float(t["logprob"])) for t in content if t.get("logprob") is not None)
            self.request_logprobs = True
        elif asked_logprobs and text:
            self.request_logprobs = False  # the server ignored the field: stop paying for it
        usage = out.get("usage")
        if (
            isinstance(usage, dict)
            and usage.get("prompt_tokens") is not None
            and usage.get("completion_tokens") is not None
        ):
            prompt_tokens, completion_tokens, estimated = (
                int(usage["prompt_tokens"]),
                int(usage["completion_tokens"]),
                False,
            )
        else:
            prompt_tokens, completion_tokens, estimated = estimate_tokens(prompt), estimate_tokens(text), True
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tokens=tokens,
            estimated=estimated,
            finish_reason=choice.get("finish_reason"),
            structured=bool(json_fields),
        )


def _error_text(content: bytes) -> str:
    """The message of an error body: TGI ``{"error": ...}``, OpenAI ``{"error": {"message": ...}}``, or the text."""
    try:
        data = _loads(content)
    except ValueError:
        return content[:200].decode("utf-8", "replace").strip() or "(empty body)"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        error = error.get("message") or error
    if error is None and isinstance(data, dict):
        error = data.get("message") or data.get("detail") or data
    return str(error)[:300]


def _names_structured(body: str) -> bool:
    """A 4xx body that names the structured-output field: the server does not support it."""
    low = body.lower()
    return any(word in low for word in ("response_format", "grammar", "json_schema", "guided", "structured"))


def strip_stop(text: str, stop: list[str]) -> str:
    """Cut at the first stop sequence: TGI and some servers return it at the end of the text, others do not.

    >>> strip_stop("wapi?\\n\\nTitle: x", ["\\n\\n"])
    'wapi?'
    """
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]
