"""An expansion is recorded when planned; one whose crawl never finished is sent again, a few times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agents.deps import Deps
from agents.scout.plan import EXPANSION, RESENDS, expansion
from shared.ledger import Ledger
from shared.settings import Settings


def _cursors(led: Ledger) -> dict[str, dict]:
    return {c.key: c.value for c in led.cursors()}


def test_an_expansion_whose_crawl_was_lost_is_sent_again_and_one_that_finished_is_not(tmp_path):
    settings = Settings(data_dir=tmp_path)
    led = Ledger(settings.ledger_url)
    deps = Deps(settings=settings, ledger=led)
    now = datetime.now(timezone.utc)
    led.save_cursor(f"{EXPANSION}p1", {"depth": 0, "planned_at": (now - timedelta(hours=1)).isoformat(),
                                       "crawls": ["semanticscholar:citations:p1", "openalex:citations:p1"]})
    led.save_cursor("openalex:citations:p1", {"finished_at": (now - timedelta(minutes=50)).isoformat()})
    led.save_cursor(f"{EXPANSION}p2", {"depth": 0, "planned_at": (now - timedelta(minutes=2)).isoformat(),
                                       "crawls": ["semanticscholar:citations:p2"]})  # probably still queued
    sent = expansion(deps, now, _cursors(led), [])
    assert [(m.source, m.feed) for m in sent] == [("semanticscholar", "citations:p1")]
    assert _cursors(led)[f"{EXPANSION}p1"]["resends"] == 1
    later = now
    for _ in range(RESENDS + 2):  # it keeps failing: re-sent at most RESENDS times in all
        later += timedelta(minutes=11)
        sent += expansion(deps, later, _cursors(led), [])
    assert len([m for m in sent if m.feed == "citations:p1"]) == RESENDS
    deps.close()
