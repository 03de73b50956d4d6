"""LLM endpoints: what they are, how to find out, and how to ask them for one completion.

hfswim speaks to two kinds of server through ONE client, ``huggingface_hub.AsyncInferenceClient``:

* ``tgi`` — Text Generation Inference's native ``/generate`` route (``text_generation(details=True)``),
  which returns every generated token with its log-prob;
* ``openai`` — the OpenAI-compatible Messages API (``/v1/chat/completions``) served by TGI, vLLM, SGLang,
  llama.cpp and ``transformers serve``. The prompt travels as a single user message; servers whose chat
  template passes it through verbatim (hfswim's embedded server does) see the raw completion prompt.

An endpoint is a URL or the name of a Hugging Face Inference Endpoint. With ``kind="auto"``,
:func:`discover_endpoint` asks ``GET <url>/info`` (TGI answers with its model id and
``max_concurrent_requests``) and falls back to ``GET <url>/v1/models``.

Example::

    >>> ep = Endpoint(url="http://127.0.0.1:8080", kind="tgi", model_id="google/gemma-3-270m", max_concurrency=128)
    >>> ep.public_info()["url"]
    'http://127.0.0.1:8080'
    >>> redact_url("https://user:secret@host.example/v1")
    'https://host.example/v1'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from huggingface_hub import AsyncInferenceClient

from hfswim.errors import ConfigError, EndpointError
from hfswim.redact import redact, redact_url

EndpointKind = Literal["tgi", "openai"]
HTTP_BACKENDS: tuple[str, ...] = ("aiohttp", "httpx")
ENDPOINT_KINDS: tuple[str, ...] = ("tgi", "openai")


@dataclass(frozen=True)
class Completion:
    """One completion as hfswim needs it, whatever the server kind.

    Attributes:
        text: the generated text (without the prompt).
        prompt_tokens / completion_tokens: as reported by the server, or estimated (see ``estimated``).
        tokens: the generated tokens as ``(text, logprob)`` pairs, when the server returns log-probs.
        estimated: True when a token count was not reported by the server and was estimated from text.
        finish_reason: "stop", "length", "eos_token", ... as the server says.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    tokens: tuple[tuple[str, float], ...] | None = None
    estimated: bool = False
    finish_reason: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """A discovered LLM endpoint.

    Attributes:
        url: base URL (for TGI the server root; for OpenAI-style servers the root, without ``/v1``).
        kind: "tgi" or "openai".
        model_id: the model the server runs (TGI ``/info``) or the name to send in the ``model`` field.
        max_concurrency: how many requests may be in flight at once (TGI ``max_concurrent_requests``), or None.
        token: bearer token for HF Inference Endpoints; never printed nor written to the manifest.
    """

    url: str
    kind: EndpointKind
    model_id: str | None = None
    max_concurrency: int | None = None
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    token: str | None = field(default=None, repr=False, compare=False)
    basic_auth: str | None = field(default=None, repr=False, compare=False)  # "Basic ..." from user:password@

    def public_info(self) -> dict[str, Any]:
        """What the run manifest records: no token, no credentials in the URL."""
        return {
            "url": redact_url(self.url),
            "kind": self.kind,
            "model_id": self.model_id,
            "max_concurrency": self.max_concurrency,
            "server": {k: self.info[k] for k in ("version", "router", "max_input_tokens", "sha") if k in self.info},
        }


def split_userinfo(url: str) -> tuple[str, str | None]:
    """The URL without ``user:password@`` and the ``Authorization: Basic`` value those credentials make.

    Credentials travel in a header, never in a URL: HTTP libraries log and quote URLs (httpx logs every
    request at INFO; error messages name the URL), headers they do not.

    >>> split_userinfo("http://bob:pw@127.0.0.1:8080")
    ('http://127.0.0.1:8080', 'Basic Ym9iOnB3')
    """
    import base64
    from urllib.parse import unquote

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return redact_url(url), "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


# Where the user's HF token may go: these exact hosts, and proper subdomains of these domains. Matching a bare
# suffix would also match look-alikes such as ``evilhuggingface.co``.
HF_EXACT_HOSTS = frozenset({"huggingface.co", "hf.co"})
HF_DOMAINS = ("huggingface.co", "hf.co", "hf.space", "endpoints.huggingface.cloud")


def is_hf_hosted(url: str) -> bool:
    """True for Hugging Face-hosted URLs (Inference Endpoints, router, Spaces), where the HF token belongs.

    >>> is_hf_hosted("https://abc.us-east-1.aws.endpoints.huggingface.cloud")
    True
    >>> is_hf_hosted("https://router.huggingface.co/v1"), is_hf_hosted("https://my-space.hf.space")
    (True, True)
    >>> is_hf_hosted("http://evilhuggingface.co:8080"), is_hf_hosted("https://huggingface.co.evil.com")
    (False, False)
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:  # an unparsable URL (bad IPv6 literal): not a host the token may go to
        return False
    # A backslash or space in the authority is read differently by different URL parsers: refuse it.
    if not host or any(c in parts.netloc for c in "\\ \t"):
        return False
    return host in HF_EXACT_HOSTS or any(host.endswith("." + domain) for domain in HF_DOMAINS)


def _normalize_base_url(url: str) -> str:
    url = url.rstrip("/")
    for suffix in ("/v1/chat/completions", "/chat/completions", "/v1", "/generate"):
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def resolve_endpoint_url(url_or_name: str, *, namespace: str | None = None, token: str | None = None) -> str:
    """A URL as given, or the URL of a (running) Hugging Face Inference Endpoint of that name.

    Raises:
        EndpointError: when the Inference Endpoint does not exist, is not running, or the Hub is unreachable.
    """
    if url_or_name.startswith(("http://", "https://")):
        try:
            host = urlsplit(url_or_name).hostname
        except ValueError as err:  # e.g. an unclosed IPv6 bracket
            raise EndpointError(f"endpoint {url_or_name!r}: not a valid URL ({err}).") from None
        if not host:
            raise EndpointError(f"endpoint {url_or_name!r}: the URL has no host.")
        return _normalize_base_url(url_or_name)
    if "://" in url_or_name:
        raise EndpointError(
            f"endpoint {url_or_name!r}: only http:// and https:// URLs (or an Inference Endpoint name)."
        )
    import huggingface_hub

    try:
        endpoint = huggingface_hub.get_inference_endpoint(url_or_name, namespace=namespace, token=token)
    except Exception as err:  # HTTP 404, offline mode, no token...: one clear line, no traceback
        raise EndpointError(
            f"Inference Endpoint {url_or_name!r}{f' in namespace {namespace!r}' if namespace else ''}: "
            f"cannot look it up on the Hub ({type(err).__name__}: {redact(str(err).splitlines()[0]) if str(err) else ''}). "
            "Pass a URL (http://...) or check the name, namespace and your HF token."
        ) from None
    if not endpoint.url:
        raise EndpointError(
            f"Inference Endpoint {url_or_name!r} has no URL (status {endpoint.status!r}); "
            "resume it (`huggingface_hub.resume_inference_endpoint`) and wait until it is running."
        )
    return _normalize_base_url(endpoint.url)


def discover_endpoint(
    url_or_name: str,
    *,
    kind: str = "auto",
    model: str | None = None,
    namespace: str | None = None,
    token: str | None = None,
    timeout: float = 10.0,
) -> Endpoint:
    """Find out what an endpoint is: its kind, model and concurrency limit.

    Args:
        url_or_name: ``http(s)://host:port`` or an Inference Endpoint name.
        kind: "auto" (probe ``/info`` then ``/v1/models``), "tgi" or "openai".
        model: the model name to send to OpenAI-style servers; default: what the server reports.
        token: HF token; default: ``huggingface_hub.get_token()`` (HF_TOKEN or the saved login).

    Raises:
        EndpointError: the endpoint cannot be reached or speaks neither API.
    """
    import httpx
    from huggingface_hub import get_token

    if kind not in ("auto", *ENDPOINT_KINDS):
        raise ConfigError(f"endpoint kind {kind!r}: expected auto, tgi or openai.")
    url = resolve_endpoint_url(url_or_name, namespace=namespace, token=token or get_token())
    url, basic_auth = split_userinfo(url)
    # The user's HF token goes to Hugging Face-hosted endpoints only, unless a token is given explicitly:
    # a self-hosted vLLM or TGI server has no business receiving it.
    token = token or (get_token() if is_hf_hosted(url) else None)
    # One connection per probe: some servers reset a kept-alive connection after answering a probe with 500.
    authorization = f"Bearer {token}" if token else basic_auth
    headers = {"Connection": "close", **({"Authorization": authorization} if authorization else {})}
    shown = redact_url(url)
    try:
        with httpx.Client(timeout=timeout, headers=headers, follow_redirects=True) as http:
            if kind in ("auto", "tgi"):
                info = _get_json(http, f"{url}/info")
                if isinstance(info, dict) and "model_id" in info:
                    return Endpoint(
                        url=url,
                        kind="tgi",
                        model_id=info.get("model_id"),
                        max_concurrency=_positive_int(info.get("max_concurrent_requests")),
                        info=info,
                        token=token,
                        basic_auth=basic_auth,
                    )
                if kind == "tgi":
                    raise EndpointError(f"{shown}/info: not a TGI server (no model_id in the answer).")
            models = _get_json(http, f"{url}/v1/models")
            if isinstance(models, dict) and isinstance(models.get("data"), list):
                ids = [m.get("id") for m in models["data"] if isinstance(m, dict) and m.get("id")]
                return Endpoint(
                    url=url,
                    kind="openai",
                    model_id=model or (ids[0] if len(ids) == 1 else None),
                    max_concurrency=None,
                    info={"models": ids[:20]},
                    token=token,
                    basic_auth=basic_auth,
                )
            # Some OpenAI-compatible servers do not list models (transformers serve answers 500 when its
            # cache scan fails); a healthy server is still assumed to speak the Messages API.
            if kind == "openai" or _get_status(http, f"{url}/health") == 200:
                return Endpoint(url=url, kind="openai", model_id=model, token=token, basic_auth=basic_auth)
    except httpx.HTTPError as err:
        raise EndpointError(
            f"Cannot reach the LLM endpoint {shown} ({type(err).__name__}: {redact(err)}). "
            "Is the server running and the URL right?"
        ) from None
    raise EndpointError(
        f"{shown}: neither a TGI server (GET /info) nor an OpenAI-compatible one (GET /v1/models). "
        "Pass --endpoint-kind tgi|openai to skip the probe."
    )


def _get_json(http: Any, url: str) -> Any:
    response = http.get(url)
    if response.status_code in (401, 403):
        raise EndpointError(f"{redact_url(url)}: HTTP {response.status_code}, the endpoint refused the token.")
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, ValueError):
        return None


def _get_status(http: Any, url: str) -> int:
    return int(http.get(url).status_code)


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def estimate_tokens(text: str) -> int:
    """A tokenizer-free token count: ~4 characters per token, at least one per word-like run.

    Used only when a server does not report usage (TGI's native route does not count prompt tokens).
    """
    if not text:
        return 0
    return max(len(text.split()), (len(text.encode("utf-8")) + 3) // 4)


def make_client(
    endpoint: Endpoint, *, timeout: float, max_connections: int, http_backend: str = "aiohttp"
) -> AsyncInferenceClient:
    """An ``AsyncInferenceClient`` bound to the endpoint, with a connection pool sized for the concurrency.

    ``http_backend``: "aiohttp" (default; see :mod:`hfswim.generation.transport`) or "httpx" (httpx2's own).
    """
    return PooledInferenceClient(
        base_url=endpoint.url,
        token=endpoint.token,
        timeout=timeout,
        max_connections=max_connections,
        http_backend=http_backend,
        basic_auth=endpoint.basic_auth,
    )


_NO_TOKEN = "hfswim-no-token"


def _placeholder_hook(replacement: str | None) -> Any:
    async def replace_placeholder_token(request: Any) -> None:
        if request.headers.get("authorization") == f"Bearer {_NO_TOKEN}":
            if replacement:
                request.headers["authorization"] = replacement
            else:
                del request.headers["authorization"]

    return replace_placeholder_token


class PooledInferenceClient(AsyncInferenceClient):
    """``AsyncInferenceClient`` with its own HTTP session, sized for hfswim's concurrency.

    Three reasons not to use huggingface_hub's default async session:

    * its pool holds httpx's default 100 connections; beyond that, requests would queue inside the client,
      invisible to hfswim's backpressure and timeouts;
    * its request hook refuses EVERY request when ``HF_HUB_OFFLINE=1`` (``OfflineModeIsEnabled``), even to
      a TGI or vLLM server on localhost. Offline mode means "do not reach the Hub"; the user's own endpoint
      is not the Hub, so this session keeps the response hook and leaves the offline guard out;
    * its network layer (httpx2 + httpcore2) costs ~1.5 ms of CPU per request; by default requests go through
      :class:`~hfswim.generation.transport.AiohttpSession` instead (aiohttp, same errors, ~0.2 ms).

    The public hook for a custom session (``set_async_client_factory``) is process-global, hence a subclass.
    """

    def __init__(
        self, *args: Any, token: str | None = None, max_connections: int = 100, http_backend: str = "aiohttp",
        basic_auth: str | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        # With token=None, huggingface_hub looks the token up (files, env) on every request and sends it to
        # whatever URL this is. A placeholder avoids both; the session's request hook drops it.
        super().__init__(*args, token=token or _NO_TOKEN, **kwargs)
        if http_backend not in HTTP_BACKENDS:
            raise ConfigError(f"http_backend {http_backend!r}: expected one of {', '.join(HTTP_BACKENDS)}.")
        self._max_connections = max(1, max_connections)
        self._http_backend = http_backend
        self._basic_auth = basic_auth  # sent in place of the placeholder token when there is no token
        # OpenAI-style servers: does the server return log-probs? None = not known yet. transformers serve
        # ignores the field yet generates ~8x slower when it is set, so until the first answer settles it,
        # ONE request asks and the others wait for its answer (see request_completion), instead of the
        # first `concurrency` requests all paying for it.
        self.request_logprobs: bool | None = None
        self._logprobs_known: Any = None  # asyncio.Event, made on first use inside the running loop
        self._helpers: dict[tuple[str, str | None], tuple[Any, Any, Any]] = {}

    def _request_parameters(
        self, task: str, model: str | None, inputs: Any, parameters: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> Any:
        """What ``provider_helper.prepare_request(...)`` returns, with its per-endpoint parts made once.

        huggingface_hub looks the provider helper up, resolves the model mapping and rebuilds the headers
        (user agent included) on every call; for one endpoint only the payload changes. The first call of
        each task goes through ``prepare_request`` itself; later calls reuse its URL and headers and build
        the payload with the same helper.
        """
        from huggingface_hub.inference._providers._common import RequestParameters, filter_none, recursive_merge

        cached = self._helpers.get((task, model))
        if cached is None:
            from huggingface_hub.inference._providers import get_provider_helper

            helper = get_provider_helper(self.provider, task=task, model=model)
            first = helper.prepare_request(
                inputs=inputs, parameters=parameters, extra_payload=extra, headers=self.headers, model=model,
                api_key=self.token,
            )  # fmt: skip
            self._helpers[(task, model)] = (helper, helper._prepare_mapping_info(model), first)
            return first
        helper, mapping, first = cached
        payload = helper._prepare_payload_as_dict(inputs, parameters, provider_mapping_info=mapping)
        if extra:
            payload = recursive_merge(payload, filter_none(extra))
        return RequestParameters(
            url=first.url, task=first.task, model=first.model, json=payload, data=None, headers=dict(first.headers)
        )

    async def text_generation_dict(self, prompt: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """``text_generation(prompt, details=True, ...)`` answered as TGI's JSON dict.

        The same request path as :meth:`text_generation` (provider helper, headers, this session, typed TGI
        errors), minus two costs that dominate at high request rates: one ``TextGenerationOutputToken``
        dataclass per generated token (each validated through ``dataclasses.asdict``) and a thread hop per
        call for the provider's response hook, which for a TGI URL returns the dict unchanged.
        """
        from huggingface_hub.errors import HfHubHTTPError
        from huggingface_hub.inference._common import raise_text_generation_error

        request = self._request_parameters("text-generation", self.model, prompt, parameters, {"stream": False})
        try:
            content = await self._inner_post(request, stream=False)
        except HfHubHTTPError as err:
            raise_text_generation_error(err)
        data = _loads(content)
        return data[0] if isinstance(data, list) and data else data

    async def chat_completion_dict(self, messages: list[dict[str, Any]], parameters: dict[str, Any]) -> dict[str, Any]:
        """``chat_completion(messages, ...)`` answered as the server's JSON dict (no output dataclasses)."""
        model_or_url = self.model or parameters.get("model")
        request = self._request_parameters("conversational", model_or_url, messages, parameters)
        return _loads(await self._inner_post(request, stream=False))

    async def _get_async_client(self):  # type: ignore[override]
        if self._async_client is None:
            if self._http_backend == "aiohttp":
                from hfswim.generation.transport import AiohttpSession

                session = AiohttpSession(
                    self._max_connections, drop_authorization=f"Bearer {_NO_TOKEN}", replace_with=self._basic_auth
                )
            else:
                import httpx2
                from huggingface_hub.utils._http import async_hf_response_event_hook

                limit = self._max_connections
                transport = httpx2.AsyncHTTPTransport(
                    limits=httpx2.Limits(max_connections=limit, max_keepalive_connections=limit)
                )
                session = httpx2.AsyncClient(
                    event_hooks={
                        "request": [_placeholder_hook(self._basic_auth)],
                        "response": [async_hf_response_event_hook],
                    },
                    follow_redirects=True,
                    timeout=None,
                    transport=transport,
                )
            self._async_client = await self.exit_stack.enter_async_context(session)
        return self._async_client


async def request_completion(
    client: AsyncInferenceClient,
    endpoint: Endpoint,
    prompt: str,
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float | None,
    seed: int | None,
    stop: list[str],
) -> Completion:
    """Ask the endpoint for one completion of ``prompt``; errors propagate for the retry layer to classify."""
    if not isinstance(client, PooledInferenceClient):  # any other AsyncInferenceClient: its typed outputs
        return await _request_completion_typed(
            client, endpoint, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
            seed=seed, stop=stop,
        )  # fmt: skip
    if endpoint.kind == "tgi":
        sampling = temperature > 0
        out = await client.text_generation_dict(
            prompt,
            {
                "details": True,
                "decoder_input_details": False,
                "return_full_text": False,
                "max_new_tokens": max_new_tokens,
                "stop": stop or None,
                "do_sample": sampling,
                # TGI rejects temperature=0: greedy is do_sample=False
                "temperature": temperature if sampling else None,
                "top_p": top_p if sampling else None,
                "seed": seed,
            },
        )
        if not isinstance(out, dict) or not isinstance(out.get("generated_text"), str):
            raise BadResponseError(f"TGI answered without details: {str(out)[:200]!r}")
        details = out.get("details")
        tokens = details.get("tokens") if isinstance(details, dict) else None
        if tokens is None:
            raise BadResponseError("TGI answered without token details (is this a TGI server?)")
        finish = details.get("finish_reason")
        return Completion(
            text=_strip_stop(out["generated_text"], stop),
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
        )
    if client.request_logprobs is None and client._logprobs_known is not None:
        await client._logprobs_known.wait()  # another request is finding out whether log-probs come back
    if client.request_logprobs is None and client._logprobs_known is None:
        import asyncio

        client._logprobs_known = asyncio.Event()
        try:
            return await _chat_completion(client, endpoint, prompt, max_new_tokens, temperature, top_p, seed, stop)
        finally:
            client._logprobs_known.set()  # settled, or this request failed: the next answer settles it
    return await _chat_completion(client, endpoint, prompt, max_new_tokens, temperature, top_p, seed, stop)


async def _chat_completion(
    client: PooledInferenceClient,
    endpoint: Endpoint,
    prompt: str,
    max_new_tokens: int,
    temperature: float,
    top_p: float | None,
    seed: int | None,
    stop: list[str],
) -> Completion:
    asked_logprobs = client.request_logprobs is not False
    parameters = {
        "model": endpoint.model_id,
        "logprobs": True if asked_logprobs else None,
        "max_tokens": max_new_tokens,
        "stop": stop or None,
        "temperature": temperature,
        "top_p": top_p,
        "seed": seed,
        "stream": False,
    }
    out = await client.chat_completion_dict([{"role": "user", "content": prompt}], parameters)
    choices = out.get("choices") if isinstance(out, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise BadResponseError(f"the server answered without choices: {str(out)[:200]!r}")
    choice = choices[0]
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str):
        raise BadResponseError(f"the server answered without message content: {str(choice)[:200]!r}")
    text = _strip_stop(text, stop)
    tokens = None
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if content:
        tokens = tuple((str(t["token"]), float(t["logprob"])) for t in content if t.get("logprob") is not None)
        client.request_logprobs = True
    elif asked_logprobs and text:
        client.request_logprobs = False  # the server ignored the field: stop paying for it
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
    )


def _loads(content: bytes) -> Any:
    return _json_loads(content)


try:  # orjson parses a TGI answer with 100 tokens ~5x faster than json
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - orjson is a dependency of gradio and usually present
    _json_loads = json.loads


async def _request_completion_typed(
    client: AsyncInferenceClient,
    endpoint: Endpoint,
    prompt: str,
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float | None,
    seed: int | None,
    stop: list[str],
) -> Completion:
    """The same request through the public typed methods, for a plain ``AsyncInferenceClient``."""
    if endpoint.kind == "tgi":
        sampling = temperature > 0
        out = await client.text_generation(
            prompt, details=True, decoder_input_details=False, return_full_text=False,
            max_new_tokens=max_new_tokens, stop=stop or None, do_sample=sampling,
            temperature=temperature if sampling else None, top_p=top_p if sampling else None, seed=seed,
        )  # fmt: skip
        if not hasattr(out, "generated_text") or out.details is None or out.details.tokens is None:
            raise BadResponseError(f"TGI answered without details: {str(out)[:200]!r}")
        tokens = out.details.tokens
        return Completion(
            text=_strip_stop(out.generated_text, stop),
            prompt_tokens=estimate_tokens(prompt),
            completion_tokens=int(out.details.generated_tokens),
            tokens=tuple((t.text, float(t.logprob)) for t in tokens if not t.special and t.logprob is not None),
            estimated=True,
            finish_reason=str(out.details.finish_reason) if out.details.finish_reason is not None else None,
        )
    out = await client.chat_completion(
        messages=[{"role": "user", "content": prompt}], model=endpoint.model_id, logprobs=True,
        max_tokens=max_new_tokens, stop=stop or None, temperature=temperature, top_p=top_p, seed=seed,
    )  # fmt: skip
    choices = getattr(out, "choices", None)
    if not choices or not isinstance(getattr(getattr(choices[0], "message", None), "content", None), str):
        raise BadResponseError(f"the server answered without choices or content: {str(out)[:200]!r}")
    choice = choices[0]
    text = _strip_stop(choice.message.content, stop)
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    tokens = tuple((str(t.token), float(t.logprob)) for t in content if t.logprob is not None) if content else None
    usage = getattr(out, "usage", None)
    if usage is not None and usage.prompt_tokens is not None and usage.completion_tokens is not None:
        prompt_tokens, completion_tokens, estimated = int(usage.prompt_tokens), int(usage.completion_tokens), False
    else:
        prompt_tokens, completion_tokens, estimated = estimate_tokens(prompt), estimate_tokens(text), True
    return Completion(
        text=text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, tokens=tokens,
        estimated=estimated, finish_reason=getattr(choice, "finish_reason", None),
    )  # fmt: skip


class BadResponseError(ValueError):
    """The server answered 200 with something that is not a completion."""


def _strip_stop(text: str, stop: list[str]) -> str:
    """Cut at the first stop sequence: TGI and some servers return it at the end of the text, others do not."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def mean_logprob_of_span(tokens: tuple[tuple[str, float], ...] | None, needle: str | None) -> tuple[float | None, int]:
    """Mean log-prob of the generated tokens that spell ``needle`` (the query), and how many there are.

    Tokens are aligned by character offsets on their concatenated text, so a one-step completion
    ("summary ... Query (Swahili): swali?") scores only the query's tokens.

    >>> mean_logprob_of_span((("Q", -9.0), (": ", -9.0), ("wapi", -1.0), ("?", -3.0)), "wapi?")
    (-2.0, 2)
    """
    if not tokens or not needle:
        return None, 0
    text = "".join(t for t, _ in tokens)
    start = text.rfind(needle)
    if start == -1:
        start = text.rfind(needle.strip())
        if start == -1:
            return None, 0
        needle = needle.strip()
    end = start + len(needle)
    picked, offset = [], 0
    for piece, logprob in tokens:
        piece_end = offset + len(piece)
        if piece_end > start and offset < end:
            picked.append(logprob)
        offset = piece_end
    if not picked:
        return None, 0
    return sum(picked) / len(picked), len(picked)
