"""Hugging Face Inference Providers and hosted OpenAI-compatible APIs as hfswim endpoints.

* **Inference Providers** (``--provider NAME|auto --model ORG/MODEL``): requests go to the Hugging Face router's
  OpenAI-compatible route, ``https://router.huggingface.co/v1/chat/completions`` (the base URL is
  ``huggingface_hub.constants.INFERENCE_PROXY_TEMPLATE`` without its provider part), with the user's HF token
  (``huggingface_hub.get_token()``) and ``model="ORG/MODEL"`` (``auto``: the router picks the provider by the
  user's preference order, as ``InferenceClient(provider="auto")`` does) or ``model="ORG/MODEL:PROVIDER"``
  (that provider). Before the run, the model's provider mapping is read with the public
  ``HfApi.model_info(expand=["inferenceProviderMapping"])``: a provider that does not serve the model for chat
  fails at once, naming those that do; when the Hub cannot be asked, the router's answer decides.
* **Hosted OpenAI-compatible APIs** (``--endpoint URL --api-key-env VAR --model NAME``): the key is read from
  the environment variable ``VAR`` and sent as ``Authorization: Bearer`` to that URL's host only; it is
  registered with :mod:`hfswim.redact`, so no message, manifest or failure line can show it.

Example::

    >>> router_base_url()
    'https://router.huggingface.co'
    >>> ep = provider_endpoint("Qwen/Qwen3-8B", "novita", token="hf_x", check_mapping=False)
    >>> ep.url, ep.request_model, ep.chat_path
    ('https://router.huggingface.co', 'Qwen/Qwen3-8B:novita', '/v1/chat/completions')
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from hfswim.errors import ConfigError
from hfswim.generation.endpoints import Endpoint, is_hf_hosted
from hfswim.redact import redact, redact_url, register_secret

logger = logging.getLogger("hfswim")

# Hub model ids: "org/name" (the router also accepts a bare name for a few canonical models).
_MODEL_ID = re.compile(r"[\w.\-]+(/[\w.\-]+)?")
# Routing policies the router takes in place of a provider name.
ROUTING_POLICIES = ("auto", "fastest", "cheapest")


def router_base_url() -> str:
    """The Inference Providers router, from huggingface_hub's public constants (``https://router.huggingface.co``)."""
    from huggingface_hub import constants

    return constants.INFERENCE_PROXY_TEMPLATE.format(provider="").rstrip("/")


def provider_endpoint(
    model: str | None,
    provider: str,
    *,
    token: str | None = None,
    router_url: str | None = None,
    structured_output: str = "auto",
    check_mapping: bool = True,
) -> Endpoint:
    """The endpoint of ``model`` served through Inference Providers (``provider``: a name, or auto/fastest/cheapest).

    Raises:
        ConfigError: no model, no HF token, a router URL outside Hugging Face, or a provider that (per the Hub's
            provider mapping) does not serve the model for chat completion.
    """
    from huggingface_hub import get_token

    if not model or not _MODEL_ID.fullmatch(model):
        raise ConfigError(f"--provider {provider}: pass --model ORG/MODEL, a Hub model id (got {model!r}).")
    if not re.fullmatch(r"[a-z0-9][a-z0-9\-]*", provider):
        raise ConfigError(f"--provider {provider!r}: a provider name (e.g. together, novita, groq) or auto.")
    router = (router_url or router_base_url()).rstrip("/")
    if router.endswith("/v1"):
        router = router[:-3]
    if not is_hf_hosted(router):
        raise ConfigError(
            f"Inference Providers router {redact_url(router)}: not a Hugging Face host; the HF token goes to "
            "Hugging Face hosts only."
        )
    token = token or get_token()
    if not token:
        raise ConfigError(
            "Inference Providers need a Hugging Face token: set HF_TOKEN or run `hf auth login` "
            "(a fine-grained token needs the 'Make calls to Inference Providers' permission)."
        )
    register_secret(token)
    mapping = _provider_mapping(model, provider, token) if check_mapping else None
    return Endpoint(
        url=router,
        kind="openai",
        model_id=model,
        provider=provider,
        token=token,
        structured_output=structured_output == "json",
        info={"provider_mapping": mapping},
    )


def _provider_mapping(model: str, provider: str, token: str) -> list[dict[str, Any]] | None:
    """The model's chat providers from the Hub, checked against ``provider``; None when the Hub cannot be asked."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        info = HfApi().model_info(model, expand=["inferenceProviderMapping"], token=token)
    except RepositoryNotFoundError:
        raise ConfigError(f"--model {model}: no such model on the Hub (or it is private to another account).") from None
    except Exception as err:  # offline, Hub down: the router will say what it serves
        logger.warning(
            "%s",
            redact(f"hfswim: warning: cannot read the provider mapping of {model} from the Hub "
                   f"({type(err).__name__}); sending requests to the router all the same."),
        )  # fmt: skip
        return None
    mapping = [
        {"provider": m.provider, "provider_id": m.provider_id, "status": m.status, "task": m.task}
        for m in (getattr(info, "inference_provider_mapping", None) or [])
    ]
    chat = [m for m in mapping if m["task"] == "conversational" and m["status"] != "error"]
    if not chat:
        raise ConfigError(
            f"--model {model}: no Inference Provider serves it for chat completion"
            f"{' (providers: ' + ', '.join(sorted({m['provider'] for m in mapping})) + ')' if mapping else ''}; "
            "pick a model with providers on https://huggingface.co/models?inference_provider=all."
        )
    if provider not in ROUTING_POLICIES and provider not in {m["provider"] for m in chat}:
        raise ConfigError(
            f"--provider {provider}: does not serve {model} for chat completion; providers that do: "
            f"{', '.join(sorted({m['provider'] for m in chat}))} (or --provider auto)."
        )
    return mapping


def api_key_from_env(variable: str) -> str:
    """The API key held by environment variable ``variable``, registered as a secret (never shown or written).

    Raises:
        ConfigError: the variable is unset or empty (the message names the variable, never a value).
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable or ""):
        raise ConfigError(f"--api-key-env {variable!r}: the NAME of an environment variable (e.g. OPENAI_API_KEY).")
    key = os.environ.get(variable, "").strip()
    if not key:
        raise ConfigError(f"--api-key-env {variable}: the environment variable {variable} is not set or empty.")
    register_secret(key)
    return key


def check_key_hosts(endpoints: list[str]) -> None:
    """An API key goes to endpoint URLs only: an Inference Endpoint NAME would send it to the Hub to look it up.

    Raises:
        ConfigError: an endpoint is not an http(s) URL.
    """
    for name in endpoints:
        if not name.startswith(("http://", "https://")):
            raise ConfigError(
                f"--api-key-env: endpoint {name!r} is not a URL; an API key is sent to the URLs given with "
                "--endpoint only (use the HF token for Inference Endpoints)."
            )


__all__ = ["api_key_from_env", "check_key_hosts", "provider_endpoint", "router_base_url"]
