"""`questlog web`: a real server (uvicorn) on 127.0.0.1 over a real SQLite ledger, fetched with httpx
after logging in with the password from <data_dir>/web.secret."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from questlog.web import make_server, mask_password
from shared.ids import passage_id
from shared.ledger import EvidenceDraft, Ledger, PassageDraft
from shared.records import PaperRecord
from shared.settings import BrokerSettings, LedgerSettings, Settings

REPO = Path(__file__).resolve().parents[1]
SCRIPT_TITLE = "<script>alert('x')</script> Retrieval helps small models"


def settings_for(data_dir: Path, broker: str | None) -> Settings:
    # Explicit values: other tests may leave QUESTLOG_* variables in the environment.
    return Settings(data_dir=data_dir, broker=BrokerSettings(url=broker),
                    ledger=LedgerSettings(url=f"sqlite:///{data_dir / 'ledger.sqlite3'}"))


def add_evidence(ledger: Ledger, question_id: int, arxiv_id: str, title: str, url: str, score: float,
                 stance: str, rationale: str, passage: str) -> None:
    paper = ledger.upsert_paper(PaperRecord(source="arxiv", source_id=f"{arxiv_id}v1", arxiv_id=arxiv_id,
                                            arxiv_version=1, title=title, authors=("Ada Lovelace",),
                                            abstract=passage, url=url)).paper_id
    pid = passage_id(paper, 0, passage)
    ledger.replace_passages(paper, [PassageDraft(index=0, text=passage, start=0, end=len(passage))], [pid])
    ledger.upsert_evidence([EvidenceDraft(question_id=question_id, passage_id=pid, paper_id=paper, score=score,
                                          scores={"dense": score}, retrieval="new-passages", model="minilm",
                                          model_version="test", stance=stance, rationale=rationale)])


def seed(settings: Settings) -> dict[str, int]:
    ledger = Ledger(settings.ledger_url)
    asked = ledger.add_question("Does retrieval help <b>small</b> language models?")
    empty = ledger.add_question("Is tokenisation solved?")
    add_evidence(ledger, asked.id, "2401.01234", SCRIPT_TITLE, "https://arxiv.org/abs/2401.01234v1", 0.81,
                 "supports", "Retrieval closes <most> of the gap.", "We find that retrieval & small models agree.")
    add_evidence(ledger, asked.id, "2401.05678", "A paper from a hostile feed", "javascript:alert(1)", 0.52,
                 "neutral", "", "An unrelated passage.")
    ledger.close()
    return {"asked": asked.id, "empty": empty.id}


def log_in(client: httpx.Client, password: str) -> str:
    """Log in as the login page does; returns the session's CSRF token."""
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"csrf": token, "password": password, "next": "/"})
    assert r.status_code == 303, r.text
    return client.get("/api/session").json()["csrf"]


@contextmanager
def running(settings: Settings, logged_in: bool = True):
    server = make_server(settings, "127.0.0.1", 0, login_pause_s=0.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=30) as client:
            if logged_in:
                client.csrf = log_in(client, (settings.data_dir / "web.secret").read_text().strip())
            yield client
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker_url):
    settings = settings_for(tmp_path_factory.mktemp("web"), broker_url)
    ids = seed(settings)
    with running(settings) as client:
        client.ids, client.broker_url = ids, broker_url
        yield client


def test_the_index_lists_every_question_with_its_evidence_count_and_a_link(site):
    r = site.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    asked, empty = site.ids["asked"], site.ids["empty"]
    assert f'<a href="/questions/{asked}">Does retrieval help &lt;b&gt;small&lt;/b&gt; language models?</a>' in r.text
    assert '<td class="n">2</td>' in r.text
    assert f'<a href="/questions/{empty}">Is tokenisation solved?</a></td><td class="n">0</td>' in r.text


def test_a_question_page_shows_evidence_best_first_with_every_ledger_text_escaped(site):
    r = site.get(f"/questions/{site.ids['asked']}")
    assert r.status_code == 200
    assert "<script>" not in r.text and "<b>small" not in r.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Retrieval helps small models" in r.text
    assert "Retrieval closes &lt;most&gt; of the gap." in r.text
    assert "retrieval &amp; small models agree" in r.text
    assert r.text.index("score 0.810") < r.text.index("score 0.520")
    assert "supports" in r.text and "arxiv:2401.01234v1" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_only_http_paper_urls_become_links(site):
    page = site.get(f"/questions/{site.ids['asked']}").text
    assert '<a href="https://arxiv.org/abs/2401.01234v1" rel="noopener noreferrer">' in page
    assert 'href="javascript:' not in page
    assert "A paper from a hostile feed" in page


def test_the_questions_api_gives_each_question_with_its_evidence_count(site):
    r = site.get("/api/questions")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    rows = {q["id"]: q for q in r.json()}
    asked = rows[site.ids["asked"]]
    assert asked["text"] == "Does retrieval help <b>small</b> language models?"
    assert asked["evidence_count"] == 2 and rows[site.ids["empty"]]["evidence_count"] == 0
    assert set(asked) == {"id", "text", "status", "notes", "models", "created_at", "evidence_count"}
    assert asked["status"] == "open" and asked["created_at"].endswith("+00:00")


def test_the_evidence_api_gives_the_question_and_its_evidence_best_first(site):
    r = site.get(f"/api/questions/{site.ids['asked']}/evidence")
    assert r.status_code == 200
    data = r.json()
    assert data["question"]["id"] == site.ids["asked"]
    assert [e["score"] for e in data["evidence"]] == [0.81, 0.52]
    first = data["evidence"][0]
    assert first["title"] == SCRIPT_TITLE and first["stance"] == "supports"
    assert first["url"] == "https://arxiv.org/abs/2401.01234v1" and first["paper"] == "arxiv:2401.01234v1"
    assert first["passage"] == "We find that retrieval & small models agree."
    assert set(first) >= {"id", "paper_id", "rationale", "scores", "retrieval", "model", "found_at", "verdict"}
    limited = site.get(f"/api/questions/{site.ids['asked']}/evidence", params={"limit": 1}).json()
    assert [e["score"] for e in limited["evidence"]] == [0.81]


@pytest.mark.parametrize("path", ["/api/questions/999999/evidence", "/api/questions/1234567890123456789012/evidence"])
def test_an_unknown_question_in_the_api_is_a_json_404(site, path):
    r = site.get(path)
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert r.json()["status"] == 404 and "error" in r.json()


def test_an_unknown_question_page_is_an_html_404(site):
    r = site.get("/questions/999999")
    assert r.status_code == 404 and "no question with id 999999" in r.text


def test_an_unknown_path_is_a_404(site):
    assert site.get("/questions/abc").status_code == 404
    assert site.get("/api/nothing").json()["status"] == 404


def test_a_limit_that_is_not_a_small_positive_number_is_a_400(site):
    for bad in ("0", "-1", "ten", "100000"):
        r = site.get(f"/api/questions/{site.ids['asked']}/evidence", params={"limit": bad})
        assert r.status_code == 400, bad


def test_a_write_without_the_csrf_header_is_refused_and_changes_nothing(site):
    r = site.post("/api/questions", json={"text": "Does a sneaky write get through?"})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    assert len(site.get("/api/questions").json()) == 2


def test_a_method_a_route_does_not_take_is_a_405(site):
    r = site.patch("/api/questions")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"


def test_without_logging_in_pages_redirect_to_the_login_and_the_api_is_a_401(site):
    with httpx.Client(base_url=str(site.base_url), timeout=30) as anonymous:
        r = anonymous.get(f"/questions/{site.ids['asked']}")
        assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2Fquestions%2F{site.ids['asked']}"
        r = anonymous.get("/api/questions")
        assert r.status_code == 401 and "log in first" in r.json()["error"]
        assert anonymous.get("/healthz").text == "ok\n"


def test_the_status_api_reports_counts_queues_and_feeds(site):
    r = site.get("/api/status")
    assert r.status_code == 200
    report = r.json()
    assert set(report) >= {"data_dir", "broker", "workers", "queues", "counts", "feeds", "dead_letters"}
    assert report["counts"]["questions"] == 2 and report["counts"]["evidence"] == 2
    assert isinstance(report["queues"], dict) and isinstance(report["workers"], list)


def test_a_broker_password_is_masked_before_it_reaches_the_status_page(site):
    assert site.get("/api/status").json()["broker"] == mask_password(site.broker_url)
    assert mask_password("redis://:hunter2@redis:6379/0") == "redis://:***@redis:6379/0"
    assert mask_password("redis://questlog:hunter2@redis:6379/0") == "redis://questlog:***@redis:6379/0"
    assert mask_password("redis://redis:6379/0") == "redis://redis:6379/0"
    assert mask_password(None) is None


def test_healthz_says_ok_while_the_ledger_answers(site):
    r = site.get("/healthz")
    assert r.status_code == 200 and r.text == "ok\n"
    assert site.head("/healthz").status_code == 200


def test_serving_every_page_never_imports_torch_or_sentence_transformers(tmp_path):
    script = textwrap.dedent(f"""
        import sys, threading, httpx
        from pathlib import Path
        from questlog.web import make_server, mask_password
        from shared.settings import BrokerSettings, Settings
        from test_web import log_in
        s = Settings(data_dir=Path({str(tmp_path)!r}), broker=BrokerSettings(url="redis://127.0.0.1:9/0"))
        server = make_server(s, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        client = httpx.Client(base_url="http://127.0.0.1:%d" % server.server_address[1], timeout=30)
        log_in(client, (s.data_dir / "web.secret").read_text().strip())
        for path in ("/", "/api/questions", "/api/status", "/questions/1", "/healthz"):
            assert client.get(path).status_code in (200, 404), path
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sentence_transformers", "transformers"))
        print(heavy)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO / "tests", capture_output=True, text=True,
                         timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
