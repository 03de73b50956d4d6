"""`hfswim languages`: list the 33 SWIM-IR languages and the extra ones hfswim adds (el, ro, vi)."""

from __future__ import annotations

import typer


def languages(
    setting: str = typer.Argument(None, metavar="[SET]", help="Only one language set: xor, miracl, indic or extra."),
    setting_option: str = typer.Option(None, "--setting", hidden=True),  # the former spelling
) -> None:
    """List the 33 SWIM-IR languages and hfswim's extra ones: codes, names, script and language sets (xor, miracl, indic, extra).

    A set's name works wherever hfswim takes languages: `hfswim generate --languages xor`.
    """
    setting = setting or setting_option
    from rich.console import Console
    from rich.table import Table

    from hfswim.languages import LANGUAGES, languages_in

    langs = languages_in(setting) if setting else list(LANGUAGES.values())
    table = Table("code", "ISO 639-1", "ISO 639-3", "English", "native", "script", "settings")
    for lang in langs:
        table.add_row(
            lang.code,
            lang.iso639_1 or "-",
            lang.iso639_3,
            lang.english_name,
            lang.native_name,
            lang.script,
            ",".join(lang.settings),
        )
    Console().print(table)
