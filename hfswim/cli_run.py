"""`hfswim run`: the whole pipeline from one YAML config."""

from __future__ import annotations

from pathlib import Path

import typer


def run(
    config: Path = typer.Argument(
        None,
        help="Pipeline YAML (sections: corpus, generate, filter, dataset, train, evaluate), or the name of a "
        "packaged one: demo, inpars. Default: the packaged offline demo (demo corpus, embedded Gemma 3 270M, USE "
        "Multilingual v3).",
        show_default=False,
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Output folder (overrides the config's output_dir)."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the config that would run, and exit."),
) -> None:
    """Run sample -> generate -> filter -> build-dataset -> train -> evaluate from one config.

    Each stage writes into its own folder under the output folder; re-running the same
    config after an interruption resumes (finished generations are never requested again).

    Examples:

        hfswim run                          # the offline demo, into runs/hfswim
        hfswim run pipeline.yaml -o runs/sw

        hfswim run inpars                   # InPars: prompts, log-prob filter, BM25 negatives, reranker
    """
    from hfswim.config import PipelineConfig, demo_config_path
    from hfswim.pipeline import run_pipeline

    path = config or demo_config_path()
    packaged = demo_config_path().with_name(f"{config}.yaml") if config is not None else None
    if config is not None and not config.exists() and packaged is not None and packaged.is_file():
        path = packaged  # a packaged config by name: `hfswim run inpars`
    cfg = PipelineConfig.from_yaml(path)
    if print_config:
        typer.echo(path.read_text(encoding="utf-8"))
        raise typer.Exit()
    run_pipeline(cfg, output)
