"""Prompt strategies: how a passage becomes the prompt(s) that produce a synthetic query.

* ``sap`` — two-step summarize-then-ask (SWIM-IR). One summary per passage, then one query per
  target language from the summary; the summary is reused across languages.
* ``sap-naive`` — one-step SAP: one completion holds the summary and then the query, per
  (passage, language). Kept to measure what summary reuse saves.
* ``inpars-vanilla`` / ``inpars-gbq`` — InPars (Bonifacio et al., 2022) few-shot query generation:
  Document / Relevant Query pairs, or Document / Good Question / Bad Question.
* ``promptagator`` — Promptagator-style (Dai et al., 2022) few-shot from up to 8 examples the user
  supplies.

Every prompt is ``prefix + item`` where the prefix (instructions and exemplars) is rendered once per
(strategy, setting, language) and is byte-identical for all passages, so LLM servers' prefix caches
hit; the passage comes last.

Example::

    >>> from hfswim.prompts import get_prompt_strategy
    >>> from hfswim.records import Passage
    >>> sap = get_prompt_strategy("sap", "cross-lingual")
    >>> passage = Passage("d#0", doc_id="d", passage_language="en", title="Kilimanjaro",
    ...                   text="Kilimanjaro is the highest mountain in Africa.")
    >>> sap.summary_prompt(passage).endswith("Summary:")
    True
    >>> sap.query_prompt(passage, "sw", summary="Kilimanjaro is Africa's highest mountain.").endswith("Query (Swahili):")
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, get_args, runtime_checkable

from hfswim.errors import ConfigError, InputError
from hfswim.languages import Language, get_language
from hfswim.prompts.config import QueryContext
from hfswim.prompts.exemplars import SOURCE_LANG, Exemplar, available_languages, load_exemplars
from hfswim.prompts.parser import ParseResult, parse_query_output, parse_sap_output, parse_summary_output
from hfswim.prompts.templates import PromptTemplate, load_template, template_hash
from hfswim.records import CROSS_LINGUAL, MONOLINGUAL, PASSAGE_LANGUAGE, STRATEGIES, Passage, as_passage

STRATEGY_NAMES = STRATEGIES  # named once, in hfswim.records
SETTING_NAMES = (CROSS_LINGUAL, MONOLINGUAL)
QUERY_CONTEXTS = get_args(QueryContext)  # named once, in hfswim.prompts.config
MAX_PROMPTAGATOR_EXAMPLES = 8

# At most 4 stop sequences: TGI's default --max-stop-sequences and OpenAI's limit.
_SAP_STOP = ["\n\n", "\nPassage:", "\nTitle:", "\nSummary:"]
_SAP_NAIVE_STOP = ["\n\n", "\nPassage:", "\nTitle:", "\nExample"]
_INPARS_STOP = ["\n\n", "\nExample", "\nDocument:", "\nBad Question"]
_PROMPTAGATOR_STOP = ["\n\n", "\nArticle:", "\nTitle:", "\nQuery"]


_PROBE_PASSAGE = Passage("probe#0", "probe", "en", "Probe", "Probe.", "")


@runtime_checkable
class PromptStrategy(Protocol):
    """What the generation engine needs from a prompt strategy: the strategy declares its steps, the
    engine never asks for its name.

    Steps:
        ``two_step`` True: a summary step (:meth:`summary_prompt`, :meth:`parse_summary`) once per passage,
        then a query step per language whose prompt sees the summary. False: the query step alone.
        :meth:`parse_query` knows what one query completion holds (the query, or for one-step SAP the
        summary, then the query: its :class:`ParseResult` then carries both). ``query_fields`` names the
        fields of a query step's JSON answer when the server constrains output to a schema (structured output).

    Relations:
        :func:`get_prompt_strategy` builds one by name; :class:`hfswim.generation.GenerationEngine` runs it;
        ``template_hash`` is part of every record's key (:func:`hfswim.records.record_key`).
    """

    name: str
    setting: str
    template_hash: str
    two_step: bool
    stop: list[str]
    query_fields: tuple[str, ...]

    def summary_prompt(self, passage: Passage | dict) -> str: ...

    def query_prompt(self, passage: Passage | dict, lang: str, summary: str | None = None) -> str: ...

    def parse_summary(self, completion: str) -> ParseResult: ...

    def parse_query(self, completion: str) -> ParseResult: ...


@dataclass
class _FewShotStrategy:
    """Shared machinery: exemplar lookup, prefix caching and passage checks."""

    name: str
    setting: str
    num_exemplars: int
    template_dir: str | None
    two_step: bool = False
    stop: list[str] = field(default_factory=list)
    template_hash: str = ""
    query_fields: tuple[str, ...] = ("query",)
    _templates: dict[str, PromptTemplate] = field(default_factory=dict, repr=False)
    _prefixes: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    # --- set-up ---------------------------------------------------------------------------------

    def _use_templates(self, *names: str) -> None:
        self._templates = {name: load_template(name, self.template_dir) for name in names}

    def _hash_payload(self) -> dict[str, Any]:
        # Every exemplar this strategy could put into a prompt, for every language it supports.
        return {
            "strategy": self.name,
            "setting": self.setting,
            "exemplars": {
                code: [ex.to_dict() for ex in load_exemplars(code, self.setting, self.num_exemplars)]
                for code in available_languages(self.setting)
            },
        }

    def _finish(self) -> None:
        self.template_hash = template_hash(self._templates.values(), self._hash_payload())
        # Render each template once now, so that a broken override (say, a misspelled variable)
        # fails at start-up rather than halfway through a run.
        for code in available_languages(self.setting)[:1]:
            for template in self._templates:
                self._render(template, code, passage=_PROBE_PASSAGE, summary="probe summary")

    # --- helpers --------------------------------------------------------------------------------

    def _exemplars(self, lang: str) -> tuple[Exemplar, ...]:
        return load_exemplars(lang, self.setting, self.num_exemplars)

    def _context(self, lang: str) -> dict[str, Any]:
        query_lang = get_language(lang)
        passage_lang = get_language(SOURCE_LANG) if self.setting == CROSS_LINGUAL else query_lang
        # Template variables (Language objects, not record columns) keep their names: the templates' text is part of
        # the template hash, so renaming them would change every record id and void every resumable store.
        return {
            "exemplars": self._exemplars(query_lang.code),
            "query_lang": query_lang,
            "passage_lang": passage_lang,
            "cross_lingual": self.setting == CROSS_LINGUAL,
        }

    def _prefix(self, template: str, lang: str) -> str:
        key = (template, lang)
        prefix = self._prefixes.get(key)
        if prefix is None:
            prefix = self._templates[template].render_prefix(**self._context(lang))
            self._prefixes[key] = prefix
        return prefix

    def _render(self, template: str, lang: str, **item: Any) -> str:
        context = self._context(lang)
        context.update(item)
        return self._prefix(template, lang) + self._templates[template].render_item(**context)

    def _query_lang(self, passage: Passage, lang: str) -> Language:
        """Validate the query language for this setting and a (checked) passage."""
        language = get_language(lang)
        if self.setting == MONOLINGUAL:
            passage_language = passage.passage_language
            if passage_language and get_language(passage_language).code != language.code:
                raise InputError(
                    f"Passage {passage.passage_id!r} is in {passage_language!r} but the monolingual query language "
                    f"is {language.code!r}: monolingual queries are in the passage's language."
                )
        return language

    def _passage_lang(self, passage: Passage) -> str:
        if self.setting == CROSS_LINGUAL:
            return SOURCE_LANG
        code = passage.passage_language
        if not code:
            raise InputError(
                f"Passage {passage.passage_id!r} has no {PASSAGE_LANGUAGE!r}: monolingual prompts need it."
            )
        return get_language(code).code

    # --- protocol defaults ----------------------------------------------------------------------

    def summary_prompt(self, passage: Passage | dict) -> str:
        raise ConfigError(f"Strategy {self.name!r} is one-step: it has no summary prompt (two_step=False).")

    def parse_summary(self, completion: str) -> ParseResult:
        raise ConfigError(f"Strategy {self.name!r} is one-step: it has no summary step (two_step=False).")

    def parse_query(self, completion: str) -> ParseResult:
        """The query of one completion of :meth:`query_prompt`."""
        return parse_query_output(completion)


def _check_passage(passage: Passage | dict) -> Passage:
    """``passage`` as a :class:`~hfswim.records.Passage` (a ``PASSAGE_SCHEMA`` row dict is converted), with text."""
    if not isinstance(passage, Passage | dict):
        raise InputError(
            f"A passage must be a records.Passage (or a dict with PASSAGE_SCHEMA's keys), got {type(passage).__name__}."
        )
    passage = as_passage(passage)
    if not isinstance(passage.text, str) or not passage.text.strip():
        raise InputError(f"Passage {passage.passage_id!r} has an empty 'text': nothing to ask about.")
    return passage


class SapStrategy(_FewShotStrategy):
    """Two-step summarize-then-ask: ``summary_prompt`` once per passage, ``query_prompt`` per language."""

    def __init__(self, setting: str, *, num_exemplars: int, template_dir: str | None, query_context: str) -> None:
        super().__init__("sap", setting, num_exemplars, template_dir, two_step=True, stop=list(_SAP_STOP))
        if query_context not in QUERY_CONTEXTS:
            raise ConfigError(f"Unknown query_context {query_context!r}; expected one of {', '.join(QUERY_CONTEXTS)}.")
        self.query_context = query_context
        self._use_templates("sap_summary", "sap_query")
        self._finish()

    def _hash_payload(self) -> dict[str, Any]:
        return {**super()._hash_payload(), "query_context": self.query_context}

    def _context(self, lang: str) -> dict[str, Any]:
        return {**super()._context(lang), "with_passage": self.query_context == "passage+summary"}

    def summary_prompt(self, passage: Passage | dict) -> str:
        """The summarize step. Cross-lingual: English exemplars, so one summary serves every language."""
        passage = _check_passage(passage)
        return self._render("sap_summary", self._passage_lang(passage), passage=passage)

    def query_prompt(self, passage: Passage | dict, lang: str, summary: str | None = None) -> str:
        """The ask step: exemplar (summary, query) pairs, then this passage's title and summary."""
        passage = _check_passage(passage)
        language = self._query_lang(passage, lang)
        if not summary or not summary.strip():
            raise InputError(
                f"The SAP query prompt for passage {passage.passage_id!r} needs its summary "
                "(from summary_prompt + parse_summary)."
            )
        return self._render("sap_query", language.code, passage=passage, summary=summary)

    def parse_summary(self, completion: str) -> ParseResult:
        return parse_summary_output(completion)


class SapNaiveStrategy(_FewShotStrategy):
    """One-step SAP: one completion holds the summary, then ``Query (<Lang>): ...``."""

    def __init__(self, setting: str, *, num_exemplars: int, template_dir: str | None) -> None:
        super().__init__("sap-naive", setting, num_exemplars, template_dir, stop=list(_SAP_NAIVE_STOP))
        self.query_fields = ("summary", "query")
        self._use_templates("sap_full")
        self._finish()

    def query_prompt(self, passage: Passage | dict, lang: str, summary: str | None = None) -> str:
        passage = _check_passage(passage)
        language = self._query_lang(passage, lang)
        return self._render("sap_full", language.code, passage=passage)

    def parse_query(self, completion: str) -> ParseResult:
        """One completion holds the summary, then the query: both are parsed."""
        return parse_sap_output(completion)


class InParsStrategy(_FewShotStrategy):
    """InPars few-shot query generation, ``variant`` "vanilla" or "gbq"; one step, query only."""

    def __init__(self, variant: str, setting: str, *, num_exemplars: int, template_dir: str | None) -> None:
        super().__init__(f"inpars-{variant}", setting, num_exemplars, template_dir, stop=list(_INPARS_STOP))
        self._template_name = f"inpars_{variant}"
        self._use_templates(self._template_name)
        self._finish()

    def query_prompt(self, passage: Passage | dict, lang: str, summary: str | None = None) -> str:
        passage = _check_passage(passage)
        language = self._query_lang(passage, lang)
        return self._render(self._template_name, language.code, passage=passage)


class PromptagatorStrategy(_FewShotStrategy):
    """Promptagator-style few-shot from the user's own (text, query) examples; one step, query only."""

    def __init__(self, setting: str, *, examples: list[dict] | None, template_dir: str | None) -> None:
        self._examples = _check_examples(examples)
        super().__init__("promptagator", setting, len(self._examples), template_dir, stop=list(_PROMPTAGATOR_STOP))
        self._use_templates("promptagator")
        self._finish()

    def _exemplars(self, lang: str) -> tuple[Exemplar, ...]:
        return self._examples

    def _hash_payload(self) -> dict[str, Any]:
        return {"strategy": self.name, "setting": self.setting, "examples": [ex.to_dict() for ex in self._examples]}

    def query_prompt(self, passage: Passage | dict, lang: str, summary: str | None = None) -> str:
        passage = _check_passage(passage)
        language = self._query_lang(passage, lang)
        return self._render("promptagator", language.code, passage=passage)


def _check_examples(examples: list[dict] | None) -> tuple[Exemplar, ...]:
    if not examples:
        raise ConfigError(
            "The promptagator strategy needs few-shot examples: pass examples=[{'text': ..., 'query': ...}, ...] "
            f"(1 to {MAX_PROMPTAGATOR_EXAMPLES}, ideally from your target domain)."
        )
    if not isinstance(examples, (list, tuple)) or len(examples) > MAX_PROMPTAGATOR_EXAMPLES:
        raise ConfigError(
            f"examples must be a list of at most {MAX_PROMPTAGATOR_EXAMPLES} dicts, got "
            f"{len(examples) if isinstance(examples, (list, tuple)) else type(examples).__name__}."
        )
    out = []
    for i, example in enumerate(examples):
        if not isinstance(example, dict):
            raise ConfigError(f"examples[{i}] must be a dict with 'text' and 'query', got {type(example).__name__}.")
        for key in ("text", "query"):
            if not isinstance(example.get(key), str) or not example[key].strip():
                raise ConfigError(f"examples[{i}] needs a non-empty string {key!r}; it has keys {sorted(example)}.")
        title = example.get("title") or ""
        if not isinstance(title, str):
            raise ConfigError(f"examples[{i}]['title'] must be a string.")
        out.append(
            Exemplar(
                id=str(i),
                title=title.strip(),
                text=example["text"].strip(),
                summary="",
                query=example["query"].strip(),
                bad_query="",
                passage_lang=str(example.get("lang", "")),
                query_lang=str(example.get("lang", "")),
            )
        )
    return tuple(out)


def get_prompt_strategy(
    name: str = "sap",
    setting: str = CROSS_LINGUAL,
    *,
    template_dir: str | None = None,
    num_exemplars: int = 3,
    examples: list[dict] | None = None,
    query_context: str = "summary",
) -> PromptStrategy:
    """Build a prompt strategy.

    Args:
        name: "sap" (two-step, summary reused across languages), "sap-naive" (one step),
            "inpars-vanilla", "inpars-gbq" or "promptagator".
        setting: "cross-lingual" (English passages, queries in the target language) or
            "monolingual" (everything in the passage's language).
        template_dir: a folder whose ``<name>.jinja`` files replace the packaged templates.
        num_exemplars: few-shot exemplars per prompt (packaged exemplars; not for promptagator).
        examples: promptagator only: ``[{"text": ..., "query": ..., "title": optional}]``, 1 to 8.
        query_context: "sap" only: "summary" (the query step sees title + summary; cheapest) or
            "passage+summary" (it also sees the passage).

    Raises:
        ConfigError: unknown name/setting/option, bad examples, or a missing/invalid template override.
    """
    if name not in STRATEGY_NAMES:
        raise ConfigError(f"Unknown prompt strategy {name!r}; expected one of {', '.join(STRATEGY_NAMES)}.")
    if setting not in SETTING_NAMES:
        raise ConfigError(f"Unknown setting {setting!r}; expected one of {', '.join(SETTING_NAMES)}.")
    if examples is not None and name != "promptagator":
        raise ConfigError(f"examples= is for the promptagator strategy; {name!r} uses the packaged exemplars.")
    if query_context != "summary" and name != "sap":
        raise ConfigError(f"query_context= applies to the two-step 'sap' strategy only, not {name!r}.")
    template_dir = str(template_dir) if template_dir is not None else None
    if name == "sap":
        return SapStrategy(setting, num_exemplars=num_exemplars, template_dir=template_dir, query_context=query_context)
    if name == "sap-naive":
        return SapNaiveStrategy(setting, num_exemplars=num_exemplars, template_dir=template_dir)
    if name in ("inpars-vanilla", "inpars-gbq"):
        variant = name.split("-", 1)[1]
        return InParsStrategy(variant, setting, num_exemplars=num_exemplars, template_dir=template_dir)
    return PromptagatorStrategy(setting, examples=examples, template_dir=template_dir)
