"""Check: the generation tests pass with the LOWEST versions pyproject.toml allows for the generation stage.

Creates a throwaway venv, installs each core dependency the generation stage imports at exactly its declared
lower bound (read from pyproject.toml; pip from PyPI), and runs ``tests/generation`` there (the tests that need
the ``embedded`` extra, torch, are left out: their bounds belong to that extra). Writes
``benchmarks/results/generation_lowest_dependencies.md``.

    python -m benchmarks.lowest_dependencies [--venv /tmp/hfswim-lowest]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "generation_lowest_dependencies.md"
# What `hfswim generate` (and its tests) import; the rest of the core list serves other stages.
GENERATION_DEPS = ("huggingface_hub", "aiohttp", "httpx", "pydantic", "orjson", "jinja2", "regex", "pyarrow",
                   "numpy", "typer", "rich", "tqdm", "psutil", "pyyaml", "uvloop")  # fmt: skip
TEST_TOOLS = ("pytest", "pytest-asyncio", "pytest-timeout")


def lower_bounds() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {}
    for spec in project["dependencies"]:
        match = re.match(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)", spec.split(";")[0])
        if match and match.group(1).lower() in GENERATION_DEPS:
            bounds[match.group(1)] = match.group(2)
    return bounds


def lowest_release(venv: Path, name: str, bound: str) -> str:
    """The oldest release of ``name`` at or above ``bound`` (``regex>=2023.0`` means 2023.3.22)."""
    from packaging.version import InvalidVersion, Version

    listing = subprocess.run([str(venv / "bin" / "pip"), "index", "versions", name], capture_output=True, text=True)
    found = re.search(r"Available versions: (.+)", listing.stdout)
    versions = []
    for text in found.group(1).split(", ") if found else []:
        try:
            versions.append(Version(text))
        except InvalidVersion:
            continue
    eligible = [v for v in versions if v >= Version(bound) and not v.is_prerelease]
    return str(min(eligible)) if eligible else bound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", default="/tmp/hfswim-lowest")
    args = parser.parse_args()
    venv = Path(args.venv)
    bounds = lower_bounds()
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [f"{name}=={lowest_release(venv, name, version)}" for name, version in bounds.items()]
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *pins, *TEST_TOOLS], check=True)
    installed = subprocess.run([str(venv / "bin" / "pip"), "freeze"], capture_output=True, text=True).stdout
    start = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "tests/generation", "-q", "-m", "not slow", "-p",
         "no:cacheprovider", "--ignore=tests/generation/test_embedded_server.py",
         "--ignore=tests/generation/test_generation_http.py"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    summary = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    versions = {
        line.split("==")[0].lower().replace("-", "_"): line.split("==")[1]
        for line in installed.splitlines()
        if "==" in line and line.split("==")[0].lower().replace("-", "_") in {n.replace("-", "_") for n in bounds}
    }
    lines = [
        "## Generation: tests at the lowest allowed dependency versions",
        "",
        "Command (from the repository root):",
        "",
        f"    .venv/bin/python -m benchmarks.lowest_dependencies --venv {args.venv}",
        "",
        f"A fresh venv (Python {platform.python_version()}) with each core dependency the generation stage imports "
        "pinned to the lower bound pyproject.toml declares, then `pytest tests/generation -m 'not slow'` without the "
        "tests that need the `embedded` extra (torch). Installed:",
        "",
        "| dependency | declared | installed |",
        "|---|---|---|",
        *(
            f"| {name} | >={version} | {versions.get(name.lower().replace('-', '_'), '?')} |"
            for name, version in bounds.items()
        ),
        "",
        f"Result ({time.monotonic() - start:.0f} s): **{summary[-1].strip() if summary else 'no summary'}** "
        f"(exit code {proc.returncode}).",
        "",
        "Found on the way (bounds raised to what passes): `typer>=0.12` -> 0.12.0 with today's click (8.5) runs the "
        "`--version` callback on every command (every CLI test exits 0 after printing the version); 0.12.3 works. "
        "`aiohttp>=3.9` -> with 3.9.0 the fault test (429, 503, 500, garbage, dropped connection, slow answer at a "
        "0.5 s timeout) counted a second timeout in 1 of 3 runs; 3.10.0 passed 4 of 4. `huggingface_hub>=1.0` "
        "holds for generation now that it imports only public names (`get_token`, `get_inference_endpoint`, "
        "`HfApi.model_info`, `constants.INFERENCE_PROXY_TEMPLATE`, `errors.RepositoryNotFoundError`).",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(proc.stdout[-3000:])


if __name__ == "__main__":
    main()
