"""``hfswim space build | push | run``: the demo Space, from an index to a running Hub Space."""

from __future__ import annotations

from pathlib import Path

import typer

from hfswim.hub.config import PushConfig
from hfswim.options import stage_command
from hfswim.space.config import SpaceBuildConfig

app = typer.Typer(
    name="space",
    help="Build, run and push the demo Gradio Space (multilingual search over an `hfswim index` folder).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _build(config: SpaceBuildConfig) -> None:
    """Write a Space folder that runs on the Hugging Face Hub as it is.

    OUTPUT gets README.md (Space card: sdk gradio, sdk_version, app_file, ...), app.py (needs PyPI packages only), requirements.txt, space.json, index/ and model/ (the encoder's files; --model-repo ORG/NAME makes the Space load it from the Hub instead).

    Examples:

      hfswim space build runs/space                              # demo corpus, default encoder

      hfswim space build runs/space --index runs/index --title "Swahili search" --example "Mlima Kenya una urefu gani?"

    Then: `cd runs/space && python app.py`, or `hfswim space push me/hfswim-search runs/space`.
    """
    from hfswim.space.build import build_space

    built = build_space(
        config.output,
        config.index,
        model=config.model,
        model_repo=config.model_repo,
        options=config,
        check=config.check,
    )
    where = "copied into model/" if built.model_copied else f"loaded from the Hub ({built.model})"
    typer.echo(
        f"Space folder {built.folder}: {built.count:,} passages in {len(built.languages)} languages, "
        f"encoder {built.model_name} ({where}), {built.size_bytes / 2**20:.1f} MiB"
        + ("; checked: it loads and answers" if config.check else "")
    )


app.command("build")(stage_command(SpaceBuildConfig, _build, arguments=("output",)))


def _push(config: PushConfig) -> None:
    """Push a Space folder to the Hugging Face Hub, uploading only changed files.

    The push-dataset rules: one resumable upload, nothing sent when the Hub already has the folder, index/ and model/ files the folder no longer has deleted in the same commit. The token is never printed.

    Example:

      hfswim space push me/hfswim-search runs/space --private
    """
    from hfswim.errors import ConfigError
    from hfswim.hub.upload import resolve_token
    from hfswim.space.push import check_space_folder, push_space

    if config.folder is None:
        raise ConfigError("space push: give FOLDER, the folder written by `hfswim space build`.")
    check_space_folder(config.folder)
    result = push_space(
        config.folder,
        config.repo_id,
        private=config.private,
        revision=config.revision,
        commit_message=config.commit_message,
        token=resolve_token(config.token),
    )
    typer.echo(result.summary())


app.command("push")(stage_command(PushConfig, _push, arguments=("repo_id", "folder")))


@app.command("run")
def run(
    folder: Path | None = typer.Argument(None, help="A built Space folder (default: serve --index directly)."),
    index: Path | None = typer.Option(
        None, "--index", "-i", help="Index folder (default: the demo corpus, indexed now)."
    ),
    model: str | None = typer.Option(None, "--model", "-m", help="Query encoder (default: the one in index.json)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(7860, "--port", help="Port to listen on."),
) -> None:
    """Serve the Space's app locally, from a built folder or straight from an index.

    Examples:

      hfswim space run runs/space

      hfswim space run --index runs/index --port 7861
    """
    from hfswim.space.local import local_app

    demo = local_app(folder=folder, index=index, model=model)
    from hfswim.space.app import launch

    launch(demo, server_name=host, server_port=port)
