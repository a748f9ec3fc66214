"""The workbench in a real browser: Playwright driving Debian's chromium against `questlog web` served
by uvicorn on 127.0.0.1 over a real SQLite ledger. Skipped where no chromium is installed
(`apt-get install chromium`).

QL_SCREENSHOTS=1 also writes docs/screenshots/questions.png and question.png.
"""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_webapp import PASSWORD, seed, settings_for

from questlog.web import make_server
from shared.ledger import Ledger

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="no chromium binary (Debian: apt-get install chromium)")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@contextmanager
def serving(data_dir: Path):
    settings = settings_for(data_dir)
    (data_dir / "web.secret").write_text(PASSWORD + "\n")
    server = make_server(settings, "127.0.0.1", 0, login_pause_s=0.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def browser_page():
    with playwright_api.sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            browser.close()


def test_a_researcher_logs_in_asks_triages_by_keyboard_notes_and_concludes(tmp_path, browser_page):
    page = browser_page
    ledger = Ledger(settings_for(tmp_path).ledger_url)
    question, links = seed(ledger)
    yes, body = links["yes"], links["body"]
    with serving(tmp_path) as base:
        # login: a wrong password is refused with a message, the right one lands on the questions
        page.goto(base + "/")
        assert page.url.startswith(base + "/login")
        page.fill("#password", "not it")
        with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
            page.click("button[type=submit]")
        assert answer.value.status == 401
        assert "Wrong password" in page.inner_text(".error")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("h1:text('Questions')")
        assert "3 new" in page.inner_text(f"#q-{question}")

        # add a question
        page.fill("#new-question", "Can data pruning beat scaling laws?")
        page.click("form.add button[type=submit]")
        page.wait_for_selector("h1:text('Q2: Can data pruning beat scaling laws?')")
        assert "Question 2 added." in page.inner_text(".flash")
        if os.environ.get("QL_SCREENSHOTS") == "1":
            page.goto(base + "/")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "questions.png"), full_page=True)

        # triage with the keyboard: j selects the best card, a accepts it, j moves on, r rejects
        page.goto(f"{base}/questions/{question}")
        page.keyboard.press("j")
        page.wait_for_selector(f"#e-{yes}.current")
        page.keyboard.press("a")
        page.wait_for_selector(f"#e-{yes}.accepted.current")
        page.keyboard.press("j")
        page.wait_for_selector(f"#e-{body}.current")
        page.keyboard.press("r")
        page.wait_for_selector(f"#e-{body}.rejected")
        assert ledger.link(yes).verdict == "accepted" and ledger.link(body).verdict == "rejected"
        page.keyboard.press("k")
        page.wait_for_selector(f"#e-{yes}.current")

        # a note: n opens the current card's note, typed and saved in place
        page.keyboard.press("n")
        page.keyboard.type("Check table 3 <first>")
        page.click(f"#e-{yes} form.note button[type=submit]")
        page.wait_for_selector(f"#e-{yes} p.notes")
        assert page.inner_text(f"#e-{yes} p.notes") == "Note: Check table 3 <first>"
        assert ledger.link(yes).note == "Check table 3 <first>"

        # a conclusion citing the accepted link: the citation renders with the link's rationale
        page.fill("#conclusion-text", "Yes, retrieval helps small models ")
        page.click(f"#e-{yes} button.cite")
        assert page.input_value("#conclusion-text") == f"Yes, retrieval helps small models [@E{yes[:8]}]"
        page.click("#conclusion button[type=submit]")
        cite = page.wait_for_selector("#conclusion a.cite")
        assert cite.inner_text() == f"[@E{yes[:8]}]"
        assert cite.get_attribute("title").startswith("Retrieval closes most of the gap to a model ten times larger.")
        assert [c.version for c in ledger.conclusions(question)] == [1]
        if os.environ.get("QL_SCREENSHOTS") == "1":
            page.goto(f"{base}/questions/{question}?verdict=any")
            page.keyboard.press("j")
            page.screenshot(path=str(SCREENSHOTS / "question.png"), full_page=True)

        # a bad CSRF token is refused: by the page script (a toast says so) and in a plain form
        page.goto(f"{base}/questions/{question}?verdict=any")
        page.evaluate("document.querySelector('meta[name=csrf-token]').content = 'forged'")
        other = links["other"]
        page.click(f"#e-{other}")
        page.keyboard.press("a")
        page.wait_for_selector("#toast:not([hidden])")
        assert "stale" in page.inner_text("#toast")
        assert ledger.link(other).verdict is None
        page.goto(base + "/")
        page.evaluate("document.querySelector('form.add input[name=csrf]').value = 'forged'")
        page.fill("#new-question", "Does a forged form get through?")
        with page.expect_response(lambda r: r.url.endswith("/questions")) as answer:
            page.click("form.add button[type=submit]")
        assert answer.value.status == 403
        assert "CSRF token is stale" in page.inner_text(".error")
        assert len(ledger.questions()) == 2
    ledger.close()
