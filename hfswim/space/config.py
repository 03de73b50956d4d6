"""The options of ``hfswim space build``, declared once (the command's flags and ``--config`` come from them).

>>> SpaceOptions(title="Swahili search").color_from
'indigo'
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from hfswim.options import Cli

# The Hub's card gradient colours.
Color = Literal["red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"]
COLORS: tuple[str, ...] = get_args(Color)


class SpaceOptions(BaseModel):
    """How the Space presents itself (the card's front matter and the page's title)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field("hfswim multilingual search", description="Page and card title.")
    emoji: str = Field("🔎", description="The Space's emoji on the Hub.")
    color_from: Color = Field("indigo", description="Card gradient start.")
    color_to: Color = Field("green", description="Card gradient end.")
    license: str = Field("apache-2.0", description="The Space's license id.")
    short_description: str = Field(
        "Multilingual dense retrieval over a faiss index", max_length=60, description="At most 60 characters."
    )
    examples: Annotated[list[str], Cli("--example", repeat=True)] = Field(
        default_factory=list, description="An example question (repeatable; default: 10 questions in 10 languages)."
    )
    max_query_chars: int = Field(512, ge=1, le=10_000, description="Longer questions are cut (server side).")
    datasets: Annotated[list[str], Cli("--dataset", repeat=True)] = Field(
        default_factory=list, description="Hub dataset the passages come from (repeatable)."
    )


class SpaceBuildConfig(SpaceOptions):
    """``hfswim space build``: what to put in the Space folder, and how it presents itself."""

    output: Path = Field(description="The Space folder to write (an earlier build there is replaced).")
    index: Path | None = Field(
        None, description="Index folder from `hfswim index` (default: the packaged demo corpus, indexed now)."
    )
    model: str | None = Field(
        None, description="Query encoder (default: the model recorded in the index; the default encoder)."
    )
    model_repo: str | None = Field(
        None, description="Load the encoder from this Hub model repo at start instead of copying its files."
    )
    check: bool = Field(True, description="Load the built Space and run one query.")
