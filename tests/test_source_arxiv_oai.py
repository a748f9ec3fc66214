"""arXiv OAI-PMH against its real recorded responses, replayed on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from questlog.replay.server import Reply
from shared.errors import NotFound, PermanentError
from shared.http import LocalRateLimiter
from shared.sources.arxiv_oai import ArxivOaiSettings, ArxivOaiSource, oai_set, split_authors
from shared.sources.base import Feed

from tests.conftest import SAMPLES
OAI_FILES = SAMPLES / "arxiv_oaipmh"
START = {"from": "2014-10-01"}




@pytest.fixture
def make(server):
    made = []

    def make(path: str = "/export.arxiv.org/oai2", sleeps: list | None = None, now=None, **overrides):
        settings = ArxivOaiSettings(base_url=f"{server.url}{path}", min_interval_s=0, **overrides)
        sleep = sleeps.append if sleeps is not None else lambda s: None
        source = ArxivOaiSource(settings, LocalRateLimiter(), sleep=sleep, **({"now": now} if now else {}))
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def serve(server, prefix: str, body: bytes) -> str:
    server.route(prefix, lambda req: Reply(200, body, "text/xml"))
    return prefix


NUCL = Feed(kind="category", value="nucl-th")


def test_a_harvest_page_maps_arxivraw_records_with_their_latest_version(make, server) -> None:
    page = next(make().pages(NUCL, START))
    assert server.requests[0].query == {"verb": ["ListRecords"], "metadataPrefix": ["arXivRaw"],
                                        "set": ["physics:nucl-th"], "from": ["2014-10-01"]}
    assert [r.source_id for r in page.records] == ["0704.0471v1", "0704.0716v4", "0704.0874v3", "0704.1109v2",
                                                   "0704.1114v1", "0704.1586v1"]
    limit = page.records[1]
    assert (limit.source, limit.arxiv_id, limit.arxiv_version) == ("arxiv", "0704.0716", 4)
    assert limit.published == datetime(2007, 4, 5, 12, 45, 3, tzinfo=timezone.utc)
    assert limit.updated == datetime(2008, 11, 14, 9, 7, 25, tzinfo=timezone.utc)
    assert limit.categories == ("math-ph", "math.MP") and limit.found_via == "firehose:nucl-th"
    first = page.records[0]
    assert first.authors == ("D.V. Shetty", "S.J. Yennello", "G.A. Souliotis")
    assert first.doi == "10.1103/physrevc.76.024606"  # the first of the paper's two DOIs (paper, erratum)
    assert first.title.startswith("Density dependence of the symmetry energy and the nuclear equation of state")
    assert page.total == 58011


def test_the_resumption_token_is_the_next_cursor_and_alone_fetches_the_next_page(make, server) -> None:
    pages = list(make().pages(NUCL, START))
    assert pages[0].next_cursor == {"from": "2014-10-01", "token": "726959|1001"}
    assert server.requests[1].query == {"verb": ["ListRecords"], "resumptionToken": ["726959|1001"]}
    assert [r.source_id for r in pages[1].records] == ["1302.2146v2"] and pages[1].next_cursor is None


def test_a_saved_token_resumes_the_harvest(make, server) -> None:
    pages = list(make().pages(NUCL, {"from": "2014-10-01", "token": "726959|1001"}))
    assert len(pages) == 1 and len(server.requests) == 1
    assert pages[0].records[0].authors == ("Joshua Berger", "Maxim Perelstein", "Michael Saelim", "Philip Tanedo")


def test_a_category_is_harvested_through_its_archive_and_keeps_only_records_listing_it(make, server) -> None:
    page = next(make().pages(Feed(kind="category", value="math.AG"), START))
    assert server.requests[0].query["set"] == ["math"]
    assert [r.source_id for r in page.records] == ["0704.0874v3"]


def test_no_records_matching_is_an_empty_last_page_not_an_error(make) -> None:
    pages = list(make().pages(NUCL, {"from": "2099-01-01"}))
    assert len(pages) == 1 and pages[0].records == () and pages[0].next_cursor is None


def test_a_bad_resumption_token_is_a_permanent_error_with_arxivs_message(make) -> None:
    with pytest.raises(PermanentError, match="OAI error badResumptionToken: The resumptionToken supplied is illegal"):
        next(make().pages(NUCL, {"from": "2014-10-01", "token": "3"}))


def test_a_bad_argument_is_a_permanent_error_naming_the_code(make, server) -> None:
    path = serve(server, "/badargument/", (OAI_FILES / "ErrorResponseBadArgument.xml").read_bytes())
    with pytest.raises(PermanentError, match="arxiv_oai: .*/badargument/.*OAI error badArgument: Verb 'ListRecords'"):
        next(make(path).pages(NUCL, START))


def test_a_format_arxiv_cannot_disseminate_is_a_permanent_error(make) -> None:
    with pytest.raises(PermanentError, match="cannotDisseminateFormat"):
        next(make(metadata_prefix="arXiv").pages(NUCL, START))


ARXIV_FORMAT = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written for this test after the arXiv metadata format (http://arxiv.org/OAI/arXiv.xsd); no arXiv-format
     response was recorded. -->
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-05-02T00:00:00Z</responseDate>
<ListRecords><record><header><identifier>oai:arXiv.org:2405.00001</identifier><datestamp>2024-05-01</datestamp>
<setSpec>cs</setSpec></header><metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>2405.00001</id>
<created>2024-04-29</created><updated>2024-05-01</updated><authors><author><keyname>Lovelace</keyname>
<forenames>Ada</forenames></author><author><keyname>Babbage</keyname><forenames>Charles</forenames><suffix>Jr</suffix>
</author></authors><title>Analytical engines for
  claim verification</title><categories>cs.CL cs.LG</categories><doi>10.1000/AE.1</doi>
<abstract>  We verify claims.  </abstract></arXiv></metadata></record>
<resumptionToken cursor="0" completeListSize="1"></resumptionToken></ListRecords></OAI-PMH>"""


def test_the_arxiv_format_gives_structured_author_names_and_no_version(make, server) -> None:
    path = serve(server, "/arxivformat/", ARXIV_FORMAT)
    pages = list(make(path, metadata_prefix="arXiv").pages(Feed(kind="category", value="cs.CL"), START))
    assert server.requests[0].query["metadataPrefix"] == ["arXiv"]
    (record,) = pages[0].records
    assert record.authors == ("Ada Lovelace", "Charles Babbage Jr")
    assert (record.source_id, record.arxiv_version, record.doi) == ("2405.00001", None, "10.1000/ae.1")
    assert record.title == "Analytical engines for claim verification" and record.abstract == "We verify claims."
    assert record.published == datetime(2024, 4, 29, tzinfo=timezone.utc)
    assert pages[0].next_cursor is None and pages[0].total == 1


def test_without_a_from_day_the_harvest_starts_lookback_days_before_today(make, server) -> None:
    source = make(now=lambda: datetime(2015, 1, 3, 8, tzinfo=timezone.utc), lookback_days=2)
    next(source.pages(NUCL, {}))
    assert server.requests[0].query["from"] == ["2015-01-01"]


def test_deleted_records_are_counted_not_returned(make, server) -> None:
    listing = (OAI_FILES / "ListRecordsResponse.xml").read_bytes()
    deleted = (b'<ListRecords>\n<record><header status="deleted"><identifier>oai:arXiv.org:0704.0001</identifier>'
               b'<datestamp>2014-11-01</datestamp></header></record>')
    source = make(serve(server, "/withdeleted/", listing.replace(b"<ListRecords>", deleted, 1)))
    page = next(source.pages(NUCL, START))
    assert len(page.records) == 6 and source.deleted == 1 and source.skipped == 0


def test_a_record_lookup_returns_its_latest_version(make, server) -> None:
    record = make().record("arXiv:1302.2146v1")
    assert server.requests[0].query["identifier"] == ["oai:arXiv.org:1302.2146"]
    assert (record.source_id, record.arxiv_version) == ("1302.2146v2", 2)


def test_an_id_arxiv_does_not_have_is_not_found(make) -> None:
    with pytest.raises(NotFound, match="idDoesNotExist"):
        make().record("0813.2274")


@pytest.mark.parametrize("kind", ["search", "citations", "references", "recommendations"])
def test_a_feed_kind_other_than_category_is_refused_by_name(make, kind) -> None:
    with pytest.raises(PermanentError, match=f"arxiv_oai cannot serve a '{kind}' feed"):
        next(make().pages(Feed(kind=kind, value="x", question_id=1), {}))


def test_a_503_from_arxivs_flow_control_is_retried(make) -> None:
    sleeps: list[float] = []
    page = next(make("/flaky503/export.arxiv.org/oai2", sleeps).pages(NUCL, START))
    assert len(sleeps) == 1 and len(page.records) == 6


def test_author_strings_lose_affiliations_and_split_on_commas_and_and() -> None:
    assert split_authors("A. Smith (MIT, Cambridge), B. Jones and C. (Chris) Doe") == ("A. Smith", "B. Jones", "C. Doe")
    assert split_authors("") == ()


def test_a_category_maps_to_its_oai_set() -> None:
    assert oai_set("cs.CL") == ("cs", "cs.CL")
    assert oai_set("hep-ph") == ("physics:hep-ph", None)
    assert oai_set("astro-ph.GA") == ("physics:astro-ph", "astro-ph.GA")
    assert oai_set("physics:hep-ex") == ("physics:hep-ex", None)


def test_a_version_listed_twice_one_without_a_date_keeps_the_dated_listing_and_the_record() -> None:
    from xml.etree.ElementTree import fromstring

    from shared.sources.arxiv_oai import _record

    rec = fromstring("""<record xmlns="http://www.openarchives.org/OAI/2.0/"><metadata>
      <arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>2606.00001</id><title>Twice listed</title>
        <authors>A. Author</authors><abstract>We find it.</abstract>
        <version version="v1"><date>Mon, 1 Jun 2026 10:00:00 GMT</date></version>
        <version version="v2"><date>Tue, 2 Jun 2026 10:00:00 GMT</date></version>
        <version version="v2"></version>
      </arXivRaw></metadata></record>""")
    paper = _record(rec, "firehose:cs.CL")
    assert paper.arxiv_version == 2 and paper.source_id == "2606.00001v2"
    assert paper.published.day == 1 and paper.updated.day == 2
