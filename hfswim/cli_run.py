"""`hfswim run`: the whole pipeline from one YAML config."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import BaseModel, Field

from hfswim.options import VERBOSE_HELP, short_flag


class RunOptions(BaseModel):
    """Options of `hfswim run` itself (the stages' options live in the config's sections)."""

    output: Path | None = Field(None, description="Output folder (overrides the config's output_dir).")
    set: list[str] = Field(
        default_factory=list,
        description="Override one config value: section.key=value, value parsed as YAML "
        "(e.g. --set generate.languages=sw,yo --set train.max_steps=100; --set train=null skips a stage). Repeatable.",
    )
    force: list[str] = Field(
        default_factory=list,
        description="Re-run this stage even if unchanged since the last run (sample, generate, filter, dataset, "
        "train, evaluate); the stages after it re-run when its output changed. Repeatable.",
    )
    print_config: bool = Field(
        False, description="Print the resolved config that would run (every default filled in) as YAML, and exit."
    )
    verbose: bool = Field(False, description=VERBOSE_HELP)


_HELP = {name: field.description for name, field in RunOptions.model_fields.items()}


def run(
    config: Path = typer.Argument(
        None,
        metavar="[CONFIG]",
        help="Pipeline YAML (sections: corpus, generate, filter, dataset, train, evaluate), or the name of a "
        "packaged one: demo, inpars. Default: the packaged offline demo (XQuAD demo paragraphs, embedded Gemma 3 "
        "270M, USE Multilingual v3).",
        show_default=False,
    ),
    config_option: Path = typer.Option(
        None, *short_flag("--config"), help="The pipeline YAML, as an option (the same as CONFIG).", metavar="FILE"
    ),
    output: Path = typer.Option(None, *short_flag("--output"), help=_HELP["output"] + " The demo's: runs/demo."),
    set_: list[str] = typer.Option(None, "--set", help=_HELP["set"], show_default=False),
    force: list[str] = typer.Option(None, "--force", help=_HELP["force"], show_default=False),
    print_config: bool = typer.Option(False, "--print-config", help=_HELP["print_config"]),
    verbose: bool = typer.Option(False, "--verbose", help=_HELP["verbose"]),
) -> None:
    """Run sample -> generate -> filter -> build-dataset -> train -> evaluate -> report from one config.

    Each stage writes into its own folder under the output folder. A re-run reuses every stage whose settings and inputs are unchanged (fingerprints in pipeline.json) and resumes an interrupted generation; the report is in OUTPUT/report/report.html.

    Examples:

        hfswim run                          # the offline demo, into runs/demo

        hfswim run pipeline.yaml -o runs/sw --set generate.languages=sw,yo

        hfswim run pipeline.yaml --force train

    A section holds the options of its stage's command, under the same names ('--max-steps' is 'max_steps:'
    under 'train:'); every section is validated before the first stage runs.

        hfswim run inpars                   # InPars: prompts, log-prob filter, BM25 negatives, reranker
    """
    from hfswim.config import PipelineConfig, demo_config_path
    from hfswim.noise import third_party_noise
    from hfswim.pipeline import resolved_config, run_pipeline, stage_name

    path = config or config_option or demo_config_path()
    if not path.exists() and path.parent == Path(".") and not path.suffix:
        packaged = demo_config_path().with_name(f"{path.name}.yaml")
        if packaged.is_file():
            path = packaged  # a packaged config by name: `hfswim run inpars`
    options = RunOptions(output=output, set=set_ or [], force=force or [], print_config=print_config, verbose=verbose)
    cfg = PipelineConfig.from_yaml(path, options.set)
    for name in options.force:
        stage_name(name)  # an unknown stage is an error before anything runs
    if options.print_config:
        import yaml

        typer.echo(yaml.safe_dump(resolved_config(cfg, options.output), sort_keys=False, allow_unicode=True))
        raise typer.Exit()
    with third_party_noise(verbose=options.verbose):
        run_pipeline(cfg, options.output, force=options.force)
