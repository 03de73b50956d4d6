"""`hfswim space build` and `hfswim space push`: the folder the Hub runs, and the upload."""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import SpaceCard

from hfswim.cli import main
from hfswim.space import app as space_app
from tests.hub.conftest import SECRET_TOKEN, RecordingHfApi, hf_api_standing_in
from tests.space.conftest import run_cli


@pytest.mark.slow
def test_built_space_folder_is_complete(demo_space):
    card = SpaceCard.load(demo_space / "README.md")
    import gradio

    data = card.data
    assert (data.sdk, data.sdk_version, data.app_file) == ("gradio", gradio.__version__, "app.py")
    assert data.title and data.emoji and data.colorFrom and data.colorTo and data.license == "apache-2.0"
    assert 0 < len(data.short_description) <= 60
    assert (demo_space / "app.py").read_bytes() == Path(space_app.__file__).read_bytes()
    requirements = (demo_space / "requirements.txt").read_text().splitlines()
    packages = [line for line in requirements if line and not line.startswith(("#", "-"))]
    assert not [p for p in packages if p.startswith(("hfswim", "gradio"))]
    assert {"faiss-cpu>=1.8", "sentence-transformers>=5.0,<7", "pyarrow>=15"} <= set(packages)
    assert {p.name for p in (demo_space / "index").iterdir()} == {"index.faiss", "passages.parquet", "index.json"}
    assert (demo_space / "model" / "model.safetensors").is_file() and (demo_space / "model" / "modules.json").is_file()
    config = json.loads((demo_space / "space.json").read_text(encoding="utf-8"))
    assert config["model"] == "model" and config["model_name"] not in ("model", "")
    assert json.loads((demo_space / "index" / "index.json").read_text())["model"] == "model"
    assert len(config["examples"]) >= 6 and config["language_names"]["sw"] == "Swahili"
    assert "40 passages" in card.text and config["model_name"] in card.text


@pytest.mark.slow
def test_build_with_a_hub_model_pointer_and_rebuild_in_place(demo_space, tmp_path):
    from hfswim.space.build import SpaceOptions, build_space

    out = tmp_path / "pointer-space"
    options = SpaceOptions(title="Swahili search", examples=["Mlima Kenya una urefu gani?"])
    build_space(out, demo_space / "index", model=demo_space / "model", options=options, check=False)
    assert (out / "model" / "model.safetensors").is_file()
    built = build_space(
        out, demo_space / "index", model=demo_space / "model", model_repo="me/encoder", options=options, check=True
    )
    assert not built.model_copied and not (out / "model").exists()  # the rebuild dropped the copied model
    config = json.loads((out / "space.json").read_text(encoding="utf-8"))
    assert config["model"] == "me/encoder" and config["examples"] == ["Mlima Kenya una urefu gani?"]
    assert SpaceCard.load(out / "README.md").data.models == ["me/encoder"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--index", "no-such-index"], "not an index folder (missing index.faiss"),
        (["--color-from", "chartreuse"], "--color-from: Input should be 'red', 'yellow'"),
        (["--short-description", "x" * 61], "--short-description: String should have at most 60 characters"),
    ],
)
def test_space_build_errors_are_one_line(tmp_path, args, message):
    done = run_cli("space", "build", str(tmp_path / "out"), *args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_space_build_refuses_a_folder_it_did_not_build(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("keep me")
    done = run_cli("space", "build", str(tmp_path / "out"), "--index", str(tmp_path))
    assert done.returncode == 2 and "holds no earlier Space build" in done.stderr
    assert (tmp_path / "out" / "thesis.tex").is_file()


def _space_folder(root: Path) -> Path:
    folder = root / "space"
    (folder / "index").mkdir(parents=True)
    (folder / "model").mkdir()
    (folder / "app.py").write_text("print('app')\n")
    (folder / "README.md").write_text("---\ntitle: t\nsdk: gradio\nsdk_version: 6.0.0\napp_file: app.py\n---\n# t\n")
    (folder / "index" / "index.faiss").write_bytes(b"\0faiss")
    (folder / "model" / "a.safetensors").write_bytes(b"\0weights-a")
    (folder / "model" / "b.safetensors").write_bytes(b"\0weights-b")
    return folder


def test_space_push_creates_a_gradio_space_and_uploads_only_changes(tmp_path, monkeypatch, capsys):
    api = RecordingHfApi()
    monkeypatch.setattr(huggingface_hub, "HfApi", hf_api_standing_in(api))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # the stand-in API is "online"
    monkeypatch.setenv("HF_TOKEN", SECRET_TOKEN)
    folder = _space_folder(tmp_path)

    assert (
        main(["space", "push", "me/search", str(folder), "--private", "--commit-message", "first", "--revision", "v1"])
        == 0
    )
    out, err = capsys.readouterr()
    create = api.last("create_repo")
    assert (create["repo_type"], create["space_sdk"], create["private"]) == ("space", "gradio", True)
    upload = api.last("upload_folder")
    assert upload["repo_type"] == "space" and upload["revision"] == "v1" and upload["commit_message"] == "first"
    assert upload["token"] == SECRET_TOKEN and len(upload["_uploaded"]) == 5
    assert "Pushed 5 file(s)" in out and "me/search@v1" in out

    assert main(["space", "push", "me/search", str(folder), "--revision", "v1"]) == 0
    assert "already up to date" in capsys.readouterr().out

    (folder / "model" / "b.safetensors").unlink()  # a rebuild with another model drops files
    assert main(["space", "push", "me/search", str(folder), "--revision", "v1", "--token", "hf_other"]) == 0
    out, err = capsys.readouterr()
    assert api.last("upload_folder")["token"] == "hf_other"
    assert "deleted 1" in out and "model/b.safetensors" not in api.remote["v1"]
    assert SECRET_TOKEN not in out + err


def test_space_push_errors_are_one_line(tmp_path):
    folder = _space_folder(tmp_path)
    cases = [
        (["me/bad--name", str(folder)], "invalid Hub repo id"),
        (["me/search", str(tmp_path / "missing")], "no such folder"),
        (["me/search", str(folder / "index")], "no README.md"),
    ]
    for args, message in cases:  # checked before any token is needed
        done = run_cli("space", "push", *args, env={"HF_TOKEN": "", "HF_HOME": str(tmp_path / "hf-home")})
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    done = run_cli("space", "push", "me/search", str(folder), env={"HF_TOKEN": "", "HF_HOME": str(tmp_path / "hf")})
    assert done.returncode == 2 and "no Hugging Face token" in done.stderr


def test_vendor_model_code_copies_the_hfswim_modules_a_model_names(tmp_path):
    """A model whose module class is hfswim code (as the USE port's is) gets that code beside app.py."""
    import subprocess
    import sys

    from hfswim.space.build import vendor_model_code

    model = tmp_path / "model"
    model.mkdir()
    (model / "modules.json").write_text(
        json.dumps([{"idx": 0, "name": "0", "path": "", "type": "hfswim.hub.upload.X"}])
    )
    space = tmp_path / "space"
    requirements = vendor_model_code(model, space)
    assert (space / "hfswim" / "hub" / "upload.py").read_text() == Path("hfswim/hub/upload.py").read_text()
    assert (space / "hfswim" / "errors.py").is_file()  # imported by upload.py
    assert "Vendored by `hfswim space build`" in (space / "hfswim" / "__init__.py").read_text()
    assert [r.split(">=")[0] for r in requirements] == ["huggingface_hub"]
    done = subprocess.run(
        [sys.executable, "-c", "import hfswim.hub.upload as m; print(m.__file__)"],
        cwd=space,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""},
    )
    assert done.returncode == 0 and done.stdout.strip() == str(space / "hfswim" / "hub" / "upload.py"), done.stderr


def test_app_trusts_only_hfswim_encoder_modules(tmp_path):
    def model(*types: str) -> Path:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        (folder / "modules.json").write_text(json.dumps([{"type": t} for t in types]))
        return folder

    assert space_app.trusts_own_modules(model("hfswim.encoders.module.USEncoder"))
    assert space_app.trusts_own_modules(model("hfswim.encoders.module.USEncoder", "sentence_transformers.models.Dense"))
    assert not space_app.trusts_own_modules(model("sentence_transformers.models.Transformer"))
    assert not space_app.trusts_own_modules(model("hfswim.encoders.module.USEncoder", "evil.Module"))
    assert not space_app.trusts_own_modules(tmp_path / "missing")


@pytest.mark.slow
def test_space_run_serves_a_built_folder_and_an_index(demo_space):
    import os
    import subprocess
    import time
    import urllib.request

    from hfswim.space.local import local_config
    from tests.space.conftest import HFSWIM, ROOT, free_port

    config, index = local_config(index=demo_space / "index", model=str(demo_space / "model"))
    assert config.model_name == json.loads((demo_space / "space.json").read_text())["model_name"]
    assert index.search("Wo entspringt der Rhein?", 1).hits[0].passage_id == "de-rhein"

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [str(HFSWIM), "space", "run", str(demo_space), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, "hfswim space run exited"
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "hfswim space run did not answer within 180 s"
                time.sleep(0.5)
        assert "hfswim multilingual search" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
