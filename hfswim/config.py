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

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from hfswim.errors import ConfigError

STAGES = ("corpus", "generate", "filter", "dataset", "train", "evaluate")


class PipelineConfig(BaseModel):
    """Sections are plain mappings here and validated by each stage's own model when it runs."""

    model_config = ConfigDict(extra="forbid")

    output_dir: str = Field("runs/hfswim", description="Folder for every stage's output.")
    corpus: dict[str, Any] = Field(description="hfswim.corpus.CorpusConfig options; source 'demo' = packaged corpus.")
    generate: dict[str, Any] | None = Field(default_factory=dict, description="hfswim.generation.GenerateConfig.")
    filter: dict[str, Any] | None = Field(default_factory=dict, description="hfswim.filters.FilterConfig.")
    dataset: dict[str, Any] | None = Field(default_factory=dict, description="hfswim.hub.BuildConfig.")
    train: dict[str, Any] | None = Field(default=None, description="hfswim.training.TrainConfig.")
    evaluate: dict[str, Any] | None = Field(default=None, description="hfswim.evaluation.EvaluateConfig.")
    _source: str = PrivateAttr(default="pipeline config")

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


def load_yaml(path: str | Path, what: str = "config") -> Any:
    """Parse a YAML (or JSON) file; every problem is one ConfigError/InputError naming the file and line.

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "bad.yaml"
    >>> _ = bad.write_text("train: {max_steps: 3\\n")
    >>> try:
    ...     load_yaml(bad)
    ... except ConfigError as err:
    ...     print(str(err).split(": ", 1)[1])
    invalid YAML (expected ',' or '}', but got '<stream end>').
    """
    from hfswim.io import read_text

    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(err, "problem", None) or err).split())
        raise ConfigError(f"{path}{where}: invalid YAML ({problem}).") from None


def validate_section(model: type[BaseModel], data: dict[str, Any], where: str, section: str | None = None) -> Any:
    """Validate ``data`` with ``model``; the first problem becomes one ConfigError naming the key.

    ``where`` names the source (a file, or a stage), ``section`` the part of it the data came from::

        pipeline.yaml: train.max_step: unknown option (did you mean max_steps?).
    """
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = [str(part) for part in first["loc"]]
        key = ".".join(([section] if section else []) + loc) or "(root)"
        if first["type"] == "extra_forbidden":
            close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1) if len(loc) == 1 else []
            message = "unknown option" + (f" (did you mean {close[0]}?)" if close else "")
            if model is PipelineConfig:
                message = f"unknown section; expected output_dir or one of {', '.join(STAGES)}" + (
                    f" (did you mean {close[0]}?)" if close else ""
                )
        else:
            message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{where}: {key}: {message}.") from None


def demo_config_path() -> Path:
    """The packaged offline demo config that `make demo` runs."""
    return Path(__file__).parent / "configs" / "demo.yaml"
