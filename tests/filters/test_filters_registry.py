"""One registry of filters; each filter's config model is derived from its constructor."""

import inspect
from typing import ClassVar

import pytest

from hfswim.errors import ConfigError
from hfswim.filters.base import RowFilter
from hfswim.filters.config import SPEC_TYPES, FilterConfig, build_filters
from hfswim.filters.registry import FILTER_CLASSES, settings_model
from hfswim.filters.settings import PositiveInt


def test_filters_registry_settings_are_the_constructor_parameters():
    assert list(SPEC_TYPES) == list(FILTER_CLASSES)
    for name, cls in FILTER_CLASSES.items():
        params = [
            p.name
            for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        ]
        assert list(SPEC_TYPES[name].model_fields) == ["name", *params], name


def test_filters_registry_derives_types_defaults_checks_and_skips_keyword_only():
    class ToyFilter(RowFilter):
        name: ClassVar[str] = "toy"

        def __init__(self, low: PositiveInt = 2, high: int = 5, *, cache: int = 10):
            self.low, self.high = low, high

        @classmethod
        def check_settings(cls, settings) -> None:
            if settings.low > settings.high:
                raise ValueError("low > high")

    Settings = settings_model(ToyFilter)
    assert Settings().model_dump() == {"name": "toy", "low": 2, "high": 5}
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings(low=0)
    with pytest.raises(ValueError, match="low > high"):
        Settings(low=9)
    with pytest.raises(ValueError, match="Extra inputs"):
        Settings(cache=3)


def test_filters_registry_built_filters_carry_the_config():
    config = FilterConfig.from_names(
        "heuristics,langid", heuristics={"min_words": 2}, langid={"thresholds": {"sw": 0.3}}
    )
    heuristics, langid = build_filters(config)
    assert heuristics.min_words == 2 and langid.thresholds["sw"] == 0.3
    with pytest.raises(ConfigError, match=r"filters\[0\]: min_words 9 > max_words 4"):
        FilterConfig.from_names("heuristics", heuristics={"min_words": 9, "max_words": 4})
