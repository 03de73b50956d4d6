"""Install a built Space's requirements into a fresh venv, offline, and start it: does the folder run as it is?

    .venv/bin/python -m benchmarks.space_install [--space runs/space-bench]

What the Hub does with a Gradio Space, without the Hub: a new virtual environment (no system site-packages, no
hfswim), ``pip install --no-index --find-links WHEELHOUSE gradio==<sdk_version> -r requirements.txt``, then
``python app.py`` in the folder; a question is sent through Gradio's API and must come back with result cards.

The machine has no pip cache and no Hub, so the wheelhouse is made from the distributions already installed in
this venv: each one in the requirements' dependency closure is packed back into a wheel from its RECORD (the
same files pip installed; console scripts are left out, pip writes them again from entry_points.txt). Writes
benchmarks/results/space_install.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata as md
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "space_install.md"


def closure(requirements: list[str]) -> list[md.Distribution]:
    """The installed distributions that ``requirements`` need, transitively (markers and extras honoured)."""
    env = default_environment()
    seen: dict[str, md.Distribution] = {}
    todo = [(Requirement(r), frozenset()) for r in requirements]
    while todo:
        req, _ = todo.pop()
        name = canonicalize_name(req.name)
        dist = md.distribution(req.name)
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen[key] = dist
        for spec in dist.requires or []:
            dep = Requirement(spec)
            extras = req.extras or {""}
            if dep.marker is None or any(dep.marker.evaluate({**env, "extra": e}) for e in extras):
                todo.append((dep, frozenset()))
    unique = {canonicalize_name(d.metadata["Name"]): d for d in seen.values()}
    return sorted(unique.values(), key=lambda d: d.metadata["Name"].lower())


def repack(dist: md.Distribution, wheelhouse: Path) -> Path:
    """Pack an installed distribution back into a wheel (its RECORD's files under site-packages)."""
    site = Path(dist.locate_file(""))
    info = next(p for p in (dist.files or []) if p.parent.name.endswith(".dist-info") and p.name == "WHEEL")
    dist_info = info.parent.as_posix()
    tags = [line.split(":", 1)[1].strip() for line in dist.read_text("WHEEL").splitlines() if line.startswith("Tag:")]
    name = dist.metadata["Name"].replace("-", "_").replace(".", "_")
    # The compressed tag set (py2.py3-none-any): pip reads every tag the wheel was built for.
    parts = [".".join(dict.fromkeys(tag.split("-")[i] for tag in tags)) for i in range(3)]
    target = wheelhouse / f"{name}-{dist.version}-{'-'.join(parts)}.whl"
    record = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as whl:
        for file in dist.files or []:
            rel = file.as_posix()
            if rel.startswith("..") or rel.endswith(".pyc") or rel == f"{dist_info}/RECORD":
                continue
            path = site / rel
            if not path.is_file():
                continue
            data = path.read_bytes()
            whl.writestr(rel, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{rel},sha256={digest},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        whl.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--space", help="a folder built by `hfswim space build` (default: build the demo Space)")
    parser.add_argument("--work", help="where the wheelhouse and venv go (default: a temporary folder, removed)")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()

    hfswim = Path(sys.executable).with_name("hfswim")
    folder = Path(args.space) if args.space else ROOT / "runs" / "space-bench"
    if not args.space:
        subprocess.run([str(hfswim), "space", "build", str(folder)], check=True)
    from huggingface_hub import SpaceCard

    sdk_version = SpaceCard.load(folder / "README.md").data.sdk_version
    lines = (folder / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))]
    work = Path(args.work or tempfile.mkdtemp(prefix="hfswim-space-install-"))
    wheelhouse, venv = work / "wheelhouse", work / "venv"
    shutil.rmtree(work, ignore_errors=True)
    wheelhouse.mkdir(parents=True)

    t0 = time.perf_counter()
    dists = closure([f"gradio=={sdk_version}", *requirements])
    for dist in dists:
        repack(dist, wheelhouse)
    t1 = time.perf_counter()
    print(f"wheelhouse: {len(dists)} distributions in {t1 - t0:.0f} s", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--find-links", str(wheelhouse)]
    install = subprocess.run(
        [*pip, "--disable-pip-version-check", f"gradio=={sdk_version}", "-r", str(folder / "requirements.txt")],
        capture_output=True,
        text=True,
    )
    t2 = time.perf_counter()
    if install.returncode != 0:
        sys.exit(f"pip install failed:\n{install.stdout[-3000:]}\n{install.stderr[-3000:]}")
    print(f"installed in {t2 - t1:.0f} s", flush=True)
    python = str(venv / "bin" / "python")
    # From a neutral folder with a bare environment: a checkout in the working directory would be found first.
    bare = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    no_hfswim = subprocess.run([python, "-c", "import hfswim"], cwd=work, env=bare, capture_output=True).returncode != 0

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "OMP_NUM_THREADS": "2",
    }
    log = work / "app.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([python, "app.py"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                sys.exit(f"app.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url, timeout=2).read(1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("app.py did not answer within 300 s")
                time.sleep(0.5)
        t3 = time.perf_counter()
        from gradio_client import Client

        _status, cards = Client(url, verbose=False).predict("Wo entspringt der Rhein?", 5, api_name="/run")
        answered = cards.count('class="hs-card"') == 5 and 'data-passage-id="de-rhein"' in cards
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"started in {t3 - t2:.0f} s; answered: {answered}; hfswim absent: {no_hfswim}", flush=True)
    size = sum(p.stat().st_size for p in wheelhouse.iterdir()) / 2**30
    verdict = "passed" if answered and no_hfswim else "FAILED"
    model_name = json.loads((folder / "space.json").read_text(encoding="utf-8")).get("model_name", "?")
    vendored = sorted(
        p.relative_to(folder).as_posix() for p in (folder / "hfswim").rglob("*.py") if p.stem != "__init__"
    )
    text = [
        "## Demo Space: a fresh offline install of the built folder runs",
        "",
        "Command: `.venv/bin/python -m benchmarks.space_install` (builds the demo Space with `hfswim space build`). "
        "A new venv without system site-packages or hfswim; `pip install --no-index --find-links WHEELHOUSE "
        f"gradio=={sdk_version} -r requirements.txt` (gradio as the Hub installs it from `sdk_version`); then "
        "`python app.py` in the folder and one question through Gradio's API. The wheelhouse is this venv's own "
        f"installed distributions packed back into wheels ({len(dists)} distributions, {size:.1f} GiB; no pip cache "
        "and no Hub here).",
        "",
        f"**{verdict}**: pip resolved and installed everything offline in {t2 - t1:.0f} s; the app answered on "
        f"127.0.0.1 {t3 - t2:.0f} s after start (model and index load included); `import hfswim` "
        f'{"fails" if no_hfswim else "works"} in that venv; "Wo entspringt der Rhein?" came back with 5 cards, '
        f"de-rhein among them: {answered}.",
        "",
        f"Encoder: {model_name}"
        + (f"; its module code vendored into the Space: {', '.join(f'`{v}`' for v in vendored)}" if vendored else "")
        + ". Requirements as built: "
        + ", ".join(f"`{r}`" for r in requirements)
        + ".",
        "",
    ]
    Path(args.output).write_text("\n".join(text), encoding="utf-8")
    print("\n".join(text))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if verdict == "passed" else 1)


if __name__ == "__main__":
    main()
