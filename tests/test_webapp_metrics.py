"""questlog's own Prometheus metrics on the web app's /metrics: behind a bearer token (or a session),
parsed by prometheus_client's own parser, counting what the ledger holds."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.test_webapp import bench, user  # noqa: F401 - fixtures


def _samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_are_refused_without_the_token_and_served_with_the_one_the_session_shows(user):
    token = user.client.get("/api/session").json()["metrics_token"]
    user.client.cookies.clear()  # a scraper has no session
    assert user.client.get("/metrics").status_code == 401
    assert user.client.get("/metrics", headers={"Authorization": "Bearer " + "0" * 32}).status_code == 401
    r = user.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_metrics_count_evidence_per_question_by_verdict_and_dead_letters_by_task(user):
    user.ledger.set_verdict(user.links["other"], "rejected")
    user.ledger.dead_letter("questlog.link.link", "link.requested:abc", {"ids": ["1"]}, "ValueError: broken", 5)
    got = _samples(user.client.get("/metrics").text)
    q = str(user.question)
    per_verdict = {dict(labels)["verdict"]: v for (name, labels), v in got.items()
                   if name == "questlog_evidence" and dict(labels)["question"] == q}
    assert per_verdict.get("rejected") == 1
    with user.ledger.engine.connect() as conn:
        total = conn.execute(text("select count(*) from evidence where question_id = :q"),
                             {"q": user.question}).scalar()
    assert sum(per_verdict.values()) == total >= 2
    assert got[("questlog_dead_letters", (("task", "questlog.link.link"),))] == 1
    assert got[("questlog_last_digest_timestamp_seconds", ())] == 0
    assert got[("questlog_records", (("kind", "papers"),))] >= 1
