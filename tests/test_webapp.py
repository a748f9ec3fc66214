"""The research workbench (`questlog web`) through Starlette's TestClient over a real SQLite ledger:
login and CSRF, questions, triage, conclusions and the JSON API."""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from questlog.webapp import create_app
from questlog.webapp.auth import load_or_create_password
from questlog.webapp.server import check_host, is_loopback, make_server
from shared.errors import PermanentError
from shared.ids import passage_id
from shared.ledger import EvidenceDraft, Ledger, PassageDraft
from shared.ledger.models import EvidenceRow, QuestionVisitRow
from shared.records import PaperRecord
from shared.settings import BrokerSettings, LedgerSettings, Settings

PASSWORD = "correct horse battery staple"
PASSAGE = ("We train 40 models of three sizes. Retrieval closes most of the gap to a model ten times larger. "
           "Costs are reported in the appendix.")


def settings_for(data_dir: Path) -> Settings:
    # no broker answers on port 9: writes never reach a pipeline, and nothing probes the host's Redis
    return Settings(data_dir=data_dir, broker=BrokerSettings(url="redis://127.0.0.1:9/0"),
                    ledger=LedgerSettings(url=f"sqlite:///{data_dir / 'ledger.sqlite3'}"))


def add_link(ledger: Ledger, question_id: int, arxiv_id: str, title: str, passage: str, score: float, *,
             stance: str = "neutral", answer: str = "", rationale: str = "", sentences: tuple[int, ...] = (),
             kind: str = "abstract", page: int | None = None, section: str = "") -> str:
    """A paper, its passage and a link to the question; returns the link id."""
    paper = ledger.upsert_paper(PaperRecord(source="arxiv", source_id=f"{arxiv_id}v1", arxiv_id=arxiv_id,
                                            arxiv_version=1, title=title, authors=("Ada Lovelace",),
                                            abstract=passage, url=f"https://arxiv.org/abs/{arxiv_id}v1")).paper_id
    pid = passage_id(paper, 0, passage)
    ledger.replace_passages(paper, [PassageDraft(index=0, text=passage, start=0, end=len(passage), kind=kind,
                                                 page=page, section=section)], [pid])
    ledger.upsert_evidence([EvidenceDraft(question_id=question_id, passage_id=pid, paper_id=paper, score=score,
                                          scores={"dense": score}, retrieval="backfill", model="minilm",
                                          model_version="test", stance=stance, answer=answer, rationale=rationale,
                                          rationale_sentences=list(sentences))])
    return next(e.id for e in ledger.evidence(question_id) if e.passage_id == pid)


def found_at(ledger: Ledger, link: str, when: datetime) -> None:
    with ledger.session() as s:
        s.get(EvidenceRow, link).found_at = when


@dataclass
class Bench:
    client: TestClient
    ledger: Ledger
    settings: Settings
    question: int
    links: dict[str, str]

    def csrf(self) -> str:
        return re.search(r'name="csrf-token" content="([^"]+)"', self.client.get("/login").text).group(1)

    def log_in(self, password: str = PASSWORD):
        return self.client.post("/login", data={"csrf": self.csrf(), "password": password, "next": "/"})

    def token(self) -> str:
        return self.client.get("/api/session").json()["csrf"]

    def post(self, path: str, **data):
        return self.client.post(path, data={"csrf": self.token(), **data})

    def api(self, method: str, path: str, body: dict | None = None):
        return self.client.request(method, path, json=body, headers={"X-CSRF-Token": self.token()})


def seed(ledger: Ledger) -> tuple[int, dict[str, str]]:
    q = ledger.add_question("Does retrieval help small language models?")
    links = {
        "yes": add_link(ledger, q.id, "2401.00001", "Retrieval for small models", PASSAGE, 0.91, answer="yes",
                        stance="supports", rationale="Retrieval closes most of the gap to a model ten times larger.",
                        sentences=(1,)),
        "body": add_link(ledger, q.id, "2401.00002", "Scaling retrieval", "Table 3 shows a 4-point gain.", 0.75,
                         answer="mixed", rationale="A gain, but only on two tasks.", kind="body", page=7,
                         section="5.2 Main Results"),
        "other": add_link(ledger, q.id, "2401.00003", "Tokenisers revisited", "Byte-level models do fine.", 0.40),
    }
    return q.id, links


@pytest.fixture
def bench(tmp_path):
    settings = settings_for(tmp_path)
    (tmp_path / "web.secret").write_text(PASSWORD + "\n")
    ledger = Ledger(settings.ledger_url)
    question, links = seed(ledger)
    app = create_app(settings, ledger, load_or_create_password(tmp_path)[0], login_pause_s=0.0)
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield Bench(client, ledger, settings, question, links)
    ledger.close()


@pytest.fixture
def user(bench):
    assert bench.log_in().status_code == 303
    return bench


# -- login and safety --------------------------------------------------------------
def test_the_password_file_is_made_once_and_readable_by_its_owner_only(tmp_path):
    password, created = load_or_create_password(tmp_path / "data")
    assert created and len(password) >= 24
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "web.secret").st_mode) == 0o600
    assert load_or_create_password(tmp_path / "data") == (password, False)
    (tmp_path / "data" / "web.secret").write_text("\n")
    with pytest.raises(PermanentError, match="is empty"):
        load_or_create_password(tmp_path / "data")


def test_a_wrong_password_is_a_401_after_a_pause_and_gives_no_session(bench):
    bench.client.app.state.login_pause_s = 0.2
    started = time.monotonic()
    r = bench.log_in("guess")
    assert r.status_code == 401 and "Wrong password" in r.text
    assert time.monotonic() - started >= 0.2
    assert bench.client.get("/api/questions").status_code == 401


def test_logging_in_gives_an_httponly_samesite_session_cookie_and_goes_where_asked(bench):
    r = bench.client.get("/questions/1")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fquestions%2F1"
    page = bench.client.get(r.headers["location"]).text
    assert 'name="next" value="/questions/1"' in page
    r = bench.client.post("/login", data={"csrf": bench.csrf(), "password": PASSWORD, "next": "/questions/1"})
    assert r.status_code == 303 and r.headers["location"] == "/questions/1"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and cookie.startswith("questlog_session=")
    assert bench.client.get("/questions/1").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_a_login_never_sends_the_browser_off_the_site(bench, target):
    r = bench.client.post("/login", data={"csrf": bench.csrf(), "password": PASSWORD, "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_a_form_without_a_csrf_token_is_a_403_that_says_so(user):
    r = user.client.post("/questions", data={"text": "Does a forged form get through?"})
    assert r.status_code == 403 and "carries no CSRF token" in r.text
    assert [q.text for q in user.ledger.questions()] == ["Does retrieval help small language models?"]


def test_a_csrf_token_from_before_the_login_is_stale_after_it(bench):
    before = bench.csrf()
    bench.log_in()
    r = bench.client.post("/questions", data={"csrf": before, "text": "Does an old token still work?"})
    assert r.status_code == 403 and "stale" in r.text
    r = bench.client.post("/api/questions", json={"text": "Does an old token work here?"},
                          headers={"X-CSRF-Token": before})
    assert r.status_code == 403 and "stale" in r.json()["error"]


def test_every_write_route_refuses_a_request_without_the_csrf_token(user):
    writes = [(m, r.path) for r in user.client.app.routes if isinstance(r, Route)
              for m in sorted(r.methods or ()) if m in ("POST", "PUT", "DELETE")]
    assert len(writes) >= 15
    for method, path in writes:
        concrete = path.replace("{qid:qid}", str(user.question)).replace("{eid:str}", user.links["yes"])
        r = user.client.request(method, concrete, data={"text": "x", "decision": "accept"} if method == "POST" else None)
        assert r.status_code == 403, (method, path, r.status_code)
    assert user.ledger.link(user.links["yes"]).verdict is None
    assert user.ledger.question(user.question).status == "open"


def test_logging_out_ends_the_session(user):
    assert user.post("/logout").status_code == 303
    assert user.client.get("/").status_code == 303
    assert user.client.get("/api/session").status_code == 401


def test_only_loopback_is_served_unless_remote_is_allowed(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    with pytest.raises(PermanentError, match="--allow-remote"):
        make_server(settings_for(tmp_path), "0.0.0.0", 0)
    assert not (tmp_path / "web.secret").exists()
    check_host("0.0.0.0", allow_remote=True)


# -- questions ---------------------------------------------------------------------
def test_adding_a_question_opens_its_page_and_lists_it(user):
    r = user.post("/questions", text="  Can data pruning beat scaling laws?  ")
    assert r.status_code == 303 and re.fullmatch(r"/questions/\d+", r.headers["location"])
    assert "Question 2 added." in user.client.get(r.headers["location"]).text
    assert '<a href="/questions/2">Can data pruning beat scaling laws?</a>' in user.client.get("/").text


@pytest.mark.parametrize("text, says", [
    ("   ", "a question needs some words"),
    ("Is it what it was?", "has no word to search for"),
    ("Does retrieval help SMALL language models", "question 1 already asks this"),
])
def test_a_refused_question_is_shown_inline_with_the_text_kept(user, text, says):
    r = user.post("/questions", text=text)
    assert r.status_code == 400 and says in r.text
    assert f'name="text" value="{text}"' in r.text and len(user.ledger.questions()) == 1


def test_editing_a_question_changes_its_text_and_has_it_searched_again(user):
    user.ledger.mark_question_indexed(user.question)
    other = user.ledger.add_question("Do larger batches speed up training?").id
    for qid in (user.question, other):  # both searched before: arXiv's watermark, S2's window
        user.ledger.save_cursor(f"arxiv:search:{qid}", {"newest": ["2026-06-22T14:00:00", "2606.00001"]})
        user.ledger.save_cursor(f"semanticscholar:search:{qid}", {"next": {"from_date": "2026-06-01"}})
    r = user.post(f"/questions/{user.question}/edit", text="Does retrieval help tiny language models?")
    assert r.status_code == 303
    q = user.ledger.question(user.question)
    assert q.text == "Does retrieval help tiny language models?" and q.indexed_at is None
    # the new text is searched afresh (a first search), the other question's searches go on as they were
    assert user.ledger.cursor(f"arxiv:search:{user.question}") == {}
    assert user.ledger.cursor(f"semanticscholar:search:{user.question}") == {}
    assert user.ledger.cursor(f"arxiv:search:{other}")["newest"] and user.ledger.cursor(f"semanticscholar:search:{other}")
    user.ledger.delete_question(other)
    assert len(user.ledger.evidence(user.question)) == 3
    taken = user.ledger.add_question("Is tokenisation solved for code?").id
    r = user.post(f"/questions/{user.question}/edit", text="is tokenisation solved for CODE")
    assert r.status_code == 400 and f"question {taken} already asks this" in r.text
    assert ">is tokenisation solved for CODE</textarea>" in r.text


def test_a_question_is_parked_answered_and_reopened(user):
    for status in ("parked", "answered", "open"):
        assert user.post(f"/questions/{user.question}/status", status=status).status_code == 303
        assert user.ledger.question(user.question).status == status
    assert user.post(f"/questions/{user.question}/status", status="closed").status_code == 400


def test_deleting_asks_first_then_removes_the_question_with_its_links_and_conclusions(user):
    user.ledger.save_conclusion(user.question, f"Yes [@E{user.links['yes'][:8]}].")
    page = user.client.get(f"/questions/{user.question}/delete")
    assert page.status_code == 200 and "its 3 evidence link(s)" in page.text
    assert user.ledger.question(user.question)  # looking at the confirmation deletes nothing
    r = user.post(f"/questions/{user.question}/delete")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "with 3 link(s), 1 conclusion version(s)" in user.client.get("/").text
    assert user.ledger.questions() == [] and user.ledger.counts()["evidence"] == 0
    assert user.ledger.conclusions(user.question) == []
    assert user.client.get(f"/questions/{user.question}").status_code == 404


def test_the_list_counts_links_found_since_the_question_was_last_looked_at(user):
    assert '<span class="badge new">3 new</span>' in user.client.get("/").text
    user.client.get(f"/questions/{user.question}")
    assert '<span class="badge new">' not in user.client.get("/").text
    later = add_link(user.ledger, user.question, "2401.00009", "A late paper", "Late news.", 0.5)
    found_at(user.ledger, later, datetime.now(timezone.utc) + timedelta(seconds=5))
    assert '<span class="badge new">1 new</span>' in user.client.get("/").text


# -- triage --------------------------------------------------------------------------
def cards(html: str) -> list[str]:
    return re.findall(r'<li class="card[^"]*" id="e-([0-9a-f-]+)"', html)


def test_the_first_visit_marks_every_link_new_and_a_later_visit_only_the_links_found_since(user):
    page = user.client.get(f"/questions/{user.question}").text
    assert page.count('<span class="badge new">new</span>') == 3
    assert user.client.get(f"/questions/{user.question}").text.count('<span class="badge new">new</span>') == 3
    with user.ledger.session() as s:  # the last look was an hour ago: this is a new visit
        s.get(QuestionVisitRow, user.question).seen_at = datetime.now(timezone.utc) - timedelta(hours=1)
    for link in user.links.values():
        found_at(user.ledger, link, datetime.now(timezone.utc) - timedelta(days=1))
    found_at(user.ledger, user.links["other"], datetime.now(timezone.utc) - timedelta(minutes=5))
    page = user.client.get(f"/questions/{user.question}").text
    assert page.count('<span class="badge new">new</span>') == 1
    assert re.search(rf'class="card new" id="e-{user.links["other"]}"', page)


def test_the_rationale_is_highlighted_inside_the_passage_and_not_repeated(user):
    page = user.client.get(f"/questions/{user.question}").text
    assert ('We train 40 models of three sizes. <mark class="rationale">Retrieval closes most of the gap to a '
            'model ten times larger.</mark> Costs are reported') in page
    assert page.count("Retrieval closes most of the gap") == 1
    assert '<p class="rationale">A gain, but only on two tasks.</p>' in page  # not in its passage: shown apart


def test_a_full_text_passage_says_where_in_the_paper_it_is(user):
    page = user.client.get(f"/questions/{user.question}").text
    assert '<span class="where">p. 7, §5.2 Main Results</span>' in page


def test_a_verdict_from_a_form_goes_back_to_the_card(user):
    link = user.links["yes"]
    r = user.post(f"/evidence/{link}/verdict", decision="accept", back=f"/questions/{user.question}?sort=date")
    assert r.status_code == 303 and r.headers["location"] == f"/questions/{user.question}?sort=date#e-{link}"
    assert user.ledger.link(link).verdict == "accepted"
    r = user.post(f"/evidence/{link}/verdict", decision="clear", back="https://evil.example/")
    assert r.headers["location"] == f"/#e-{link}" and user.ledger.link(link).verdict is None
    assert user.post(f"/evidence/{link}/verdict", decision="maybe").status_code == 400
    assert user.post("/evidence/ffffffff/verdict", decision="accept").status_code == 404


def test_a_verdict_from_the_page_script_is_answered_with_the_new_card(user):
    link = user.links["other"]
    r = user.client.post(f"/evidence/{link}/verdict", data={"decision": "reject", "new": "1", "back": "/"},
                         headers={"X-CSRF-Token": user.token(), "HX-Request": "true"})
    assert r.status_code == 200 and r.text.lstrip().startswith(f'<li class="card rejected new" id="e-{link}"')
    assert '<span class="badge verdict rejected">rejected</span>' in r.text
    r = user.client.post(f"/evidence/{link}/verdict", data={"decision": "accept"},
                         headers={"X-CSRF-Token": "stale", "HX-Request": "true"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/plain") and "stale" in r.text


def test_a_note_is_kept_escaped_and_an_empty_note_clears_it(user):
    link = user.links["body"]
    assert user.post(f"/evidence/{link}/note", note="<b>cite</b> in chapter 2").status_code == 303
    assert user.ledger.link(link).note == "<b>cite</b> in chapter 2"
    assert "Note: &lt;b&gt;cite&lt;/b&gt; in chapter 2" in user.client.get(f"/questions/{user.question}").text
    user.post(f"/evidence/{link}/note", note="  ")
    assert user.ledger.link(link).note is None


def test_the_verdict_filter_takes_the_cli_s_choices():
    from questlog.cli import EVIDENCE_VERDICTS
    from questlog.webapp.cards import VERDICT_FILTERS

    assert VERDICT_FILTERS == EVIDENCE_VERDICTS


def test_the_filters_narrow_and_sort_the_cards(user):
    base = f"/questions/{user.question}"
    user.ledger.set_verdict(user.links["other"], "rejected")
    user.ledger.set_verdict(user.links["yes"], "accepted")
    found_at(user.ledger, user.links["body"], datetime(2026, 3, 1, tzinfo=timezone.utc))
    found_at(user.ledger, user.links["yes"], datetime(2026, 1, 1, tzinfo=timezone.utc))
    found_at(user.ledger, user.links["other"], datetime(2026, 2, 1, tzinfo=timezone.utc))
    links = user.links

    def shown(query: str) -> list[str]:
        return cards(user.client.get(f"{base}?{query}").text)

    assert shown("") == [links["yes"], links["body"]]  # kept: rejected links hidden
    assert shown("verdict=rejected") == [links["other"]]
    assert shown("verdict=none") == [links["body"]]
    assert shown("verdict=any&sort=date") == [links["body"], links["other"], links["yes"]]
    assert shown("says=mixed") == [links["body"]] and shown("says=supports") == [links["yes"]]
    assert shown("verdict=any&since=2026-02-01") == [links["body"], links["other"]]
    assert shown("verdict=any&q=TOKENISERS") == [links["other"]]
    assert shown("q=ten%20times") == [links["yes"]]
    assert shown("q=100%25") == []
    for bad in ("verdict=maybe", "says=perhaps", "since=yesterday", "sort=title", "limit=0"):
        assert user.client.get(f"{base}?{bad}").status_code == 400, bad


# -- conclusions -----------------------------------------------------------------------
def test_a_conclusion_is_saved_as_versions_and_its_citations_show_the_rationale(user):
    cite = f"[@E{user.links['yes'][:8]}]"
    r = user.post(f"/questions/{user.question}/conclusion", text=f"**Yes**, mostly {cite}.")
    assert r.status_code == 303 and r.headers["location"] == f"/questions/{user.question}#conclusion"
    page = user.client.get(f"/questions/{user.question}").text
    assert "Conclusion version 1 saved." in page and "<strong>Yes</strong>, mostly" in page
    assert (f'<a class="cite" href="/questions/{user.question}#e-{user.links["yes"]}" data-cite="E'
            f'{user.links["yes"][:8]}" title="Retrieval closes most of the gap to a model ten times larger. — '
            f'Retrieval for small models">{cite}</a>') in page
    user.post(f"/questions/{user.question}/conclusion", text=f"**Yes**, mostly {cite}.")
    assert "No change: the conclusion is still version 1." in user.client.get(f"/questions/{user.question}").text
    user.post(f"/questions/{user.question}/conclusion", text="Yes, for models under 1B.")
    assert [c.version for c in user.ledger.conclusions(user.question)] == [2, 1]
    history = user.client.get(f"/questions/{user.question}/conclusions").text
    assert f'<a href="/questions/{user.question}/conclusions/1">version 1</a>' in history
    assert "<strong>Yes</strong>, mostly" in user.client.get(f"/questions/{user.question}/conclusions/1").text
    assert user.client.get(f"/questions/{user.question}/conclusions/9").status_code == 404


def test_a_conclusion_citing_an_unknown_id_is_refused_naming_it_and_nothing_is_saved(user):
    text = f"Yes [@E{user.links['yes'][:8]}], but see [@E0badc0de]."
    r = user.post(f"/questions/{user.question}/conclusion", text=text)
    assert r.status_code == 400 and "[@E0badc0de] cites no evidence of question 1" in r.text
    assert f">{text}</textarea>" in r.text  # the draft is not lost
    assert f'name="back" value="/questions/{user.question}"' in r.text  # the cards' forms return to the page
    assert user.ledger.conclusions(user.question) == []
    other = user.ledger.add_question("Is tokenisation solved for code?")
    r = user.post(f"/questions/{other.id}/conclusion", text=f"No [@E{user.links['yes'][:8]}].")
    assert r.status_code == 400 and "cites no evidence of question 2" in r.text


def test_html_in_a_conclusion_is_shown_as_text(user):
    user.post(f"/questions/{user.question}/conclusion",
              text="<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>")
    page = user.client.get(f"/questions/{user.question}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page and "<img" not in page


# -- the JSON API ----------------------------------------------------------------------
def test_the_api_writes_what_the_pages_write(user):
    r = user.api("POST", "/api/questions", {"text": "Can data pruning beat scaling laws?"})
    assert r.status_code == 201 and r.json()["text"] == "Can data pruning beat scaling laws?"
    qid = r.json()["id"]
    assert user.api("PUT", f"/api/questions/{qid}", {"text": "Can data pruning beat power laws?"}).json()["text"] \
        == "Can data pruning beat power laws?"
    r = user.api("PUT", f"/api/questions/{qid}/status", {"status": "parked", "notes": "later"})
    assert r.json()["status"] == "parked" and r.json()["notes"] == "later"
    link = user.links["yes"][:8]
    r = user.api("PUT", f"/api/evidence/{link}/verdict", {"verdict": "accept"})
    assert r.status_code == 200 and r.json()["verdict"] == "accepted" and r.json()["id"] == user.links["yes"]
    assert user.api("PUT", f"/api/evidence/{link}/note", {"note": "key result"}).json()["note"] == "key result"
    r = user.api("POST", f"/api/questions/{user.question}/conclusions", {"text": f"Yes [@E{link}]."})
    assert r.status_code == 201 and r.json()["version"] == 1 and 'class="cite"' in r.json()["html"]
    assert user.api("POST", f"/api/questions/{user.question}/conclusions", {"text": f"Yes [@E{link}]."}).status_code == 200
    assert [c["version"] for c in user.client.get(f"/api/questions/{user.question}/conclusions").json()] == [1]
    r = user.api("DELETE", f"/api/questions/{qid}")
    assert r.json() == {"deleted": qid, "links": 0, "digests": 0, "conclusions": 0}
    assert [q["id"] for q in user.client.get("/api/questions").json()] == [user.question]


@pytest.mark.parametrize("method, path, body, says", [
    ("POST", "/api/questions", {"text": ""}, "a question needs some words"),
    ("POST", "/api/questions", {"text": 5}, "'text' must be a string"),
    ("POST", "/api/questions", ["text"], "must be a JSON object"),
    ("PUT", "/api/questions/1/status", {"status": "closed"}, "status must be one of"),
    ("PUT", "/api/evidence/{yes}/verdict", {"verdict": "maybe"}, "verdict must be accept, reject or clear"),
    ("POST", "/api/questions/1/conclusions", {"text": "See [@Enothere1]."}, "[@Enothere1] cites no evidence"),
])
def test_a_bad_api_write_is_a_400_saying_why(user, method, path, body, says):
    r = user.api(method, path.format(yes=user.links["yes"]), body)
    assert r.status_code == 400 and says in r.json()["error"], r.text


def test_an_api_write_to_something_missing_is_a_404(user):
    assert user.api("PUT", "/api/questions/99/status", {"status": "open"}).status_code == 404
    assert user.api("PUT", "/api/evidence/ffffffff/note", {"note": "x"}).status_code == 404
    assert user.api("DELETE", "/api/questions/99").status_code == 404


def test_the_evidence_api_takes_the_page_s_filters_and_gives_every_link_by_default(user):
    user.ledger.set_verdict(user.links["other"], "rejected")
    base = f"/api/questions/{user.question}/evidence"
    assert len(user.client.get(base).json()["evidence"]) == 3
    assert [e["id"] for e in user.client.get(f"{base}?verdict=kept&says=mixed").json()["evidence"]] \
        == [user.links["body"]]
    first = user.client.get(f"{base}?says=mixed").json()["evidence"][0]
    assert first["where"] == "p. 7, §5.2 Main Results" and first["page"] == 7 and first["kind"] == "body"


def test_the_workbench_reads_and_writes_the_same_on_postgresql(postgres_url, tmp_path):
    ledger = Ledger(postgres_url)
    try:
        question, links = seed(ledger)
        (tmp_path / "web.secret").write_text(PASSWORD + "\n")
        app = create_app(settings_for(tmp_path), ledger, PASSWORD, login_pause_s=0.0)
        with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
            bench = Bench(client, ledger, settings_for(tmp_path), question, links)
            bench.log_in()
            assert '<span class="badge new">3 new</span>' in client.get("/").text
            assert cards(client.get(f"/questions/{question}?q=TOKENISERS&verdict=any").text) == [links["other"]]
            assert cards(client.get(f"/questions/{question}?says=yes&sort=date").text) == [links["yes"]]
            assert '<span class="badge new">' not in client.get("/").text
            bench.post(f"/questions/{question}/conclusion", text=f"Yes [@E{links['yes'][:8]}].")
            bench.post(f"/questions/{question}/conclusion", text="Yes.")
            assert [c.version for c in ledger.conclusions(question)] == [2, 1]
            assert bench.post(f"/questions/{question}/delete").status_code == 303
            assert ledger.questions() == [] and ledger.counts()["evidence"] == 0
    finally:
        ledger.close()


def test_links_re_ranked_by_what_the_verdicts_taught_say_so_and_come_in_their_new_order(user):
    led, links = user.ledger, user.links
    assert led.rescore({links["other"]: 0.95, links["yes"]: 0.5}, labels=2) == 2
    html = user.client.get(f"/questions/{user.question}").text
    order = cards(html)
    assert order.index(links["other"]) < order.index(links["body"]) < order.index(links["yes"])
    assert html.count("learned from 2 verdicts") == 2
    assert led.link(links["other"]).scores == {"dense": 0.4, "learned": 0.95, "learned_from": 2}
    led.rescore({links["other"]: 0.40, links["yes"]: 0.91}, labels=0)  # every verdict cleared: the judge's own
    assert "learned from" not in user.client.get(f"/questions/{user.question}").text
    assert led.link(links["other"]).scores == {"dense": 0.4}
