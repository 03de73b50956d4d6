"""Every filter, registered once, and its config model derived from its constructor.

A filter is one class whose constructor is its config (as datatrove's ``pipeline/filters``): the
keyword parameters of ``__init__``, with their types (constraints included, e.g. :data:`~hfswim.filters.settings.Probability`)
and defaults, are what a ``filters.yaml`` entry may set. :func:`settings_model` turns that signature
into a pydantic model, so that a config is validated, with one error naming the key, before any filter
is built. Adding a setting means adding a constructor parameter; nothing else repeats it.

Two escape hatches, for where Python can say more than a config file:

* keyword-only parameters (after ``*``) are Python-only (a cache size, a callable), never settings;
* :attr:`~hfswim.filters.base.RowFilter.config_types` gives a parameter another type or default in
  config files (a classifier path where Python also takes a callable; ``{}`` where Python takes None).

A filter may check settings against each other in a ``check_settings(settings)`` classmethod (raise
``ValueError``): it becomes the model's validator. Each setting's description (its help text, in a JSON
schema or a generated CLI) is the parameter's line in the class docstring's ``Args:`` section.

    >>> from hfswim.filters.heuristics import HeuristicsFilter
    >>> Settings = settings_model(HeuristicsFilter)
    >>> Settings(min_words=2).model_dump()["min_words"], list(Settings.model_fields)[:3]
    (2, ['name', 'min_words', 'max_words'])
    >>> Settings(min_words=50)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for HeuristicsSpec
    ...
    >>> Settings.model_fields["min_words"].description
    'fewest words in a query of a spaced script.'
    >>> list(FILTER_CLASSES)[:3]
    ['parse', 'langid', 'dedup']
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

_ARG_LINE = re.compile(r"^    (\w+): (.*)$")


class FilterSettings(BaseModel):
    """Base of every derived settings model: unknown keys are errors (a typo is not silently ignored)."""

    model_config = ConfigDict(extra="forbid")


def argument_docs(cls: type) -> dict[str, str]:
    """Parameter name -> description, from the ``Args:`` section of ``cls``'s docstring (Google style)."""
    docs: dict[str, str] = {}
    current, in_args = None, False
    for line in (inspect.getdoc(cls) or "").splitlines():
        if line.strip() == "Args:":
            in_args = True
        elif in_args and line and not line.startswith(" "):
            break  # the next section
        elif in_args and (match := _ARG_LINE.match(line)):
            current = match[1]
            docs[current] = match[2].strip()
        elif in_args and current and line.startswith("        "):
            docs[current] += " " + line.strip()
    return docs


@functools.cache
def settings_model(cls: type) -> type[FilterSettings]:
    """The pydantic model of ``cls``'s settings: ``name`` (the discriminator), then its constructor's
    keyword parameters in order (see the module docstring)."""
    init = cls.__init__
    hints = {} if init is object.__init__ else typing.get_type_hints(init, include_extras=True)
    overrides: dict[str, tuple[Any, Any]] = getattr(cls, "config_types", {})
    docs = argument_docs(cls)
    fields: dict[str, Any] = {"name": (Literal[cls.name], cls.name)}
    for param in list(inspect.signature(init).parameters.values())[1:]:
        if param.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            continue  # keyword-only: Python-only
        annotation, default = overrides.get(param.name, (hints[param.name], param.default))
        if param.name in docs:
            annotation = Annotated[annotation, Field(description=docs[param.name])]
        fields[param.name] = (annotation, ... if default is inspect.Parameter.empty else default)
    validators = {}
    check = getattr(cls, "check_settings", None)
    if check is not None:

        def checked(settings):
            check(settings)
            return settings

        validators["check_settings"] = model_validator(mode="after")(checked)
    spec_name = cls.__name__.removesuffix("Filter") + "Spec"
    model = create_model(spec_name, __base__=FilterSettings, __validators__=validators, **fields)
    model.__module__ = cls.__module__
    model.__doc__ = f"The settings of :class:`{cls.__module__}.{cls.__name__}` (derived from its constructor)."
    return model


def _filter_classes() -> dict[str, type]:
    # The one list of filters, in the order `hfswim filter --help` and errors show them.
    from hfswim.filters.best_of import BestOfFilter
    from hfswim.filters.cross_encoder import CrossEncoderFilter
    from hfswim.filters.dedup import DedupFilter
    from hfswim.filters.exemplar_copy import ExemplarCopyFilter
    from hfswim.filters.heuristics import HeuristicsFilter
    from hfswim.filters.langid import LangIdFilter
    from hfswim.filters.logprob import LogprobFilter
    from hfswim.filters.parse import ParseFilter
    from hfswim.filters.repetition import RepetitionFilter
    from hfswim.filters.roundtrip import RoundTripFilter
    from hfswim.filters.safety import SafetyFilter
    from hfswim.filters.upr import UprFilter

    classes = (
        ParseFilter,
        LangIdFilter,
        DedupFilter,
        HeuristicsFilter,
        ExemplarCopyFilter,
        RepetitionFilter,
        LogprobFilter,
        CrossEncoderFilter,
        RoundTripFilter,
        UprFilter,
        BestOfFilter,
        SafetyFilter,
    )
    return {cls.name: cls for cls in classes}


FILTER_CLASSES: dict[str, type] = _filter_classes()
