"""An older ledger gains this release's columns on open, keeping its rows; on SQLite and PostgreSQL."""

from __future__ import annotations


from sqlalchemy import create_engine, text

from shared.ledger import Ledger

OLD_EVIDENCE = (
    "create table evidence (id varchar(36) primary key, question_id integer, passage_id varchar(36), "
    "paper_id varchar(36), score float, scores json, stance varchar(16), stance_score float, rationale text, "
    "rationale_sentences json, retrieval varchar(40), model varchar(200), model_version varchar(100), "
    "found_at timestamp, verdict varchar(16))"
)


def _old_ledger(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_EVIDENCE))
        conn.execute(text("insert into evidence (id, score, verdict) values ('e1', 0.5, 'accepted')"))
    engine.dispose()


def _check_upgraded(url: str) -> None:
    ledger = Ledger(url)
    try:
        with ledger.engine.connect() as conn:
            row = conn.execute(text("select id, score, verdict, answer, relevance from evidence")).one()
        assert tuple(row) == ("e1", 0.5, "accepted", "", None)
        Ledger(url).close()  # a second open finds nothing to add and fails on nothing
    finally:
        ledger.close()


def test_an_older_sqlite_ledger_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    _old_ledger(url)
    _check_upgraded(url)


def test_an_older_postgresql_ledger_gains_the_new_columns_and_keeps_its_rows(postgres_url):
    _old_ledger(postgres_url)
    _check_upgraded(postgres_url)


def test_an_older_postgresql_ledger_widens_model_version_and_records_a_link_judged_by_todays_models(postgres_url):
    from shared.ledger.evidence import EvidenceDraft
    from shared.records import PaperRecord
    from shared.relevance.judge import EvidenceRulesJudge

    _old_ledger(postgres_url)
    ledger = Ledger(postgres_url)
    try:
        q = ledger.add_question("Does widening a column keep its rows?")
        paper = ledger.upsert_paper(PaperRecord(source="arxiv", source_id="2606.00001v1", arxiv_id="2606.00001",
                                                arxiv_version=1, title="Widening", abstract="It keeps them.")).paper_id
        version = f"packaged:all-MiniLM-L6-v2@256+{EvidenceRulesJudge().name}"  # as the linker names it
        assert len(version) > 100  # what the old column held: every link failed on PostgreSQL
        ledger.upsert_evidence([EvidenceDraft(q.id, "p1", paper, 0.5, {"minilm": 0.5}, "backfill", "minilm",
                                              version)])
        with ledger.engine.connect() as conn:
            stored = conn.execute(text("select model_version from evidence where question_id = :q"),
                                  {"q": q.id}).scalars().all()
        assert stored == [version]
    finally:
        ledger.close()


def test_a_paper_with_a_655_character_title_and_no_ids_is_one_paper_on_postgresql(postgres_url):
    from shared.records import PaperRecord

    ledger = Ledger(postgres_url)
    title = " ".join(f"word{i}" for i in range(100))[:655]
    rec = PaperRecord(source="crossref", source_id="x1", title=title, authors=("Ada Lovelace",))
    first, again = ledger.upsert_paper(rec).paper_id, ledger.upsert_paper(rec).paper_id
    assert first == again and ledger.paper(first).title == title
    ledger.close()
