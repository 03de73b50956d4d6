"""One redaction helper for everything hfswim writes: files, log lines, progress and error messages.

Endpoint URLs may carry ``user:password@``; HTTP libraries quote the URL (and sometimes headers) in their
error messages, which then travel into ``failures.jsonl``, warnings and one-line CLI errors. Every string
that leaves the process through hfswim goes through :func:`redact` first, which removes:

* userinfo in URLs (``scheme://user:secret@host`` becomes ``scheme://host``);
* bearer/basic credentials (``Authorization: Bearer ...``, ``Bearer ...``, ``Basic ...``);
* Hugging Face tokens (``hf_...``) and OpenAI-style keys (``sk-...``);
* ``api_key=...`` / ``token=...`` / ``password=...`` query or key-value pairs;
* any extra secret registered with :func:`register_secret` (the token in use, a URL's password), wherever
  it appears, even outside a recognisable pattern.

Example::

    >>> redact("ConnectError for url http://bob:hunter2@10.0.0.5:8080/generate")
    'ConnectError for url http://10.0.0.5:8080/generate'
    >>> redact("headers {'Authorization': 'Bearer hf_AbCdEfGhIjKlMnOpQrStUv'}")
    "headers {'Authorization': 'Bearer ***'}"
    >>> redact_url("https://user:secret@host.example/v1")
    'https://host.example/v1'
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"

# scheme://userinfo@ : userinfo is everything up to the last "@" before the host part ends.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s@'\"<>]*@)")
_AUTH_SCHEME = re.compile(r"\b(?P<scheme>[Bb]earer|Basic)(?P<sep>\s+)(?P<secret>[A-Za-z0-9._~+/=:-]{8,})")
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{8,}\b")
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{12,}\b")
_KEY_VALUE = re.compile(
    r"(?i)(?P<key>\b(?:api[_-]?key|access[_-]?token|hf[_-]?token|token|password|passwd|secret)\b"
    r"[\"']?\s*[=:]\s*[\"']?)(?P<secret>[^\s\"'&,;}]{4,})"
)

_extra: set[str] = set()
_extra_lock = threading.Lock()


def register_secret(secret: str | None) -> None:
    """Also mask this exact string wherever it appears (a token in use, a URL's password); ignores short ones."""
    if secret and len(secret) >= 4:
        with _extra_lock:
            _extra.add(secret)


def register_url_secrets(url: str) -> None:
    """Register the password (and user name) of a URL's userinfo, raw and percent-decoded."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    for value in (parts.password, parts.username):
        if value:
            register_secret(value)
            register_secret(unquote(value))


def redact(text: Any) -> str:
    """``text`` (any object, via ``str``) with credentials removed; see the module docstring."""
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    s = _URL_USERINFO.sub(lambda m: m.group("scheme"), s)
    s = _AUTH_SCHEME.sub(lambda m: f"{m.group('scheme')}{m.group('sep')}{MASK}", s)
    s = _HF_TOKEN.sub(MASK, s)
    s = _OPENAI_KEY.sub(MASK, s)
    s = _KEY_VALUE.sub(lambda m: f"{m.group('key')}{MASK}", s)
    if _extra:
        with _extra_lock:
            secrets = sorted(_extra, key=len, reverse=True)
        for secret in secrets:
            if secret in s:
                s = s.replace(secret, MASK)
    return s


def redact_url(url: str) -> str:
    """The URL without ``user:password@``, for logs and manifests."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if ":" in netloc:  # an IPv6 literal
            netloc = f"[{netloc}]"
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return redact(urlunsplit(parts))


def redact_obj(obj: Any) -> Any:
    """A JSON-like object with every string redacted (keys kept): for lines written to JSONL files."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj
