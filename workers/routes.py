"""The route table: each message type, the task that serves it, its queue and the agent it runs.

The Celery tasks, the queues, the routing and the CLI's "which task serves this message" are all
built from `ROUTES`; adding an agent is its own folder plus one line here. Agents are named as
"module:function" and imported when the tasks are registered, so importing this table is cheap
(the CLI does) and pulls in no agent code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from shared.messages import (
    CrawlRequested,
    DigestRequested,
    EmbedRequested,
    FullTextRequested,
    LinkRequested,
    Message,
    PapersFound,
    VectorsReady,
)


@dataclass(frozen=True)
class Route:
    message: type[Message]
    task: str  # explicit task names, so files can move
    queue: str
    agent: str  # "module:function", the function being run(message, deps) -> list[Message]

    def load_agent(self):
        module, _, name = self.agent.partition(":")
        return getattr(import_module(module), name)


ROUTES: tuple[Route, ...] = (
    Route(CrawlRequested, "questlog.scout.crawl", "scout", "agents.scout.graph:run"),
    Route(PapersFound, "questlog.reader.read", "read", "agents.reader.graph:run"),
    Route(FullTextRequested, "questlog.reader.fulltext", "read", "agents.reader.fulltext:fetch_and_read"),
    Route(EmbedRequested, "questlog.embed.encode", "embed", "agents.indexer.steps:embed"),
    Route(VectorsReady, "questlog.index.upsert", "index", "agents.indexer.steps:index"),
    Route(LinkRequested, "questlog.link.link", "link", "agents.linker.graph:run"),
    Route(DigestRequested, "questlog.digest.send", "digest", "agents.summarizer.graph:run"),
)
# beat's periodic tasks: they plan work and send messages, they serve none
TICKS: dict[str, str] = {"questlog.scout.tick": "scout", "questlog.reconcile.tick": "scout",
                         "questlog.digest.tick": "digest"}

TASK_FOR: dict[type[Message], str] = {r.message: r.task for r in ROUTES}
TASK_QUEUES: dict[str, str] = {**{r.task: r.queue for r in ROUTES}, **TICKS}
QUEUES: tuple[str, ...] = tuple(dict.fromkeys(TASK_QUEUES.values()))
