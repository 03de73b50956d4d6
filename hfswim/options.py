"""One declaration per option: a stage's pydantic config model *is* its command line.

Each stage declares its options once, as fields of its config model (name, type, default, and a
``description`` that is the ``--help`` text). :func:`stage_command` turns that model into the typer command:
one ``--flag`` per field (``--max-new-tokens`` for ``max_new_tokens``), plus ``--config FILE`` (a YAML/JSON
file of the same fields), ``--quiet`` and ``--verbose``. Values are resolved in one order everywhere:

    command line  >  --config file  >  the field's default

and validated by the model, so a bad value is one :class:`~hfswim.errors.ConfigError` line naming the flag
or the file and the key. ``hfswim run`` reads the same models from its YAML sections
(:mod:`hfswim.config`), so adding a field to a config model is all it takes for a new option to reach the
CLI, ``--config`` files and pipeline configs. It is the idea of ``HfArgumentParser`` in transformers and
sentence-transformers' ``training_args.py`` (one dataclass feeds the API, the CLI and the saved config),
on pydantic and typer.

A field says how it looks on the command line only where the default would be wrong, with :class:`Cli`
metadata::

    class GenerateConfig(BaseModel):
        output_dir: Annotated[str, Cli("--output")] = Field(description="Run folder.")
        endpoints: Annotated[list[str], Cli("--endpoint", repeat=True)] = Field(default_factory=list, ...)
        temperature: float = Field(0.0, ge=0.0, description="0 = greedy.")

Short flags are assigned once, for the whole program, in :data:`SHORT_FLAGS` (``-l`` is ``--languages``
on every command), so one short flag cannot mean two things.

Example::

    >>> from pydantic import BaseModel, Field
    >>> class Demo(BaseModel):
    ...     passages: str = Field(description="Input passages.")
    ...     languages: list[str] | None = Field(None, description="Query languages.")
    ...     temperature: float = Field(0.0, ge=0.0, description="0 = greedy.")
    >>> [(o.name, o.flags) for o in cli_fields(Demo)]
    [('passages', ('--passages',)), ('languages', ('--languages', '-l')), ('temperature', ('--temperature',))]
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import typer
from pydantic import BaseModel

# The one table of short flags: a short flag means the same long flag on every command.
SHORT_FLAGS: dict[str, str] = {
    "--output": "-o",
    "--config": "-c",
    "--languages": "-l",
    "--model": "-m",
    "--quiet": "-q",
    "--endpoint": "-e",
    "--tasks": "-t",
    "--filters": "-f",
    "--workers": "-w",
    "--sample-size": "-n",
    "--strategy": "-s",
    "--batch-size": "-b",
    "--k": "-k",
    "--passage-file": "-p",
    "--index": "-i",
}

CONFIG_HELP = "A YAML/JSON file of this command's options (the keys are the option names with '_'); flags override it."
QUIET_HELP = "No progress bars; print only the result."
VERBOSE_HELP = "Also show third-party logs and warnings (transformers, mteb, datasets)."


@dataclass(frozen=True)
class Cli:
    """How a config field appears on the command line (put it in the field's ``Annotated[...]``).

    Args:
        flag: the long flag; default ``--`` + the field name with dashes.
        aliases: older spellings, still accepted but not shown in ``--help``.
        repeat: a list given by repeating the flag (``-e A -e B``) instead of one comma-separated value.
        hidden: accepted but not shown in ``--help``.
        metavar: the value's name in ``--help``.
        prefix: for a nested model, what its fields' flags start with (default: the field name and a dash;
            ``""`` gives them their own names).
    """

    flag: str | None = None
    aliases: tuple[str, ...] = ()
    repeat: bool = False
    hidden: bool = False
    metavar: str | None = None
    prefix: str | None = None


def short_flag(long: str) -> tuple[str, ...]:
    """``("--languages", "-l")`` for a long flag with a short one in :data:`SHORT_FLAGS`, else ``(long,)``."""
    short = SHORT_FLAGS.get(long)
    return (long, short) if short else (long,)


@dataclass
class CliField:
    """One config field (or a field of a nested model, such as ``columns.text``) as a command-line option."""

    name: str  # the Python parameter name: the field name, "columns__text" for nested ones
    path: tuple[str, ...]  # where the value goes in the config: ("columns", "text")
    flags: tuple[str, ...]
    aliases: tuple[str, ...]
    kind: str  # "bool", "scalar", "choice", "csv" (comma-separated list), "repeat", "mapping" (KEY=VALUE), "text"
    python_type: Any
    default: Any
    required: bool
    help: str
    hidden: bool = False
    metavar: str | None = None
    choices: tuple[Any, ...] = ()

    @property
    def flag(self) -> str:
        return self.flags[0]


def _is_model(annotation: Any) -> bool:
    """Whether an annotation is a pydantic model class (a nested config section)."""
    # get_origin: on Python 3.10 ``list[str]`` passes isinstance(..., type), then issubclass raises.
    return isinstance(annotation, type) and get_origin(annotation) is None and issubclass(annotation, BaseModel)


def _without_none(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return Union[tuple(args)], optional  # noqa: UP007 - a runtime Union of what is left
    return annotation, False


def _classify(annotation: Any, cli: Cli) -> tuple[str, Any, tuple[Any, ...]]:
    """(kind, the type typer parses, choices) for a field's annotation."""
    inner, _ = _without_none(annotation)
    origin = get_origin(inner)
    if inner is bool:
        return "bool", bool, ()
    if inner in (int, float, str, Path):
        return "scalar", inner, ()
    if origin is Literal:
        choices = get_args(inner)
        return "choice", type(choices[0]), choices
    if origin in (list, tuple, set) and not cli.repeat:
        return "csv", str, ()
    if origin in (list, tuple, set):
        item = (get_args(inner) or (str,))[0]
        return "repeat", list[item if item in (int, float, str, Path) else str], ()
    if origin is dict:
        return "mapping", list[str], ()
    return "text", str, ()  # unions such as ``list[str] | str`` or ``bool | str``: the model parses the text


def _field_default(info: Any) -> tuple[Any, bool]:
    if info.is_required():
        return None, True
    if info.default_factory is not None:
        return info.default_factory(), False
    return info.default, False


def cli_fields(model: type[BaseModel], exclude: Sequence[str] = ()) -> list[CliField]:
    """The command-line options of a config model, in field order (nested models flattened)."""
    out: list[CliField] = []
    for name, info in model.model_fields.items():
        if name in exclude:
            continue
        cli = next((m for m in info.metadata if isinstance(m, Cli)), Cli())
        inner, _ = _without_none(info.annotation)
        if _is_model(inner):
            prefix = cli.prefix if cli.prefix is not None else name.replace("_", "-") + "-"
            for sub in cli_fields(inner):
                flag = sub.flags[0] if sub.flags[0] != "--" + sub.name.replace("_", "-") else None
                long = flag or "--" + prefix + sub.name.replace("_", "-")
                out.append(
                    CliField(
                        **{
                            **sub.__dict__,
                            "name": f"{name}__{sub.name}",
                            "path": (name, *sub.path),
                            "flags": short_flag(long),
                            "required": False,
                        }
                    )
                )
            continue
        kind, python_type, choices = _classify(info.annotation, cli)
        default, required = _field_default(info)
        long = cli.flag or "--" + name.replace("_", "-")
        help_text = (info.description or "").strip()
        out.append(
            CliField(
                name=name,
                path=(name,),
                flags=short_flag(long),
                aliases=cli.aliases,
                kind=kind,
                python_type=python_type,
                default=default,
                required=required,
                help=help_text,
                hidden=cli.hidden,
                metavar=cli.metavar or ("[" + "|".join(map(str, choices)) + "]" if choices else None),
                choices=choices,
            )
        )
    return out


def _shown_default(option: CliField) -> bool:
    if option.kind == "bool" or option.required or isinstance(option.default, bool):  # `--resume` off: not "False"
        return False
    return not (option.default is None or option.default == [] or option.default == {})


def _parameters(options: list[CliField], arguments: Sequence[str]) -> list[inspect.Parameter]:
    params = []
    by_name = {o.name: o for o in options}
    for name in arguments:  # positional arguments first, in the order given
        option = by_name[name]
        info = typer.Argument(None, help=option.help, metavar=name.upper(), show_default=_shown_default(option))
        params.append(_param(name, option.python_type | None, info))
    for option in options:
        if option.name not in arguments:
            params.append(_param(option.name, option.python_type | None, _option_info(option)))
        for i, alias in enumerate(option.aliases):  # old spellings: same value, not in --help
            alias_decls = (f"{alias}/--no-{alias[2:]}",) if option.kind == "bool" and option.default else (alias,)
            alias_default = bool(option.default) if option.kind == "bool" else None
            alias_info = typer.Option(alias_default, *alias_decls, hidden=True, metavar=option.metavar)
            params.append(_param(f"{option.name}__alias{i}", option.python_type | None, alias_info))
    return params


def _option_info(option: CliField) -> Any:
    decls = option.flags
    if option.kind == "bool":  # --flag for an option that is off by default, --flag/--no-flag for one that is on
        long = option.flags[0]
        decls = (f"{long}/--no-{long[2:]}", *option.flags[1:]) if option.default else option.flags
        default: Any = bool(option.default)
    else:
        default = None if option.kind in ("repeat", "mapping") else option.default
        if option.kind == "csv" and default is not None:  # filter specs show as their names
            default = ",".join(str(getattr(item, "name", item)) for item in default)
    return typer.Option(
        default,
        *decls,
        help=option.help + (" [required]" if option.required else ""),
        hidden=option.hidden,
        metavar=option.metavar,
        show_default=_shown_default(option),
    )


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _given(ctx: Any, name: str) -> bool:
    """True when the user typed this parameter (or set its environment variable), not when it is its default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")


def _convert(option: CliField, value: Any, flag: str) -> Any:
    from hfswim.errors import ConfigError

    if option.kind == "csv":
        return [item.strip() for item in str(value).split(",") if item.strip()]
    if option.kind == "repeat":
        return list(value)
    if option.kind == "mapping":
        import yaml

        mapping = {}
        for item in value:
            key, sep, text = str(item).partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"{flag}: expected KEY=VALUE, got {item!r}.")
            mapping[key.strip()] = yaml.safe_load(text) if text.strip() else ""
        return mapping
    return value


def _set(values: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:  # a nested model's field (columns.text): merge into what the config file set
        if not isinstance(values.get(part), dict):
            values[part] = {}
        values = values[part]
    values[path[-1]] = value


@dataclass
class Resolved:
    """What a command's options resolved to, before validation."""

    values: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)  # top-level field -> the flag that set it
    config_file: Path | None = None
    file_values: dict[str, Any] = field(default_factory=dict)  # what the --config file alone said


def read_config_file(path: Path, model: type[BaseModel], section: str | None = None) -> dict[str, Any]:
    """The field values in a ``--config`` file: a mapping of the model's fields, or a pipeline config whose
    ``section`` holds them (so ``hfswim train -c pipeline.yaml`` reads its ``train:`` section)."""
    from hfswim.errors import ConfigError

    data = load_yaml(path, "config") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of {model.__name__} options, got {type(data).__name__}.")
    if section and section not in model.model_fields and isinstance(data.get(section), dict):
        data = data[section]
    return dict(data)


def resolve_options(
    ctx: Any, model: type[BaseModel], options: list[CliField], kwargs: dict[str, Any], config_file: Path | None,
    section: str | None = None,
) -> Resolved:  # fmt: skip
    """Merge a command's flags over its --config file (over the model's defaults, which validation fills in)."""
    resolved = Resolved(config_file=config_file)
    if config_file is not None:
        resolved.file_values = read_config_file(config_file, model, section)
        resolved.values = {k: (dict(v) if isinstance(v, dict) else v) for k, v in resolved.file_values.items()}
    for option in options:
        names = [option.name] + [f"{option.name}__alias{i}" for i in range(len(option.aliases))]
        flags = [option.flag, *option.aliases]
        for name, flag in zip(names, flags, strict=True):
            if name in kwargs and _given(ctx, name) and kwargs[name] is not None:
                value = _convert(option, kwargs[name], flag)
                if option.kind == "mapping" and isinstance(resolved.values.get(option.path[0]), dict):
                    value = {**resolved.values[option.path[0]], **value}  # KEY=VALUE flags add to the file's
                _set(resolved.values, option.path, value)
                resolved.flags[option.path[0]] = flag
    return resolved


def validate(model: type[BaseModel], resolved: Resolved) -> Any:
    """Validate resolved options with the model; the first problem is one ConfigError naming the flag or the file."""

    def where(top_key: str | None) -> str:
        if top_key in resolved.flags:
            return resolved.flags[top_key]
        if resolved.config_file is not None and (top_key is None or top_key in resolved.values):
            return str(resolved.config_file)
        return "command line"

    return validate_section(model, resolved.values, where=where)


def missing_parameter(ctx: Any, option: CliField, argument: bool) -> Exception:
    """The usage error typer raises for a missing argument or option (exit 2, with the help hint)."""
    usage_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
    what = f"argument '{option.name.upper()}'" if argument else f"option '{option.flag}'"
    return usage_error(f"Missing {what} (or set '{option.name}' in --config).", ctx=ctx)


def stage_command(
    model: type[BaseModel],
    handler: Callable[..., Any],
    *,
    arguments: Sequence[str] = (),
    section: str | None = None,
    exclude: Sequence[str] = (),
    prepare: Callable[[Resolved, dict[str, Any]], None] | None = None,
    help: str | None = None,
) -> Callable[..., Any]:
    """A typer command whose options are ``model``'s fields; it validates them and calls ``handler(config, ...)``.

    Args:
        model: the stage's config model; every field becomes an option (or an argument, see ``arguments``).
        handler: ``handler(config, **extras)``; its keyword parameters with typer defaults are options of the
            command that are not part of the config (``--merge``), and it may take ``quiet``/``verbose``.
        arguments: fields given as positional arguments (``PASSAGES``), in order.
        section: the ``hfswim run`` section name, so ``--config pipeline.yaml`` reads that section.
        exclude: fields that are not options (set by the command itself).
        prepare: ``prepare(resolved, extras)`` may adjust the merged values before validation (flags that
            set parts of a nested value).
        help: the command's help text (default: the handler's docstring).
    """
    options = cli_fields(model, exclude)
    signature = inspect.signature(handler)
    takes = list(signature.parameters)[1:]  # after the config
    wants_output_mode = [name for name in ("quiet", "verbose") if name in takes]
    handler_params = [signature.parameters[name] for name in takes if name not in wants_output_mode]
    handler_names = {p.name for p in handler_params}
    clashes = {o.name for o in options} & (handler_names | {"config_file", "quiet", "verbose", "ctx"})
    if clashes:
        raise TypeError(f"{handler.__name__}: parameters {sorted(clashes)} are fields of {model.__name__}")
    common = [
        _param(
            "config_file", Path | None, typer.Option(None, *short_flag("--config"), help=CONFIG_HELP, metavar="FILE")
        ),
        _param("quiet", bool, typer.Option(False, *short_flag("--quiet"), help=QUIET_HELP)),
        _param("verbose", bool, typer.Option(False, "--verbose", help=VERBOSE_HELP)),
    ]
    field_params = _parameters(options, arguments)
    params = [
        _param("ctx", typer.Context, inspect.Parameter.empty),
        *field_params[: len(arguments)],  # the config's arguments, then the command's own parameters
        *[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in handler_params],
        *field_params[len(arguments) :],
        *common,
    ]
    params = [params[0].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD), *params[1:]]

    def command(ctx: typer.Context, **kwargs: Any) -> Any:
        from hfswim import console

        config_file = kwargs.pop("config_file", None)
        quiet, verbose = kwargs.pop("quiet", False), kwargs.pop("verbose", False)
        console.configure(quiet=quiet, verbose=verbose)
        extras = {name: kwargs[name] for name in handler_names if name in kwargs}
        extras.update({name: {"quiet": quiet, "verbose": verbose}[name] for name in wants_output_mode})
        resolved = resolve_options(ctx, model, options, kwargs, config_file, section)
        if prepare is not None:
            prepare(resolved, extras)
        for option in options:  # required fields: from the command line or the config file
            if option.required and option.path[0] not in resolved.values:
                raise missing_parameter(ctx, option, option.name in arguments)
        config = validate(model, resolved)
        from hfswim.noise import third_party_noise

        with third_party_noise(verbose=verbose):  # the same quiet console as `hfswim run`, unless --verbose
            return handler(config, **extras)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params if p.annotation is not inspect.Parameter.empty}
    command.__name__ = handler.__name__.lstrip("_")
    command.__doc__ = help if help is not None else handler.__doc__
    command.model = model  # type: ignore[attr-defined]
    command.cli_options = {o.name: o for o in options}  # type: ignore[attr-defined]
    return command


def iter_typer_params(command: Callable[..., Any]) -> Iterator[tuple[str, tuple[str, ...], bool]]:
    """(parameter name, its flags, hidden) for every option of a typer command function (for tests and docs)."""
    for param in inspect.signature(command).parameters.values():
        info = param.default
        if type(info).__name__ != "OptionInfo":
            continue
        flags: list[str] = []
        for decl in (info.default, *(info.param_decls or ())):
            if isinstance(decl, str) and decl.startswith("-"):
                flags.extend(part for part in decl.split("/") if part)
        yield param.name, tuple(flags), bool(info.hidden)


def load_yaml(path: str | Path, what: str = "config") -> Any:
    """Parse a YAML (or JSON) file; every problem is one ConfigError/InputError naming the file and line.

    >>> import tempfile, pathlib
    >>> from hfswim.errors import ConfigError
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "bad.yaml"
    >>> _ = bad.write_text("train: {max_steps: 3\\n")
    >>> try:
    ...     load_yaml(bad)
    ... except ConfigError as err:
    ...     print(str(err).split(": ", 1)[1])
    invalid YAML (expected ',' or '}', but got '<stream end>').
    """
    import yaml

    from hfswim.errors import ConfigError
    from hfswim.io import read_text

    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(err, "problem", None) or err).split())
        raise ConfigError(f"{path}{where}: invalid YAML ({problem}).") from None


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The (nested) model that holds the key at ``loc``, for did-you-mean suggestions."""
    for part in loc:
        info = model.model_fields.get(str(part))
        inner = _without_none(info.annotation)[0] if info is not None else None
        if not _is_model(inner):
            return None
        model = inner
    return model


def _readable_loc(loc: Sequence[Any], data: Any) -> list[Any]:
    """pydantic's error location without the parts a user never wrote (a discriminated union's tag, such as
    ``filters[1].langid.threshold`` -> ``filters[1].threshold``)."""
    out: list[Any] = []
    current = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, dict) and part not in current and (not last or part in current.values()):
            continue  # a tag pydantic adds (last: a model-level error of a tagged member): the user never wrote it
        out.append(part)
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            current = None
    return out


def validate_section(
    model: type[BaseModel], data: dict[str, Any], where: str | Callable[[str | None], str], section: str | None = None
) -> Any:
    """Validate ``data`` with ``model``; the first problem becomes one ConfigError naming the source and the key.

    The one converter from pydantic's report to a user's error line, for ``--config`` files, flags and
    ``hfswim run`` sections. ``where`` names the source (a file; or a function of the top-level key that
    answers with the flag or the file that set it), ``section`` the part of a file the data came from::

        pipeline.yaml: train.max_step: unknown option (did you mean max_steps?).
        --temperature: Input should be greater than or equal to 0 (got -1.0).

    >>> from pydantic import BaseModel
    >>> class Train(BaseModel, extra="forbid"):
    ...     max_steps: int = 1
    >>> validate_section(Train, {"max_step": 3}, "p.yaml", section="train")
    Traceback (most recent call last):
    ...
    hfswim.errors.ConfigError: p.yaml: train.max_step: unknown option (did you mean max_steps?).
    """
    import difflib

    from pydantic import ValidationError

    from hfswim.errors import ConfigError

    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = _readable_loc(first["loc"], data)
        source = where(str(loc[0]) if loc else None) if callable(where) else where
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in ([section] if section else []) + loc)
        key = key.lstrip(".")
        if first["type"] == "extra_forbidden":
            holder = _model_at(model, loc[:-1])
            known = list(holder.model_fields) if holder is not None else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            message = "unknown option" + (f" (did you mean {close[0]}?)" if close else "")
        else:
            message = first["msg"].removeprefix("Value error, ").rstrip(".")
            value = first.get("input")
            if source.startswith("-") and isinstance(value, (str, int, float)) and repr(value) not in message:
                message += f" (got {value!r})"
        end = "" if message.endswith(("?", "!")) else "."
        if source.startswith("-"):  # a flag names the key already
            raise ConfigError(f"{source}: {message}{end}") from None
        raise ConfigError(f"{source}: {key}: {message}{end}" if key else f"{source}: {message}{end}") from None
