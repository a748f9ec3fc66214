"""A reading list's papers named by Semantic Scholar id, OpenAlex id, or title + year, resolved through
the real recorded responses of those APIs replayed on 127.0.0.1: what is found becomes accepted
evidence; what is not (an unknown id, a title whose only close match is from another year) is kept
as an unresolved entry and reported by its row number, never dropped."""

from __future__ import annotations

import json

import pytest

from questlog.exporting.resolving import openalex_ref, s2_ref, same_title
from questlog.replay.server import Reply, Request
from tests.test_cli import ql
from tests.test_reading_list import write_csv

DID = "How Much Should We Trust Differences-in-Differences Estimates?"  # S2's CorpusId:470667
AUDITS = "Improving Third-Party Audits and Regulatory Compliance in India"  # S2's 0f40b1f0…
CHEMISTRY = "Augmenting large language models with chemistry tools"  # OpenAlex W4396723768, 2024-05-08
PAPERQA = "PaperQA: Retrieval-Augmented Generative Agent for Scientific Research"  # OpenAlex, 2023
Q1, Q2, Q3 = "Do field experiments replicate?", "Can language models use tools?", "Can agents read papers?"


@pytest.fixture(scope="module")
def recorded_batch(replay):
    """S2's batch endpoint answering each id with what S2 answered for it in a recorded batch (the
    replay alone needs the whole recorded request body; a reading list asks for its own ids)."""
    recorded, server = replay
    answers: dict[str, object] = {}
    for rec in recorded.recordings:
        if rec.path == "/graph/v1/paper/batch" and isinstance(rec.request_body, dict) and rec.status == 200:
            body = json.loads(rec.file.read_bytes())
            if isinstance(body, list) and any(isinstance(p, dict) and p.get("title") for p in body):
                answers.update(zip(rec.request_body["ids"], body, strict=True))

    def batch(req: Request) -> Reply:
        ids = json.loads(req.body or b"{}").get("ids", [])
        missing = [i for i in ids if i not in answers]
        if req.method != "POST" or missing:
            return Reply(404, f"no recording for {missing}".encode(), "text/plain")
        return Reply(200, json.dumps([answers[i] for i in ids]).encode())

    server.route("/api.semanticscholar.org/graph/v1/paper/batch", batch)
    return answers


@pytest.fixture
def env(server, recorded_batch):
    return {"QUESTLOG_SEMANTICSCHOLAR__BASE_URL": f"{server.url}/api.semanticscholar.org",
            "QUESTLOG_SEMANTICSCHOLAR__MIN_INTERVAL_NO_KEY_S": "0",
            "QUESTLOG_OPENALEX__BASE_URL": f"{server.url}/api.openalex.org", "QUESTLOG_OPENALEX__MIN_INTERVAL_S": "0",
            "QUESTLOG_ARXIV__ENABLED": "false", "QUESTLOG_CROSSREF__ENABLED": "false"}


def row(question: str, **paper: str) -> dict[str, str]:
    return {"question": question, "s2_id": "", "openalex_id": "", "title": "", "year": "", "note": "", **paper}


def test_semantic_scholar_openalex_and_title_rows_resolve_and_the_rest_are_kept_unresolved(tmp_path, env, server):
    listing = write_csv(tmp_path / "list.csv", [
        row(Q1, s2_id="CorpusId:470667", note="the classic"),
        row(Q1, s2_id="S2:0f40b1f08821e22e859c6050916cec3667778613"),
        row(Q1, s2_id="CorpusId:211530585"),
        row(Q2, openalex_id="https://openalex.org/W4396723768"),
        row(Q2, openalex_id="W1"),
        row(Q3, title=PAPERQA, year="2023", note="our baseline"),
        row(Q1, title=CHEMISTRY, year="2023"),
    ])
    data = tmp_path / "data"
    r = ql(data, "import", str(listing), env=env)
    assert r.returncode == 0, r.stderr
    assert "7 row(s), 4 resolved, 3 unresolved" in r.stdout
    assert "row 4: S2 CorpusId:211530585 kept unresolved: Semantic Scholar has no paper CorpusId:211530585" in r.stderr
    assert "row 6: OpenAlex W1 kept unresolved: not found: openalex: no work 'W1'" in r.stderr
    # the 2023 work that matches the title's words is the preprint, titled 'ChemCrow: …': not this paper
    assert f"row 8: {CHEMISTRY!r} (2023) kept unresolved: OpenAlex has this title from 2024, not 2023" in r.stderr
    batches = [q for q in server.requests if q.path.endswith("/graph/v1/paper/batch")]
    assert len(batches) == 1  # every S2 id of the list in one request
    evidence = {q: {e["title"]: e for e in json.loads(ql(data, "evidence", str(q), "--json").stdout)["evidence"]}
                for q in (1, 2, 3)}
    assert evidence[1][DID]["note"] == "the classic" and evidence[1][DID]["verdict"] == "accepted"
    assert evidence[1][DID]["paper"] == "doi:10.2139/ssrn.288970"  # S2's record gave its DOI
    assert evidence[1][AUDITS]["verdict"] == "accepted"
    assert evidence[2][CHEMISTRY]["verdict"] == "accepted"
    assert evidence[3][PAPERQA]["note"] == "our baseline"
    assert evidence[1][CHEMISTRY]["note"].startswith("unresolved: OpenAlex has this title from 2024")
    assert len(evidence[1]) == 4  # nothing dropped: 2 found, 2 kept unresolved


def test_a_dry_run_of_ids_and_titles_writes_nothing(tmp_path, env):
    listing = write_csv(tmp_path / "list.csv", [row(Q2, title=CHEMISTRY, year="2024"),
                                                row(Q1, s2_id="CorpusId:470667")])
    r = ql(tmp_path / "data", "import", str(listing), "--dry-run", env=env)
    assert r.returncode == 0 and "dry run, nothing written: would make 2 row(s), 2 resolved, 0 unresolved" in r.stdout
    assert not (tmp_path / "data" / "ledger.sqlite3").exists()


def test_ids_that_are_not_semantic_scholar_or_openalex_ids_or_a_year_that_is_not_one_are_refused(tmp_path, env):
    bad = write_csv(tmp_path / "bad.csv", [row(Q1, s2_id="12345"), row(Q1, openalex_id="A5023888391"),
                                           row(Q1, title=CHEMISTRY, year="last spring")])
    r = ql(tmp_path / "data", "import", str(bad), env=env)
    assert r.returncode == 2
    assert "row 2: s2_id '12345' is not a Semantic Scholar id" in r.stderr
    assert "row 3: openalex_id 'A5023888391' is not an OpenAlex work id" in r.stderr
    assert "row 4: year 'last spring' is not a year" in r.stderr
    assert not (tmp_path / "data" / "ledger.sqlite3").exists()


def test_a_disabled_source_leaves_its_rows_unresolved_saying_which_setting(tmp_path, env):
    listing = write_csv(tmp_path / "list.csv", [row(Q1, s2_id="CorpusId:470667"),
                                                row(Q2, title=CHEMISTRY, year="2024")])
    off = {**env, "QUESTLOG_SEMANTICSCHOLAR__ENABLED": "false", "QUESTLOG_OPENALEX__ENABLED": "false"}
    r = ql(tmp_path / "data", "import", str(listing), env=off)
    assert r.returncode == 0 and "2 row(s), 0 resolved, 2 unresolved" in r.stdout
    assert "Semantic Scholar is disabled (QUESTLOG_SEMANTICSCHOLAR__ENABLED)" in r.stderr
    assert "searched through OpenAlex, which is disabled (QUESTLOG_OPENALEX__ENABLED)" in r.stderr


def test_the_id_forms_a_user_may_paste_are_read_as_the_ids_the_apis_take():
    paper = "0f40b1f08821e22e859c6050916cec3667778613"
    site = "https://www.semanticscholar.org/paper"
    forms = (paper, f"S2:{paper.upper()}", f"{site}/Some-Title/{paper}", f"{site}/{paper}")
    assert {s2_ref(x) for x in forms} == {paper}
    assert s2_ref("CorpusID:470667") == s2_ref("corpusid: 470667") == "CorpusId:470667"
    assert s2_ref("470667") is None and s2_ref(paper[:-1]) is None
    assert {openalex_ref(x) for x in ("W4396723768", "openalex:w4396723768", "https://openalex.org/W4396723768",
                                      "https://api.openalex.org/works/W4396723768")} == {"W4396723768"}
    assert openalex_ref("A5023888391") is None


def test_a_title_is_the_same_despite_case_punctuation_or_a_typo_but_not_with_a_subtitle_added():
    assert same_title(CHEMISTRY, "Augmenting Large Language Models with Chemistry Tools.")
    assert same_title(CHEMISTRY, "Augmenting large langauge models with chemistry tools")
    assert same_title(PAPERQA, "PaperQA - Retrieval Augmented Generative Agent for Scientific Research")
    assert not same_title(CHEMISTRY, "ChemCrow: Augmenting large-language models with chemistry tools")
    assert not same_title(CHEMISTRY, "Augmenting small language models with chemistry tools")
    assert not same_title("", "")


def test_openalex_title_search_asks_with_the_title_filter_and_returns_every_matching_work(server):
    from shared.http import LocalRateLimiter
    from shared.sources.openalex import OpenAlexSettings, OpenAlexSource

    source = OpenAlexSource(OpenAlexSettings(base_url=f"{server.url}/api.openalex.org", min_interval_s=0),
                            LocalRateLimiter())
    try:
        works = source.search_title(CHEMISTRY, found_via="import")
    finally:
        source.close()
    assert server.requests[-1].query["filter"] == [f"title.search:{CHEMISTRY}"]
    assert [(w.openalex_id, w.published.year) for w in works] == [("W4396723768", 2024), ("W4365597205", 2023)]
    assert works[0].doi == "10.1038/s42256-024-00832-8" and {w.found_via for w in works} == {"import"}
