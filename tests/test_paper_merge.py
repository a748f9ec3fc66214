"""One paper per real-world paper, whatever order its records arrive in, on a real SQLite ledger."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shared.ids import passage_id
from shared.ledger import EvidenceDraft, Ledger, PassageDraft
from shared.ledger.models import Base, EvidenceRow, PaperKeyRow, PassageRow
from shared.records import PaperRecord
from shared.sources.base import Feed

SOURCES = ("arxiv", "semanticscholar", "openalex", "crossref")


def _ledger(folder: str) -> Ledger:
    return Ledger(f"sqlite:///{Path(folder) / 'ledger.sqlite3'}")


@pytest.fixture(scope="module")
def reused(tmp_path_factory):
    """One real SQLite ledger for all of a property test's examples, emptied before each."""
    ledger = _ledger(str(tmp_path_factory.mktemp("ledger")))

    def empty() -> Ledger:
        with ledger.session() as s:
            for table in reversed(Base.metadata.sorted_tables):
                s.execute(table.delete())
        return ledger

    yield empty
    ledger.close()


def _keys(ledger: Ledger, paper: str) -> set[str]:
    with ledger.session() as s:
        return set(s.scalars(select(PaperKeyRow.key).where(PaperKeyRow.paper_id == paper)))


def _only_paper(ledger: Ledger) -> str:
    with ledger.session() as s:
        ids = set(s.scalars(select(PaperKeyRow.paper_id)))
    assert len(ids) == 1, ids
    return ids.pop()


# -- a strategy: one real-world paper seen by several sources ---------------------------------

class Truth:
    """The ids a paper really has; each source knows some of them, spelled its own way."""

    def __init__(self, n: int) -> None:
        self.arxiv = f"2401.{10000 + n:05d}"
        self.doi = f"10.1000/paper.{n}"
        self.s2 = f"{n:040x}"
        self.openalex = f"W{4000000000 + n}"
        self.titles = (f"Sparse retrieval number {n} for scientific claims",
                       f"Sparse Retrieval Number {n}: for Scientific Claims!",  # same normalised title
                       f"Sparse retrieval number {n} for scientific claims (extended version)",
                       f"A study of sparse retrieval number {n}")
        self.author = f"Ada Lovelace{n}"


@st.composite
def sightings(draw, truth: Truth, tag: str) -> list[PaperRecord]:
    """2-5 records of `truth`, each with a non-empty subset of its ids, connected through shared keys."""
    records = []
    for i in range(draw(st.integers(2, 5))):
        fields = draw(st.sets(st.sampled_from(["arxiv", "doi", "s2", "openalex"]), min_size=1))
        spell = draw(st.booleans())
        records.append(PaperRecord(
            source=draw(st.sampled_from(SOURCES)), source_id=f"{tag}-{i}",
            arxiv_id=(f"arXiv:{truth.arxiv}v2" if spell else truth.arxiv) if "arxiv" in fields else None,
            arxiv_version=2 if "arxiv" in fields else None,
            doi=(f"https://doi.org/{truth.doi.upper()}" if spell else truth.doi) if "doi" in fields else None,
            s2_id=truth.s2 if "s2" in fields else None,
            openalex_id=(f"https://openalex.org/{truth.openalex}" if spell else truth.openalex)
            if "openalex" in fields else None,
            title=draw(st.sampled_from(truth.titles)),
            authors=(truth.author,) if draw(st.booleans()) else (),
            abstract=draw(st.sampled_from(["", f"Abstract of {tag}."])),
            found_via=f"search:question:{i}"))
    assume(_connected(records))
    return records


def _connected(records: list[PaperRecord]) -> bool:
    """Whether shared identity keys link every record to every other (else no ledger could tell)."""
    reached, frontier = {0}, [0]
    while frontier:
        keys = set(records[frontier.pop()].identity_keys())
        for j, other in enumerate(records):
            if j not in reached and keys & set(other.identity_keys()):
                reached.add(j)
                frontier.append(j)
    return len(reached) == len(records)


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(data=st.data())
def test_any_order_of_one_papers_records_gives_one_paper_with_every_source_and_key(reused, data) -> None:
    records = data.draw(sightings(Truth(1), "p1"))
    order = data.draw(st.permutations(records))
    ledger = reused()
    results = [ledger.upsert_paper(r) for r in order]
    paper = _only_paper(ledger)
    assert results[-1].paper_id == paper
    assert ledger.paper_sources(paper) == sorted((r.source, r.source_id) for r in records)
    assert _keys(ledger, paper) == {k for r in records for k in r.identity_keys()}
    assert ledger.paper(paper).canonical_id == f"arxiv:{Truth(1).arxiv}" or not any(r.arxiv_id for r in records)


@FAST
@given(data=st.data())
def test_two_papers_interleaved_stay_two_papers_each_with_only_its_own_sources(reused, data) -> None:
    first, second = data.draw(sightings(Truth(1), "p1")), data.draw(sightings(Truth(2), "p2"))
    order = data.draw(st.permutations(first + second))
    ledger = reused()
    for r in order:
        ledger.upsert_paper(r)
    assert ledger.counts()["papers"] == 2
    for group in (first, second):
        paper = ledger.upsert_paper(group[0]).paper_id  # a redelivery finds the survivor
        assert ledger.paper_sources(paper) == sorted((r.source, r.source_id) for r in group)


@FAST
@given(data=st.data())
def test_delivering_every_record_twice_changes_nothing_the_second_time(reused, data) -> None:
    records = data.draw(sightings(Truth(3), "p3"))
    ledger = reused()
    for r in records:
        ledger.upsert_paper(r)
    paper = _only_paper(ledger)

    def state() -> tuple:
        row = ledger.paper(paper)
        return (row.title, row.abstract, row.canonical_id, row.version, sorted(row.found_via), _keys(ledger, paper),
                ledger.paper_sources(paper), ledger.counts())

    before = state()
    again = [ledger.upsert_paper(r) for r in data.draw(st.permutations(records))]
    assert {a.status for a in again} == {"unchanged"}
    assert {a.paper_id for a in again} == {paper}
    assert state() == before


@FAST
@given(data=st.data())
def test_a_page_stored_in_one_transaction_or_a_few_ends_as_record_by_record_storing_would(reused, data) -> None:
    # two papers seen several times each, and two seen once (the page's records that share nothing)
    loners = [data.draw(sightings(Truth(n), f"p{n}"))[0] for n in (3, 4)]
    records = data.draw(st.permutations(data.draw(sightings(Truth(1), "p1")) + data.draw(sightings(Truth(2), "p2"))
                                        + loners))
    ledger = reused()

    def state() -> tuple:
        with ledger.session() as s:
            keys = sorted((k.key, k.paper_id) for k in s.scalars(select(PaperKeyRow)))
        papers = sorted({p for _, p in keys})
        return keys, [(ledger.paper(p).title, ledger.paper(p).canonical_id, ledger.paper_sources(p)) for p in papers]

    one_by_one = [ledger.upsert_paper(r) for r in records]
    expected = state()
    ledger = reused()
    batched = ledger.upsert_papers(records)
    assert state() == expected
    assert [(b.paper_id, b.status) for b in batched] == [(o.paper_id, o.status) for o in one_by_one]
    assert {b.status for b in ledger.upsert_papers(records)} == {"unchanged"}  # a redelivered page
    ledger = reused()
    assert [(b.paper_id, b.status) for b in ledger.upsert_papers(records, batch=2)] == [
        (o.paper_id, o.status) for o in one_by_one]
    assert state() == expected


def test_a_page_of_new_papers_is_stored_with_a_few_lookups_for_the_page_not_several_per_paper(tmp_path) -> None:
    from sqlalchemy import event

    ledger = _ledger(str(tmp_path))
    page = [PaperRecord(source="arxiv", source_id=f"2402.{i:05d}v1", arxiv_id=f"2402.{i:05d}", arxiv_version=1,
                        title=f"Sparse retrieval study number {i}", authors=("Ada Lovelace",), abstract="We find.",
                        found_via="firehose:cs.IR") for i in range(100)]
    known = page[7]  # seen before, on an earlier page
    ledger.upsert_paper(known)
    selects: list[str] = []
    event.listen(ledger.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: selects.append(statement)
                 if statement.lstrip().upper().startswith("SELECT") else None)
    stored = ledger.upsert_papers(page)
    assert [s.status for s in stored] == ["new"] * 7 + ["unchanged"] + ["new"] * 92
    assert stored[7].paper_id == ledger.upsert_paper(known).paper_id
    # three lookups for the page, and the one known paper's own (about ten); record by record it was 500+
    assert len(selects) < 20, len(selects)
    assert len(ledger.paper_keys([s.paper_id for s in stored])) == 100
    ledger.close()


# -- the bridging case, step by step ---------------------------------------------------------

A = PaperRecord(source="arxiv", source_id="2401.01234v1", arxiv_id="2401.01234", arxiv_version=1,
                doi="10.1000/bridge", title="Bridging sparse and dense retrieval", authors=("Grace Hopper",),
                abstract="The arXiv abstract.", found_via="firehose:cs.IR")
B = PaperRecord(source="crossref", source_id="10.1000/bridge", doi="10.1000/BRIDGE", s2_id="ab" * 20,
                title="Bridging Sparse and Dense Retrieval", authors=("G. Hopper",), found_via="citations:x")
C = PaperRecord(source="semanticscholar", source_id="ab" * 20, s2_id="ab" * 20,
                title="Bridging sparse & dense retrieval (journal version)", authors=(), found_via="search:question:1")


@pytest.fixture
def ledger(tmp_path):
    ledger = _ledger(str(tmp_path))
    yield ledger
    ledger.close()


def test_a_record_bridging_two_known_papers_merges_them_into_the_older_one(ledger) -> None:
    older = ledger.upsert_paper(A).paper_id
    younger = ledger.upsert_paper(C).paper_id
    assert older != younger and ledger.counts()["papers"] == 2

    merged = ledger.upsert_paper(B)

    assert merged.paper_id == older and merged.status == "updated"
    assert ledger.counts()["papers"] == 1
    assert _keys(ledger, older) >= {"arxiv:2401.01234", "doi:10.1000/bridge", f"s2:{'ab' * 20}"}
    assert ledger.paper_sources(older) == sorted([("arxiv", "2401.01234v1"), ("crossref", "10.1000/bridge"),
                                                  ("semanticscholar", "ab" * 20)])
    row = ledger.paper(older)
    assert row.canonical_id == "arxiv:2401.01234"
    assert set(row.found_via) == {"firehose:cs.IR", "search:question:1", "citations:x"}


def test_merging_moves_the_absorbed_papers_passages_and_evidence_to_the_survivor(ledger) -> None:
    older = ledger.upsert_paper(A).paper_id
    younger = ledger.upsert_paper(C).paper_id
    question = ledger.add_question("does sparse retrieval beat dense retrieval on claims").id
    text = "Dense retrieval helps."
    pid = passage_id(younger, 0, text)
    ledger.replace_passages(younger, [PassageDraft(0, text, 0, len(text))], [pid])
    ledger.upsert_evidence([EvidenceDraft(question_id=question, passage_id=pid, paper_id=younger, score=0.8,
                                          scores={"dense": 0.8}, retrieval="backfill", model="m", model_version="1")])

    ledger.upsert_paper(B)

    with ledger.session() as s:
        assert s.scalar(select(PassageRow.paper_id).where(PassageRow.id == pid)) == older
        assert s.scalar(select(EvidenceRow.paper_id).where(EvidenceRow.passage_id == pid)) == older
    assert [e.paper_id for e in ledger.evidence(question)] == [older]


def test_the_absorbed_papers_passages_stop_being_current_when_the_survivor_has_its_own(ledger) -> None:
    older = ledger.upsert_paper(A).paper_id
    younger = ledger.upsert_paper(C).paper_id
    mine, theirs = "Sparse wins.", "Dense wins."
    ledger.replace_passages(older, [PassageDraft(0, mine, 0, len(mine))], [passage_id(older, 0, mine)])
    ledger.replace_passages(younger, [PassageDraft(0, theirs, 0, len(theirs))], [passage_id(younger, 0, theirs)])

    ledger.upsert_paper(B)

    assert ledger.current_passage_ids() == [passage_id(older, 0, mine)]


@pytest.mark.parametrize("order", [(A, B, C), (A, C, B), (B, A, C), (B, C, A), (C, A, B), (C, B, A)])
def test_three_records_with_partly_overlapping_ids_make_one_paper_in_any_order(ledger, order) -> None:
    for record in order:
        ledger.upsert_paper(record)
    paper = _only_paper(ledger)
    assert _keys(ledger, paper) == {k for r in (A, B, C) for k in r.identity_keys()}


def test_two_arxiv_papers_sharing_a_title_and_first_author_stay_apart(ledger) -> None:
    one = PaperRecord(source="arxiv", source_id="2401.00001v1", arxiv_id="2401.00001", arxiv_version=1,
                      title="Lecture notes on information retrieval", authors=("Karen Jones",))
    two = one.model_copy(update={"source_id": "2402.00002v1", "arxiv_id": "2402.00002"})
    assert ledger.upsert_paper(one).paper_id != ledger.upsert_paper(two).paper_id
    assert ledger.counts()["papers"] == 2


def test_a_wrong_doi_on_an_arxiv_record_does_not_merge_two_arxiv_papers(ledger) -> None:
    first = PaperRecord(source="arxiv", source_id="2401.00001v1", arxiv_id="2401.00001", doi="10.1000/volume",
                        title="First paper in the proceedings", authors=("Karen Jones",))
    second = PaperRecord(source="arxiv", source_id="2401.00002v1", arxiv_id="2401.00002", doi="10.1000/volume",
                         title="Second paper in the proceedings", authors=("Alan Kay",))
    assert ledger.upsert_paper(first).paper_id != ledger.upsert_paper(second).paper_id


def test_a_newer_arxiv_version_replaces_title_and_abstract(ledger) -> None:
    first = ledger.upsert_paper(A)
    v2 = A.model_copy(update={"source_id": "2401.01234v2", "arxiv_version": 2, "title": "Bridging retrieval, v2",
                              "abstract": "A better abstract.",
                              "updated": datetime(2024, 2, 1, tzinfo=timezone.utc)})
    second = ledger.upsert_paper(v2)
    assert (first.status, second.status) == ("new", "updated")
    row = ledger.paper(first.paper_id)
    assert (row.version, row.title, row.abstract) == (2, "Bridging retrieval, v2", "A better abstract.")


def test_an_arxiv_doi_alone_finds_the_arxiv_paper(ledger) -> None:
    arxiv = ledger.upsert_paper(A).paper_id
    datacite = PaperRecord(source="crossref", source_id="10.48550/arXiv.2401.01234", doi="10.48550/arXiv.2401.01234",
                           title="Bridging sparse and dense retrieval")
    assert ledger.upsert_paper(datacite).paper_id == arxiv


def test_a_short_title_alone_never_merges_two_papers(ledger) -> None:
    one = PaperRecord(source="semanticscholar", source_id="s1", s2_id="1" * 40, title="Security", authors=("A B",))
    two = PaperRecord(source="semanticscholar", source_id="s2", s2_id="2" * 40, title="Security", authors=("A B",))
    assert ledger.upsert_paper(one).paper_id != ledger.upsert_paper(two).paper_id


# -- real records from three sources --------------------------------------------------------

SAMPLES = Path(__file__).parents[2] / "shared" / "data" / "api_samples"


@pytest.fixture(scope="module")
def real_records():
    """The same two papers as Semantic Scholar, OpenAlex and Crossref each recorded them."""
    from questlog.replay.recorded import RecordedAPIs
    from questlog.replay.server import ReplayServer
    from shared.http import LocalRateLimiter
    from shared.sources.crossref import CrossrefSettings, CrossrefSource
    from shared.sources.openalex import OpenAlexSettings, OpenAlexSource
    from shared.sources.semanticscholar import SemanticScholarSettings, SemanticScholarSource

    with ReplayServer() as server:
        RecordedAPIs(SAMPLES).mount(server)
        s2 = SemanticScholarSource(SemanticScholarSettings(base_url=f"{server.url}/api.semanticscholar.org",
                                                           min_interval_no_key_s=0), LocalRateLimiter())
        oa = OpenAlexSource(OpenAlexSettings(base_url=f"{server.url}/api.openalex.org", min_interval_s=0),
                            LocalRateLimiter())
        cr = CrossrefSource(CrossrefSettings(base_url=f"{server.url}/api.crossref.org", min_interval_s=0),
                            LocalRateLimiter())
        try:
            doi = "10.1073/pnas.1414271111"
            pnas = [s2.paper(f"DOI:{doi}"), oa.work(doi), cr.work(doi)]
            paperqa = [s2.paper("DOI:10.48550/arxiv.2312.07559"),
                       next(oa.pages(Feed(kind="search", value="PaperQA", question_id=1), {})).records[0]]
        finally:
            for source in (s2, oa, cr):
                source.close()
    return pnas, paperqa


def test_real_records_of_two_papers_from_three_sources_make_two_papers_in_any_order(real_records, tmp_path) -> None:
    pnas, paperqa = real_records
    for n, order in enumerate([pnas + paperqa, paperqa[::-1] + pnas[::-1], [pnas[1], paperqa[0], pnas[2],
                                                                            paperqa[1], pnas[0]]]):
        (tmp_path / str(n)).mkdir()
        ledger = _ledger(str(tmp_path / str(n)))
        try:
            for r in order:
                ledger.upsert_paper(r)
            assert ledger.counts()["papers"] == 2
            one = ledger.upsert_paper(pnas[0]).paper_id
            two = ledger.upsert_paper(paperqa[0]).paper_id
            assert [s for s, _ in ledger.paper_sources(one)] == ["crossref", "openalex", "semanticscholar"]
            assert [s for s, _ in ledger.paper_sources(two)] == ["openalex", "semanticscholar"]
            assert ledger.paper(two).canonical_id == "arxiv:2312.07559"
            assert "openalex:W2109415576" in _keys(ledger, one) and f"s2:{pnas[0].s2_id}" in _keys(ledger, one)
        finally:
            ledger.close()


def test_a_record_conflicting_with_the_paper_its_doi_names_gets_its_own_paper_once(ledger) -> None:
    first = PaperRecord(source="semanticscholar", source_id="1" * 40, s2_id="1" * 40, doi="10.1000/shared",
                        title="A paper with a contested DOI", authors=("Ann Lee",))
    second = first.model_copy(update={"source_id": "2" * 40, "s2_id": "2" * 40})
    one, two = ledger.upsert_paper(first), ledger.upsert_paper(second)
    assert one.paper_id != two.paper_id and two.status == "new"
    again = ledger.upsert_paper(second)
    assert (again.paper_id, again.status) == (two.paper_id, "unchanged")
    assert ledger.counts()["papers"] == 2


def test_replacing_many_papers_passages_retires_old_ones_and_a_paper_met_twice_keeps_its_last(ledger) -> None:
    a = ledger.upsert_paper(A).paper_id
    b = ledger.upsert_paper(C).paper_id

    def drafts(*texts: str) -> list[PassageDraft]:
        return [PassageDraft(i, t, 0, len(t)) for i, t in enumerate(texts)]

    ledger.replace_passages(a, drafts("Version one.", "Its second passage."), ["a1", "a2"])
    pending = ledger.replace_many_passages([(a, drafts("Version two."), ["a3"]),
                                            (b, drafts("First reading."), ["b1"]),
                                            (b, drafts("Second reading."), ["b2"])])
    assert pending == ["a3", "b1", "b2"]
    assert set(ledger.current_passage_ids()) == {"a3", "b2"}
    assert ledger.replace_many_passages([(a, drafts("Version two."), ["a3"])]) == ["a3"]  # not indexed yet
    assert set(ledger.current_passage_ids()) == {"a3", "b2"}
