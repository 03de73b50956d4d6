"""LLM endpoints: what they are and how to find out (the requests themselves: :mod:`hfswim.generation.client`).

hfswim speaks to two kinds of server:

* ``tgi`` — Text Generation Inference's native ``/generate`` route (``details=True``), which returns every
  generated token with its log-prob;
* ``openai`` — the OpenAI-compatible Messages API (``/v1/chat/completions``) served by TGI, vLLM, SGLang,
  llama.cpp, ``transformers serve``, hosted APIs and Hugging Face Inference Providers. The prompt travels as a
  single user message; servers whose chat template passes it through verbatim (hfswim's embedded server
  does) see the raw completion prompt.

An endpoint is a URL or the name of a Hugging Face Inference Endpoint (or, with ``provider=``, the Inference
Providers router: :func:`provider_endpoint`). With ``kind="auto"``,
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
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from hfswim.errors import ConfigError, EndpointError
from hfswim.redact import redact, redact_url

EndpointKind = Literal["tgi", "openai"]
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
    structured: bool = False  # asked for a JSON object (TGI grammar / OpenAI response_format)


@dataclass(frozen=True)
class Endpoint:
    """A discovered LLM endpoint.

    Attributes:
        url: base URL (for TGI the server root; for OpenAI-style servers the root, without ``/v1``).
        kind: "tgi" or "openai".
        model_id: the model the server runs (TGI ``/info``) or the name to send in the ``model`` field.
        max_concurrency: how many requests may be in flight at once (TGI ``max_concurrent_requests``), or None.
        token: bearer token (HF token for Hugging Face hosts, or a hosted API's key); never printed nor written.
        provider: Inference Providers only: "auto" or the provider's name (sent as ``model:provider``).
        structured_output: the server constrains answers to a JSON schema (TGI ``grammar``, OpenAI
            ``response_format``), so the engine asks for JSON.
    """

    url: str
    kind: EndpointKind
    model_id: str | None = None
    max_concurrency: int | None = None
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    token: str | None = field(default=None, repr=False, compare=False)
    basic_auth: str | None = field(default=None, repr=False, compare=False)  # "Basic ..." from user:password@
    provider: str | None = None
    structured_output: bool = False
    api_prefix: str = "/v1"  # "" when the URL already holds the API version (".../v1beta/openai")

    @property
    def chat_path(self) -> str:
        return f"{self.api_prefix}/chat/completions"

    @property
    def public_url(self) -> str:
        return redact_url(self.url)

    @property
    def request_model(self) -> str | None:
        """The ``model`` field of a Messages API request: ``org/model:provider`` for a named provider."""
        if self.provider and self.provider != "auto" and self.model_id:
            return f"{self.model_id}:{self.provider}"
        return self.model_id

    def authorization(self) -> str | None:
        """The ``Authorization`` header value for this endpoint's URL (and no other), if any."""
        return f"Bearer {self.token}" if self.token else self.basic_auth

    def public_info(self) -> dict[str, Any]:
        """What the run manifest records: no token, no credentials in the URL."""
        info = {
            "url": redact_url(self.url),
            "kind": self.kind,
            "model_id": self.model_id,
            "max_concurrency": self.max_concurrency,
            "structured_output": self.structured_output,
            "server": {k: self.info[k] for k in ("version", "router", "max_input_tokens", "sha") if k in self.info},
        }
        if self.provider:
            info["provider"] = self.provider
            info["provider_mapping"] = self.info.get("provider_mapping")
        return info


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
            url = url[: -len(suffix)]
            break
    return url[:-3] if url.endswith("/v1") else url


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
    structured_output: str = "auto",
) -> Endpoint:
    """Find out what an endpoint is: its kind, model and concurrency limit.

    Args:
        url_or_name: ``http(s)://host:port`` or an Inference Endpoint name.
        kind: "auto" (probe ``/info`` then ``/v1/models``), "tgi" or "openai".
        model: the model name to send to OpenAI-style servers; default: what the server reports.
        token: the bearer token for this endpoint (an HF token, or a hosted API's key); default: the HF token
            (``huggingface_hub.get_token()``) for Hugging Face-hosted URLs, none for any other host.
        structured_output: "auto" (JSON for TGI >= 1.4.3, whose ``grammar`` is known; text otherwise), "json"
            (ask every server for JSON; one that rejects the field falls back to text) or "text".

    Raises:
        EndpointError: the endpoint cannot be reached or speaks neither API.
    """
    import httpx
    from huggingface_hub import get_token

    if kind not in ("auto", *ENDPOINT_KINDS):
        raise ConfigError(f"endpoint kind {kind!r}: expected auto, tgi or openai.")
    if structured_output not in STRUCTURED_OUTPUT_MODES:
        raise ConfigError(f"structured output {structured_output!r}: expected auto, json or text.")
    url = resolve_endpoint_url(url_or_name, namespace=namespace, token=token or get_token())
    url, basic_auth = split_userinfo(url)
    prefix = api_prefix(url)
    json_everywhere = structured_output == "json"
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
                        structured_output=json_everywhere
                        or (structured_output == "auto" and tgi_has_grammar(info.get("version"))),
                    )
                if kind == "tgi":
                    raise EndpointError(f"{shown}/info: not a TGI server (no model_id in the answer).")
            models = _get_json(http, f"{url}{prefix}/models")
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
                    structured_output=json_everywhere,
                    api_prefix=prefix,
                )
            # Some OpenAI-compatible servers do not list models (transformers serve answers 500 when its
            # cache scan fails); a healthy server is still assumed to speak the Messages API.
            if kind == "openai" or _get_status(http, f"{url}/health") == 200:
                return Endpoint(
                    url=url, kind="openai", model_id=model, token=token, basic_auth=basic_auth,
                    structured_output=json_everywhere, api_prefix=prefix,
                )  # fmt: skip
    except httpx.HTTPError as err:
        raise EndpointError(
            f"Cannot reach the LLM endpoint {shown} ({type(err).__name__}: {redact(err)}). "
            "Is the server running and the URL right?"
        ) from None
    raise EndpointError(
        f"{shown}: neither a TGI server (GET /info) nor an OpenAI-compatible one (GET /v1/models). "
        "Pass --endpoint-kind tgi|openai to skip the probe."
    )


STRUCTURED_OUTPUT_MODES = ("auto", "json", "text")


def api_prefix(url: str) -> str:
    """Where the OpenAI-style routes live under ``url``: ``/v1`` below a server root, nothing more when the URL
    already ends in a version (hosted APIs such as ``https://generativelanguage.googleapis.com/v1beta/openai``).

    >>> api_prefix("http://127.0.0.1:8000"), api_prefix("https://host.example/v1beta/openai")
    ('/v1', '')
    """
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if segments and (re.fullmatch(r"v\d+[a-z0-9]*", segments[-1]) or segments[-1] == "openai"):
        return ""
    return "/v1"


def tgi_has_grammar(version: Any) -> bool:
    """TGI constrains generation to a JSON schema (``parameters.grammar``) since 1.4.3.

    >>> tgi_has_grammar("2.4.1"), tgi_has_grammar("1.4.0"), tgi_has_grammar(None)
    (True, False, False)
    """
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", str(version or ""))
    return bool(match) and tuple(int(g) for g in match.groups()) >= (1, 4, 3)


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
    data = text.encode("utf-8")
    by_bytes = (len(data) + 3) // 4
    # Splitting a 3 KB prompt into words costs ~10 us; skip it when even an upper bound on the word count cannot
    # beat the byte estimate. Words <= separators + 1, and every whitespace character str.split() splits on
    # encodes to one byte of _SEPARATOR_BYTES (ASCII whitespace, or the lead byte of a wider one).
    if len(data) - len(data.translate(None, _SEPARATOR_BYTES)) < by_bytes:
        return by_bytes
    return max(len(text.split()), by_bytes)


# ASCII whitespace and the UTF-8 lead bytes of U+0085/U+00A0 (C2), U+1680 (E1), U+2000-U+205F (E2), U+3000 (E3):
# the first byte of every character for which str.isspace() is true (tests/test_generation_client.py checks all).
_SEPARATOR_BYTES = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \xc2\xe1\xe2\xe3"


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
