"""A question's Atom feed: read by a feed reader with the token the question page shows, refused
without it, the user's rejected links left out, every text escaped."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from tests.test_webapp import bench, user  # noqa: F401 - fixtures
from questlog.webapp.feeds import feed_token

ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_question_page_links_a_feed_that_a_reader_without_a_session_can_read(user):
    page = user.client.get(f"/questions/{user.question}").text
    url = re.search(r'href="(/questions/\d+/feed\.atom\?token=[0-9a-f]+)"', page).group(1)
    user.client.cookies.clear()  # a feed reader has no session
    r = user.client.get(url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    assert feed.find(f"{ATOM}title").text == "questlog Q1: Does retrieval help small language models?"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3
    titles = {e.find(f"{ATOM}title").text for e in entries}
    assert "[mixed] Scaling retrieval" in titles and "[yes] Retrieval for small models" in titles
    body = next(e for e in entries if e.find(f"{ATOM}title").text == "[mixed] Scaling retrieval")
    assert "(p. 7, §5.2 Main Results)" in body.find(f"{ATOM}summary").text
    assert body.find(f"{ATOM}link").get("href") == "https://arxiv.org/abs/2401.00002v1"


def test_a_feed_without_its_token_or_with_another_questions_token_is_refused(bench):
    q = bench.question
    assert bench.client.get(f"/questions/{q}/feed.atom").status_code == 403
    other = feed_token("correct horse battery staple", q + 1)
    assert bench.client.get(f"/questions/{q}/feed.atom?token={other}").status_code == 403
    good = feed_token("correct horse battery staple", q)
    assert bench.client.get(f"/questions/{q}/feed.atom?token={good}").status_code == 200
    assert bench.client.get(f"/questions/999/feed.atom?token={feed_token('correct horse battery staple', 999)}"
                            ).status_code == 404


def test_a_rejected_link_leaves_the_feed(user):
    user.ledger.set_verdict(user.links["other"], "rejected")
    r = user.client.get(f"/questions/{user.question}/feed.atom")  # the logged-in user needs no token
    titles = [e.find(f"{ATOM}title").text for e in ET.fromstring(r.content).findall(f"{ATOM}entry")]
    assert len(titles) == 2 and not any("Tokenisers" in t for t in titles)
