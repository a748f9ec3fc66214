"""Digests through a real SMTP server (aiosmtpd) and a loopback Slack webhook, via real workers."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from langgraph.runtime import Runtime

from agents.context import AgentContext
from questlog.replay.server import ReplayServer, Reply
from shared.messages import DigestRequested
from shared.notify import Digest, DigestItem
from shared.notify.email import EmailNotifier
from shared.notify.slack import SlackNotifier
from shared.settings import SmtpSettings
from tests.conftest import drain

pytestmark = pytest.mark.slow


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture()
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd checks readiness on its port, so it needs a real one
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture()
def slack():
    posts: list[dict] = []
    server = ReplayServer()
    server.route("/hooks/ok", lambda req: (posts.append(json.loads(req.body)), Reply(200, b"ok", "text/plain"))[1])
    server.route("/hooks/revoked", lambda req: Reply(403, b"invalid_token", "text/plain"))
    server.route("/hooks/down", lambda req: Reply(503, b"down", "text/plain"))
    with server:
        server.posts = posts
        yield server


def a_digest() -> Digest:
    item = DigestItem(paper_key="arxiv:2606.00001v1", title="A <b>paper</b>", url="https://arxiv.org/abs/2606.00001",
                      score=0.61, stance="supports", rationale="We measure domain shift.", passage="...",
                      evidence_id="e1")
    return Digest("d-1", 1, "How is domain shift measured?", None, datetime(2026, 6, 24, tzinfo=timezone.utc),
                  (item,))


def test_the_email_digest_carries_its_items_and_a_message_id_from_the_digest(smtp):
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, to=["me@example.org"])
    EmailNotifier(settings).send(a_digest())
    assert len(smtp.messages) == 1
    body = smtp.messages[0].content.decode()
    assert "Message-ID: <d-1@questlog>" in body and "We measure domain shift." in body


def test_a_revoked_slack_webhook_is_a_permanent_failure_and_a_down_one_is_not(slack):
    from shared.notify import DeliveryError

    with pytest.raises(DeliveryError) as revoked:
        SlackNotifier(f"{slack.url}/hooks/revoked").send(a_digest())
    with pytest.raises(DeliveryError) as down:
        SlackNotifier(f"{slack.url}/hooks/down").send(a_digest())
    assert revoked.value.permanent and not down.value.permanent


def test_a_digest_request_delivered_twice_sends_one_email_and_one_slack_post(stack, smtp, slack, tmp_path):
    """The workers were started without channels; this test restarts them with SMTP and Slack configured."""
    from agents.reader.splitters import AbstractSplitter
    from questlog.stack import Stack
    from shared.ids import passage_id
    from shared.ledger import EvidenceDraft
    from shared.records import PaperRecord

    led = stack.ledger
    q = led.add_question("Which digests reach the researcher exactly once?")
    rec = PaperRecord(source="arxiv", source_id="2606.99999v1", arxiv_id="2606.99999", arxiv_version=1,
                      title="Exactly-once delivery of research digests", abstract="We deliver digests once.")
    paper = led.upsert_paper(rec).paper_id
    drafts = AbstractSplitter().split(led.paper(paper))  # the reader's own passages, so the shared ledger
    pid = passage_id(paper, 0, drafts[0].text)           # stays as the pipeline would leave it
    led.replace_passages(paper, drafts, [pid])
    led.mark_indexed([pid])
    led.upsert_evidence([EvidenceDraft(question_id=q.id, passage_id=pid, paper_id=paper, score=0.7,
                                       scores={"minilm": 0.7}, retrieval="backfill", model="minilm",
                                       model_version="test")])
    env = dict(stack.extra_env, QUESTLOG_SMTP__HOST="127.0.0.1", QUESTLOG_SMTP__PORT=str(smtp.port),
               QUESTLOG_SMTP__TO='["me@example.org"]', QUESTLOG_SLACK__WEBHOOK_URL=f"{slack.url}/hooks/ok")
    stack.stop()
    configured = Stack(stack.settings, groups=("io",), beat=False, flower=False, extra_env=env)
    configured.start()
    try:
        msg = DigestRequested(question_id=q.id, window_end=datetime.now(timezone.utc) + timedelta(seconds=1))
        stack.pipe.send([msg, msg])
        configured.pipe = stack.pipe
        drain(configured)
        stack.pipe.send([msg])
        drain(configured)
    finally:
        configured.stop()
        stack.start()
    mails = [m for m in smtp.messages if q.text[:40] in m.content.decode()]
    assert len(mails) == 1
    assert len([p for p in slack.posts if f"Q{q.id}:" in json.dumps(p)]) == 1
    digests = [d for d in led.digests(q.id) if d.status == "sent"]
    assert len(digests) == 1 and digests[0].items == 1 and set(digests[0].channels) == {"email", "file", "slack"}
    assert led.question(q.id).digested_until is not None


def test_a_digest_says_what_each_paper_answers_its_stance_or_that_it_is_evidence():
    base = a_digest().items[0]
    yes = replace(base, stance="neutral", answer="yes")
    open_q = replace(base, stance="neutral", answer="")
    digest = replace(a_digest(), items=(yes, open_q, base))
    lines = [line for line in digest.render_text().splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert [line.split("]")[0] for line in lines] == ["1. [yes", "2. [evidence", "3. [supports"]


def test_slack_text_is_escaped_so_a_title_cannot_ping_the_channel_or_forge_a_link():
    item = replace(a_digest().items[0], title="<!channel> A & B <http://evil.example|click>",
                   rationale="x < y > z", url="https://arxiv.org/abs/2606.00001?a=1|b")
    payload = SlackNotifier("http://127.0.0.1:1/hook").payload(replace(a_digest(), items=(item,)))
    text = payload["blocks"][1]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt; A &amp; B &lt;http://evil.example|click&gt;" in text
    assert "x &lt; y &gt; z" in text and "<https://arxiv.org/abs/2606.00001?a=1%7Cb|" in text


def test_a_digest_whose_sender_died_mid_send_is_late_not_lost(tmp_path):
    """A claim left by a dead worker holds the window open (retry later) until it goes stale; then the
    digest is sent and the window moves on."""
    from agents.deps import Deps
    from agents.reader.splitters import AbstractSplitter
    from agents.summarizer import graph as summarizer
    from shared.errors import TransientError
    from shared.ids import passage_id
    from shared.ledger import EvidenceDraft, Ledger
    from shared.ledger.models import DeliveryRow
    from shared.records import PaperRecord
    from shared.settings import Settings

    settings = Settings(data_dir=tmp_path, digest={"console": False}, web={"public_url": "https://ql.example/"})
    led = Ledger(settings.ledger_url)
    q = led.add_question("Which digests survive a worker that dies mid-send?")
    rec = PaperRecord(source="arxiv", source_id="2606.99998v1", arxiv_id="2606.99998", arxiv_version=1,
                      title="Surviving crashes in digest delivery", abstract="We find that late beats lost.")
    paper = led.upsert_paper(rec).paper_id
    drafts = AbstractSplitter().split(led.paper(paper))
    pid = passage_id(paper, 0, drafts[0].text)
    led.replace_passages(paper, drafts, [pid])
    led.upsert_evidence([EvidenceDraft(question_id=q.id, passage_id=pid, paper_id=paper, score=0.7,
                                       scores={"minilm": 0.7}, retrieval="backfill", model="minilm",
                                       model_version="test")])
    deps = Deps(settings=settings, ledger=led)
    channels = [n.name for n in deps.notifiers]
    msg = DigestRequested(question_id=q.id, window_end=datetime.now(timezone.utc) + timedelta(seconds=1))
    did = summarizer.compose({"question_id": q.id, "window_end": msg.window_end},
                             Runtime(context=AgentContext(deps)))["digest"].id
    (item,) = summarizer.compose({"question_id": q.id, "window_end": msg.window_end},
                                 Runtime(context=AgentContext(deps)))["digest"].items
    assert item.page_url == f"https://ql.example/evidence/{item.evidence_id}"  # the workbench's page of the link
    assert led.claim_delivery(did, channels[0])  # the worker that claimed it dies here, before sending
    with pytest.raises(TransientError, match="another worker"):
        summarizer.run(msg, deps)
    assert led.question(q.id).digested_until is None  # the window did not move on without it
    with led.session() as s:  # ten minutes and more pass
        s.get(DeliveryRow, (did, channels[0])).updated_at = datetime.now(timezone.utc) - timedelta(minutes=11)
    assert summarizer.run(msg, deps) == []
    sent = [d for d in led.digests(q.id) if d.status == "sent"]
    assert len(sent) == 1 and channels[0] in sent[0].channels
    assert led.question(q.id).digested_until is not None
    deps.close()


def linked_digest() -> Digest:
    item = replace(a_digest().items[0], evidence_id="e-42", page_url="https://questlog.home.arpa/evidence/e-42",
                   title="A <script>alert(1)</script> paper", where="p. 7, §5.2 Main Results",
                   pdf_url="https://arxiv.org/pdf/2606.00001v1#page=7")
    return replace(a_digest(), items=(item,))


def test_the_email_digest_has_an_escaped_html_part_linking_each_item_to_its_page_with_accept_and_reject(smtp):
    from email import message_from_bytes, policy

    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, to=["me@example.org"])
    EmailNotifier(settings).send(linked_digest())
    mail = message_from_bytes(smtp.messages[0].content, policy=policy.default)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "review: https://questlog.home.arpa/evidence/e-42" in text
    assert "accept: https://questlog.home.arpa/evidence/e-42?do=accept" in text
    assert '<a href="https://questlog.home.arpa/evidence/e-42?do=reject">Reject</a>' in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://arxiv.org/pdf/2606.00001v1#page=7">p. 7, §5.2 Main Results</a>' in html


def test_slack_items_carry_accept_and_reject_links_when_the_workbench_has_an_address():
    text = SlackNotifier("http://127.0.0.1:1/hook").payload(linked_digest())["blocks"][1]["text"]["text"]
    assert "<https://questlog.home.arpa/evidence/e-42?do=accept|Accept>" in text
    assert "<https://questlog.home.arpa/evidence/e-42?do=reject|Reject>" in text
    plain = SlackNotifier("http://127.0.0.1:1/hook").payload(a_digest())["blocks"][1]["text"]["text"]
    assert "Accept" not in plain  # no address configured: no links to a page that cannot be reached


def test_a_digest_says_in_words_how_sure_the_judge_is_of_each_paper_and_nothing_without_a_probability():
    base = replace(a_digest().items[0], stance="neutral", answer="yes")
    items = (replace(base, chance=0.62), replace(base, chance=0.3), replace(base, chance=0.13), base)
    digest = replace(a_digest(), items=items)
    lines = [line for line in digest.render_text().splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert [line.split("]")[0] for line in lines] == ["1. [yes · likely", "2. [yes · possible", "3. [yes · weak match",
                                                       "4. [yes"]
    blocks = SlackNotifier("http://127.0.0.1:1/hook").payload(digest)["blocks"]
    assert blocks[3]["text"]["text"].startswith("*[yes · weak match]*")
