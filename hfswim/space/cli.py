"""``hfswim space build | push | run``: the demo Space, from an index to a running Hub Space."""

from __future__ import annotations

from pathlib import Path

import typer

from hfswim.hub.config import PushConfig
from hfswim.options import stage_command

app = typer.Typer(
    name="space",
    help="Build, run and push the demo Gradio Space (multilingual search over an `hfswim index` folder).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("build")
def build(
    output: Path = typer.Argument(..., help="The Space folder to write (an earlier build there is replaced)."),
    index: Path | None = typer.Option(
        None, "--index", "-i", help="Index folder from `hfswim index` (default: the packaged demo corpus, indexed now)."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Query encoder (default: the model recorded in the index; the default encoder)."
    ),
    model_repo: str | None = typer.Option(
        None, "--model-repo", help="Load the encoder from this Hub model repo at start instead of copying its files."
    ),
    title: str = typer.Option("hfswim multilingual search", "--title", help="Page and card title."),
    emoji: str = typer.Option("🔎", "--emoji", help="The Space's emoji on the Hub."),
    color_from: str = typer.Option("indigo", "--color-from", help="Card gradient start (red, yellow, green, ...)."),
    color_to: str = typer.Option("green", "--color-to", help="Card gradient end."),
    license: str = typer.Option("apache-2.0", "--license", help="The Space's license id."),
    short_description: str = typer.Option(
        "Multilingual dense retrieval over a faiss index", "--short-description", help="At most 60 characters."
    ),
    example: list[str] | None = typer.Option(
        None, "--example", help="An example question (repeatable; default: 10 questions in 10 languages)."
    ),
    dataset: list[str] | None = typer.Option(
        None, "--dataset", help="Hub dataset the passages come from (repeatable)."
    ),
    max_query_chars: int = typer.Option(512, "--max-query-chars", help="Longer questions are cut (server side)."),
    check: bool = typer.Option(True, "--check/--no-check", help="Load the built Space and run one query."),
) -> None:
    """Write a Space folder that runs on the Hugging Face Hub as it is.

    OUTPUT gets README.md (Space card: sdk gradio, sdk_version, app_file, ...), app.py (needs PyPI packages only), requirements.txt, space.json, index/ and model/ (the encoder's files; --model-repo ORG/NAME makes the Space load it from the Hub instead).

    Examples:

      hfswim space build runs/space                              # demo corpus, default encoder

      hfswim space build runs/space --index runs/index --title "Swahili search" --example "Mlima Kenya una urefu gani?"

    Then: `cd runs/space && python app.py`, or `hfswim space push me/hfswim-search runs/space`.
    """
    from hfswim.space.build import SpaceOptions, build_space

    options = SpaceOptions(
        title=title,
        emoji=emoji,
        color_from=color_from,
        color_to=color_to,
        license=license,
        short_description=short_description,
        examples=list(example or []),
        datasets=list(dataset or []),
        max_query_chars=max_query_chars,
    )
    built = build_space(output, index, model=model, model_repo=model_repo, options=options, check=check)
    where = "copied into model/" if built.model_copied else f"loaded from the Hub ({built.model})"
    typer.echo(
        f"Space folder {built.folder}: {built.count:,} passages in {len(built.languages)} languages, "
        f"encoder {built.model_name} ({where}), {built.size_bytes / 2**20:.1f} MiB"
        + ("; checked: it loads and answers" if check else "")
    )


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
