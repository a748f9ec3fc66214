"""The README says what the code does."""

from __future__ import annotations

from pathlib import Path

from scripts.settings_table import END, START, rows, table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme():
    missing = [env for env, _default, _desc in rows() if f"`{env}`" not in README]
    assert not missing, f"README lacks: {missing}"


def test_the_readme_settings_table_gives_each_settings_default_as_the_code_does():
    written = README.split(START, 1)[1].split(END, 1)[0].strip()
    assert written == table(), "the README's settings table is stale: python scripts/settings_table.py --write"


def test_every_setting_has_a_description():
    assert not [env for env, _default, desc in rows() if not desc]


def test_the_readme_quick_start_is_the_two_make_targets():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert "\ndemo:" in makefile and "\ntest:" in makefile
