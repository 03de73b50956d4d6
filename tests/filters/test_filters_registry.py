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


def test_filters_workers_get_their_state_from_the_pool_initializer(tmp_path):
    """workers > 1: the forked workers receive the filters through the pool's initializer; nothing in the
    parent process changes."""
    from hfswim.filters import filter_rows, run_filters
    from hfswim.filters.workers import _WorkerState
    from hfswim.io import AtomicParquetWriter
    from hfswim.records import GENERATED_SCHEMA

    rows = [
        {"record_id": f"r{i}", "passage_id": f"p{i % 7}", "query_language": "sw", "parse_status": "ok",
         "query": f"Mto namba {i % 40} unaanzia wapi?", "text": "The river flows north."}
        for i in range(300)
    ]  # fmt: skip
    with AtomicParquetWriter(tmp_path / "generated.parquet", GENERATED_SCHEMA) as writer:
        writer.write_rows(rows)
    config = FilterConfig.from_names("parse,dedup,heuristics", workers=2, batch_size=50)
    report = run_filters(tmp_path / "generated.parquet", tmp_path / "out", config)
    assert _WorkerState.filters == [] and _WorkerState.held is None
    kept, _, _ = filter_rows(rows, build_filters(FilterConfig.from_names("parse,dedup,heuristics")))
    assert report.kept == len(kept) == 40


def test_filters_registry_every_setting_is_described():
    """A setting's description (help text) is its line in the filter's `Args:` docstring section."""
    for name, spec in SPEC_TYPES.items():
        undocumented = [field for field, info in spec.model_fields.items() if field != "name" and not info.description]
        assert not undocumented, f"{name}: document {undocumented} in the class docstring's Args section"
