"""A new source is one module: the toy source (`tests/toy_source.py`), registered in the registry's
tuple and given its settings group, is crawled, searched and expanded by the real scout, unchanged.

The toy library's API runs on 127.0.0.1; the ledger is real SQLite; the sources are the registry's
own build from settings (every other source disabled), so nothing but the network edge is swapped.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import Field
from sqlalchemy import select

from agents.deps import Deps
from agents.scout.graph import run
from agents.scout.plan import plan
from agents.scout.queries import plain_query
from questlog.replay.server import Reply, ReplayServer, Request
from shared.ids import passage_id
from shared.ledger import EvidenceDraft, Ledger, PassageDraft
from shared.ledger.models import PaperRow
from shared.messages import CrawlRequested
from shared.settings import Settings
from shared.sources import registry
from tests.toy_source import ToySettings, ToySource

NOW = datetime(2026, 6, 23, 20, tzinfo=timezone.utc)
QUESTION = "Which stacking blocks make stable towers?"
PAPERS = [  # the toy library: two shelves, and one paper that cites another
    {"id": "T1", "shelf": "trains", "title": "Wooden railway tracks for toy trains", "date": "2026-06-20",
     "doi": "10.9999/toy.1", "authors": ["Ada Byron"]},
    {"id": "T2", "shelf": "trains", "title": "Magnetic couplings between toy train wagons", "date": "2026-06-18",
     "authors": ["Brio Smith"]},
    {"id": "T3", "shelf": "trains", "title": "Battery locomotives on wooden rails", "date": "2026-06-10",
     "authors": ["Cass Jones"]},
    {"id": "T4", "shelf": "blocks", "title": "Stacking blocks that make stable towers", "date": "2026-05-01",
     "doi": "10.9999/toy.4", "authors": ["Dora Lee"]},
    {"id": "T5", "shelf": "blocks", "title": "Why children's towers fall over", "date": "2026-04-01",
     "cites": ["T4"], "authors": ["Eli Park"]},
]


def toy_api(req: Request) -> Reply:
    """The toy library's API (see tests/toy_source.py), newest first, paged by offset."""
    path = req.path.removeprefix("/toy")
    if path.startswith("/papers/") and path.endswith("/citations"):
        hits = [p for p in PAPERS if path.split("/")[2] in p.get("cites", [])]
    elif path == "/papers" and req.arg("shelf"):
        hits = [p for p in PAPERS if p["shelf"] == req.arg("shelf")]
    elif path == "/papers" and req.arg("q"):
        hits = [p for p in PAPERS if all(w in p["title"].lower() for w in req.arg("q").lower().split())
                and p["date"] >= req.arg("since", "")]
    else:
        return Reply(404, b'{"error": "no such shelf"}')
    offset, limit = int(req.arg("offset", "0")), int(req.arg("limit", "100"))
    page = sorted(hits, key=lambda p: p["date"], reverse=True)[offset:offset + limit]
    body = {"papers": [{k: v for k, v in p.items() if k not in ("shelf", "cites")} for p in page],
            "next": offset + limit if offset + limit < len(hits) else None}
    return Reply(200, json.dumps(body).encode())


class ToyAppSettings(Settings):
    """Settings with the toy's group: the one line a new source adds to shared.settings.Settings."""

    toy: ToySettings = Field(default_factory=ToySettings)


@pytest.fixture
def library():
    server = ReplayServer()
    server.route("/toy", toy_api)
    with server:
        yield server


@pytest.fixture
def deps(tmp_path, library, monkeypatch):
    monkeypatch.setattr(registry, "SOURCES", (*registry.SOURCES, ToySource))
    others = {cls.group: {"enabled": False} for cls in registry.SOURCES if cls is not ToySource}
    settings = ToyAppSettings(data_dir=tmp_path, toy=ToySettings(base_url=f"{library.url}/toy", page_size=2),
                              **others)
    made = Deps(settings, Ledger(settings.ledger_url))  # the sources: the registry's build from settings
    yield made
    made.close()


def crawl(deps: Deps, msgs: list[CrawlRequested]) -> list[CrawlRequested]:
    """Run crawls to their end, one page per call, as the workers would; every message delivered."""
    queue, delivered = list(msgs), []
    while queue:
        msg = queue.pop(0)
        delivered.append(msg)
        queue += [m for m in run(msg, deps) if isinstance(m, CrawlRequested)]
    return delivered


def papers(ledger: Ledger) -> dict[str, tuple[str, tuple[str, ...]]]:
    with ledger.session() as s:
        return {p.title: (p.id, tuple(p.found_via)) for p in s.scalars(select(PaperRow))}


def add_evidence(ledger: Ledger, question_id: int, paper: str, score: float) -> None:
    text = f"passage of {paper}"
    pid = passage_id(paper, 0, text)
    ledger.replace_passages(paper, [PassageDraft(0, text, 0, len(text))], [pid])
    ledger.upsert_evidence([EvidenceDraft(question_id, pid, paper, score, {"minilm": score}, "passages", "minilm",
                                          "test")])


def test_a_source_defined_in_one_module_is_crawled_searched_and_expanded_by_the_scout(deps, library):
    assert list(deps.sources) == ["toy"]
    q = deps.ledger.add_question(QUESTION)
    planned = plan(deps, NOW)
    assert {(m.source, m.feed) for m in planned} == {("toy", "category:trains"), ("toy", f"question:{q.id}")}

    delivered = crawl(deps, planned)
    found = papers(deps.ledger)
    assert {t: via for t, (_, via) in found.items()} == {
        "Wooden railway tracks for toy trains": ("firehose:trains",),
        "Magnetic couplings between toy train wagons": ("firehose:trains",),
        "Battery locomotives on wooden rails": ("firehose:trains",),  # page 2 of the shelf
        "Stacking blocks that make stable towers": (f"search:question:{q.id}",)}
    assert {r.arg("q") for r in library.requests if r.arg("q")} == {plain_query(QUESTION)}  # its dialect
    assert deps.ledger.cursor("toy:category:trains")["newest"][1] == "T1"  # its stop rule: the watermark
    assert deps.ledger.cursor(f"toy:search:{q.id}")["next"] == {"from_date": "2026-05-24"}  # caught_up: a window

    seed = found["Stacking blocks that make stable towers"][0]
    add_evidence(deps.ledger, q.id, seed, score=0.9)
    expansion = [m for m in plan(deps, NOW + timedelta(hours=1)) if seed in m.feed]
    assert [(m.source, m.feed) for m in expansion] == [("toy", f"citations:{seed}")]  # it serves no references
    delivered += crawl(deps, expansion)
    assert papers(deps.ledger)["Why children's towers fall over"][1] == (f"citation:{seed}",)
    assert any(r.path == "/toy/papers/T4/citations" for r in library.requests)  # asked by its own id

    state, asked = papers(deps.ledger), len(library.requests)
    crawl(deps, delivered)  # every message delivered a second time
    assert papers(deps.ledger) == state and len(library.requests) == asked


def test_a_source_registered_after_settings_were_defined_is_refused_naming_its_group(monkeypatch):
    monkeypatch.setattr(registry, "SOURCES", (*registry.SOURCES, ToySource))
    with pytest.raises(LookupError, match="Settings has no 'toy' group"):
        registry.enabled_names(Settings())


def test_every_registered_source_describes_itself_and_has_its_settings_group():
    settings = Settings()
    assert len({cls.name for cls in registry.SOURCES}) == len(registry.SOURCES)
    for cls in registry.SOURCES:
        assert isinstance(cls.settings_of(settings), cls.settings_class)
        assert cls.feeds and set(cls.feeds) <= {"category", "search", "citations", "references", "recommendations"}
        assert set(cls.feeds.values()) <= {"watermark", "harvest", "caught_up", "one_shot"}
    assert settings.scout.every_s == {cls.name: cls.every_s for cls in registry.SOURCES}
    assert settings.scout.search_sources == ["arxiv", "semanticscholar", "openalex"]  # Crossref's: off by default
    assert settings.expansion.sources == [cls.name for cls in registry.SOURCES if cls.serves("citations")]


def test_a_source_module_dropped_into_the_sources_package_is_found_with_its_settings_group(tmp_path):
    """The whole of adding a source: one module in shared/sources/. Here the package's search path
    gains a folder holding the toy module (a copy of tests/toy_source.py), in a fresh process."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    shutil.copy(Path(__file__).with_name("toy_source.py"), tmp_path / "toy.py")
    script = (
        "import shared.sources as pkg, sys\n"
        f"pkg.__path__.append({str(tmp_path)!r})\n"
        "from shared.settings import Settings\n"
        "from shared.sources.registry import SOURCES, enabled_names\n"
        "from agents.scout.plan import plan\n"
        "s = Settings()\n"
        "print([c.name for c in SOURCES][-1], s.toy.base_url, 'toy' in enabled_names(s))\n"
    )
    env = {**os.environ, "QUESTLOG_TOY__BASE_URL": "http://127.0.0.1:9/toy", "QUESTLOG_DATA_DIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["toy", "http://127.0.0.1:9/toy", "True"]
