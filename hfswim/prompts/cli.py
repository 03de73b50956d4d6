"""`hfswim prompts show`: print the exact prompt(s) a strategy sends for one passage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer

from hfswim.options import stage_command
from hfswim.prompts.config import PromptsConfig
from hfswim.records import Passage

_DEMO_PASSAGE = Passage(
    passage_id="demo#0",
    doc_id="demo",
    passage_language="en",
    title="Kilimanjaro",
    text=(
        "Kilimanjaro is a dormant volcano in northern Tanzania and, at 5,895 metres, the highest mountain in Africa. "
        "It has three volcanic cones, Kibo, Mawenzi and Shira. Its glaciers have shrunk by more than 80 percent "
        "since 1912, and scientists expect them to disappear within a few decades."
    ),
    source="hfswim demo",
)


def _read_passage(path: Path, lang: str | None) -> Passage:
    import json

    from hfswim.errors import InputError
    from hfswim.io import read_text

    if not path.is_file():
        raise InputError(f"--passage-file {path}: no such file.")
    text = read_text(path, "passage file")
    if path.suffix in (".json", ".jsonl"):
        first = next((line for line in text.splitlines() if line.strip()), "") if path.suffix == ".jsonl" else text
        try:
            row = json.loads(first)
        except json.JSONDecodeError as err:
            raise InputError(f"--passage-file {path}:{err.lineno}:{err.colno}: invalid JSON ({err.msg}).") from err
        if not isinstance(row, dict) or not row.get("text"):
            raise InputError(f"--passage-file {path}: expected an object with a 'text' key (records.PASSAGE_SCHEMA).")
        passage = Passage.from_dict({"passage_id": "file#0", "doc_id": "file", "title": "", "source": str(path), **row})
    else:
        passage = Passage("file#0", "file", None, "", text.strip(), str(path))
    if lang and not passage.passage_language:
        passage.passage_language = lang
    return passage


def _prompts(
    config: PromptsConfig,
    action: str = typer.Argument("show", help="What to do; `show` prints the rendered prompt(s)."),
) -> None:
    """Print the exact prompt(s) a prompt strategy sends to the LLM, for debugging templates and exemplars.

    Two-step SAP prints the summary prompt, then the query prompt; other strategies print one prompt. With several
    --languages, the prompts of each language follow one another.

    The header shows the template hash (part of every record key) and the stop sequences. The options are
    `hfswim generate`'s prompt options (hfswim.prompts.config.PromptOptions), with the same names and defaults.

    Examples:

        hfswim prompts show --strategy sap --setting cross-lingual --languages sw

        hfswim prompts show -s sap-naive --setting monolingual -l de --passage-file passage.json

        hfswim prompts show -s inpars-gbq -l hi,bn --template-dir my_templates/
    """
    from hfswim.errors import ConfigError
    from hfswim.languages import get_language
    from hfswim.prompts import get_prompt_strategy
    from hfswim.records import MONOLINGUAL

    if action != "show":
        raise ConfigError(f"Unknown action {action!r} for `hfswim prompts`; expected `show`.")
    examples = None
    if config.examples is not None:
        from hfswim.io import iter_jsonl

        examples = list(iter_jsonl(config.examples))
    strat = get_prompt_strategy(
        config.strategy,
        config.setting,
        template_dir=config.template_dir,
        num_exemplars=config.num_exemplars,
        examples=examples,
        query_context=config.query_context,
    )
    rule = "-" * 80
    for code in config.language_codes():
        language = get_language(code)
        if config.passage_file is not None:
            passage = _read_passage(config.passage_file, language.code if config.setting == MONOLINGUAL else "en")
        elif config.setting == MONOLINGUAL:
            from hfswim.prompts.exemplars import load_exemplars

            # A passage in the query language: the last packaged exemplar, as a stand-in.
            ex = load_exemplars(language.code, MONOLINGUAL, 3)[-1]
            passage = replace(_DEMO_PASSAGE, passage_language=language.code, title=ex.title, text=ex.text)
        else:
            passage = _DEMO_PASSAGE
        typer.echo(f"# strategy={strat.name} setting={strat.setting} lang={language.code} ({language.english_name})")
        typer.echo(f"# template_hash={strat.template_hash} two_step={strat.two_step} stop={strat.stop!r}")
        if strat.two_step:
            typer.echo(f"{rule}\n# summary prompt\n{rule}")
            typer.echo(strat.summary_prompt(passage))
            typer.echo(f"{rule}\n# query prompt ({language.english_name})\n{rule}")
            summary = config.summary or "<the summary written in step 1>"
            typer.echo(strat.query_prompt(passage, language.code, summary))
        else:
            typer.echo(f"{rule}\n# prompt ({language.english_name})\n{rule}")
            typer.echo(strat.query_prompt(passage, language.code))


prompts = stage_command(PromptsConfig, _prompts)
