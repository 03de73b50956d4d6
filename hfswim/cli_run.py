"""`hfswim run`: the whole pipeline from one YAML config."""

from __future__ import annotations

from pathlib import Path

import typer

from hfswim.options import short_flag


def run(
    config: Path = typer.Argument(
        None,
        metavar="[CONFIG]",
        help="Pipeline YAML (sections: corpus, generate, filter, dataset, train, evaluate). "
        "Default: the packaged offline demo (demo corpus, embedded Gemma 3 270M, USE Multilingual v3).",
        show_default=False,
    ),
    config_option: Path = typer.Option(
        None, *short_flag("--config"), help="The pipeline YAML, as an option (the same as CONFIG).", metavar="FILE"
    ),
    output: Path = typer.Option(
        None, *short_flag("--output"), help="Output folder (overrides the config's output_dir; the demo's: runs/demo)."
    ),
    print_config: bool = typer.Option(False, "--print-config", help="Print the config that would run, and exit."),
) -> None:
    """Run sample -> generate -> filter -> build-dataset -> train -> evaluate from one config.

    Each stage writes into its own folder under the output folder; re-running the same
    config after an interruption resumes (finished generations are never requested again).

    Examples:

        hfswim run                          # the offline demo, into runs/demo

        hfswim run pipeline.yaml -o runs/sw

    A section holds the options of its stage's command, under the same names ('--max-steps' is 'max_steps:'
    under 'train:'); every section is validated before the first stage runs.
    """
    from hfswim.config import PipelineConfig, demo_config_path
    from hfswim.pipeline import run_pipeline

    path = config or config_option or demo_config_path()
    cfg = PipelineConfig.from_yaml(path)
    if print_config:
        typer.echo(path.read_text(encoding="utf-8"))
        raise typer.Exit()
    run_pipeline(cfg, output)
