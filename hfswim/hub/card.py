"""The dataset card: metadata (YAML) + prose rendered from ``dataset_cards/swim_ir_dataset_card.md.jinja``.

The card is a pure function of the build state (``hfswim.json``), rendered with
:meth:`huggingface_hub.DatasetCard.from_template`. The template ships inside the package
(``hfswim/hub/templates/``; ``dataset_cards/`` at the repo root links to it), so ``pip install`` users get it.

:func:`check_card` runs every check that works offline (the Hub's own validation endpoint does not):
the YAML parses and round-trips through :class:`huggingface_hub.DatasetCardData` without loss, the
license, size category, task category and language codes are known values, and every config's
``data_files`` match files in the folder.

Example::

    >>> size_category(12_345)
    '10K<n<100K'
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import json
import os
from pathlib import Path
from typing import Any

import yaml

from hfswim.errors import InputError
from hfswim.hub.config import HUB_LICENSES
from hfswim.hub.layout import CARD_FILE, DATA_DIR, EVAL_SPLIT, TRAIN_SPLIT, data_glob
from hfswim.languages import get_language
from hfswim.records import CROSS_LINGUAL, MONOLINGUAL, QUERY_LANGUAGE, old_names

TEMPLATE_NAME = "swim_ir_dataset_card.md.jinja"
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)
KNOWN_SIZE_CATEGORIES = frozenset(label for _, label in SIZE_CATEGORIES) | {"n>1T"}
TASK_CATEGORIES = ["text-retrieval"]
TASK_IDS = ["document-retrieval"]
TAGS = ["swim-ir", "synthetic", "hfswim", "multilingual-retrieval", "summarize-then-ask", "dense-retrieval"]
DEFAULT_REPO_ID = "<user>/<dataset>"
_REJECT_KEYS = ("rejected", "n_rejected", "dropped", "removed", "rejects", "count_rejected")
_IN_KEYS = ("in", "n_in", "count_in", "input", "seen", "total", "rows_in")
_KEPT_KEYS = ("kept", "out", "n_out", "count_out", "passed", "rows_out")
_NAME_KEYS = ("filter", "name")
_LANG_KEYS = (
    "language",
    "lang",
    QUERY_LANGUAGE,
    *old_names(QUERY_LANGUAGE),
    "code",
)


def template_path() -> Path:
    """The packaged card template (``dataset_cards/swim_ir_dataset_card.md.jinja`` is the same file)."""
    return Path(str(importlib.resources.files("hfswim.hub") / "templates" / TEMPLATE_NAME))


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` value for ``n`` rows."""
    for bound, label in SIZE_CATEGORIES:
        if n < bound:
            return label
    return "n>1T"


def dataset_info(folder: str | os.PathLike, config_names: list[str]) -> list[dict[str, Any]]:
    """The card's ``dataset_info``: features, split sizes and byte counts per config, as ``push_to_hub`` writes.

    Besides informing the Hub viewer, it makes ``datasets`` verify split sizes on load, and it keys the
    local ``load_dataset(folder, ...)`` cache: ``datasets`` hashes the card's configs and dataset_info — not
    the files — so without it a rebuilt folder could be served from a stale cache.
    """
    import pyarrow.parquet as pq
    from datasets import Features

    infos = []
    for name in config_names:
        shards = sorted((Path(folder) / DATA_DIR / name).glob("*.parquet"))
        if not shards:
            continue
        metas = [pq.ParquetFile(s).metadata for s in shards]
        num_bytes = sum(m.row_group(i).total_byte_size for m in metas for i in range(m.num_row_groups))
        split = shards[0].name.split("-", 1)[0]
        infos.append(
            {
                "config_name": name,
                "features": Features.from_arrow_schema(pq.read_schema(shards[0]))._to_yaml_list(),
                "splits": [{"name": split, "num_bytes": num_bytes, "num_examples": sum(m.num_rows for m in metas)}],
                "download_size": sum(s.stat().st_size for s in shards),
                "dataset_size": num_bytes,
            }
        )
    return infos


def default_config(state: dict[str, Any]) -> str | None:
    """The config ``load_dataset(repo)`` loads when no name is given: the largest training config."""
    trained = [(info["train_rows"], name) for name, info in state["configs"].items() if info["train_shards"]]
    return min(trained, key=lambda t: (-t[0], t[1]))[1] if trained else None


def card_metadata(state: dict[str, Any], folder: str | os.PathLike | None = None):
    """The card's YAML as :class:`huggingface_hub.DatasetCardData` (configs, languages, license, ...).

    With ``folder``, also the ``dataset_info`` of the shards in it.
    """
    from huggingface_hub import DatasetCardData

    configs = state["configs"]
    languages: list[str] = []
    for info in configs.values():
        for code in [info["code"], *info["passage_languages"]]:
            if code not in languages:
                languages.append(code)
    yaml_configs = []
    default = default_config(state)
    for name, info in configs.items():
        if info["train_shards"]:
            entry: dict[str, Any] = {
                "config_name": name,
                "data_files": [{"split": TRAIN_SPLIT, "path": data_glob(name, TRAIN_SPLIT)}],
            }
            if name == default:  # load_dataset(repo) without a config name loads this one
                entry["default"] = True
            yaml_configs.append(entry)
        for eval_name in (info.get("heldout") or {}).get("configs", {}).values():
            yaml_configs.append(
                {
                    "config_name": eval_name,
                    "data_files": [{"split": EVAL_SPLIT, "path": data_glob(eval_name, EVAL_SPLIT)}],
                }
            )
    settings = {info["setting"] for info in configs.values()}
    tags = [
        *TAGS,
        *(["cross-lingual"] if CROSS_LINGUAL in settings else []),
        *(["monolingual"] if MONOLINGUAL in settings else []),
    ]
    data = DatasetCardData(
        language=sorted(languages),
        license=state["license"],
        pretty_name=state["pretty_name"],
        size_categories=[size_category(sum(info["train_rows"] for info in configs.values()))],
        task_categories=TASK_CATEGORIES,
        task_ids=TASK_IDS,
        annotations_creators=["machine-generated"],
        language_creators=["machine-generated", "found"],
        multilinguality=["multilingual" if len(languages) > 1 else "monolingual"],
        source_datasets=state.get("source_datasets") or ["original"],
        tags=tags,
        configs=yaml_configs,
    )
    if folder is not None:
        data.dataset_info = dataset_info(folder, [c["config_name"] for c in yaml_configs])
    return data


def summarize_quality_report(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per (language, filter) counts of a quality report, for the card's filter table.

    Reads ``hfswim filter``'s ``quality_report.json`` (structure in :mod:`hfswim.filters.report`:
    ``per_filter``, ``per_language[lang].by_filter``, ``totals``). Any other report is searched for dicts
    holding a rejected count (``rejected``/``dropped``/...), named by their key or a ``filter``/``name``
    field, under a language key or with a ``language`` field — else they count for "all".
    """
    if report and isinstance(report.get("per_filter"), dict):
        return _summarize_hfswim_report(report)
    return _summarize_any_report(report)


def _summarize_hfswim_report(report: dict[str, Any]) -> list[dict[str, Any]]:
    def row(language: str, name: str, counts: dict[str, Any]) -> dict[str, Any]:
        reasons = counts.get("reasons") if isinstance(counts.get("reasons"), dict) else {}
        top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        return {
            "language": language,
            "filter": name,
            "in": counts.get("in"),
            "rejected": counts.get("rejected"),
            "kept": counts.get("out", counts.get("kept")),
            "reasons": ", ".join(f"{k} ({v:,})" for k, v in top) or "–",
        }

    rows = [row("all", name, c) for name, c in report["per_filter"].items() if isinstance(c, dict)]
    for language, entry in sorted((report.get("per_language") or {}).items()):
        for name, c in (entry.get("by_filter") or {}).items() if isinstance(entry, dict) else ():
            if isinstance(c, dict):
                rows.append(row(language, name, c))
    totals = report.get("totals")
    if isinstance(totals, dict):
        rows.append(row("all", "all filters", totals))
    return rows


def _summarize_any_report(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def is_language(key: Any) -> bool:
        try:
            get_language(str(key))
            return len(str(key)) <= 3
        except Exception:
            return False

    def first(d: dict, keys: tuple[str, ...]) -> Any:
        return next((d[k] for k in keys if k in d and isinstance(d[k], int | float)), None)

    def walk(node: Any, key: str | None, language: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, key, language)
            return
        if not isinstance(node, dict):
            return
        lang = next((str(node[k]) for k in _LANG_KEYS if isinstance(node.get(k), str)), None) or language
        rejected = first(node, _REJECT_KEYS)
        name = next((str(node[k]) for k in _NAME_KEYS if isinstance(node.get(k), str)), None) or key
        if rejected is not None and name is not None and not is_language(name) and name not in ("totals", "total"):
            rows.append(
                {
                    "language": lang or "all",
                    "filter": name,
                    "in": first(node, _IN_KEYS),
                    "rejected": rejected,
                    "kept": first(node, _KEPT_KEYS),
                    "reasons": "–",
                }
            )
        for child_key, child in node.items():
            if "sample" in str(child_key).lower() or "example" in str(child_key).lower():
                continue
            child_lang = str(child_key) if is_language(child_key) else lang
            walk(child, str(child_key), child_lang)

    walk(report or {}, None, None)
    return rows


def _fmt(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else ("–" if n is None else str(n))


def _listing(values: list[str] | None, code: bool = True) -> str:
    if not values:
        return "not recorded"
    return ", ".join(f"`{v}`" if code else v for v in values)


def _manifest_lines(manifest: dict[str, Any] | None) -> list[str]:
    """A few plain facts from the generation manifest (keys it lacks are skipped)."""
    if not manifest:
        return []
    lines = []
    for key, label in (("strategy", "Strategy"), ("hfswim_version", "hfswim version")):
        if manifest.get(key) is not None:
            lines.append(f"{label}: `{manifest[key]}`")
    endpoint = manifest.get("endpoint")
    if isinstance(endpoint, dict):
        facts = {k: endpoint[k] for k in ("kind", "model", "model_id", "max_concurrency") if k in endpoint}
        if facts:
            lines.append("Endpoint: " + ", ".join(f"{k} `{v}`" for k, v in facts.items()))
    elif isinstance(endpoint, str) and "://" not in endpoint:
        lines.append(f"Endpoint: `{endpoint}`")
    for key in ("tokens", "token_totals", "usage"):
        if isinstance(manifest.get(key), dict):
            lines.append(
                "Tokens: " + ", ".join(f"{k} {_fmt(v)}" for k, v in manifest[key].items() if not isinstance(v, dict))
            )
    return lines


FUNNEL_IMAGE = "images/filter_funnel.png"
# Languages whose queries language ID cannot fully vouch for (see hfswim.text.langid): no detector (Meitei), or
# detectors that read them as a sibling language (Bhojpuri and Maithili as Hindi, Konkani as Marathi).
WEAK_LANGID = {"bho": "Hindi", "mai": "Hindi", "gom": "Marathi", "mni": None}


def filter_pivot(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """One row per language (in, kept, rejected by each filter in order), one total row: readable at 33 languages.

    None when the report is not ``hfswim filter``'s own (then the card lists what it found row by row).
    """
    if not report or not isinstance(report.get("per_language"), dict):
        return None
    order = [str(f) for f in report.get("execution_order") or report.get("per_filter") or []]
    per_language = report["per_language"]
    used = [
        f for f in order if any((e.get("by_filter") or {}).get(f, {}).get("rejected") for e in per_language.values())
    ]

    def row(label: str, entry: dict[str, Any]) -> dict[str, Any]:
        by_filter = entry.get("by_filter") or {}
        n_in = entry.get("in", 0)
        kept = entry.get("kept", entry.get("out", 0))
        return {
            "language": label,
            "in": _fmt(n_in),
            "kept": _fmt(kept),
            "share": f"{100 * kept / n_in:.0f}%" if n_in else "–",
            "rejected": [_fmt((by_filter.get(f) or {}).get("rejected", 0)) for f in used],
        }

    rows = []
    for code, entry in sorted(per_language.items()):
        try:
            label = f"{get_language(code).english_name} (`{code}`)"
        except Exception:
            label = f"`{code}`"
        rows.append(row(label, entry))
    totals = report.get("totals") or {}
    per_filter = report.get("per_filter") or {}
    total = row("**all**", {"in": totals.get("in", 0), "kept": totals.get("kept", 0), "by_filter": per_filter})
    return {"filters": used, "rows": rows, "total": total}


def example_record(folder: str | os.PathLike | None, config: str | None) -> str | None:
    """The first training row of ``config`` as indented JSON (long texts shortened), for the card."""
    if folder is None or config is None:
        return None
    import pyarrow.parquet as pq

    shards = sorted((Path(folder) / DATA_DIR / config).glob(f"{TRAIN_SPLIT}-*.parquet"))
    if not shards:
        return None
    rows = pq.ParquetFile(shards[0]).read_row_group(0).slice(0, 1).to_pylist()
    if not rows:
        return None
    record = {
        k: (v[:240] + "…" if isinstance(v, str) and len(v) > 240 else v)
        for k, v in rows[0].items()
        if not (isinstance(v, float) and v != v)
    }
    return json.dumps(record, ensure_ascii=False, indent=2, default=str)


def card_variables(
    state: dict[str, Any], repo_id: str | None = None, folder: str | os.PathLike | None = None
) -> dict[str, Any]:
    """The template's variables, all derived from the build state (and, with ``folder``, its first row)."""
    configs = []
    for name, info in state["configs"].items():
        heldout = info.get("heldout")
        configs.append(
            {
                **info,
                "name": name,
                "passage_languages": ", ".join(get_language(c).english_name for c in info["passage_languages"]),
                "train_rows": _fmt(info["train_rows"]),
                "heldout_summary": f"{_fmt(heldout['queries'])} / {_fmt(heldout['corpus'])}" if heldout else "–",
            }
        )
    runs = []
    for run_id, run in state["runs"].items():
        names = [n for n, info in state["configs"].items() if info["run"] == run_id]
        prov: dict[str, list[str]] = {}
        for n in names:
            for key, values in state["configs"][n]["provenance"].items():
                prov.setdefault(key, [])
                prov[key] += [v for v in values if v not in prov[key]]
        runs.append(
            {
                "id": run_id,
                "configs": names,
                "models": _listing(prov.get("model")),
                "templates": _listing(prov.get("template")),
                "template_hashes": _listing(prov.get("template_hash")),
                "endpoint_kinds": _listing(prov.get("endpoint_kind")),
                "params": _listing(prov.get("params")),
                "manifest_lines": _manifest_lines(run.get("manifest")),
                "rows_read": _fmt(run["rows_read"]),
                "rows_published": _fmt(run["rows_published"]),
                "dropped": ", ".join(f"{k}: {_fmt(v)}" for k, v in run["dropped"].items()),
                "filters": [
                    {k: _fmt(v) for k, v in row.items()} for row in summarize_quality_report(run.get("quality_report"))
                ],
                "filter_table": filter_pivot(run.get("quality_report")),
            }
        )
    cross_passages = sorted(
        {c for info in state["configs"].values() if info["setting"] == CROSS_LINGUAL for c in info["passage_languages"]}
    )
    sources = state.get("source_datasets") or []
    codes = {info["code"] for info in state["configs"].values()}
    models = sorted({m for info in state["configs"].values() for m in info["provenance"].get("model", [])})
    default = default_config(state)
    return {
        "default_config": default,
        "example_record": example_record(folder, default),
        "funnel_image": FUNNEL_IMAGE if folder is not None and (Path(folder) / FUNNEL_IMAGE).is_file() else None,
        "models": ", ".join(f"`{m}`" for m in models) or "the model(s) listed below",
        "weak_langid": [
            f"{get_language(c).english_name} (`{c}`)"
            + (f", which detectors confuse with {sib}" if sib else ", no detector")
            for c, sib in WEAK_LANGID.items()
            if c in codes
        ],
        "pretty_name": state["pretty_name"],
        "license": state["license"].upper() if state["license"].startswith("cc") else state["license"],
        "configs": configs,
        "config_names": sorted(state["configs"]),
        "example_config": next(iter(state["configs"])),
        "repo_id": repo_id or state.get("repo_id") or DEFAULT_REPO_ID,  # state: where it was last pushed
        "total_rows": _fmt(sum(info["train_rows"] for info in state["configs"].values())),
        "has_cross": any(c["setting"] == CROSS_LINGUAL for c in configs),
        "has_mono": any(c["setting"] == MONOLINGUAL for c in configs),
        "has_heldout": any(info.get("heldout") for info in state["configs"].values()),
        "cross_passage_languages": ", ".join(get_language(c).english_name for c in cross_passages) or "English",
        "runs": runs,
        "source_description": ", ".join(f"`{s}`" for s in sources)
        if sources
        else "the sampled corpus (Wikipedia by default)",
    }


def render_card(
    state: dict[str, Any],
    *,
    folder: str | os.PathLike | None = None,
    repo_id: str | None = None,
    template_path: str | os.PathLike | None = None,
):
    """Render the :class:`huggingface_hub.DatasetCard` of a build state (of the repo in ``folder``)."""
    import jinja2
    from huggingface_hub import DatasetCard

    from hfswim.io import read_text

    path = Path(template_path) if template_path else globals()["template_path"]()
    read_text(path, "card template")  # missing, a folder, or not UTF-8: one line naming it
    try:
        return DatasetCard.from_template(
            card_metadata(state, folder), template_path=str(path), **card_variables(state, repo_id, folder)
        )
    except jinja2.TemplateError as err:
        line = f":{err.lineno}" if getattr(err, "lineno", None) else ""
        raise InputError(f"{path}{line}: the card template does not render ({err.message or err}).") from None


def write_card(
    folder: str | os.PathLike,
    state: dict[str, Any],
    *,
    repo_id: str | None = None,
    template_path: str | os.PathLike | None = None,
) -> Path:
    """Render the card into ``folder/README.md`` (atomically) and check it; returns the path."""
    card = render_card(state, folder=folder, repo_id=repo_id, template_path=template_path)
    from hfswim.io import write_text_atomic

    path = Path(folder) / CARD_FILE
    write_text_atomic(path, str(card))
    check_card(folder)
    return path


def card_yaml(folder: str | os.PathLike) -> dict[str, Any]:
    """The card's YAML metadata block as a dict."""
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise InputError(f"{path}: no dataset card.")
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise InputError(f"{path}: the card has no YAML metadata block.")
    end = text.find("\n---", 4)
    if end < 0:
        raise InputError(f"{path}: the card's YAML block is not closed by '---'.")
    try:
        data = yaml.safe_load(text[4:end])
    except yaml.YAMLError as err:
        raise InputError(f"{path}: the card's YAML does not parse ({err}).") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the card's YAML is not a mapping.")
    return data


def check_card(folder: str | os.PathLike) -> None:
    """Offline checks of a repo folder's card; raise one :class:`InputError` listing every problem."""
    from huggingface_hub import DatasetCard, DatasetCardData

    folder = Path(folder)
    data = card_yaml(folder)
    problems = []
    if DatasetCardData(**data).to_dict() != data:
        problems.append("YAML does not round-trip through huggingface_hub.DatasetCardData")
    card = DatasetCard.load(folder / CARD_FILE)
    if card.data.to_dict() != data:
        problems.append("huggingface_hub.DatasetCard.load reads other metadata than the YAML block")
    if data.get("license") not in HUB_LICENSES:
        problems.append(f"license {data.get('license')!r} is not a Hub license id")
    for value in data.get("size_categories") or [None]:
        if value not in KNOWN_SIZE_CATEGORIES:
            problems.append(f"size_categories {value!r} is not a Hub value")
    for code in data.get("language") or []:
        try:
            get_language(code)
        except Exception:
            problems.append(f"language {code!r} is not a known language code")
    if "text-retrieval" not in (data.get("task_categories") or []):
        problems.append("task_categories lacks text-retrieval")
    files = [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*.parquet")
        if not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    names = set()
    for entry in data.get("configs") or []:
        name = entry.get("config_name")
        if name in names:
            problems.append(f"config {name!r} is listed twice")
        names.add(name)
        for spec in entry.get("data_files") or []:
            if not any(fnmatch.fnmatch(f, spec["path"]) for f in files):
                problems.append(f"config {name!r}: data_files {spec['path']!r} match no file")
    if not names:
        problems.append("no configs")
    if problems:
        raise InputError(f"{folder / CARD_FILE}: " + "; ".join(problems) + ".")
