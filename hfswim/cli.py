"""The `hfswim` command: one subcommand per pipeline stage.

This module stays thin: each stage keeps its command in ``hfswim/<stage>/cli.py`` (built from the stage's
config model by :func:`hfswim.options.stage_command`), :data:`COMMANDS` lists them with a loader each, and a
command's module is imported only when that command runs (``hfswim filter`` never imports the training stack),
so ``hfswim --help`` and a mistyped option answer in a fraction of a second.

Exit codes (``main``): 0 success; 1 an unexpected internal error (one line; ``HFSWIM_DEBUG=1`` shows the
traceback); 2 a problem with the command line, the input, the config or the environment (one line naming
it); 3 ``hfswim generate`` finished but some requests failed after all retries; 130 interrupted (Ctrl-C,
SIGINT); 143 terminated (SIGTERM). Example::

    >>> from hfswim.cli import main
    >>> main(["languages", "klingon"])  # prints: hfswim: error: Unknown setting 'klingon'; ...
    2
"""

from __future__ import annotations

import contextlib
import difflib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from hfswim import __version__
from hfswim.errors import HfswimError


class Command(NamedTuple):
    """A subcommand: its name, a function that imports and returns it, and its line in `hfswim --help`.

    The loaders import inside a function so that a command's stage is imported only when that command runs
    (``hfswim filter`` never imports the training stack) while readers and tools can follow the import.
    """

    name: str
    load: Callable[[], Any]
    summary: str


def _run() -> Any:
    from hfswim.cli_run import run

    return run


def _sample() -> Any:
    from hfswim.corpus.cli import sample

    return sample


def _prompts() -> Any:
    from hfswim.prompts.cli import prompts

    return prompts


def _generate() -> Any:
    from hfswim.generation.cli import generate

    return generate


def _filter() -> Any:
    from hfswim.filters.cli import filter_command

    return filter_command


def _build_dataset() -> Any:
    from hfswim.hub.cli import build_dataset

    return build_dataset


def _push_dataset() -> Any:
    from hfswim.hub.cli import push_dataset

    return push_dataset


def _train() -> Any:
    from hfswim.training.cli import train

    return train


def _push_model() -> Any:
    from hfswim.training.cli import push_model

    return push_model


def _evaluate() -> Any:
    from hfswim.evaluation.cli import evaluate

    return evaluate


def _index() -> Any:
    from hfswim.evaluation.cli import index

    return index


def _search() -> Any:
    from hfswim.evaluation.cli import search

    return search


def _report() -> Any:
    from hfswim.report.cli import report

    return report


def _languages() -> Any:
    from hfswim.cli_languages import languages

    return languages


def _space() -> Any:
    from hfswim.space.cli import app as space_app

    return space_app


# The commands, in the order `hfswim --help` lists them. Stage packages own their commands (hfswim/<stage>/cli.py);
# the summaries live here so that listing the commands imports no stage.
COMMANDS: list[Command] = [
    Command("run", _run, "Run sample -> generate -> filter -> build-dataset -> train -> evaluate."),
    Command("sample", _sample, "Cut a corpus into passages and write a seeded stratified sample."),
    Command("prompts", _prompts, "Print the exact prompt(s) a strategy sends for one passage."),
    Command("generate", _generate, "Generate synthetic queries for passages with an LLM."),
    Command("filter", _filter, "Filter generated records; write kept/rejected + report."),
    Command("build-dataset", _build_dataset, "Build a local Hub dataset repo: Parquet configs + card."),
    Command("push-dataset", _push_dataset, "Push a dataset repo folder to the Hub (changed files only)."),
    Command("train", _train, "Fine-tune a retriever (or reranker) on synthetic pairs."),
    Command("push-model", _push_model, "Push a trained model folder and its card to the Hub."),
    Command("evaluate", _evaluate, "Evaluate a retriever on MTEB/BEIR tasks or a held-out split."),
    Command("index", _index, "Encode passages into a faiss index folder."),
    Command("search", _search, "Search an index folder with a query."),
    Command("report", _report, "Write the HTML report of a run: counts, funnel, lengths, scores."),
    Command("languages", _languages, "List the 33 SWIM-IR languages."),
]
# Commands with subcommands (a typer app), e.g. `hfswim space build`.
GROUPS: list[Command] = [
    Command("space", _space, "Build, run and push the demo Space (a Gradio search app over an index)."),
]
_TARGETS = {command.name: command.load for command in COMMANDS}
_GROUPS = {command.name: command.load for command in GROUPS}
_SUMMARIES = {command.name: command.summary for command in COMMANDS + GROUPS}

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
DEBUG_ENV = "HFSWIM_DEBUG"

# click's exception base, whichever click this typer uses (typer >= 0.17 bundles its own copy).
_ClickException: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def load_command(name: str) -> Any:
    """The function behind a subcommand (imports its stage module)."""
    return _TARGETS[name]()


class LazyGroup(TyperGroup):
    """A command group that imports a subcommand's module only when that subcommand is asked for."""

    _listing_only = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*_TARGETS, *_GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = self.commands.get(cmd_name)
        if cmd is not None or cmd_name not in _SUMMARIES:
            return cmd
        if self._listing_only:  # the root help lists names and summaries: no import needed
            return TyperCommand(name=cmd_name, help=_SUMMARIES[cmd_name])
        if cmd_name in _GROUPS:
            group = _GROUPS[cmd_name]()
            cmd = self.commands[cmd_name] = typer.main.get_group(group)
            cmd.name = cmd_name
            return cmd
        sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode="rich")
        sub.command(cmd_name)(load_command(cmd_name))
        cmd = self.commands[cmd_name] = typer.main.get_command(sub)
        return cmd

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing_only = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _UsageError as err:
            message = getattr(err, "message", "")
            close = difflib.get_close_matches(args[0], list(_SUMMARIES), n=2) if args else []
            if close and "Did you mean" not in message and message.startswith("No such command"):
                suggestions = ", ".join(repr(c) for c in close)
                err.message = f"{message.rstrip('.')}. Did you mean {suggestions}?"  # type: ignore[attr-defined]
            raise


app = typer.Typer(
    name="hfswim",
    cls=LazyGroup,
    help=(
        "SWIM-IR on the Hugging Face stack: synthesize multilingual retrieval training data with an LLM.\n\n"
        "Pipeline: sample -> generate -> filter -> build-dataset / push-dataset -> train -> evaluate.\n"
        "`hfswim run` runs the whole pipeline from one config (with no config: an offline demo "
        "on the packaged corpus and the embedded Gemma 3 270M).\n\n"
        "Every stage reads and writes Parquet with one schema (see hfswim.records). Exit codes: 0 ok, "
        "1 internal error, 2 bad command line/input/config, 3 some generation requests failed, "
        "130 interrupted, 143 terminated."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hfswim {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    pass


_signal_received: list[int] = []
_handler_pid: list[int] = []


def _on_sigterm(signum: int, frame: Any) -> None:
    if _handler_pid and os.getpid() != _handler_pid[0]:
        # A forked worker (filter pools) inherited the handler: die as a worker always did, so that a pool's
        # terminate() stays quiet instead of printing a KeyboardInterrupt traceback per worker.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    # Unwind like Ctrl-C (stages stop their servers and write their manifests on KeyboardInterrupt), but
    # remember the signal: a scheduler that sent SIGTERM must see 143, not 130.
    _signal_received.append(signum)
    raise KeyboardInterrupt


def _error(message: str) -> None:
    """One line on stderr: ``hfswim: error: ...`` (newlines in messages from libraries folded)."""
    line = " ".join(str(message).split())
    typer.secho(f"hfswim: error: {line}", fg="red", err=True)


def _given_value(err: Exception, argv: Sequence[str]) -> str | None:
    """The value the user typed for the option a BadParameter is about (typer's messages leave it out)."""
    opts = getattr(getattr(err, "param", None), "opts", None) or []
    for i, token in enumerate(argv):
        for opt in opts:
            if token == opt and i + 1 < len(argv):
                return argv[i + 1]
            if opt.startswith("--") and token.startswith(opt + "="):
                return token[len(opt) + 1 :]
    return None


def _usage_error(err: Exception, argv: Sequence[str]) -> int:
    ctx = getattr(err, "ctx", None)
    hint = ""
    if ctx is not None:
        help_option = (ctx.help_option_names or ["--help"])[0]
        hint = f" Try '{ctx.command_path} {help_option}' for help."
    message = (err.format_message() if hasattr(err, "format_message") else str(err)).strip()
    value = _given_value(err, argv) if type(err).__name__ == "BadParameter" else None
    if value is not None and repr(value) not in message:
        message = f"{message.rstrip('.')} (got {value!r})"
    if not message.endswith((".", "?", "!")):
        message += "."
    _error(f"{message}{hint}")
    return int(getattr(err, "exit_code", EXIT_USAGE) or EXIT_USAGE)


def run_app(typer_app: typer.Typer, argv: Sequence[str] | None = None, prog_name: str = "hfswim") -> int:
    """Run a typer app and return the process exit code; every failure becomes one line on stderr.

    HfswimError -> 2; a usage error (unknown command or option, bad value) -> 2 with a help hint;
    ``typer.Exit(n)`` -> n; Ctrl-C -> 130; SIGTERM -> 143; anything else -> 1, with the traceback only
    when ``HFSWIM_DEBUG=1``.
    """
    _signal_received.clear()
    _handler_pid[:] = [os.getpid()]
    previous = None
    with contextlib.suppress(ValueError):  # not the main thread (an embedding application): leave signals alone
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = _run(typer_app, argv, prog_name)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if signal.SIGTERM in _signal_received:  # whatever the stage made of the interrupt, the scheduler sees 143
        typer.echo("hfswim: terminated (SIGTERM).", err=True)
        return EXIT_TERMINATED
    if code == EXIT_INTERRUPTED:
        typer.echo("hfswim: interrupted.", err=True)
    return code


def _run(typer_app: typer.Typer, argv: Sequence[str] | None, prog_name: str) -> int:
    try:
        result = typer_app(args=list(argv) if argv is not None else None, standalone_mode=False, prog_name=prog_name)
    except HfswimError as err:
        _error(str(err))
        return EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):  # typer turns Ctrl-C into Exit(130); older click into Abort
        return EXIT_INTERRUPTED
    except typer.Exit as done:
        return int(done.exit_code or 0)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else _print_and_fail(str(code)))
    except _ClickException as err:
        if type(err).__name__ == "NoArgsIsHelpError":  # bare `hfswim`: the help itself, on stdout
            ctx = getattr(err, "ctx", None)
            if ctx is not None:
                typer.echo(ctx.get_help())
            return EXIT_USAGE
        if isinstance(err, _UsageError):
            return _usage_error(err, list(argv) if argv is not None else sys.argv[1:])
        _error(err.format_message())  # type: ignore[attr-defined]
        return int(getattr(err, "exit_code", EXIT_INTERNAL) or EXIT_INTERNAL)
    except BrokenPipeError:  # `hfswim search ... | head`: the reader went away; nothing to report
        _silence_stdout()
        return EXIT_INTERNAL
    except Exception as err:  # a bug or an unforeseen environment problem: one line, traceback on request
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        where = f" ({err.filename})" if isinstance(err, OSError) and err.filename else ""
        detail = str(err).splitlines()[0] if str(err) else ""
        _error(
            f"unexpected {type(err).__name__}{where}: {detail} "
            f"(run with {DEBUG_ENV}=1 for the traceback, and please report it)"
        )
        return EXIT_INTERNAL
    return result if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK


def _print_and_fail(message: str) -> int:
    _error(message)
    return EXIT_INTERNAL


def _silence_stdout() -> None:
    # Python flushes stdout at exit and would report the broken pipe again; point it at /dev/null.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: the exit code of the command (see the module docstring)."""
    return run_app(app, argv)


if __name__ == "__main__":
    sys.exit(main())
