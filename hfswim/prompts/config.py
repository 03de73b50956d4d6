"""The prompt options, declared once: ``hfswim prompts show`` and ``hfswim generate`` (which extends them) share
these fields, so a prompt renders the same in both.

    >>> PromptsConfig(languages="sw,yo").language_codes()
    ['sw', 'yo']
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hfswim.options import Cli
from hfswim.records import CROSS_LINGUAL, MONOLINGUAL, STRATEGIES

Strategy = Literal[STRATEGIES]  # type: ignore[valid-type]
# What sap's query step sees: the summary (cheapest) or the passage and the summary.
QueryContext = Literal["summary", "passage+summary"]


class PromptOptions(BaseModel):
    """What the prompts say: strategy, setting, languages, templates and exemplars."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    strategy: Strategy = Field(
        "sap",
        description="Prompt strategy: sap (summarize, then one query per language), sap-naive (both in one "
        "request), inpars-vanilla, inpars-gbq, promptagator (needs --examples).",
    )
    setting: Literal["cross-lingual", "monolingual"] = Field(
        CROSS_LINGUAL, description="cross-lingual (English passages, queries in other languages) or monolingual."
    )
    languages: list[str] | str | None = Field(
        default=None,
        description="Query languages: codes or names ('sw,yo') or a setting (xor, miracl, indic); default: xor "
        "(cross-lingual), miracl (monolingual).",
    )
    template_dir: str | None = Field(None, description="Folder of .jinja files overriding the packaged templates.")
    num_exemplars: int = Field(default=3, ge=0, description="Few-shot exemplars per prompt.")
    examples: Annotated[str | None, Cli(aliases=("--examples-file",))] = Field(
        default=None, description="Promptagator: JSONL of {text, query[, title]} examples for the few-shot prompt."
    )
    query_context: QueryContext = Field(
        "summary", description="sap: what the query step sees, the summary or passage+summary."
    )

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str] | str | None) -> list[str] | str | None:
        from hfswim.languages import parse_languages

        if value is not None:
            parse_languages(value)  # raises ConfigError naming close matches
        return value

    @property
    def is_monolingual(self) -> bool:
        return self.setting == MONOLINGUAL

    def language_codes(self) -> list[str]:
        from hfswim.languages import parse_languages

        spec = self.languages if self.languages is not None else ("miracl" if self.is_monolingual else "xor")
        return [lang.code for lang in parse_languages(spec)]


class PromptsConfig(PromptOptions):
    """``hfswim prompts show``: the prompt options, and the passage to render them for."""

    languages: Annotated[list[str] | str | None, Cli(aliases=("--lang",))] = Field(
        "sw", description="Query languages: codes or names ('sw,yo'), or a setting (xor, miracl, indic)."
    )
    passage_file: Path | None = Field(
        None,
        description="A passage to render: .json object or first row of .jsonl (records.PASSAGE_SCHEMA keys), or "
        "plain text. Default: a short English demo passage.",
    )
    summary: str | None = Field(
        None, description="sap only: the step-1 summary to put in the query prompt (default: a placeholder)."
    )
