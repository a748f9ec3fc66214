"""Settings: one typed object; a misspelled variable is an error naming it, never silently ignored."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from shared.settings_group import unknown_variables


def test_a_misspelled_variable_at_any_depth_is_named_and_a_json_list_counts_as_one_name():
    environ = {"QUESTLOG_LINK__MIN_SCOR": "1", "QUESTLOG_NOPE": "x", "QUESTLOG_LINK__MIN_SCORE": "0.3",
               "QUESTLOG_ARXIV__CATEGORIES": '["cs.CL"]', "QUESTLOG_EMBED__MODELS": "[]", "OTHER_VAR": "1",
               "QUESTLOG_SMTP__PASSWORD": "secret", "QUESTLOG_ARXIV__BASE_URL__X": "1"}
    assert unknown_variables(Settings, environ) == ["QUESTLOG_ARXIV__BASE_URL__X", "QUESTLOG_LINK__MIN_SCOR",
                                                    "QUESTLOG_NOPE"]


def test_settings_refuse_to_start_with_an_unknown_variable(monkeypatch):
    monkeypatch.setenv("QUESTLOG_FULLTEXT__FETCHH", "off")
    with pytest.raises(ValidationError, match="unknown setting QUESTLOG_FULLTEXT__FETCHH"):
        Settings()


def test_a_misspelled_field_given_in_code_is_refused_too():
    with pytest.raises(ValidationError, match="min_scor"):
        Settings(link={"min_scor": 0.2})


def test_every_variable_the_readme_table_lists_is_known():
    from scripts.settings_table import rows

    assert unknown_variables(Settings, {env: "1" for env, _d, _m in rows()}) == []


def test_a_variable_an_earlier_release_read_is_refused_naming_its_new_name(monkeypatch):
    monkeypatch.setenv("QUESTLOG_DIGEST__SMTP_HOST", "mail.example.org")
    with pytest.raises(ValidationError, match=r"QUESTLOG_DIGEST__SMTP_HOST \(now QUESTLOG_SMTP__HOST\)"):
        Settings()


def test_the_embed_and_io_workers_run_as_many_processes_as_set_and_the_vector_worker_one(monkeypatch):
    from questlog.stack import worker_argv

    monkeypatch.setenv("QUESTLOG_EMBED__PROCESSES", "2")
    monkeypatch.setenv("QUESTLOG_TASKS__IO_PROCESSES", "3")
    s = Settings()

    def concurrency(group: str) -> str:
        argv = worker_argv(group, s)
        return argv[argv.index("-c") + 1]

    assert (concurrency("embed"), concurrency("io"), concurrency("vector")) == ("2", "3", "1")
    monkeypatch.setenv("QUESTLOG_EMBED__PROCESSES", "0")
    with pytest.raises(ValueError, match="processes"):
        Settings()


def test_an_arxiv_category_that_arxiv_would_not_know_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv("QUESTLOG_ARXIV__SEARCH_CATEGORIES", '["cs.CL", "cs CL"]')
    with pytest.raises(ValidationError, match=r"not arXiv categories: \['cs CL'\]"):
        Settings()
    monkeypatch.setenv("QUESTLOG_ARXIV__SEARCH_CATEGORIES", '["cs.CL", "stat.ML", "q-bio.NC", "hep-th"]')
    assert Settings().arxiv.search_scope() == ["cs.CL", "stat.ML", "q-bio.NC", "hep-th"]
    monkeypatch.delenv("QUESTLOG_ARXIV__SEARCH_CATEGORIES")
    assert Settings().arxiv.search_scope() == Settings().arxiv.categories  # unset: the firehose's
