"""``hfswim generate``: the async SAP generation engine.

One client (:class:`~hfswim.generation.client.LLMClient`, aiohttp) drives TGI endpoints (native ``/generate`` with
token log-probs) and OpenAI-compatible servers, with backpressure, retries, an overload pause, durable
per-record output that resumes after SIGKILL, summary reuse across languages, sharded client jobs,
token accounting and a run manifest. With no endpoint, an embedded Gemma 3 270M is served locally.

Example::

    from hfswim.generation import GenerateConfig, generate
    result = generate(GenerateConfig(passages="passages.parquet", output_dir="runs/gen", languages="sw,yo"))
    print(result.accepted, result.manifest["tokens"]["total"])
"""

from hfswim.corpus.reading import read_passages
from hfswim.generation.backpressure import EndpointPool, OverloadGate, RequestFailed, RetryPolicy, classify_error
from hfswim.generation.client import LLMClient
from hfswim.generation.config import GenerateConfig, load_config
from hfswim.generation.embedded import EmbeddedServer, embedded_model_path
from hfswim.generation.endpoints import Completion, Endpoint, discover_endpoint
from hfswim.generation.engine import GenerationEngine, passage_shard
from hfswim.generation.rundir import merge_shards
from hfswim.generation.runner import GenerationResult, agenerate, generate
from hfswim.generation.store import RecordStore

__all__ = [
    "Completion",
    "EmbeddedServer",
    "Endpoint",
    "EndpointPool",
    "GenerateConfig",
    "GenerationEngine",
    "GenerationResult",
    "LLMClient",
    "OverloadGate",
    "RecordStore",
    "RequestFailed",
    "RetryPolicy",
    "agenerate",
    "classify_error",
    "discover_endpoint",
    "embedded_model_path",
    "generate",
    "load_config",
    "merge_shards",
    "passage_shard",
    "read_passages",
]
