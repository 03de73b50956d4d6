import pytest

from hfswim.errors import ConfigError
from hfswim.languages import LANGUAGES, get_language, languages_in, parse_languages


def test_registry_has_the_33_swim_ir_languages_and_hfswims_extra_ones():
    assert len([lang for lang in LANGUAGES.values() if lang.is_swim_ir]) == 33
    assert [lang.code for lang in languages_in("extra")] == ["el", "ro", "vi"]
    assert all(lang.is_monolingual and not lang.is_cross_lingual for lang in languages_in("extra"))
    assert [lang.code for lang in languages_in("xor")] == "ar bn de es fa fi fr hi id ja ko ru sw te th yo zh".split()
    assert sorted(lang.code for lang in languages_in("miracl")) == sorted(
        "ar bn de en es fa fi fr hi id ja ko ru sw te th yo zh".split()
    )
    assert sorted(lang.code for lang in languages_in("indic")) == sorted(
        "as bho gom gu kn mai ml mni mr or pa ps sa ta ur".split()
    )


def test_lookup_by_any_code_or_name():
    assert get_language("swa").code == "sw"
    assert get_language("Swahili").code == "sw"
    assert get_language("日本語").code == "ja"
    assert get_language("kok").code == "gom"
    assert get_language("bho").iso639_1 is None


def test_unknown_language_names_close_matches():
    with pytest.raises(ConfigError, match=r"Did you mean: .*sw \(Swahili\)"):
        get_language("swahly")
    with pytest.raises(ConfigError, match="Unknown language 'xx'"):
        parse_languages("sw,xx")


def test_unspaced_scripts():
    assert get_language("zh").is_unspaced and get_language("th").is_unspaced and get_language("ja").is_unspaced
    assert not get_language("ko").is_unspaced  # Korean separates words with spaces


def test_parse_settings_and_all():
    assert len(parse_languages("all")) == 33  # SWIM-IR's; the extra set is asked for by name
    assert [lang.code for lang in parse_languages("extra,Greek")] == ["el", "ro", "vi"]
    assert {lang.code for lang in parse_languages("indic,en")} >= {"en", "ta"}
    with pytest.raises(ConfigError, match="empty"):
        parse_languages(" , ")


def test_cli_lists_every_stage_and_fails_in_one_line(capsys):
    from hfswim.cli import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "sample", "generate", "filter", "build-dataset", "push-dataset", "train", "evaluate"):
        assert command in out
    assert main(["languages", "--setting", "xx"]) == 2
    assert "Unknown setting 'xx'" in capsys.readouterr().err


def test_cli_lists_the_extra_set_and_shows_a_greek_monolingual_prompt(tmp_path):
    import json
    import subprocess
    import sys

    listing = subprocess.run(
        [sys.executable, "-m", "hfswim", "languages", "extra"], capture_output=True, text=True, check=False
    )
    assert listing.returncode == 0, listing.stderr
    assert "Greek" in listing.stdout and "Vietnamese" in listing.stdout and "Swahili" not in listing.stdout
    passage = tmp_path / "p.json"
    passage.write_text(json.dumps({"passage_id": "p1", "title": "Κρήτη", "text": "Η Κρήτη είναι νησί.", "lang": "el"}))
    cmd = ["prompts", "show", "-s", "sap", "--setting", "monolingual", "-l", "el", "--passage-file", str(passage)]
    shown = subprocess.run([sys.executable, "-m", "hfswim", *cmd], capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "Query (Greek): Πώς επιβιώνει το μπαομπάμπ" in shown.stdout and "Η Κρήτη είναι νησί." in shown.stdout
