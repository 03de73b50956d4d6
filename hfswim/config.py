"""Whole-pipeline configuration: one YAML file, one section per stage.

Each section holds the options of that stage's own config model (the ones its CLI
command takes); paths that connect the stages (passages -> generated -> kept ->
dataset -> model) are filled in by :mod:`hfswim.pipeline`, so a config only says
what differs from the defaults. A section set to ``null`` (or left out, for the
optional stages) is skipped.

Example ``pipeline.yaml``::

    output_dir: runs/swahili
    corpus:
      source: wikimedia/wikipedia
      hub_config: 20231101.en
      sample_size: 10000
      cap_per_language: 10000
    generate:
      endpoints: [https://my-tgi.endpoints.huggingface.cloud]
      setting: cross-lingual
      languages: sw,yo
    filter:
      filters: [{name: parse}, {name: langid}, {name: dedup}, {name: heuristics}]
    dataset: {heldout_fraction: 0.05}
    train: {max_steps: 1000, batch_size: 128}
    evaluate: {}

    >>> cfg = PipelineConfig.model_validate({"corpus": {"source": "demo"}})
    >>> cfg.generate is not None, cfg.train is None
    (True, True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, create_model, model_validator

from hfswim.corpus.config import CorpusConfig
from hfswim.errors import ConfigError
from hfswim.evaluation.config import EvaluateConfig
from hfswim.filters.config import FilterConfig
from hfswim.generation.config import GenerateConfig
from hfswim.hub.config import BuildConfig
from hfswim.options import load_yaml, validate_section
from hfswim.training.config import TrainConfig

__all__ = ["PipelineConfig", "demo_config_path", "load_yaml", "section_values", "validate_section"]

STAGES = ("corpus", "generate", "filter", "dataset", "train", "evaluate")


def _set_by_the_pipeline(value: Any) -> None:
    if value is not None:
        raise ValueError("set by `hfswim run` (the previous stage's output); leave it out of the section")
    return None


def pipeline_section(model: type[BaseModel], owned: tuple[str, ...] = (), filled: tuple[str, ...] = ()) -> Any:
    """The ``hfswim run`` section of a stage: its config model, less the paths the pipeline connects.

    ``owned`` fields are set by the pipeline alone (an error if the section sets them); ``filled`` fields
    are filled in by the pipeline unless the section sets them. Everything else is the stage's own field,
    with its own validation: a section is checked as soon as the pipeline config is read.
    """
    fields: dict[str, Any] = {
        name: (Annotated[None, BeforeValidator(_set_by_the_pipeline)], Field(None, description="Set by hfswim run."))
        for name in owned
    }
    for name in filled:
        info = model.model_fields[name]
        fields[name] = (info.annotation | None, Field(None, description=info.description))
    return create_model(f"{model.__name__}Section", __base__=model, **fields)


CorpusSection = CorpusConfig
GenerateSection = pipeline_section(GenerateConfig, owned=("passages", "output_dir"))
FilterSection = FilterConfig
DatasetSection = BuildConfig
TrainSection = pipeline_section(TrainConfig, owned=("dataset", "output_dir"))
EvaluateSection = pipeline_section(EvaluateConfig, owned=("output",), filled=("model", "tasks"))


class PipelineConfig(BaseModel):
    """One section per stage, each the stage's own config model, validated when the file is read."""

    model_config = ConfigDict(extra="forbid")

    output_dir: str = Field("runs/hfswim", description="Folder for every stage's output.")
    corpus: CorpusSection = Field(description="hfswim.corpus.CorpusConfig options; source 'demo' = packaged corpus.")
    generate: GenerateSection | None = Field(default_factory=GenerateSection, description="hfswim generate options.")
    filter: FilterSection | None = Field(default_factory=FilterSection, description="hfswim filter options.")
    dataset: DatasetSection | None = Field(default_factory=DatasetSection, description="hfswim build-dataset options.")
    train: TrainSection | None = Field(default=None, description="hfswim train options (no section: no training).")
    evaluate: EvaluateSection | None = Field(default=None, description="hfswim evaluate options.")
    _source: str = PrivateAttr(default="pipeline config")

    @model_validator(mode="before")
    @classmethod
    def _known_sections(cls, data: Any) -> Any:
        import difflib

        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    close = difflib.get_close_matches(str(key), list(cls.model_fields), n=1)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    raise ValueError(f"{key}: unknown section; expected output_dir or one of {', '.join(STAGES)}{hint}")
        return data

    @property
    def source(self) -> str:
        """Where the config came from (its file), for error messages."""
        return self._source

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> PipelineConfig:
        """Load a pipeline YAML, then apply ``section.key=value`` overrides (see :func:`apply_overrides`)."""
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"{path}: pipeline config not found.")
        data = load_yaml(path, "pipeline config")
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of stage sections ({', '.join(STAGES)}).")
        data = apply_overrides(data, overrides)
        config = validate_section(cls, data, where=str(path) + (" with --set" if overrides else ""))
        config._source = str(path)
        return config


def section_values(section: BaseModel | dict[str, Any] | None) -> dict[str, Any]:
    """The options a section sets (not its defaults, nor the fields the pipeline fills in), as a mapping."""
    if section is None:
        return {}
    if isinstance(section, dict):
        return dict(section)
    return {name: getattr(section, name) for name in section.model_fields_set if getattr(section, name) is not None}


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``--set`` overrides: ``section.key=value`` (value parsed as YAML), ``section=null`` to skip a stage.

    >>> apply_overrides({"generate": {"languages": "de"}}, ["generate.languages=sw,yo", "train.max_steps=2"])
    {'generate': {'languages': 'sw,yo'}, 'train': {'max_steps': 2}}
    >>> apply_overrides({"train": {"max_steps": 2}}, ["train=null", "output_dir=runs/x"])
    {'train': None, 'output_dir': 'runs/x'}
    """
    data = dict(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = [p for p in key.strip().split(".") if p]
        if not sep or not parts:
            raise ConfigError(f"--set {item}: expected section.key=value (e.g. generate.languages=sw,yo).")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if len(parts) == 1:
            data[parts[0]] = value
            continue
        node = data.get(parts[0])
        node = dict(node) if isinstance(node, dict) else {}
        data[parts[0]] = node
        for part in parts[1:-1]:
            child = node.get(part)
            node[part] = child = dict(child) if isinstance(child, dict) else {}
            node = child
        node[parts[-1]] = value
    return data


def demo_config_path() -> Path:
    """The packaged offline demo config that `make demo` runs."""
    return Path(__file__).parent / "configs" / "demo.yaml"
