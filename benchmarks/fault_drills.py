"""Fault drills for ``hfswim generate``: kill -9 and resume under injected faults, concurrent shards, a dead
endpoint, bad command lines, and a search for leaked secrets. Writes ``benchmarks/results/fault_drills.md``.

    python -m benchmarks.fault_drills --passages 60 --kills 5 --rounds 3

Every drill runs real ``hfswim generate`` processes against the loopback server
(:mod:`hfswim.testing.loopback`), whose endpoint URL carries ``user:password@`` and whose environment
holds an ``HF_TOKEN``: neither may appear in any file, log line or output (the secrets column).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hfswim.generation.drills import (
    DRILL_PASSWORD,
    dead_endpoint_drill,
    drill_env,
    faults_by_retry_kind,
    find_secrets,
    hfswim_command,
    kill_resume_drill,
    shard_drill,
    write_passages,
)

RESULTS = Path(__file__).resolve().parent / "results" / "fault_drills.md"


def bad_inputs(work: Path, live: str) -> list[tuple[str, list[str]]]:
    """(what, arguments after ``hfswim``): command lines a user gets wrong, each must end in one clean line.

    ``live`` is a loopback endpoint that answers, so that a bad input is reached rather than masked by an
    unreachable endpoint; ``dead`` is used where the endpoint is not the point and must not be reached."""
    good = write_passages(work / "passages.parquet", 3)
    garbage = work / "garbage.parquet"
    garbage.write_bytes(b"this is not parquet\x00\x01" * 10)
    no_id = work / "no_id.jsonl"
    no_id.write_text(json.dumps({"text": "a passage without id"}) + "\n")
    empty_text = work / "empty_text.jsonl"
    empty_text.write_text(json.dumps({"passage_id": "p1", "text": "   "}) + "\n")
    a_file = work / "a_file.txt"
    a_file.write_text("not a folder")
    out = str(work / "bad-out")
    dead = "http://127.0.0.1:9"
    g = ["generate"]
    return [
        ("passages file missing", [*g, str(work / "missing.parquet"), "-o", out, "-e", dead]),
        ("passages not Parquet", [*g, str(garbage), "-o", out, "-e", live]),
        ("row without passage_id", [*g, str(no_id), "-o", out, "-e", live]),
        ("row with empty text", [*g, str(empty_text), "-o", out, "-e", live]),
        ("unknown language", [*g, str(good), "-o", out, "-e", dead, "-l", "xx"]),
        ("shard index >= shards", [*g, str(good), "-o", out, "-e", dead, "--num-shards", "2", "--shard-index", "5"]),
        ("endpoint not listening", [*g, str(good), "-o", out, "-e", dead]),
        (
            "endpoint with credentials, not listening",
            [*g, str(good), "-o", out, "-e", "http://u:" + DRILL_PASSWORD + "@127.0.0.1:9"],
        ),
        ("endpoint name, Hub offline", [*g, str(good), "-o", out, "-e", "no-such-endpoint"]),
        ("unknown strategy", [*g, str(good), "-o", out, "-e", dead, "--strategy", "nope"]),
        ("concurrency 0", [*g, str(good), "-o", out, "-e", dead, "--concurrency", "0"]),
        ("negative timeout", [*g, str(good), "-o", out, "-e", dead, "--timeout", "-1"]),
        ("non-numeric option", [*g, str(good), "-o", out, "-e", dead, "--max-new-tokens", "abc"]),
        ("unknown endpoint kind", [*g, str(good), "-o", out, "-e", dead, "--endpoint-kind", "weird"]),
        ("output is a file", [*g, str(good), "-o", str(a_file), "-e", live]),
        ("template dir missing", [*g, str(good), "-o", out, "-e", dead, "--template-dir", str(work / "nope")]),
        ("promptagator without examples", [*g, str(good), "-o", out, "-e", dead, "--strategy", "promptagator"]),
        ("merge with no shards", [*g, str(good), "-o", str(work / "empty-run"), "--num-shards", "2", "--merge"]),
        ("unknown option", [*g, str(good), "-o", out, "--no-such-option"]),
        ("unknown command", ["no-such-command"]),
    ]


def classify(rc: int, stdout: str, stderr: str) -> str:
    """clean: non-zero exit, no traceback, one line on stderr. Anything else is counted as it is."""
    if "Traceback (most recent call last)" in stdout + stderr:
        return "traceback"
    if rc == 0:
        return "exit 0"
    lines = [line for line in stderr.splitlines() if line.strip()]
    return "clean" if len(lines) == 1 else "multi-line"


def run_bad_inputs(work: Path) -> tuple[list[dict], list[str]]:
    from hfswim.testing.loopback import LoopbackLLM

    rows, outputs = [], []
    with LoopbackLLM(kind="tgi") as server:
        for what, args in bad_inputs(work, server.url):
            start = time.monotonic()
            command = [*hfswim_command(), *args]
            proc = subprocess.run(command, env=drill_env(), capture_output=True, text=True, timeout=120)
            verdict = classify(proc.returncode, proc.stdout, proc.stderr)
            first = next((line.strip() for line in proc.stderr.splitlines() if line.strip()), "")
            rows.append({"what": what, "rc": proc.returncode, "verdict": verdict, "first_line": first[:140],
                         "s": round(time.monotonic() - start, 1)})  # fmt: skip
            outputs.append(proc.stdout + proc.stderr)
    return rows, outputs


def run_baseline(args: argparse.Namespace, work: Path) -> dict:
    """The same drills with hfswim at ``--baseline-commit`` (the drills' processes get its PYTHONPATH)."""
    source = work / "src"
    source.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", args.baseline_commit], capture_output=True, check=True, cwd=Path(__file__).parent
    )
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    os.environ["HFSWIM_DRILL_PYTHONPATH"] = str(source)
    try:
        kill = kill_resume_drill(work / "kill", n_passages=args.passages, kills=args.kills, seed=0, timeout=90)
        shards = shard_drill(work / "shards", n_passages=args.shard_passages, shards=2)
        dead = dead_endpoint_drill(work / "dead", n_passages=args.dead_passages)
    finally:
        del os.environ["HFSWIM_DRILL_PYTHONPATH"]
    leaks = find_secrets([work / "kill", work / "shards", work / "dead"], kill.outputs + shards.outputs + dead.outputs)
    return {"kill": kill, "shards": shards, "dead": dead, "leaks": leaks}


def baseline_lines(baseline: dict, args: argparse.Namespace) -> list[str]:
    k, s, d = baseline["kill"], baseline["shards"], baseline["dead"]
    return [
        f"### Before: the same drills with hfswim at `{args.baseline_commit}`",
        "",
        "| drill | result |",
        "|---|---|",
        f"| kill -9 x{k.kills} then resume, same faults (round 0) | exit codes {k.exit_codes} (124 = still running "
        f"after 90 s and killed); records {k.records_final}/{k.records_expected}, lost {k.lost}, duplicated "
        f"{k.duplicated}, re-sent {k.resent}, failed {k.failed} |",
        f"| 2 shard jobs into one folder | exit codes {s.exit_codes}; store {s.store_records}, generated.parquet "
        f"{s.merged_records} of {s.records_expected} (both jobs export to the same file: a race, which this run's "
        "later export happened to win with every record) |",
        f"| 2 endpoints, one killed mid-run | exit {d.exit_code} (-9: still running after 120 s, killed by the "
        f"drill), {d.records_final} records stored, "
        f"**{d.failed} failed**, {d.connection_retries} connection retries |",
        f"| 2 endpoints, one dead from the start | exit {d.dead_at_start_exit_code} "
        f"(failed records: {d.dead_at_start_failed}; -1 = no run) |",
        f"| secrets found in its files and outputs | {len(baseline['leaks'])} |",
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=60, help="passages per kill drill (x2 languages)")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per kill drill")
    parser.add_argument("--rounds", type=int, default=3, help="kill drills (seeds 0..rounds-1)")
    parser.add_argument("--shard-passages", type=int, default=80)
    parser.add_argument("--dead-passages", type=int, default=80)
    parser.add_argument(
        "--baseline-commit",
        default=None,
        help="also run one kill drill, the shard drill and the dead-endpoint drill with hfswim at this commit "
        "(exported with git archive; same server, same counters)",
    )
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="hfswim-drills-"))
    outputs: list[str] = []
    kills = []
    for seed in range(args.rounds):
        drill = kill_resume_drill(root / f"kill-{seed}", n_passages=args.passages, kills=args.kills, seed=seed)
        kills.append(drill)
        outputs += drill.outputs
        print(json.dumps(drill.as_dict()), flush=True)
    shards = shard_drill(root / "shards", n_passages=args.shard_passages, shards=2)
    outputs += shards.outputs
    dead = dead_endpoint_drill(root / "dead", n_passages=args.dead_passages)
    outputs += dead.outputs
    bad, bad_outputs = run_bad_inputs(root / "bad")
    outputs += bad_outputs
    leaks = find_secrets([root], outputs)
    verdicts = Counter(row["verdict"] for row in bad)
    baseline = run_baseline(args, root / "baseline") if args.baseline_commit else None

    injected: Counter = Counter()
    for drill in kills:
        injected.update(drill.faults_injected)
    by_kind = faults_by_retry_kind(dict(injected))
    retries_last: Counter = Counter()
    for drill in kills:
        retries_last.update(drill.retries_last_run)
    command = (
        f".venv/bin/python -m benchmarks.fault_drills --passages {args.passages} --kills {args.kills} "
        f"--rounds {args.rounds} --shard-passages {args.shard_passages} --dead-passages {args.dead_passages}"
        + (f" --baseline-commit {args.baseline_commit}" if args.baseline_commit else "")
    )
    lines = [
        "## Generation: fault drills (kill -9, injected faults, shards, dead endpoint, bad inputs, secrets)",
        "",
        "Command (from the repository root):",
        "",
        f"    {command}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs, no GPU; Python "
        f"{platform.python_version()}. Every drill runs real `hfswim generate` processes against the loopback "
        "server (`hfswim.testing.loopback`), whose URL carries `user:password@`, with `HF_TOKEN` set. "
        "The server counts every real answer per prompt, so a finished record requested again is seen.",
        "",
        "### Kill -9 and resume under injected faults",
        "",
        f"Each round: {args.passages} passages x 2 languages (two-step SAP), `--timeout 3`; SIGKILL at random points "
        f"{args.kills} times, then one run to the end. Faults served throughout (a fixed schedule over request "
        "numbers): 503 every 7th request, 429 every 11th, dropped connection 13th, HTML garbage 17th, empty answer "
        "19th, NUL/control bytes 23rd, 500 29th, a body trickled one byte per 0.2 s 53rd.",
        "",
        "| round | kills | kills survived | records | lost | duplicated | re-sent (finished, asked again) | failed "
        "| server requests | faults injected | wall (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for seed, d in enumerate(kills):
        lines.append(
            f"| {seed} | {d.kills} | {d.kills_survived} | {d.records_final}/{d.records_expected} | {d.lost} | "
            f"{d.duplicated} | {d.resent} | {d.failed} | {d.server_requests} | {sum(d.faults_injected.values())} | "
            f"{d.wall_s} |"
        )
    total_kills = sum(d.kills for d in kills)
    lines += [
        "",
        f"Totals: **{sum(d.kills_survived for d in kills)}/{total_kills} kills survived; lost "
        f"{sum(d.lost for d in kills)}, duplicated {sum(d.duplicated for d in kills)}, re-sent "
        f"{sum(d.resent for d in kills)}, failed {sum(d.failed for d in kills)}.**",
        "",
        "Faults injected, by the retry kind the client counts them under (all rounds): "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items()))
        + ". Retries counted by the last (unkilled) run of each round: "
        + ", ".join(f"{k} {v}" for k, v in sorted(retries_last.items()))
        + " (killed runs take their counters with them; every fault of the last run was retried, none failed a "
        "record).",
        "",
        "### Shards, dead endpoint",
        "",
        "| drill | result |",
        "|---|---|",
        f"| 2 shard jobs started together into one folder ({shards.records_expected} records) | exit codes "
        f"{shards.exit_codes}; store {shards.store_records}, shard exports {shards.shard_exports}, merged "
        f"generated.parquet {shards.merged_records} (manifest total {shards.merged_manifest_total}), duplicated "
        f"{shards.duplicated} |",
        f"| 2 endpoints, one killed mid-run ({dead.records_expected} records) | exit {dead.exit_code}, "
        f"{dead.records_final} records, **{dead.failed} failed**, {dead.connection_retries} connection retries, "
        f"endpoint taken out {dead.endpoints_down}x |",
        f"| 2 endpoints, one dead from the start | exit {dead.dead_at_start_exit_code}, "
        f"{dead.dead_at_start_failed} failed (a warning names the dead one, without its credentials) |",
        "",
        *(baseline_lines(baseline, args) if baseline else []),
        "### Bad inputs",
        "",
        f"{len(bad)} bad command lines run as subprocesses: **{verdicts.get('clean', 0)} clean one-line errors**, "
        f"{verdicts.get('traceback', 0)} tracebacks, {verdicts.get('multi-line', 0)} multi-line errors, "
        f"{verdicts.get('exit 0', 0)} exit 0. Clean = non-zero exit, no traceback, exactly one line on stderr.",
        "",
        "| input | exit | verdict | first line of stderr |",
        "|---|---:|---|---|",
        *(
            f"| {r['what']} | {r['rc']} | {r['verdict']} | `{r['first_line'].replace('|', '/').replace('`', '')}` |"
            for r in bad
        ),
        "",
        "### Secrets",
        "",
        f"Searched: every file under the drills' folders (stores, Parquet, manifests, failures, temporary files) "
        f"and the stdout/stderr of all {len(outputs)} processes, for the endpoint password and the HF token. "
        f"**Secrets found: {len(leaks)}**" + (f" ({', '.join(leaks[:5])})" if leaks else "") + ".",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    sys.exit(1 if leaks else 0)


if __name__ == "__main__":
    main()
