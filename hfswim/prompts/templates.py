"""Load, validate and render the Jinja prompt templates, packaged or overridden by the user.

Every template defines two blocks:

* ``prefix`` — instructions and few-shot exemplars. It depends only on (strategy, setting,
  language), so it is rendered once and is byte-identical for every passage: TGI/vLLM prefix
  caching then reuses its KV cache across requests.
* ``item`` — the passage (and, for the SAP query step, its summary), ending exactly where the
  model must continue (``Summary:``, ``Query (Swahili):``...).

A prompt is ``prefix + item``. Users override a template by putting a file of the same name
(``sap_summary.jinja``...) in a folder passed as ``template_dir=``; the other templates stay packaged.
Templates run under :class:`jinja2.StrictUndefined`, so a misspelled variable is an error, not an
empty string.

Example::

    >>> from hfswim.prompts.templates import load_template
    >>> template = load_template("sap_summary")
    >>> template.name, template.path.name
    ('sap_summary', 'sap_summary.jinja')
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from hfswim.errors import ConfigError
from hfswim.records import canonical_json

PACKAGED_TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAMES = ("sap_summary", "sap_query", "sap_full", "inpars_vanilla", "inpars_gbq", "promptagator")
REQUIRED_BLOCKS = ("prefix", "item")


def oneline(value: Any) -> str:
    """Jinja filter: collapse all whitespace (newlines too) into single spaces.

    Prompts use blank lines to separate exemplars and as a stop sequence, so text inserted into
    a prompt must not carry its own.
    """
    return " ".join(str(value if value is not None else "").split())


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["oneline"] = oneline
    return env


_ENV = _environment()


@dataclass(frozen=True)
class PromptTemplate:
    """One compiled template file.

    Attributes:
        name: the template name, e.g. ``"sap_summary"``.
        path: the file it came from.
        source: the file's text (part of the template hash).
    """

    name: str
    path: Path
    source: str
    _template: jinja2.Template = field(repr=False, compare=False)

    def _render_block(self, block: str, context: dict[str, Any]) -> str:
        try:
            return "".join(self._template.blocks[block](self._template.new_context(context)))
        except jinja2.UndefinedError as err:
            raise ConfigError(
                f"Template {self.path} (block {block!r}) uses an undefined variable: {err.message}. "
                f"Available: {', '.join(sorted(context))}."
            ) from err
        except jinja2.TemplateError as err:
            raise ConfigError(f"Template {self.path} (block {block!r}) failed to render: {err}") from err

    def render_prefix(self, **context: Any) -> str:
        """The shared few-shot prefix: instructions and exemplars."""
        return self._render_block("prefix", context)

    def render_item(self, **context: Any) -> str:
        """The per-passage part, ending where the model continues."""
        return self._render_block("item", context)


def _compile(name: str, path: Path) -> PromptTemplate:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"Cannot read template {path}: {err}") from err
    try:
        template = _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as err:
        raise ConfigError(f"Invalid template {path}:{err.lineno}: {err.message}") from err
    # A plain dict of the environment's globals instead of jinja's ChainMap view: every render copies them into its
    # context, and iterating a ChainMap runs in Python (~5 us per prompt). hfswim's environment never changes them.
    template.globals = dict(template.globals)
    missing = [block for block in REQUIRED_BLOCKS if block not in template.blocks]
    if missing:
        raise ConfigError(
            f"Invalid template {path}: it must define the blocks {{% block prefix %}} (instructions and exemplars) "
            f"and {{% block item %}} (one passage); missing: {', '.join(missing)}."
        )
    return PromptTemplate(name=name, path=path, source=source, _template=template)


def check_template_dir(template_dir: str | Path) -> Path:
    """Check an override folder: it exists and its ``*.jinja`` files are known template names.

    Raises:
        ConfigError: for a missing folder or an unknown template file (most likely a typo).
    """
    folder = Path(template_dir).expanduser()
    if not folder.is_dir():
        raise ConfigError(
            f"template_dir {str(template_dir)!r} is not a folder. Pass a folder holding files named like the "
            f"packaged templates ({', '.join(n + '.jinja' for n in TEMPLATE_NAMES)})."
        )
    unknown = sorted(p.name for p in folder.glob("*.jinja") if p.stem not in TEMPLATE_NAMES)
    if unknown:
        raise ConfigError(
            f"Unknown template file(s) in {folder}: {', '.join(unknown)}. "
            f"Known names: {', '.join(n + '.jinja' for n in TEMPLATE_NAMES)}."
        )
    return folder


@lru_cache(maxsize=64)
def _load_cached(name: str, path: Path, mtime_ns: int) -> PromptTemplate:
    return _compile(name, path)


def load_template(name: str, template_dir: str | Path | None = None) -> PromptTemplate:
    """Load one template by name; a same-named file in ``template_dir`` replaces the packaged one.

    Raises:
        ConfigError: unknown name, missing/invalid override folder, a syntax error (with file:line)
            or a template without the ``prefix``/``item`` blocks.
    """
    if name not in TEMPLATE_NAMES:
        raise ConfigError(f"Unknown template {name!r}; expected one of {', '.join(TEMPLATE_NAMES)}.")
    path = PACKAGED_TEMPLATE_DIR / f"{name}.jinja"
    if template_dir is not None:
        override = check_template_dir(template_dir) / f"{name}.jinja"
        if override.is_file():
            path = override
    path = path.resolve()
    return _load_cached(name, path, path.stat().st_mtime_ns)


def template_hash(templates: Iterable[PromptTemplate], payload: Any) -> str:
    """sha256[:16] over the templates' text and a JSON payload (the exemplars used, options).

    Any change to a template file or an exemplar changes the hash, and with it every record key.
    """
    digest = hashlib.sha256()
    for template in sorted(templates, key=lambda t: t.name):
        digest.update(f"{template.name}\0{template.source}\0".encode())
    digest.update(canonical_json(payload).encode("utf-8"))
    return digest.hexdigest()[:16]
