"""The reconciler finds work that fell between two tasks, including passages indexed but never linked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, text

from agents.deps import Deps
from agents.reader.splitters import AbstractSplitter
from shared.ids import passage_id
from shared.ledger import Ledger
from shared.messages import LinkRequested
from shared.records import PaperRecord
from shared.settings import Settings
from workers.reconcile import backlog


def _indexed_passage(led: Ledger, when: datetime) -> str:
    rec = PaperRecord(source="arxiv", source_id="2606.99997v1", arxiv_id="2606.99997", arxiv_version=1,
                      title="Lost link requests", abstract="We find that a lost message must be found again.")
    paper = led.upsert_paper(rec).paper_id
    drafts = AbstractSplitter().split(led.paper(paper))
    pid = passage_id(paper, 0, drafts[0].text)
    led.replace_passages(paper, drafts, [pid])
    led.mark_indexed([pid], when=when)
    return pid


def test_a_passage_indexed_long_ago_but_never_linked_is_sent_to_the_linker_again(tmp_path):
    settings = Settings(data_dir=tmp_path)
    led = Ledger(settings.ledger_url)
    pid = _indexed_passage(led, datetime.now(timezone.utc) - timedelta(hours=1))
    deps = Deps(settings=settings, ledger=led)
    links = [m for m in backlog(deps) if isinstance(m, LinkRequested)]
    assert [(m.mode, m.ids) for m in links] == [("passages", (pid,))]
    led.mark_linked([pid])  # what the linker does once it judged the passage against every question
    assert not [m for m in backlog(deps) if isinstance(m, LinkRequested)]
    led.close()


def test_a_passage_indexed_a_moment_ago_is_left_to_its_queued_link_request(tmp_path):
    settings = Settings(data_dir=tmp_path)
    led = Ledger(settings.ledger_url)
    _indexed_passage(led, datetime.now(timezone.utc))
    assert not [m for m in backlog(Deps(settings=settings, ledger=led)) if isinstance(m, LinkRequested)]
    led.close()


def test_an_older_ledger_counts_its_indexed_passages_as_linked_so_nothing_is_judged_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    led = Ledger(url)
    pid = _indexed_passage(led, datetime.now(timezone.utc) - timedelta(hours=1))
    led.close()
    engine = create_engine(url)
    with engine.begin() as conn:  # the release before linked_at existed
        conn.execute(text("alter table passages drop column linked_at"))
    engine.dispose()
    led = Ledger(url)
    assert led.unlinked_passage_ids() == []
    with led.engine.connect() as conn:
        linked, indexed = conn.execute(text("select linked_at, indexed_at from passages where id = :p"),
                                       {"p": pid}).one()
    assert linked == indexed is not None
    led.close()
