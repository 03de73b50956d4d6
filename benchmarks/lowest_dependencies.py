"""Check: the generation and hub tests pass with the LOWEST versions pyproject.toml allows, on the lowest Python.

Creates a throwaway venv (``--python``: the interpreter to build it with, e.g. python3.10 for
``requires-python >= 3.10``), installs each core dependency the chosen stages import at exactly its declared
lower bound (read from pyproject.toml; pip from PyPI), and runs their tests there (``tests/generation`` without
the tests that need the ``embedded`` extra, torch, whose bounds belong to that extra; ``tests/hub``: build,
card and push with huggingface_hub's ``HfApi`` calls at the floor). Writes
``benchmarks/results/generation_lowest_dependencies.md``.

    python -m benchmarks.lowest_dependencies [--venv /tmp/hfswim-lowest] [--python python3.10] \
        [--suites generation,hub,options]
"""

from __future__ import annotations

import argparse
import os
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
# `hfswim build-dataset` / `push-dataset` add these (datasets: the dataset card's load check; matplotlib: its charts).
HUB_DEPS = (*GENERATION_DEPS, "datasets", "matplotlib")
SUITES = {
    "generation": (GENERATION_DEPS, ["tests/generation", "--ignore=tests/generation/test_embedded_server.py",
                                     "--ignore=tests/generation/test_generation_http.py",
                                     "--ignore=tests/generation/test_scoring.py"]),
    "hub": (HUB_DEPS, ["tests/hub"]),
    # every stage's options and `hfswim run` sections (config models only: no stage's heavy extra is imported)
    "options": (HUB_DEPS, ["tests/test_options.py", "tests/test_pipeline.py"]),
}  # fmt: skip
TEST_TOOLS = ("pytest", "pytest-asyncio", "pytest-timeout")


def lower_bounds(names: tuple[str, ...] = GENERATION_DEPS) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bounds = {}
    for spec in project["dependencies"]:
        match = re.match(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)", spec.split(";")[0])
        if match and match.group(1).lower() in names:
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
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venv (the lowest supported)")
    parser.add_argument("--suites", default="generation,hub,options", help=f"test suites: {', '.join(SUITES)}")
    args = parser.parse_args()
    venv = Path(args.venv)
    suites = args.suites.split(",")
    bounds = lower_bounds(tuple(sorted({name for suite in suites for name in SUITES[suite][0]})))
    if not (venv / "bin" / "python").exists():
        subprocess.run([args.python, "-m", "venv", str(venv)], check=True)
    python_version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import platform; print(platform.python_version())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    pins = [f"{name}=={lowest_release(venv, name, version)}" for name, version in bounds.items()]
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *pins, *TEST_TOOLS], check=True)
    installed = subprocess.run([str(venv / "bin" / "pip"), "freeze"], capture_output=True, text=True).stdout
    start = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    paths = [arg for suite in suites for arg in SUITES[suite][1]]
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", *paths, "-q", "-m", "not slow", "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    summary = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    failures = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    versions = {
        line.split("==")[0].lower().replace("-", "_"): line.split("==")[1]
        for line in installed.splitlines()
        if "==" in line and line.split("==")[0].lower().replace("-", "_") in {n.replace("-", "_") for n in bounds}
    }
    lines = [
        "## Generation, hub and options: tests at the lowest allowed dependency versions and Python",
        "",
        "Command (from the repository root):",
        "",
        f"    .venv/bin/python -m benchmarks.lowest_dependencies --venv {args.venv} --python "
        f"{Path(args.python).name} --suites {args.suites}",
        "",
        f"A fresh venv (Python {python_version}; pyproject.toml says `requires-python` "
        f"{tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['requires-python']}) with each core "
        f"dependency the {' and '.join(suites)} stages import pinned to the lower bound pyproject.toml declares, then "
        f"`pytest {' '.join(p for p in paths if not p.startswith('--'))} -m 'not slow'` (without the generation "
        "tests that need the `embedded` extra, torch). Installed:",
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
        *(f"- `{line}`" for line in failures[:20]),
        "",
        "Found on the way (bounds raised to what passes): `typer>=0.12` -> 0.12.0 with click 8.5 runs the "
        "`--version` callback on every command (every CLI test exits 0 after printing the version). 0.12.3 passed "
        "when pip still picked click 8.1.8; it takes any click, and with click >= 8.2 an eager flag's callback "
        "gets the string 'False' (truthy): `hfswim build-dataset --help` printed `hfswim 0.1.0`. typer 0.15.4 pins "
        "click < 8.2 (0.16 supports it), so `typer>=0.15.4`. `aiohttp>=3.9` -> with 3.9.0 the fault test (429, 503, "
        "500, garbage, dropped connection, slow answer at a 0.5 s timeout) counted a second timeout in 1 of 3 runs; "
        "3.10.0 passed 4 of 4. `tqdm>=4.66` -> datasets 4.0 (the `datasets>=4.0` floor) requires tqdm >= 4.66.3: "
        "the floors could not be installed together. `pyarrow>=15` holds for the hub stage now that the dataset "
        "shards ask for content-defined chunking (a pyarrow 21 writer option) only where pyarrow has it. "
        "`huggingface_hub>=1.0` holds for generation (public names only: `get_token`, `get_inference_endpoint`, "
        "`HfApi.model_info`, `constants.INFERENCE_PROXY_TEMPLATE`, `errors.RepositoryNotFoundError`) and for the "
        "push (`create_repo`, `create_branch`, `list_repo_tree`, `upload_folder` with allow/ignore/delete patterns, "
        "each call bound against the installed `HfApi` in tests/hub). Python 3.10 needs no change but one: "
        "`asyncio.timeout` is 3.11+, so the per-request bound takes `asyncio.wait_for` there; and on 3.10 "
        "`list[str]` passes `isinstance(..., type)`, so the options module's nested-model test raised in "
        "`issubclass` (every stage command failed to build: now `get_origin(...) is None` first).",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(proc.stdout[-3000:])


if __name__ == "__main__":
    main()
