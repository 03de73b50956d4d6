"""aiohttp under ``AsyncInferenceClient``: the same client, a faster HTTP engine.

Two ways in, both keeping huggingface_hub's request building, ``hf_raise_for_status`` and typed errors:

* :class:`AiohttpSession` (what hfswim uses): stands in for the ``httpx2.AsyncClient`` that
  ``AsyncInferenceClient._inner_post`` calls ``.post(...)`` on, and hands back a real ``httpx2.Response``. It
  skips httpx2's request building, cookie jar, auth and redirect machinery (~0.3 ms of CPU per request at
  high rates) and raises the same httpx2 exceptions for timeouts and network errors;
* :class:`AiohttpTransport`: an ``httpx2`` transport, for callers that need a full ``httpx2.AsyncClient``.

Profiling ``hfswim generate`` against a zero-latency server showed the client spending most of its CPU in
httpx2/httpcore2's connection pool (per-request scans of every pooled connection, anyio socket
bookkeeping): ~1.3 ms of CPU per request, against ~0.2 ms for aiohttp. huggingface_hub builds requests,
raises typed errors and parses outputs on top of ``httpx2.AsyncClient``, and httpx's documented extension
point for a different network layer is a transport. This one sends each ``httpx2.Request`` with an
``aiohttp.ClientSession`` and hands back an ``httpx2.Response``, translating aiohttp's errors into the
httpx2 exceptions huggingface_hub (and hfswim's retry layer) already understand.

Example::

    import httpx2
    client = httpx2.AsyncClient(transport=AiohttpTransport(max_connections=64))
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2

# Headers aiohttp computes itself (sending httpx's copies would duplicate them).
_HOP_BY_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive"})
# aiohttp decompresses bodies; the response handed to httpx2 must not claim an encoding any more.
_DECODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _proxy_configured() -> bool:
    import os

    return any(
        os.environ.get(name)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    )


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """``httpx2.AsyncBaseTransport`` over one ``aiohttp.ClientSession`` (non-streaming requests).

    Args:
        max_connections: connection pool size (aiohttp's ``TCPConnector(limit=...)``).
    """

    def __init__(self, max_connections: int = 100):
        self.max_connections = max(1, max_connections)
        self._session: Any = None

    def _get_session(self) -> Any:
        if self._session is None or self._session.closed:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self.max_connections, ttl_dns_cache=300)
            # trust_env makes aiohttp look proxies up in a thread on every request: only pay for it when
            # the environment names a proxy.
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, trust_env=_proxy_configured()
            )
        return self._session

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        import aiohttp

        session = self._get_session()
        timeouts = request.extensions.get("timeout") or {}
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        body = await request.aread()
        try:
            async with session.request(
                request.method, str(request.url), headers=headers, data=body or None, timeout=timeout,
                allow_redirects=False,
            ) as response:  # fmt: skip
                content = await response.read()
                status = response.status
                raw_headers = [(k, v) for k, v in response.raw_headers if k.decode("latin-1").lower() not in _DECODED]
        except asyncio.TimeoutError as err:  # aiohttp raises asyncio's TimeoutError (ServerTimeoutError)
            if isinstance(err, aiohttp.ServerTimeoutError) and "connect" in str(err).lower():
                raise httpx2.ConnectTimeout(str(err) or "connect timeout", request=request) from err
            raise httpx2.ReadTimeout(str(err) or "read timeout", request=request) from err
        except aiohttp.ClientConnectorError as err:
            raise httpx2.ConnectError(str(err), request=request) from err
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as err:
            raise httpx2.RemoteProtocolError(str(err) or type(err).__name__, request=request) from err
        except aiohttp.ClientError as err:  # ClientOSError (resets), invalid URLs, ...
            raise httpx2.ReadError(str(err) or type(err).__name__, request=request) from err
        return httpx2.Response(status, headers=raw_headers, content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _translate_errors(err: BaseException, request: httpx2.Request) -> BaseException:
    """The httpx2 exception huggingface_hub (and hfswim's retry layer) expect for an aiohttp error."""
    import aiohttp

    if isinstance(err, asyncio.TimeoutError):  # aiohttp raises asyncio's TimeoutError (ServerTimeoutError)
        if isinstance(err, aiohttp.ServerTimeoutError) and "connect" in str(err).lower():
            return httpx2.ConnectTimeout(str(err) or "connect timeout", request=request)
        return httpx2.ReadTimeout(str(err) or "read timeout", request=request)
    if isinstance(err, aiohttp.ClientConnectorError):
        return httpx2.ConnectError(str(err), request=request)
    if isinstance(err, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx2.RemoteProtocolError(str(err) or type(err).__name__, request=request)
    return httpx2.ReadError(str(err) or type(err).__name__, request=request)  # resets, invalid URLs, ...


class AiohttpSession:
    """The ``post`` of an ``httpx2.AsyncClient`` over one ``aiohttp.ClientSession`` (non-streaming).

    Args:
        max_connections: connection pool size (aiohttp's ``TCPConnector(limit=...)``).
        drop_authorization: an ``Authorization`` header value never to send (hfswim's no-token placeholder).
        replace_with: what to send instead of it (``Basic ...`` for a URL's ``user:password@``), if anything.
    """

    def __init__(
        self, max_connections: int = 100, drop_authorization: str | None = None, replace_with: str | None = None
    ):
        self._replace_with = replace_with
        self._transport = AiohttpTransport(max_connections)
        self._drop_authorization = drop_authorization
        self._requests: dict[str, httpx2.Request] = {}  # per URL: the request object errors point to
        self._timeouts: dict[Any, Any] = {}

    async def __aenter__(self) -> AiohttpSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _timeout(self, timeout: Any) -> Any:
        found = self._timeouts.get(timeout)
        if found is None:
            import aiohttp

            # httpx semantics of a float (the same limit for connecting and each read), plus a bound on the
            # whole request: a server trickling a byte a second never trips a per-read timeout.
            found = self._timeouts[timeout] = aiohttp.ClientTimeout(
                total=timeout, connect=timeout, sock_connect=timeout, sock_read=timeout
            )
        return found

    async def post(
        self, url: str, *, json: Any = None, data: Any = None, headers: Any = None, cookies: Any = None,
        timeout: Any = None,
    ) -> httpx2.Response:  # fmt: skip
        """POST and read the whole answer; HTTP errors are left to ``hf_raise_for_status`` as with httpx2."""
        import aiohttp

        if cookies:  # rare; httpx2's cookie handling is the reference
            raise NotImplementedError("AiohttpSession does not send cookies; use http_backend='httpx'.")
        request = self._requests.get(url)
        if request is None:
            request = self._requests[url] = httpx2.Request("POST", url)
        send_headers = {k: v for k, v in (headers or {}).items() if k.lower() not in _HOP_BY_HOP}
        if self._drop_authorization is not None:
            for name in [k for k, v in send_headers.items() if k.lower() == "authorization"]:
                if send_headers[name] == self._drop_authorization:
                    del send_headers[name]
                    if self._replace_with:
                        send_headers["authorization"] = self._replace_with
        if json is not None:
            data = _dumps(json)
            send_headers["content-type"] = "application/json"
        session = self._transport._get_session()
        try:
            async with session.post(url, data=data, headers=send_headers, timeout=self._timeout(timeout)) as response:
                content = await response.read()
                status = response.status
                raw_headers = [(k, v) for k, v in response.raw_headers if k.decode("latin-1").lower() not in _DECODED]
        except (asyncio.TimeoutError, aiohttp.ClientError) as err:
            raise _translate_errors(err, request) from err
        return httpx2.Response(status, headers=raw_headers, content=content, request=request)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _dumps(obj: Any) -> bytes:
    try:
        import orjson
    except ImportError:  # pragma: no cover
        import json

        return json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return orjson.dumps(obj)
