"""``python -m hfswim.training ...`` runs ``hfswim train ...``: the entry point for multi-GPU launchers.

One process per GPU; each gets ``--batch-size`` pairs per step, and the ranking losses gather
embeddings across processes, so the in-batch negatives are the global batch (4 x 1024 = SWIM-X's 4096)::

    accelerate launch --num_processes 4 -m hfswim.training DATASET --output runs/model --batch-size 1024
    torchrun --nproc_per_node 4 -m hfswim.training DATASET --output runs/model --batch-size 1024
"""

from __future__ import annotations

import sys

import typer

from hfswim.cli import run_app
from hfswim.training.cli import train


def main(argv: list[str] | None = None) -> int:
    """``hfswim train`` as its own program, with the same exit codes and one-line errors as ``hfswim``."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(train)
    return run_app(app, argv, prog_name="python -m hfswim.training")


if __name__ == "__main__":
    sys.exit(main())
