"""The `hfswim` command: one subcommand per pipeline stage.

This module stays thin: each stage keeps its command in ``hfswim/<stage>/cli.py``,
and those modules import heavy libraries (torch, transformers) only when run.
"""

from __future__ import annotations

import importlib
import sys

import typer

from hfswim import __version__
from hfswim.errors import HfswimError

app = typer.Typer(
    name="hfswim",
    help=(
        "SWIM-IR on the Hugging Face stack: synthesize multilingual retrieval training data with an LLM.\n\n"
        "Pipeline: sample -> generate -> filter -> build-dataset / push-dataset -> train -> evaluate.\n"
        "`hfswim run` runs the whole pipeline from one config (with no config: an offline demo "
        "on the packaged corpus and the embedded Gemma 3 270M).\n\n"
        "Every stage reads and writes Parquet with one schema (see hfswim.records)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# (command name, "module:function"). Stage packages own their commands.
COMMANDS: list[tuple[str, str]] = [
    ("run", "hfswim.cli_run:run"),
    ("sample", "hfswim.corpus.cli:sample"),
    ("prompts", "hfswim.prompts.cli:prompts"),
    ("generate", "hfswim.generation.cli:generate"),
    ("filter", "hfswim.filters.cli:filter_command"),
    ("build-dataset", "hfswim.hub.cli:build_dataset"),
    ("push-dataset", "hfswim.hub.cli:push_dataset"),
    ("train", "hfswim.training.cli:train"),
    ("push-model", "hfswim.training.cli:push_model"),
    ("evaluate", "hfswim.evaluation.cli:evaluate"),
    ("index", "hfswim.evaluation.cli:index"),
    ("search", "hfswim.evaluation.cli:search"),
    ("languages", "hfswim.cli_languages:languages"),
]
# (group name, "module:typer app"): commands with subcommands, e.g. `hfswim space build`.
GROUPS: list[tuple[str, str]] = [
    ("space", "hfswim.space.cli:app"),
]


def _register() -> None:
    for name, target in COMMANDS:
        module_name, attr = target.split(":")
        func = getattr(importlib.import_module(module_name), attr)
        app.command(name)(func)
    for name, target in GROUPS:
        module_name, attr = target.split(":")
        app.add_typer(getattr(importlib.import_module(module_name), attr), name=name)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hfswim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    pass


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; turns hfswim errors into one clear line."""
    try:
        app(args=argv, standalone_mode=False)
    except HfswimError as err:
        typer.secho(f"hfswim: error: {err}", fg="red", err=True)
        return 2
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return 130
    except (typer.Exit, SystemExit) as done:
        return int(getattr(done, "exit_code", getattr(done, "code", 0)) or 0)
    except Exception as err:  # click usage errors carry their own message
        import click

        if isinstance(err, click.ClickException):
            err.show()
            return err.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
