"""Constrained types for filter constructors: a filter's parameter types are its config's validation.

:func:`hfswim.filters.registry.settings_model` turns a constructor into a pydantic model; these types
carry the constraints a config file is checked against (a plain Python call does not check them).

    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(Probability).validate_python(0.3)
    0.3
    >>> TypeAdapter(Annotated[str, existing_path("corpus")]).validate_python("/nowhere")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for function-after[...]
      Value error, corpus '/nowhere' does not exist (give a local folder; download Hub models first) ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field

from hfswim.languages import LANGUAGES

# Constrained types for filter constructors: the constraint is checked when a config is validated.
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]  # a share of the rows: more than none


def must_exist(value: str | None, what: str) -> str | None:
    """``value`` if it is None or an existing local path; else a ValueError naming ``what``."""
    if value is not None and not Path(value).exists():
        raise ValueError(f"{what} {value!r} does not exist (give a local folder; download Hub models first)")
    return value


def existing_path(what: str) -> AfterValidator:
    """A validator for a local path that must exist, e.g. ``Annotated[str, existing_path("corpus")]``."""
    return AfterValidator(lambda value: must_exist(value, what))


def known_languages(value: dict) -> dict:
    """Keys must be SWIM-IR language codes (a typo would silently configure nothing)."""
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"unknown language(s) {', '.join(unknown)}; known: {' '.join(LANGUAGES)}")
    return value
