"""`hfswim report RUN_DIR`: the run report page and its charts."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import BaseModel, Field


class ReportOptions(BaseModel):
    """Options of `hfswim report`."""

    run_dir: Path = Field(description="Run folder written by `hfswim run` (or holding generate/, filter/, ...).")
    output: Path | None = Field(None, description="Folder for report.html and the PNG charts (default RUN_DIR/report).")


_HELP = {name: field.description for name, field in ReportOptions.model_fields.items()}


def report(
    run_dir: Path = typer.Argument(..., help=_HELP["run_dir"], show_default=False),
    output: Path = typer.Option(None, "--output", "-o", help=_HELP["output"], show_default=False),
) -> None:
    """Write one self-contained HTML page about a run: counts, filter funnel, query lengths, samples, scores.

    Example:

        hfswim report runs/demo            # -> runs/demo/report/report.html
    """
    from hfswim.report import write_report

    options = ReportOptions(run_dir=run_dir, output=output)
    result = write_report(options.run_dir, options.output)
    typer.echo(f"Report: {result.html} ({len(result.charts)} charts)")
