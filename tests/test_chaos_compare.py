"""The chaos benchmark's pieces: what counts as lost or duplicated between a fault-free run and a
chaos run, digest items read back from what the Slack webhook received, and the seeded fault plan.
(The whole benchmark takes minutes: `questlog bench chaos --papers 300 --json`.)"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

from questlog.bench_chaos import KINDS, plan_faults
from questlog.chaos_compare import RunState, compare, posted_evidence
from shared.notify import Digest, DigestItem
from shared.notify.slack import SlackNotifier

Q = "How many embedding dimensions does it take to represent a given amount of text?"


def _state(n: int) -> RunState:
    """n papers of one passage each, every passage indexed and judged, the even ones linked and sent."""
    s = RunState(papers=[f"arxiv:2606.{i:05d}" for i in range(n)])
    s.passages = [(f"passage-{i}", f"arxiv:2606.{i:05d}", 0) for i in range(n)]
    s.points = {p for p, _, _ in s.passages}
    s.point_count = n
    s.judged = set(s.points)
    s.links = [(Q, f"passage-{i}") for i in range(0, n, 2)]
    s.delivered = [(Q, f"arxiv:2606.{i:05d}") for i in range(0, n, 2)]
    return s


def _nothing(result: dict) -> bool:
    return not any(result["lost"].values()) and not any(result["duplicates"].values())


def test_a_chaos_run_that_holds_what_the_fault_free_run_holds_loses_and_duplicates_nothing():
    clean = _state(10)
    result = compare(clean, copy.deepcopy(clean))
    assert _nothing(result)
    assert result["links"] == {"fault_free": 5, "chaos": 5, "judged_differently": 0, "fault_free_undelivered": 0}


def test_each_kind_missing_from_the_chaos_run_is_counted_lost():
    clean, chaos = _state(10), _state(10)
    chaos.papers.remove("arxiv:2606.00009")
    chaos.passages = [p for p in chaos.passages if p[1] != "arxiv:2606.00009"]
    chaos.points -= {"passage-9", "passage-7"}
    chaos.point_count -= 2
    chaos.judged.discard("passage-4")  # its link request was lost: never judged, so never linked
    chaos.links.remove((Q, "passage-4"))
    chaos.delivered.remove((Q, "arxiv:2606.00002"))  # linked, but no digest sent it
    chaos.unfinished_digests = 1
    lost = compare(clean, chaos)["lost"]
    assert lost == {"papers": 1, "passages": 1, "points": 2, "links": 1, "digests": 2}


def test_a_link_judged_otherwise_in_a_larger_library_is_not_counted_lost_but_reported():
    clean, chaos = _state(10), _state(10)
    chaos.links.remove((Q, "passage-4"))  # judged (linked_at set), found below the bar this time
    chaos.delivered.remove((Q, "arxiv:2606.00004"))
    chaos.links.append((Q, "passage-5"))
    chaos.delivered.append((Q, "arxiv:2606.00005"))
    result = compare(clean, chaos)
    assert _nothing(result)
    assert result["links"]["judged_differently"] == 2


def test_each_kind_twice_in_the_chaos_run_is_counted_a_duplicate():
    clean, chaos = _state(10), _state(10)
    chaos.papers.append("arxiv:2606.00003")  # a second row for one paper
    chaos.passages.append(("passage-3b", "arxiv:2606.00003", 0))  # a second current passage at one index
    chaos.point_count += 2  # two points more than passages with a point
    chaos.links.append((Q, "passage-2"))
    chaos.delivered += [(Q, "arxiv:2606.00002")] * 2  # one digest item sent three times
    assert compare(clean, chaos)["duplicates"] == {"papers": 1, "passages": 1, "points": 2, "links": 1,
                                                   "digests": 2}


def test_digest_items_are_read_back_from_the_slack_payload_by_their_evidence_ids():
    ids = ["0b0e6a57-9f73-5c1e-8d1e-3f2b8f6a1c01", "7d2f4c1a-1b2c-5d3e-9f40-a1b2c3d4e5f6"]
    items = tuple(DigestItem(paper_key=f"arxiv:2606.0000{i}", title=f"Paper {i}", url=None, score=0.5,
                             stance="neutral", rationale="", passage="text", evidence_id=eid,
                             page_url=f"http://questlog.bench/evidence/{eid}") for i, eid in enumerate(ids))
    digest = Digest("d1", 1, Q, None, datetime(2026, 7, 1, tzinfo=timezone.utc), items)
    body = json.dumps(SlackNotifier("http://127.0.0.1:1/hook").payload(digest)).encode()
    assert posted_evidence([body, body]) == ids + ids  # each item once per post, though it links twice


def test_the_fault_plan_strikes_each_kind_once_within_the_ingest_and_is_the_same_for_a_seed():
    plan = plan_faults(3, 100.0)
    assert sorted(f.kind for f in plan) == sorted(KINDS)
    assert all(10.0 <= f.at_s <= 80.0 for f in plan) and [f.at_s for f in plan] == sorted(f.at_s for f in plan)
    assert [(f.kind, f.at_s) for f in plan] == [(f.kind, f.at_s) for f in plan_faults(3, 100.0)]
    assert [f.at_s for f in plan] != [f.at_s for f in plan_faults(4, 100.0)]
