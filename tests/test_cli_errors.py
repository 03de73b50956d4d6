"""The `hfswim` command as a user's shell and a scheduler see it: exit codes and one-line errors.

Every case runs the real console script in a subprocess (cases run a few at a time, each process imports only
its own stage) and checks the exit code, that stderr is exactly one line ``hfswim: error: ...`` naming the
problem and where, and that no traceback leaks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hfswim.hub.build import build_dataset
from hfswim.records import GENERATED_SCHEMA, PASSAGE_SCHEMA, conform
from hfswim.testing.loopback import Fault, LoopbackLLM

HFSWIM = str(Path(sys.executable).with_name("hfswim"))
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **OFFLINE, **extra}
    env.pop("HFSWIM_DEBUG", None)
    root = str(Path(__file__).resolve().parents[1])  # this checkout first, whatever the venv's install points at
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hfswim(args: list[str], cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([HFSWIM, *args], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout)


def _passage_rows(n: int = 3) -> list[dict]:
    return [
        {
            "passage_id": f"d{i}#0",
            "doc_id": f"d{i}",
            "passage_language": "en",
            "title": f"Title {i}",
            "text": f"Passage number {i} is about rivers, mountains and the towns between them.",
            "source": "test",
        }
        for i in range(n)
    ]


def _generated_rows(n: int = 3) -> list[dict]:
    return [
        {
            "record_id": f"{i:032x}",
            "passage_id": f"d{i}#0",
            "doc_id": f"d{i}",
            "title": f"Title {i}",
            "text": f"Passage number {i} is about rivers.",
            "passage_language": "en",
            "query_language": "sw",
            "setting": "cross-lingual",
            "summary": "Rivers.",
            "query": f"mto gani {i}?",
            "parse_status": "ok",
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def server():
    with LoopbackLLM(kind="tgi") as llm:
        yield llm


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder of good and bad inputs, shared by the cases (each case writes only under its own names)."""
    d = tmp_path_factory.mktemp("cli-errors")
    pq.write_table(conform(_passage_rows(), PASSAGE_SCHEMA), d / "passages.parquet")
    pq.write_table(conform(_generated_rows(), GENERATED_SCHEMA), d / "generated.parquet")
    (d / "nonutf8.jsonl").write_bytes(
        b'{"passage_id": "a#0", "doc_id": "a", "passage_language": "en", "text": "caf\xe9"}\n'
    )
    (d / "nonutf8.csv").write_bytes(b"id,text\n1,Caf\xe9 au lait.\n")  # Latin-1, as spreadsheets export
    (d / "nonutf8.tsv").write_bytes(b"id\ttext\n1\tgood row\n2\tCaf\xe9.\n")
    (d / "nonutf8.txt").write_bytes(b"A good paragraph.\n\nCaf\xe9.\n")
    (d / "empty.parquet").write_bytes(b"")
    (d / "notparquet.parquet").write_text("hello\n")
    (d / "notes.txt").write_text("hello\n")
    (d / "afile").write_text("I am a file\n")
    (d / "adir").mkdir()
    (d / "bad.yaml").write_text("corpus: {source: demo\n  bad")
    (d / "bad.jinja").write_text("{% if %}\n")
    (d / "typo.yaml").write_text(
        "corpus: {source: demo, cap_per_language: 1}\n"
        f"generate: {{endpoints: ['http://127.0.0.1:{_closed_port()}']}}\n"
        "train: {max_step: 3}\n"
    )
    for stage, typo in STAGE_TYPOS.items():  # one --config file with a misspelt key per stage
        (d / f"{stage}-typo.yaml").write_text(f"{typo[0]}: 1\n")
    (d / "train-bad.yaml").write_text("batch_size: 1\n")
    (d / "run-generate-typo.yaml").write_text("corpus: {source: demo}\ngenerate: {temprature: 0.7}\n")
    store = d / "badstore" / "store"
    store.mkdir(parents=True)
    (store / "records-all-000.jsonl").write_text(json.dumps({"record_id": "not-hex!", "query": "q"}) + "\n")
    build_dataset(d / "generated.parquet", d / "ds")  # a valid dataset repo folder to push
    return d


DEAD = f"http://127.0.0.1:{_closed_port()}"

# --config on every stage: (the misspelt key, the key it should be, the command line before --config).
STAGE_TYPOS: dict[str, tuple[str, str, str]] = {
    "sample": ("sample_sise", "sample_size", "sample demo -o {out}.parquet"),
    "prompts": ("num_exemplar", "num_exemplars", "prompts show"),
    "generate": ("temprature", "temperature", "generate passages.parquet -o {out}"),
    "filter": ("worker", "workers", "filter generated.parquet -o {out}"),
    "build-dataset": ("heldout_fractoin", "heldout_fraction", "build-dataset generated.parquet -o {out}"),
    "push-dataset": ("privat", "private", "push-dataset me/x ds"),
    "train": ("max_step", "max_steps", "train passages.parquet -o {out}"),
    "push-model": ("comit_message", "commit_message", "push-model me/x afile"),
    "evaluate": ("batch_sise", "batch_size", "evaluate bm25 --tasks local:adir"),
    "index": ("index_knd", "index_kind", "index passages.parquet -o {out}"),
}

# (id, the command line after `hfswim`, split at spaces; what the one error line must say, "|" separating parts
# that must all be there). Every case exits 2. "{llm}" is the loopback server's URL, "{dead}" a closed port's,
# "{out}" an output name of the case's own (two cases writing one folder would meet the folder's lock instead).
# fmt: off
CASES: list[tuple[str, str, str]] = [
    # usage errors: typer's own exceptions
    ("unknown-command", "frobnicate", "No such command 'frobnicate'. Try 'hfswim --help'"),
    ("command-typo", "generat", "Did you mean 'generate'?"),
    ("missing-argument", "generate", "Missing argument"),
    ("bad-float", "generate passages.parquet -o {out} --temperature abc", "'--temperature'|'abc'|Try 'hfswim generate --help'"),
    ("out-of-range", "build-dataset generated.parquet -o {out} --heldout-fraction 1.5", "--heldout-fraction: Input should be less than 1 (got 1.5)"),
    ("unknown-option", "sample demo -o {out}.parquet --bogus", "No such option: --bogus"),
    ("bad-int", "train passages.parquet -o {out} --batch-size many", "'--batch-size'"),
    # input files
    ("non-utf8-generate", "generate nonutf8.jsonl -o {out} -e {llm} --no-progress", "nonutf8.jsonl:1: not UTF-8 text (byte 0xe9"),
    ("non-utf8-sample", "sample nonutf8.jsonl -o {out}.parquet", "nonutf8.jsonl:1: not UTF-8"),
    ("non-utf8-csv", "sample nonutf8.csv --default-lang en -o {out}.parquet", "nonutf8.csv:2: not UTF-8"),
    ("non-utf8-tsv", "sample nonutf8.tsv --default-lang en -o {out}.parquet", "nonutf8.tsv:3: not UTF-8"),
    ("non-utf8-text", "sample nonutf8.txt --default-lang en -o {out}.parquet", "nonutf8.txt:3: not UTF-8"),
    ("non-utf8-passage-file", "prompts show -p nonutf8.jsonl", "nonutf8.jsonl:1: not UTF-8"),
    ("non-utf8-config", "run nonutf8.jsonl", "nonutf8.jsonl:1: not UTF-8"),
    ("missing-input", "generate missing.parquet -o {out}", "missing.parquet: no such file or folder"),
    ("empty-folder-input", "filter adir -o {out}", "adir: the folder holds no"),
    ("empty-parquet", "generate empty.parquet -o {out} -e {llm} --no-progress", "empty.parquet: not a readable Parquet file"),
    ("not-parquet-generate", "generate notparquet.parquet -o {out} -e {llm} --no-progress", "notparquet.parquet: not a readable Parquet file"),
    ("not-parquet-filter", "filter notparquet.parquet -o {out}", "notparquet.parquet: not a readable"),
    ("not-parquet-train", "train notparquet.parquet -o {out}", "notparquet.parquet: not a readable"),
    ("text-file-train", "train notes.txt -o {out}", "notes.txt: expected records as Parquet"),
    ("missing-train-data", "train ./missing -o {out}", "./missing: no such file or folder"),
    ("wrong-schema", "build-dataset passages.parquet -o {out}", "missing column(s)"),
    ("non-hex-store-key", "generate passages.parquet -o badstore -e {llm} --no-progress", "records-all-000.jsonl:1: corrupt store line"),
    # output paths
    ("output-is-file-generate", "generate passages.parquet -o afile -e {llm} --no-progress", "afile: exists and is not a folder"),
    ("output-is-file-filter", "filter generated.parquet -o afile --filters parse", "afile: exists and is not a folder"),
    ("output-is-file-build", "build-dataset generated.parquet -o afile", "afile: exists and is not"),
    ("output-is-folder-sample", "sample demo -o adir", "adir: is a folder"),
    ("output-under-file", "sample demo -o afile/x.parquet", "afile: exists and is not a folder"),
    # configs
    ("bad-yaml-run", "run bad.yaml", "bad.yaml:2: invalid YAML"),
    ("bad-yaml-sample", "sample demo -o {out}.parquet --config bad.yaml", "bad.yaml:2: invalid YAML"),
    ("bad-yaml-filter", "filter generated.parquet -o {out} --config bad.yaml", "bad.yaml:2:"),
    ("run-folder-as-config", "run adir", "adir: is a folder; expected a pipeline config"),
    ("run-typo-before-any-stage", "run typo.yaml -o typo-run", "typo.yaml: train.max_step: unknown option (did you mean max_steps?)"),
    ("bad-shard-index", "generate passages.parquet -o {out} --num-shards 2 --shard-index 5", "shard_index 5 must be < num_shards 2"),
    ("unknown-language", "languages --setting klingon", "Unknown setting 'klingon'"),
    ("non-utf8-manifest", "build-dataset generated.parquet -o {out} --manifest nonutf8.jsonl", "nonutf8.jsonl:1: not UTF-8"),
    ("broken-card-template", "build-dataset generated.parquet -o {out} --card-template bad.jinja", "bad.jinja:1: the card template does not render"),
    ("fraction-out-of-range", "filter generated.parquet -o {out} --top-fraction 2", "'--top-fraction'"),
    ("index-csv-corpus", "index nonutf8.csv -m some-model -o {out}", "nonutf8.csv: expected Parquet (.parquet) or JSON lines"),
    ("index-empty-folder", "index adir -m some-model -o {out}", "adir: the folder holds no"),
    ("search-not-an-index", "search adir rivers", "adir: not an hfswim index folder"),
    ("push-model-not-a-model", "push-model me/x --folder afile", "afile: not a model folder"),
    ("bad-device", "generate passages.parquet -o {out} --device tpu9", "device 'tpu9': expected cpu, cuda"),
    ("bad-endpoint-url", "generate passages.parquet -o {out} -e http://[::1", "endpoint 'http://[::1': not a valid URL"),
    ("bad-endpoint-scheme", "generate passages.parquet -o {out} -e ftp://x", "only http:// and https:// URLs"),
    ("not-a-model-filter", "filter generated.parquet -o {out} --filters roundtrip --retriever adir", "adir: cannot load the roundtrip retriever"),
    # network
    ("dead-endpoint", "generate passages.parquet -o {out} -e {dead} --no-progress", "Cannot reach the LLM endpoint"),
    ("push-offline", "push-dataset me/x ds", "offline mode is on (HF_HUB_OFFLINE=1)"),
    ("push-offline-old-folder-flag", "push-dataset me/x --folder ds", "offline mode is on"),
    ("push-unreachable", "push-dataset me/x --folder ds", "{dead}: pushing me/x: cannot reach"),
    # config values and flags over a --config file
    ("config-bad-value", "train passages.parquet -o {out} -c train-bad.yaml", "train-bad.yaml: batch_size: Input should be greater than or equal to 2"),
    ("config-missing-argument", "train -o {out} -c train-bad.yaml", "Missing argument 'DATASET' (or set 'dataset' in --config)"),
    ("run-generate-typo", "run run-generate-typo.yaml", "run-generate-typo.yaml: generate.temprature: unknown option (did you mean temperature?)"),
    ("bad-choice-flag", "generate passages.parquet -o {out} --strategy nope", "--strategy: Input should be 'sap', 'sap-naive', 'inpars-vanilla', 'inpars-gbq' or 'promptagator' (got 'nope')"),
    ("bad-flag-value-train", "train passages.parquet -o {out} --batching x", "--batching: Input"),
    ("unknown-script-train", "train passages.parquet -o {out} --extend-vocabulary klingon", "--extend-vocabulary: unknown script(s) klingon; expected auto or some of indic, greek, vietnamese"),
    ("flag-over-bad-config", "train x -o {out} -c train-bad.yaml -b 0", "--batch-size: In"),
    # --config on every stage: a misspelt key names the file, the key and the right one
    *((f"config-typo-{stage}", f"{command} --config {stage}-typo.yaml",
       f"{stage}-typo.yaml: {typo}: unknown option (did you mean {fix}?)")
      for stage, (typo, fix, command) in STAGE_TYPOS.items()),
]
# fmt: on
_ENV = {
    "push-offline": {"HF_TOKEN": "hf_notarealtoken"},
    "push-offline-old-folder-flag": {"HF_TOKEN": "hf_notarealtoken"},
    "push-unreachable": {"HF_TOKEN": "hf_notarealtoken", "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": DEAD},
}


@pytest.fixture(scope="module")
def outcomes(work, server) -> dict[str, subprocess.CompletedProcess]:
    """Run every case once, a few processes at a time (each is mostly Python start-up and imports)."""

    def one(case):
        name, command, _ = case
        args = command.replace("{llm}", server.url).replace("{dead}", DEAD).replace("{out}", f"out-{name}").split()
        return name, _hfswim(args, work, **_ENV.get(name, {}))

    with ThreadPoolExecutor(max_workers=max(2, min(6, os.cpu_count() or 2))) as pool:
        return dict(pool.map(one, CASES))


@pytest.mark.parametrize("name, command, says", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_a_nonzero_exit(outcomes, name, command, says):
    done = outcomes[name]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("hfswim: error: "), done.stderr
    for part in says.replace("{dead}", DEAD).split("|"):
        assert part in lines[0]


def test_pipeline_typo_stops_before_the_first_stage(outcomes, work):
    assert outcomes["run-typo-before-any-stage"].returncode == 2
    assert not (work / "typo-run").exists()  # not even the sample stage ran


def test_a_bare_command_prints_the_help(work):
    done = _hfswim([], work)
    assert done.returncode == 2 and "Usage: hfswim" in done.stdout and "generate" in done.stdout


def test_python_m_hfswim_is_the_command(work):
    done = subprocess.run(
        [sys.executable, "-m", "hfswim", "--version"], cwd=work, env=_env(), capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("hfswim ")


def test_failed_requests_exit_3(work, server):
    """generate's documented exit code 3 (some requests failed after all retries) reaches the shell."""
    server.state.faults.extend(Fault(503) for _ in range(50))
    try:
        done = _hfswim(
            ["generate", "passages.parquet", "-o", "gen-fail", "-e", server.url, "-l", "sw", "--max-retries", "0",
             "--no-progress"],
            work,
        )  # fmt: skip
    finally:
        server.state.faults.clear()
    assert done.returncode == 3, done.stderr
    assert "failed after retries" in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize("sig, code, says", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupt")])
def test_signals_give_the_conventional_exit_codes(tmp_path, sig, code, says):
    """A scheduler's SIGTERM and a user's Ctrl-C stop a run with 143 and 130 (not 0), cleanly."""
    pq.write_table(conform(_passage_rows(40), PASSAGE_SCHEMA), tmp_path / "passages.parquet")
    with LoopbackLLM(kind="tgi") as slow:
        slow.state.delay = 4.0  # every request hangs long enough that a loaded machine still signals a busy run
        proc = subprocess.Popen(
            [HFSWIM, "generate", "passages.parquet", "-o", "gen", "-e", slow.url, "-l", "sw", "--no-progress"],
            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # A shell runs background jobs (`make test &`) with SIGINT ignored, and children inherit that:
            # give the command a terminal's default disposition, as a user pressing Ctrl-C has.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while slow.state.requests == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow.state.requests > 0, "generate never reached the server"
        proc.send_signal(sig)
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err and says in err
    manifest = json.loads((tmp_path / "gen" / "manifest.json").read_text())
    assert manifest["status"] != "complete"  # the run wrote its manifest on the way out


def test_second_build_into_one_folder_is_refused_naming_the_holder(work, tmp_path):
    """build-dataset holds the folder's lock: a second process exits 2 naming the holder, then works once free."""
    folder = tmp_path / "repo"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from hfswim.hub.build import lock_repo_folder\n"
         "folder = Path(sys.argv[1]); folder.mkdir()\n"
         "with lock_repo_folder(folder):\n    print('locked', flush=True); time.sleep(120)",
         str(folder)],
        env=_env(), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = _hfswim(["build-dataset", str(work / "generated.parquet"), "-o", str(folder)], work)
    finally:
        holder.kill()
        holder.wait()
    lines = second.stderr.strip().splitlines()
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert "another hfswim build-dataset/push-dataset is writing here" in lines[0]
    assert f"pid {holder.pid}" in lines[0]
    assert not (folder / "hfswim.json").exists()
    again = _hfswim(["build-dataset", str(work / "generated.parquet"), "-o", str(folder)], work)
    assert again.returncode == 0, again.stderr  # the kernel dropped the dead holder's lock
    assert json.loads((folder / "hfswim.json").read_text())["configs"]


def test_concurrent_builds_never_lose_a_config(work, tmp_path):
    """Two real builds of different languages into one folder: each either builds or is refused; none is lost."""
    rows = _generated_rows(400)
    for i, row in enumerate(rows):
        row["query_language"] = "sw" if i % 2 else "yo"
    table = pa.Table.from_pylist(rows)
    pq.write_table(conform(table.to_pylist(), GENERATED_SCHEMA), tmp_path / "all.parquet")
    folder = tmp_path / "repo"
    procs = [
        subprocess.Popen(
            [HFSWIM, "build-dataset", str(tmp_path / "all.parquet"), "-o", str(folder), "-l", lang],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lang in ("sw", "yo")
    ]
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    built = set()
    for proc, _, err in results:
        assert proc.returncode in (0, 2) and "Traceback" not in err, err
        if proc.returncode == 2:
            assert "is writing here" in err
        else:
            built.add(proc.args[proc.args.index("-l") + 1])
    configs = set(json.loads((folder / "hfswim.json").read_text())["configs"])
    assert built and built <= configs
    card = (folder / "README.md").read_text()
    assert all(f"config_name: {name}" in card for name in configs)


def test_an_unexpected_error_is_one_line_with_a_debug_hint(monkeypatch, capsys):
    """A bug still ends in one line and exit 1; HFSWIM_DEBUG=1 lets the traceback through."""
    import typer

    from hfswim.cli import run_app

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.command()
    def boom() -> None:
        raise RuntimeError("something no test foresaw\nsecond line")

    monkeypatch.delenv("HFSWIM_DEBUG", raising=False)
    assert run_app(app, []) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected RuntimeError: something no test foresaw" in err
    assert "HFSWIM_DEBUG=1" in err
    monkeypatch.setenv("HFSWIM_DEBUG", "1")
    with pytest.raises(RuntimeError):
        run_app(app, [])


def test_listing_the_commands_imports_no_stage(tmp_path):
    """`hfswim --help` lists every command from the table in hfswim.cli, without importing any stage."""
    code = (
        "import sys; from hfswim.cli import main, COMMANDS; main(['--help']);"
        "print(sorted(m for m in sys.modules if m.startswith('hfswim.') and m.split('.')[1] in "
        "('generation', 'filters', 'training', 'evaluation', 'hub', 'corpus', 'prompts')))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    from hfswim.cli import COMMANDS, app, load_command

    for name, _, summary in COMMANDS:
        assert name in done.stdout and callable(load_command(name)) and summary.endswith(".")
    assert {name for name, _, _ in COMMANDS} >= {"run", "generate", "filter", "build-dataset", "train", "evaluate"}
    assert app.info.name == "hfswim"
