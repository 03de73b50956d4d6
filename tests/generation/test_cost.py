"""``hfswim generate --dry-run``: token and cost estimate from the rendered prompts; the manifest's actual cost."""

from __future__ import annotations

import subprocess
import sys

from hfswim.generation import GenerateConfig, generate
from hfswim.generation.cost import estimate_job
from hfswim.generation.endpoints import estimate_tokens
from hfswim.prompts import get_prompt_strategy
from tests.generation.conftest import make_passages


def test_dry_run_counts_every_prompt_and_sends_nothing(tmp_path, write_passages):
    passages = write_passages(make_passages(3))
    proc = subprocess.run(
        [sys.executable, "-m", "hfswim", "generate", str(passages), "-o", str(tmp_path / "run"), "--endpoint",
         "http://127.0.0.1:9", "--languages", "sw,de", "--max-new-tokens", "40", "--dry-run", "--price-in", "1",
         "--price-out", "2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "3 passages -> 6 queries; requests: 3 summary + 6 query (nothing sent)" in out
    assert f"completion tokens (at most, from the token limits): {9 * 40:,}" in out
    assert "cost at most $" in out and not (tmp_path / "run").exists()


def test_estimate_matches_the_prompts_the_run_sends(tmp_path, write_passages):
    rows = make_passages(2)
    cfg = GenerateConfig(passages=str(write_passages(rows)), output_dir=str(tmp_path / "o"), endpoints=["http://x"],
                         languages="sw", strategy="sap-naive", price_in=0.5, price_out=1.5)  # fmt: skip
    estimate = estimate_job(cfg)
    strategy = get_prompt_strategy("sap-naive", "cross-lingual")
    expected = sum(estimate_tokens(strategy.query_prompt(r, "sw")) for r in rows)
    assert estimate.requests == {"summary": 0, "query": 2} and estimate.prompt_tokens["query"] == expected
    d = estimate.as_dict()
    assert d["cost_usd_max"] == round(expected / 1e6 * 0.5 + 2 * 96 / 1e6 * 1.5, 6)


def test_manifest_records_the_actual_cost(tmp_path, write_passages, loopback_openai):
    cfg = GenerateConfig(passages=str(write_passages(make_passages(2))), output_dir=str(tmp_path / "o"),
                         endpoints=[loopback_openai.url], languages="sw", price_in=2.0, price_out=8.0,
                         progress=False)  # fmt: skip
    m = generate(cfg).manifest
    tokens = m["tokens"]
    assert m["cost"]["usd"] == round(tokens["prompt"] / 1e6 * 2.0 + tokens["completion"] / 1e6 * 8.0, 6) > 0
    assert m["this_run"]["cost"]["usd"] == m["cost"]["usd"]
