"""The Celery app: broker from settings, queues, routes, reliability options, beat schedule.

`celery -A workers.app ...` (what `questlog worker|beat|flower` run) imports this
module; it reads Settings once. With no broker configured it uses Redis on
localhost, or the embedded one that `questlog up` started in the data directory.
"""

from __future__ import annotations

import os

from celery import Celery

from shared.broker import resolve_broker
from shared.settings import Settings
from workers.routes import TASK_QUEUES

# The worker processes of one box share its cores (io, embed, vector). A torch (OpenMP) thread that has
# finished its part spins for a while before it sleeps, and meanwhile holds a core the process next to it
# needs. Passive waiting: `bench ingest --papers 300` 6.90 -> 6.50 s (mean of 3 runs each, 2 cores).
# Set before torch loads its OpenMP runtime (this module is imported first); a value already set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# seconds a delivered, unacknowledged task stays invisible before Redis hands it out again
VISIBILITY_TIMEOUT_S = 3600
# Queue groups served by one worker process group each (see `questlog up` and compose.yaml).
# 'vector' holds index+link because the embedded vector engine has exactly one owner process.
GROUPS: dict[str, dict] = {
    "io": {"queues": ("scout", "read", "digest"), "concurrency": 2},
    "embed": {"queues": ("embed",), "concurrency": 1},
    "vector": {"queues": ("index", "link"), "concurrency": 1},
}


class NoBroker(RuntimeError):
    pass


def make_app(settings: Settings | None = None, broker_url: str | None = None) -> Celery:
    settings = settings or Settings()
    url = broker_url or resolve_broker(settings)
    if url is None:
        raise NoBroker("no Redis broker: none configured (QUESTLOG_BROKER__URL), none on 127.0.0.1:6379, "
                       "and no embedded one running; `questlog up` starts one")
    app = Celery("questlog", broker=url)
    app.conf.update(
        task_serializer="json", accept_content=["json"], task_ignore_result=True,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_routes={name: {"queue": q} for name, q in TASK_QUEUES.items()}, task_default_queue="scout",
        worker_send_task_events=True, task_send_sent_event=True, worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        beat_schedule={
            "crawl": {"task": "questlog.scout.tick", "schedule": settings.schedule.crawl_every_s},
            "digest": {"task": "questlog.digest.tick", "schedule": settings.schedule.digest_every_s},
            # lost work is found within minutes, not only on the (hourly) crawl tick
            "reconcile": {"task": "questlog.reconcile.tick", "schedule": settings.schedule.reconcile_every_s},
        },
    )
    app.questlog_settings = settings
    from workers.tasks import register

    register(app)
    return app


_app: Celery | None = None


def __getattr__(name: str) -> Celery:
    """`celery -A workers.app` asks for `app`: built on first access, so importing has no side effects."""
    global _app
    if name in ("app", "celery"):
        if _app is None:
            _app = make_app()
        return _app
    raise AttributeError(name)
