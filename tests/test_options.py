"""One declaration per option: every config field is a flag and a --config key, and flags mean one thing.

The stage commands are built from their config models (hfswim.options.stage_command); these tests keep it
that way: a field added to a model that does not reach the command line or --config files fails here, and so
does a short flag that means two things on two commands.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, get_origin

import pytest
import typer
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from hfswim.cli import COMMANDS, load_command
from hfswim.options import SHORT_FLAGS, cli_fields, iter_typer_params, stage_command


def _space_commands() -> dict[str, Any]:
    from hfswim.space.cli import app

    return {f"space {c.name}": c.callback for c in app.registered_commands}


def _all_commands() -> dict[str, Any]:
    return {**{name: load_command(name) for name, _, _ in COMMANDS}, **_space_commands()}


def _command(name: str) -> Any:
    return _all_commands()[name]


# The commands whose options are a config model's fields (every stage, the push commands, space build).
STAGE_COMMANDS = [name for name, command in _all_commands().items() if hasattr(command, "model")]


def _is_model(annotation: Any) -> bool:
    # get_origin: on Python 3.10 ``list[str]`` passes isinstance(..., type), then issubclass raises.
    return isinstance(annotation, type) and get_origin(annotation) is None and issubclass(annotation, BaseModel)


def _leaf_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    out = set()
    for name, info in model.model_fields.items():
        inner = info.annotation
        args = getattr(inner, "__args__", ())
        nested = next((a for a in (inner, *args) if _is_model(a)), None)
        out |= _leaf_fields(nested, f"{prefix}{name}__") if nested else {prefix + name}
    return out


def test_every_stage_is_built_from_its_model():
    assert set(STAGE_COMMANDS) >= {
        "sample", "prompts", "generate", "filter", "build-dataset", "push-dataset", "train", "push-model",
        "evaluate", "index",
    }  # fmt: skip
    assert {"space build", "space push"} <= set(STAGE_COMMANDS)


@pytest.mark.parametrize("name", STAGE_COMMANDS)
def test_every_config_field_is_an_option_of_the_command(name):
    command = _command(name)
    params = inspect.signature(command).parameters
    assert set(command.cli_options) == _leaf_fields(command.model)
    for option in command.cli_options.values():
        assert option.name in params, f"{name}: {option.name} has no parameter"
        assert option.help, f"{name}: {option.name} has no description (its --help text)"
    assert {"config_file", "quiet", "verbose"} <= set(params), f"{name}: --config/--quiet/--verbose missing"


@pytest.mark.parametrize("name", STAGE_COMMANDS)
def test_the_help_shows_every_option(name):
    app = typer.Typer()
    app.command(name)(_command(name))
    app.command("unused")(lambda: None)  # two commands: the name stays on the command line
    done = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "400", "NO_COLOR": "1"}, terminal_width=400)
    assert done.exit_code == 0, done.output
    command = _command(name)
    for option in command.cli_options.values():
        if not option.hidden:
            shown = option.name.upper() if option.flag not in done.output else option.flag
            assert shown in done.output, f"{name}: {option.flag} not in --help"
    assert "--config" in done.output and "--quiet" in done.output and "--verbose" in done.output


def _sample_value(option: Any) -> Any:
    """A value to set the field to: its default (any other value may clash with another field's default)."""
    if option.default is None or isinstance(option.default, dict) or option.default == []:
        return None
    if isinstance(option.default, list):  # filter specs: as a config file writes them
        return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in option.default]
    return option.default


# Required fields and fields whose values must be real (existing files, a repo id).
REQUIRED: dict[str, dict[str, Any]] = {
    "sample": {"source": "demo"},
    "generate": {"passages": "p.parquet", "output_dir": "out"},
    "train": {"dataset": "d", "output_dir": "out"},
    "evaluate": {"model": "bm25", "tasks": "local:x"},
    "index": {"passages": "p.parquet", "output": "out"},
    "push-dataset": {"repo_id": "me/x"},
    "push-model": {"repo_id": "me/x"},
    "space build": {"output": "out"},
    "space push": {"repo_id": "me/x"},
}


def _captured(name: str):
    """The real command's options and model, with a handler that keeps the validated config instead of running."""
    real = _command(name)
    seen: dict[str, Any] = {}

    def keep(config):
        seen["config"] = config

    app = typer.Typer()
    app.command(name)(stage_command(real.model, keep, arguments=[]))
    app.command("unused")(lambda: None)
    return app, seen


@pytest.mark.parametrize("name", STAGE_COMMANDS)
def test_every_field_is_reachable_from_a_config_file_and_the_command_line(name, tmp_path):
    model = _command(name).model
    required = REQUIRED.get(name, {})
    file_values: dict[str, Any] = dict(required)
    for option in cli_fields(model):
        value = _sample_value(option)
        if value is not None and len(option.path) == 1:
            file_values.setdefault(option.name, value)
    config_file = tmp_path / "options.yaml"
    config_file.write_text(yaml.safe_dump({k: str(v) if isinstance(v, Path) else v for k, v in file_values.items()}))
    app, seen = _captured(name)
    done = CliRunner().invoke(app, [name, "--config", str(config_file)])
    assert done.exit_code == 0, done.output
    assert set(file_values) <= seen["config"].model_fields_set

    # Each option on the command line reaches its field (one flag at a time).
    (tmp_path / "required.yaml").write_text(yaml.safe_dump(required))
    for option in cli_fields(model):
        value = _sample_value(option)
        if value is None or option.kind in ("repeat", "mapping") or len(option.path) != 1:
            continue
        if option.kind == "bool":
            args = [option.flag]
        else:
            items = [v["name"] if isinstance(v, dict) else v for v in value] if isinstance(value, list) else None
            args = [option.flag, ",".join(map(str, items)) if items is not None else str(value)]
        done = CliRunner().invoke(app, [name, "--config", str(tmp_path / "required.yaml"), *args])
        assert done.exit_code == 0, (option.flag, done.output)
        assert option.name in seen["config"].model_fields_set, option.flag


def test_flags_override_the_config_file_which_overrides_defaults(tmp_path):
    from hfswim.training.config import TrainConfig

    seen: dict[str, Any] = {}
    app = typer.Typer()
    app.command("train")(stage_command(TrainConfig, lambda config: seen.update(config=config), arguments=["dataset"]))
    app.command("unused")(lambda: None)
    (tmp_path / "t.yaml").write_text("output_dir: out\nmax_steps: 7\nbatch_size: 8\nlanguages: [sw, yo]\n")
    done = CliRunner().invoke(
        app, ["train", "data", "-c", str(tmp_path / "t.yaml"), "--max-steps", "9", "--lr", "1e-4"]
    )
    assert done.exit_code == 0, done.output
    config = seen["config"]
    assert (config.max_steps, config.batch_size, config.languages) == (9, 8, ["sw", "yo"])  # flag > file
    assert config.learning_rate == 1e-4 and config.epochs == 1.0  # hidden alias --lr; a default
    assert config.dataset == "data" and config.output_dir == "out"


def test_a_pipeline_section_of_the_config_file_is_read(tmp_path):
    from hfswim.training.config import TrainConfig

    seen: dict[str, Any] = {}
    app = typer.Typer()
    command = stage_command(TrainConfig, lambda config: seen.update(config=config), section="train")
    app.command("train")(command)
    app.command("unused")(lambda: None)
    (tmp_path / "p.yaml").write_text("corpus: {source: demo}\ntrain: {max_steps: 3, dataset: d, output_dir: o}\n")
    done = CliRunner().invoke(app, ["train", "-c", str(tmp_path / "p.yaml")])
    assert done.exit_code == 0, done.output
    assert seen["config"].max_steps == 3


def test_a_short_flag_means_one_long_flag_on_every_command():
    meaning: dict[str, set[str]] = {}
    for command in _all_commands().values():
        for _, flags, _ in iter_typer_params(command):
            longs = [f for f in flags if f.startswith("--") and not f.startswith("--no-")]
            for short in (f for f in flags if not f.startswith("--")):
                meaning.setdefault(short, set()).update(longs[:1])
    assert meaning, "no options found"
    ambiguous = {s: sorted(longs) for s, longs in meaning.items() if len(longs) > 1}
    assert not ambiguous, f"short flags with two meanings: {ambiguous}"
    for short, longs in meaning.items():
        assert SHORT_FLAGS.get(next(iter(longs))) == short, f"{short} is not assigned in hfswim.options.SHORT_FLAGS"


def test_shared_ideas_have_one_flag_everywhere():
    """--output/-o, --languages/-l, --config/-c, --quiet/-q, --verbose on every stage; --token on every push."""
    for name in STAGE_COMMANDS:
        flags = {f for _, fs, _ in iter_typer_params(_command(name)) for f in fs}
        assert {"--config", "-c", "--quiet", "-q", "--verbose"} <= flags, name
        assert "--no-progress" not in flags or name == "generate", name
    for name, command in {**{n: load_command(n) for n in ("push-dataset", "push-model")}, **_space_commands()}.items():
        if "push" not in name:
            continue
        flags = {f for _, fs, _ in iter_typer_params(command) for f in fs}
        assert {"--token", "--private", "--revision", "--commit-message"} <= flags, name
        params = [
            p for p in inspect.signature(command).parameters.values() if type(p.default).__name__ == "ArgumentInfo"
        ]
        assert [p.name for p in params] == ["repo_id", "folder"], name


def test_a_typo_in_a_pipeline_section_names_the_file_key_and_the_fix(tmp_path):
    from hfswim.config import PipelineConfig
    from hfswim.errors import ConfigError

    (tmp_path / "p.yaml").write_text("corpus: {source: demo}\ngenerate: {temprature: 0.7}\n")
    with pytest.raises(
        ConfigError, match=r"p.yaml: generate.temprature: unknown option \(did you mean temperature\?\)"
    ):
        PipelineConfig.from_yaml(tmp_path / "p.yaml")
    (tmp_path / "q.yaml").write_text("corpus: {source: demo}\ngenerate: {output_dir: x}\n")
    with pytest.raises(ConfigError, match=r"generate.output_dir: set by `hfswim run`"):
        PipelineConfig.from_yaml(tmp_path / "q.yaml")
    (tmp_path / "r.yaml").write_text("corpus: {source: demo}\nfilter: {filters: 'parse,langid', workers: 0}\n")
    with pytest.raises(ConfigError, match=r"r.yaml: filter.workers: Input should be greater than or equal to 1"):
        PipelineConfig.from_yaml(tmp_path / "r.yaml")
    (tmp_path / "s.yaml").write_text("corpus: {source: demo}\ntrian: {}\n")
    with pytest.raises(ConfigError, match=r"trian: unknown section.*did you mean train"):
        PipelineConfig.from_yaml(tmp_path / "s.yaml")


def test_the_demo_config_validates_into_typed_sections():
    from hfswim.config import PipelineConfig, demo_config_path
    from hfswim.filters.config import FilterConfig
    from hfswim.generation.config import GenerateConfig
    from hfswim.training.config import TrainConfig

    config = PipelineConfig.from_yaml(demo_config_path())
    assert isinstance(config.generate, GenerateConfig) and isinstance(config.train, TrainConfig)
    assert isinstance(config.filter, FilterConfig) and [f.name for f in config.filter.filters][:2] == [
        "parse",
        "langid",
    ]
    assert config.train.epochs == 4 and config.generate.languages == "ro,vi"


def test_training_args_pass_through_to_sentence_transformers(tmp_path):
    """Any SentenceTransformerTrainingArguments field reaches the trainer without an hfswim option of its own."""
    pytest.importorskip("sentence_transformers")
    from hfswim.errors import ConfigError
    from hfswim.training.config import TrainConfig
    from hfswim.training.retriever import training_arguments

    seen: dict[str, Any] = {}
    app = typer.Typer()
    app.command("train")(stage_command(TrainConfig, lambda config: seen.update(config=config), arguments=["dataset"]))
    app.command("unused")(lambda: None)
    (tmp_path / "t.yaml").write_text("training_args: {lr_scheduler_type: cosine, max_grad_norm: 0.5}\n")
    args = [
        "train",
        "d",
        "-o",
        str(tmp_path / "m"),
        "-c",
        str(tmp_path / "t.yaml"),
        "--training-arg",
        "max_grad_norm=2",
    ]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    config = seen["config"]
    assert config.training_args == {"lr_scheduler_type": "cosine", "max_grad_norm": 2}
    built = training_arguments(config, ["anchor", "positive", "query_language"], has_evaluator=False)
    assert built.lr_scheduler_type == "cosine" and built.max_grad_norm == 2 and built.learning_rate == 2e-5
    with pytest.raises(
        ConfigError, match=r"training_args: lr_sheduler_type: not a .* \(did you mean lr_scheduler_type\?\)"
    ):
        TrainConfig.build(dataset="d", output_dir="m", training_args={"lr_sheduler_type": "cosine"})


def test_quiet_and_verbose_set_the_libraries_output_but_not_over_the_users_own():
    from hfswim import console

    try:
        environ = {"TRANSFORMERS_VERBOSITY": "info"}
        assert console.configure(quiet=True, environ=environ) == {
            "TQDM_DISABLE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"
        }  # fmt: skip
        assert environ["TRANSFORMERS_VERBOSITY"] == "info" and not console.show_progress()
        assert console.configure(verbose=True, environ={}) == {} and console.verbose() and console.show_progress()
    finally:
        console.configure(environ={})
