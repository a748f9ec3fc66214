"""A link's page: the paper behind it (ids, sources, full text, every question it bears on); digests
link to it with ?do=accept, and a GET never changes a verdict."""

from __future__ import annotations

from tests.test_webapp import PASSAGE, add_link, bench, user  # noqa: F401 - fixtures


def test_a_digest_link_to_accept_asks_for_the_click_and_changes_nothing_by_itself(user):
    eid = user.links["yes"]
    r = user.client.get(f"/evidence/{eid}?do=accept")
    assert r.status_code == 200
    assert "You came here to accept this link: press Accept below" in r.text
    assert "arxiv:2401.00001" in r.text and "<code>arxiv:2401.00001</code>" in r.text
    assert "not read (abstract only)" in r.text
    assert user.ledger.link(eid).verdict is None  # the GET decided nothing
    assert user.post(f"/evidence/{eid}/verdict", decision="accept", back=f"/evidence/{eid}").status_code == 303
    assert user.ledger.link(eid).verdict == "accepted"


def test_the_page_lists_every_other_question_the_paper_bears_on(user):
    other = user.ledger.add_question("Is retrieval cheaper than scaling the model?")
    add_link(user.ledger, other.id, "2401.00001", "Retrieval for small models", PASSAGE, 0.66, answer="yes")
    page = user.client.get(f"/evidence/{user.links['yes']}").text
    assert f"Q{other.id}</a> Is retrieval cheaper than scaling the model?" in page


def test_the_page_needs_a_login_and_an_unknown_link_is_a_404(bench):
    r = bench.client.get(f"/evidence/{bench.links['yes']}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    bench.log_in()
    assert bench.client.get("/evidence/ffffffffffff").status_code == 404
